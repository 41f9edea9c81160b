"""Loading registered datasets by reference (`Name`, `Name@sha256:<hex>`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from ..data.assemblies import assembly_dataarray
from ..data.schemas import StoredVersion
from ..data.stimuli import StimulusSet
from ..data.verification import verify_store
from ..data.zarr_io import normalize_strings, open_store, read_store
from ..errors import JobError
from .registry import Registry

ASSEMBLY_KINDS = ("neural", "behavioral", "similarity")


def local_store(registry: Registry, stored: StoredVersion) -> Path:
    """The version's store in this checkout; a JobError with the fix when it is not here."""
    if not registry.layout.is_local(stored):
        raise JobError(
            f"{stored.version} is in the catalogue but its store is not here",
            file=registry.layout.local_path(stored),
            fix="fetch the data (`bsr pull`) or register it again",
        )
    return registry.layout.local_path(stored)


def _checked(ds: xr.Dataset, stored: StoredVersion, path: Path, verify: bool) -> xr.Dataset:
    if verify:
        verify_store(path, stored.version.digest)
    return ds


def load_dataset(reference: str, *, registry: Registry | str | Path | None = None, verify: bool = False) -> xr.Dataset:
    """The stored Dataset of any registered version, loaded into memory."""
    registry = Registry.of(registry)
    _, stored = registry.catalog.resolve(reference)
    path = local_store(registry, stored)
    return _checked(read_store(path), stored, path, verify)


def load_assembly(reference: str, *, registry: Registry | str | Path | None = None, verify: bool = False) -> xr.DataArray:
    """A registered assembly as a DataArray (plain coordinates, strings as `object`)."""
    registry = Registry.of(registry)
    _, stored = registry.catalog.resolve(reference, kinds=ASSEMBLY_KINDS)
    path = local_store(registry, stored)
    return assembly_dataarray(_checked(read_store(path), stored, path, verify))


def load_stimulus_set(reference: str, *, registry: Registry | str | Path | None = None, verify: bool = False) -> StimulusSet:
    """A registered stimulus set; image bytes are read lazily and checked per file."""
    registry = Registry.of(registry)
    _, stored = registry.catalog.resolve(reference, kinds=("stimuli",))
    path = local_store(registry, stored)
    ds = normalize_strings(open_store(path))
    return StimulusSet(_checked(ds, stored, path, verify), stored.version)


def stimulus_ids(registry: Registry, stored: StoredVersion) -> np.ndarray:
    with open_store(local_store(registry, stored)) as ds:
        return np.asarray(ds["stimulus_id"].values, dtype=object)
