"""Hostile input (issue #11, parts 3 and 4): what an adversarial pass found, each case through the CLI
where a user meets it. Every refusal is a UserInputError: exit code 2, no traceback, a message naming
the file or the field and a fix. The documented normalisations are tested at the end.

Groups: YAML (aliases, depth, duplicate keys, size), numbers (finite, bounded), identifiers (Unicode),
escapes (paths named by files we did not write, `--out`, credentials in remote URLs), and files and
code (named pipes, decompression bombs, a factory that exits, degenerate predictions, stratification)."""

from __future__ import annotations

import contextlib
import math
import os
import re
import stat
import threading
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from brainscore_registry.data.assemblies import read_assembly_source
from brainscore_registry.store.registry import Registry

from .scoring_setup import CONVNET, build_benchmark_registry

STIMULI = [f"syn{i:04d}" for i in range(40)]  # the scoring registry's synthetic stimulus ids
SECRET = "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY"
HOSTILE = "Hostile"  # prefix of the specs the cases add to the shared scoring registry


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Registry:
    return build_benchmark_registry(tmp_path_factory.mktemp("bench"))


@dataclass
class Env:
    """What a case needs, built lazily: a fresh registry (with the synthetic stimuli) only for the
    cases that register, the shared scoring registry for those that score."""

    request: pytest.FixtureRequest
    tmp: Path
    bench: Registry

    # ---- the fresh registry and its raw files ----------------------------------------------------
    @property
    def experiment(self):
        return self.request.getfixturevalue("experiment")

    @property
    def registry(self) -> Registry:
        self.request.getfixturevalue("stimuli")
        return self.request.getfixturevalue("registry")

    def write(self, name: str, text: str | bytes) -> Path:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text, encoding="utf-8")
        return path

    def meta_data(self, kind: str = "neural") -> dict:
        source = {"neural": self.experiment.neural_meta, "stimuli": self.experiment.stimuli_meta}[kind]
        return yaml.safe_load(source.read_text())

    def meta(self, kind: str = "neural", **changes) -> Path:
        return self.write(f"{kind}.yaml", yaml.safe_dump({**self.meta_data(kind), **changes}, sort_keys=False))

    def meta_text(self, kind: str = "neural", extra: str = "") -> Path:
        return self.write(f"{kind}.yaml", yaml.safe_dump(self.meta_data(kind), sort_keys=False) + extra)

    def register_assembly(self, meta: Path | None = None, source: Path | None = None) -> list:
        source = source or self.experiment.neural
        return ["--registry", self.registry.root, "register", "assembly", source, "--meta", meta or self.experiment.neural_meta]

    def register_stimuli(self, table: Path | None = None, meta: Path | None = None) -> list:
        e = self.experiment
        args = ["register", "stimuli", e.stimuli_dir, "--table", table or e.table, "--meta", meta or e.stimuli_meta]
        return ["--registry", self.registry.root, *args]

    def table_with_ids(self, ids: dict[int, str]) -> Path:
        rows = pd.read_csv(self.experiment.table, dtype=str)
        for row, value in ids.items():
            rows.loc[row, "stimulus_id"] = value
        path = self.tmp / "table.csv"
        rows.to_csv(path, index=False)
        return path

    # ---- the scoring registry: specs, cards, predictions ---------------------------------------
    def base_spec(self) -> dict:
        return yaml.safe_load((self.bench.layout.benchmarks_dir / "Syn.IT-ridge.yaml").read_text())

    def spec(self, name: str, text: str | None = None, **changes) -> str:
        """Add spec `Hostile.<name>` (removed after the test); its text, or Syn.IT-ridge with changes."""
        benchmark_id = f"{HOSTILE}.{name}"
        if text is None:
            data = {**self.base_spec(), **changes, "id": benchmark_id}
            text = yaml.safe_dump(data, sort_keys=False)
        (self.bench.layout.benchmarks_dir / f"{benchmark_id}.yaml").write_text(text, encoding="utf-8")
        return benchmark_id

    def spec_text(self, name: str, extra: str = "", **changes) -> str:
        data = {**self.base_spec(), **changes, "id": f"{HOSTILE}.{name}"}
        return yaml.safe_dump(data, sort_keys=False) + extra

    def card(self, text: str | None = None, model: str | None = None, **changes) -> Path:
        directory = self.tmp / "card"
        directory.mkdir(exist_ok=True)
        (directory / "model.py").write_text(model if model is not None else (CONVNET.parent / "model.py").read_text())
        if text is None:
            text = yaml.safe_dump({**yaml.safe_load(CONVNET.read_text()), **changes}, sort_keys=False)
        (directory / "card.yaml").write_text(text, encoding="utf-8")
        return directory / "card.yaml"

    def card_text(self, extra: str = "", **changes) -> str:
        return yaml.safe_dump({**yaml.safe_load(CONVNET.read_text()), **changes}, sort_keys=False) + extra

    def predictions(self, values: np.ndarray | None = None, ids: list[str] | None = None, name: str = "pred.nc") -> Path:
        ids = ids if ids is not None else STIMULI
        values = values if values is not None else np.random.default_rng(0).standard_normal((len(ids), 30))
        features = xr.DataArray(
            values,
            dims=("presentation", "neuroid"),
            coords={"stimulus_id": ("presentation", ids), "neuroid_id": ("neuroid", [f"u{k}" for k in range(values.shape[1])])},
            name="responses",
        )
        path = self.tmp / name
        features.to_netcdf(path)
        return path

    def score(self, benchmark: str, *extra, model: Path | None = None, predictions: Path | None = None) -> list:
        subject = (
            ["--model", model, "--device", "cpu"] if model is not None else ["--predictions", predictions or self.predictions()]
        )
        return ["--registry", self.bench.root, "score", "-b", benchmark, *subject, *extra]

    def benchmarks(self) -> list:
        return ["--registry", self.bench.root, "benchmarks"]

    def fifo(self, name: str) -> Path:
        path = self.tmp / name
        os.mkfifo(path)
        return path


@pytest.fixture
def env(request, tmp_path, bench) -> Iterator[Env]:
    work = tmp_path / "case"
    work.mkdir()
    yield Env(request, work, bench)
    for path in bench.layout.benchmarks_dir.glob(f"{HOSTILE}.*.yaml"):
        path.unlink()


@contextlib.contextmanager
def unblocking_pipes(directory: Path, seconds: float) -> Iterator[list[Path]]:
    """A command that reads a named pipe without a writer blocks in open() (in C, where no signal gets
    it out). After `seconds`, open every pipe under `directory` for writing without blocking and close
    it: a blocked reader then sees end-of-file and the case fails instead of stopping the suite. The
    pipes that had to be unblocked are listed."""
    unblocked: list[Path] = []
    done = threading.Event()

    def writer() -> None:
        if done.wait(seconds):
            return
        while not done.wait(0.2):
            for pipe in (p for p in directory.rglob("*") if p.is_fifo()):
                try:
                    os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
                    unblocked.append(pipe)
                except OSError:  # no reader waiting on it
                    pass

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        yield unblocked
    finally:
        done.set()
        thread.join()


def assert_refused(result, pattern: str, *names: str) -> str:
    """Exit 2, 'Error: ... Fix: ...' on stderr, no traceback; the message matches `pattern` and names
    each of `names` (a file, a field)."""
    output = " ".join(result.stderr.split())
    assert result.exit_code == 2, (result.exit_code, result.output[-3000:])
    assert "Traceback" not in result.output
    assert "Error: " in output, output
    message = output[output.index("Error: ") :]
    assert re.search(pattern, message), message
    for name in names:
        assert name in message, (name, message)
    assert "Fix: " in message, message
    return message


Case = tuple[Callable[[Env], list], str, tuple[str, ...]]


def run_case(cli, env: Env, case: Case) -> str:
    build, pattern, names = case
    args = build(env)
    with unblocking_pipes(env.tmp, 20) as unblocked:
        result = cli(*args)
    assert not unblocked, f"the command hung reading {unblocked}"
    return assert_refused(result, pattern, *names)


# ---- YAML: aliases, depth, duplicate keys, size --------------------------------------------------


def alias_bomb(levels: int = 6, width: int = 9) -> str:
    """Billion laughs: each level repeats the previous one `width` times (here ~9^6 leaves; the
    issue's 800-byte file had 9 levels)."""
    lines = [f"lol0: &lol0 [{', '.join(['lol'] * width)}]"]
    lines += [f"lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def deep(depth: int = 50_000) -> str:
    return "[" * depth + "]" * depth


def _alias_in_metadata(e: Env) -> list:
    return e.register_assembly(e.meta_text(extra=alias_bomb()))


def _alias_in_spec_score(e: Env) -> list:
    text = alias_bomb() + e.spec_text("bomb").replace("stratification_coord: object_name", "stratification_coord: *lol5")
    return e.score(e.spec("bomb", text))


def _alias_in_spec_listing(e: Env) -> list:
    e.spec("bomb", alias_bomb() + e.spec_text("bomb"))
    return e.benchmarks()


def _anchor_in_card(e: Env) -> list:
    text = e.card_text().replace("layers:", "layers: &layers")
    return e.score("Syn.IT-ridge", model=e.card(text))


def _deep_spec_listing(e: Env) -> list:
    e.spec("deep", e.spec_text("deep", extra=f"parent: {deep()}\n"))
    return e.benchmarks()


def _deep_metadata(e: Env) -> list:
    return e.register_assembly(e.meta_text(extra=f"ceiling: {deep()}\n"))


def _duplicate_key_spec(e: Env) -> list:
    e.spec("dup", e.spec_text("dup", extra="weight: 2\nweight: 0.5\n"))
    return e.benchmarks()


def _duplicate_key_metadata(e: Env) -> list:
    text = yaml.safe_dump(e.meta_data(), sort_keys=False).replace(
        "  revision: bsr-synthetic-v1\n", "  revision: bsr-synthetic-v1\n  source: https://elsewhere.example\n"
    )
    return e.register_assembly(e.write("dup.yaml", text))


def _duplicate_key_card(e: Env) -> list:
    text = e.card_text().replace("  IT: stage4\n", "  IT: stage4\n  IT: stage1\n")
    return e.score("Syn.IT-ridge", model=e.card(text))


def _oversized_metadata(e: Env) -> list:
    return e.register_assembly(e.meta(description="x" * (2 << 20)))


YAML_CASES: dict[str, Case] = {
    "alias bomb in metadata": (_alias_in_metadata, r"anchors and aliases .*are not allowed", ("neural.yaml", "'lol0'")),
    "alias bomb in a spec (score)": (_alias_in_spec_score, r"anchors and aliases .*are not allowed", ("Hostile.bomb.yaml",)),
    "alias bomb in a spec (benchmarks)": (
        _alias_in_spec_listing,
        r"anchors and aliases .*are not allowed",
        ("Hostile.bomb.yaml",),
    ),
    "anchor in a card": (_anchor_in_card, r"anchors and aliases .*are not allowed", ("card.yaml", "field 'layers'")),
    "spec nested 50,000 deep (benchmarks)": (_deep_spec_listing, r"nests deeper than 64 levels", ("Hostile.deep.yaml",)),
    "metadata nested 50,000 deep": (_deep_metadata, r"nests deeper than 64 levels", ("neural.yaml", "'ceiling")),
    "duplicate key in a spec": (
        _duplicate_key_spec,
        r"key 'weight' is given twice \(lines \d+ and \d+\)",
        ("Hostile.dup.yaml", "field 'weight'"),
    ),
    "duplicate nested key in metadata": (
        _duplicate_key_metadata,
        r"key 'source' is given twice",
        ("dup.yaml", "field 'provenance.source'"),
    ),
    "duplicate key in a card": (_duplicate_key_card, r"key 'IT' is given twice", ("card.yaml", "field 'layers.IT'")),
    "metadata file over 1 MiB": (_oversized_metadata, r"larger than the 1,048,576 bytes", ("neural.yaml",)),
}


@pytest.mark.parametrize("case", list(YAML_CASES))
def test_hostile_yaml_is_refused(case, cli, env):
    run_case(cli, env, YAML_CASES[case])


# ---- numbers: finite and bounded -----------------------------------------------------------------


def _bins(value) -> Callable[[Env], list]:
    return lambda e: e.register_assembly(e.meta(time_bins=value))


def _stimuli_degrees(e: Env) -> list:
    return e.register_stimuli(meta=e.meta("stimuli", visual_degrees=math.inf))


def _spec_change(name: str, **changes) -> Callable[[Env], list]:
    def build(e: Env) -> list:
        e.spec(name, **changes)
        return e.benchmarks()

    return build


def _procedure(**changes) -> dict:
    return {"region": "IT", "time_bins": [[70, 170]], "visual_degrees": 8, **changes}


def _params(**changes) -> dict:
    return {"name": "ridge", "params": {"stratification_coord": "object_name", **changes}}


def _spec_degrees_scored(value: float) -> Callable[[Env], list]:
    return lambda e: e.score(e.spec("degrees", procedure=_procedure(visual_degrees=value)), model=CONVNET)


def _card_change(**changes) -> Callable[[Env], list]:
    return lambda e: e.score("Syn.IT-ridge", model=e.card(**changes))


def _preprocessing(**changes) -> dict:
    return {**yaml.safe_load(CONVNET.read_text())["preprocessing"], **changes}


NUMBER_CASES: dict[str, Case] = {
    "inf in time bins (metadata)": (_bins([[70, math.inf]]), r"finite", ("neural.yaml", "time_bins")),
    "nan in time bins (metadata)": (_bins([[math.nan, 170]]), r"finite", ("neural.yaml", "time_bins")),
    "duplicated time bin (metadata)": (
        _bins([[70, 170], [70, 170]]),
        r"time bin \[70, 170\] is listed twice",
        ("neural.yaml", "time_bins"),
    ),
    "inf visual_degrees (stimulus metadata)": (_stimuli_degrees, r"visual_degrees", ("stimuli.yaml",)),
    "inf visual_degrees (spec)": (
        _spec_degrees_scored(math.inf),
        r"finite",
        ("Hostile.degrees.yaml", "procedure.visual_degrees"),
    ),
    "visual_degrees 1e-6 (spec)": (_spec_degrees_scored(1e-6), r"visual_degrees", ("canvas",)),
    "inf visual_degrees (card)": (_card_change(visual_degrees=math.inf), r"finite", ("card.yaml", "field 'visual_degrees'")),
    "visual_degrees 1e-6 (card)": (_card_change(visual_degrees=1e-6), r"visual_degrees", ("less than one pixel",)),
    "image_size 100000 (card)": (
        _card_change(preprocessing=_preprocessing(image_size=100_000)),
        r"less than or equal to 4096",
        ("card.yaml", "field 'preprocessing.image_size'"),
    ),
    "std 0 (card)": (
        _card_change(preprocessing=_preprocessing(std=[0.0, 0.2, 0.2])),
        r"greater than 0",
        ("card.yaml", "preprocessing.std"),
    ),
    "weight .inf (spec)": (_spec_change("weight", weight=math.inf), r"finite", ("Hostile.weight.yaml", "field 'weight'")),
    "weight .nan (spec)": (_spec_change("weight", weight=math.nan), r"finite", ("Hostile.weight.yaml", "field 'weight'")),
    "pinned ceiling error .inf (spec)": (
        _spec_change("ceiling", ceiling={"value": 0.5, "error": math.inf}),
        r"finite",
        ("Hostile.ceiling.yaml", "ceiling.error"),
    ),
    "duplicated time bin (spec)": (
        _spec_change("bins", procedure=_procedure(time_bins=[[70, 170], [70, 170]])),
        r"time bin \[70, 170\) is listed twice",
        ("Hostile.bins.yaml", "procedure.time_bins"),
    ),
    "inf in time bins (spec)": (
        _spec_change("bins", procedure=_procedure(time_bins=[[70, math.inf]])),
        r"finite",
        ("Hostile.bins.yaml", "procedure.time_bins"),
    ),
    "metric n_splits 0": (
        _spec_change("splits", metric=_params(n_splits=0)),
        r"The 'n_splits' parameter of metric 'ridge' must be an int in \[2, 1000\]. Got 0 instead",
        ("Hostile.splits.yaml", "field 'metric'"),
    ),
    "metric n_splits .inf": (
        _spec_change("splits", metric=_params(n_splits=math.inf)),
        r"finite.*n_splits",
        ("Hostile.splits.yaml", "field 'metric.params'"),
    ),
    "metric n_splits 10**9": (
        _spec_change("splits", metric=_params(n_splits=10**9)),
        r"must be an int in \[2, 1000\]. Got 1000000000 instead",
        ("Hostile.splits.yaml",),
    ),
    "metric train_size 1.5": (
        _spec_change("train", metric=_params(train_size=1.5)),
        r"'train_size' parameter .* must be a number in \(0, 1\)",
        ("Hostile.train.yaml",),
    ),
    "metric random_state -1": (
        _spec_change("seed", metric=_params(random_state=-1)),
        r"'random_state' parameter .* must be an int in \[0, 4294967295\]",
        ("Hostile.seed.yaml",),
    ),
    "metric stratification_coord empty": (
        _spec_change("strat", metric=_params(stratification_coord="")),
        r"'stratification_coord' parameter .* must be a coordinate name or null",
        ("Hostile.strat.yaml",),
    ),
}


@pytest.mark.parametrize("case", list(NUMBER_CASES))
def test_non_finite_and_unbounded_numbers_are_refused(case, cli, env):
    run_case(cli, env, NUMBER_CASES[case])


# ---- identifiers: Unicode ------------------------------------------------------------------------

CAFE_NFC, CAFE_NFD = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")


def _ids(ids: dict[int, str]) -> Callable[[Env], list]:
    return lambda e: e.register_stimuli(e.table_with_ids(ids))


def _neuroid_id(value: str) -> Callable[[Env], list]:
    def build(e: Env) -> list:
        da = read_assembly_source(e.experiment.neural)
        ids = da["neuroid_id"].values.astype(object).copy()
        ids[2] = value
        path = e.tmp / "bad.nc"
        da.assign_coords(neuroid_id=("neuroid", ids)).drop_encoding().to_netcdf(path, engine="h5netcdf")
        return e.register_assembly(source=path)

    return build


ID_CASES: dict[str, Case] = {
    "café in NFC and NFD": (
        _ids({0: CAFE_NFC, 1: CAFE_NFD}),
        r"collide after Unicode NFC normalisation: 'café' \(table rows 2, 3\)",
        ("table.csv", "field 'stimulus_id'"),
    ),
    "newline in an id": (
        _ids({0: "syn\n0000"}),
        r"control, format or bidirectional characters.*U\+000A",
        ("table.csv", "field 'stimulus_id'"),
    ),
    "NUL in an id": (_ids({0: "syn\x000000"}), r"U\+0000", ("table.csv", "field 'stimulus_id'")),
    "right-to-left override in an id": (_ids({0: "syn\u202e0000"}), r"U\+202E", ("table.csv", "field 'stimulus_id'")),
    "zero-width space in an id": (_ids({0: "syn\u200b0000"}), r"U\+200B", ("table.csv", "field 'stimulus_id'")),
    "line separator in an id": (_ids({0: "syn\u20280000"}), r"U\+2028", ("table.csv", "field 'stimulus_id'")),
    "escape sequence in a neuroid_id": (_neuroid_id("n\x1b[31m"), r"U\+001B", ("bad.nc", "field 'neuroid_id'")),
}


@pytest.mark.parametrize("case", list(ID_CASES))
def test_hostile_identifiers_are_refused(case, cli, env):
    run_case(cli, env, ID_CASES[case])


# ---- escapes: paths named by files we did not write, --out, credentials --------------------------


def _catalogue(change: Callable[[dict], None]) -> Callable[[Env], list]:
    def build(e: Env) -> list:
        path = e.registry.layout.entry_path("Synthetic2026.images")
        entry = yaml.safe_load(path.read_text())
        change(entry["versions"][0])
        path.write_text(yaml.safe_dump(entry, sort_keys=False))
        return ["--registry", e.registry.root, "show", "Synthetic2026.images"]

    return build


def _set(key: str, value: str) -> Callable[[dict], None]:
    def change(version: dict) -> None:
        if key == "dvc.file":
            version["dvc"]["file"] = value
        else:
            version[key] = value

    return change


def _factory_outside(e: Env) -> list:
    e.write("model.py", (CONVNET.parent / "model.py").read_text())  # exists, beside the card's directory
    return e.score("Syn.IT-ridge", model=e.card(factory="../model.py:build"))


def _factory_absolute(e: Env) -> list:
    model = e.write("elsewhere/model.py", (CONVNET.parent / "model.py").read_text())
    return e.score("Syn.IT-ridge", model=e.card(factory=f"{model}:build"))


def _factory_symlink(e: Env) -> list:
    model = e.write("elsewhere/model.py", (CONVNET.parent / "model.py").read_text())
    card = e.card(factory="link.py:build")
    os.symlink(model, card.parent / "link.py")
    return e.score("Syn.IT-ridge", model=card)


def _weights_outside(e: Env) -> list:
    import torch

    weights = e.tmp / "weights.pt"
    torch.save({}, weights)
    return e.score("Syn.IT-ridge", model=e.card(weights="../weights.pt"))


def _out_directory(e: Env) -> list:
    (e.tmp / "records").mkdir()
    return e.score("Syn.IT-ridge", "--out", e.tmp / "records")


def _out_symlink(e: Env) -> list:
    target = e.write("precious.json", "{}")
    os.symlink(target, e.tmp / "link.json")
    return e.score("Syn.IT-ridge", "--out", e.tmp / "link.json")


def _out_device(e: Env) -> list:
    node = e.tmp / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # as root: a copy of /dev/null, never the real one
    except PermissionError:
        node = Path("/dev/null")  # not root: a device this user cannot replace even if the check failed
    return e.score("Syn.IT-ridge", "--out", node)


def _out_fifo(e: Env) -> list:
    return e.score("Syn.IT-ridge", "--out", e.fifo("out.json"))


def _remote(url: str, endpoint: str | None = None) -> Callable[[Env], list]:
    def build(e: Env) -> list:
        args = ["--registry", e.registry.root, "remote", "add", "s3", url]
        return args + (["--endpoint-url", endpoint] if endpoint else [])

    return build


ESCAPE_CASES: dict[str, Case] = {
    "catalogue path absolute": (_catalogue(_set("path", "/etc")), r"absolute", ("Synthetic2026.images.yaml", "versions.0.path")),
    "catalogue path with ..": (
        _catalogue(_set("path", "stimulus_sets/../../outside.zarr")),
        r"'\.\.'",
        ("Synthetic2026.images.yaml", "versions.0.path"),
    ),
    "catalogue path outside the data directories": (
        _catalogue(_set("path", ".git/objects.zarr")),
        r"under assemblies/ or stimulus_sets/",
        ("Synthetic2026.images.yaml", "versions.0.path"),
    ),
    "catalogue path of another kind": (
        _catalogue(_set("path", "assemblies/Synthetic2026.images/abc.zarr")),
        r"stimulus_sets/",
        ("Synthetic2026.images.yaml",),
    ),
    "catalogue .dvc file elsewhere": (
        _catalogue(_set("dvc.file", "stimulus_sets/Synthetic2026.images/other.zarr.dvc")),
        r"the store's path plus '\.dvc'",
        ("Synthetic2026.images.yaml", "versions.0"),
    ),
    "catalogue .dvc file absolute": (
        _catalogue(_set("dvc.file", "/tmp/evil.dvc")),
        r"absolute",
        ("Synthetic2026.images.yaml", "versions.0.dvc.file"),
    ),
    "card factory climbs out": (_factory_outside, r"outside the card's directory", ("card.yaml", "field 'factory'")),
    "card factory absolute": (_factory_absolute, r"outside the card's directory|absolute", ("card.yaml", "field 'factory'")),
    "card factory symlinked out": (_factory_symlink, r"outside the card's directory", ("card.yaml", "field 'factory'")),
    "card weights climb out": (_weights_outside, r"outside the card's directory", ("card.yaml", "field 'weights'")),
    "--out a directory": (_out_directory, r"is a directory", ("field 'out'",)),
    "--out a symlink": (_out_symlink, r"is a symbolic link", ("field 'out'",)),
    "--out a device node": (_out_device, r"not a regular file", ("field 'out'",)),
    "--out a named pipe": (_out_fifo, r"not a regular file", ("field 'out'",)),
    "remote endpoint with credentials": (
        _remote("s3://bucket/registry", f"http://AKIAEXAMPLE:{SECRET}@127.0.0.1:9000"),
        r"embeds credentials",
        ("field 'endpoint_url'", "AWS_ACCESS_KEY_ID"),
    ),
    "remote URL with credentials": (
        _remote(f"s3://AKIAEXAMPLE:{SECRET}@bucket/registry"),
        r"embeds credentials",
        ("field 'url'", "AWS_SECRET_ACCESS_KEY"),
    ),
    "remote URL with a signed query": (
        _remote("s3://bucket/registry", f"https://s3.example.org/?X-Amz-Credential={SECRET}"),
        r"embeds credentials",
        ("field 'endpoint_url'",),
    ),
}


@pytest.mark.parametrize("case", list(ESCAPE_CASES))
def test_escapes_are_refused(case, cli, env):
    message = run_case(cli, env, ESCAPE_CASES[case])
    assert SECRET not in message
    if case.startswith("remote"):
        config = env.registry.root / ".dvc" / "config"
        assert SECRET not in config.read_text() and "AKIAEXAMPLE" not in config.read_text()
    if case == "--out a symlink":
        assert (env.tmp / "precious.json").read_text() == "{}" and (env.tmp / "link.json").is_symlink()


# ---- files and code: pipes, bombs, exits, degenerate predictions ---------------------------------


def _fifo_assembly(e: Env) -> list:
    return e.register_assembly(source=e.fifo("neural.nc"))


def _fifo_predictions(e: Env) -> list:
    return e.score("Syn.IT-ridge", predictions=e.fifo("pred.nc"))


def _fifo_metadata(e: Env) -> list:
    return e.register_assembly(meta=e.fifo("neural.yaml"))


def _huge_png(e: Env) -> list:
    from PIL import Image

    Image.new("1", (11_000, 11_000)).save(e.experiment.stimuli_dir / "huge.png")  # 121 megapixels, ~20 kB
    rows = pd.read_csv(e.experiment.table, dtype=str)
    rows.loc[0, "filename"] = "huge.png"
    table = e.tmp / "table.csv"
    rows.to_csv(table, index=False)
    return e.register_stimuli(table)


def _exiting_factory(e: Env) -> list:
    return e.score("Syn.IT-ridge", model=e.card(model="import sys\n\n\ndef build():\n    sys.exit(0)\n"))


def _exiting_import(e: Env) -> list:
    return e.score("Syn.IT-ridge", model=e.card(model="import sys\n\nsys.exit(3)\n\n\ndef build():\n    pass\n"))


def _no_features(e: Env) -> list:
    return e.score("Syn.IT-ridge", predictions=e.predictions(np.zeros((40, 0))))


def _no_stimuli(e: Env) -> list:
    return e.score("Syn.IT-ridge", predictions=e.predictions(np.zeros((0, 30)), ids=[]))


def _twice_neural(e: Env) -> list:
    values = np.random.default_rng(1).standard_normal((41, 30))
    return e.score("Syn.IT-ridge", predictions=e.predictions(values, [*STIMULI, STIMULI[3]]))


def _twice_choices(e: Env) -> list:
    ids = [*STIMULI, STIMULI[0]]
    choices = xr.DataArray(
        np.array(["disk"] * 40 + ["cross"], dtype=object), dims=("presentation",), coords={"stimulus_id": ("presentation", ids)}
    )
    path = e.tmp / "choices.nc"
    choices.to_dataset(name="choice").to_netcdf(path)
    return e.score("Syn.objects-accuracy", predictions=path)


def _twice_rdm(e: Env) -> list:
    ids = [*STIMULI, STIMULI[0]]
    rdm = xr.DataArray(np.ones((41, 41)), dims=("stimulus_a", "stimulus_b"), coords={"stimulus_a": ids, "stimulus_b": ids})
    path = e.tmp / "rdm.nc"
    rdm.to_dataset(name="rdm").to_netcdf(path)
    return e.score("Syn.IT-rsa", predictions=path)


def _empty_layer(e: Env) -> list:
    return e.score("Syn.IT-ridge", model=e.card(layers={"IT": ""}))


def _blank_readout(e: Env) -> list:
    return e.score("Syn.objects-accuracy", model=e.card(readout_layer="  "))


def _misspelt_stratification(e: Env) -> list:
    return e.score(e.spec("strat", metric=_params(stratification_coord="objet_name")))


FILE_CASES: dict[str, Case] = {
    "named pipe as an assembly": (_fifo_assembly, r"not a regular file or a directory store", ("neural.nc",)),
    "named pipe as predictions": (_fifo_predictions, r"not a regular file or a directory store", ("pred.nc",)),
    "named pipe as metadata": (_fifo_metadata, r"not a regular file", ("neural.yaml",)),
    "121-megapixel PNG": (
        _huge_png,
        r"11000 × 11000 = 121,000,000 pixels, more than the 33,554,432",
        ("huge.png", "field 'filename'"),
    ),
    # the field is 'factory' (test_a_factory_that_exits_names_the_factory); through `score`, torch_model.py
    # relabels any error of building the network as 'layers' (reported to its owner)
    "factory calls sys.exit(0)": (_exiting_factory, r"model.py:build raised SystemExit: 0", ("card.yaml",)),
    "factory module exits on import": (_exiting_import, r"importing .*model.py failed: SystemExit: 3", ("card.yaml",)),
    "predictions with 0 features": (_no_features, r"dimension 'neuroid' has size 0", ("pred.nc", "field 'neuroid'")),
    "predictions with 0 stimuli": (_no_stimuli, r"dimension 'presentation' has size 0", ("pred.nc", "field 'presentation'")),
    "a stimulus twice in predictions (neural)": (_twice_neural, r"list 1 stimuli more than once: 'syn0003'", ("stimulus_id",)),
    "a stimulus twice in predictions (choices)": (_twice_choices, r"list 1 stimuli more than once: 'syn0000'", ("stimulus_id",)),
    "a stimulus twice in predictions (RDM)": (_twice_rdm, r"more than once: 'syn0000'", ("stimulus_a",)),
    "empty layer name": (_empty_layer, r"layer name.*empty", ("card.yaml", "field 'layers'")),
    "blank readout layer": (_blank_readout, r"layer name.*empty", ("card.yaml", "field 'readout_layer'")),
    "misspelt stratification_coord": (
        _misspelt_stratification,
        r"no coordinate 'objet_name'.*they have .*object_name.*Did you mean 'object_name'",
        ("field 'metric.params.stratification_coord'",),
    ),
}


@pytest.mark.parametrize("case", list(FILE_CASES))
def test_hostile_files_and_code_are_refused(case, cli, env):
    run_case(cli, env, FILE_CASES[case])


@pytest.mark.parametrize("model", ["import sys\n\n\ndef build():\n    sys.exit(0)\n", "import sys\n\nsys.exit(3)\n"])
def test_a_factory_that_exits_names_the_factory(env, model):
    """sys.exit() in the user's code would end `bsr score` with exit 0 and no record."""
    from brainscore_registry.errors import UserInputError
    from brainscore_registry.models.model_card import load_card

    with pytest.raises(UserInputError, match="SystemExit") as raised:
        load_card(env.card(model=model)).build()
    assert raised.value.field == "factory" and raised.value.exit_code == 2


def test_at_least_33_cases():
    assert sum(map(len, (YAML_CASES, NUMBER_CASES, ID_CASES, ESCAPE_CASES, FILE_CASES))) >= 33


# ---- documented normalisations -------------------------------------------------------------------


def test_ids_are_normalised_to_nfc(cli, env):
    """An id typed in NFD (as macOS file names give them) is stored in NFC, and an assembly naming it in
    either form is matched to it: one id, one spelling, whatever the keyboard."""
    from brainscore_registry import load_stimulus_set

    result = cli(*env.register_stimuli(env.table_with_ids({0: CAFE_NFD})))
    assert result.exit_code == 0, result.output
    stimuli = load_stimulus_set("Synthetic2026.images", registry=env.registry)
    assert CAFE_NFC in stimuli.stimulus_ids and CAFE_NFD not in stimuli.stimulus_ids
    da = read_assembly_source(env.experiment.neural)
    ids = da["stimulus_id"].values.astype(object).copy()
    ids[ids == "syn0000"] = CAFE_NFD
    path = env.tmp / "nfd.nc"
    da.assign_coords(stimulus_id=("presentation", ids)).drop_encoding().to_netcdf(path, engine="h5netcdf")
    result = cli(*env.register_assembly(source=path))
    assert result.exit_code == 0, result.output
    from brainscore_registry import load_assembly

    stored = load_assembly("Synthetic2026.V4IT", registry=env.registry)
    assert CAFE_NFC in set(stored["stimulus_id"].values) and CAFE_NFD not in set(stored["stimulus_id"].values)


def test_out_through_a_symlink_only_when_asked(env):
    """An atomic rename would replace a symlink at --out by a file; the library writes through it only
    with follow_symlinks=True (the CLI's flag), and then replaces the link's target."""
    from brainscore_registry.errors import UserInputError
    from brainscore_registry.models.predictions import Predictions
    from brainscore_registry.paths import check_output_file
    from brainscore_registry.runs.session import score_benchmarks

    target = env.write("records/target.json", "{}")
    link = env.tmp / "link.json"
    os.symlink(target, link)
    with pytest.raises(UserInputError, match="is a symbolic link"):
        check_output_file(link)
    assert check_output_file(link, follow_symlinks=True) == target.resolve()
    [run] = score_benchmarks(
        env.bench, ["Syn.IT-ridge"], predictions=Predictions(env.predictions()), out=link, follow_symlinks=True
    )
    assert link.is_symlink() and '"signature"' in target.read_text() and run.path == target.resolve()


def test_library_bounds_are_exported():
    """The bounds the README's Errors section documents are the ones the code applies."""
    from brainscore_registry.data.metadata import MAX_YAML_BYTES, MAX_YAML_DEPTH
    from brainscore_registry.data.stimuli import MAX_IMAGE_PIXELS
    from brainscore_registry.models.model_card import MAX_IMAGE_SIZE

    assert (MAX_YAML_BYTES, MAX_YAML_DEPTH, MAX_IMAGE_PIXELS, MAX_IMAGE_SIZE) == (1 << 20, 64, 1 << 25, 4096)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    errors = readme[readme.index("## Errors") :]
    errors = errors[: errors.index("\n## ", 3)]
    for text in ("1 MiB", "64 levels", "33,554,432", "4096", "NFC", "(0, 180]"):
        assert text in errors, text


def test_stratification_default_may_be_absent_a_named_coordinate_may_not():
    """The reference falls back to plain shuffled splits when the default `object_name` is absent (kept,
    so scores stay the reference's); any coordinate named otherwise must exist, or it is a misspelling."""
    from brainscore_registry.errors import UserInputError
    from brainscore_registry.metrics import load_metric

    rng = np.random.default_rng(0)
    ids = [f"s{i:02d}" for i in range(40)]
    target = xr.DataArray(
        rng.standard_normal((40, 5)),
        dims=("presentation", "neuroid"),
        coords={"stimulus_id": ("presentation", ids), "neuroid_id": ("neuroid", [f"n{j}" for j in range(5)])},
    )
    source = xr.DataArray(
        target.values @ rng.standard_normal((5, 30)) + rng.standard_normal((40, 30)),
        dims=("presentation", "neuroid"),
        coords={"stimulus_id": ("presentation", ids), "neuroid_id": ("neuroid", [f"f{k}" for k in range(30)])},
    )
    default = load_metric("ridge")(source, target)
    plain = load_metric("ridge", stratification_coord=None)(source, target)
    assert default.value == plain.value
    with pytest.raises(UserInputError, match=r"no coordinate 'objet_name' of the data; they have stimulus_id"):
        load_metric("ridge", stratification_coord="objet_name")(source, target)
