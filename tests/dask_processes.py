"""Test helpers for real Dask deployments: `dask scheduler` and `dask worker` as OS processes on
127.0.0.1, each stopped by its PID; and what the tests compare records and cache entries by."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from .s3 import free_port, stop_process

DASK = Path(sys.executable).with_name("dask")
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class DaskScheduler:
    """`dask scheduler` on 127.0.0.1, its address read from the scheduler file it writes."""

    def __init__(self, directory: Path) -> None:
        self.file = directory / "scheduler.json"
        self.port = free_port()
        self.log = open(directory / "scheduler.log", "wb")
        self.proc = subprocess.Popen(
            [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard",
             "--scheduler-file", str(self.file)],
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.address = f"tcp://127.0.0.1:{self.port}"
        _wait_until(self.file.is_file, 60, f"dask scheduler did not start (see {directory / 'scheduler.log'})")

    def stop(self) -> None:
        stop_process(self.proc)
        self.log.close()


class DaskWorker:
    """`dask worker` (one process, one thread, with a nanny) with its own environment, e.g. `$BSR_HOME`."""

    def __init__(self, address: str, directory: Path, env: dict[str, str]) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.log = open(directory / "worker.log", "wb")
        self.proc = subprocess.Popen(
            [str(DASK), "worker", address, "--nworkers", "1", "--nthreads", "1", "--host", "127.0.0.1",
             "--no-dashboard", "--local-directory", str(directory / "dask")],
            stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, **env},
        )  # fmt: skip

    def stop(self) -> None:
        stop_process(self.proc)
        self.log.close()


def wait_for_workers(client, count: int, timeout: float = 60) -> None:
    _wait_until(lambda: len(client.scheduler_info()["workers"]) >= count, timeout, f"{count} dask workers did not connect")


def _wait_until(condition, timeout: float, message: str) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise RuntimeError(message)


def bsr_process(*args, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`bsr ARGS` as its own process (its own thread settings), output captured."""
    bsr = Path(sys.executable).with_name("bsr")
    return subprocess.run(
        [str(bsr), *map(str, args)], capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd, timeout=600
    )


def records_in(directory: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))}


def same_numbers(distributed: dict, sequential: dict) -> None:
    """What |Δ| = 0 means for two records of one pair: every recorded number, the inputs and the setting
    they were computed in are equal (timestamps, host and signature aside)."""
    for part in ("benchmark", "data", "metric", "normalization", "score", "model", "code"):
        assert distributed[part] == sequential[part], part
    for setting in ("device", "threads", "blas", "torch", "numpy"):
        assert distributed["environment"].get(setting) == sequential["environment"].get(setting), setting
