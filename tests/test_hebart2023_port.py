"""The Hebart2023 (THINGS odd-one-out) port in both forms, against an independent oracle.

A registry holds a small synthetic Hebart-shaped dataset (examples/benchmarks/hebart2023/make_synthetic.py:
60 stimuli, 2000 triplets, the human choice always the third stimulus), the lab's plugin
(registry/metrics/hebart2023_odd_one_out.py) and four specs (plugin / built-in `odd_one_out`, × dot /
cosine) written by the example's install.py. The same features are scored with every spec; raw and
ceiled scores must equal each other and the oracle below, a plain loop over triplets written from the
reference's description (brainscore_vision 2.4.2 `OddOneOut.calculate_choices`, `Hebart2023Match`):
similarities [s(1,2), s(1,3), s(2,3)], the first maximum is the most similar pair, the odd one is
image 3 − argmax, correct when it is the chosen one; ceiled = clip((raw − 1/3) / (0.6767 − 1/3), 0, 1).
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from brainscore_registry import UserInputError
from brainscore_registry.benchmarks.scoring import evaluate, load_benchmark_data
from brainscore_registry.benchmarks.specs import find_spec, record_versions
from brainscore_registry.metrics import load_metric
from brainscore_registry.models.predictions import Predictions
from brainscore_registry.store.registration import register_assembly, register_stimulus_set
from brainscore_registry.store.registry import Registry

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "benchmarks" / "hebart2023"
CEILING, CHANCE = 0.6767, 1 / 3
N_STIMULI, N_TRIPLETS = 60, 2000
FORMS = ("plugin", "vocabulary")
SIMILARITIES = ("dot", "cosine")


def _example(name: str):
    spec = importlib.util.spec_from_file_location(f"hebart2023_{name}", EXAMPLE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _benchmark_id(form: str, similarity: str) -> str:
    return f"Hebart2023.odd_one_out{'_cosine' if similarity == 'cosine' else ''}-{form}"


@pytest.fixture(scope="module")
def port(tmp_path_factory):
    """(registry, raw data directory, assembly pin): the synthetic data registered, plugin and specs installed."""
    base = tmp_path_factory.mktemp("hebart")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BSR_HOME", str(base / "bsr_home"))
        raw = base / "raw"
        _example("make_synthetic").write(raw, N_STIMULI, N_TRIPLETS, seed=3)
        registry = Registry.init(base / "registry")
        register_stimulus_set(raw / "images", raw / "stimuli.csv", raw / "stimuli.yaml", registry=registry)
        assembly = str(register_assembly(raw / "trials.nc", raw / "trials.yaml", registry=registry).version)
        install = _example("install")
        for similarity in SIMILARITIES:
            install.install(registry.root, assembly, similarity)
        record_versions(registry.root)
    return registry, raw, assembly


# ---- the oracle: plain Python over triplets ----------------------------------------------------------


def oracle(features: xr.DataArray, trials: xr.DataArray, similarity: str) -> tuple[float, float]:
    """(raw, ceiled) by a loop over the trials, following the reference's description."""
    vectors = {str(s): [float(v) for v in row] for s, row in zip(features["stimulus_id"].values, features.values)}

    def similar(a: str, b: str) -> float:
        x, y = vectors[a], vectors[b]
        dot = sum(p * q for p, q in zip(x, y))
        if similarity == "dot":
            return dot
        return dot / (math.sqrt(sum(p * p for p in x)) * math.sqrt(sum(q * q for q in y)))

    correct = 0
    triplets = zip(*(trials[c].values for c in ("stimulus_id", "stimulus_id_2", "stimulus_id_3")), trials.values)
    for image_1, image_2, image_3, chosen in triplets:
        pairs = [similar(image_1, image_2), similar(image_1, image_3), similar(image_2, image_3)]
        best = 0
        for index in (1, 2):
            if pairs[index] > pairs[best]:  # strictly greater: a tie keeps the earlier pair, as np.argmax
                best = index
        odd = (image_1, image_2, image_3)[2 - best]  # pair (1,2) -> image 3, (1,3) -> image 2, (2,3) -> image 1
        correct += str(odd) == str(chosen)
    raw = correct / len(trials)
    return raw, min(max((raw - CHANCE) / (CEILING - CHANCE), 0.0), 1.0)


def _tied_features(ids: np.ndarray) -> xr.DataArray:
    """Small integers in 4 dimensions: dot products are exact and many triplets tie, so the tie rule shows."""
    rng = np.random.default_rng(11)
    values = rng.integers(-1, 3, size=(len(ids), 4)).astype(np.float64)
    values[~values.any(axis=1), 0] = 1.0  # no all-zero row: cosine is defined everywhere
    return _features(values, ids)


def _features(values: np.ndarray, ids) -> xr.DataArray:
    return xr.DataArray(
        values,
        dims=("presentation", "neuroid"),
        coords={
            "stimulus_id": ("presentation", np.asarray(ids, dtype=object)),
            "neuroid_id": ("neuroid", np.arange(values.shape[1])),
        },
    )


def _feature_sets(raw: Path) -> dict[str, xr.DataArray]:
    files = {stem: Predictions(raw / f"features_{stem}.nc").array for stem in ("planted", "noisy", "random")}
    return {**files, "tied": _tied_features(files["planted"]["stimulus_id"].values)}


def _score(registry: Registry, benchmark_id: str, features: xr.DataArray):
    spec = find_spec(registry.root, benchmark_id)
    return evaluate(load_benchmark_data(spec, registry), features)


# ---- both forms agree with each other and with the oracle -----------------------------------------------


def test_both_forms_equal_the_oracle(port):
    registry, raw, _ = port
    trials = load_benchmark_data(find_spec(registry.root, _benchmark_id("vocabulary", "dot")), registry).assembly
    assert trials.sizes["presentation"] == N_TRIPLETS and (trials.values == trials["stimulus_id_3"].values).all()
    for name, features in _feature_sets(raw).items():
        for similarity in SIMILARITIES:
            expected_raw, expected_ceiled = oracle(features, trials, similarity)
            scores = {form: _score(registry, _benchmark_id(form, similarity), features) for form in FORMS}
            for form, score in scores.items():
                where = f"{form}, {similarity}, {name} features"
                assert score.raw.value == pytest.approx(expected_raw, abs=1e-9), where
                assert score.value == pytest.approx(expected_ceiled, abs=1e-9), where
                assert score.ceiling.value == CEILING and score.normalization == "chance_corrected_over_ceiling"
                assert score.raw.attrs["similarity"] == similarity and score.raw.attrs["trials"] == N_TRIPLETS, where
                assert score.raw.error == pytest.approx(math.sqrt(expected_raw * (1 - expected_raw) / N_TRIPLETS), abs=1e-12)
            plugin, vocabulary = scores["plugin"], scores["vocabulary"]
            assert plugin.raw.value == vocabulary.raw.value and plugin.value == vocabulary.value
            np.testing.assert_array_equal(plugin.raw.raw, vocabulary.raw.raw)  # the same 5 fold accuracies
            assert plugin.raw.raw.shape == (5, 1)


def test_the_planted_embedding_scores_as_designed(port):
    """Humans agree with the planted embedding ~65% of the time; unrelated features sit near chance."""
    registry, raw, _ = port
    features = _feature_sets(raw)
    planted = _score(registry, _benchmark_id("vocabulary", "dot"), features["planted"]).raw.value
    random = _score(registry, _benchmark_id("vocabulary", "dot"), features["random"]).raw.value
    assert 0.6 < planted < 0.7 and abs(random - CHANCE) < 0.05


def test_ties_go_to_the_earlier_pair(port):
    """The tie-heavy features really contain ties, and resolving them the other way changes the score."""
    registry, raw, _ = port
    features = _feature_sets(raw)["tied"]
    trials = load_benchmark_data(find_spec(registry.root, _benchmark_id("vocabulary", "dot")), registry).assembly
    rows = {s: v for s, v in zip(features["stimulus_id"].values, features.values)}
    ids = [trials[c].values for c in ("stimulus_id", "stimulus_id_2", "stimulus_id_3")]
    a, b, c = (np.array([rows[s] for s in column]) for column in ids)
    pairs = np.stack([(a * b).sum(1), (a * c).sum(1), (b * c).sum(1)], axis=1)
    tied = (pairs == pairs.max(axis=1, keepdims=True)).sum(axis=1) > 1
    assert tied.sum() > 100
    last_max = 2 - np.argmax(pairs[:, ::-1], axis=1)  # the pair index of the last maximum
    odd_last = np.stack(ids, axis=1)[np.arange(len(tied)), 2 - last_max]
    last_rule = float((odd_last == trials.values).mean())
    score = _score(registry, _benchmark_id("vocabulary", "dot"), features).raw.value
    assert score != last_rule and score == oracle(features, trials, "dot")[0]


@pytest.mark.parametrize("form", FORMS)
def test_which_pair_maps_to_which_odd_one(port, form):
    """Three hand-made triplets: the most similar pair (1,2), (1,3), (2,3) makes image 3, 2, 1 the odd one."""
    features = _features(np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]]), ["a", "b", "c"])
    triplets = [("a", "b", "c"), ("a", "c", "b"), ("c", "a", "b")]  # odd one: c each time, at position 3, 2, 1
    trials = xr.DataArray(
        np.array(["c", "c", "c"], dtype=object),
        dims=("presentation",),
        coords={
            name: ("presentation", [t[p] for t in triplets])
            for p, name in enumerate(("stimulus_id", "stimulus_id_2", "stimulus_id_3"))
        },
    )
    metric = _example("hebart2023_odd_one_out").METRIC() if form == "plugin" else load_metric("odd_one_out")
    assert metric(features, trials).value == 1.0
    assert metric(features, trials.copy(data=np.array(["a", "a", "a"], dtype=object))).value == 0.0


def test_a_gram_matrix_in_blocks_gives_the_same_numbers(port, monkeypatch):
    """Many stimuli: the built-in metric builds the Gram matrix a few rows at a time; nothing changes."""
    from brainscore_registry.metrics import odd_one_out

    registry, raw, _ = port
    trials = load_benchmark_data(find_spec(registry.root, _benchmark_id("vocabulary", "dot")), registry).assembly
    for similarity in SIMILARITIES:
        for features in _feature_sets(raw).values():
            whole = load_metric("odd_one_out", similarity=similarity)(features, trials)
            monkeypatch.setattr(odd_one_out, "BLOCK_ENTRIES", 7 * N_STIMULI)  # 9 blocks of 7 rows (the last of 4)
            heard = []
            metric = load_metric("odd_one_out", similarity=similarity)
            metric.progress = lambda stage, done, total: heard.append((stage, done, total))
            blocked = metric(features, trials)
            monkeypatch.undo()
            assert blocked.to_json() == whole.to_json()
            assert whole.value == oracle(features, trials, similarity)[0]
            assert heard[-1] == ("similarity blocks", 9, 9)


# ---- refusals -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
def test_a_triplet_stimulus_without_features_is_refused(port, form):
    registry, raw, _ = port
    features = _feature_sets(raw)["planted"]
    without = features.isel(presentation=features["stimulus_id"].values != "7")
    with pytest.raises(UserInputError, match="'7'") as error:
        _score(registry, _benchmark_id(form, "dot"), without)
    assert error.value.exit_code == 2 and error.value.field == "stimulus_id"
    assert "no model feature" in error.value.message or "no features for 1 stimuli" in error.value.message


def _write_spec(registry: Registry, form: str, similarity: str) -> str:
    """A copy of the dot spec with another similarity, under its own id; returns the id."""
    source = registry.root / "registry" / "benchmarks" / f"{_benchmark_id(form, 'dot')}.yaml"
    spec = yaml.safe_load(source.read_text())
    spec["id"] = f"Hebart2023.odd_one_out_bad-{form}"
    spec["metric"]["params"]["similarity"] = similarity
    (source.parent / f"{spec['id']}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return spec["id"]


def test_an_unknown_similarity_is_refused(cli, port):
    registry, raw, _ = port
    ids = [_write_spec(registry, form, "euclidean") for form in FORMS]
    try:
        # the built-in metric is checked when the spec is read: bsr refuses it with exit 2, naming the parameter
        result = cli("--registry", registry.root, "benchmark", "show", ids[1])
        assert result.exit_code == 2 and "similarity" in result.output and "euclidean" in result.output, result.output
        result = cli("--registry", registry.root, "score", "-b", ids[1], "--predictions", raw / "features_planted.nc")
        assert result.exit_code == 2 and "similarity" in result.output, result.output
        # the plugin's parameters are checked when its code runs: scoring refuses it with the user's error
        for benchmark_id in ids:
            with pytest.raises(UserInputError, match="similarity") as error:
                _score(registry, benchmark_id, _feature_sets(raw)["planted"])
            assert error.value.exit_code == 2
    finally:
        for benchmark_id in ids:
            (registry.root / "registry" / "benchmarks" / f"{benchmark_id}.yaml").unlink()


# ---- through the CLI ----------------------------------------------------------------------------------------


def test_the_cli_scores_a_features_file_with_both_forms(cli, port, tmp_path):
    registry, raw, _ = port
    features = raw / "features_noisy.nc"
    trials = load_benchmark_data(find_spec(registry.root, _benchmark_id("vocabulary", "dot")), registry).assembly
    for similarity in SIMILARITIES:
        expected_raw, expected_ceiled = oracle(Predictions(features).array, trials, similarity)
        for form in FORMS:
            benchmark_id = _benchmark_id(form, similarity)
            result = cli(
                "--registry", registry.root, "score", "-b", benchmark_id, "--predictions", features,
                "--out", tmp_path / f"{benchmark_id}.json", "--json",
            )  # fmt: skip
            assert result.exit_code == 0, result.output
            row = json.loads(result.stdout)[0]
            assert row["raw"] == pytest.approx(expected_raw, abs=1e-9), benchmark_id
            assert row["score"] == pytest.approx(expected_ceiled, abs=1e-9), benchmark_id
    without = tmp_path / "without_7.nc"
    array = Predictions(features).array
    array.isel(presentation=array["stimulus_id"].values != "7").to_netcdf(without, engine="h5netcdf")
    for form in FORMS:
        result = cli("--registry", registry.root, "score", "-b", _benchmark_id(form, "dot"), "--predictions", without)
        assert result.exit_code == 2 and "'7'" in result.output, result.output


def test_a_model_card_scores_both_forms_from_its_readout_layer(cli, port, tmp_path):
    """`task: features` through a brain model: the readout layer's features, one per stimulus, no time bin."""
    from tests.scoring_setup import CONVNET

    registry, _, _ = port
    rows = []
    for form in FORMS:
        benchmark_id = _benchmark_id(form, "dot")
        result = cli(
            "--registry", registry.root, "score", "-b", benchmark_id, "-m", CONVNET, "--device", "cpu",
            "--out", tmp_path / f"{form}.json", "--json",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        rows.append(json.loads(result.stdout)[0])
    assert rows[0]["raw"] == rows[1]["raw"] and rows[0]["score"] == rows[1]["score"]
    assert 0 <= rows[0]["raw"] <= 1 and rows[0]["layer"] is not None
