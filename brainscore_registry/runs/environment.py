"""What produced a number: the code (package version, git commit, dirty flag) and the environment
(library versions, device, thread count, BLAS kernel), for score records.

Library versions come from package metadata, not imports: recording them must not cost a torch import
in a prediction-only run. The BLAS kernel is recorded because OpenBLAS picks it per CPU at run time
(Haswell, SkylakeX, ...), and an ill-posed metric's numbers depend on it.
"""

from __future__ import annotations

import platform
import subprocess
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "brainscore-registry"
LIBRARIES = ("torch", "numpy", "scikit-learn", "scipy", "xarray")


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=PACKAGE_ROOT, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


@cache  # package metadata lookups cost ~4 ms each; a process's installed versions do not change under it
def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def package_version() -> str:
    """The installed version of this package (pyproject's), or 0+unknown when run from an uninstalled tree."""
    return _version(PACKAGE) or "0+unknown"


def code_info() -> dict:
    """The code this process runs: asked of git once per process (a long-running service scores with the
    code it loaded at start, whatever happens to the checkout afterwards)."""
    return dict(_code_info())


@cache
def _code_info() -> dict:
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"package": PACKAGE, "version": package_version(), "git_commit": commit, "git_dirty": bool(status)}


def blas_info() -> list[dict]:
    """The BLAS libraries loaded in this process, with the kernel each picked and its thread count."""
    from threadpoolctl import threadpool_info

    libraries = [
        {
            "library": info.get("internal_api"),
            "version": info.get("version"),
            "architecture": info.get("architecture"),
            "threads": info.get("num_threads"),
        }
        for info in threadpool_info()
        if info.get("user_api") == "blas"
    ]
    return sorted(libraries, key=lambda b: (str(b["library"]), str(b["version"]), str(b["architecture"])))


def blas_kernels(environment: dict) -> list[tuple[str, str]]:
    """(library, kernel) pairs of a recorded environment: what must match for bit-identical BLAS results."""
    return sorted((str(b.get("library")), str(b.get("architecture"))) for b in environment.get("blas") or [])


def device_name(device: str | None) -> str:
    """The GPU's or CPU's name. A process scoring activations a GPU worker extracted may see no GPU."""
    if device == "cuda":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cuda (not visible to this process)"
    return platform.processor() or platform.machine()


def environment_info(device: str | None = None, threads: int | None = None) -> dict:
    """The environment of a run on `device` computing with `threads` CPU threads (default: the BLAS
    library's own count, as in prediction-only runs where no network runs)."""
    blas = blas_info()
    if threads is None:
        threads = next((b["threads"] for b in blas if b["threads"]), 1)
    return {
        "python": platform.python_version(),
        **{name: _version(name) for name in LIBRARIES},
        "platform": platform.platform(),
        "device": device or "cpu",
        "device_name": device_name(device),
        "threads": threads,
        "blas": blas,
    }
