"""Nothing unverified reaches a metric: the local copy of a version is checked on every load.

A full verification recomputes the store's logical hash (seconds per GB) and, when it matches the
pinned version, leaves a *stamp*: every file's size, mtime, inode, and the sha256 of every metadata
file (`zarr.json`). Each later load is then checked cheaply against the stamp (a stat of every file
and a hash of the metadata files, milliseconds):

- a metadata file that differs fails at once (a flipped bit in `zarr.json` can make zarr silently
  drop a coordinate or misread every value, so these bytes are checked on every load);
- a file that was added, removed, resized, rewritten or relinked since the stamp triggers a full
  verification, which either renews the stamp or fails;
- a chunk that changed in place without any of these (bit rot) fails its zstd checksum when read,
  and that read error is reported as damage too (see `reading`).

A pull of a version whose catalogue entry records every file's sha256 checks the files instead of
recomputing the logical hash (see `data.file_digests`); its stamp says so (`basis: files`), and a
caller that re-establishes a claim (`bsr reproduce`) asks for the logical hash itself (`logical=True`).

Every failure is an IntegrityError naming the version, the file and the fix (`bsr pull --repair`).
Stamps live in `$BSR_HOME/verified/`, keyed by the store's path and version, and are authenticated
like activation-cache entries (HMAC with a key only the user holds), so a forged stamp is ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..data.schemas import StoredVersion
from ..data.verification import store_digest
from ..errors import IntegrityError
from ..local_secret import load_secret, secret_path
from ..paths import bsr_home, write_atomic
from ..progress import Progress
from .layout import Layout

METADATA = "zarr.json"
STAMP_SCHEME = "bsr-verified-v1"


def stamps_dir() -> Path:
    return bsr_home() / "verified"


def fingerprint(store: Path) -> dict[str, list]:
    """relative path → [size, mtime_ns, inode, sha256 of a metadata file or None], for every file."""
    files = {}
    for directory, _, names in os.walk(store):
        for name in names:
            path = Path(directory) / name
            info = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if name == METADATA else None
            files[path.relative_to(store).as_posix()] = [info.st_size, info.st_mtime_ns, info.st_ino, digest]
    return dict(sorted(files.items()))


def stamp_file(store: Path, stored: StoredVersion) -> Path:
    key = hashlib.sha256(f"{store.resolve()}\0{stored.version}".encode()).hexdigest()
    return stamps_dir() / f"{key}.json"


def _signed(body: dict) -> str:
    payload = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(load_secret(secret_path()), payload, hashlib.sha256).hexdigest()


LOGICAL, FILES = "logical", "files"  # what a stamp's verification compared: the logical hash, or every file's sha256


def record_verified(store: Path, stored: StoredVersion, basis: str = LOGICAL) -> None:
    """Stamp a store whose logical hash (or, `basis=FILES`, every file's recorded sha256) was just
    found equal to its pin."""
    body = {"scheme": STAMP_SCHEME, "version": str(stored.version), "files": fingerprint(store)}
    if basis != LOGICAL:  # stamps written before the basis existed are logical ones, and stay valid
        body["basis"] = basis
    write_atomic(stamp_file(store, stored), json.dumps({**body, "hmac": _signed(body)}))


def _stamp(store: Path, stored: StoredVersion, logical: bool = False) -> dict | None:
    """The stamp's files, or None when there is none, it does not authenticate, or (`logical`) it
    rests on file digests rather than the logical hash."""
    try:
        data = json.loads(stamp_file(store, stored).read_text())
        body = {k: data[k] for k in ("scheme", "version", "files", "basis") if k in data}
        authentic = hmac.compare_digest(str(data["hmac"]), _signed(body)) and body["version"] == str(stored.version)
        if authentic and not (logical and body.get("basis", LOGICAL) != LOGICAL):
            return body["files"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def _damaged(stored: StoredVersion, store: Path, files: list[str], why: str) -> IntegrityError:
    shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
    return IntegrityError(
        f"the local copy of {stored.version} is damaged: {why}{f' ({shown})' if shown else ''}",
        file=store / files[0] if files else store,
        fix=f"restore it: `bsr pull --repair {stored.version}` (from the cache or the remote)",
    )


def changed_files(stamp: dict[str, list], now: dict[str, list]) -> tuple[list[str], list[str]]:
    """(metadata files whose bytes differ, files added, removed or rewritten since the stamp)."""
    metadata = [f for f, entry in now.items() if entry[3] is not None and f in stamp and stamp[f][3] != entry[3]]
    other = sorted(set(stamp) ^ set(now)) + [f for f in now if f in stamp and now[f][:3] != stamp[f][:3]]
    return metadata, sorted(set(other) - set(metadata))


def verify_fully(layout: Layout, stored: StoredVersion, progress: Progress | None = None) -> None:
    """Recompute the logical hash; stamp the store when it matches, IntegrityError when not."""
    store = layout.local_path(stored)
    try:
        actual = store_digest(store, progress)
    except IntegrityError as exc:
        raise _damaged(stored, store, [], f"it cannot be read ({exc.message})") from None
    if actual != stored.version.digest:
        stamp = _stamp(store, stored) or {}
        metadata, other = changed_files(stamp, fingerprint(store)) if stamp else ([], [])
        raise _damaged(stored, store, metadata + other, f"its content hashes to {actual}, not the pinned {stored.version.digest}")
    record_verified(store, stored)


def check_local(layout: Layout, stored: StoredVersion, progress: Progress | None = None, logical: bool = False) -> None:
    """The check every load makes: metadata bytes always, the full hash when anything else changed
    (or, `logical`, when the copy was verified by its file digests only)."""
    store = layout.local_path(stored)
    stamp = _stamp(store, stored, logical)
    if stamp is None:
        verify_fully(layout, stored, progress)
        return
    metadata, other = changed_files(stamp, fingerprint(store))
    if metadata:
        raise _damaged(stored, store, metadata, "its metadata differ from the verified copy")
    if other:
        verify_fully(layout, stored, progress)


def is_intact(layout: Layout, stored: StoredVersion) -> bool | None:
    """The cheap check alone, for `bsr status`: True (as stamped), False (metadata or files changed
    since the stamp), None (never verified here)."""
    store = layout.local_path(stored)
    stamp = _stamp(store, stored)
    if stamp is None:
        return None
    metadata, other = changed_files(stamp, fingerprint(store))
    return not (metadata or other)


@contextmanager
def reading(stored: StoredVersion, store: Path) -> Iterator[None]:
    """Report a failure to decode a checked store (a zstd or crc32c checksum, a missing chunk) as damage."""
    try:
        yield
    except (OSError, RuntimeError, ValueError, KeyError) as exc:
        raise _damaged(stored, store, [], f"reading it failed: {type(exc).__name__}: {exc}") from None
