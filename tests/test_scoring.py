"""Scoring local PyTorch models end to end: records that verify, tampering that does not, reproduction
from the record alone, and the refusals a modeler needs to see."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml

from .scoring_setup import CONVNET, WIDENET, build_benchmark_registry

BENCHMARKS = ("Syn.IT-ridge", "Syn.objects-accuracy", "Syn.IT-rsa")


@pytest.fixture(scope="module")
def bench_registry(tmp_path_factory):
    return build_benchmark_registry(tmp_path_factory.mktemp("bench"))


def _score(cli, registry, card, *benchmarks, extra=()):
    args = ["--registry", registry.root, "score", "--model", card, "--device", "cpu", "--json", *extra]
    for b in benchmarks:
        args += ["-b", b]
    return cli(*args)


def test_both_example_models_score_verify_and_reproduce(cli, bench_registry):
    for card in (CONVNET, WIDENET):
        result = _score(cli, bench_registry, card, *BENCHMARKS)
        assert result.exit_code == 0, result.output
        rows = json.loads(result.stdout)
        assert [r["benchmark"] for r in rows] == list(BENCHMARKS)
        for row in rows:
            assert -1 <= row["raw"] <= 1 and row["ceiling"] > 0, row
            verified = cli("--registry", bench_registry.root, "verify", row["record"], "--json")
            assert verified.exit_code == 0, verified.output
            record = json.loads(Path(row["record"]).read_text())
            assert record["data"]["assembly"].count("sha256:") == 1 and record["model"]["weights_sha256"] is None
            assert record["environment"]["torch"] == torch.__version__ and record["code"]["version"]
        reproduced = cli(
            "--registry", bench_registry.root, "reproduce", rows[0]["record"], "--model", card, "--device", "cpu", "--json"
        )
        assert reproduced.exit_code == 0, reproduced.output
        report = json.loads(reproduced.stdout)
        assert report["tolerance"]["setting"] == "same_setting" and all(r["delta"] == 0 for r in report["rows"])


def _other_hash(pin: str) -> str:
    return pin[:-1] + ("0" if pin[-1] != "0" else "1")


def _tampered(path: Path, tmp_path: Path, change) -> Path:
    record = json.loads(path.read_text())
    change(record)
    target = tmp_path / "tampered.json"
    target.write_text(json.dumps(record))
    return target


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda r: r["score"].__setitem__("value", r["score"]["value"] + 1e-9), "changed after signing"),
        (
            lambda r: r["data"].__setitem__(
                "assembly", r["data"]["assembly"][:-1] + ("0" if r["data"]["assembly"][-1] != "0" else "1")
            ),
            "changed after signing",
        ),
        (lambda r: r["environment"].__setitem__("numpy", "0.0.1"), "changed after signing"),
        (lambda r: r.pop("signature"), "not signed"),
        (lambda r: r.__setitem__("extra", 1), "does not follow bsr-score-record-v1"),
    ],
)
def test_changing_any_field_breaks_verification(cli, bench_registry, tmp_path, change, reason):
    result = _score(cli, bench_registry, CONVNET, "Syn.IT-ridge", extra=["--out", tmp_path / "record.json"])
    assert result.exit_code == 0, result.output
    broken = _tampered(tmp_path / "record.json", tmp_path, change)
    verified = cli("--registry", bench_registry.root, "verify", broken)
    assert verified.exit_code == 1 and reason in verified.output and "Traceback" not in verified.output


def test_a_record_signed_by_another_key_fails_against_the_trusted_key(cli, bench_registry, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    assert _score(cli, bench_registry, CONVNET, "Syn.IT-ridge", extra=["--out", tmp_path / "r.json"]).exit_code == 0
    ours = cli("keys", "show", "--json")
    (tmp_path / "ours.pub").write_text(json.loads(ours.stdout)["public_key_pem"])
    other = Ed25519PrivateKey.generate().public_key()
    (tmp_path / "other.pub").write_bytes(
        other.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    trusted = cli("--registry", bench_registry.root, "verify", tmp_path / "r.json", "--trusted-key", tmp_path / "ours.pub")
    assert trusted.exit_code == 0, trusted.output
    refused = cli("--registry", bench_registry.root, "verify", tmp_path / "r.json", "--trusted-key", tmp_path / "other.pub")
    assert refused.exit_code == 1 and "not the trusted key" in refused.output
    assert "PRIVATE" not in ours.stdout
    from brainscore_registry.runs.records import keys_dir

    assert (keys_dir() / "ed25519.key").stat().st_mode & 0o777 == 0o600  # the private key: owner only
    assert (tmp_path / "r.json").stat().st_mode & 0o044  # records are ordinary, readable files


def _card_with_weights(tmp_path: Path, seed: int) -> Path:
    import importlib.util

    directory = tmp_path / "weighted"
    directory.mkdir(exist_ok=True)
    shutil.copy(CONVNET.parent / "model.py", directory / "model.py")
    spec = importlib.util.spec_from_file_location("convnet4_for_weights", directory / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.save(module.build(seed).state_dict(), directory / "weights.pt")
    card = yaml.safe_load(CONVNET.read_text())
    card["weights"] = "weights.pt"
    (directory / "card.yaml").write_text(yaml.safe_dump(card))
    return directory / "card.yaml"


def test_reproduce_refuses_different_weights(cli, bench_registry, tmp_path):
    card = _card_with_weights(tmp_path, seed=3)
    result = _score(cli, bench_registry, card, "Syn.IT-ridge", extra=["--out", tmp_path / "r.json"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r.json").read_text())["model"]["weights_sha256"]
    _card_with_weights(tmp_path, seed=4)  # same card, other weights
    refused = cli("--registry", bench_registry.root, "reproduce", tmp_path / "r.json", "--model", card, "--device", "cpu")
    assert (
        refused.exit_code == 2 and "the weights differ from the record's" in refused.output and "Traceback" not in refused.output
    )


def test_layers_all_scores_every_stage(cli, bench_registry):
    result = _score(cli, bench_registry, CONVNET, "Syn.IT-ridge", extra=["--layers", "all"])
    assert result.exit_code == 0, result.output
    models = [r["model"] for r in json.loads(result.stdout)]
    assert models == [f"convnet4 ({layer})" for layer in ("stage1", "stage2", "stage3", "stage4", "pool", "classifier")]


def test_map_layers_writes_the_best_layer_into_the_card(cli, bench_registry, tmp_path):
    directory = tmp_path / "card"
    shutil.copytree(CONVNET.parent, directory)
    result = cli(
        "--registry",
        bench_registry.root,
        "map-layers",
        "-m",
        directory / "card.yaml",
        "-b",
        "Syn.IT-ridge",
        "--device",
        "cpu",
        "--json",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    best = max(summary["scores"]["IT"], key=summary["scores"]["IT"].get)
    assert summary["layers"] == {"IT": best}
    assert yaml.safe_load((directory / "card.yaml").read_text())["layers"]["IT"] == best


def test_prediction_only_scoring_verifies_and_reproduces(cli, bench_registry, tmp_path):
    """No model code runs: a NetCDF of responses keyed by stimulus_id is scored by the benchmark's procedure."""
    import numpy as np
    import xarray as xr

    stimuli = [f"syn{i:04d}" for i in range(40)]  # the synthetic experiment's ids
    rng = np.random.default_rng(0)
    features = xr.DataArray(
        rng.standard_normal((40, 30)),
        dims=("presentation", "neuroid"),
        coords={"stimulus_id": ("presentation", stimuli), "neuroid_id": ("neuroid", [f"u{k}" for k in range(30)])},
        name="responses",
    )
    features.to_netcdf(tmp_path / "predictions.nc")
    args = ("--registry", bench_registry.root)
    scored = cli(*args, "score", "-b", "Syn.IT-ridge", "--predictions", tmp_path / "predictions.nc", "--json")
    assert scored.exit_code == 0, scored.output
    [row] = json.loads(scored.stdout)
    record = json.loads(Path(row["record"]).read_text())
    assert record["model"]["kind"] == "predictions" and len(record["model"]["predictions_sha256"]) == 64
    assert cli(*args, "verify", row["record"]).exit_code == 0
    again = cli(*args, "reproduce", row["record"], "--predictions", tmp_path / "predictions.nc", "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["reproduced"] is True
    features.copy(data=features.values + 1e-3).to_netcdf(tmp_path / "other.nc")
    refused = cli(*args, "reproduce", row["record"], "--predictions", tmp_path / "other.nc")
    assert refused.exit_code == 2 and "the predictions file differ from the record's" in refused.output
    wrong = xr.DataArray(
        np.zeros((40, 40)), dims=("stimulus_a", "stimulus_b"), coords={"stimulus_a": stimuli, "stimulus_b": stimuli}
    )
    wrong.to_netcdf(tmp_path / "rdm.nc")
    refused = cli(*args, "score", "-b", "Syn.IT-ridge", "--predictions", tmp_path / "rdm.nc")
    assert refused.exit_code == 2 and "presentation × neuroid" in refused.output


def test_aggregate_rolls_records_up_the_parent_links(cli, bench_registry, tmp_path):
    records = []
    for benchmark in ("Syn.IT-ridge", "Syn.IT-rsa"):
        out = tmp_path / f"{benchmark}.json"
        assert _score(cli, bench_registry, CONVNET, benchmark, extra=["--out", out]).exit_code == 0
        records.append(out)
    result = cli("--registry", bench_registry.root, "aggregate", *records, "--json")
    assert result.exit_code == 0, result.output
    [nodes] = json.loads(result.stdout).values()
    scores = [json.loads(p.read_text())["score"]["value"] for p in records]
    assert nodes["IT"]["value"] == pytest.approx(sum(scores) / 2) and nodes["IT"]["complete"]
    assert nodes["behavior"]["value"] is None and nodes["behavior"]["missing"] == ["Syn.objects-accuracy"]


def test_reproduce_uses_the_pinned_versions_even_when_newer_ones_exist(cli, tmp_path):
    import xarray as xr
    import yaml as yaml_lib

    from brainscore_registry.benchmarks.specs import record_versions
    from brainscore_registry.store.registration import register_assembly

    registry = build_benchmark_registry(tmp_path / "own")
    args = ("--registry", registry.root)
    assert _score(cli, registry, WIDENET, "Syn.IT-ridge", extra=["--out", tmp_path / "r.json"]).exit_code == 0
    raw = tmp_path / "own" / "raw"
    newer = xr.open_dataarray(raw / "neural.nc", engine="h5netcdf").load()
    newer = newer.copy(data=newer.values + 1.0)  # another recording session, say
    meta = yaml_lib.safe_load((raw / "neural.yaml").read_text())
    version = register_assembly(newer, meta, registry=registry).version
    spec_path = registry.root / "registry" / "benchmarks" / "Syn.IT-ridge.yaml"
    spec = yaml_lib.safe_load(spec_path.read_text())
    spec.update(assembly=str(version), version=2)
    spec_path.write_text(yaml_lib.safe_dump(spec))
    record_versions(registry.root)
    result = cli(*args, "reproduce", tmp_path / "r.json", "-m", WIDENET, "--device", "cpu", "--json")
    assert result.exit_code == 0, result.output
    assert all(row["delta"] == 0 for row in json.loads(result.stdout)["rows"])


def test_reproduce_says_when_an_ill_posed_metric_cannot_be_compared_across_machines(cli, tmp_path):
    """`linear` on more features than training stimuli: the record says it is ill-posed; the same setting
    reproduces exactly, and another BLAS kernel gets the verdict "not comparable" with the reason and how
    to re-run on the recorded setting, instead of a bare mismatch."""
    import numpy as np
    import xarray as xr

    from brainscore_registry.runs.records import read_record
    from brainscore_registry.runs.reproduction import Comparison, Reproduction, tolerance_for

    registry = build_benchmark_registry(tmp_path / "own")
    spec_path = registry.layout.benchmarks_dir / "Syn.IT-linear.yaml"
    spec = yaml.safe_load((registry.layout.benchmarks_dir / "Syn.IT-ridge.yaml").read_text())
    spec.update(id="Syn.IT-linear", metric={"name": "linear", "params": {"stratification_coord": "object_name"}})
    spec_path.write_text(yaml.safe_dump(spec))
    stimuli = [f"syn{i:04d}" for i in range(40)]
    features = xr.DataArray(
        np.random.default_rng(1).standard_normal((40, 64)),  # 64 features, 36 training stimuli per split
        dims=("presentation", "neuroid"),
        coords={"stimulus_id": ("presentation", stimuli), "neuroid_id": ("neuroid", [f"u{k}" for k in range(64)])},
    )
    features.to_netcdf(tmp_path / "wide.nc")
    args = ("--registry", registry.root)
    scored = cli(*args, "score", "-b", "Syn.IT-linear", "--predictions", tmp_path / "wide.nc", "--json")
    assert scored.exit_code == 0, scored.output
    path = json.loads(scored.stdout)[0]["record"]
    record = read_record(path)
    conditioning = record.score["raw"]["attrs"]["conditioning"]
    assert conditioning["well_posed"] is False and conditioning["features"] == 64 and conditioning["train_stimuli"] == 36

    same = cli(*args, "reproduce", path, "--predictions", tmp_path / "wide.nc", "--json")
    assert same.exit_code == 0 and json.loads(same.stdout)["verdict"] == "reproduced"

    here = record.environment
    elsewhere = {**here, "blas": [{**b, "architecture": "AnotherKernel"} for b in here["blas"]]}
    setting, tolerance = tolerance_for(record, elsewhere)
    differs = [Comparison("score", 0.30, 0.33)]
    moved = Reproduction(differs, setting, tolerance, conditioning, here, elsewhere)
    assert setting == "blas_kernel" and moved.verdict == "not comparable" and not moved.reproduced
    kernel = here["blas"][0]["architecture"]
    explanation = moved.explanation()
    assert "not a failure of the data or the model" in explanation and f"OPENBLAS_CORETYPE={kernel}" in explanation
    well_posed = Reproduction(differs, setting, tolerance, {**conditioning, "well_posed": True}, here, elsewhere)
    assert well_posed.verdict == "not reproduced" and well_posed.explanation() is None
    same_machine = Reproduction(differs, "same_setting", 0.0, conditioning, here, here)
    assert same_machine.verdict == "not reproduced"  # on the recorded setting an ill-posed metric is still exact
