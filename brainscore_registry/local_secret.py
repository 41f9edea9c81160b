"""The per-user secret that authenticates what this machine caches for itself: activation-cache
entries (models/activation_cache.py) and verified-store stamps (store/integrity.py).

32 random bytes at `$BSR_HOME/keys/cache.key`, mode 0600, made on first use. Whoever can write the
caches but not read this file cannot forge an entry that will be used: a forged or foreign entry fails
its HMAC and is recomputed. Workers that share a cache directory must share this file.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from .errors import JobError
from .paths import bsr_home, write_atomic

SECRET_BYTES = 32


def secret_path() -> Path:
    return bsr_home() / "keys" / "cache.key"


def load_secret(path: Path) -> bytes:
    """The cache's HMAC secret, created on first use. Concurrent first uses agree on one secret: each
    stages its own and links it into place only if none is there yet, then all read the one that is."""
    if not path.exists():
        _create_secret(path)
    with path.open("rb") as fh:
        secret = fh.read(SECRET_BYTES + 1)
    if len(secret) != SECRET_BYTES:
        raise JobError(
            f"the local cache secret is not {SECRET_BYTES} bytes long",
            file=path,
            field="cache.key",
            fix="delete the file: a new secret is made on next use; cached activations and stamps are recomputed once",
        )
    return secret


def _create_secret(path: Path) -> None:
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
    staged = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}")
    write_atomic(staged, secrets.token_bytes(SECRET_BYTES), mode=0o600)
    try:
        os.link(staged, path)  # fails if another process published its secret first: then that one is used
    except FileExistsError:
        pass
    finally:
        staged.unlink(missing_ok=True)


