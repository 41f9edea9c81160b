"""Where the metrics' heavy algebra runs: numpy on the host by default; torch on a device inside
`compute_on(device)`, which scoring enters for a model run with `--device cuda`.

Only exact algorithms move: the products are the same float64 (and, where scikit-learn rounds to
float32, float32) arithmetic in another order, so the numbers equal the host's up to rounding (the
record's `gpu_vs_cpu` tolerance). `compute_on("cpu")` runs the torch path on the host, which is how the
tests check it on machines without a GPU.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

_device: contextvars.ContextVar[str | None] = contextvars.ContextVar("bsr_compute_device", default=None)


@contextmanager
def compute_on(device: str | None) -> Iterator[None]:
    """Within the block, metrics that can run their heavy products with torch do so on `device`
    (None: numpy on the host)."""
    token = _device.set(device)
    try:
        yield
    finally:
        _device.reset(token)


def torch_device() -> str | None:
    """The torch device the current block computes on, or None for numpy."""
    return _device.get()
