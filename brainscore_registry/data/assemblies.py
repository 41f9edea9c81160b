"""Assemblies (neural, behavioral, similarity) as xarray objects: normalisation and validation.

`build_assembly` takes what an experimentalist has (a DataArray, possibly with MultiIndex
dimensions as Brain-Score/brainio produce) plus validated metadata, checks it against the
conventions below, and returns the canonical Dataset that is hashed and stored:

- neural: `responses` (presentation × neuroid × time_bin); coords `stimulus_id`, `repetition`
  (presentation), `neuroid_id`, `region` (neuroid), `time_bin_start`, `time_bin_end` (time_bin).
- behavioral: `choice` (presentation), one row per trial; coords `stimulus_id`, `subject`, and
  `truth` or `label`; `condition`, `rt` where known. A trial that shows several stimuli (a triplet
  of an odd-one-out task) names the others in `stimulus_id_2`, `stimulus_id_3`, ...
- similarity: `similarity` (stimulus_a × stimulus_b × subject); stimulus ids index both axes; one
  matrix per subject, or per (region, subject) with a `region` coordinate along `subject`.

Data of several regions say which region each neuroid, trial or matrix belongs to (a `region`
coordinate), and each (region, subject) has one matrix: a benchmark selects, never pools.

Extra coordinates (`object_name`, `animal`, `electrode`, ...) are kept as they are.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import UserInputError, did_you_mean, preview
from .hashing import is_string_dtype, to_jsonable
from .identifiers import normalize_labels
from .schemas import AssemblyMeta, time_bin_values

ASSEMBLY_FORMAT = "bsr-assembly-v1"
DATA_VARIABLE = {"neural": "responses", "behavioral": "choice", "similarity": "similarity"}
DIMS = {
    "neural": ("presentation", "neuroid", "time_bin"),
    "behavioral": ("presentation",),
    "similarity": ("stimulus_a", "stimulus_b", "subject"),
}
REQUIRED_COORDS = {
    "neural": {
        "stimulus_id": "presentation",
        "repetition": "presentation",
        "neuroid_id": "neuroid",
        "region": "neuroid",
        "time_bin_start": "time_bin",
        "time_bin_end": "time_bin",
    },
    "behavioral": {"stimulus_id": "presentation", "subject": "presentation"},
    "similarity": {"stimulus_a": "stimulus_a", "stimulus_b": "stimulus_b", "subject": "subject"},
}
POOLED_SUBJECT = "pooled"
ID_COORDS = ("stimulus_id", "stimulus_a", "stimulus_b", "neuroid_id", "subject")
TRIAL_STIMULUS = re.compile(r"^stimulus_id_([2-9]|[1-9][0-9])$")
"""The other stimuli of a multi-stimulus trial: `stimulus_id_2` ... `stimulus_id_99`."""
"""Coordinates that hold ids: normalised to NFC and refused with control or bidirectional characters
(`identifiers.normalize_labels`), as the stimulus set's ids are, so that the two match."""


class _Check:
    """Raises UserInputError naming the source file; one place for the message format."""

    def __init__(self, file: object, kind: str) -> None:
        self.file, self.kind = file, kind

    def fail(self, message: str, field: str | None, fix: str) -> None:
        raise UserInputError(message, file=self.file, field=field, fix=fix)


def flatten_indexes(da: xr.DataArray) -> xr.DataArray:
    """Brain-Score keeps coordinates as MultiIndex levels; store them as plain coordinates."""
    multi = [name for name, index in da.indexes.items() if isinstance(index, pd.MultiIndex)]
    return da.reset_index(multi) if multi else da


def _dims(da: xr.DataArray, meta: AssemblyMeta, check: _Check) -> xr.DataArray:
    expected = DIMS[meta.kind]
    have = set(da.dims)
    if meta.kind == "neural" and have == {"presentation", "neuroid"}:
        if len(meta.time_bins) != 1:
            check.fail(
                f"the data has no time_bin dimension but the metadata lists {len(meta.time_bins)} time bins",
                "dims",
                "add a time_bin dimension to the data, or list exactly one time bin in time_bins",
            )
        da = da.expand_dims("time_bin", axis=-1)
    elif meta.kind == "similarity" and have == {"stimulus_a", "stimulus_b"}:
        da = da.expand_dims("subject", axis=-1).assign_coords(subject=("subject", [POOLED_SUBJECT]))
    elif have != set(expected):
        extra, missing = sorted(have - set(expected), key=str), [d for d in expected if d not in have]
        parts = ([f"unexpected {extra}"] if extra else []) + ([f"missing {missing}"] if missing else [])
        check.fail(
            f"a {meta.kind} assembly has dims {' × '.join(expected)}; this one has "
            f"{' × '.join(map(str, da.dims)) or 'none'} ({'; '.join(parts)})",
            "dims",
            f"rename or transpose the data to dims {expected}",
        )
    da = da.transpose(*expected)
    empty = [d for d in expected if da.sizes[d] == 0]
    if empty:
        check.fail(
            f"the assembly is empty (dimension {empty[0]!r} has size 0)",
            empty[0],
            "register data with at least one value along every dimension",
        )
    return da


def _coerce_aliases(da: xr.DataArray) -> xr.DataArray:
    # Brain-Score assemblies written before 2023 call the stimulus id `image_id`.
    if "stimulus_id" not in da.coords and "image_id" in da.coords:
        da = da.rename({"image_id": "stimulus_id"})
    return da


def _fill_from_meta(da: xr.DataArray, meta: AssemblyMeta, check: _Check) -> xr.DataArray:
    if meta.kind != "neural":
        return da
    bins = time_bin_values(meta.time_bins)
    if "time_bin_start" not in da.coords and "time_bin_end" not in da.coords:
        if da.sizes["time_bin"] != len(bins):
            check.fail(
                f"the data has {da.sizes['time_bin']} time bins but the metadata lists {len(bins)}",
                "time_bins",
                "list one [start_ms, end_ms] per time bin of the data",
            )
        da = da.assign_coords(time_bin_start=("time_bin", [b[0] for b in bins]), time_bin_end=("time_bin", [b[1] for b in bins]))
    if "region" not in da.coords and len(meta.regions) == 1:
        da = da.assign_coords(region=("neuroid", [meta.regions[0]] * da.sizes["neuroid"]))
    return da


def _required_coords(da: xr.DataArray, kind: str, check: _Check) -> None:
    for name, dim in REQUIRED_COORDS[kind].items():
        if name not in da.coords:
            hint = did_you_mean(name, [str(c) for c in da.coords])
            check.fail(
                f"required coordinate {name!r} (along {dim}) is missing.{hint}",
                name,
                f"add a coordinate {name!r} along the {dim!r} dimension",
            )
        if da[name].dims != (dim,):
            check.fail(
                f"coordinate {name!r} lies along {da[name].dims}, not ({dim!r},)",
                name,
                f"make {name!r} a one-dimensional coordinate along {dim!r}",
            )
    if kind == "behavioral" and not ({"truth", "label"} & set(map(str, da.coords))):
        check.fail(
            "a behavioral assembly needs the correct answer per trial",
            "truth",
            "add a coordinate 'truth' (or 'label') along 'presentation'",
        )


def _coord_dtypes(da: xr.DataArray, check: _Check) -> xr.DataArray:
    """Every coordinate is numbers, booleans or strings (missing labels are refused, since
    None/NaN inside a string column has no single meaning). Integer labels are stored as int64
    and float labels as float64, so a file format's integer width cannot change the version."""
    for name, coord in list(da.coords.items()):
        if coord.dtype.kind in "iu" and coord.dtype != np.int64 and np.can_cast(coord.dtype, np.int64):
            # NetCDF3 cannot store int64; widening makes the same labels the same version in any format
            da = da.assign_coords({name: coord.variable.astype(np.int64)})
            continue
        if coord.dtype.kind == "f" and coord.dtype != np.float64:
            da = da.assign_coords({name: coord.variable.astype(np.float64)})
            continue
        if coord.dtype.kind in "biuf" or (is_string_dtype(coord.dtype) and coord.dtype.kind != "O"):
            if coord.dtype.kind == "S":
                da = da.assign_coords({name: coord.variable.astype(str)})
            continue
        if coord.dtype.kind == "O":
            bad = [v for v in np.asarray(coord.values).ravel() if not isinstance(v, str)]
            if bad:
                check.fail(
                    f"coordinate {name!r} mixes strings with {type(bad[0]).__name__} values such as {bad[0]!r} "
                    f"({len(bad)} of {coord.size})",
                    name,
                    "fill missing labels with a string (e.g. '') or drop the coordinate",
                )
            continue
        check.fail(
            f"coordinate {name!r} has dtype {coord.dtype}, which cannot be stored",
            name,
            "convert it to numbers or strings (dates as ISO-8601 strings)",
        )
    return da


def _normalized_ids(da: xr.DataArray, check: _Check) -> xr.DataArray:
    """String id coordinates in NFC; ids with control or bidirectional characters are refused."""
    for name in (*ID_COORDS, *trial_stimulus_coords(da)):
        if name in da.coords and da[name].dtype.kind in "OUT":
            ids = normalize_labels(np.asarray(da[name].values).ravel(), file=check.file, field=name)
            if ids != [str(v) for v in np.asarray(da[name].values).ravel()]:
                da = da.assign_coords({name: (da[name].dims, np.array(ids, dtype=object))})
    return da


def repeated_pairs(first: np.ndarray, second: np.ndarray) -> pd.MultiIndex:
    """The (first, second) pairs that occur more than once (each repeat listed)."""
    pairs = pd.MultiIndex.from_arrays([first, second])
    return pairs[pairs.duplicated()]


def _unique(values: np.ndarray) -> np.ndarray:
    return pd.Index(np.asarray(values, dtype=object) if values.dtype.kind in "OUT" else values).duplicated()


def _check_neural(da: xr.DataArray, meta: AssemblyMeta, check: _Check) -> None:
    if da.dtype.kind not in "iuf":
        check.fail(
            f"neural responses must be numbers, got dtype {da.dtype}",
            "data",
            "store responses as integers (counts) or floats (rates, signals)",
        )
    if da["repetition"].dtype.kind not in "iu":
        check.fail(
            f"coordinate 'repetition' must be integers, got {da['repetition'].dtype}",
            "repetition",
            "number the repetitions of each stimulus 0, 1, 2, ...",
        )
    dup = repeated_pairs(np.asarray(da["stimulus_id"].values, dtype=object), da["repetition"].values)
    if len(dup):
        check.fail(
            f"{len(dup)} presentations repeat a (stimulus_id, repetition) pair, e.g. {preview(dup)}",
            "repetition",
            "give every presentation of a stimulus its own repetition number",
        )
    dup_neuroids = da["neuroid_id"].values[_unique(da["neuroid_id"].values)]
    if len(dup_neuroids):
        check.fail(f"neuroid_id is not unique: {preview(dup_neuroids)}", "neuroid_id", "give every neuroid its own id")
    start, end = np.asarray(da["time_bin_start"].values), np.asarray(da["time_bin_end"].values)
    if start.dtype.kind not in "iuf" or end.dtype.kind not in "iuf":
        check.fail(
            "time_bin_start and time_bin_end must be numbers (ms)", "time_bin_start", "store time bin edges in ms as numbers"
        )
    if np.any(end <= start):
        i = int(np.argmax(end <= start))
        check.fail(
            f"time bin {i} ends at {end[i]} ms, not after its start {start[i]} ms",
            "time_bin_end",
            "write each time bin as start < end, in ms",
        )
    declared = time_bin_values(meta.time_bins)
    actual = [[a, b] for a, b in zip(start.tolist(), end.tolist())]
    if [list(map(float, b)) for b in declared] != [list(map(float, b)) for b in actual]:
        check.fail(
            f"the data's time bins {actual} differ from the metadata's time_bins {declared}",
            "time_bins",
            "make the metadata's time_bins list the data's time bins in order",
        )
    regions = set(map(str, np.asarray(da["region"].values)))
    undeclared = sorted(regions - set(meta.regions))
    if undeclared:
        check.fail(
            f"the data has neuroids in region(s) {undeclared} that the metadata's regions {meta.regions} do not list",
            "region",
            "list every recorded region in the metadata's 'regions' (or fix the 'region' coordinate)",
        )
    values = np.asarray(da.values)
    if values.dtype.kind == "f":
        if np.isinf(values).any():
            check.fail(
                f"{int(np.isinf(values).sum())} responses are infinite", "data", "replace infinite values (NaN marks missing)"
            )
        all_nan = np.isnan(values).all(axis=(0, 2))
        if all_nan.any():
            ids = da["neuroid_id"].values[all_nan]
            check.fail(
                f"{int(all_nan.sum())} neuroid(s) have no value at all (all NaN): {preview(ids)}",
                "neuroid_id",
                "drop neuroids without any recorded response",
            )


def _check_behavioral(da: xr.DataArray, check: _Check) -> None:
    values = np.asarray(da.values)
    if (
        values.dtype.kind == "f"
        and np.isnan(values).any()
        or values.dtype.kind == "O"
        and any(not isinstance(v, str) for v in values)
    ):
        check.fail(
            "some trials have no choice (NaN or None)",
            "choice",
            "drop trials without a response, or code them as a label such as 'none'",
        )
    if values.dtype.kind not in "iubOUT":
        check.fail(
            f"choices must be labels (strings) or integers, got dtype {values.dtype}",
            "choice",
            "store each trial's choice as a label",
        )


def trial_stimulus_coords(da: xr.DataArray | xr.Dataset) -> list[str]:
    """The `stimulus_id_<k>` coordinates of multi-stimulus trials, in order."""
    return sorted((str(c) for c in da.coords if TRIAL_STIMULUS.match(str(c))), key=lambda c: int(c.rsplit("_", 1)[1]))


def _check_regions(da: xr.DataArray, meta: AssemblyMeta, dim: str, check: _Check) -> None:
    """Behavioural and similarity data: a `region` coordinate along `dim` when the metadata list several
    regions, only listed regions, and (similarity) one matrix per (region, subject)."""
    if "region" not in da.coords:
        if len(meta.regions) > 1:
            check.fail(
                f"the metadata list regions {meta.regions} but the data do not say which region each {dim} belongs to",
                "region",
                f"add a coordinate 'region' along {dim!r} (or register one assembly per region)",
            )
        return
    if da["region"].dims != (dim,):
        check.fail(f"coordinate 'region' lies along {da['region'].dims}, not ({dim!r},)", "region", f"put 'region' along {dim!r}")
    undeclared = sorted(set(map(str, np.asarray(da["region"].values))) - set(meta.regions))
    if undeclared:
        check.fail(
            f"the data have region(s) {undeclared} that the metadata's regions {meta.regions} do not list",
            "region",
            "list every region in the metadata's 'regions' (or fix the 'region' coordinate)",
        )


def _check_subject_rows(da: xr.DataArray, meta: AssemblyMeta, check: _Check) -> None:
    """One matrix per (region, subject): a repeated pair would be pooled as if it were two subjects."""
    subjects = np.asarray(da["subject"].values, dtype=object)
    regions = np.asarray(da["region"].values, dtype=object) if "region" in da.coords else np.full(len(subjects), meta.regions[0])
    repeated = repeated_pairs(regions, subjects)
    if len(repeated):
        check.fail(
            f"{len(repeated)} (region, subject) pair(s) have more than one matrix: {preview([f'{r}/{s}' for r, s in repeated])}",
            "subject",
            "give each subject one matrix per region (average sessions, or name them as subjects, e.g. 's1_session2')",
        )


MEASURE_TOLERANCE = 1e-9


def _check_measure(da: xr.DataArray, meta: AssemblyMeta, check: _Check) -> None:
    """Matrices that plainly hold the other measure than the metadata say: correlations (every diagonal
    value 1, all values in [−1, 1]) declared as dissimilarities, or distances (zero diagonal, nothing
    negative) declared as similarities. Split-data matrices (a diagonal of reliabilities) pass either way."""
    values = np.asarray(da.transpose("subject", "stimulus_a", "stimulus_b").values, dtype=np.float64)
    diagonal = np.diagonal(values, axis1=1, axis2=2)
    diagonal, finite = diagonal[~np.isnan(diagonal)], values[~np.isnan(values)]
    if diagonal.size == 0:
        return
    measure = meta.measure or "dissimilarity"
    if (
        measure == "dissimilarity"
        and np.all(np.abs(diagonal - 1) <= MEASURE_TOLERANCE)
        and np.all(np.abs(finite) <= 1 + MEASURE_TOLERANCE)
    ):
        said = "say dissimilarity" if meta.measure else "do not give `measure`, which means dissimilarity"
        check.fail(
            f"the matrices look like correlations (every diagonal value is 1, all values in [−1, 1]) but the metadata {said}",
            "measure",
            "set `measure: similarity` (and `measure_method`, e.g. 'pearson r') in the metadata, or register 1 − r",
        )
    if measure == "similarity" and np.all(np.abs(diagonal) <= MEASURE_TOLERANCE) and np.all(finite >= -MEASURE_TOLERANCE):
        check.fail(
            "the matrices look like dissimilarities (a zero diagonal, no negative value) "
            "but the metadata say `measure: similarity`",
            "measure",
            "set `measure: dissimilarity` in the metadata, or register similarities",
        )


def _check_similarity(da: xr.DataArray, check: _Check) -> None:
    a, b = (np.asarray(da[d].values, dtype=object) for d in ("stimulus_a", "stimulus_b"))
    if list(a) != list(b):
        check.fail(
            "stimulus_a and stimulus_b do not list the same stimuli in the same order",
            "stimulus_b",
            "index both axes of the matrix by the same stimulus ids, in the same order",
        )
    dup = a[pd.Index(a).duplicated()]
    if len(dup):
        check.fail(f"stimulus ids repeat along the matrix axes: {preview(dup)}", "stimulus_a", "list each stimulus once")
    if da.dtype.kind not in "iuf":
        check.fail(f"similarity values must be numbers, got dtype {da.dtype}", "data", "store (dis)similarities as floats")
    values = np.asarray(da.values, dtype=float)
    if np.isinf(values).any():
        check.fail("some (dis)similarities are infinite", "data", "replace infinite values")
    empty = np.isnan(values).all(axis=(0, 1))
    if empty.any():
        check.fail(
            f"subject(s) {preview(da['subject'].values[empty])} have an all-NaN matrix", "subject", "drop subjects without data"
        )


def _behavioral_choice(da: xr.DataArray, check: _Check) -> xr.DataArray:
    if "choice" in da.coords:
        same = np.array_equal(np.asarray(da["choice"].values, dtype=object), np.asarray(da.values, dtype=object))
        if not same:
            check.fail(
                "coordinate 'choice' differs from the data values (which are the choices)",
                "choice",
                "store the choices as the data values and drop the 'choice' coordinate",
            )
        da = da.drop_vars("choice")
    return da


def stimulus_ids_of(ds: xr.Dataset | xr.DataArray, kind: str) -> np.ndarray:
    """Every stimulus id the data refer to (with the other stimuli of multi-stimulus trials)."""
    if kind == "similarity":
        return np.asarray(ds["stimulus_a"].values, dtype=object)
    names = ["stimulus_id", *trial_stimulus_coords(ds)]
    return np.concatenate([np.asarray(ds[name].values, dtype=object) for name in names])


def check_stimuli_known(ds: xr.Dataset, kind: str, known: Collection[str], stimulus_set: str, file: object) -> None:
    ids = pd.unique(stimulus_ids_of(ds, kind))
    missing = [s for s in ids if s not in known]
    if missing:
        raise UserInputError(
            f"{len(missing)} of {len(ids)} stimulus ids are not in stimulus set {stimulus_set}: {preview(missing)}",
            file=file,
            field="stimulus_id",
            fix="register the missing stimuli in a new version of the stimulus set, or pin the stimulus set that contains them",
        )


def _jsonable_attrs(attrs: dict, check: _Check) -> dict:
    try:
        return to_jsonable(dict(attrs), "attrs")
    except ValueError as exc:
        check.fail(str(exc), "attrs", "make every attribute a string, number, boolean or list of them")


def build_assembly(da: xr.DataArray, meta: AssemblyMeta, pinned_stimulus_set: str, *, file: object = "<assembly>") -> xr.Dataset:
    """The canonical, validated Dataset of an assembly (not yet checked against its stimuli)."""
    check = _Check(file, meta.kind)
    if "bsr" in da.attrs:
        da = da.copy()
        del da.attrs["bsr"]  # re-registering an exported assembly: our own stamp is rebuilt below
    da = _coerce_aliases(flatten_indexes(da))
    da = _dims(da, meta, check)
    da = _fill_from_meta(da, meta, check)
    _required_coords(da, meta.kind, check)
    da = _coord_dtypes(da, check)
    da = _normalized_ids(da, check)
    if meta.kind == "neural":
        _check_neural(da, meta, check)
    elif meta.kind == "behavioral":
        da = _behavioral_choice(da, check)
        _check_behavioral(da, check)
        _check_regions(da, meta, "presentation", check)
    else:
        _check_similarity(da, check)
        _check_regions(da, meta, "subject", check)
        _check_subject_rows(da, meta, check)
        _check_measure(da, meta, check)
    user_attrs = _jsonable_attrs(da.attrs, check)
    for name in da.coords:
        _jsonable_attrs(da[name].attrs, check)
    metadata = meta.model_dump(mode="json", exclude_none=True) | {"stimulus_set": pinned_stimulus_set}
    ds = da.rename(DATA_VARIABLE[meta.kind]).to_dataset()
    ds[DATA_VARIABLE[meta.kind]].attrs = {}
    ds.attrs = {**user_attrs, "bsr": {"format": ASSEMBLY_FORMAT, "kind": meta.kind, "metadata": metadata}}
    return ds


def assembly_dataarray(ds: xr.Dataset) -> xr.DataArray:
    """The assembly's data variable with all coordinates and the dataset's attributes."""
    kind = ds.attrs["bsr"]["kind"]
    da = ds[DATA_VARIABLE[kind]]
    da.attrs = dict(ds.attrs)
    return da


def read_assembly_source(path: str | Path, variable: str | None = None, max_bytes: int | None = None) -> xr.DataArray:
    """Read a NetCDF file (netCDF4/HDF5 or NetCDF3, e.g. written by brainio) or a zarr store
    (v2 or v3) into one DataArray, fully loaded. `max_bytes`: refuse, before loading, a file whose
    variables would take more memory than this once decoded (a small compressed file can declare
    gigabytes: a scoring service reads files it did not write)."""
    path = Path(path)
    if not path.exists():
        raise UserInputError("file not found", file=path, fix="check the path to the assembly file")
    refuse_special_file(path)
    is_zarr = path.is_dir()
    try:
        if is_zarr:
            ds = xr.open_dataset(path, engine="zarr", consolidated=None, chunks=None, decode_times=False)
        else:
            ds = xr.open_dataset(path, decode_times=False)
        if max_bytes is not None:
            check_decoded_size(ds, path, max_bytes)
        ds = ds.load()
    except UserInputError:
        raise
    except Exception as exc:  # any reader failure is a problem with the user's file
        kind = "zarr store" if is_zarr else "NetCDF file"
        raise UserInputError(
            f"cannot read this {kind}: {type(exc).__name__}: {exc}".strip(),
            file=path,
            fix="give a NetCDF (netCDF4/HDF5 or NetCDF3) file written by xarray/brainio, or a zarr store",
        ) from None
    return pick_variable(ds, path, variable)


def check_decoded_size(ds: xr.Dataset, path: Path, max_bytes: int) -> None:
    declared = sum(int(v.nbytes) for v in ds.variables.values())  # shape × item size, nothing read yet
    if declared > max_bytes:
        raise UserInputError(
            f"the file's values take {declared:,} bytes once decoded, more than the {max_bytes:,} accepted here",
            file=path,
            fix="keep only the benchmark's stimuli and the features it needs, as float32",
        )


def refuse_special_file(path: Path, field: str | None = None) -> None:
    """Only a regular file or a directory (a zarr store) is read: a named pipe would block the reader
    forever, a device would stream without end."""
    if not (path.is_file() or path.is_dir()):
        raise UserInputError(
            "is not a regular file or a directory store (a named pipe, socket or device)",
            file=path,
            field=field,
            fix="give a NetCDF file or a zarr directory store",
        )


def pick_variable(ds: xr.Dataset, path: Path, variable: str | None) -> xr.DataArray:
    names = [str(n) for n in ds.data_vars]
    if variable is not None:
        if variable not in names:
            raise UserInputError(
                f"no data variable {variable!r}.{did_you_mean(variable, names)} Variables: {names}",
                file=path,
                field="variable",
                fix="pass one of the file's data variables",
            )
        chosen = variable
    elif len(names) == 1:
        chosen = names[0]
    else:
        raise UserInputError(
            f"the file holds {len(names)} data variables {names}; which one is the assembly?",
            file=path,
            field="variable",
            fix="pass --variable NAME" if names else "give a file with one data variable",
        )
    da = ds[chosen]
    da.attrs = {**ds.attrs, **da.attrs}
    return da.rename(None)
