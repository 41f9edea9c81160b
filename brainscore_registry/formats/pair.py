"""Registering an imported assembly with its stimulus set, as `bsr register` would, all or nothing.

An import's metadata file describes both: the assembly's fields at the top level and, under
`stimulus_set`, either the images' own metadata (identifier, description, visual_degrees; citation,
license and provenance default to the assembly's) or the name of a set already registered. Every check
(both metadata files, template placeholders, the assembly against a placeholder pin, each presented
stimulus against the images) runs before the first registration.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import xarray as xr

from ..data.assemblies import build_assembly, stimulus_ids_of
from ..data.metadata import read_yaml
from ..data.schemas import AssemblyMeta, StimulusSetMeta
from ..data.stimuli import read_table
from ..errors import UserInputError
from ..progress import Progress
from ..store.registration import (
    Registration,
    check_name_free,
    checked_metadata,
    register_assembly,
    register_stimulus_set,
)
from ..store.registry import Registry

PLACEHOLDER_PIN = "Placeholder.images@sha256:" + "0" * 64
INHERITED = ("citation", "license", "provenance")


@dataclass(frozen=True)
class ImportMeta:
    """An import's metadata file, split: the assembly's fields, and the stimuli's or a registered set."""

    path: Path
    assembly: dict
    stimuli: dict | None
    pinned: str | None

    @classmethod
    def read(cls, path: Path, template: str) -> ImportMeta:
        meta = read_yaml(path)
        if not isinstance(meta, dict):
            raise UserInputError("the metadata is not a mapping", file=path, fix=f"start from `bsr meta-template {template}`")
        stimuli = meta.get("stimulus_set")
        fields = {k: v for k, v in meta.items() if k != "stimulus_set"}
        if isinstance(stimuli, str):
            return cls(path, fields, None, stimuli)
        if not isinstance(stimuli, dict):
            raise UserInputError(
                "stimulus_set is missing: a mapping that describes the images (identifier, description, "
                "visual_degrees), or the name of a registered stimulus set",
                file=path,
                field="stimulus_set",
                fix=f"start from `bsr meta-template {template}`",
            )
        return cls(path, fields, {**{k: fields[k] for k in INHERITED if k in fields}, **stimuli}, None)

    def with_assembly(self, **fields) -> ImportMeta:
        return ImportMeta(self.path, {**self.assembly, **fields}, self.stimuli, self.pinned)


@contextmanager
def scratch_errors(scratch: Path, source: Path, part: str) -> Iterator[None]:
    """An error about a file an import wrote to its scratch directory names the user's file instead:
    the user never sees the scratch copy."""
    try:
        yield
    except UserInputError as exc:
        if not (exc.file and str(scratch) in exc.file) and str(scratch) not in exc.message:
            raise
        message = exc.message.replace(f"{scratch}/", f"{part} of {source.name}: ").replace(str(scratch), part)
        raise UserInputError(message, file=source, field=exc.field, fix=exc.fix) from None


@dataclass(frozen=True)
class RegisteredPair:
    stimuli: Registration | None  # None: a registered set was named
    assembly: Registration


def register_pair(
    data: xr.DataArray,
    meta: ImportMeta,
    images: tuple[Path, Path] | None,
    *,
    registry: Registry,
    source: Path,
    progress: Progress | None = None,
) -> RegisteredPair:
    """Check everything, then register the images (`(directory, table)`, unless `meta` names a
    registered set) and the assembly pinned to them."""
    built = _checked(meta, data, source, registry)
    if meta.pinned is not None:
        try:
            assembly = register_assembly(
                data, {**meta.assembly, "stimulus_set": meta.pinned}, registry=registry, progress=progress
            )
        except UserInputError as exc:  # stimuli the named set lacks (the imported file), a set not there (the metadata)
            file = {"<assembly>": source, "<metadata>": meta.path, None: source}.get(exc.file, exc.file)
            raise UserInputError(exc.message, file=file, field=exc.field, fix=exc.fix) from None
        return RegisteredPair(None, assembly)
    directory, table = images
    _check_presented(built, table, source)
    stimuli = register_stimulus_set(directory, table, meta.stimuli, registry=registry, progress=progress)
    assembly = register_assembly(
        data, {**meta.assembly, "stimulus_set": str(stimuli.version)}, registry=registry, progress=progress
    )
    return RegisteredPair(stimuli, assembly)


def _checked(meta: ImportMeta, data: xr.DataArray, source: Path, registry: Registry) -> xr.Dataset:
    """Both metadata validated and free of template examples, their identifiers free for their kinds;
    the assembly built against a placeholder."""
    try:
        assembly_meta = checked_metadata({**meta.assembly, "stimulus_set": meta.pinned or PLACEHOLDER_PIN}, AssemblyMeta)
        if meta.stimuli is not None:
            checked_metadata(meta.stimuli, StimulusSetMeta)
    except UserInputError as exc:
        raise UserInputError(exc.message, file=meta.path, field=exc.field, fix=exc.fix) from None
    names = [(assembly_meta.identifier, assembly_meta.kind)]
    if meta.stimuli is not None:
        names.append((meta.stimuli["identifier"], "stimuli"))
        if meta.stimuli["identifier"] == assembly_meta.identifier:
            raise UserInputError(
                f"the assembly and its stimulus set are both named {assembly_meta.identifier!r}",
                file=meta.path,
                field="stimulus_set.identifier",
                fix="give the images their own identifier, e.g. <AuthorYear>.images",
            )
    for name, kind in names:
        check_name_free(
            registry, name, kind, file=meta.path, field="stimulus_set.identifier" if kind == "stimuli" else "identifier"
        )
    return build_assembly(data, assembly_meta, PLACEHOLDER_PIN, file=source)


def _check_presented(built: xr.Dataset, table: Path, source: Path) -> None:
    """Every stimulus the assembly refers to is among the images."""
    known = set(read_table(table)["stimulus_id"].astype(str))
    shown = {str(s) for s in stimulus_ids_of(built, built.attrs["bsr"]["kind"])}
    missing = sorted(shown - known)
    if missing:
        raise UserInputError(
            f"{len(missing)} stimuli of the assembly have no image (e.g. {', '.join(map(repr, missing[:3]))})",
            file=source,
            field="stimulus_id",
            fix="give an image for every stimulus the assembly refers to",
        )
