"""A metric's result (`Score`: the aggregate, its error, every per-split × per-unit raw value) and a
benchmark's (`BenchmarkScore`: the ceiled value with its raw score, ceiling and normalisation).
Both serialise to JSON losslessly (`to_json` / `from_json`): floats as shortest round-trip decimals,
NaN as null."""

from __future__ import annotations

import warnings
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
        raw = np.asarray(self.raw, dtype=np.float64)
        raw = raw.reshape(len(raw), -1) if raw.ndim != 2 else raw
        return {
            "value": _number(self.value),
            "error": _number(self.error),
            "raw": [[_number(v) for v in row] for row in raw],
            "units": list(self.units),
            "attrs": _jsonable(self.attrs),
        }

    @classmethod
    def from_json(cls, data: dict) -> "Score":
        raw = np.array([[np.nan if v is None else v for v in row] for row in data["raw"]], dtype=np.float64)
        return cls(_float(data["value"]), _float(data["error"]), raw, tuple(data["units"]), dict(data["attrs"]))


@dataclass(frozen=True)
class BenchmarkScore:
    """A ceiled score: `value` = normalization(raw, ceiling), with both kept whole."""

    value: float
    error: float
    raw: Score
    ceiling: Score
    normalization: str
    warnings: tuple[str, ...] = ()
    """What a reader of the score must know to read it right (e.g. a sign squared away); kept in records."""

    def to_json(self) -> dict:
        return {
            "value": _number(self.value),
            "error": _number(self.error),
            "normalization": self.normalization,
            "raw": self.raw.to_json(),
            "ceiling": self.ceiling.to_json(),
            **({"warnings": list(self.warnings)} if self.warnings else {}),
        }

    @classmethod
    def from_json(cls, data: dict) -> "BenchmarkScore":
        return cls(
            _float(data["value"]),
            _float(data["error"]),
            Score.from_json(data["raw"]),
            Score.from_json(data["ceiling"]),
            data["normalization"],
            tuple(data.get("warnings", ())),
        )


def _number(value) -> float | None:
    value = float(value)
    return None if np.isnan(value) else value


def _float(value) -> float:
    return float("nan") if value is None else float(value)


def _jsonable(value):
    """numpy scalars and arrays inside attrs as plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return _number(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


class ExcludedUnitsWarning(UserWarning):
    """Some units (neuroids) had an undefined correlation (constant responses) and were left out."""


def aggregate_splits(per_split_unit: np.ndarray, units: tuple[str, ...] = (), **attrs) -> Score:
    """The reference aggregation: median over units (NaN skipped) per split, mean over splits,
    error = std over splits (ddof=0) / sqrt(n_splits). Units with r = NaN (constant responses) are
    excluded from the median, exactly as the reference does, and a warning counts them."""
    undefined = np.isnan(per_split_unit).any(axis=0)
    if undefined.any():
        names = ", ".join([u for u, bad in zip(units, undefined) if bad][:5]) + (" ..." if undefined.sum() > 5 else "")
        warnings.warn(
            f"{int(undefined.sum())} of {per_split_unit.shape[1]} units gave r = NaN in at least one split (constant "
            f"responses, or NaN in the data) and are excluded from the median there: {names}",
            ExcludedUnitsWarning,
            stacklevel=3,
        )
        attrs = {**attrs, "units_excluded": int(undefined.sum())}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN split is NaN, as in the reference
        per_split = np.nanmedian(per_split_unit, axis=1)
    return Score(float(per_split.mean()), float(per_split.std() / np.sqrt(len(per_split))), per_split_unit, units, attrs)
