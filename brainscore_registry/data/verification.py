"""Checking that stored bytes are the version they claim to be: the logical hash, recomputed."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from ..errors import IntegrityError
from ..progress import Progress
from .hashing import logical_hash
from .zarr_io import io_settings, normalize_strings, open_store, uncompressed_bytes


def hash_dataset(ds: xr.Dataset, stage: str = "hash", progress: Progress | None = None) -> str:
    """The logical hash, reporting bytes hashed so far."""
    total, done = uncompressed_bytes(ds), 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(stage, min(done, total), total)

    if progress:
        progress(stage, 0, total)
    digest = logical_hash(ds, on_bytes=advance)
    if progress:
        progress(stage, total, total)
    return digest


def store_digest(path: Path, progress: Progress | None = None) -> str:
    """The logical hash of a store on disk; an unreadable store (e.g. a zstd or crc32c checksum
    failure, a missing chunk) raises IntegrityError instead of returning wrong numbers."""
    try:
        with open_store(path) as ds, io_settings():
            return hash_dataset(normalize_strings(ds), "verify", progress)
    except (OSError, RuntimeError, ValueError, KeyError) as exc:
        raise IntegrityError(
            f"the store cannot be read: {type(exc).__name__}: {exc}",
            file=path,
            fix="the copy is damaged: fetch or write it again",
        ) from None


def verify_store(path: Path, expected: str, progress: Progress | None = None) -> None:
    actual = store_digest(path, progress)
    if actual != expected:
        raise IntegrityError(
            f"the store hashes to {actual}, not the expected {expected}",
            file=path,
            fix="the copy is damaged: fetch or write it again",
        )
