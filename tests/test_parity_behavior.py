"""Behavioural metrics and ceilings against brainscore-vision 2.4.2 on committed fixtures
(tests/parity/make_behavior_fixtures.py produced them with the real package): i1, i2n and their
split-half ceilings (per split), error consistency (per subject × condition) and its subject-pair
ceiling, accuracy, and the RSA noise ceiling, all within 1e-6."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from brainscore_registry.metrics import load_ceiling, load_metric
from brainscore_registry.metrics.rsa import rsa

from .parity.layout import probabilities_layout, subject_features_layout, trials_layout

FIXTURES = sorted((Path(__file__).parent / "parity" / "fixtures" / "behavior").glob("*.npz"))
TOLERANCE = 1e-6


@pytest.fixture(params=FIXTURES, ids=lambda p: p.stem)
def data(request):
    return dict(np.load(request.param))


def _array(values, coords, dims):
    return xr.DataArray(values, dims=dims, coords=coords)


def test_fixtures_are_committed():
    assert len(FIXTURES) >= 2


@pytest.mark.parametrize("name", ["i1", "i2n"])
def test_image_level_consistency_matches_the_reference(data, name):
    trials = _array(*trials_layout(data, "trials"), ("presentation",))
    probabilities = _array(*probabilities_layout(data), ("presentation", "choice"))
    score = load_metric(name)(probabilities, trials)
    np.testing.assert_allclose(score.raw.ravel(), data[f"{name}__raw"], rtol=0, atol=TOLERANCE)
    assert abs(score.value - data[f"{name}__score"]) <= TOLERANCE
    assert abs(score.error - data[f"{name}__error"]) <= TOLERANCE
    ceiling = load_ceiling(f"{name}_split_half")(trials)
    np.testing.assert_allclose(ceiling.raw.ravel(), data[f"{name}__ceiling_raw"], rtol=0, atol=TOLERANCE)
    assert abs(ceiling.value - data[f"{name}__ceiling"]) <= TOLERANCE
    assert abs(ceiling.error - data[f"{name}__ceiling_error"]) <= TOLERANCE


def _machine(data):
    return _array(
        data["machine_choice"],
        {c: ("presentation", data[f"machine_{c}"]) for c in ("stimulus_id", "condition")},
        ("presentation",),
    )


def test_error_consistency_matches_the_reference(data):
    humans = _array(*trials_layout(data, "humans"), ("presentation",))
    score = load_metric("error_consistency")(_machine(data), humans)
    np.testing.assert_allclose(score.raw, data["error_consistency__raw"], rtol=0, atol=TOLERANCE)
    assert abs(score.value - data["error_consistency__score"]) <= TOLERANCE
    assert abs(score.error - data["error_consistency__error"]) <= TOLERANCE
    ceiling = load_ceiling("error_consistency_subject_pairs")(humans)
    assert abs(ceiling.value - data["error_consistency__ceiling"]) <= TOLERANCE
    assert abs(ceiling.error - data["error_consistency__ceiling_error"]) <= TOLERANCE


def test_accuracy_matches_the_reference(data):
    truth = _array(
        data["machine_truth"],
        {"stimulus_id": ("presentation", data["machine_stimulus_id"]), "truth": ("presentation", data["machine_truth"])},
        ("presentation",),
    )
    score = load_metric("accuracy")(_machine(data), truth)
    assert abs(score.value - data["accuracy__score"]) <= TOLERANCE
    assert abs(score.error - data["accuracy__error"]) <= TOLERANCE


def _subject_rdms(data) -> xr.DataArray:
    """Per-subject RDMs of the multi-subject recordings, as a similarity assembly."""
    recordings = _array(*subject_features_layout(data), ("presentation", "neuroid"))
    subjects = sorted(set(data["rsa_subject"]))
    ids = data["rsa_stimulus_id"]
    rdms = [1 - np.corrcoef(recordings.isel(neuroid=data["rsa_subject"] == s).values) for s in subjects]
    return xr.DataArray(
        np.stack(rdms, axis=-1),
        dims=("stimulus_a", "stimulus_b", "subject"),
        coords={"stimulus_a": ids, "stimulus_b": ids, "subject": subjects},
    )


def test_rsa_noise_ceiling_matches_the_reference(data):
    ceiling = load_ceiling("rsa_noise_ceiling")(_subject_rdms(data))
    assert abs(ceiling.value - data["rsa_ceiling__upper"]) <= TOLERANCE
    assert abs(ceiling.attrs["lower_bound"] - data["rsa_ceiling__lower"]) <= TOLERANCE


def test_rsa_of_a_subject_against_the_others_lies_between_the_bounds(data):
    """A 'model' that is one subject's recordings scores between the lower and the upper bound."""
    rdms = _subject_rdms(data)
    ceiling = load_ceiling("rsa_noise_ceiling")(rdms)
    recordings = _array(*subject_features_layout(data), ("presentation", "neuroid"))
    first = recordings.isel(neuroid=data["rsa_subject"] == "subject0")
    score = rsa(first, rdms)
    assert score.raw.shape == (1, rdms.sizes["subject"])
    assert ceiling.attrs["lower_bound"] - 0.1 <= score.value <= ceiling.value
