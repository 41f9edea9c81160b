"""The catalogue: `registry/datasets/<Name>.yaml`, one file per dataset listing its versions.

Every load validates against `schemas.CatalogEntry`; every write is atomic (temporary file, then
rename). Writers hold the registry lock (see `registry.Registry.lock`), so concurrent registrations
cannot lose a version.
"""

from __future__ import annotations

import yaml
from pydantic import ValidationError

from ..data.identifiers import Reference, Version, parse_reference
from ..data.metadata import load_yaml_text, validation_error
from ..data.schemas import CatalogEntry, StoredVersion
from ..errors import JobError, UserInputError, did_you_mean
from ..paths import write_atomic
from .layout import Layout


class Catalog:
    """Reads and writes the catalogue files of one registry checkout; resolves references to versions."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.layout.datasets_dir.glob("*.yaml"))

    def read_entry(self, name: str) -> CatalogEntry | None:
        path = self.layout.entry_path(name)
        if not path.exists():
            return None
        try:  # bounded: a cloned registry's catalogue is someone else's file (no aliases, bounded depth)
            data = load_yaml_text(path.read_text(encoding="utf-8"))
            entry = CatalogEntry.model_validate(data)
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise JobError(f"catalogue file is not valid YAML: {exc}", file=path, fix="restore it from git") from None
        except ValidationError as exc:
            raise validation_error(exc, CatalogEntry, path) from None
        if entry.identifier != name:
            raise JobError(
                f"catalogue file describes {entry.identifier!r}",
                file=path,
                field="identifier",
                fix="the file name and the identifier must match; restore the file from git",
            )
        return entry

    def entries(self) -> list[CatalogEntry]:
        return [e for e in (self.read_entry(n) for n in self.names()) if e is not None]

    def write_entry(self, entry: CatalogEntry) -> None:
        """Atomically replace `registry/datasets/<Name>.yaml` (call under the registry lock)."""
        path = self.layout.entry_path(entry.identifier)
        write_atomic(path, yaml.safe_dump(entry.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=120))

    def find(self, version: Version) -> StoredVersion | None:
        """The catalogued version, or None when the registry does not have it."""
        entry = self.read_entry(version.name)
        return next((v for v in entry.versions if v.version == version), None) if entry else None

    def resolve(
        self, reference: str | Reference, *, field: str | None = None, kinds: tuple[str, ...] | None = None, file: object = None
    ) -> tuple[CatalogEntry, StoredVersion]:
        """The catalogue entry and version a user's reference means; a name alone means the latest."""
        ref = parse_reference(reference, file=file, field=field) if isinstance(reference, str) else reference
        entry = self.read_entry(ref.name)
        if entry is None:
            known = self.names()
            raise UserInputError(
                f"no dataset {ref.name!r} in the registry at {self.layout.root}.{did_you_mean(ref.name, known)}",
                file=file,
                field=field,
                fix=f"register it first, or use one of: {', '.join(known)}" if known else "register it first (`bsr register`)",
            )
        if kinds and entry.kind not in kinds:
            raise UserInputError(
                f"{ref.name!r} is a {entry.kind} dataset, not {' or '.join(kinds)}",
                file=file,
                field=field,
                fix=f"name a {' or '.join(kinds)} dataset",
            )
        if ref.hex_prefix is None:
            return entry, entry.latest
        matches = [v for v in entry.versions if v.version.hexdigest.startswith(ref.hex_prefix)]
        if len(matches) != 1:
            known = ", ".join(v.version for v in entry.versions)
            problem = "matches no version" if not matches else "matches several versions"
            raise UserInputError(
                f"{reference} {problem} of {ref.name}", file=file, field=field, fix=f"use one of the registered versions: {known}"
            )
        return entry, matches[0]
