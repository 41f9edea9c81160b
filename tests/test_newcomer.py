"""A newcomer's first hour: template values refused at registration, logs that are never empty when
the output is not a terminal, rates over real time, aggregates that do not pass a partial mean off as
a whole, a broken spec reported by name while the others list, and caches that can be measured and
pruned safely."""

from __future__ import annotations

import json
import os
import time

import pytest
import yaml

from brainscore_registry.data.templates import (
    EXAMPLE_CITATION,
    EXAMPLE_DESCRIPTIONS,
    EXAMPLE_REVISION,
    EXAMPLE_SOURCE,
    TEMPLATES,
    placeholders,
)


def test_the_template_examples_are_the_ones_refused():
    text = "".join(TEMPLATES.values())
    for value in (EXAMPLE_CITATION, EXAMPLE_SOURCE, EXAMPLE_REVISION, *EXAMPLE_DESCRIPTIONS):
        assert value in text
    for kind, template in TEMPLATES.items():
        fields = {field for field, _ in placeholders(yaml.safe_load(template))}
        assert {"identifier", "citation", "description", "provenance.source"} <= fields, kind


def test_registering_unedited_template_values_is_refused(cli, registry, experiment, tmp_path):
    meta = yaml.safe_load(experiment.stimuli_meta.read_text())
    meta["citation"] = EXAMPLE_CITATION  # edited everything but the citation
    (tmp_path / "stimuli.yaml").write_text(yaml.safe_dump(meta))
    args = ("--registry", registry.root, "register", "stimuli", experiment.stimuli_dir, "--table", experiment.table)
    refused = cli(*args, "--meta", tmp_path / "stimuli.yaml")
    assert refused.exit_code == 2 and "field 'citation'" in refused.stderr
    assert "still the `bsr meta-template` example" in refused.stderr and "replace the example citation" in refused.stderr
    assert registry.catalog.names() == []  # nothing written
    meta["citation"] = "Our own paper (2026)."
    (tmp_path / "stimuli.yaml").write_text(yaml.safe_dump(meta))
    assert cli(*args, "--meta", tmp_path / "stimuli.yaml").exit_code == 0


def test_a_log_that_is_not_a_terminal_says_what_each_stage_did(cli, registry, experiment):
    """CliRunner's stderr is not a terminal, as a CI log or `bsr ... 2> log` is: every stage logs a
    line when it starts and when it ends, with counts."""
    result = cli(
        "--registry",
        registry.root,
        "register",
        "stimuli",
        experiment.stimuli_dir,
        "--table",
        experiment.table,
        "--meta",
        experiment.stimuli_meta,
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line[:2].isdigit() and line[2] == ":"]
    stages = {line.split(" ", 1)[1].split(":")[0] for line in lines}
    assert {"reading files", "hashing", "re-reading + verifying"} <= stages, result.stderr
    assert any("16/16 files" in line for line in lines)  # the end of a stage is logged


def test_rates_are_over_real_elapsed_time():
    """The first report of a stage carries no rate (it is not a measurement); later ones count from it."""
    from cli.common import StageClock, describe_amount

    clock = StageClock(64)  # the first batch of 64 images reported at once
    assert clock.rate(64) is None and describe_amount("extract m.l", 64, 640, clock.rate(64)) == "64/640 images"
    clock.start -= 2.0  # two seconds later, 128 more images
    assert clock.rate(192) == pytest.approx(64.0, rel=0.01)
    assert describe_amount("extract m.l", 192, 640, clock.rate(192)).endswith("images/s")


def test_an_incomplete_aggregate_prints_no_number_unless_asked(cli, tmp_path):
    from .scoring_setup import CONVNET, build_benchmark_registry

    registry = build_benchmark_registry(tmp_path / "agg")
    args = ("--registry", registry.root)
    out = tmp_path / "r.json"
    scored = cli(*args, "score", "-b", "Syn.IT-ridge", "-m", CONVNET, "--device", "cpu", "--out", out, "--json")
    assert scored.exit_code == 0, scored.output
    [nodes] = json.loads(cli(*args, "aggregate", out, "--json").stdout).values()
    assert nodes["IT"]["complete"] is False and nodes["IT"]["value"] is None  # Syn.IT-rsa has no record
    assert nodes["IT"]["partial_value"] == pytest.approx(json.loads(out.read_text())["score"]["value"])
    [partial] = json.loads(cli(*args, "aggregate", out, "--json", "--partial").stdout).values()
    assert partial["IT"]["value"] == nodes["IT"]["partial_value"]
    text = cli(*args, "aggregate", out).stdout
    assert "IT: —" in text and "incomplete: 1 missing" in text
    assert "(partial)" in cli(*args, "aggregate", out, "--partial").stdout


def test_a_broken_spec_is_reported_by_name_and_the_others_still_list(cli, tmp_path):
    from .scoring_setup import build_benchmark_registry

    registry = build_benchmark_registry(tmp_path / "specs")
    (registry.layout.benchmarks_dir / "Syn.broken-pls.yaml").write_text("id: Syn.broken-pls\nversion: [\n")
    result = cli("--registry", registry.root, "benchmarks", "--json")
    assert result.exit_code == 2
    assert sorted(s["id"] for s in json.loads(result.stdout)) == ["Syn.IT-ridge", "Syn.IT-rsa", "Syn.objects-accuracy"]
    assert "Syn.broken-pls.yaml" in result.stderr and "Traceback" not in result.output
    table = cli("--registry", registry.root, "benchmarks")
    assert table.exit_code == 2 and "Syn.IT-rsa" in table.stdout and "Syn.broken-pls.yaml" in table.stderr


def _aged(path, size: int, days: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    then = time.time() - days * 86_400
    os.utime(path, (then, then))


def test_cache_du_and_prune(cli, tmp_path):
    from brainscore_registry.runs.caches import cache_root

    activations, dvc = cache_root("activations"), cache_root("dvc") / "files" / "md5"
    _aged(activations / "aa" / "old.npz", 1000, 40)
    _aged(activations / "bb" / "older.npz", 1000, 60)
    _aged(activations / "cc" / "new.npz", 1000, 0)  # in use right now: never pruned
    _aged(dvc / "11" / "unlinked", 2000, 50)
    _aged(dvc / "22" / "linked", 2000, 50)
    os.link(dvc / "22" / "linked", tmp_path / "workspace-file")  # a registry's workspace uses it
    _aged(dvc / "33" / "manifest.dir", 10, 50)
    du = {c["name"]: c for c in json.loads(cli("cache", "du", "--json").stdout)}
    assert du["activations"]["entries"] == 3 and du["activations"]["bytes"] == 3000
    assert du["dvc"]["entries"] == 2 and du["dvc"]["in_use_bytes"] == 2000  # the manifest is not counted
    dry = json.loads(cli("cache", "prune", "--older-than", "30d", "--dry-run", "--json").stdout)
    assert {c["name"]: c["removed"] for c in dry["caches"]} == {"activations": 2, "scores": 0, "dvc": 1}
    assert (activations / "bb" / "older.npz").exists()  # a dry run removes nothing
    capped = json.loads(cli("cache", "prune", "--max-size", "1500B", "--only", "activations", "--json").stdout)
    assert capped["caches"][0]["removed"] == 2 and not (activations / "bb" / "older.npz").exists()  # oldest first
    assert (activations / "cc" / "new.npz").exists()
    pruned = json.loads(cli("cache", "prune", "--older-than", "30d", "--json").stdout)
    assert {c["name"]: c["removed"] for c in pruned["caches"]} == {"activations": 0, "scores": 0, "dvc": 1}
    assert not (dvc / "11" / "unlinked").exists() and (dvc / "22" / "linked").exists() and (dvc / "33" / "manifest.dir").exists()
    bad = cli("cache", "prune", "--older-than", "soon")
    assert bad.exit_code == 2 and "not a duration" in bad.stderr
