"""Checks at every metric's public boundary, with one wording: the layout (dims and coordinates) of
model output and data, the model's rows lined up with the data's stimuli, and finite model values.

Each metric keeps its own policy for model stimuli the data lack, passed explicitly as `extra`:
`"raise"` where the model's whole set enters the numbers or like must be compared with like
(regression, representational, i1/i2n), `"ignore"` where only the data's stimuli are looked up
(accuracy, shape_bias, error_consistency, rsa)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..errors import UserInputError, preview

if TYPE_CHECKING:
    import xarray as xr

Extra = Literal["raise", "ignore"]
PLURALS = {"probabilities": "probabilities"}


def require_dims(array: xr.DataArray, dims: Sequence[str], *, who: str, fix: str, exact: bool = True) -> None:
    """`array` has these dims in any order: exactly these, or at least these when `exact` is False."""
    have = [str(d) for d in array.dims]
    missing = [d for d in dims if d not in have]
    unexpected = [d for d in have if d not in dims] if exact else []
    if missing or unexpected:
        problems = [f"no {', '.join(missing)}" if missing else "", f"unexpected {', '.join(unexpected)}" if unexpected else ""]
        raise UserInputError(
            f"{who} need dims {' × '.join(dims)}{'' if exact else ' (at least)'}; they have "
            f"{' × '.join(have) or 'none'} ({'; '.join(p for p in problems if p)})",
            field=(missing or unexpected)[0],
            fix=fix,
        )


def require_coords(array: xr.DataArray, names: Iterable[str], *, dim: str, who: str, fix: str) -> None:
    """`array` has each coordinate along `dim` (a coordinate elsewhere would be misread)."""
    missing = [n for n in names if n not in array.coords or array[n].dims != (dim,)]
    if missing:
        raise UserInputError(f"{who} have no coordinate(s) {', '.join(missing)} along {dim}", field=missing[0], fix=fix)


def align_by_stimulus(
    source: xr.DataArray,
    stimuli: Sequence[str] | np.ndarray,
    *,
    extra: Extra = "raise",
    dim: str = "presentation",
    coord: str = "stimulus_id",
    noun: str = "response",
) -> np.ndarray:
    """Positions along `dim` of the model's row for each of the data's `stimuli`, in their order.

    Every data stimulus needs exactly one model row. Model stimuli the data lack are an error with
    `extra="raise"` and skipped with `"ignore"`. `noun` names the model's output in messages."""
    plural = PLURALS.get(noun, f"{noun}s")
    require_dims(source, (dim,), who=f"model {plural}", fix=f"give model {plural} along a {dim!r} dim", exact=False)
    require_coords(source, (coord,), dim=dim, who=f"model {plural}", fix=f"key every model {noun} by its {coord}")
    ids = np.asarray(source[coord].values).astype(str)
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise UserInputError(
            f"model {plural} list {int((counts > 1).sum())} stimuli more than once: {preview(unique[counts > 1])}",
            field=coord,
            fix=f"give one model {noun} per stimulus (average repeated presentations first)",
        )
    index = {s: i for i, s in enumerate(ids)}
    wanted = np.asarray(stimuli).astype(str)
    missing = sorted(set(wanted) - set(index))
    unknown = sorted(set(index) - set(wanted)) if extra == "raise" else []
    if missing or unknown:
        parts = [f"{len(missing)} data stimuli have no model {noun}: {preview(missing)}" if missing else ""]
        parts.append(f"{len(unknown)} model stimuli are not in the data: {preview(unknown)}" if unknown else "")
        raise UserInputError(
            f"model and data stimuli differ: {'; '.join(p for p in parts if p)}",
            field=coord,
            fix=f"compute model {plural} for {'exactly' if extra == 'raise' else 'every one of'} the benchmark's stimuli",
        )
    return np.array([index[s] for s in wanted], dtype=int)


LARGEST_RESPONSE = 1e100  # squares and products of larger values overflow float64 in the metrics' sums


def check_finite(values: np.ndarray, *, noun: str = "responses") -> None:
    """Numeric model output must be finite, and small enough that its squares are: NaN or ±inf would
    silently turn into a NaN score, values near 1e300 into an overflow inside a solver."""
    values = np.asarray(values)
    if values.dtype.kind in "fc" and not np.isfinite(values).all():
        raise UserInputError(
            f"{int((~np.isfinite(values)).sum())} model {noun} are NaN or infinite",
            field=noun,
            fix="check the model's output for overflow or missing stimuli",
        )
    if values.dtype.kind == "f" and values.size and (largest := float(np.abs(values).max())) > LARGEST_RESPONSE:
        raise UserInputError(
            f"model {noun} reach {largest:.3g} in magnitude, beyond {LARGEST_RESPONSE:g}, where the metrics' sums of "
            "squares overflow",
            field=noun,
            fix="rescale the responses (e.g. z-score each unit: correlations and regressions do not depend on a unit's scale)",
        )


def missing_labels(values: np.ndarray) -> np.ndarray:
    """True where a label (a choice, a truth) is absent: None, or NaN in an object or float array."""
    values = np.asarray(values)
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind == "O":
        absent = [v is None or (isinstance(v, float) and v != v) for v in values.ravel()]
        return np.array(absent, dtype=bool).reshape(values.shape)
    return np.zeros(values.shape, dtype=bool)


def refuse_missing_choices(values: np.ndarray, *, who: str) -> None:
    """Trials without a choice (NaN or None) would be read as a label 'nan': refuse them by count."""
    absent = missing_labels(values)
    if absent.any():
        raise UserInputError(
            f"{int(absent.sum())} of {absent.size} {who} have no choice (NaN or None)",
            field="choice",
            fix="drop the trials without a response before registering the data",
        )
