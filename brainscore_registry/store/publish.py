"""Atomic publication of a new store next to its catalogue entry, as a small journaled transaction.

A store becomes visible by one `rename` from a private staging directory on the same filesystem;
its catalogue entry by one atomic file replace. To make the pair atomic, an intent file is written
before the rename and removed after the catalogue write. Recovery (at the start of the next
registration, or whenever a process opens the registry and can take the lock) rolls back what a
killed process left: staging directories are deleted, and a store whose intent survives without a
catalogue entry is removed.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..data.identifiers import Version
from .catalog import Catalog
from .layout import Layout
from .storage import Storage

_STAGE_PREFIX = "stage-"
_INTENT_PREFIX = "intent-"


class Publication:
    """Staging, intents and recovery for one registry checkout. Call its methods under the registry lock."""

    def __init__(self, layout: Layout, catalog: Catalog, storage: Storage) -> None:
        self.layout, self.catalog, self.storage = layout, catalog, storage

    def has_leftovers(self) -> bool:
        work = self.layout.work_dir
        if not work.is_dir():
            return False
        return any(work.glob(f"{_STAGE_PREFIX}*")) or any(work.glob(f"{_INTENT_PREFIX}*"))

    def recover(self) -> list[str]:
        """Undo the leftovers of killed registrations; returns what was undone.

        Staging directories, intents and catalogue temporaries only exist while a registration holds
        the lock, so whatever is found while holding it was left by a process that died. Like a
        database replaying its journal on open: a store whose registration never reached the catalogue
        is removed, so a kill at any point leaves the whole version or nothing."""
        undone = []
        for intent in sorted(self.layout.work_dir.glob(f"{_INTENT_PREFIX}*.json")):
            try:
                record = json.loads(intent.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError):
                record = {}  # killed while writing the intent: the rename had not happened yet
            store, name, digest = record.get("store"), record.get("name"), record.get("digest")
            if store and name and digest and self.catalog.find(Version.from_digest(name, digest)) is None:
                self.storage.untrack(self._confined(store))
                undone.append(f"removed unregistered store {store}")
            intent.unlink(missing_ok=True)
        for partial in sorted(self.layout.datasets_dir.glob(".*.tmp")):
            partial.unlink(missing_ok=True)
            undone.append(f"removed partial catalogue file {partial.name}")
        for stage in sorted(self.layout.work_dir.glob(f"{_STAGE_PREFIX}*")):
            shutil.rmtree(stage, ignore_errors=True)
            undone.append(f"removed staging directory {stage.name}")
        return undone

    def _confined(self, relative: str) -> Path:
        path = (self.layout.root / relative).resolve()
        if not path.is_relative_to(self.layout.root.resolve()):
            raise ValueError(f"an intent names a store outside the registry: {relative}")
        return path

    @contextmanager
    def staging(self) -> Iterator[Path]:
        """A private directory on the registry's filesystem, removed whatever happens."""
        path = self.layout.work_dir / f"{_STAGE_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        path.mkdir(parents=True)  # a registry cloned for reading gets its work directory on its first pull
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    @contextmanager
    def intent(self, store: Path, version: Version) -> Iterator[None]:
        """Record that `store` is about to appear for `version` until the block completes."""
        path = self.layout.work_dir / f"{_INTENT_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}.json"
        record = {"store": self.layout.relative(store), "name": version.name, "digest": version.digest}
        with open(path, "w") as fh:
            json.dump(record, fh)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            yield
        except BaseException:
            if self.catalog.find(version) is None:
                self.storage.untrack(store)
            path.unlink(missing_ok=True)
            raise
        path.unlink(missing_ok=True)

    def move_into_place(self, staged: Path, final: Path) -> None:
        """Publish a staged store by one rename, made durable by syncing its directory."""
        self._confined(self.layout.relative(final))
        final.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staged, final)
        fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
