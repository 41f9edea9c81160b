"""The catalogue: `registry/datasets/<Name>.yaml`, one file per dataset listing its versions.

Every load validates against `schemas.CatalogEntry`; every write is atomic (temporary file, then
rename) and happens under the registry lock, so concurrent registrations cannot lose a version.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from pydantic import ValidationError

from ..data.identifiers import Reference, Version, check_identifier, parse_reference
from ..data.metadata import validation_error
from ..data.schemas import CatalogEntry, StoredVersion
from ..errors import JobError, UserInputError, did_you_mean
from ..paths import REGISTRY_MARKER, find_registry_root, write_atomic
from .clones import checkout, is_git_location
from .storage import Storage

STORE_DIRS = {"stimuli": "stimulus_sets", "neural": "assemblies", "behavioral": "assemblies", "similarity": "assemblies"}
WORK_DIR = ".bsr-tmp"
GITIGNORE = """\
# Registered stores are DVC-tracked data, never committed to git.
/assemblies/**/*.zarr
/stimulus_sets/**/*.zarr
/.bsr-tmp/
"""


class Registry:
    """A registry checkout: the catalogue under `registry/` and the stores beside it."""

    def __init__(self, root: str | Path | None = None) -> None:
        location = str(root) if root is not None else os.environ.get("BSR_REGISTRY")
        self.origin = location if location and is_git_location(location) else None
        self.root = checkout(self.origin) if self.origin else find_registry_root(root)
        self._recover_if_needed()

    @property
    def read_only(self) -> bool:
        """A clone of a registry reached by git location: pull and read, never register into it."""
        return self.origin is not None

    def require_writable(self, action: str) -> None:
        if self.read_only:
            raise UserInputError(
                f"cannot {action}: {self.origin} is used as a read-only registry (a clone in {self.root})",
                field="registry",
                fix=f"clone it (`git clone {self.origin}`), {action} in that checkout, then push",
            )

    def _recover_if_needed(self) -> None:
        """Roll back what a killed registration left, unless a live process holds the lock."""
        from .publish import has_leftovers, recover

        if not has_leftovers(self.root / WORK_DIR):
            return
        with self.lock(blocking=False) as acquired:
            if acquired:
                recover(self)

    @classmethod
    def init(cls, root: str | Path) -> "Registry":
        """Create an empty registry layout at `root` (idempotent)."""
        root = Path(root)
        for sub in (REGISTRY_MARKER, Path("registry") / "benchmarks", Path("assemblies"), Path("stimulus_sets")):
            (root / sub).mkdir(parents=True, exist_ok=True)
        ignore = root / ".gitignore"
        existing = ignore.read_text() if ignore.exists() else ""
        missing = [line for line in GITIGNORE.splitlines() if line and line not in existing.splitlines()]
        if missing:
            ignore.write_text(existing + ("\n" if existing and not existing.endswith("\n") else "") + "\n".join(missing) + "\n")
        Storage(root).initialize()
        return cls(root)

    @property
    def storage(self) -> Storage:
        return Storage(self.root)

    @property
    def datasets_dir(self) -> Path:
        return self.root / REGISTRY_MARKER

    @property
    def work_dir(self) -> Path:
        """Private scratch space on the registry's filesystem (git-ignored)."""
        return self.root / WORK_DIR

    @contextmanager
    def lock(self, blocking: bool = True) -> Iterator[bool]:
        """Exclusive lock over catalogue and store changes, held across processes. Yields whether
        it was acquired (always True when blocking)."""
        self.work_dir.mkdir(exist_ok=True)
        with open(self.work_dir / "registry.lock", "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def entry_path(self, name: str) -> Path:
        return self.datasets_dir / f"{check_identifier(name)}.yaml"

    def store_path(self, kind: str, version: Version) -> Path:
        return self.root / STORE_DIRS[kind] / version.name / f"{version.short}.zarr"

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.datasets_dir.glob("*.yaml"))

    def read_entry(self, name: str) -> CatalogEntry | None:
        path = self.entry_path(name)
        if not path.exists():
            return None
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            entry = CatalogEntry.model_validate(data)
        except yaml.YAMLError as exc:
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
        """Atomically replace `registry/datasets/<Name>.yaml` (call under `lock()`)."""
        path = self.entry_path(entry.identifier)
        write_atomic(path, yaml.safe_dump(entry.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=120))

    def find(self, name: str, digest: str) -> StoredVersion | None:
        entry = self.read_entry(name)
        return next((v for v in entry.versions if v.version == f"{name}@{digest}"), None) if entry else None

    def resolve(
        self, reference: str | Reference, *, field: str | None = None, kinds: tuple[str, ...] | None = None, file: object = None
    ) -> tuple[CatalogEntry, StoredVersion]:
        """The catalogue entry and version a user's reference means; a name alone means the latest."""
        ref = parse_reference(reference, file=file, field=field) if isinstance(reference, str) else reference
        entry = self.read_entry(ref.name)
        if entry is None:
            known = self.names()
            raise UserInputError(
                f"no dataset {ref.name!r} in the registry at {self.root}.{did_you_mean(ref.name, known)}",
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
        matches = [v for v in entry.versions if v.version.split("@sha256:")[1].startswith(ref.hex_prefix)]
        if len(matches) != 1:
            known = ", ".join(v.version for v in entry.versions)
            problem = "matches no version" if not matches else "matches several versions"
            raise UserInputError(
                f"{reference} {problem} of {ref.name}", file=file, field=field, fix=f"use one of the registered versions: {known}"
            )
        return entry, matches[0]
