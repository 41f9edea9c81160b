"""A card's `reduction: {pca: N, fit_stimuli: <version>}` (models/reduction.py): the projection is an
exact PCA of the fit activations, every benchmark sees it through `bsr score`, records name it, the
fitted projection and the reduced activations come from the cache the second time, bad cards are
exit-2 errors naming the field, and a card without it is scored exactly as before."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from brainscore_registry import UserInputError
from brainscore_registry.benchmarks.screen import PlacedStimuli
from brainscore_registry.data.hashing import canonical_json
from brainscore_registry.models.activation_cache import ActivationCache, cache_key
from brainscore_registry.models.model_card import load_card
from brainscore_registry.models.reduction import Projection, fit_pca
from brainscore_registry.models.torch_model import TorchBrainModel
from brainscore_registry.store.loading import load_stimulus_set

from .scoring_setup import CONVNET, build_benchmark_registry

OLD_RECORD = Path(__file__).parent / "fixtures" / "records-1ddc898" / "Syn.IT-rsa--convnet4.json"
N = 20


@pytest.fixture(scope="module")
def bench_registry(tmp_path_factory):
    return build_benchmark_registry(tmp_path_factory.mktemp("bench"))


@pytest.fixture
def images(bench_registry) -> str:
    """The benchmark's stimulus set version: the fit set of these tests."""
    return str(bench_registry.catalog.read_entry("Synthetic2026.images").latest.version)


def _card(directory: Path, **changes) -> Path:
    """A copy of convnet4's card (and factory) with `changes`; None removes a key."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(CONVNET.parent / "model.py", directory / "model.py")
    card = yaml.safe_load(CONVNET.read_text())
    for key, value in changes.items():
        if value is None:
            card.pop(key, None)
        else:
            card[key] = value
    (directory / "card.yaml").write_text(yaml.safe_dump(card, sort_keys=False))
    return directory / "card.yaml"


def _numpy_pca(fit: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """An independent PCA: mean, and the first n right singular vectors of the centred data (float64)."""
    fit = np.asarray(fit, dtype=np.float64)
    mean = fit.mean(axis=0)
    _, _, vt = np.linalg.svd(fit - mean, full_matrices=True)
    return mean, vt[:n]


def _same_up_to_sign(actual: np.ndarray, expected: np.ndarray, atol: float = 1e-8) -> None:
    """Columns equal up to a sign each (a component's sign is a convention), to `atol`."""
    assert actual.shape == expected.shape
    signs = np.sign(np.sum(actual * expected, axis=0))
    np.testing.assert_allclose(actual, expected * signs, rtol=0, atol=atol)


def test_the_projection_is_an_exact_pca_of_the_fit_activations():
    rng = np.random.default_rng(0)
    fit = rng.normal(size=(30, 200)).astype(np.float32) * np.linspace(3, 0.1, 200, dtype=np.float32)
    other = rng.normal(size=(17, 200)).astype(np.float32)
    projection = fit_pca(fit, 10)
    mean, components = _numpy_pca(fit, 10)
    np.testing.assert_allclose(projection.mean, mean, rtol=0, atol=1e-12)
    _same_up_to_sign(projection(other), (other.astype(np.float64) - mean) @ components.T)
    _same_up_to_sign(projection(fit), (fit.astype(np.float64) - mean) @ components.T)
    np.testing.assert_allclose(projection.components @ projection.components.T, np.eye(10), atol=1e-12)
    # sklearn's sign convention (svd_flip, u_based_decision=False): each component's largest entry positive
    largest = projection.components[np.arange(10), np.argmax(np.abs(projection.components), axis=1)]
    assert (largest > 0).all()
    from sklearn.decomposition import PCA

    reference = PCA(n_components=10, svd_solver="full").fit(fit.astype(np.float64))
    np.testing.assert_allclose(projection(other), reference.transform(other.astype(np.float64)), rtol=0, atol=1e-8)


def test_small_layers_pass_through_and_components_stop_at_the_fit_rank():
    rng = np.random.default_rng(1)
    assert fit_pca(rng.normal(size=(30, 20)), 20) is None  # at most N units: the raw layer (as Brain-Score)
    few = rng.normal(size=(6, 300))
    projection = fit_pca(few, 50)  # 6 centred images span 5 directions; a sixth would be arbitrary
    assert projection.components.shape == (5, 300)
    mean, components = _numpy_pca(few, 5)
    other = rng.normal(size=(4, 300))
    _same_up_to_sign(projection(other), (other - mean) @ components.T)
    values, ids = projection.as_entry()
    again = Projection.from_entry(values, ids, 300)
    np.testing.assert_array_equal(again(other), projection(other))
    assert Projection.from_entry(values, ids, 301) is None and Projection.from_entry(values[:, :-1], ids, 300) is None


def test_the_model_projects_onto_components_fitted_on_the_fit_set_as_the_model_sees_it(bench_registry, images, tmp_path):
    stimulus_set = load_stimulus_set(images, registry=bench_registry)
    placed = PlacedStimuli.of(stimulus_set, 12, 8)  # the benchmark's placement: 2/3, a centre crop
    cache = ActivationCache(tmp_path / "cache")
    raw_model = TorchBrainModel(load_card(CONVNET), device="cpu", cache=cache)
    raw = raw_model.activations(placed, "stage4")
    fit_raw = raw_model.activations(PlacedStimuli.of(stimulus_set, None, 8), "stage4")  # ratio 1: no placement
    card = load_card(_card(tmp_path / "pca", reduction={"pca": N, "fit_stimuli": images}))
    model = TorchBrainModel(card, device="cpu", cache=cache, registry=bench_registry)
    reduced = model.activations(placed, "stage4")
    assert raw.shape == (40, 1024) and reduced.shape == (40, N) and reduced.dtype == np.float64
    mean, components = _numpy_pca(fit_raw, N)
    _same_up_to_sign(reduced, (raw.astype(np.float64) - mean) @ components.T)
    assert model.reduction.fitted == 1
    # a layer with at most N units (the 10-unit classifier) is the raw layer
    np.testing.assert_array_equal(model.activations(placed, "classifier"), raw_model.activations(placed, "classifier"))

    again = TorchBrainModel(card, device="cpu", cache=cache, registry=bench_registry)
    np.testing.assert_array_equal(again.activations(placed, "stage4"), reduced)
    assert again.cache_hits == 1 and again._network is None  # not even built
    moved = PlacedStimuli.of(stimulus_set, 4, 8)  # other stimuli: extracted, but the projection is reused
    again.activations(moved, "stage4")
    assert again.reduction.fitted == 0 and len(list((tmp_path / "cache" / "projections").rglob("*.npz"))) == 1


def _score(cli, registry, card, *extra):
    return cli("--registry", registry.root, "score", "-b", "Syn.IT-ridge", "-m", card, "--device", "cpu", "--json", *extra)


def test_a_reduced_model_scores_end_to_end_and_its_record_names_the_reduction(cli, bench_registry, images, tmp_path, monkeypatch):
    monkeypatch.setenv("BSR_REGISTRY", str(bench_registry.root))  # where the model finds its fit stimuli
    card = _card(tmp_path / "card", name="convnet4pca", reduction={"pca": N, "fit_stimuli": images})
    first = _score(cli, bench_registry, card)
    assert first.exit_code == 0, first.output
    [row] = json.loads(first.stdout)
    record = json.loads(Path(row["record"]).read_text())
    assert record["model"]["reduction"] == {"pca": N, "fit_stimuli": images}
    assert cli("--registry", bench_registry.root, "verify", row["record"]).exit_code == 0

    cache = Path(os.environ["BSR_HOME"]) / "cache" / "activations"
    entries = {p: p.stat().st_mtime_ns for p in cache.rglob("*.npz")}
    assert len([p for p in entries if "projections" in p.parts]) == 1  # stage4's projection
    second = _score(cli, bench_registry, card, "--no-cache")  # the score recomputed, the activations not
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout)[0]["score"] == row["score"]
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*.npz")} == entries  # nothing refitted or re-extracted

    reproduced = cli("--registry", bench_registry.root, "reproduce", row["record"], "-m", card, "--device", "cpu", "--json")
    assert reproduced.exit_code == 0, reproduced.output
    assert json.loads(reproduced.stdout)["verdict"] == "reproduced"

    raw = _score(cli, bench_registry, _card(tmp_path / "raw", name="convnet4raw"))
    assert raw.exit_code == 0, raw.output
    assert json.loads(raw.stdout)[0]["raw"] != row["raw"]  # the reduction changed what was scored
    assert "reduction" not in json.loads(Path(json.loads(raw.stdout)[0]["record"]).read_text())["model"]


@pytest.mark.parametrize(
    "reduction, message",
    [
        ({"pca": 0, "fit_stimuli": "IMAGES"}, "greater than 0"),
        ({"pca": -3, "fit_stimuli": "IMAGES"}, "greater than 0"),
        ({"pca": 2.5, "fit_stimuli": "IMAGES"}, "integer"),
        ({"pca": "10", "fit_stimuli": "IMAGES"}, "integer"),
        ({"pca": 10, "fit_stimuli": "Synthetic2026.images"}, "sha256"),
        ({"pca": 10}, "fit_stimuli"),
        ({"pca": 10, "fit_stimuli": "IMAGES", "whiten": True}, "whiten"),
        ({"pca": 10, "fit_stimuli": "Synthetic2026.images@sha256:" + "0" * 64}, "matches no version"),
        ({"pca": 10, "fit_stimuli": "Nothing.here@sha256:" + "0" * 64}, "no dataset"),
        ({"pca": 10, "fit_stimuli": "NEURAL"}, "not stimuli"),
    ],
)
def test_bad_reductions_are_refused_naming_the_card_and_field(
    cli, bench_registry, images, tmp_path, monkeypatch, reduction, message
):
    monkeypatch.setenv("BSR_REGISTRY", str(bench_registry.root))
    neural = str(bench_registry.catalog.read_entry("Synthetic2026.V4IT").latest.version)
    fit = {"IMAGES": images, "NEURAL": neural}.get(reduction.get("fit_stimuli"), reduction.get("fit_stimuli"))
    card = _card(tmp_path / "bad", name="badpca", reduction={**reduction, **({"fit_stimuli": fit} if fit else {})})
    result = _score(cli, bench_registry, card)
    assert result.exit_code == 2, result.output
    assert str(card) in result.output and "reduction" in result.output and message in result.output, result.output
    assert not list(bench_registry.layout.root.glob("records/*badpca*"))


def test_a_card_without_reduction_is_the_model_it_always_was(bench_registry, tmp_path):
    card = load_card(CONVNET)
    identity = card.identity()
    assert "reduction" not in identity and card.card.reduction is None
    # the card hashes as it did before the field existed: an old record names the same card
    assert identity["card_sha256"] == json.loads(OLD_RECORD.read_text())["model"]["card_sha256"]
    before = card.card.model_dump(mode="json", exclude={"reduction"})
    assert identity["card_sha256"] == hashlib.sha256(canonical_json(before)).hexdigest()
    stimulus_set = load_stimulus_set(
        str(bench_registry.catalog.read_entry("Synthetic2026.images").latest.version), registry=bench_registry
    )
    placed = PlacedStimuli.of(stimulus_set, 8, 8)
    cache = ActivationCache(tmp_path / "cache")
    model = TorchBrainModel(card, device="cpu", cache=cache)
    values = model.activations(placed, "stage4")
    assert model.reduction is None and values.dtype == np.float32 and values.shape == (40, 1024)
    # today's key: identity, stimuli, layer, numeric setting, and nothing else
    key = cache_key(card.identity_hash(), placed.key, "stage4", model.numeric_setting())
    np.testing.assert_array_equal(cache.get(key)[0], values)


def test_a_reduction_without_a_registry_says_where_it_looked(images, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    card = load_card(_card(tmp_path / "lonely", reduction={"pca": N, "fit_stimuli": images}))
    model = TorchBrainModel(card, device="cpu", cache=ActivationCache(tmp_path / "cache"))
    with pytest.raises(UserInputError) as caught:
        model.layer_probes(["stage4"])
    assert caught.value.field == "reduction.fit_stimuli" and caught.value.file == str(card.path)
    assert "BSR_REGISTRY" in caught.value.fix
