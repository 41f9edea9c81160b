"""The published datasets: rebuilding from the raw files gives exactly the pinned versions, and the
papers' figures come out of the platform (prediction-only scoring of the CNN decisions stored in the
Geirhos CSVs, the monkey-vs-human IT RDM correlation, the Cowley ceiling). Each example model gets a
score on every benchmark.

These need the raw data (`../shared/data` next to the repository, or $BSR_RAW_DATA), which may never
be committed; without them the module is skipped, saying so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import xarray as xr

from brainscore_registry.benchmarks.specs import list_specs
from brainscore_registry.packaging import default_raw_root
from brainscore_registry.packaging.build import PACKAGES, build, raw_available
from brainscore_registry.packaging.cowley2023 import CEILING_BOUNDS
from brainscore_registry.packaging.geirhos2019 import cnn_predictions
from brainscore_registry.packaging.kriegeskorte2008 import IDS, figure_rdms
from brainscore_registry.store.registry import Registry

from .scoring_setup import CONVNET, WIDENET

REPOSITORY = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not raw_available(), reason=f"raw data not found at {default_raw_root()} (set BSR_RAW_DATA)")


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    registry = Registry.init(tmp_path_factory.mktemp("rebuilt") / "registry")
    versions = {}
    for name in PACKAGES:
        versions.update(build(name, registry)[0])
    return registry, versions


def test_rebuilding_from_the_raw_files_gives_the_pinned_versions(rebuilt):
    registry, versions = rebuilt
    pinned = Registry(REPOSITORY)
    for identifier, version in versions.items():
        entry = pinned.catalog.read_entry(identifier)
        assert entry is not None, f"{identifier} is not in the repository's catalogue"
        assert version in [v.version for v in entry.versions], f"{identifier}: rebuilt {version}, pinned {entry.latest.version}"
    ours = {s.id: s.model_dump() for s in list_specs(registry.root)}
    committed = {s.id: s.model_dump() for s in list_specs(REPOSITORY) if s.id in ours}
    assert ours == committed and len(ours) == 11


def test_a_clean_clone_rebuilds_its_pinned_data_without_changing_a_file(tmp_path):
    import subprocess

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPOSITORY), str(clone)], check=True)
    registry = Registry(clone)
    stored = registry.catalog.read_entry("Cowley2023.V4_session210325").latest
    assert not (clone / stored.path).exists()  # only the pins came with the clone
    versions, _ = build("cowley2023", registry)
    assert versions["Cowley2023.V4_session210325"] == stored.version and (clone / stored.path / "zarr.json").is_file()
    changed = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True, check=True).stdout
    assert changed == "", changed


def _score_predictions(cli, registry, benchmark: str, array: xr.DataArray, path: Path) -> dict:
    array.to_netcdf(path)
    result = cli("--registry", registry.root, "score", "-b", benchmark, "--predictions", path, "--json")
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    return {**row, "record_json": json.loads(Path(row["record"]).read_text())}


@pytest.mark.parametrize("network, expected", [("alexnet", 0.429), ("googlenet", 0.312), ("vgg", 0.172)])
def test_cnn_shape_biases_from_the_paper(cli, rebuilt, tmp_path, network, expected):
    registry, _ = rebuilt
    predictions = cnn_predictions(default_raw_root(), "cue_conflict", network)
    row = _score_predictions(cli, registry, "Geirhos2019.cue_conflict-shape_bias", predictions, tmp_path / f"{network}.nc")
    assert abs(row["raw"] - expected) <= 0.001
    ceiling = row["record_json"]["score"]["ceiling"]
    assert abs(ceiling["attrs"]["human_mean"] - 0.958) <= 0.005
    assert row["record_json"]["model"]["kind"] == "predictions" and row["record_json"]["model"]["predictions_sha256"]
    assert cli("--registry", registry.root, "verify", row["record"]).exit_code == 0
    again = cli("--registry", registry.root, "reproduce", row["record"], "--predictions", tmp_path / f"{network}.nc", "--json")
    assert again.exit_code == 0, again.output


def test_monkey_it_against_human_it(cli, rebuilt, tmp_path):
    registry, _ = rebuilt
    human = figure_rdms(default_raw_root())["hITvisStim_316vx"]
    rdm = xr.DataArray(human, dims=("stimulus_a", "stimulus_b"), coords={"stimulus_a": IDS, "stimulus_b": IDS}, name="similarity")
    row = _score_predictions(cli, registry, "Kriegeskorte2008.IT_monkey-rdm", rdm, tmp_path / "hIT.nc")
    assert abs(row["raw"] - 0.44) <= 0.01


def test_cowley_ceiling_within_the_documented_bounds(rebuilt):
    from brainscore_registry.benchmarks.scoring import ceiling_for, load_benchmark_data, target_of
    from brainscore_registry.benchmarks.specs import find_spec

    registry, _ = rebuilt
    spec = find_spec(registry.root, "Cowley2023.V4-pls")
    data = load_benchmark_data(spec, registry)
    ceiling = ceiling_for(spec, target_of(data))
    assert CEILING_BOUNDS[0] <= ceiling.value <= CEILING_BOUNDS[1]
    assert data.assembly.sizes["presentation"] == 4840  # 640 images × 6-10 valid repetitions (NaN slots dropped)


def test_each_example_model_scores_on_every_benchmark(cli, rebuilt):
    registry, _ = rebuilt
    benchmarks = [s.id for s in list_specs(registry.root)]
    for card in (CONVNET, WIDENET):
        args = ["--registry", registry.root, "score", "-m", card, "--device", "cpu", "--json"]
        for b in benchmarks:
            args += ["-b", b]
        result = cli(*args)
        assert result.exit_code == 0, result.output
        rows = json.loads(result.stdout)
        assert [r["benchmark"] for r in rows] == benchmarks
        assert all(r["score"] == r["score"] for r in rows)  # a number, not NaN
