"""The command line: help with examples, templates, register/list/show output and JSON, the demo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from brainscore_registry.data.schemas import AssemblyMeta, StimulusSetMeta
from brainscore_registry.data.templates import TEMPLATES

COMMANDS = [
    [],
    ["register"],
    ["register", "stimuli"],
    ["register", "assembly"],
    ["list"],
    ["show"],
    ["meta-template"],
    ["init"],
    ["demo"],
    ["push"],
    ["pull"],
    ["status"],
    ["verify-data"],
    ["publish"],
    ["remote"],
    ["remote", "add"],
    ["remote", "list"],
    ["remote", "set-url"],
    ["benchmarks"],
    ["benchmark"],
    ["benchmark", "show"],
    ["benchmark", "record"],
    ["score"],
    ["verify"],
    ["reproduce"],
    ["map-layers"],
    ["keys"],
    ["keys", "init"],
    ["keys", "show"],
    ["keys", "trust"],
    ["keys", "trusted"],
    ["keys", "untrust"],
    ["cache"],
    ["cache", "du"],
    ["cache", "prune"],
    ["package"],
    ["aggregate"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "bsr")
def test_every_command_has_help_with_an_example(cli, command):
    result = cli(*command, "--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    groups = {("register",): ("stimuli", "assembly"), ("remote",): ("add", "list", "set-url"), ("keys",): ("init", "show")}
    expected = groups.get(tuple(command))
    assert "Example: bsr" in text or expected and all(sub in text for sub in expected)


@pytest.mark.parametrize("kind", ["neural", "behavioral", "similarity", "stimuli"])
def test_meta_template_is_commented_and_valid(cli, kind):
    result = cli("meta-template", kind)
    assert result.exit_code == 0
    assert result.stdout == TEMPLATES[kind]
    assert result.stdout.count("\n# ") >= 4, "the template explains its keys"
    model = StimulusSetMeta if kind == "stimuli" else AssemblyMeta
    meta = model.model_validate(yaml.safe_load(result.stdout))
    assert meta.identifier.startswith("Doe2024")


def test_meta_template_unknown_kind(cli):
    result = cli("meta-template", "neurall")
    assert result.exit_code == 2
    assert "neurall" in result.stderr


def test_register_prints_version_last_and_is_idempotent(cli, registry, experiment):
    args = (
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
    first = cli(*args)
    assert first.exit_code == 0, first.stderr
    version = first.stdout.strip().splitlines()[-1]
    assert version.startswith("Synthetic2026.images@sha256:") and len(version.split("sha256:")[1]) == 64
    assert "registered" in first.stderr
    again = cli(*args)
    assert again.exit_code == 0
    assert again.stdout.strip().splitlines()[-1] == version
    assert "already registered" in again.stderr and "nothing written" in again.stderr
    assert len(registry.catalog.read_entry("Synthetic2026.images").versions) == 1


def test_register_assembly_json(cli, registry, stimuli, experiment):
    result = cli(
        "--registry", registry.root, "register", "assembly", experiment.neural, "--meta", experiment.neural_meta, "--json"
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["created"] is True and data["dims"] == {"presentation": 48, "neuroid": 8, "time_bin": 1}
    assert data["version"].startswith("Synthetic2026.V4IT@sha256:")


def test_list_and_show(cli, registry, stimuli, experiment):
    cli("--registry", registry.root, "register", "assembly", experiment.neural, "--meta", experiment.neural_meta)
    table = cli("--registry", registry.root, "list")
    assert table.exit_code == 0 and "Synthetic2026.V4IT" in table.stdout and "Synthetic2026.images" in table.stdout
    listing = json.loads(cli("--registry", registry.root, "list", "--json").stdout)
    by_id = {d["identifier"]: d for d in listing}
    neural = by_id["Synthetic2026.V4IT"]
    assert neural["kind"] == "neural" and neural["species"] == "macaca_mulatta" and neural["regions"] == ["V4", "IT"]
    assert neural["license"] == "CC0-1.0" and neural["citation"].startswith("Synthetic data")
    assert neural["versions"][0]["dims"] == {"presentation": 48, "neuroid": 8, "time_bin": 1}
    assert neural["versions"][0]["local"] is True and neural["stimulus_set"] == str(stimuli.version)
    assert len(neural["latest"].split("sha256:")[1]) == 64 and neural["time_bins"] == [[70, 170]]
    short = neural["latest"].split("sha256:")[1][:12]
    shown = cli("--registry", registry.root, "show", f"Synthetic2026.V4IT@sha256:{short}")
    assert shown.exit_code == 0 and neural["latest"].split("sha256:")[1] in shown.stdout and "macaca_mulatta" in shown.stdout
    data = json.loads(cli("--registry", registry.root, "show", "Synthetic2026.V4IT", "--json").stdout)
    assert data["selected"] == neural["latest"]


def test_show_unknown_dataset_suggests(cli, registry, stimuli):
    result = cli("--registry", registry.root, "show", "Synthetic2026.imagez")
    assert result.exit_code == 2
    assert "Did you mean 'Synthetic2026.images'" in " ".join(result.stderr.split())


def test_no_registry_here(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("list")
    assert result.exit_code == 2
    assert "no registry found" in result.stderr and "bsr init" in result.stderr


def test_init_then_list_empty(cli, tmp_path):
    assert cli("init", tmp_path / "new").exit_code == 0
    result = cli("--registry", tmp_path / "new", "list")
    assert result.exit_code == 0 and "No datasets yet" in result.stdout


def test_demo_runs_end_to_end(cli, tmp_path):
    """The synthetic part (the real benchmarks are covered by test_published): registered, pushed,
    deleted, pulled by benchmark id, scored, signed, verified, reproduced, ground truth recovered."""
    result = cli("demo", "--workdir", tmp_path / "demo", "--raw", tmp_path / "no-raw-data", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["idempotent"] is True and len(data["pulled"]) == 2
    assert data["model_recovered"] and data["layer_recovered"] and data["reproduced"]
    assert {(s["model"], s["layer"]) for s in data["scores"]} >= {("convnet4", "stage3"), ("widenet", "block1")}
    assert abs(data["scores"][0]["ceiling"] - data["hidden"]["true_reliability"]) < 0.05
    for score in data["scores"]:
        assert cli("--registry", data["registry"], "verify", score["record"]).exit_code == 0
    assert data["real_benchmarks"] == []
    index = Path(data["site"])  # the leaderboard of the demo's records
    assert index.name == "index.html" and all(score["model"] in index.read_text() for score in data["scores"])


def test_console_script_is_installed():
    """The `bsr` entry point of the installed package, as a user runs it."""
    exe = __import__("shutil").which("bsr") or str(__import__("pathlib").Path(sys.executable).parent / "bsr")
    proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("bsr ")


def test_debug_shows_the_traceback_behind_a_user_error(cli, registry, stimuli, experiment, tmp_path, monkeypatch):
    """A user error prints `Error:` and the fix, no traceback; --debug (or BSR_DEBUG=1) adds the original
    traceback, including the reader's own exception that the message summarises."""
    broken = tmp_path / "broken.nc"
    broken.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)  # an HDF5 signature and nothing else
    args = ("--registry", registry.root, "register", "assembly", broken, "--meta", experiment.neural_meta)
    plain = cli(*args)
    assert plain.exit_code == 2 and "Error:" in plain.stderr and "cannot read this NetCDF file" in plain.stderr
    assert "Traceback" not in plain.output
    for debug in (lambda: cli("--debug", *args), lambda: (monkeypatch.setenv("BSR_DEBUG", "1"), cli(*args))[1]):
        result = debug()
        assert result.exit_code == 2 and "Traceback (most recent call last)" in result.stderr, result.stderr
        assert "read_assembly_source" in result.stderr and "Error: " in result.stderr
        monkeypatch.delenv("BSR_DEBUG", raising=False)


def test_versions_and_names_kept_in_two_places_agree():
    """The CLI keeps a few names literal so that `--help` loads nothing: they must equal the library's."""
    import tomllib
    from pathlib import Path

    import brainscore_registry
    from brainscore_registry.packaging.build import PACKAGES
    from cli.package import PACKAGE_NAMES

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert brainscore_registry.__version__ == pyproject["project"]["version"]
    assert tuple(PACKAGES) == PACKAGE_NAMES
