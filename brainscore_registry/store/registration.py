"""Registering stimulus sets and assemblies: validate, hash, stage, verify, publish, catalogue.

    validated Dataset ─▶ logical hash ─▶ (already registered? stop) ─▶ write to a staging dir
      ─▶ re-read + re-hash ─▶ rename into place ─▶ append the version to the catalogue

Nothing is visible until both the rename and the catalogue write have happened (see `publish`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import xarray as xr

from ..data.assemblies import build_assembly, check_stimuli_known, pick_variable, read_assembly_source
from ..data.file_digests import store_file_digests
from ..data.identifiers import Version
from ..data.metadata import load_metadata, parse_metadata
from ..data.schemas import AssemblyMeta, CatalogEntry, StimulusSetMeta, StoredVersion
from ..data.stimuli import build_stimulus_set
from ..data.templates import placeholders
from ..data.verification import hash_dataset, verify_store
from ..data.zarr_io import store_size, uncompressed_bytes, write_store
from ..errors import JobError, UserInputError
from ..progress import Progress
from .integrity import record_verified
from .loading import stimulus_ids
from .registry import Registry


@dataclass(frozen=True)
class Registration:
    version: Version
    created: bool
    path: Path
    stored: StoredVersion

    def __str__(self) -> str:
        return str(self.version)


def checked_metadata(meta: object, model: type) -> object:
    """Validated metadata, refused while it still carries a template's example values."""
    file = meta if isinstance(meta, (str, Path)) else "<metadata>"
    parsed = load_metadata(meta, model) if isinstance(meta, (str, Path)) else parse_metadata(meta, model)
    examples = placeholders(parsed.model_dump(mode="json"))
    if examples:
        field, value = examples[0]
        others = f" (also: {', '.join(f for f, _ in examples[1:])})" if len(examples) > 1 else ""
        raise UserInputError(
            f"still the `bsr meta-template` example: {value!r}{others}",
            file=file,
            field=field,
            fix=f"replace the example {field} with your dataset's own (the template's values are invented)",
        )
    return parsed


_DIM_ORDER = ("presentation", "neuroid", "time_bin", "stimulus_a", "stimulus_b", "subject", "stimulus", "byte")


def _dims(ds: xr.Dataset) -> dict[str, int]:
    """Dimension sizes in the conventional order (presentation before neuroid, stimulus before byte)."""
    order = sorted(ds.dims, key=lambda d: _DIM_ORDER.index(d) if d in _DIM_ORDER else len(_DIM_ORDER))
    return {str(d): int(ds.sizes[d]) for d in order}


def check_name_free(
    registry: Registry, name: str, kind: str, *, file: object = None, field: str = "identifier"
) -> CatalogEntry | None:
    """The catalogue entry of `name` (None when new); a name held by a dataset of another kind is refused:
    one name, one kind of data."""
    existing = registry.catalog.read_entry(name)
    if existing is not None and existing.kind != kind:
        raise UserInputError(
            f"{name!r} is already registered as a {existing.kind} dataset",
            file=file,
            field=field,
            fix=f"choose another identifier for this {kind} dataset",
        )
    return existing


def _publish(
    registry: Registry, ds: xr.Dataset, kind: str, name: str, stimulus_set: Version | None, progress: Progress | None
) -> Registration:
    version = Version.from_digest(name, hash_dataset(ds, "hash", progress))
    catalog, layout, publication = registry.catalog, registry.layout, registry.publication
    with registry.lock():
        publication.recover()
        final = layout.store_path(kind, version)
        existing = check_name_free(registry, name, kind)
        found = catalog.find(version)
        if found is not None:
            if not layout.is_local(found):  # catalogued (a clone), data not here: rebuild it
                found = _restore(registry, ds, existing, found, progress)
            return Registration(version, False, layout.local_path(found), found)
        if existing and any(v.version != version and v.path == layout.relative(final) for v in existing.versions):
            raise JobError(f"two versions of {name} share the hash prefix {version.short}", fix="report this as a bug")
        with publication.staging() as stage:
            staged = stage / final.name
            if progress:
                progress("write", 0, 1)
            write_store(ds, staged)
            if progress:
                progress("write", 1, 1)
            verify_store(staged, version.digest, progress)
            digests = store_file_digests(staged)  # of the bytes just verified: what a pull checks files against
            files, stored_bytes = store_size(staged)
            if final.exists():  # left by a crash between rename and catalogue, never recorded
                registry.storage.untrack(final)
            with publication.intent(final, version):
                publication.move_into_place(staged, final)
                stored = StoredVersion(
                    version=version,
                    created=datetime.now(timezone.utc).replace(microsecond=0),
                    path=layout.relative(final),
                    dims=_dims(ds),
                    dtype=str(next(iter(ds.data_vars.values())).dtype),
                    nbytes=uncompressed_bytes(ds),
                    stored_bytes=stored_bytes,
                    files=files,
                    stimulus_set=stimulus_set,
                    dvc=registry.storage.track(final),
                    metadata=ds.attrs["bsr"]["metadata"],
                    file_sha256=digests,
                )
                entry = (
                    CatalogEntry(identifier=name, kind=kind, versions=[stored])
                    if existing is None
                    else existing.model_copy(update={"versions": [*existing.versions, stored]})
                )
                catalog.write_entry(entry)
            record_verified(final, stored)  # verified while staged; the stamp names the published files
    return Registration(version, True, final, stored)


def _restore(
    registry: Registry, ds: xr.Dataset, entry: CatalogEntry, found: StoredVersion, progress: Progress | None
) -> StoredVersion:
    """Write the store of a catalogued version from its source data (same logical hash), e.g. when a
    clean clone rebuilds published data from the raw files; the catalogue keeps the version, and only
    DVC's record of the bytes is refreshed should the stored bytes differ (another codec build)."""
    final = registry.layout.local_path(found)
    with registry.publication.staging() as stage:
        staged = stage / final.name
        write_store(ds, staged)
        verify_store(staged, found.version.digest, progress)
        digests = store_file_digests(staged)
        if final.exists():
            registry.storage.untrack(final)
        registry.publication.move_into_place(staged, final)
    pin = registry.storage.track(final)
    restored = found if pin == found.dvc else found.model_copy(update={"dvc": pin, "file_sha256": digests})
    if restored is not found:
        registry.catalog.write_entry(
            entry.model_copy(update={"versions": [restored if v.version == found.version else v for v in entry.versions]})
        )
    record_verified(final, restored)
    return restored


def register_stimulus_set(
    directory: str | Path,
    table: str | Path,
    meta: StimulusSetMeta | dict | str | Path,
    *,
    registry: Registry | str | Path | None = None,
    progress: Progress | None = None,
) -> Registration:
    """Register the images in `directory` listed by the CSV `table` as a new stimulus-set version.

    Example::

        register_stimulus_set("images/", "images/stimuli.csv", "stimuli.yaml")
    """
    registry = Registry.of(registry)
    registry.require_writable("register")
    meta = checked_metadata(meta, StimulusSetMeta)
    on_file = (lambda done, total: progress("read", done, total)) if progress else None
    ds = build_stimulus_set(directory, table, meta, on_file=on_file)
    return _publish(registry, ds, "stimuli", meta.identifier, None, progress)


def register_assembly(
    source: str | Path | xr.DataArray | xr.Dataset,
    meta: AssemblyMeta | dict | str | Path,
    *,
    registry: Registry | str | Path | None = None,
    variable: str | None = None,
    progress: Progress | None = None,
) -> Registration:
    """Register a neural, behavioral or similarity assembly (NetCDF file, zarr store or xarray object).

    Example::

        register_assembly("v4.nc", "v4.yaml")
    """
    registry = Registry.of(registry)
    registry.require_writable("register")
    meta_file = meta if isinstance(meta, (str, Path)) else "<metadata>"
    meta = checked_metadata(meta, AssemblyMeta)
    meta_source = "<assembly>"
    if isinstance(source, (str, Path)):
        meta_source = source
        da = read_assembly_source(source, variable)
    elif isinstance(source, xr.Dataset):
        da = pick_variable(source, Path("<dataset>"), variable)
    else:
        da = source
    _, stimuli_version = registry.catalog.resolve(meta.stimulus_set, field="stimulus_set", kinds=("stimuli",), file=meta_file)
    ds = build_assembly(da, meta, stimuli_version.version, file=meta_source)
    check_stimuli_known(ds, meta.kind, set(stimulus_ids(registry, stimuli_version)), stimuli_version.version, meta_source)
    return _publish(registry, ds, meta.kind, meta.identifier, stimuli_version.version, progress)
