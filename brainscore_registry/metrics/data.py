"""Neural data the way the reference protocol sees it: repetition-averaged, sorted by stimulus."""

from __future__ import annotations

import contextlib
import warnings
from typing import TYPE_CHECKING

import numpy as np

from ..errors import UserInputError, did_you_mean
from .alignment import align_by_stimulus, check_finite, require_coords, require_dims

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr


def presentation_table(assembly: xr.DataArray, exclude: tuple[str, ...] = ("repetition",)) -> pd.DataFrame:
    import pandas as pd

    names = [n for n, c in assembly.coords.items() if c.dims == ("presentation",) and n not in exclude]
    return pd.DataFrame({n: np.asarray(assembly[n].values) for n in names})


def average_repetitions(assembly: xr.DataArray) -> xr.DataArray:
    """Mean over repetitions per stimulus (NaN skipped), as `presentation × neuroid`, rows sorted by the tuple
    of the remaining presentation coords (stimulus_id first), as the reference's groupby sorts them."""
    import pandas as pd
    import xarray as xr

    table = presentation_table(assembly)
    keys = [c for c in ["stimulus_id", *sorted(c for c in table.columns if c != "stimulus_id")] if c in table.columns]
    values = np.asarray(assembly.transpose("presentation", ...).values)
    values = values.reshape(values.shape[0], -1) if values.ndim > 2 else values
    groups = table.groupby(keys, sort=True).indices
    # NaN skipped, as the reference's xarray mean does (skipna): a repetition missing for one neuroid must not
    # void the stimulus; a stimulus x neuroid without any value stays NaN
    mean = np.nanmean if values.dtype.kind == "f" and np.isnan(values).any() else np.mean
    with nan_results_expected():
        means = np.stack([mean(values[idx], axis=0) for idx in groups.values()]).astype(values.dtype, copy=False)
    index = pd.DataFrame(list(groups.keys()), columns=keys) if len(keys) > 1 else pd.DataFrame({keys[0]: list(groups.keys())})
    coords = {k: ("presentation", index[k].to_numpy()) for k in keys}
    coords.update({n: c for n, c in assembly.coords.items() if c.dims == ("neuroid",)})
    return xr.DataArray(means, dims=("presentation", "neuroid"), coords=coords)


def sort_by_stimulus(assembly: xr.DataArray) -> xr.DataArray:
    order = np.argsort(np.asarray(assembly["stimulus_id"].values, dtype=str), kind="stable")
    return assembly.isel(presentation=order)


def check_model_against_data(source: xr.DataArray, target: xr.DataArray) -> np.ndarray:
    """Model features against recordings, both `presentation × neuroid`: the layouts, the data's
    stimulus_id and neuroid_id, exactly one finite model row per data stimulus and none other.
    Returns the model's row of each data row."""
    require_dims(source, ("presentation", "neuroid"), who="model responses", fix="give model responses as presentation × neuroid")
    require_dims(target, ("presentation", "neuroid"), who="the data", fix="compare with recordings as presentation × neuroid")
    require_coords(target, ("stimulus_id",), dim="presentation", who="the data", fix="key every presentation by its stimulus_id")
    require_coords(target, ("neuroid_id",), dim="neuroid", who="the data", fix="name every neuroid by its neuroid_id")
    positions = align_by_stimulus(source, np.asarray(target["stimulus_id"].values), extra="raise")
    check_finite(source.values)
    return positions


REFERENCE_STRATIFICATION = "object_name"
"""The metrics' default stratification coordinate. As in the reference, data without it get plain
shuffled splits; any other coordinate a caller names must exist."""


def require_stratification(target: xr.DataArray, coord: str) -> None:
    """`coord` is a coordinate along the target's presentations; else an error naming the ones it has."""
    if coord in target.coords and target[coord].dims == ("presentation",):
        return
    have = sorted(str(n) for n, c in target.coords.items() if c.dims == ("presentation",))
    raise UserInputError(
        f"stratification_coord names no coordinate {coord!r} of the data; they have {', '.join(have) or 'none'} "
        f"along presentation.{did_you_mean(coord, have)}",
        field="metric.params.stratification_coord",
        fix="name one of the data's coordinates, or set stratification_coord: null for plain shuffled splits",
    )


def stratification_labels(target: xr.DataArray, coord: str | None) -> np.ndarray | None:
    """The labels splits are stratified by, taken from the target in its row order; None (plain
    shuffled splits) when none is named, or when the reference's default `object_name` is absent (as
    the reference does). Any other coordinate the data lack is a misspelling: refused."""
    if coord is None or (coord == REFERENCE_STRATIFICATION and coord not in target.coords):
        return None
    require_stratification(target, coord)
    return np.asarray(target[coord].values)


def stimulus_matrix(assembly: xr.DataArray) -> np.ndarray:
    """`presentation × unit` values with rows sorted by stimulus_id."""
    return np.asarray(sort_by_stimulus(assembly).transpose("presentation", ...).values)


@contextlib.contextmanager
def nan_results_expected():
    """Means of all-NaN slices are NaN on purpose in these metrics: silence numpy's RuntimeWarnings."""
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
