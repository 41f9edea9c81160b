"""Ceiled scores, cached by everything that determines them, so that scoring again is instant.

A benchmark score is a pure function of: the spec's fingerprint (pins, procedure, metric and its
plugin's sha256, ceiling, normalisation), the pinned data versions, the subject (the model's card,
weights and factory hashes, layer map, readout layer and visual degrees; or the predictions file's
sha256), the numeric setting (device, threads, BLAS kernel, bf16, torch version) and the code. The cache
key is the sha256 of all of them; a hit skips the model's responses and the metric, and the score is
signed into a fresh record (new timestamps, the same numbers a recomputation gives in that setting).

The code is known only for a released version or a clean git checkout: with uncommitted changes the
cache is not used (the numbers could come from code no commit names). Entries are JSON with an HMAC
under the machine's local secret (local_secret.py): a flipped bit or a file planted by another user
is a miss, never a score. `bsr score --no-cache` recomputes; `bsr cache prune --only scores` removes
them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..data.hashing import canonical_json
from ..local_secret import load_secret, secret_path
from ..metrics.score import BenchmarkScore
from ..paths import bsr_home, write_atomic

MAC_SCHEME = b"bsr-score-cache-hmac-v1"
DISABLE_VARIABLE = "BSR_NO_SCORE_CACHE"


def score_cache_dir() -> Path:
    return bsr_home() / "cache" / "scores"


def score_key(fingerprint: str, data: dict, subject: dict, setting: dict, code: dict) -> str | None:
    """The cache key of a score, or None when the code is not identified (uncommitted changes)."""
    if code.get("git_dirty") or (code.get("git_commit") is None and code.get("version", "").startswith("0+")):
        return None
    content = {"fingerprint": fingerprint, "data": data, "subject": subject, "setting": setting, "code": code}
    return hashlib.sha256(canonical_json(content)).hexdigest()


def numeric_setting(environment: dict, model_setting: str | None) -> dict:
    """What can change a number besides the inputs: the record's environment (library versions, device,
    threads) with the BLAS kernels in use (the set of (library, kernel): which BLAS copies a process has
    loaded so far varies, their kernels do not), and the model's own numeric setting (bf16, torch)."""
    blas = sorted({(str(b.get("library")), str(b.get("architecture"))) for b in environment.get("blas", [])})
    rest = {k: v for k, v in environment.items() if k != "blas"}
    return {"environment": rest, "blas": [list(pair) for pair in blas], "model": model_setting}


@contextmanager
def score_cache_disabled(disabled: bool = True) -> Iterator[None]:
    """Within the block, every score is recomputed (`bsr score --no-cache`); the setting is restored after."""
    before = os.environ.get(DISABLE_VARIABLE)
    if disabled:
        os.environ[DISABLE_VARIABLE] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(DISABLE_VARIABLE, None)
        else:
            os.environ[DISABLE_VARIABLE] = before


class ScoreCache:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or score_cache_dir()
        self._secret: bytes | None = None

    @property
    def secret(self) -> bytes:
        if self._secret is None:
            self._secret = load_secret(secret_path())
        return self._secret

    def _mac(self, key: str, body: bytes) -> str:
        return hmac.new(self.secret, MAC_SCHEME + b"\0" + key.encode() + b"\0" + body, "sha256").hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str | None) -> BenchmarkScore | None:
        if key is None or os.environ.get(DISABLE_VARIABLE):
            return None
        try:
            entry = json.loads(self._path(key).read_text())
            body = canonical_json(entry["score"])
            if not hmac.compare_digest(entry["hmac"], self._mac(key, body)):
                return None
            score = BenchmarkScore.from_json(entry["score"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        os.utime(self._path(key))  # last use, for `bsr cache prune`
        return score

    def put(self, key: str | None, score: BenchmarkScore) -> None:
        if key is None or os.environ.get(DISABLE_VARIABLE):
            return
        data = score.to_json()
        entry = {"key": key, "score": data, "hmac": self._mac(key, canonical_json(data))}
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(entry))
