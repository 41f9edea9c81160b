"""Atomic publication of a new store next to its catalogue entry.

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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .catalog import Registry

_STAGE_PREFIX = "stage-"
_INTENT_PREFIX = "intent-"


def has_leftovers(work_dir: Path) -> bool:
    if not work_dir.is_dir():
        return False
    return any(work_dir.glob(f"{_STAGE_PREFIX}*")) or any(work_dir.glob(f"{_INTENT_PREFIX}*"))


def recover(registry: Registry) -> list[str]:
    """Undo the leftovers of killed registrations; returns what was undone.

    Call under `registry.lock()`. Staging directories, intents and catalogue temporaries only
    exist while a registration holds that lock, so whatever is found while holding it was left by
    a process that died. Like a database replaying its journal on open: a store whose registration
    never reached the catalogue is removed, so a kill at any point leaves the whole version or nothing."""
    undone = []
    for intent in sorted(registry.work_dir.glob(f"{_INTENT_PREFIX}*.json")):
        try:
            record = json.loads(intent.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            record = {}  # killed while writing the intent: the rename had not happened yet
        store, name, digest = record.get("store"), record.get("name"), record.get("digest")
        if store and name and digest and registry.find(name, digest) is None:
            registry.storage.untrack(registry.root / store)
            undone.append(f"removed unregistered store {store}")
        intent.unlink(missing_ok=True)
    for partial in sorted(registry.datasets_dir.glob(".*.tmp")):
        partial.unlink(missing_ok=True)
        undone.append(f"removed partial catalogue file {partial.name}")
    for stage in sorted(registry.work_dir.glob(f"{_STAGE_PREFIX}*")):
        shutil.rmtree(stage, ignore_errors=True)
        undone.append(f"removed staging directory {stage.name}")
    return undone


@contextmanager
def staging(registry: Registry) -> Iterator[Path]:
    """A private directory on the registry's filesystem, removed whatever happens."""
    path = registry.work_dir / f"{_STAGE_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def intent(registry: Registry, store: Path, name: str, digest: str) -> Iterator[None]:
    """Record that `store` is about to appear for (name, digest) until the block completes."""
    path = registry.work_dir / f"{_INTENT_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}.json"
    record = {"store": store.relative_to(registry.root).as_posix(), "name": name, "digest": digest}
    with open(path, "w") as fh:
        json.dump(record, fh)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        yield
    except BaseException:
        if registry.find(name, digest) is None:
            registry.storage.untrack(store)
        path.unlink(missing_ok=True)
        raise
    path.unlink(missing_ok=True)


def move_into_place(staged: Path, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    os.rename(staged, final)
    fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
