"""BSR_TIMINGS: a command's stage times as JSON (what perf/score.py's breakdown reads); off by default."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import xarray as xr

from tests.scoring_setup import build_benchmark_registry

BSR = str(Path(sys.executable).parent / "bsr")


def test_a_command_writes_its_stage_times_when_asked(tmp_path):
    registry = build_benchmark_registry(tmp_path / "bench")
    stimuli = [f"syn{i:04d}" for i in range(40)]
    xr.DataArray(
        np.random.default_rng(0).standard_normal((40, 30)),
        dims=("presentation", "neuroid"),
        coords={"stimulus_id": ("presentation", stimuli), "neuroid_id": ("neuroid", [f"u{k}" for k in range(30)])},
    ).to_netcdf(tmp_path / "p.nc")
    command = [BSR, "--registry", str(registry.root), "score", "-b", "Syn.IT-ridge", "--predictions", str(tmp_path / "p.nc")]
    env = {**os.environ, "BSR_HOME": str(tmp_path / "home"), "BSR_TIMINGS": str(tmp_path / "t.json")}
    assert subprocess.run([*command, "--out", str(tmp_path / "a.json")], env=env, capture_output=True).returncode == 0
    stages = json.loads((tmp_path / "t.json").read_text())
    assert {"main_entered_at", "data (pull, load)", "metric", "ceiling", "record"} <= set(stages)
    assert all(v >= 0 for v in stages.values())
    del env["BSR_TIMINGS"]
    (tmp_path / "t.json").unlink()
    assert subprocess.run([*command, "--out", str(tmp_path / "b.json")], env=env, capture_output=True).returncode == 0
    assert not (tmp_path / "t.json").exists()
