"""Wall time per stage of one command, for `perf/score.py`'s breakdown. Off (a no-op) unless the
environment variable BSR_TIMINGS names a file: then each stage's seconds are summed and written there
as JSON when the process exits, with the wall-clock time the command started (`main_entered_at`), so
that the caller can tell start-up (interpreter and imports) from work.

Stages overlap where the work does (the ceiling runs on a second thread during the metric; with a GPU,
decoding runs during the forward pass): the breakdown says where time goes, not a partition of it.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

VARIABLE = "BSR_TIMINGS"
_totals: dict[str, float] = {}
_lock = threading.Lock()
_registered = False


def enabled() -> bool:
    return bool(os.environ.get(VARIABLE))


def add(name: str, seconds: float) -> None:
    """Add `seconds` to stage `name` (when timings are on)."""
    global _registered
    if not enabled():
        return
    with _lock:
        _totals[name] = _totals.get(name, 0.0) + seconds
        if not _registered:
            atexit.register(_write, os.environ[VARIABLE])
            _registered = True


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the block as stage `name`."""
    if not enabled():
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        add(name, time.perf_counter() - start)


def timed(name: str, function):
    """`function`, with each call timed as stage `name`."""

    def call(*args, **kwargs):
        with stage(name):
            return function(*args, **kwargs)

    return call


def mark_start() -> None:
    """Note the wall-clock time the command's own code starts (after the interpreter and the CLI's imports)."""
    if enabled():
        add("main_entered_at", time.time())


def _write(path: str) -> None:
    with _lock:
        data = dict(_totals)
    try:
        with open(path, "w") as f:
            json.dump(data, f)
    except OSError:
        pass
