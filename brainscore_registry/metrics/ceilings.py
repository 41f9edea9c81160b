"""Ceilings: how well the data predict themselves.

`internal_consistency` (reference protocol): `ShuffleSplit(10, train_size=0.5, random_state=1)` over
the sorted unique repetitions (for R odd the halves are unequal, e.g. 2 vs 3 of 5); each half is
averaged per stimulus; per neuroid, Pearson r between the halves (stimuli sorted by stimulus_id),
then Spearman-Brown ρ = 2r / (1 + r) **per neuroid, before** the median over neuroids; mean over
splits; error = std (ddof=0) / sqrt(10).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import UserInputError
from .alignment import require_coords, require_dims
from .contract import MAX_SEED, MAX_SPLITS, Ceiling, int_parameter
from .regression import pearson_per_column
from .score import Score, aggregate_splits
from .splits import shuffle_splits

if TYPE_CHECKING:
    import xarray as xr


def spearman_brown(r: np.ndarray, n: float = 2) -> np.ndarray:
    return n * r / (1 + (n - 1) * r)


class InternalConsistency(Ceiling):
    """Split-half reliability of repetition-level data (`presentation × neuroid`, coord `repetition`).

    Fast form of the reference's per-split groupby: the data are laid out once as repetition ×
    (stimulus, neuroid), and every half's per-stimulus sums and counts come from one product with a
    (halves × repetitions) indicator matrix. NaN values are skipped in the means, as xarray's mean does.
    A stimulus with no presentation in one half (unequal repetition counts) is left out of that split's
    correlation; with repetition slots numbered per stimulus, a stimulus shown 6 times takes part in a
    split only if its slots fall in both halves."""

    target_kind = "repeated_recordings"

    def __init__(self, *, n_splits: int = 10, random_state: int = 1) -> None:
        owner = "ceiling 'internal_consistency'"
        self.n_splits = int_parameter(owner, "n_splits", n_splits, 2, MAX_SPLITS)
        self.random_state = int_parameter(owner, "random_state", random_state, 0, MAX_SEED)

    def __call__(self, target: xr.DataArray) -> Score:
        _check_layout(target)
        repetitions = np.unique(target["repetition"].values)
        if len(repetitions) < 2:
            raise UserInputError(
                f"a split-half ceiling needs at least 2 repetitions; the data have {len(repetitions)}",
                field="repetition",
                fix="use a pinned ceiling value, or data with repeated presentations",
            )
        stimuli, layout, present = _repetition_layout(target, repetitions)
        means = self._half_means(repetitions, len(stimuli), layout, present)
        raw = []
        for first, second in zip(means[0::2], means[1::2]):
            shown = ~(np.isnan(first).all(axis=1) | np.isnan(second).all(axis=1))  # stimuli seen in both halves
            raw.append(spearman_brown(pearson_per_column(first[shown], second[shown])))
        neuroid_order = np.argsort(np.asarray(target["neuroid_id"].values, dtype=str), kind="stable")
        units = tuple(np.asarray(target["neuroid_id"].values, dtype=str)[neuroid_order])
        return aggregate_splits(np.array(raw, dtype=np.float64)[:, neuroid_order], units, method="internal_consistency")

    def _half_means(self, repetitions: np.ndarray, n_stimuli: int, layout: np.ndarray, present: np.ndarray) -> np.ndarray:
        """halves (first, second of every split in turn) × stimulus × neuroid means, NaN where unseen."""
        splits = shuffle_splits(len(repetitions), n_splits=self.n_splits, train_size=0.5, random_state=self.random_state)
        halves = [part for pair in splits for part in pair]
        indicator = np.zeros((len(halves), len(repetitions)), dtype=layout.dtype)
        for row, part in enumerate(halves):
            indicator[row, part] = 1
        sums = (indicator @ layout).reshape(len(halves), n_stimuli, -1)
        counts = (indicator @ present).reshape(len(halves), n_stimuli, -1)  # last axis: 1 or neuroids
        with np.errstate(invalid="ignore", divide="ignore"):
            return (sums / counts).astype(layout.dtype, copy=False)


def _check_layout(target: xr.DataArray) -> None:
    require_dims(target, ("presentation", "neuroid"), who="the data", fix="give recordings as presentation × neuroid")
    require_coords(
        target, ("stimulus_id", "repetition"), dim="presentation", who="the data", fix="number the repetitions of each stimulus"
    )
    require_coords(target, ("neuroid_id",), dim="neuroid", who="the data", fix="name every neuroid by its neuroid_id")


def _repetition_layout(assembly: xr.DataArray, repetitions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sorted stimulus ids, values as repetition × (stimulus·neuroid) with 0 where absent or NaN,
    1/0 presence as repetition × stimulus, or per value when there are NaNs)."""
    ids = np.asarray(assembly["stimulus_id"].values, dtype=str)
    stimuli, stimulus_index = np.unique(ids, return_inverse=True)
    repetition_index = np.searchsorted(repetitions, assembly["repetition"].values)
    slots = repetition_index * len(stimuli) + stimulus_index
    if len(np.unique(slots)) != len(slots):
        raise UserInputError(
            "the data have more than one presentation for some (stimulus_id, repetition) pairs",
            field="repetition",
            fix="number the repetitions of each stimulus 0, 1, 2, ...",
        )
    values = np.asarray(assembly.transpose("presentation", "neuroid").values)
    values = values if values.dtype in (np.float32, np.float64) else values.astype(np.float64)
    layout = np.full((len(repetitions) * len(stimuli), values.shape[1]), np.nan, dtype=values.dtype)
    layout[slots] = values
    missing = np.isnan(layout)  # absent presentations and NaN values
    if missing.any():  # presence per value, so both are skipped in the means
        present = (~missing).astype(values.dtype).reshape(len(repetitions), -1)
        layout[missing] = 0
    else:  # presence per (repetition, stimulus): the sums' counts are the same for every neuroid
        present = np.zeros(len(repetitions) * len(stimuli), dtype=values.dtype)
        present[slots] = 1
        present = present.reshape(len(repetitions), len(stimuli))
    return stimuli, layout.reshape(len(repetitions), -1), present
