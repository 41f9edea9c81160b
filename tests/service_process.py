"""Test helpers for the scoring service: `bsr serve` as its own OS process on 127.0.0.1 and a private
PostgreSQL cluster (initdb + postgres from Debian's packages), each started and stopped by its PID."""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import pytest
import xarray as xr

from .s3 import free_port, stop_process
from .scoring_setup import build_benchmark_registry

BSR = Path(sys.executable).with_name("bsr")
STIMULI = [f"syn{i:04d}" for i in range(40)]  # the synthetic experiment's ids


def random_responses(stimulus_ids: list[str], units: int = 30, seed: int = 0) -> xr.DataArray:
    """Seeded presentation × neuroid responses to `stimulus_ids`: a predictions file's contents."""
    values = np.random.default_rng(seed).standard_normal((len(stimulus_ids), units))
    neuroids = [f"u{k}" for k in range(units)]
    coords = {"stimulus_id": ("presentation", list(stimulus_ids)), "neuroid_id": ("neuroid", neuroids)}
    return xr.DataArray(values, dims=("presentation", "neuroid"), coords=coords, name="responses")


@pytest.fixture(scope="module")
def private_lab(tmp_path_factory):
    """The lab's registry (the held-out data are here only) and the modeler's predictions files."""
    base = tmp_path_factory.mktemp("lab")
    registry = build_benchmark_registry(base)
    files = base / "files"
    files.mkdir()
    rng = np.random.default_rng(0)
    features = random_responses(STIMULI)
    features.to_netcdf(files / "predictions.nc")
    features.copy(data=features.values[:, ::-1].copy()).to_netcdf(files / "other.nc")
    rdm = rng.random((40, 40))
    xr.DataArray((rdm + rdm.T) / 2, dims=("stimulus_a", "stimulus_b"), coords={"stimulus_a": STIMULI, "stimulus_b": STIMULI},
                 name="rdm").to_netcdf(files / "rdm.nc")  # fmt: skip
    features.drop_vars("stimulus_id").to_netcdf(files / "no_ids.nc")
    (files / "garbage.nc").write_bytes(b"this is not a NetCDF file\n" * 40)
    return registry.root, files


def add_token(cli, db: str, name: str, limit: str) -> str:
    result = cli("serve", "token", "add", name, "--limit", limit, "--db", db, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["token"]


class ServiceProcess:
    """`bsr serve` with its own $BSR_HOME; `url` answers once `/v1/key` does."""

    def __init__(self, registry: Path, benchmarks: list[str], home: Path, *extra: str, port: int | None = None,
                 db: str | None = None, env: dict | None = None) -> None:  # fmt: skip
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.home = home
        self.log_path = home / f"serve-{self.port}.log"
        home.mkdir(parents=True, exist_ok=True)
        self.log = open(self.log_path, "ab")
        args = [str(BSR), "--registry", str(registry), "serve", "--port", str(self.port)]
        args += [a for b in benchmarks for a in ("-b", b)] + (["--db", db] if db else []) + list(extra)
        self.proc = subprocess.Popen(
            args, stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, "BSR_HOME": str(home), **(env or {})}
        )
        self._wait_ready(120)

    def _wait_ready(self, timeout: float) -> None:
        try:
            wait_until_answers(self.proc, f"{self.url}/v1/key", self.log_path, timeout)
        except RuntimeError:
            self.stop()
            raise

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> bool:
        """SIGTERM by PID; whether the server shut down gracefully (uvicorn finishes the requests in flight,
        then exits by the signal it caught, so the status is 0 or -SIGTERM)."""
        stop_process(self.proc, wait=30)  # uvicorn waits up to 10 s for requests in flight, then cancels them
        self.log.close()
        return self.proc.returncode in (0, -signal.SIGTERM) and "Application shutdown complete" in self.output()


def wait_until_answers(proc: subprocess.Popen, url: str, log: Path, timeout: float = 120) -> None:
    """Until `url` answers 200; RuntimeError with the log's end if the process exits or time runs out."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout} s:\n{log.read_text(errors='replace')[-3000:]}")


def postgres_bin() -> Path | None:
    """Debian's PostgreSQL server programs (initdb, postgres), if installed."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


class PostgresCluster:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (trust authentication, fsync off), run as the
    `postgres` system user when the tests run as root (the server refuses to run as root)."""

    def __init__(self) -> None:
        binaries = postgres_bin()
        if binaries is None:
            raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql (.ci/run does)")
        self.directory = Path(tempfile.mkdtemp(prefix="bsr-pg-", dir="/tmp"))
        self.user = {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}
        if self.user:
            shutil.chown(self.directory, "postgres", "postgres")
        data = self.directory / "data"
        subprocess.run(
            [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True, **self.user,
        )  # fmt: skip
        self.port = free_port()
        self.log = open(self.directory / "postgres.log", "ab")
        self.proc = subprocess.Popen(
            [str(binaries / "postgres"), "-D", str(data), "-p", str(self.port), "-k", str(self.directory),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200"],
            stdout=self.log, stderr=subprocess.STDOUT, **self.user,
        )  # fmt: skip
        self._wait_ready(60)
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited: {(self.directory / 'postgres.log').read_text()[-2000:]}")
            try:
                import psycopg

                psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", connect_timeout=1).close()
                return
            except Exception:
                time.sleep(0.1)
        raise RuntimeError("postgres did not come up")

    def database(self, name: str) -> str:
        """A fresh database's SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self.proc.send_signal(2)  # SIGINT: the fast shutdown (running transactions rolled back)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, 9)
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def raw_request(port: int, head: bytes, body_parts: list[bytes], pause: float = 0.0) -> tuple[bytes, int]:
    """Send an HTTP request by hand (the head, then each body part) and read the answer: what a client
    that lies about, or streams, its body does. Returns the answer's bytes and how many body bytes were
    sent before the server answered or closed."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        for part in body_parts:
            try:
                sock.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(part)
            time.sleep(pause)
            sock.setblocking(False)
            try:
                early = sock.recv(65536, socket.MSG_PEEK)
            except BlockingIOError:
                early = b""
            finally:
                sock.setblocking(True)
            if early:
                break
        sock.settimeout(30)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    return answer, sent


def submit_load(urls: list[str], benchmark: str, path: Path, tokens: list[str], clients: int, per_client: int) -> list[dict]:
    """`clients` concurrent clients (threads, one HTTP connection each) sending `per_client` submissions
    of `path` each, client i with tokens[i % len(tokens)] to urls[i % len(urls)]; one row per
    submission: client, token index, status, submission id, seconds. Every request has a 300 s timeout,
    so the load stops by itself."""
    from concurrent.futures import ThreadPoolExecutor

    body = path.read_bytes()

    def one_client(i: int) -> list[dict]:
        rows = []
        token = tokens[i % len(tokens)]
        with httpx.Client(base_url=urls[i % len(urls)], timeout=300) as client:
            for _ in range(per_client):
                started = time.perf_counter()
                answer = client.post(
                    f"/v1/benchmarks/{benchmark}/submissions",
                    content=body,
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4()),
                             "X-Predictions-Filename": path.name},
                )  # fmt: skip
                seconds = time.perf_counter() - started
                data = answer.json()
                rows.append({"client": i, "token": i % len(tokens), "status": answer.status_code, "seconds": seconds,
                             "submission": data.get("submission"), "record": data.get("record")})  # fmt: skip
        return rows

    with ThreadPoolExecutor(clients) as pool:
        return [row for rows in pool.map(one_client, range(clients)) for row in rows]
