"""Content-keyed activation cache under `$BSR_HOME/cache/activations/`.

The key hashes what determines the numbers: model identity (card, weights and factory source),
the placed stimuli (stimulus-set version, placement ratio, ids), the layer, and the numeric setting
(device kind, precision). One entry is one `.npz` file holding the values, the stimulus ids and a
sha256 of both: written to a temporary file in the same directory, fsynced and renamed into place,
so readers see a whole entry or none, and concurrent writers of the same key simply replace each
other's identical file. An entry whose checksum fails (a corrupted or truncated file) is deleted and
recomputed, never used.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np

from ..paths import atomic_file, bsr_home


def cache_dir() -> Path:
    return bsr_home() / "cache" / "activations"


def cache_key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _checksum(values: np.ndarray, ids: np.ndarray) -> str:
    digest = hashlib.sha256()
    digest.update(str((values.dtype.str, values.shape)).encode())
    digest.update(np.ascontiguousarray(values).tobytes())
    digest.update("\x1f".join(ids.tolist()).encode())
    return digest.hexdigest()


class ActivationCache:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else cache_dir()

    def path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.npz"

    def get(self, key: str) -> tuple[np.ndarray, list[str]] | None:
        """The entry's (values, ids), or None when absent or corrupted (a corrupted entry is removed)."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as entry:
                values, ids, checksum = entry["values"], entry["ids"].astype(str), str(entry["checksum"])
            if _checksum(values, ids) == checksum:
                return values, ids.tolist()
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
            pass
        path.unlink(missing_ok=True)
        return None

    def put(self, key: str, values: np.ndarray, ids: list[str]) -> None:
        ids_array = np.array(ids, dtype=str)
        with atomic_file(self.path(key)) as f:
            np.savez(f, values=values, ids=ids_array, checksum=np.array(_checksum(values, ids_array)))
