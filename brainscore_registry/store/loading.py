"""Loading registered datasets by reference (`Name`, `Name@sha256:<hex>`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from ..data.assemblies import assembly_dataarray
from ..data.schemas import StoredVersion
from ..data.stimuli import StimulusSet
from ..data.zarr_io import normalize_strings, open_store, read_store
from ..errors import JobError
from .integrity import check_local, reading, verify_fully
from .registry import Registry

ASSEMBLY_KINDS = ("neural", "behavioral", "similarity")


def local_store(registry: Registry, stored: StoredVersion, *, verify: bool = False) -> Path:
    """The version's store in this checkout, checked (see integrity.py: the metadata always, the full
    logical hash when the store changed since it was verified, or when `verify`); a JobError with the
    fix when it is not here, an IntegrityError naming the damage when it is not the pinned version."""
    if not registry.layout.is_local(stored):
        raise JobError(
            f"{stored.version} is in the catalogue but its store is not here",
            file=registry.layout.local_path(stored),
            fix="fetch the data (`bsr pull`) or register it again",
        )
    (verify_fully if verify else check_local)(registry.layout, stored)
    return registry.layout.local_path(stored)


def load_dataset(reference: str, *, registry: Registry | str | Path | None = None, verify: bool = False) -> xr.Dataset:
    """The stored Dataset of any registered version, checked and loaded into memory (`verify`: recompute
    the logical hash even when the store is unchanged since it was last verified)."""
    registry = Registry.of(registry)
    _, stored = registry.catalog.resolve(reference)
    path = local_store(registry, stored, verify=verify)
    with reading(stored, path):
        return read_store(path)


def load_assembly(reference: str, *, registry: Registry | str | Path | None = None, verify: bool = False) -> xr.DataArray:
    """A registered assembly as a DataArray (plain coordinates, strings as `object`), checked as `load_dataset`."""
    registry = Registry.of(registry)
    _, stored = registry.catalog.resolve(reference, kinds=ASSEMBLY_KINDS)
    path = local_store(registry, stored, verify=verify)
    with reading(stored, path):
        return assembly_dataarray(read_store(path))


def load_stimulus_set(reference: str, *, registry: Registry | str | Path | None = None, verify: bool = False) -> StimulusSet:
    """A registered stimulus set, checked as `load_dataset`; image bytes are read lazily and checked per file."""
    registry = Registry.of(registry)
    _, stored = registry.catalog.resolve(reference, kinds=("stimuli",))
    path = local_store(registry, stored, verify=verify)
    with reading(stored, path):
        return StimulusSet(normalize_strings(open_store(path)), stored.version)


def stimulus_ids(registry: Registry, stored: StoredVersion) -> np.ndarray:
    path = local_store(registry, stored)
    with reading(stored, path), open_store(path) as ds:
        return np.asarray(ds["stimulus_id"].values, dtype=object)
