"""Prediction-only scoring (the Neural Prediction Challenge's model): no model code runs; a file of
model responses keyed by `stimulus_id` is scored by the benchmark's own procedure.

Accepted files (NetCDF, or a zarr store), by benchmark kind:
- neural: `presentation × neuroid` activations with a `stimulus_id` coordinate; the benchmark's
  metric applies (its cross-validated regression for `pls`, its RDM for `rdm`, ...);
- behavioural: a data variable `choice` with one label per presentation, or `presentation × choice`
  probabilities;
- similarity: a square RDM `stimulus_a × stimulus_b` (or `presentation × neuroid` activations);
- any kind whose procedure's task is `features` (e.g. odd-one-out): `presentation × neuroid` features.
The file is pinned in the record by the sha256 of its bytes (every file, for a zarr directory).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import xarray as xr

from ..data.assemblies import read_assembly_source, refuse_special_file
from ..data.hashing import file_sha256
from ..data.identifiers import normalize_labels
from ..errors import UserInputError

ID_COORDS = ("stimulus_id", "stimulus_a", "stimulus_b")


def sha256_path(path: Path) -> str:
    """sha256 of a file's bytes, or of a directory's files (relative names and bytes, sorted)."""
    if path.is_file():
        return file_sha256(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0" + file_sha256(file).encode())
    return digest.hexdigest()


class Predictions:
    def __init__(self, path: str | Path, max_bytes: int | None = None) -> None:
        """`max_bytes`: the most memory the file's values may take once decoded (checked before they are
        read; None: no bound, for a user's own file)."""
        self.path = Path(path).resolve()
        if not self.path.exists():
            raise UserInputError("file not found", file=self.path, field="predictions", fix="give a NetCDF file or a zarr store")
        refuse_special_file(self.path, "predictions")
        self.sha256 = sha256_path(self.path)
        variable = "choice" if self._has_choice() else None
        self.array = read_assembly_source(self.path, variable, max_bytes)
        if "stimulus_id" not in self.array.coords and "stimulus_a" not in self.array.dims:
            raise UserInputError(
                "model responses must be keyed by a `stimulus_id` coordinate (or be an RDM over stimulus_a × stimulus_b)",
                file=self.path,
                field="stimulus_id",
                fix="add the stimulus ids along the presentation dimension",
            )
        self._refuse_empty()
        self.array = self._normalized_ids()

    def _refuse_empty(self) -> None:
        """A dimension of size 0 (no stimuli, no features) leaves a metric nothing to fit or correlate."""
        for dim, size in self.array.sizes.items():
            if size == 0:
                raise UserInputError(
                    f"the model responses are empty: dimension {dim!r} has size 0",
                    file=self.path,
                    field=str(dim),
                    fix="give at least one value along every dimension (one row per stimulus, one column per feature)",
                )

    def _normalized_ids(self) -> xr.DataArray:
        """Stimulus ids in NFC, as the data store them (see `identifiers.normalize_labels`)."""
        array = self.array
        for name in ID_COORDS:
            if name in array.coords and array[name].dtype.kind in "OUT" and array[name].ndim == 1:
                ids = normalize_labels(np.asarray(array[name].values), file=self.path, field=name)
                array = array.assign_coords({name: (array[name].dims, np.array(ids, dtype=object))})
        return array

    def _require_numbers(self) -> None:
        """Activations, features and RDMs are real numbers: text, complex values or durations are refused
        here, not met as a conversion error deep inside a metric."""
        if self.array.dtype.kind not in "fiu":
            raise UserInputError(
                f"model responses must be real numbers; the file holds values of type {self.array.dtype}",
                file=self.path,
                field=str(self.array.name or "responses"),
                fix="store the responses as float32 or float64",
            )

    def _has_choice(self) -> bool:
        try:
            with xr.open_dataset(self.path, engine="zarr" if self.path.is_dir() else None) as ds:
                return "choice" in ds.data_vars
        except Exception:
            return False

    def responses_for(self, data) -> xr.DataArray:
        """The responses in the shape the benchmark's metric expects."""
        array = self.array
        kind = data.kind
        if data.spec.procedure.task == "features":  # the readout layer's features, whatever the data's kind
            if set(array.dims) != {"presentation", "neuroid"}:
                raise UserInputError(
                    f"benchmarks with procedure task `features` need presentation × neuroid features, the file has "
                    f"{' × '.join(map(str, array.dims))}",
                    file=self.path,
                    field="dims",
                    fix="store the readout layer's features as presentation × neuroid, keyed by stimulus_id",
                )
            self._require_numbers()
            return array.astype(np.float64) if array.dtype.kind in "iu" else array
        if kind != "behavioral":
            self._require_numbers()
        if kind == "neural" and set(array.dims) != {"presentation", "neuroid"}:
            raise UserInputError(
                f"neural benchmarks need presentation × neuroid activations, the file has {' × '.join(array.dims)}",
                file=self.path,
                field="dims",
                fix="store model activations as presentation × neuroid",
            )
        if kind == "behavioral" and array.dims not in (("presentation",), ("presentation", "choice")):
            raise UserInputError(
                f"behavioural benchmarks need `choice` per presentation or presentation × choice probabilities, "
                f"the file has {' × '.join(array.dims)}",
                file=self.path,
                field="choice",
                fix="store one label per presentation in a `choice` variable",
            )
        if kind == "similarity" and not ({"stimulus_a", "stimulus_b"} <= set(array.dims) or "presentation" in array.dims):
            raise UserInputError(
                "similarity benchmarks need an RDM over stimulus_a × stimulus_b, or activations",
                file=self.path,
                field="dims",
                fix="store a square RDM with dims stimulus_a × stimulus_b",
            )
        if array.dtype.kind in "OUS":
            return array.astype(str).astype(object)
        return array.astype(np.float64) if array.dtype.kind in "iu" else array
