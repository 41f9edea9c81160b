"""Normalisations: how a raw metric score and its ceiling become a ceiled benchmark score.

- `r2_over_ceiling` (neural, Brain-Score 2.x explained variance): raw² / ceiling; error = the raw
  error, copied, not propagated (as the reference does).
- `raw_over_sqrt_ceiling` (i1/i2n, Rajalingham 2018): per split raw / √ceiling of the same split
  (score and ceiling share the trial halves), then mean; error = std over splits (ddof=0).
- `raw_over_ceiling_clipped` (error consistency): raw / ceiling clipped to [0, 1]; error = raw error /
  ceiling.
- `raw_over_ceiling`: raw / ceiling; error = raw error / ceiling.
- `closeness_over_ceiling` (a value to match, e.g. shape bias): clip((1 − |raw − target|) / ceiling, 0, 1)
  with the target the ceiling carries (`attrs["target"]`, e.g. the human mean); error = raw error / ceiling.
- `none`: the raw score.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .score import BenchmarkScore, Score


def _per_split(score: Score) -> np.ndarray:
    return np.asarray(score.raw, dtype=np.float64).reshape(len(score.raw), -1)[:, 0]


def r2_over_ceiling(raw: Score, ceiling: Score) -> tuple[float, float]:
    return raw.value**2 / ceiling.value, raw.error


def raw_over_sqrt_ceiling(raw: Score, ceiling: Score) -> tuple[float, float]:
    raw_splits, ceiling_splits = _per_split(raw), _per_split(ceiling)
    if len(raw_splits) != len(ceiling_splits):  # a pinned ceiling: one value for every split
        ceiling_splits = np.full(len(raw_splits), ceiling.value)
    ceiled = raw_splits / np.sqrt(ceiling_splits)
    return float(ceiled.mean()), float(ceiled.std())


def raw_over_ceiling_clipped(raw: Score, ceiling: Score) -> tuple[float, float]:
    return float(np.clip(raw.value / ceiling.value, 0.0, 1.0)), raw.error / ceiling.value


def raw_over_ceiling(raw: Score, ceiling: Score) -> tuple[float, float]:
    return raw.value / ceiling.value, raw.error / ceiling.value


def closeness_over_ceiling(raw: Score, ceiling: Score) -> tuple[float, float]:
    closeness = 1 - abs(raw.value - ceiling.attrs["target"])
    return float(np.clip(closeness / ceiling.value, 0.0, 1.0)), raw.error / ceiling.value


NORMALIZATIONS: dict[str, Callable[[Score, Score], tuple[float, float]]] = {
    "none": lambda raw, ceiling: (raw.value, raw.error),
    "r2_over_ceiling": r2_over_ceiling,
    "raw_over_sqrt_ceiling": raw_over_sqrt_ceiling,
    "raw_over_ceiling_clipped": raw_over_ceiling_clipped,
    "raw_over_ceiling": raw_over_ceiling,
    "closeness_over_ceiling": closeness_over_ceiling,
}


def ceil_score(raw: Score, ceiling: Score, normalization: str) -> BenchmarkScore:
    value, error = NORMALIZATIONS[normalization](raw, ceiling)
    return BenchmarkScore(value=float(value), error=float(error), raw=raw, ceiling=ceiling, normalization=normalization)
