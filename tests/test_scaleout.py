"""`bsr run` on real Dask engines: a LocalCluster of 2 worker processes, and `dask scheduler` + two
`dask worker` processes with their own `$BSR_HOME` and the data only in a moto S3 remote. Records
equal a sequential one-thread `bsr score` of the same pairs (|Δ| = 0) and verify; a worker killed
mid-extraction costs nothing but time; a rerun computes nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from brainscore_registry.models.activation_cache import ActivationCache
from brainscore_registry.paths import bsr_home

from .dask_processes import ONE_THREAD, DaskScheduler, DaskWorker, bsr_process, records_in, same_numbers, wait_for_workers
from .s3 import MotoServer, s3_client
from .scoring_setup import CONVNET, WIDENET, build_benchmark_registry

pytestmark = pytest.mark.slow
PAIRS = 6  # 2 models × the 3 synthetic benchmarks


@pytest.fixture
def grid(tmp_path):
    return build_benchmark_registry(tmp_path / "grid")


def _run_json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _sequential(registry, tmp_path) -> dict[str, dict]:
    """The same pairs scored by `bsr score`, one thread, as its own process."""
    scored = bsr_process(
        "--registry", registry.root, "score", "-m", CONVNET, "-m", WIDENET,
        "-b", "Syn.IT-ridge", "-b", "Syn.objects-accuracy", "-b", "Syn.IT-rsa", "--json", env=ONE_THREAD,
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    return records_in(registry.layout.records_dir)


def test_local_cluster_records_equal_sequential_scores_and_verify(grid, cli, tmp_path):
    out = tmp_path / "distributed"
    args = ("--registry", grid.root, "run", "-m", CONVNET, "-m", WIDENET, "-b", "Syn.*", "--workers", "2", "--out", out, "--json")
    summary = _run_json(cli(*args))
    assert len(summary["records"]) == PAIRS and summary["failed"] == []
    assert summary["tasks"]["prepare"] == {"total": 3, "done": 3, "failed": 0}
    distributed = records_in(out)
    sequential = _sequential(grid, tmp_path)
    assert sorted(distributed) == sorted(sequential) and len(distributed) == PAIRS
    for name in distributed:
        same_numbers(distributed[name], sequential[name])
        assert distributed[name]["environment"]["threads"] == 1
        verified = cli("--registry", grid.root, "verify", out / name, "--json")
        assert verified.exit_code == 0 and json.loads(verified.stdout)["valid"] is True, verified.output
    # the same command again: every pair is recorded, nothing is submitted
    again = _run_json(cli(*args))
    assert len(again["already_recorded"]) == PAIRS and again["records"] == []
    assert all(stage["total"] == 0 for stage in again["tasks"].values())
    # one record gone: only its metric task runs, on activations read from the cache
    (out / "Syn.IT-rsa--widenet.json").unlink()
    third = _run_json(cli(*args))
    assert [r["benchmark"] + "/" + r["model"] for r in third["records"]] == ["Syn.IT-rsa/widenet"]
    assert third["extractions"]["computed"] == 0 and third["extractions"]["from_cache"] >= 1
    same_numbers(records_in(out)["Syn.IT-rsa--widenet.json"], sequential["Syn.IT-rsa--widenet.json"])


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def test_scheduler_and_worker_processes_with_the_data_only_in_s3(grid, cli, tmp_path, monkeypatch):
    moto = MotoServer()
    scheduler = workers = None
    try:
        s3_client(moto.endpoint).create_bucket(Bucket="bsr-grid")
        grid.storage.add_remote("s3", "s3://bsr-grid/registry", endpoint_url=moto.endpoint, default=True)
        assert cli("--registry", grid.root, "push").exit_code == 0
        _git(grid.root, "add", "-A")
        _git(grid.root, "commit", "-qm", "registry")
        bare = tmp_path / "registry.git"
        _git(tmp_path, "clone", "-q", "--bare", str(grid.root), str(bare))
        sequential = _sequential(grid, tmp_path)  # before the local copies go: the reference numbers
        for stored in (v for entry in grid.catalog.entries() for v in entry.versions):
            assert (grid.root / stored.path).is_dir()
        # nothing anywhere but in S3: the client and each worker start from an empty $BSR_HOME
        monkeypatch.setenv("BSR_HOME", str(tmp_path / "client_home"))
        scheduler = DaskScheduler(tmp_path)
        workers = [
            DaskWorker(
                scheduler.address, tmp_path / f"worker{i}", {"BSR_HOME": str(tmp_path / f"worker{i}" / "home"), **ONE_THREAD}
            )
            for i in range(2)
        ]
        from distributed import Client

        with Client(scheduler.address, timeout="30s") as client:
            wait_for_workers(client, 2)
            out = tmp_path / "records"
            result = bsr_process(
                "--registry", bare, "run", "-m", CONVNET, "-m", WIDENET, "-b", "Syn.*", "--scheduler", scheduler.address,
                "--out", out, "--json",
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
            assert len(set(client.run(os.getpid).values())) == 2
        distributed = records_in(out)
        assert len(distributed) == PAIRS
        for name, record in distributed.items():
            same_numbers(record, sequential[name])
            verified = bsr_process("--registry", bare, "verify", out / name, "--json")
            assert verified.returncode == 0, verified.stderr
        for i in range(2):  # each worker pulled into its own cache and wrote its own activation entries
            home = tmp_path / f"worker{i}" / "home"
            assert any((home / "cache" / "dvc").rglob("*")), f"worker {i} pulled nothing"
        assert not (tmp_path / "client_home" / "cache" / "activations").exists()  # the client extracted nothing
    finally:
        for worker in workers or []:
            worker.stop()
        if scheduler is not None:
            scheduler.stop()
        moto.stop()


SLOW_FACTORY = '''
import time
import torch
from torch import nn


class Slow(nn.Module):
    """A small seeded convnet that takes a while per batch: a run can be interrupted mid-extraction."""

    def __init__(self):
        super().__init__()
        self.stage1 = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.stage2 = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4))

    def forward(self, x):
        time.sleep(0.25)
        return self.stage2(self.stage1(x))


def build():
    torch.manual_seed(0)
    return Slow()
'''


def _slow_card(directory: Path) -> Path:
    directory.mkdir(parents=True)
    (directory / "model.py").write_text(SLOW_FACTORY)
    card = {
        "name": "slownet",
        "description": "seeded, sleeps 0.25 s per batch",
        "factory": "model.py:build",
        "preprocessing": {"image_size": 32, "resize": "shorter_side", "crop": "center", "mean": [0.5] * 3, "std": [0.25] * 3},
        "visual_degrees": 8,
        "layers": {"IT": "stage2"},
        "readout_layer": "stage2",
    }
    (directory / "card.yaml").write_text(json.dumps(card))
    return directory / "card.yaml"


def test_a_worker_killed_mid_extraction_costs_only_time(grid, cli, tmp_path):
    from distributed import Client, LocalCluster

    card = _slow_card(tmp_path / "slownet")
    out = tmp_path / "records"
    killed: list[int] = []
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None) as cluster:
        with Client(cluster) as client:
            run = subprocess.Popen(
                [str(Path(sys.executable).with_name("bsr")), "--registry", str(grid.root), "run", "-m", str(card),
                 "-b", "Syn.*", "--scheduler", cluster.scheduler_address, "--batch-size", "2", "--out", str(out), "--json"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            done = threading.Event()
            threading.Thread(target=lambda: (run.wait(), done.set()), daemon=True).start()
            deadline = time.time() + 120
            while not killed and time.time() < deadline and not done.is_set():
                for address, keys in client.processing().items():
                    if any(str(k).startswith("extract-") for k in keys):
                        time.sleep(0.6)  # a few batches in
                        pid = client.run(os.getpid, workers=[address])[address]
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
                        break
                time.sleep(0.05)
            stdout, stderr = run.communicate(timeout=300)
    assert killed, "no extraction was seen running"
    assert run.returncode == 0, stderr
    summary = json.loads(stdout)
    assert len(summary["records"]) == 3 and summary["failed"] == []
    for name in records_in(out):
        assert cli("--registry", grid.root, "verify", out / name).exit_code == 0
    cache = ActivationCache()
    entries = sorted((bsr_home() / "cache" / "activations").rglob("*.npz"))
    assert len(entries) == summary["tasks"]["extract"]["total"] >= 1  # one entry per extraction, no duplicate
    for entry in entries:
        assert cache.get(entry.stem) is not None, f"{entry} does not authenticate"


def test_an_unreachable_scheduler_is_a_failed_job(grid, cli):
    from .s3 import free_port

    result = cli("--registry", grid.root, "run", "-m", CONVNET, "-b", "Syn.*", "--scheduler", f"tcp://127.0.0.1:{free_port()}",
                 "--connect-timeout", "1")  # fmt: skip
    assert result.exit_code == 1
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:" in result.stderr and "dask scheduler" in result.stderr
    assert "Traceback" not in result.output
    malformed = cli("--registry", grid.root, "run", "-m", CONVNET, "-b", "Syn.*", "--scheduler", "localhost")
    assert malformed.exit_code == 2 and "not a Dask scheduler address" in malformed.stderr


@pytest.mark.parametrize(
    "pattern, said",
    [("Syn.IT-rdge", "Did you mean 'Syn.IT-ridge'"), ("Geirhos2019.*", "no benchmark matches 'Geirhos2019.*'")],
)
def test_a_benchmark_pattern_that_matches_nothing(grid, cli, pattern, said, tmp_path):
    result = cli("--registry", grid.root, "run", "-m", CONVNET, "-b", "Syn.*", "-b", pattern, "--out", tmp_path / "r")
    assert result.exit_code == 2 and said in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "r").exists()


def test_a_card_that_fails_on_the_workers_is_reported_per_task(grid, cli, tmp_path):
    """A card committing a layer its network lacks: its extraction fails with `bsr score`'s message (a
    user error, not retried), its other pair and the other model's pairs are recorded."""
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("model.py",):
        (broken / name).write_text((CONVNET.parent / name).read_text())
    (broken / "card.yaml").write_text(
        CONVNET.read_text().replace("name: convnet4", "name: broken").replace("IT: stage4", "IT: stage9")
    )
    out = tmp_path / "records"
    result = cli("--registry", grid.root, "run", "-m", CONVNET, "-m", broken / "card.yaml", "-b", "Syn.*", "--workers", "2",
                 "--out", out, "--json")  # fmt: skip
    assert result.exit_code == 2, result.output
    summary = json.loads(result.stdout)
    assert sorted((f["benchmark"], f["model"], f["stage"]) for f in summary["failed"]) == [
        ("Syn.IT-ridge", "broken", "extract"),
        ("Syn.IT-rsa", "broken", "extract"),
    ]
    assert sorted(records_in(out)) == sorted(
        [f"{b}--convnet4.json" for b in ("Syn.IT-ridge", "Syn.IT-rsa", "Syn.objects-accuracy")]
        + ["Syn.objects-accuracy--broken.json"]
    )
    scored = cli(
        "--registry", grid.root, "score", "-m", broken / "card.yaml", "-b", "Syn.IT-ridge", "--out", tmp_path / "one.json"
    )
    assert scored.exit_code == 2
    message = summary["failed"][0]["message"]
    assert " ".join(message.split()) in " ".join(scored.stderr.split()), (message, scored.stderr)
