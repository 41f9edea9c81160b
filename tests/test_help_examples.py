"""Every `Example:` in every `--help` is true: pasted into a shell as a user would, it exits 0.

The examples run in a sandbox where what they name exists. It holds:

- the demo registry, built by the top-level example itself (`bsr demo`);
- a copy of the example models, since `map-layers` rewrites a card;
- the files the examples name (`images/` with its `stimuli.csv`, `stimuli.yaml`, `v4.nc` and `v4.yaml`,
  all from the demo's raw files);
- `alice.pub`, the user's own public key;
- `session.nwb` and `session.yaml`, an NWB session written by pynwb and its import metadata;
- `records/`, the demo's records;
- `predictions.nc` (responses to the demo's stimuli) and `token.txt` (an API token of the service that
  `bsr serve`'s own example starts, in the background, for `bsr submit` and `bsr login`);
- `../shared/data`, the raw published data when this machine has them.

`BSR_REGISTRY` points at the demo registry. Commands that change shared state (a new default remote,
untrusting a key) run after the ones that read it. `keys init` makes a first key, so it runs with an
empty `$BSR_HOME`.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from brainscore_registry.packaging import default_raw_root
from brainscore_registry.packaging.build import raw_available
from cli.app import app

from .nwb_files import write_meta, write_session
from .s3 import stop_process

ROOT = Path(__file__).resolve().parents[1]
FIRST = ("score",)  # writes the record `verify` and `reproduce` name
LAST = ("remote add", "remote set-url", "keys untrust")  # change what other examples read
FRESH_HOME = ("keys init",)  # an example of a first use
SERVICE = ("serve", "submit", "login")  # run while `bsr serve`'s example serves in the background


def _command_paths(group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [path]
    for name, command in sorted(getattr(group, "commands", {}).items()):
        paths += _command_paths(command, (*path, name))
    return paths


def _examples() -> dict[str, str]:
    """command path -> its example, read from the help text itself (the docstring, not the rendered
    panel, which wraps long lines); one entry per distinct example."""
    found: dict[str, str] = {}
    root = typer.main.get_command(app)
    for path in _command_paths(root):
        command = root
        for name in path:
            command = command.commands[name]
        lines = [line.strip() for line in (command.help or "").splitlines() if line.strip().startswith("Example:")]
        example = lines[-1].removeprefix("Example:").strip() if lines else None
        if example:  # a group may list its commands instead (see test_cli); a repeated example runs once
            found = {name: known for name, known in found.items() if known != example or name == "bsr"}
            if example not in found.values():
                found[" ".join(path) or "bsr"] = example
    return found


EXAMPLES = _examples()
ORDER = sorted(EXAMPLES, key=lambda name: (name != "bsr", name not in FIRST, name in LAST, name))


def _run(example: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", example], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    base = tmp_path_factory.mktemp("examples")
    work, home = base / "work", base / "home"
    work.mkdir()
    shutil.copytree(ROOT / "examples", work / "examples")
    if raw_available():
        (base / "shared").mkdir()
        (base / "shared" / "data").symlink_to(default_raw_root())
    env = {
        **os.environ,
        "BSR_HOME": str(home),
        "BSR_REGISTRY": str(home / "demo" / "registry"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
    }
    demo = _run(EXAMPLES["bsr"], {**env, "BSR_REGISTRY": ""}, work)  # the Quick start's main job builds it all
    assert demo.returncode == 0, demo.stderr[-3000:]
    raw = home / "demo" / "raw"
    shutil.copytree(raw / "images", work / "images")
    shutil.copy(raw / "stimuli.csv", work / "images" / "stimuli.csv")
    shutil.copy(raw / "stimuli.yaml", work / "stimuli.yaml")
    shutil.copy(raw / "neural.nc", work / "v4.nc")
    shutil.copy(raw / "neural.yaml", work / "v4.yaml")
    shutil.copy(home / "keys" / "ed25519.pub", work / "alice.pub")
    write_session(work / "session.nwb")  # `bsr import nwb`: a session written by pynwb, its metadata
    write_meta(work / "session.yaml")
    (work / "records").symlink_to(home / "demo" / "registry" / "records")
    _write_predictions(raw / "stimuli.csv", work / "predictions.nc")
    return work, env, base


def _write_predictions(table: Path, path: Path) -> None:
    """Seeded responses of 30 units to every stimulus of the demo: a file `bsr submit` can send."""
    import pandas as pd

    from .service_process import random_responses

    random_responses(pd.read_csv(table, dtype=str)["stimulus_id"].tolist()).to_netcdf(path)


@pytest.fixture(scope="module")
def service(sandbox):
    """`bsr serve`'s own example, run as written (by its PID) with an account for the sandbox, whose
    token is in `token.txt` and $BSR_TOKEN."""
    import httpx

    from .service_process import wait_until_answers

    work, env, base = sandbox
    added = _run("bsr serve token add sandbox --limit 100/day --json", env, work)
    assert added.returncode == 0, added.stderr
    token = json.loads(added.stdout)["token"]
    (work / "token.txt").write_text(token + "\n")
    log = open(base / "serve-example.log", "wb")
    proc = subprocess.Popen(shlex.split(EXAMPLES["serve"]), cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_answers(proc, "http://127.0.0.1:8765/v1/key", base / "serve-example.log")
        yield {**env, "BSR_TOKEN": token}, httpx.get("http://127.0.0.1:8765/v1/benchmarks").json()
    finally:
        stop_process(proc)
        log.close()


@pytest.mark.parametrize("name", [n for n in ORDER if n != "bsr"])
def test_every_help_example_runs(sandbox, name, request):
    work, env, base = sandbox
    example = EXAMPLES[name]
    assert example.startswith("bsr "), example
    if name in SERVICE:
        env, served = request.getfixturevalue("service")
        if name == "serve":  # the example itself is the background server: it answers
            assert [b["id"] for b in served["benchmarks"]] == ["Synthetic2026.V4-pls"]
            return
    if name in FRESH_HOME:
        env = {**env, "BSR_HOME": str(base / f"fresh-{name.replace(' ', '-')}")}
    result = _run(example, env, work)
    if name == "package" and not raw_available():  # the raw published files are not on this machine
        assert result.returncode == 2 and "Traceback" not in result.stderr and "raw" in result.stderr, result.stderr
        return
    assert result.returncode == 0, f"`{example}` exited {result.returncode}:\n{result.stderr[-3000:]}"


def test_the_demo_example_ran_first_and_every_command_has_one():
    assert ORDER[0] == "bsr" and EXAMPLES["bsr"] == "bsr demo"
    assert len(EXAMPLES) >= 30
