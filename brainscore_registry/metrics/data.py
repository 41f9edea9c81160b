"""Neural data the way the reference protocol sees it: repetition-averaged, sorted by stimulus."""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import UserInputError, preview


def presentation_table(assembly: xr.DataArray, exclude: tuple[str, ...] = ("repetition",)) -> pd.DataFrame:
    names = [n for n, c in assembly.coords.items() if c.dims == ("presentation",) and n not in exclude]
    return pd.DataFrame({n: np.asarray(assembly[n].values) for n in names})


def average_repetitions(assembly: xr.DataArray) -> xr.DataArray:
    """Mean over repetitions per stimulus, as `presentation × neuroid`, rows sorted by the tuple of the
    remaining presentation coords (stimulus_id first), as the reference's groupby sorts them."""
    table = presentation_table(assembly)
    keys = [c for c in ["stimulus_id", *sorted(c for c in table.columns if c != "stimulus_id")] if c in table.columns]
    values = np.asarray(assembly.transpose("presentation", ...).values)
    values = values.reshape(values.shape[0], -1) if values.ndim > 2 else values
    groups = table.groupby(keys, sort=True).indices
    means = np.stack([values[idx].mean(axis=0) for idx in groups.values()]).astype(values.dtype, copy=False)
    index = pd.DataFrame(list(groups.keys()), columns=keys) if len(keys) > 1 else pd.DataFrame({keys[0]: list(groups.keys())})
    coords = {k: ("presentation", index[k].to_numpy()) for k in keys}
    coords.update({n: c for n, c in assembly.coords.items() if c.dims == ("neuroid",)})
    return xr.DataArray(means, dims=("presentation", "neuroid"), coords=coords)


def sort_by_stimulus(assembly: xr.DataArray) -> xr.DataArray:
    order = np.argsort(np.asarray(assembly["stimulus_id"].values, dtype=str), kind="stable")
    return assembly.isel(presentation=order)


def check_model_against_data(source: xr.DataArray, target: xr.DataArray) -> None:
    """Model responses must cover exactly the data's stimuli and be finite: say how many differ, and which."""
    a = set(np.asarray(source["stimulus_id"].values, dtype=str))
    b = set(np.asarray(target["stimulus_id"].values, dtype=str))
    if a != b:
        raise UserInputError(
            f"model and data stimuli differ: {len(b - a)} data stimuli have no model response "
            f"({preview(sorted(b - a))}), {len(a - b)} model stimuli are not in the data ({preview(sorted(a - b))})",
            field="stimulus_id",
            fix="compute model responses for exactly the benchmark's stimuli",
        )
    values = np.asarray(source.values)
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise UserInputError(
            f"{int((~np.isfinite(values)).sum())} model responses are NaN or infinite",
            field="responses",
            fix="check the model's activations for overflow or missing stimuli",
        )


def stratification_labels(target: xr.DataArray, coord: str | None) -> np.ndarray | None:
    """The labels splits are stratified by, taken from the target in its row order; None (plain
    shuffled splits) when the benchmark names none or the data have no such coordinate."""
    return np.asarray(target[coord].values) if coord is not None and coord in target.coords else None


def stimulus_matrix(assembly: xr.DataArray) -> np.ndarray:
    """`presentation × unit` values with rows sorted by stimulus_id."""
    return np.asarray(sort_by_stimulus(assembly).transpose("presentation", ...).values)


@contextlib.contextmanager
def nan_results_expected():
    """Means of all-NaN slices are NaN on purpose in these metrics: silence numpy's RuntimeWarnings."""
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
