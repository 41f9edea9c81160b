"""Shared fixtures: a fresh registry per test, a synthetic experiment on disk, a snapshot helper."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from brainscore_registry import Registry, register_stimulus_set
from brainscore_registry.synthetic.experiment import write_synthetic_experiment

pytest_plugins = ["tests.service_process"]  # the scoring service's fixtures (`private_lab`), for every module that needs them


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    monkeypatch.setenv("BSR_HOME", str(tmp_path / "bsr_home"))
    monkeypatch.delenv("BSR_REGISTRY", raising=False)
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    # every score recomputed, from a clean checkout (CI) as from a dirty one: a test that scores twice
    # tests what it means to; tests/test_score_cache.py turns the cache on where it is the subject
    monkeypatch.setenv("BSR_NO_SCORE_CACHE", "1")
    # S3 credentials for the moto server; never the machine's own, never an instance-metadata lookup
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "bsr-test-key-id-9f3c")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "bsr-test-secret-2b7e41d0")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    for name in ("AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "GIT_AUTHOR_NAME": "bsr tests",
        "GIT_AUTHOR_EMAIL": "tests@bsr.invalid",
        "GIT_COMMITTER_NAME": "bsr tests",
        "GIT_COMMITTER_EMAIL": "tests@bsr.invalid",
    }.items():
        monkeypatch.setenv(name, value)


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
    """Run `bsr ARGS...` in-process; returns click's Result (exit_code, stdout, stderr). `input`: the
    command's standard input; `env`: variables set for this run only."""
    from cli.app import app

    runner = CliRunner()

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False, input=input, env=env)

    return run
