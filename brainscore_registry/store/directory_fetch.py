"""Fetching a version from a directory remote (the embedded default remote, or any absolute path)
with each file checked as it arrives, on all cores.

Each object is copied into the shared DVC cache by the kernel (no user-space copy), then hashed from
the page cache through a memory map, and kept only when its sha256 is the one the catalogue records
for that file (`StoredVersion.file_sha256`). The store is then built from the checked objects by
hard links in a staging directory and appears by one rename. DVC's fetch copies without checking,
so a pull used to copy, check out, then decode and re-hash the whole store in one stream. The cache
ends exactly as `dvc fetch` leaves it (objects named by md5 under `files/md5/`, read-only, the
directory manifest beside them) and the workspace as `dvc checkout` leaves it (read-only links).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from ..data.file_digests import copy_hashed, in_parallel
from ..data.hashing import file_sha256
from ..data.schemas import StoredVersion
from ..errors import IntegrityError

READ_ONLY = 0o444  # as DVC protects its cache objects


def object_path(root: Path, oid: str) -> Path:
    """Where DVC 3 keeps object `oid` in a cache or a directory remote."""
    return root / "files" / "md5" / oid[:2] / oid[2:]


def holds_manifest(remote: Path, stored: StoredVersion) -> bool:
    """The remote has this version's manifest in DVC 3's layout (else DVC's own fetch is used)."""
    return stored.dvc is not None and object_path(remote, stored.dvc.md5).is_file()


def _place(target: Path, write: Callable[[Path], str]) -> tuple[str, Path]:
    """Write a new file beside `target` with `write(tmp) -> sha256`: (the digest, the file), which the
    caller publishes (`_publish`) or removes. A reader never sees a half-written object."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        return write(tmp), tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _publish(tmp: Path, target: Path) -> None:
    os.chmod(tmp, READ_ONLY)
    os.replace(tmp, target)


def _manifest(remote: Path, stored: StoredVersion) -> tuple[dict[str, str], bytes]:
    """(relative path → object id, the manifest's bytes), from the remote's manifest, which must be the
    pinned one (its md5 is its name) and list exactly the files the catalogue records."""
    path = object_path(remote, stored.dvc.md5)
    raw = path.read_bytes()
    if hashlib.md5(raw).hexdigest() != stored.dvc.md5.removesuffix(".dir"):
        raise IntegrityError(
            f"the remote's manifest of {stored.version} is damaged (its md5 is not its name)",
            file=path,
            fix="re-push the version from a good copy (`bsr push`), then pull again",
        )
    by_path = {entry["relpath"]: entry["md5"] for entry in json.loads(raw)}
    if set(by_path) != set(stored.file_sha256):
        raise IntegrityError(
            f"the remote's manifest of {stored.version} lists other files than the catalogue records",
            file=path,
            fix="the catalogue entry and the remote disagree: re-push the version from a good copy, then pull again",
        )
    return by_path, raw


def _write_bytes(data: bytes) -> Callable[[Path], str]:
    def write(tmp: Path) -> str:
        with open(tmp, "xb") as fh:
            fh.write(data)
        return hashlib.sha256(data).hexdigest()

    return write


def fetch_verified(remote: Path, cache: Path, stored: StoredVersion) -> list[str]:
    """Copy `stored`'s objects from the directory remote `remote` into the DVC cache `cache`, each
    checked against its recorded sha256 (an object already cached is checked, not copied). Returns
    the files whose bytes differ: nothing of theirs enters the cache, and with any of them the
    manifest does not either, so the version is never half present."""
    by_path, raw_manifest = _manifest(remote, stored)
    expected = stored.file_sha256

    def fetch(relpath: str) -> bool:
        target = object_path(cache, by_path[relpath])
        if target.exists():
            return file_sha256(target) == expected[relpath]
        digest, tmp = _place(target, lambda tmp: copy_hashed(object_path(remote, by_path[relpath]), tmp))
        if digest != expected[relpath]:
            tmp.unlink()
            return False
        _publish(tmp, target)
        return True

    names = sorted(by_path)
    bad = [name for name, good in zip(names, in_parallel(fetch, names)) if not good]
    if not bad:
        manifest = object_path(cache, stored.dvc.md5)
        if not manifest.exists():
            _, tmp = _place(manifest, _write_bytes(raw_manifest))  # the bytes whose md5 was checked
            _publish(tmp, manifest)
    return bad


def link_store(cache: Path, stored: StoredVersion, staged: Path) -> None:
    """Build the store in the empty directory `staged` from the cached objects: read-only hard links,
    as DVC's checkout makes them (a copy where the cache is on another filesystem)."""
    by_path = {entry["relpath"]: entry["md5"] for entry in json.loads(object_path(cache, stored.dvc.md5).read_bytes())}
    for relpath, oid in sorted(by_path.items()):
        target = staged / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(object_path(cache, oid), target)
        except OSError:
            shutil.copyfile(object_path(cache, oid), target)
            os.chmod(target, READ_ONLY)
