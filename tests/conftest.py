"""Shared fixtures: a fresh registry per test, a synthetic experiment on disk, a snapshot helper."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from brainscore_registry import Registry, register_stimulus_set
from brainscore_registry.synthetic import write_synthetic_experiment


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    monkeypatch.setenv("BSR_HOME", str(tmp_path / "bsr_home"))
    monkeypatch.delenv("BSR_REGISTRY", raising=False)
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")


@pytest.fixture
def registry(tmp_path) -> Registry:
    return Registry.init(tmp_path / "registry")


@pytest.fixture
def experiment(tmp_path):
    return write_synthetic_experiment(tmp_path / "raw", n_stimuli=16, n_neuroids=8, n_repetitions=3, n_subjects=2, image_size=32)


@pytest.fixture
def stimuli(registry, experiment):
    """The experiment's stimulus set, registered."""
    return register_stimulus_set(experiment.stimuli_dir, experiment.table, experiment.stimuli_meta, registry=registry)


def snapshot(root: Path) -> dict[str, str]:
    """Every file under `root` (but the lock file) with a digest of its bytes."""
    files = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            if name == "registry.lock":
                continue
            files[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


@pytest.fixture(name="snapshot")
def snapshot_fixture():
    return snapshot


@pytest.fixture
def cli():
    """Run `bsr ARGS...` in-process; returns click's Result (exit_code, stdout, stderr)."""
    from cli.app import app

    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    return run
