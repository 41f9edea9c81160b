"""A metric's result: the aggregate, its error, and every per-split × per-unit raw value."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Score:
    """`value` aggregates `raw` (splits × units); ceiled scores are recomputed from raw + ceiling."""

    value: float
    error: float
    raw: np.ndarray
    units: tuple[str, ...] = ()
    attrs: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """Lossless JSON: NaN (an excluded unit) becomes null."""
        raw = [[None if np.isnan(v) else float(v) for v in row] for row in np.asarray(self.raw, dtype=np.float64)]
        return {
            "value": float(self.value),
            "error": float(self.error),
            "raw": raw,
            "units": list(self.units),
            "attrs": dict(self.attrs),
        }


def aggregate_splits(per_split_unit: np.ndarray, units: tuple[str, ...] = (), **attrs) -> Score:
    """The reference aggregation: median over units (NaN skipped) per split, mean over splits,
    error = std over splits (ddof=0) / sqrt(n_splits)."""
    per_split = np.nanmedian(per_split_unit, axis=1)
    return Score(float(per_split.mean()), float(per_split.std() / np.sqrt(len(per_split))), per_split_unit, units, attrs)
