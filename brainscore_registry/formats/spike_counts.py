"""Spike counts per presentation × unit × time bin, from sorted spike times and presentation onsets.

Windows are half-open and relative to each onset: a spike at `t` counts in bin `[start, end)` ms of a
presentation with onset `o` (seconds) when `o + start/1000 <= t < o + end/1000`, each bound computed
in float64 exactly so. Bins may overlap (70:170 and 100:200 count a spike in both). Counting is two
`searchsorted` calls per unit over all presentations and bins at once: O((P·B) log S) per unit.
"""

from __future__ import annotations

import re

import numpy as np

from ..errors import UserInputError

_BIN = re.compile(r"^\s*(-?\d+)\s*:\s*(-?\d+)\s*$")


def parse_time_bins(text: str) -> list[tuple[int, int]]:
    """'70:170' or '70:170,170:270' (ms after onset) as [(70, 170), (170, 270)]; each start < end."""
    bins = []
    for part in str(text).split(","):
        match = _BIN.match(part)
        if not match or int(match[1]) >= int(match[2]):
            raise UserInputError(
                f"{part.strip()!r} is not a time bin START:END in whole ms with START < END",
                field="time_bins",
                fix="give bins after stimulus onset, e.g. --time-bins 70:170 or --time-bins 70:170,170:270",
            )
        bins.append((int(match[1]), int(match[2])))
    if len(set(bins)) != len(bins):
        raise UserInputError("a time bin is given twice", field="time_bins", fix="list each bin once")
    return bins


def window_bounds(onsets: np.ndarray, bins: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) bounds in seconds, presentations × bins, float64."""
    onsets = np.asarray(onsets, dtype=np.float64)[:, None]
    starts = np.array([b[0] for b in bins], dtype=np.float64)[None, :] / 1000.0
    ends = np.array([b[1] for b in bins], dtype=np.float64)[None, :] / 1000.0
    return onsets + starts, onsets + ends


def count_in_windows(spike_times: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Spikes of one unit (sorted ascending) in each half-open window [lower, upper)."""
    return np.searchsorted(spike_times, upper, side="left") - np.searchsorted(spike_times, lower, side="left")


def first_decrease(spike_times: np.ndarray) -> int | None:
    """The index of the first spike earlier than the one before it, or None when sorted."""
    decreasing = np.flatnonzero(np.diff(spike_times) < 0)
    return int(decreasing[0]) + 1 if decreasing.size else None


def repetition_numbers(stimulus_ids: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... per stimulus, in the order given (presentation order)."""
    seen: dict[str, int] = {}
    numbers = np.empty(len(stimulus_ids), dtype=np.int64)
    for i, stimulus in enumerate(stimulus_ids):
        numbers[i] = seen.get(stimulus, 0)
        seen[stimulus] = numbers[i] + 1
    return numbers
