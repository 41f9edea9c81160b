"""Warm re-scoring: a score computed from the same inputs, code and setting comes from the score cache
(runs/score_cache.py) and is signed into a fresh record; anything that could change it is a miss."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from brainscore_registry.runs import run
from brainscore_registry.runs.score_cache import score_cache_dir
from tests.scoring_setup import CONVNET, build_benchmark_registry

CLEAN = {"package": "brainscore-registry", "version": "1.0.0", "git_commit": "0" * 40, "git_dirty": False}


@pytest.fixture(scope="module")
def bench_registry(tmp_path_factory):
    return build_benchmark_registry(tmp_path_factory.mktemp("bench"))


@pytest.fixture(autouse=True)
def score_cache_on(monkeypatch):
    """The score cache in use (conftest turns it off for every other test)."""
    monkeypatch.delenv("BSR_NO_SCORE_CACHE", raising=False)


@pytest.fixture
def clean_code(monkeypatch):
    """The code as a clean checkout identifies it (this tree may have uncommitted changes)."""
    monkeypatch.setattr(run, "code_info", lambda: dict(CLEAN))


def _predictions(path: Path, shift: float = 0.0) -> Path:
    stimuli = [f"syn{i:04d}" for i in range(40)]
    values = np.random.default_rng(0).standard_normal((40, 30)) + shift
    xr.DataArray(
        values,
        dims=("presentation", "neuroid"),
        coords={"stimulus_id": ("presentation", stimuli), "neuroid_id": ("neuroid", [f"u{k}" for k in range(30)])},
    ).to_netcdf(path)
    return path


def _score(cli, registry, *args):
    result = cli("--registry", registry.root, "score", "-b", "Syn.IT-ridge", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)[0]


def test_the_second_score_comes_from_the_cache_and_is_signed_anew(cli, bench_registry, tmp_path, clean_code):
    predictions = _predictions(tmp_path / "p.nc")
    first = _score(cli, bench_registry, "--predictions", predictions, "--out", tmp_path / "first.json")
    start = time.perf_counter()
    second = _score(cli, bench_registry, "--predictions", predictions, "--out", tmp_path / "second.json")
    warm = time.perf_counter() - start
    assert not first["cached"] and second["cached"]
    records = [json.loads((tmp_path / f"{name}.json").read_text()) for name in ("first", "second")]
    assert records[0]["score"] == records[1]["score"]  # signed anew (identical bytes when within one second)
    assert cli("--registry", bench_registry.root, "verify", tmp_path / "second.json").exit_code == 0
    again = cli("--registry", bench_registry.root, "reproduce", tmp_path / "second.json", "--predictions", predictions, "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["reproduced"] is True  # reproduce recomputes
    assert warm < 30  # a generous bound for a busy machine; perf/score.py measures the warm path


def test_no_cache_a_changed_input_and_a_tampered_entry_recompute(cli, bench_registry, tmp_path, clean_code):
    predictions = _predictions(tmp_path / "p.nc")
    _score(cli, bench_registry, "--predictions", predictions)
    assert not _score(cli, bench_registry, "--predictions", predictions, "--no-cache")["cached"]
    assert not _score(cli, bench_registry, "--predictions", _predictions(tmp_path / "q.nc", shift=1e-3))["cached"]
    for entry in score_cache_dir().rglob("*.json"):
        text = entry.read_text()
        entry.write_text(text.replace('"value": 0.', '"value": 1.', 1))  # a planted or damaged score
    assert not _score(cli, bench_registry, "--predictions", predictions)["cached"]
    assert _score(cli, bench_registry, "--predictions", predictions)["cached"]  # the recomputed entry is good


def test_a_model_is_cached_by_its_identity_and_setting(cli, bench_registry, tmp_path, clean_code):
    args = ("-m", CONVNET, "--device", "cpu")
    assert not _score(cli, bench_registry, *args, "--out", tmp_path / "a.json")["cached"]
    assert _score(cli, bench_registry, *args, "--out", tmp_path / "b.json")["cached"]
    assert not _score(cli, bench_registry, *args, "--batch-size", "7", "--no-cache", "--out", tmp_path / "c.json")["cached"]


def test_uncommitted_code_is_never_cached(cli, bench_registry, tmp_path, monkeypatch):
    monkeypatch.setattr(run, "code_info", lambda: {**CLEAN, "git_dirty": True})
    predictions = _predictions(tmp_path / "p.nc")
    _score(cli, bench_registry, "--predictions", predictions)
    assert not _score(cli, bench_registry, "--predictions", predictions)["cached"]
    assert not list(score_cache_dir().rglob("*.json"))
