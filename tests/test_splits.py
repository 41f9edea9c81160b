"""The protocol's cross-validation splits (metrics/splits.py) are scikit-learn's, split for split, and
Pearson's r (metrics/correlation.py) is scipy.stats.pearsonr's, bit for bit: both are written in the
package only so that scoring does not pay for importing scikit-learn and scipy.stats."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.stats
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

from brainscore_registry.metrics.correlation import pearson_r
from brainscore_registry.metrics.splits import SplitError, shuffle_splits, stratified_shuffle_splits

CASES = [  # n, classes, train_size, test_size, random_state
    (200, 8, 0.9, None, 1),
    (3200, 16, 0.9, None, 1),
    (240, 12, None, 0.9, 1),  # the representational metrics' test-only splits
    (640, 1, 0.9, None, 1),
    (91, 7, 0.8, None, 3),
    (97, 5, 0.5, 0.3, 0),
    (50, 3, 0.33, None, 7),
    (13, 2, 0.5, None, 1),  # the ceiling's halves of 13 repetitions
    (5, 1, 0.5, None, 1),
]


def _same(ours, theirs) -> bool:
    ours, theirs = list(ours), list(theirs)
    return len(ours) == len(theirs) and all(
        np.array_equal(a_train, b_train) and np.array_equal(a_test, b_test)
        for (a_train, a_test), (b_train, b_test) in zip(ours, theirs)
    )


@pytest.mark.parametrize("n, classes, train_size, test_size, seed", CASES)
def test_shuffle_splits_are_scikit_learns(n, classes, train_size, test_size, seed):
    kwargs = dict(n_splits=10, train_size=train_size, test_size=test_size, random_state=seed)
    assert _same(shuffle_splits(n, **kwargs), ShuffleSplit(**kwargs).split(np.zeros(n)))


@pytest.mark.parametrize("n, classes, train_size, test_size, seed", [c for c in CASES if c[1] > 1])
@pytest.mark.parametrize("layout", ["cyclic", "shuffled", "unbalanced"])
def test_stratified_splits_are_scikit_learns(n, classes, train_size, test_size, seed, layout):
    rng = np.random.default_rng(seed)
    labels = np.array([f"o{i % classes:02d}" for i in range(n)])
    if layout == "shuffled":
        labels = rng.permutation(labels)
    elif layout == "unbalanced":  # unequal class sizes: ties and remainders in the approximate mode
        labels = np.array([f"o{min(int(rng.exponential(classes / 3)), classes - 1):02d}" for _ in range(n)])
        labels[: 2 * classes] = [f"o{k // 2:02d}" for k in range(2 * classes)]  # every class at least twice
    kwargs = dict(n_splits=10, train_size=train_size, test_size=test_size, random_state=seed)
    assert _same(stratified_shuffle_splits(labels, **kwargs), StratifiedShuffleSplit(**kwargs).split(np.zeros(n), labels))


def test_impossible_splits_are_refused_as_scikit_learn_refuses_them():
    labels = np.array(["a", "a", "b"])
    with pytest.raises(SplitError, match="least populated class"):
        list(stratified_shuffle_splits(labels, n_splits=2, train_size=0.5, random_state=0))
    with pytest.raises(ValueError, match="least populated class"):
        list(StratifiedShuffleSplit(n_splits=2, train_size=0.5, random_state=0).split(np.zeros(3), labels))
    with pytest.raises(SplitError, match="should be greater or equal to the number of classes"):
        list(stratified_shuffle_splits(np.repeat(np.arange(8), 2), n_splits=2, train_size=0.9, random_state=0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pearson_is_scipys_bit_for_bit(dtype):
    rng = np.random.default_rng(0)
    for trial in range(60):
        n, k = int(rng.integers(2, 300)), int(rng.integers(1, 40))
        x = (rng.standard_normal((n, k)) * rng.uniform(1e-3, 1e3)).astype(dtype)
        y = (x * rng.standard_normal(k) + rng.standard_normal((n, k))).astype(dtype)
        if trial % 3 == 0:
            x[:, 0] = 2.5  # constant: NaN
        if trial % 4 == 0:
            y[0, -1] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = scipy.stats.pearsonr(x, y, axis=0).statistic
        actual = pearson_r(x, y)
        assert actual.dtype == expected.dtype and np.array_equal(actual, expected, equal_nan=True), trial
