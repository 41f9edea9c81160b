"""Content-keyed, authenticated activation cache under `$BSR_HOME/cache/activations/`.

The key hashes what determines the numbers: model identity (card, weights and factory source),
the placed stimuli (stimulus-set version, placement ratio, ids), the layer, and the numeric setting
(device kind, precision). One entry is one uncompressed `.npz` file holding the values, the stimulus
ids and an HMAC-SHA256 of the entry's content (values bytes, dtype, shape, ids and the cache key it was
written under), keyed by a secret only this user holds (`$BSR_HOME/keys/cache.key`, 32 random bytes,
mode 0600, made on first use). A plain checksum only catches accidents: whoever can write the cache
directory can forge values and recompute it, and the forged activations would be scored and signed.
An HMAC cannot be recomputed without the secret, so an entry is used only if it authenticates;
anything else (forged, corrupted, truncated, moved from another key, written under another secret, or
in the checksum-only format of earlier versions) is deleted and recomputed, never used.

Entries are written to a temporary file in the same directory, fsynced and renamed into place, so
readers see a whole entry or none, and concurrent writers of the same key simply replace each other's
identical file. Processes that share a cache directory (scale-out workers) must share the secret too,
or each recomputes what the others wrote.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..local_secret import load_secret, secret_path
from ..paths import atomic_file, bsr_home

MAC_SCHEME = b"bsr-activation-cache-hmac-v1"
ENTRY_MEMBERS = {"values.npy", "ids.npy", "hmac.npy"}
_HEX_MAC = re.compile(r"[0-9a-f]{64}")


def cache_dir() -> Path:
    """`$BSR_ACTIVATION_CACHE` (a directory several workers share, e.g. on a cluster's common
    filesystem), else `$BSR_HOME/cache/activations`."""
    shared = os.environ.get("BSR_ACTIVATION_CACHE")
    return Path(shared).expanduser() if shared else bsr_home() / "cache" / "activations"


def cache_key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def entry_mac(secret: bytes, key: str, values: np.ndarray, ids: list[str]) -> str:
    """HMAC-SHA256 over the scheme tag, the cache key, dtype, shape, ids and the values' bytes, each
    length-prefixed so that no two different entries frame to the same bytes."""
    mac = hmac.new(secret, digestmod="sha256")
    data = np.ascontiguousarray(values).reshape(-1).view(np.uint8)  # the bytes as stored, without a copy
    parts = (
        MAC_SCHEME,
        key.encode(),
        values.dtype.str.encode(),
        json.dumps(list(values.shape)).encode(),
        json.dumps(ids).encode(),
        memoryview(data),
    )
    for part in parts:
        mac.update(len(part).to_bytes(8, "little"))
        mac.update(part)
    return mac.hexdigest()


@dataclass(frozen=True)
class _Entry:
    values: np.ndarray
    ids: list[str]
    mac: str


class ActivationCache:
    def __init__(self, directory: Path | None = None, secret_file: Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else cache_dir()
        self.secret_file = Path(secret_file) if secret_file is not None else secret_path()
        self._secret: bytes | None = None

    @property
    def secret(self) -> bytes:
        if self._secret is None:
            self._secret = load_secret(self.secret_file)
        return self._secret

    def path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.npz"

    def get(self, key: str) -> tuple[np.ndarray, list[str]] | None:
        """The entry's (values, ids) when it authenticates; None when absent, and None after deleting an
        entry that does not (forged, corrupted, truncated, or from another key or secret)."""
        path = self.path(key)
        if not path.is_file():
            return None
        entry = _read_entry(path)
        if entry is not None and hmac.compare_digest(entry.mac, entry_mac(self.secret, key, entry.values, entry.ids)):
            return entry.values, entry.ids
        path.unlink(missing_ok=True)
        return None

    def put(self, key: str, values: np.ndarray, ids: list[str]) -> None:
        ids = [str(i) for i in ids]
        mac = entry_mac(self.secret, key, values, ids)
        with atomic_file(self.path(key)) as f:
            np.savez(f, values=values, ids=np.array(ids, dtype=str), hmac=np.array(mac))


# what reading a damaged zip can raise: a flipped bit in a local header may claim another compression
# method (NotImplementedError), encryption (RuntimeError), or break a length (struct.error, zlib.error)
UNREADABLE = (
    OSError,
    ValueError,
    KeyError,
    EOFError,
    NotImplementedError,
    RuntimeError,
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
)


def _read_entry(path: Path) -> _Entry | None:
    """The entry's parts, or None for a file that is not a well-formed entry. Only stored (uncompressed)
    members with exactly the expected names are read, so a crafted file cannot make the check inflate
    gigabytes before it fails."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
        if {m.filename for m in members} != ENTRY_MEMBERS or any(m.compress_type != zipfile.ZIP_STORED for m in members):
            return None
        with np.load(path, allow_pickle=False) as entry:
            values, ids, mac = entry["values"], entry["ids"], entry["hmac"]
        well_formed = values.dtype.kind in "biuf" and ids.ndim == 1 and ids.dtype.kind == "U" and mac.shape == ()
        if not well_formed or not _HEX_MAC.fullmatch(str(mac)):
            return None
        return _Entry(values, ids.tolist(), str(mac))
    except UNREADABLE:
        return None
