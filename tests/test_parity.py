"""Our metrics against brainscore-vision 2.4.2 on the committed fixtures (tests/parity/make_fixtures.py
produced them with the real package): every score, error and per-split × per-neuroid value within 1e-6."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from brainscore_registry import UserInputError
from brainscore_registry.metrics import average_repetitions, load_ceiling, load_metric

from .parity.layout import source_layout, target_layout

FIXTURES = sorted((Path(__file__).parent / "parity" / "fixtures").glob("*.npz"))
TOLERANCE = 1e-6


def _inputs(path: Path) -> tuple[xr.DataArray, xr.DataArray, dict]:
    data = dict(np.load(path))
    values, coords = target_layout(data)
    target = xr.DataArray(values, dims=("presentation", "neuroid"), coords=coords)
    values, coords = source_layout(data)
    source = xr.DataArray(values, dims=("presentation", "neuroid"), coords=coords)
    return source, target, data


@pytest.fixture(params=FIXTURES, ids=lambda p: p.stem)
def fixture(request):
    return _inputs(request.param)


def test_fixtures_are_committed():
    assert len(FIXTURES) >= 2


@pytest.mark.parametrize("metric", ["pls", "ridge", "linear", "neuron_to_neuron"])
def test_regression_metrics_match_the_reference(fixture, metric):
    source, target, ref = fixture
    score = load_metric(metric)(source, average_repetitions(target))
    assert list(score.units) == list(ref[f"{metric}__raw_neuroid_id"])
    np.testing.assert_allclose(score.raw, ref[f"{metric}__raw"], rtol=0, atol=TOLERANCE, equal_nan=True)
    assert abs(score.value - ref[f"{metric}__score"]) <= TOLERANCE
    assert abs(score.error - ref[f"{metric}__error"]) <= TOLERANCE


@pytest.mark.parametrize("metric", ["rdm", "rdm_cv", "cka", "cka_biased", "cka_cv"])
def test_representational_metrics_match_the_reference(fixture, metric):
    source, target, ref = fixture
    score = load_metric(metric)(source, average_repetitions(target))
    np.testing.assert_allclose(score.raw.ravel(), ref[f"{metric}__raw"], rtol=0, atol=TOLERANCE)
    assert abs(score.value - ref[f"{metric}__score"]) <= TOLERANCE
    if metric.endswith("_cv"):
        assert abs(score.error - ref[f"{metric}__error"]) <= TOLERANCE


@pytest.mark.parametrize("regression", ["pls", "ridge", "ridgecv"])
def test_split_metrics_match_the_reference(fixture, regression):
    source, target, ref = fixture
    averaged = average_repetitions(target)
    train = set(ref["stimulus_id"][: int(0.75 * len(ref["stimulus_id"]))])

    def part(a, keep):
        return a.isel(presentation=[(s in train) == keep for s in a["stimulus_id"].values])

    score = load_metric(f"{regression}_split")(
        part(source, True), part(source, False), part(averaged, True), part(averaged, False)
    )
    np.testing.assert_allclose(score.raw.ravel(), ref[f"{regression}_split__raw"], rtol=0, atol=TOLERANCE)
    assert abs(score.value - ref[f"{regression}_split__score"]) <= TOLERANCE
    if regression == "ridgecv":
        assert score.attrs["alpha"] == ref["ridgecv_split__alpha"]


def test_internal_consistency_matches_the_reference(fixture):
    _, target, ref = fixture
    ceiling = load_ceiling("internal_consistency")(target)
    assert tuple(ref["internal_consistency__raw_dims"]) == ("split", "neuroid")
    np.testing.assert_allclose(ceiling.raw, ref["internal_consistency__raw"], rtol=0, atol=TOLERANCE)
    assert abs(ceiling.value - ref["internal_consistency__ceiling"]) <= TOLERANCE
    assert abs(ceiling.error - ref["internal_consistency__error"]) <= TOLERANCE


def test_float32_stays_float32_except_in_pls(fixture):
    source, target, ref = fixture
    averaged = average_repetitions(target)
    assert averaged.dtype == target.dtype


def test_unknown_metric_suggests_the_closest():
    with pytest.raises(UserInputError, match=r"unknown metric 'plss'. Did you mean 'pls'"):
        load_metric("plss")


def test_model_and_data_with_different_stimuli(fixture):
    source, target, _ = fixture
    with pytest.raises(UserInputError, match=r"model and data stimuli differ: 3 data stimuli have no model response"):
        load_metric("ridge")(source.isel(presentation=slice(3, None)), average_repetitions(target))


def test_nan_in_model_responses(fixture):
    source, target, _ = fixture
    broken = source.copy(data=np.asarray(source.values).copy())
    broken.values[0, 0] = np.nan
    with pytest.raises(UserInputError, match="1 model responses are NaN or infinite"):
        load_metric("ridge")(broken, average_repetitions(target))


def test_single_repetition_has_no_split_half_ceiling(fixture):
    _, target, _ = fixture
    with pytest.raises(UserInputError, match="needs at least 2 repetitions"):
        load_ceiling("internal_consistency")(target.isel(presentation=target["repetition"].values == 0))


def test_score_serialises_losslessly(fixture):
    import json

    source, target, _ = fixture
    score = load_metric("neuron_to_neuron")(source, average_repetitions(target))
    back = json.loads(json.dumps(score.to_json()))
    np.testing.assert_array_equal(np.array(back["raw"], dtype=float), score.raw)
    assert back["value"] == score.value and back["attrs"]["regression"] == "neuron_to_neuron"
