"""Ceilings: how well the data predict themselves.

`internal_consistency` (reference protocol): `ShuffleSplit(10, train_size=0.5, random_state=1)` over
the sorted unique repetitions (for R odd the halves are unequal, e.g. 2 vs 3 of 5); each half is
averaged per stimulus; per neuroid, Pearson r between the halves (stimuli sorted by stimulus_id),
then Spearman-Brown ρ = 2r / (1 + r) **per neuroid, before** the median over neuroids; mean over
splits; error = std (ddof=0) / sqrt(10).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from sklearn.model_selection import ShuffleSplit

from ..errors import UserInputError
from .data import average_repetitions, sort_by_stimulus
from .regression import pearson_per_column
from .score import Score, aggregate_splits


def spearman_brown(r: np.ndarray, n: float = 2) -> np.ndarray:
    return n * r / (1 + (n - 1) * r)


def internal_consistency(assembly: xr.DataArray, *, n_splits: int = 10, random_state: int = 1) -> Score:
    """Split-half reliability of repetition-level data (`presentation × neuroid`, coord `repetition`)."""
    repetitions = np.unique(assembly["repetition"].values)
    if len(repetitions) < 2:
        raise UserInputError(
            f"a split-half ceiling needs at least 2 repetitions; the data have {len(repetitions)}",
            field="repetition",
            fix="use a pinned ceiling value, or data with repeated presentations",
        )
    splitter = ShuffleSplit(n_splits=n_splits, train_size=0.5, test_size=None, random_state=random_state)
    neuroid_order = np.argsort(np.asarray(assembly["neuroid_id"].values, dtype=str), kind="stable")
    raw = []
    for first, second in splitter.split(repetitions):
        halves = [
            sort_by_stimulus(
                average_repetitions(assembly.isel(presentation=np.isin(assembly["repetition"].values, repetitions[part])))
            )
            for part in (first, second)
        ]
        a, b = (np.asarray(h.values)[:, neuroid_order] for h in halves)
        raw.append(spearman_brown(pearson_per_column(a, b)))
    units = tuple(np.asarray(assembly["neuroid_id"].values, dtype=str)[neuroid_order])
    return aggregate_splits(np.array(raw, dtype=np.float64), units, method="internal_consistency")
