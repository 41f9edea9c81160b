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


def _cv_splits(n, n_splits=10, seed=1):
    from sklearn.model_selection import ShuffleSplit

    return [(np.sort(tr), np.sort(te)) for tr, te in ShuffleSplit(n_splits, train_size=0.9, random_state=seed).split(np.zeros(n))]


def _per_split_reference(X, Y, splits, n_components):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [
            PLSRegression(n_components, scale=False).fit(X[tr], Y[tr]).predict(X[te]).reshape(len(te), -1) for tr, te in splits
        ]


LOCKSTEP_CASES = {
    "wide, many targets": dict(n=150, p=400, q=40),
    "float32": dict(n=150, p=200, q=30, dtype=np.float32),
    "single target": dict(n=120, p=60, q=1),
    "X tiny, Y huge": dict(n=120, p=80, q=10, x_scale=1e-6, y_scale=1e6),
}


@pytest.mark.parametrize("case", list(LOCKSTEP_CASES))
@pytest.mark.parametrize("memory_budget", [None, 1])  # 1 byte: every split fitted in a group of its own
def test_lockstep_cross_validation_matches_per_split_scikit_learn(case, memory_budget):
    from brainscore_registry.metrics.pls_forms import cross_validated_pls

    X, Y, _ = _data(**LOCKSTEP_CASES[case])
    splits = _cv_splits(len(X))
    expected = _per_split_reference(X, Y, splits, 20)
    got = cross_validated_pls(X, Y, splits, n_components=20, memory_budget=memory_budget)
    # float32: the train mean (global mean + offset) differs from scikit-learn's in the last bit, which
    # now and then flips the float32 rounding of X − x̄ in predict (one float32 ulp, ~6e-8 relative)
    atol = (1e-6 if X.dtype == np.float32 else 1e-10) * np.abs(expected[0]).max()
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-8, atol=atol)


def test_lockstep_handles_a_constant_target_and_a_rank_deficient_split():
    from brainscore_registry.metrics.pls_forms import cross_validated_pls

    X, Y, _ = _data(120, 50, 6)
    Y[:, 0] = 7.0  # zeroed by scikit-learn from the start: NaN r later, not a crash
    splits = _cv_splits(len(X))
    expected = _per_split_reference(X, Y, splits, 10)
    for e, g in zip(expected, cross_validated_pls(X, Y, splits, n_components=10)):
        np.testing.assert_allclose(g, e, rtol=1e-8, atol=1e-10 * np.abs(e).max())
    low_rank = X[:, :4] @ np.random.default_rng(3).standard_normal((4, 50))  # rank 4 < 6 components
    with pytest.warns(UserWarning, match="X residual vanished"):
        got = cross_validated_pls(low_rank, Y, splits, n_components=6)
    # the rank-limited fit: the same as asking for 4 components, in the lockstep and split by split
    expected = cross_validated_pls(low_rank, Y, splits, n_components=4)
    for e, g, (tr, te) in zip(expected, got, splits):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-9)
        with pytest.warns(UserWarning, match="X residual vanished"):
            single = ExactPLS(6).fit(low_rank[tr], Y[tr]).predict(low_rank[te])
        np.testing.assert_allclose(single, e, rtol=1e-6, atol=1e-9)


def test_lockstep_working_memory_stays_within_twice_the_features():
    import tracemalloc

    from brainscore_registry.metrics.pls_forms import cross_validated_pls

    rng = np.random.default_rng(0)
    X = rng.standard_normal((1600, 2048), dtype=np.float32)
    Y = X[:, :96] @ rng.standard_normal((96, 96)).astype(np.float32) + rng.standard_normal((1600, 96), dtype=np.float32)
    splits = _cv_splits(len(X))
    tracemalloc.start()
    try:
        cross_validated_pls(X, Y, splits, n_components=5, memory_budget=2 * X.nbytes)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 2 * X.nbytes, f"peak {peak / 2**20:.1f} MiB > 2 × {X.nbytes / 2**20:.1f} MiB"
