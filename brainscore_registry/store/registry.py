"""A registry checkout as one object: its layout, catalogue, DVC storage and publication journal,
and the lock that serialises changes to them across processes.

`Registry.of(x)` is the one way library functions accept "a registry": a `Registry`, a checkout path,
a git location (cloned read-only under `$BSR_HOME/registries/`), or None (`$BSR_REGISTRY`, else the
nearest parent of the working directory that holds `registry/datasets/`).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import UserInputError
from ..paths import find_registry_root
from .catalog import Catalog
from .clones import checkout, is_git_location
from .layout import GITIGNORE, Layout
from .publish import Publication
from .storage import Storage


class Registry:
    """A registry checkout: the catalogue under `registry/` and the stores beside it."""

    def __init__(self, root: str | Path | None = None) -> None:
        location = str(root) if root is not None else os.environ.get("BSR_REGISTRY")
        self.origin = location if location and is_git_location(location) else None
        self.root = checkout(self.origin) if self.origin else find_registry_root(root)
        self.layout = Layout(self.root)
        self.catalog = Catalog(self.layout)
        self.storage = Storage(self.root)
        self.publication = Publication(self.layout, self.catalog, self.storage)
        self._recover_if_needed()

    @classmethod
    def of(cls, registry: Registry | str | Path | None) -> Registry:
        """`registry` itself when it is one; otherwise the registry it names (see the module docstring)."""
        return registry if isinstance(registry, Registry) else cls(registry)

    @classmethod
    def init(cls, root: str | Path) -> Registry:
        """Create an empty registry layout at `root` (idempotent)."""
        layout = Layout(Path(root))
        for directory in (layout.datasets_dir, layout.benchmarks_dir, layout.root / "assemblies", layout.root / "stimulus_sets"):
            directory.mkdir(parents=True, exist_ok=True)
        ignore = layout.root / ".gitignore"
        existing = ignore.read_text() if ignore.exists() else ""
        missing = [line for line in GITIGNORE.splitlines() if line and line not in existing.splitlines()]
        if missing:
            ignore.write_text(existing + ("\n" if existing and not existing.endswith("\n") else "") + "\n".join(missing) + "\n")
        Storage(layout.root).initialize()
        return cls(layout.root)

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

    @contextmanager
    def lock(self, blocking: bool = True) -> Iterator[bool]:
        """Exclusive lock over catalogue and store changes, held across processes. Yields whether
        it was acquired (always True when blocking)."""
        self.layout.work_dir.mkdir(exist_ok=True)
        with open(self.layout.work_dir / "registry.lock", "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _recover_if_needed(self) -> None:
        """Roll back what a killed registration left, unless a live process holds the lock."""
        if not self.publication.has_leftovers():
            return
        with self.lock(blocking=False) as acquired:
            if acquired:
                self.publication.recover()

