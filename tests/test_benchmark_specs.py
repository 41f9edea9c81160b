"""Benchmark specs: validation with clear errors, the version-bump rule, the CLI, ceiled scores that
round-trip through JSON, and aggregation that reports missing children instead of counting 0."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from brainscore_registry import UserInputError
from brainscore_registry.benchmarks.aggregation import aggregate, load_tree
from brainscore_registry.benchmarks.specs import find_spec, list_specs, load_spec, record_versions, version_problems
from brainscore_registry.metrics.normalization import ceil_score
from brainscore_registry.metrics.score import BenchmarkScore, Score
from brainscore_registry.store.registration import register_assembly, register_stimulus_set

REPOSITORY = Path(__file__).resolve().parents[1]
HASH = "ab" * 32


def _spec(**changes) -> dict:
    spec = {
        "id": "Synthetic2026.V4-pls",
        "version": 1,
        "description": "V4 predictivity on the synthetic experiment",
        "assembly": f"Synthetic2026.V4IT@sha256:{HASH}",
        "procedure": {"region": "V4", "time_bins": [[70, 170]], "visual_degrees": 8, "number_of_trials": 1},
        "metric": {"name": "pls", "params": {"stratification_coord": None}},
        "ceiling": {"method": "internal_consistency"},
        "normalization": "r2_over_ceiling",
        "parent": "V4",
        "citation": "Synthetic, 2026",
    }
    for key, value in changes.items():
        spec[key] = value
    return spec


def _write(root: Path, spec: dict, name: str | None = None) -> Path:
    path = root / "registry" / "benchmarks" / f"{name or spec['id']}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_the_repositorys_specs_are_valid_and_their_versions_recorded():
    specs = list_specs(REPOSITORY)
    assert version_problems(REPOSITORY) == [], "\n".join(version_problems(REPOSITORY))
    assert len({s.id for s in specs}) == len(specs)


def test_a_valid_spec_loads(tmp_path):
    spec = load_spec(_write(tmp_path, _spec()))
    assert spec.procedure.region == "V4" and spec.metric.params == {"stratification_coord": None}
    assert len(spec.fingerprint()) == 64


BAD = {
    "unknown metric": (dict(metric={"name": "plss"}), r"field 'metric': unknown metric 'plss'. Did you mean 'pls'"),
    "unknown parameter": (dict(metric={"name": "pls", "params": {"n_split": 5}}), r"takes no parameter 'n_split'"),
    "unpinned data": (dict(assembly="Synthetic2026.V4IT"), r"field 'assembly'.*not pinned to a full hash"),
    "short pin": (dict(assembly=f"Synthetic2026.V4IT@sha256:{HASH[:12]}"), r"not pinned to a full hash"),
    "both ceilings": (dict(ceiling={"method": "internal_consistency", "value": 0.8}), r"exactly one of `method`"),
    "unknown ceiling": (dict(ceiling={"method": "internal_consistence"}), r"Did you mean 'internal_consistency'"),
    "unknown normalization": (dict(normalization="r2"), r"field 'normalization'"),
    "unknown region": (dict(procedure={"region": "V5x", "time_bins": [[70, 170]]}), r"unknown region 'V5x'"),
    "reversed bin": (dict(procedure={"region": "V4", "time_bins": [[170, 70]]}), r"ends before it starts"),
    "no procedure": (dict(procedure={"number_of_trials": 1}), r"name a recorded `region`"),
    "unknown key": (dict(metrics={"name": "pls"}), r"metrics"),
    "version zero": (dict(version=0), r"field 'version'"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_spec_names_the_file_and_the_field(tmp_path, case):
    changes, message = BAD[case]
    path = _write(tmp_path, _spec(**changes))
    with pytest.raises(UserInputError, match=message) as raised:
        load_spec(path)
    assert str(path) in str(raised.value)


def test_the_id_must_be_the_file_name(tmp_path):
    with pytest.raises(UserInputError, match="name the file Synthetic2026.V4-pls.yaml"):
        load_spec(_write(tmp_path, _spec(), name="other"))


def test_an_unknown_benchmark_suggests_the_closest(tmp_path):
    _write(tmp_path, _spec())
    with pytest.raises(UserInputError, match="Did you mean 'Synthetic2026.V4-pls'"):
        find_spec(tmp_path, "Synthetic2026.V4-pl")


def test_changing_numbers_without_a_version_bump_fails(tmp_path):
    _write(tmp_path, _spec())
    assert "not recorded" in version_problems(tmp_path)[0]
    record_versions(tmp_path)
    assert version_problems(tmp_path) == []
    _write(tmp_path, _spec(description="reworded", citation="Someone, 2026", parent="IT"))  # no number changes
    assert version_problems(tmp_path) == []
    for change in (
        dict(metric={"name": "pls", "params": {"stratification_coord": "object_name"}}),
        dict(assembly=f"Synthetic2026.V4IT@sha256:{'cd' * 32}"),
        dict(procedure={"region": "V4", "time_bins": [[50, 150]]}),
        dict(ceiling={"value": 0.8, "error": 0.01}),
        dict(normalization="raw_over_ceiling"),
    ):
        _write(tmp_path, _spec(**change))
        problems = version_problems(tmp_path)
        assert len(problems) == 1 and "raise `version` to 2" in problems[0], change
        with pytest.raises(UserInputError, match="raise version to 2"):
            record_versions(tmp_path)
    _write(tmp_path, _spec(version=2, normalization="raw_over_ceiling"))
    assert "not recorded yet" in version_problems(tmp_path)[0]
    record_versions(tmp_path)
    assert version_problems(tmp_path) == []
    _write(tmp_path, _spec(version=1))
    assert "lower than the recorded 2" in version_problems(tmp_path)[0]


def test_cli_lists_and_shows_specs_with_their_pins(cli, registry, experiment, monkeypatch):
    register_stimulus_set(experiment.stimuli_dir, experiment.table, experiment.stimuli_meta, registry=registry)
    pinned = register_assembly(experiment.neural, experiment.neural_meta, registry=registry).version
    _write(registry.root, _spec(assembly=str(pinned)))
    monkeypatch.chdir(registry.root)
    listed = cli("benchmarks", "--json")
    assert listed.exit_code == 0, listed.output
    [entry] = json.loads(listed.stdout)
    assert entry["id"] == "Synthetic2026.V4-pls" and entry["data"]["assembly"]["local"] is True
    assert entry["conditioning"] is None  # pls is well posed on any shape
    shown = cli("benchmark", "show", "Synthetic2026.V4-pls")
    assert shown.exit_code == 0 and "(here)" in shown.stdout and "pls(stratification_coord=None)" in shown.stdout
    missing = cli("benchmark", "show", "Synthetic2026.V4-pl")
    assert missing.exit_code == 2 and "Did you mean" in missing.output and "Traceback" not in missing.output
    _write(registry.root, _spec(assembly=f"Synthetic2026.V4IT@sha256:{HASH}"))
    assert "NOT in this registry" in cli("benchmark", "show", "Synthetic2026.V4-pls").stdout
    recorded = cli("benchmark", "record", "--json")
    assert recorded.exit_code == 0 and json.loads(recorded.stdout)["Synthetic2026.V4-pls"]["version"] == 1
    for command in (("benchmarks",), ("benchmark", "show"), ("benchmark", "record")):
        assert "Example:" in cli(*command, "--help").stdout


def test_show_says_when_a_metric_is_ill_posed_on_the_benchmarks_shape(cli, registry, experiment, monkeypatch):
    register_stimulus_set(experiment.stimuli_dir, experiment.table, experiment.stimuli_meta, registry=registry)
    pinned = register_assembly(experiment.neural, experiment.neural_meta, registry=registry).version
    linear = _spec(id="Synthetic2026.V4-linear", assembly=str(pinned), metric={"name": "linear", "params": {}})
    _write(registry.root, linear)
    monkeypatch.chdir(registry.root)
    shown = cli("benchmark", "show", "Synthetic2026.V4-linear", "--json")
    assert shown.exit_code == 0, shown.output
    # 16 stimuli, 90% train: 14 training stimuli per split
    assert "ill-posed for models giving 14 or more features" in json.loads(shown.stdout)["conditioning"]
    assert "BLAS kernel" in cli("benchmark", "show", "Synthetic2026.V4-linear").stdout


def _score(per_split: list[float]) -> Score:
    raw = np.array(per_split)[:, None]
    return Score(float(np.mean(per_split)), float(np.std(per_split)), raw, ("x",), {})


def test_normalizations():
    raw, ceiling = Score(0.6, 0.02, np.array([[0.6, np.nan]]), ("a", "b")), Score(0.8, 0.01, np.array([[0.8]]))
    assert ceil_score(raw, ceiling, "r2_over_ceiling").value == pytest.approx(0.36 / 0.8)
    assert ceil_score(raw, ceiling, "r2_over_ceiling").error == 0.02  # copied, as the reference does
    assert ceil_score(Score(0.9, 0.1, np.array([[0.9]])), ceiling, "raw_over_ceiling_clipped").value == 1.0
    assert ceil_score(Score(-0.1, 0.1, np.array([[-0.1]])), ceiling, "raw_over_ceiling_clipped").value == 0.0
    i2n = ceil_score(_score([0.4, 0.5]), _score([0.64, 0.81]), "raw_over_sqrt_ceiling")
    assert i2n.value == pytest.approx(np.mean([0.4 / 0.8, 0.5 / 0.9])) and i2n.error == pytest.approx(np.std([0.5, 0.5 / 0.9]))


def test_benchmark_score_round_trips_through_json():
    raw = Score(
        0.123456789012345, 0.01, np.array([[0.1, np.nan, 1 / 3], [0.2, 0.3, np.nan]]), ("a", "b", "c"), {"n": np.int64(3)}
    )
    ceiling = Score(0.8, float("nan"), np.array([[0.8]]), (), {"method": "internal_consistency"})
    score = ceil_score(raw, ceiling, "r2_over_ceiling")
    back = BenchmarkScore.from_json(json.loads(json.dumps(score.to_json())))
    assert back.value == score.value and back.normalization == "r2_over_ceiling"
    np.testing.assert_array_equal(back.raw.raw, raw.raw)
    assert back.raw.units == raw.units and back.raw.attrs == {"n": 3} and np.isnan(back.ceiling.error)


def test_aggregation_reports_missing_children_and_uses_weights(tmp_path):
    specs = [
        load_spec(_write(tmp_path, _spec(id="A.V4-pls", parent="V4"))),
        load_spec(_write(tmp_path, _spec(id="B.V4-pls", parent="V4", weight=3))),
        load_spec(_write(tmp_path, _spec(id="C.IT-pls", parent="IT"))),
        load_spec(_write(tmp_path, _spec(id="D.IT-pls", parent="IT"))),
    ]
    (tmp_path / "registry" / "benchmarks" / "aggregates.yaml").write_text(
        "V4: {parent: neural}\nIT: {parent: neural}\nneural: {parent: average}\n"
    )
    nodes = aggregate(specs, {"A.V4-pls": 0.2, "B.V4-pls": 0.6, "C.IT-pls": 0.5, "D.IT-pls": None}, load_tree(tmp_path))
    assert nodes["V4"].value == pytest.approx((0.2 + 3 * 0.6) / 4)
    assert nodes["IT"].value == pytest.approx(0.5) and nodes["IT"].missing == ["D.IT-pls"]  # not (0.5 + 0) / 2
    assert nodes["neural"].value == pytest.approx((0.5 + 0.5) / 2) and nodes["average"].missing == ["D.IT-pls"]
    assert nodes["average"].to_json()["complete"] is False
    assert aggregate(specs, {}, load_tree(tmp_path))["average"].value is None
