"""The Dask cluster `bsr run` submits to: one the user already runs (`--scheduler tcp://HOST:PORT`),
or a `LocalCluster` of worker processes on this machine, one thread each (BLAS and torch pinned to one
thread by the nanny, so numbers match a one-thread `bsr score`)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import JobError, UserInputError

_ADDRESS = re.compile(r"^(tcp|tls)://[^\s/:]+(:\d{1,5})?$|^(tcp|tls)://\[[0-9a-fA-F:]+\](:\d{1,5})?$")


def check_address(address: str) -> str:
    if not _ADDRESS.match(address):
        raise UserInputError(
            f"{address!r} is not a Dask scheduler address",
            field="scheduler",
            fix="give the address `dask scheduler` prints, e.g. --scheduler tcp://10.0.0.5:8786",
        )
    return address


@contextmanager
def dask_client(scheduler: str | None, workers: int, retries: int, gpu: bool = False, timeout: float = 10) -> Iterator:
    """A connected `distributed.Client`. With `scheduler`, that cluster (an unreachable one is a failed
    job: exit 1, saying how to start one); otherwise a LocalCluster of `workers` processes that lets a
    task fail `retries` + 1 times on workers that died before it is given up."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        address = check_address(scheduler)
        try:
            client = Client(address, timeout=f"{timeout}s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise JobError(
                f"cannot reach the Dask scheduler at {address}: {exc}",
                field="scheduler",
                fix="start one with `dask scheduler` (and workers with `dask worker ADDRESS`), check the host, port and "
                "firewall, or leave out --scheduler to run on a local cluster",
            ) from None
        with client:
            yield client
        return
    with dask.config.set({"distributed.scheduler.allowed-failures": retries + 1}):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
            resources={"GPU": 1} if gpu else None,
        )
    with cluster, Client(cluster, set_as_default=False) as client:
        yield client
