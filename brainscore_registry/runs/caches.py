"""What this machine keeps for itself, and keeping it bounded (`bsr cache du`, `bsr cache prune`).

Three caches live under `$BSR_HOME/cache/`:

- `activations/`: model activations keyed by content (models/activation_cache.py). Any entry may go at
  any time: it is recomputed when next needed.
- `scores/`: ceiled scores keyed by everything that determines them (runs/score_cache.py): small; any
  may go, and is recomputed when next needed.
- `dvc/`: the content-addressed DVC cache that every registry on the machine shares. An object that is
  hardlinked into a workspace (link count above 1) is in use, and is never pruned. An object only the
  cache holds can be fetched again from a remote, so it may go. Directory manifests (`.dir`) are small
  and are kept.

Pruning is safe next to running jobs. A reader that already opened a file keeps reading it; one that
finds it gone recomputes or refetches. Nothing younger than GRACE seconds is pruned, so an entry or
object being written or linked right now is left alone. An in-flight write's temporary file (its name
starts with a dot) goes only after a day.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..paths import bsr_home

GRACE = 600.0
STALE_TEMPORARY = 86_400.0
CACHES = ("activations", "scores", "dvc")


def cache_root(name: str) -> Path:
    return bsr_home() / "cache" / name


@dataclass(frozen=True)
class CachedFile:
    path: Path
    size: int
    used: float  # last use: the later of access and modification time
    in_use: bool  # hardlinked into a workspace (DVC objects)
    temporary: bool

    def prunable(self, now: float) -> bool:
        age = now - self.used
        return not self.in_use and age >= (STALE_TEMPORARY if self.temporary else GRACE)


def _files(name: str) -> Iterator[CachedFile]:
    root = cache_root(name)
    for directory, _, names in os.walk(root):
        for file in names:
            path = Path(directory) / file
            try:
                info = path.lstat()
            except FileNotFoundError:  # removed by a concurrent job while we walked
                continue
            if name == "dvc" and (file.endswith(".dir") or Path(directory) == root):
                continue  # manifests and DVC's own files are kept
            in_use = name == "dvc" and info.st_nlink > 1
            yield CachedFile(path, info.st_size, max(info.st_atime, info.st_mtime), in_use, file.startswith("."))


@dataclass(frozen=True)
class CacheUsage:
    name: str
    path: Path
    entries: int
    bytes: int
    in_use_bytes: int
    oldest: float | None
    newest: float | None

    def to_json(self) -> dict:
        return {**self.__dict__, "path": str(self.path)}


def usage() -> list[CacheUsage]:
    """`bsr cache du`: entries, bytes (and bytes in use by workspaces) and the age range of each cache."""
    report = []
    for name in CACHES:
        files = list(_files(name))
        used = [f.used for f in files]
        report.append(
            CacheUsage(
                name,
                cache_root(name),
                len(files),
                sum(f.size for f in files),
                sum(f.size for f in files if f.in_use),
                min(used, default=None),
                max(used, default=None),
            )
        )
    return report


@dataclass(frozen=True)
class PruneResult:
    name: str
    removed: int
    freed: int
    remaining_bytes: int
    over_limit: bool  # still above --max-size: what is left is in use or too recent

    def to_json(self) -> dict:
        return dict(self.__dict__)


def prune(
    names: tuple[str, ...] = CACHES,
    *,
    older_than: float | None = None,
    max_bytes: int | None = None,
    dry_run: bool = False,
    now: float | None = None,
) -> list[PruneResult]:
    """Remove prunable files last used more than `older_than` seconds ago, then the least recently used
    ones until each cache holds at most `max_bytes`; `dry_run` only counts."""
    now = time.time() if now is None else now
    return [_prune_one(name, older_than, max_bytes, dry_run, now) for name in names]


def _prune_one(name: str, older_than: float | None, max_bytes: int | None, dry_run: bool, now: float) -> PruneResult:
    files = sorted(_files(name), key=lambda f: f.used)  # least recently used first
    total = sum(f.size for f in files)
    chosen = [f for f in files if f.prunable(now) and older_than is not None and now - f.used > older_than]
    remaining = total - sum(f.size for f in chosen)
    if max_bytes is not None:
        for candidate in (f for f in files if f.prunable(now) and f not in chosen):
            if remaining <= max_bytes:
                break
            chosen.append(candidate)
            remaining -= candidate.size
    freed = 0
    for file in chosen:
        if not dry_run:
            try:
                file.path.unlink()
            except FileNotFoundError:
                continue
        freed += file.size
    return PruneResult(name, len(chosen), freed, total - freed, max_bytes is not None and total - freed > max_bytes)
