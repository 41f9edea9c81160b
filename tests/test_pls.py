"""ExactPLS reproduces scikit-learn's PLSRegression(scale=False) NIPALS: same iteration counts, same
predictions to ~1e-12, on ordinary, single-target, skewed-scale and degenerate inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.cross_decomposition import PLSRegression

from brainscore_registry.metrics.pls import ExactPLS


def _data(n, p, q, dtype=np.float64, seed=0, x_scale=1.0, y_scale=1.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    Y = X @ (rng.standard_normal((p, q)) / np.sqrt(p)) + rng.standard_normal((n, q))
    return (X * x_scale).astype(dtype), (Y * y_scale).astype(dtype), (rng.standard_normal((30, p)) * x_scale).astype(dtype)


CASES = {
    "wide, many targets": dict(n=150, p=400, q=40),
    "float32": dict(n=150, p=200, q=30, dtype=np.float32),
    "single target": dict(n=120, p=60, q=1),
    "tall": dict(n=400, p=30, q=8),
    "X tiny, Y huge": dict(n=120, p=80, q=10, x_scale=1e-6, y_scale=1e6),
    "X huge, Y tiny": dict(n=120, p=80, q=10, x_scale=1e4, y_scale=1e-4),
}


@pytest.mark.parametrize("case", list(CASES))
def test_matches_scikit_learn(case):
    X, Y, X_test = _data(**CASES[case])
    n_components = min(25, X.shape[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = PLSRegression(n_components=n_components, scale=False).fit(X, Y)
    ours = ExactPLS(n_components).fit(X, Y)
    assert ours.n_iter_ == list(reference.n_iter_)
    expected = reference.predict(X_test).reshape(len(X_test), -1)
    got = ours.predict(X_test)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12 * np.abs(expected).max())


def test_constant_target_column_is_skipped_like_scikit_learn():
    X, Y, X_test = _data(100, 50, 5)
    Y[:, 0] = 3.0  # sklearn zeroes the near-zero residual column and starts from the next one
    reference = PLSRegression(n_components=10, scale=False).fit(X, Y)
    ours = ExactPLS(10).fit(X, Y)
    assert ours.n_iter_ == list(reference.n_iter_)
    np.testing.assert_allclose(ours.predict(X_test), reference.predict(X_test), rtol=1e-9, atol=1e-12)


def test_too_many_components_is_refused():
    X, Y, _ = _data(20, 5, 2)
    with pytest.raises(ValueError, match="n_components must be in"):
        ExactPLS(6).fit(X, Y)
