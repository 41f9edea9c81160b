"""Per-file sha256 digests of a store, computed and checked on all cores.

The logical hash is one sha256 stream per variable: exact, but sequential (one core, about 1.4 GB/s
with SHA extensions, after zstd decoding). The files of a store can be hashed independently, so a
pull checks each file as its bytes pass by, on every core, against the digests registration recorded
(`StoredVersion.file_sha256`, computed from bytes it had just verified against the logical hash).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .hashing import file_sha256


def hash_threads() -> int:
    """One thread per core, plus one: a thread waiting on the disk leaves its core to another."""
    return (os.cpu_count() or 1) + 1


def store_files(store: Path) -> list[str]:
    """Every file of a directory store, as sorted relative POSIX paths."""
    return sorted(
        (Path(directory) / name).relative_to(store).as_posix() for directory, _, names in os.walk(store) for name in names
    )


def copy_hashed(source: Path, target: Path) -> str:
    """Copy `source` to a new file `target` in the kernel (no user-space copy), then hash what `target`
    holds: the digest is of the bytes that will be kept, whatever `source` did meanwhile. The caller
    decides, from the digest, whether `target` may be kept."""
    with open(target, "xb"):  # created here: never over an existing file
        pass
    shutil.copyfile(source, target)
    return file_sha256(target)


def in_parallel(job: Callable, items: Iterable) -> list:
    """`job` over `items` on `hash_threads()` threads, results in order."""
    items = list(items)
    if len(items) <= 1:
        return [job(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(hash_threads(), len(items))) as pool:
        return list(pool.map(job, items))


def store_file_digests(store: Path) -> dict[str, str]:
    """relative path → sha256 of every file of a store, hashed in parallel."""
    names = store_files(store)
    return dict(zip(names, in_parallel(lambda name: file_sha256(store / name), names)))


def mismatched_files(store: Path, expected: dict[str, str]) -> list[str]:
    """The files of `store` that differ from `expected`: wrong bytes, missing, or not expected at all
    (sorted; empty when the store is exactly the recorded one)."""
    present = set(store_files(store))
    missing_or_extra = sorted(present ^ set(expected))
    common = sorted(present & set(expected))
    digests = in_parallel(lambda name: file_sha256(store / name), common)
    return sorted(missing_or_extra + [name for name, digest in zip(common, digests) if digest != expected[name]])
