"""Test helpers for a real S3 API: a moto server subprocess and a TCP proxy that can be stopped
mid-transfer. Both listen on 127.0.0.1 only and are stopped by PID / by closing their sockets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except Exception:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


class MotoServer:
    """`moto_server` as a subprocess on 127.0.0.1; `stop()` terminates it by its PID."""

    def __init__(self) -> None:
        self.port = free_port()
        exe = Path(sys.executable).with_name("moto_server")
        self.proc = subprocess.Popen(
            [str(exe), "-H", "127.0.0.1", "-p", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.endpoint = f"http://127.0.0.1:{self.port}"
        wait_for(self.endpoint + "/moto-api/")

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(self.endpoint + "/moto-api/reset", method="POST"), timeout=10)

    def stop(self) -> None:
        stop_process(self.proc)


def stop_process(proc: subprocess.Popen, wait: float = 10) -> None:
    """Stop a server this test started, by its PID: SIGTERM, then SIGKILL if it has not exited in `wait`
    seconds (a moto server holding much data can take longer than 10 s)."""
    proc.terminate()
    try:
        proc.wait(wait)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, 9)
        proc.wait()


def s3_client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")  # credentials: from the environment


class StoppingProxy:
    """Forwards TCP from 127.0.0.1:`port` to `upstream_port` and goes down (listening socket and every
    open connection closed) once `stop_after` HTTP PUT requests have been forwarded: an S3 server
    that stops answering in the middle of a push."""

    def __init__(self, upstream_port: int, stop_after: int | None = None, port: int | None = None) -> None:
        self.upstream_port, self.stop_after, self.puts = upstream_port, stop_after, 0
        self.port = port or free_port()
        self.stopped = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", self.port))
        self._listener.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, outbound: bool) -> None:
        try:
            while not self.stopped.is_set():
                data = source.recv(65536)
                if not data:
                    break
                if outbound and data.startswith(b"PUT "):
                    with self._lock:
                        self.puts += 1
                        over = self.stop_after is not None and self.puts > self.stop_after
                    if over:
                        self.stop()
                        break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        self.stopped.set()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for s in [self._listener, *sockets]:
            try:
                s.shutdown(socket.SHUT_RDWR)  # wakes threads blocked in recv/accept; close() alone does not
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass
