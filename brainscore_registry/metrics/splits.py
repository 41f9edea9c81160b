"""The reference protocol's cross-validation splits, as scikit-learn's `ShuffleSplit` and
`StratifiedShuffleSplit` draw them (brainscore-vision 2.4.2 ran scikit-learn 1.5; the algorithm is
unchanged through 1.9), written here for two reasons: the protocol's splits are part of every
benchmark's numbers, so they are pinned in this package rather than left to whatever scikit-learn
version is installed; and importing scikit-learn costs about a second, which a prediction-only score
of a small benchmark should not pay. `tests/test_splits.py` checks every split against scikit-learn's.

The draws, from one `numpy.random.RandomState(random_state)` per splitter:

- sizes: n_test = ceil(test_size·n) for a float test_size, n_train = floor(train_size·n); the
  missing one is the rest (test_size 0.1 when neither is given);
- shuffled: per split, a permutation of 0..n−1; test = its first n_test, train = the next n_train;
- stratified: per split, per-class train counts from the "approximate mode" of drawing n_train of
  the n stimuli (each class gets floor(n_c·n_train/n), and the remaining draws go to the largest
  fractional remainders, ties broken by `rng.choice` without replacement, remainders in descending
  order); the same for n_test over what is left; then per class (classes sorted) a permutation of its
  members (in stable order of appearance) split into train and test; finally train and test are each
  permuted.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np


class SplitError(ValueError):
    """The stimuli cannot make the requested splits (too few, or a class with a single member)."""


def split_sizes(n: int, train_size: float | None, test_size: float | None) -> tuple[int, int]:
    """(n_train, n_test) as scikit-learn's `_validate_shuffle_split` computes them for float sizes."""
    if train_size is None and test_size is None:
        test_size = 0.1
    for name, size in (("train_size", train_size), ("test_size", test_size)):
        if size is not None and not 0 < size < 1:
            raise SplitError(f"{name}={size} should be a float in the (0, 1) range")
    if train_size is not None and test_size is not None and train_size + test_size > 1:
        raise SplitError(f"train_size + test_size = {train_size + test_size} should be at most 1")
    n_test = math.ceil(test_size * n) if test_size is not None else None
    n_train = math.floor(train_size * n) if train_size is not None else None
    n_train = n - n_test if n_train is None else n_train
    n_test = n - n_train if n_test is None else n_test
    if n_train == 0:
        raise SplitError(f"with n_samples={n}, test_size={test_size} and train_size={train_size}, the train set would be empty")
    return n_train, n_test


def shuffle_splits(
    n: int, *, n_splits: int, train_size: float | None = None, test_size: float | None = None, random_state: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index arrays, as `ShuffleSplit(...).split(np.zeros(n))` yields them."""
    n_train, n_test = split_sizes(n, train_size, test_size)
    rng = np.random.RandomState(random_state)
    for _ in range(n_splits):
        permutation = rng.permutation(n)
        yield permutation[n_test : n_test + n_train], permutation[:n_test]


def approximate_mode(class_counts: np.ndarray, n_draws: int, rng: np.random.RandomState) -> np.ndarray:
    """Per-class counts of `n_draws` draws that follow the class proportions as closely as integers can
    (the mode of the multivariate hypergeometric, approximately); ties broken at random."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need = int(n_draws - floored.sum())
    if need > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (tied,) = np.where(remainder == value)
            take = min(len(tied), need)
            floored[rng.choice(tied, size=take, replace=False)] += 1
            need -= take
            if need == 0:
                break
    return floored.astype(int)


def stratified_shuffle_splits(
    labels: np.ndarray, *, n_splits: int, train_size: float | None = None, test_size: float | None = None, random_state: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index arrays, as `StratifiedShuffleSplit(...).split(np.zeros(n), labels)` yields them."""
    labels = np.asarray(labels)
    n = len(labels)
    n_train, n_test = split_sizes(n, train_size, test_size)
    classes, class_of = np.unique(labels, return_inverse=True)
    class_counts = np.bincount(class_of)
    if class_counts.min() < 2:
        raise SplitError(
            "The least populated class in y has only 1 member, which is too few. "
            "The minimum number of groups for any class cannot be less than 2."
        )
    if n_train < len(classes):
        raise SplitError(f"The train_size = {n_train} should be greater or equal to the number of classes = {len(classes)}")
    if n_test < len(classes):
        raise SplitError(f"The test_size = {n_test} should be greater or equal to the number of classes = {len(classes)}")
    members = np.split(np.argsort(class_of, kind="mergesort"), np.cumsum(class_counts)[:-1])
    rng = np.random.RandomState(random_state)
    for _ in range(n_splits):
        train_counts = approximate_mode(class_counts, n_train, rng)
        test_counts = approximate_mode(class_counts - train_counts, n_test, rng)
        train, test = [], []
        for k, indices in enumerate(members):
            shuffled = indices.take(rng.permutation(class_counts[k]), mode="clip")
            train.extend(shuffled[: train_counts[k]])
            test.extend(shuffled[train_counts[k] : train_counts[k] + test_counts[k]])
        yield rng.permutation(train), rng.permutation(test)
