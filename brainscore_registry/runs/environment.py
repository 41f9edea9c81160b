"""What produced a number: the code (package version, git commit, dirty flag) and the environment
(library versions, device, thread count), for score records."""

from __future__ import annotations

import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = ("torch", "numpy", "scikit-learn", "scipy", "xarray")


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=PACKAGE_ROOT, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def code_info() -> dict:
    from .. import __version__

    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"package": "brainscore-registry", "version": __version__, "git_commit": commit, "git_dirty": bool(status)}


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def environment_info(device: str | None = None, threads: int | None = None) -> dict:
    import torch

    return {
        "python": platform.python_version(),
        **{name: _version(name) for name in LIBRARIES},
        "platform": platform.platform(),
        "device": device or "cpu",
        "device_name": torch.cuda.get_device_name(0) if device == "cuda" else platform.processor() or platform.machine(),
        "threads": threads if threads is not None else torch.get_num_threads(),
    }
