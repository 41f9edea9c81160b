"""Prediction-only scoring (the Neural Prediction Challenge's model): no model code runs; a file of
model responses keyed by `stimulus_id` is scored by the benchmark's own procedure.

Accepted files (NetCDF, or a zarr store), by benchmark kind:
- neural: `presentation × neuroid` activations with a `stimulus_id` coordinate; the benchmark's
  metric applies (its cross-validated regression for `pls`, its RDM for `rdm`, ...);
- behavioural: a data variable `choice` with one label per presentation, or `presentation × choice`
  probabilities;
- similarity: a square RDM `stimulus_a × stimulus_b` (or `presentation × neuroid` activations).
The file is pinned in the record by the sha256 of its bytes (every file, for a zarr directory).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import xarray as xr

from ..data.assemblies import read_assembly_source
from ..data.hashing import file_sha256
from ..errors import UserInputError


def sha256_path(path: Path) -> str:
    """sha256 of a file's bytes, or of a directory's files (relative names and bytes, sorted)."""
    if path.is_file():
        return file_sha256(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0" + file_sha256(file).encode())
    return digest.hexdigest()


class Predictions:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).resolve()
        if not self.path.exists():
            raise UserInputError("file not found", file=self.path, field="predictions", fix="give a NetCDF file or a zarr store")
        self.sha256 = sha256_path(self.path)
        variable = "choice" if self._has_choice() else None
        self.array = read_assembly_source(self.path, variable)
        if "stimulus_id" not in self.array.coords and "stimulus_a" not in self.array.dims:
            raise UserInputError(
                "model responses must be keyed by a `stimulus_id` coordinate (or be an RDM over stimulus_a × stimulus_b)",
                file=self.path,
                field="stimulus_id",
                fix="add the stimulus ids along the presentation dimension",
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
