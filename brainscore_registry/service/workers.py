"""Scoring workers: separate processes that hold the held-out data and score uploads.

Why processes, not threads: an upload is untrusted input to HDF5's C library, and a file that crashes
the reader must take down a worker, never the server (the pool is restarted, the submission answered
500 and not counted); scoring is mostly Python (xarray, scikit-learn), so threads would share one
core through the GIL; and the server process, which holds the signing key, never parses an upload.

Workers start with `spawn` (no inherited threads or locks from the server), load every served
benchmark's data once, and ignore SIGINT (the server alone handles Ctrl-C and shuts them down).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from ..benchmarks.scoring import BenchmarkData
from ..errors import BsrError, JobError, UserInputError
from ..store.registry import Registry
from .served import ServedBenchmark, load_data
from .submissions import Scored, score_file

_DATA: dict[str, BenchmarkData] = {}
LOAD_TIMEOUT = 3600.0  # seconds a worker waits for the others to load their data
log = logging.getLogger("bsr.serve")


@dataclass(frozen=True)
class Refusal:
    """A BsrError, as plain data (exceptions with keyword arguments do not survive pickling whole)."""

    user: bool
    message: str
    file: str | None
    field: str | None
    fix: str | None

    def error(self) -> BsrError:
        kind = UserInputError if self.user else JobError
        return kind(self.message, file=self.file, field=self.field, fix=self.fix)


class WorkerCrashed(JobError):
    """A scoring worker died while scoring (e.g. the file crashed the HDF5 reader); the pool restarts."""


def _load(registry_root: str, benchmark_ids: list[str], loaded, server_pid: int) -> None:
    """Each worker's start: the data, then wait until every worker has them (so a task is never run by
    one worker while another is still loading, and the port opens with all of them ready)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(server_pid,), name="bsr-orphan-watch", daemon=True).start()
    _DATA.update(load_data(Registry(registry_root), benchmark_ids))
    loaded.wait(timeout=LOAD_TIMEOUT)


def _exit_with(server_pid: int) -> None:
    """End this worker when the server is gone, however it went (SIGKILL included): a worker holds the
    held-out data and must not outlive the server that owns it."""
    while os.getppid() == server_pid:
        time.sleep(1.0)
    os._exit(0)


def _ready() -> int:
    return os.getpid()


def _public_facts() -> dict[str, ServedBenchmark]:
    """What the server tells modelers of each benchmark (ceiling, stimulus ids), computed where the data are."""
    return {benchmark_id: ServedBenchmark.of(data) for benchmark_id, data in _DATA.items()}


def _score(benchmark_id: str, path: str, precision: int | None, max_bytes: int) -> Scored | Refusal:
    try:
        return score_file(_DATA[benchmark_id], Path(path), precision, max_bytes)
    except BsrError as exc:
        return Refusal(isinstance(exc, UserInputError), exc.message, exc.file, exc.field, exc.fix)


class ScoringPool:
    """`jobs` worker processes, each with every served benchmark's data; restarted when one dies."""

    def __init__(self, registry_root: Path, benchmark_ids: list[str], jobs: int, max_decoded_bytes: int) -> None:
        self.args = (str(registry_root), list(benchmark_ids))
        self.jobs = jobs
        self.max_decoded_bytes = max_decoded_bytes  # what an upload may take in a worker's memory, once decoded
        self._lock = threading.Lock()
        self.executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("spawn")
        loaded = context.Barrier(self.jobs)
        start = (*self.args, loaded, os.getpid())
        executor = ProcessPoolExecutor(self.jobs, mp_context=context, initializer=_load, initargs=start)
        try:  # one task per worker: each submit starts a worker while the others are still loading
            for future in [executor.submit(_ready) for _ in range(self.jobs)]:
                future.result()
        except BrokenProcessPool:
            executor.shutdown(cancel_futures=True)
            raise JobError("the scoring workers could not load the benchmarks' data", fix="run bsr serve with --debug") from None
        self.pids = sorted(executor._processes)  # the standard library keeps no public list of its workers
        return executor

    async def score(self, benchmark_id: str, path: Path, precision: int | None) -> Scored:
        """The released score, or the worker's BsrError raised here. A broken pool (a worker died, during
        this task or before it) is restarted and the task tried once more; WorkerCrashed if it dies again."""
        for attempt in range(2):
            executor = self.executor
            try:
                task = executor.submit(_score, benchmark_id, str(path), precision, self.max_decoded_bytes)
                result = await asyncio.wrap_future(task)
            except BrokenProcessPool:
                await asyncio.to_thread(self._restart, executor)
                continue
            if isinstance(result, Refusal):
                raise result.error()
            return result
        raise WorkerCrashed("a scoring worker died while scoring this file, twice", field="predictions")

    def _restart(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self.executor is broken:  # not restarted yet by another request that saw the same crash
                broken.shutdown(wait=False, cancel_futures=True)
                self.executor = self._start()
                log.warning("a scoring worker died; the pool was restarted (workers %s)", ", ".join(map(str, self.pids)))

    def public_facts(self) -> dict[str, ServedBenchmark]:
        """Each served benchmark's public facts, computed by one worker."""
        return self.executor.submit(_public_facts).result()

    def close(self) -> None:
        """Stop the workers (twice is harmless)."""
        self.executor.shutdown(wait=True, cancel_futures=True)
