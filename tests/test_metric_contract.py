"""Every registered metric and ceiling against the common contract (brainscore_registry/metrics/contract.py),
as scikit-learn's estimator checks do: the tests iterate the registry, so a new entry is covered as soon
as it is registered, and an entry whose kind of input has no builder here fails rather than skips.

Per entry: the Score survives JSON; `params()` is the constructor's arguments; two calls agree; a model
without responses for some data stimuli, NaN model output and a wrong layout are UserInputErrors that
name the problem; NaN in a ceiling's data gives, per entry, a finite score or such an error."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import warnings
from collections.abc import Callable

import numpy as np
import pytest
import xarray as xr

from brainscore_registry import UserInputError
from brainscore_registry.metrics import (
    CEILINGS,
    METRICS,
    average_repetitions,
    ceiling_parameters,
    load_ceiling,
    load_metric,
    metric_parameters,
)
from brainscore_registry.metrics.contract import SOURCE_KINDS, TARGET_KINDS, Ceiling, Metric
from brainscore_registry.metrics.score import Score

N_OBJECTS, PER_OBJECT, N_REPETITIONS, N_NEUROIDS, N_FEATURES = 4, 10, 4, 6, 30
OBJECTS = [f"o{i}" for i in range(N_OBJECTS)]
STIMULI = np.array([f"s{i:02d}" for i in range(N_OBJECTS * PER_OBJECT)])
OBJECT_OF = np.repeat(OBJECTS, PER_OBJECT)
TRAIN = STIMULI[np.arange(len(STIMULI)) % 4 != 0]  # 30 train, 10 test stimuli for the fixed-split metrics
SUBJECTS = ["h0", "h1", "h2", "h3"]

# A value other than the default for every constructor parameter a spec may set.
NON_DEFAULTS = {
    "stratification_coord": None,
    "n_splits": 5,
    "train_size": 0.8,
    "test_size": 0.8,
    "random_state": 7,
    "repetitions": 3,
    "comparison": "kendall_tau_a",
    "cells": "off_diagonal",
    "distance": "euclidean",
    "model_rdm": {"distance": "cosine", "zscore_units": True, "units": {"method": "variance", "count": 10}},
    "bound": "lower",
    "similarity": "cosine",
}
# NaN in a ceiling's data: "finite" where the method skips NaN (documented), "error" where it refuses it.
NAN_IN_DATA = {
    "internal_consistency": "finite",  # NaN values are skipped in the half means
    "i1_split_half": "error",  # a trial without a choice
    "i2n_split_half": "error",
    "error_consistency_subject_pairs": "error",
    "rsa_noise_ceiling": "error",  # a NaN dissimilarity above the diagonal
    "rsa_split_half": "error",
    "shape_bias_subjects": "finite",  # a trial without a choice is a decision for neither cue
}
NUMERIC_SOURCES = {"features", "features_train_test", "probabilities", "rdm_or_features"}
LABEL_SOURCES = {"choices"}  # a missing choice is a wrong (or neither-cue) decision, documented in decisions.py
# Model stimuli the data lack: refused where the model's whole set enters the numbers or like is compared
# with like, ignored where only the data's stimuli are looked up.
# Metrics whose policy differs from their source kind's: odd-one-out looks up only the stimuli of the
# data's triplets, so responses to other stimuli cannot change its numbers.
EXTRA_MODEL_STIMULI_BY_METRIC = {"odd_one_out": "ignore"}
EXTRA_MODEL_STIMULI = {
    "features": "raise",
    "features_train_test": "raise",
    "probabilities": "raise",
    "choices": "ignore",
    "rdm_or_features": "ignore",
}


# ---- inputs, per kind ---------------------------------------------------------------------------------


def _repeated_recordings() -> xr.DataArray:
    rng = np.random.default_rng(0)
    signal = rng.standard_normal((len(STIMULI), N_NEUROIDS))
    values = signal[:, None, :] + 0.7 * rng.standard_normal((len(STIMULI), N_REPETITIONS, N_NEUROIDS))
    return xr.DataArray(
        values.reshape(-1, N_NEUROIDS),
        dims=("presentation", "neuroid"),
        coords={
            "stimulus_id": ("presentation", np.repeat(STIMULI, N_REPETITIONS)),
            "object_name": ("presentation", np.repeat(OBJECT_OF, N_REPETITIONS)),
            "repetition": ("presentation", np.tile(np.arange(N_REPETITIONS), len(STIMULI))),
            "neuroid_id": ("neuroid", [f"n{j}" for j in range(N_NEUROIDS)]),
        },
    )


def _recordings() -> xr.DataArray:
    return average_repetitions(_repeated_recordings())


def _features() -> xr.DataArray:
    """Noisy linear features of the recordings, rows in reverse stimulus order (alignment is exercised)."""
    averaged = _recordings()
    rng = np.random.default_rng(1)
    values = averaged.values @ rng.standard_normal((N_NEUROIDS, N_FEATURES)) + rng.standard_normal((len(STIMULI), N_FEATURES))
    return xr.DataArray(
        values[::-1],
        dims=("presentation", "neuroid"),
        coords={
            "stimulus_id": ("presentation", averaged["stimulus_id"].values[::-1]),
            "neuroid_id": ("neuroid", [f"f{k}" for k in range(N_FEATURES)]),
        },
    )


def _train_test(array: xr.DataArray) -> list[xr.DataArray]:
    train = np.isin(array["stimulus_id"].values, TRAIN)
    return [array.isel(presentation=train), array.isel(presentation=~train)]


def _probabilities() -> xr.DataArray:
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((len(STIMULI), N_OBJECTS)) + 1.5 * (np.array(OBJECTS)[None, :] == OBJECT_OF[:, None])
    order = rng.permutation(len(STIMULI))
    return xr.DataArray(
        (np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True))[order],
        dims=("presentation", "choice"),
        coords={"stimulus_id": ("presentation", STIMULI[order]), "choice": OBJECTS},
    )


def _trials() -> xr.DataArray:
    """Two-alternative trials: 20 per (image, distractor), the truth chosen more often than not."""
    rng = np.random.default_rng(3)
    rows = []
    for stimulus, truth in zip(STIMULI, OBJECT_OF):
        for distractor in (o for o in OBJECTS if o != truth):
            for _ in range(20):
                rows.append((stimulus, truth, distractor, truth if rng.random() < 0.7 else distractor))
    stimulus, truth, distractor, choice = (np.array(c, dtype=object) for c in zip(*rows))
    return xr.DataArray(
        choice,
        dims=("presentation",),
        coords={
            "stimulus_id": ("presentation", stimulus),
            "truth": ("presentation", truth),
            "sample_obj": ("presentation", truth),
            "dist_obj": ("presentation", distractor),
        },
    )


def _choices() -> xr.DataArray:
    rng = np.random.default_rng(4)
    choices = np.where(rng.random(len(STIMULI)) < 0.6, OBJECT_OF, rng.choice(OBJECTS, len(STIMULI)))
    return xr.DataArray(choices, dims=("presentation",), coords={"stimulus_id": ("presentation", STIMULI)})


def _subject_trials() -> xr.DataArray:
    """Every subject sees every stimulus once; two conditions of 20 stimuli each."""
    rng = np.random.default_rng(5)
    n = len(STIMULI)
    right = rng.random((len(SUBJECTS), n)) < 0.65
    choices = np.where(right, OBJECT_OF[None, :], rng.choice(OBJECTS, (len(SUBJECTS), n)))
    return xr.DataArray(
        choices.ravel().astype(object),
        dims=("presentation",),
        coords={
            "stimulus_id": ("presentation", np.tile(STIMULI, len(SUBJECTS))),
            "subject": ("presentation", np.repeat(SUBJECTS, n)),
            "truth": ("presentation", np.tile(OBJECT_OF, len(SUBJECTS))),
            "condition": ("presentation", np.tile(np.where(np.arange(n) < n // 2, "c0", "c1"), len(SUBJECTS))),
        },
    )


def _labels() -> xr.DataArray:
    return xr.DataArray(
        np.zeros(len(STIMULI)),
        dims=("presentation",),
        coords={"stimulus_id": ("presentation", STIMULI), "truth": ("presentation", OBJECT_OF)},
    )


def _cues() -> tuple[np.ndarray, np.ndarray]:
    """Shape and texture per stimulus; every fifth stimulus without a conflict."""
    texture = np.roll(OBJECT_OF, 7)
    texture[::5] = OBJECT_OF[::5]
    return OBJECT_OF, texture


def _cue_conflict() -> xr.DataArray:
    shape, texture = _cues()
    return xr.DataArray(
        np.zeros(len(STIMULI)),
        dims=("presentation",),
        coords={"stimulus_id": ("presentation", STIMULI), "shape": ("presentation", shape), "texture": ("presentation", texture)},
    )


def _cue_conflict_trials() -> xr.DataArray:
    rng = np.random.default_rng(6)
    shape, texture = _cues()
    n = len(STIMULI)
    pick = rng.random((len(SUBJECTS), n))
    choices = np.where(pick < 0.5, shape[None, :], np.where(pick < 0.9, texture[None, :], "other"))
    return xr.DataArray(
        choices.ravel().astype(object),
        dims=("presentation",),
        coords={
            "stimulus_id": ("presentation", np.tile(STIMULI, len(SUBJECTS))),
            "subject": ("presentation", np.repeat(SUBJECTS, n)),
            "shape": ("presentation", np.tile(shape, len(SUBJECTS))),
            "texture": ("presentation", np.tile(texture, len(SUBJECTS))),
        },
    )


def _rdms() -> xr.DataArray:
    """Per-subject RDMs of noisy copies of the recordings: stimulus_a × stimulus_b × subject."""
    rng = np.random.default_rng(7)
    recordings = _recordings()
    rdms = [1 - np.corrcoef(recordings.values + 0.5 * rng.standard_normal(recordings.shape)) for _ in SUBJECTS[:3]]
    ids = recordings["stimulus_id"].values
    return xr.DataArray(
        np.stack(rdms, axis=-1),
        dims=("stimulus_a", "stimulus_b", "subject"),
        coords={"stimulus_a": ids, "stimulus_b": ids, "subject": SUBJECTS[:3]},
    )


def _triplet_trials() -> xr.DataArray:
    """200 odd-one-out triplets of distinct stimuli covering every stimulus, the chosen odd one last (as in
    Hebart 2023): coordinates stimulus_id, stimulus_id_2, stimulus_id_3, and the choice as the value."""
    rng = np.random.default_rng(8)
    cover = np.resize(rng.permutation(STIMULI), 3 * (len(STIMULI) // 3 + 1)).reshape(-1, 3)
    triplets = np.concatenate([cover, [rng.choice(STIMULI, 3, replace=False) for _ in range(200 - len(cover))]])
    return xr.DataArray(
        triplets[:, 2].astype(object),
        dims=("presentation",),
        coords={
            "stimulus_id": ("presentation", triplets[:, 0]),
            "stimulus_id_2": ("presentation", triplets[:, 1]),
            "stimulus_id_3": ("presentation", triplets[:, 2]),
            "subject": ("presentation", ["pooled"] * len(triplets)),
            "truth": ("presentation", triplets[:, 2]),
        },
    )


SOURCES: dict[str, Callable[[], list[xr.DataArray]]] = {
    "features": lambda: [_features()],
    "features_train_test": lambda: _train_test(_features()),
    "probabilities": lambda: [_probabilities()],
    "choices": lambda: [_choices()],
    "rdm_or_features": lambda: [_features()],
}
TARGETS: dict[str, Callable[[], list[xr.DataArray]]] = {
    "recordings": lambda: [_recordings()],
    "recordings_train_test": lambda: _train_test(_recordings()),
    "repeated_recordings": lambda: [_repeated_recordings()],
    "trials": lambda: [_trials()],
    "subject_trials": lambda: [_subject_trials()],
    "labels": lambda: [_labels()],
    "cue_conflict": lambda: [_cue_conflict()],
    "cue_conflict_trials": lambda: [_cue_conflict_trials()],
    "rdms": lambda: [_rdms()],
    "triplet_trials": lambda: [_triplet_trials()],
}


# ---- wrong layouts, per kind: (what, how the input is broken, the name the error must give) -----------

Break = tuple[str, Callable[[xr.DataArray], xr.DataArray], str]


def _renamed(old: str, new: str) -> Callable[[xr.DataArray], xr.DataArray]:
    return lambda a: a.rename({old: new})


def _dropped(coord: str) -> Callable[[xr.DataArray], xr.DataArray]:
    return lambda a: a.drop_vars(coord)


def _with_time_bins(a: xr.DataArray) -> xr.DataArray:
    return a.expand_dims(time_bin=2)


FEATURE_BREAKS: list[Break] = [
    ("presentation renamed", _renamed("presentation", "image"), "presentation"),
    ("neuroid renamed", _renamed("neuroid", "unit"), "neuroid"),
    ("no stimulus_id", _dropped("stimulus_id"), "stimulus_id"),
    ("an extra time_bin dim", _with_time_bins, "time_bin"),
]
RECORDING_BREAKS: list[Break] = [
    ("presentation renamed", _renamed("presentation", "image"), "presentation"),
    ("no stimulus_id", _dropped("stimulus_id"), "stimulus_id"),
    ("no neuroid_id", _dropped("neuroid_id"), "neuroid_id"),
    ("an extra time_bin dim", _with_time_bins, "time_bin"),
]
SOURCE_BREAKS: dict[str, list[Break]] = {
    "features": FEATURE_BREAKS,
    "features_train_test": FEATURE_BREAKS,
    "probabilities": [
        ("presentation renamed", _renamed("presentation", "image"), "presentation"),
        ("choice renamed", _renamed("choice", "label"), "choice"),
        ("no stimulus_id", _dropped("stimulus_id"), "stimulus_id"),
    ],
    "choices": [
        ("presentation renamed", _renamed("presentation", "image"), "presentation"),
        ("no stimulus_id", _dropped("stimulus_id"), "stimulus_id"),
        ("an extra time_bin dim", _with_time_bins, "time_bin"),
    ],
    "rdm_or_features": [
        ("presentation renamed", _renamed("presentation", "image"), "presentation"),
        ("no stimulus_id", _dropped("stimulus_id"), "stimulus_id"),
    ],
}
TARGET_BREAKS: dict[str, list[Break]] = {
    "recordings": RECORDING_BREAKS,
    "recordings_train_test": RECORDING_BREAKS,
    "repeated_recordings": [*RECORDING_BREAKS, ("no repetition", _dropped("repetition"), "repetition")],
    "trials": [
        ("presentation renamed", _renamed("presentation", "trial"), "presentation"),
        ("no stimulus_id", _dropped("stimulus_id"), "stimulus_id"),
        ("no truth", _dropped("truth"), "truth"),
        ("no dist_obj", _dropped("dist_obj"), "dist_obj"),
    ],
    "subject_trials": [
        ("presentation renamed", _renamed("presentation", "trial"), "presentation"),
        ("no stimulus_id", _dropped("stimulus_id"), "stimulus_id"),
        ("no subject", _dropped("subject"), "subject"),
        ("no truth", _dropped("truth"), "truth"),
    ],
    "labels": [
        ("presentation renamed", _renamed("presentation", "image"), "presentation"),
        ("no stimulus_id", _dropped("stimulus_id"), "stimulus_id"),
        ("no truth", _dropped("truth"), "truth"),
    ],
    "cue_conflict": [
        ("presentation renamed", _renamed("presentation", "image"), "presentation"),
        ("no stimulus_id", _dropped("stimulus_id"), "stimulus_id"),
        ("no shape", _dropped("shape"), "shape"),
        ("no texture", _dropped("texture"), "texture"),
    ],
    "cue_conflict_trials": [
        ("presentation renamed", _renamed("presentation", "trial"), "presentation"),
        ("no subject", _dropped("subject"), "subject"),
        ("no shape", _dropped("shape"), "shape"),
    ],
    "rdms": [
        ("subject renamed", _renamed("subject", "participant"), "subject"),
        ("stimulus_b renamed", _renamed("stimulus_b", "stimulus"), "stimulus_b"),
        ("an extra time_bin dim", _with_time_bins, "time_bin"),
    ],
    "triplet_trials": [
        ("presentation renamed", _renamed("presentation", "trial"), "presentation"),
        ("no stimulus_id", _dropped("stimulus_id"), "stimulus_id"),
        ("no stimulus_id_2", _dropped("stimulus_id_2"), "stimulus_id_2"),
        ("no stimulus_id_3", _dropped("stimulus_id_3"), "stimulus_id_3"),
        ("an extra time_bin dim", _with_time_bins, "time_bin"),
    ],
}


# ---- the registry, entry by entry ---------------------------------------------------------------------

ENTRIES = [("metric", name) for name in METRICS] + [("ceiling", name) for name in CEILINGS]
METRIC_NAMES = list(METRICS)


def _entry_id(entry: tuple[str, str]) -> str:
    return f"{entry[0]}:{entry[1]}"


def _class(what: str, name: str) -> type:
    return (METRICS if what == "metric" else CEILINGS)[name].load()


def _build(what: str, name: str, **params):
    return load_metric(name, **params) if what == "metric" else load_ceiling(name, **params)


def _parameters(what: str, name: str) -> set[str]:
    return metric_parameters(name) if what == "metric" else ceiling_parameters(name)


def _lookup(table: dict, kind: str, what: str):
    if kind not in table:
        pytest.fail(f"no {what} for kind {kind!r}: add one to this test module, so that the entry is checked")
    return table[kind]


def _inputs(what: str, name: str) -> tuple[list[xr.DataArray], list[xr.DataArray]]:
    """(model outputs, data) the entry is called with: `metric(*sources, *targets)`, `ceiling(*targets)`."""
    cls = _class(what, name)
    sources = _lookup(SOURCES, cls.source_kind, "input builder")() if what == "metric" else []
    return sources, _lookup(TARGETS, cls.target_kind, "input builder")()


def _score(instance, sources: list[xr.DataArray], targets: list[xr.DataArray]) -> Score:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # excluded units and the like: not what these tests are about
        return instance(*sources, *targets)


def _same_number(a: float, b: float) -> bool:
    return (np.isnan(a) and np.isnan(b)) or a == b


@pytest.mark.parametrize("entry", ENTRIES, ids=_entry_id)
def test_entries_follow_the_contract(entry):
    what, name = entry
    cls = _class(what, name)
    assert issubclass(cls, Metric if what == "metric" else Ceiling)
    assert cls.target_kind in TARGET_KINDS
    if what == "metric":
        assert cls.source_kind in SOURCE_KINDS
    instance = _build(what, name)
    assert instance.progress is None  # callers set it without asking whether it exists
    assert isinstance(_score(instance, *_inputs(what, name)), Score)


@pytest.mark.parametrize("entry", ENTRIES, ids=_entry_id)
def test_score_survives_json(entry):
    what, name = entry
    score = _score(_build(what, name), *_inputs(what, name))
    back = Score.from_json(json.loads(json.dumps(score.to_json(), allow_nan=False)))
    assert _same_number(back.value, score.value) and _same_number(back.error, score.error)
    raw = np.asarray(score.raw, dtype=np.float64)
    np.testing.assert_array_equal(back.raw, raw.reshape(len(raw), -1), strict=True)
    assert back.units == tuple(score.units)
    assert back.attrs == score.attrs
    assert back.to_json() == score.to_json()


def test_the_round_trip_carries_nan():
    score = _score(load_metric("shape_bias"), [_choices()], [_cue_conflict()])
    assert np.isnan(score.raw).any()  # non-conflict stimuli are NaN in the raw decisions
    back = Score.from_json(json.loads(json.dumps(score.to_json())))
    np.testing.assert_array_equal(back.raw, score.raw)


@pytest.mark.parametrize("entry", ENTRIES, ids=_entry_id)
def test_params_are_the_constructor_arguments(entry):
    what, name = entry
    registered = (METRICS if what == "metric" else CEILINGS)[name]
    signature = [p for p in inspect.signature(registered.load()).parameters]
    settable = _parameters(what, name)
    assert settable <= set(signature)
    assert settable | set(registered.bound) == set(signature)  # every parameter is either bound or settable
    missing = sorted(settable - set(NON_DEFAULTS))
    if missing:
        pytest.fail(f"no non-default value for parameter(s) {missing}: add them to NON_DEFAULTS")
    chosen = {p: NON_DEFAULTS[p] for p in settable}
    instance = _build(what, name, **chosen)
    assert list(instance.params()) == signature
    assert instance.params() == {**registered.bound, **chosen}
    assert isinstance(_score(instance, *_inputs(what, name)), Score)  # and it runs with them


@pytest.mark.parametrize("entry", ENTRIES, ids=_entry_id)
def test_unknown_parameters_are_the_users_error(entry):
    what, name = entry
    with pytest.raises(UserInputError, match="takes no parameter 'bogus'"):
        _build(what, name, bogus=1)


@pytest.mark.parametrize("entry", ENTRIES, ids=_entry_id)
def test_two_calls_agree_and_leave_the_inputs_alone(entry):
    what, name = entry
    sources, targets = _inputs(what, name)
    copies = [a.copy(deep=True) for a in (*sources, *targets)]
    instance = _build(what, name)
    first = _score(instance, sources, targets).to_json()
    assert _score(instance, sources, targets).to_json() == first
    assert _score(_build(what, name), sources, targets).to_json() == first
    heard = []
    instance.progress = lambda stage, done, total: heard.append((stage, done, total))
    assert _score(instance, sources, targets).to_json() == first  # reporting progress changes nothing
    assert all(isinstance(s, str) and isinstance(d, int) and isinstance(t, int) for s, d, t in heard)
    for before, after in zip(copies, (*sources, *targets)):
        xr.testing.assert_identical(before, after)


def _without_some_stimuli(source: xr.DataArray) -> xr.DataArray:
    dim = "presentation" if "presentation" in source.dims else "stimulus_a"
    ids = np.asarray(source["stimulus_id" if dim == "presentation" else dim].values)
    return source.isel({dim: ~np.isin(ids, sorted(ids)[:3])})


@pytest.mark.parametrize("name", METRIC_NAMES)
def test_a_model_without_some_stimuli_is_refused(name):
    sources, targets = _inputs("metric", name)
    with pytest.raises(UserInputError, match="3 data stimuli have no model") as error:
        _score(load_metric(name), [_without_some_stimuli(sources[0]), *sources[1:]], targets)
    assert error.value.field == "stimulus_id"


@pytest.mark.parametrize("name", METRIC_NAMES)
def test_a_model_listing_a_stimulus_twice_is_refused(name):
    sources, targets = _inputs("metric", name)
    doubled = xr.concat([sources[0], sources[0].isel(presentation=[0])], dim="presentation")
    with pytest.raises(UserInputError, match="list 1 stimuli more than once"):
        _score(load_metric(name), [doubled, *sources[1:]], targets)


@pytest.mark.parametrize("name", METRIC_NAMES)
def test_model_stimuli_the_data_lack(name):
    sources, targets = _inputs("metric", name)
    policy = EXTRA_MODEL_STIMULI_BY_METRIC.get(name) or _lookup(
        EXTRA_MODEL_STIMULI, METRICS[name].load().source_kind, "policy for extra model stimuli"
    )
    extra = sources[0].isel(presentation=[0]).assign_coords(stimulus_id=("presentation", ["unseen"]))
    more = [xr.concat([sources[0], extra], dim="presentation"), *sources[1:]]
    if policy == "raise":
        with pytest.raises(UserInputError, match="1 model stimuli are not in the data: 'unseen'"):
            _score(load_metric(name), more, targets)
    else:
        assert _score(load_metric(name), more, targets).to_json() == _score(load_metric(name), sources, targets).to_json()


def test_rsa_takes_the_model_rdm_as_well_as_features():
    features, rdms = _features(), _rdms()
    ids = features["stimulus_id"].values
    given = xr.DataArray(
        1 - np.corrcoef(features.values), dims=("stimulus_a", "stimulus_b"), coords={"stimulus_a": ids, "stimulus_b": ids}
    )
    assert load_metric("rsa")(given, rdms).to_json() == load_metric("rsa")(features, rdms).to_json()
    with pytest.raises(UserInputError, match="3 data stimuli have no model response") as error:
        load_metric("rsa")(_without_some_stimuli(given), rdms)
    assert error.value.field == "stimulus_a"
    nan = given.copy(data=given.values.copy())
    nan.values[0, 1] = nan.values[1, 0] = np.nan
    with pytest.raises(UserInputError, match="1 model dissimilarities are NaN"):
        load_metric("rsa")(nan, rdms)


@pytest.mark.parametrize("name", METRIC_NAMES)
def test_missing_model_output(name):
    """NaN in numeric model output is refused, naming NaN; a missing choice is a decision for no label."""
    sources, targets = _inputs("metric", name)
    kind = METRICS[name].load().source_kind
    if kind in NUMERIC_SOURCES:
        broken = sources[0].copy(data=np.asarray(sources[0].values, dtype=np.float64).copy())
        broken.values[0, 0] = np.nan
        with pytest.raises(UserInputError, match="NaN"):
            _score(load_metric(name), [broken, *sources[1:]], targets)
    elif kind in LABEL_SOURCES:
        broken = sources[0].copy(data=np.asarray(sources[0].values, dtype=object).copy())
        broken.values[0] = None
        assert np.isfinite(_score(load_metric(name), [broken, *sources[1:]], targets).value)
    else:
        pytest.fail(f"source kind {kind!r} is in neither NUMERIC_SOURCES nor LABEL_SOURCES")


def _with_nan(target: xr.DataArray) -> xr.DataArray:
    """One missing value: a NaN response or dissimilarity, or a trial without a choice."""
    if "stimulus_a" in target.dims:
        values = target.values.copy()
        values[0, 1, 0] = values[1, 0, 0] = np.nan
        return target.copy(data=values)
    values = np.asarray(target.values, dtype=np.float64 if target.dtype.kind == "f" else object).copy()
    values[(0,) * values.ndim] = np.nan
    return target.copy(data=values)


@pytest.mark.parametrize("name", list(CEILINGS))
def test_nan_in_the_data_of_a_ceiling(name):
    if name not in NAN_IN_DATA:
        pytest.fail(f"say in NAN_IN_DATA whether ceiling {name!r} skips NaN ('finite') or refuses it ('error')")
    _, targets = _inputs("ceiling", name)
    broken = [_with_nan(targets[0]), *targets[1:]]
    if NAN_IN_DATA[name] == "finite":
        assert np.isfinite(_score(load_ceiling(name), [], broken).value)
    else:
        with pytest.raises(UserInputError, match="NaN"):
            _score(load_ceiling(name), [], broken)


@pytest.mark.parametrize("entry", ENTRIES, ids=_entry_id)
def test_a_wrong_layout_names_the_dimension_or_coordinate(entry):
    what, name = entry
    cls = _class(what, name)
    sources, targets = _inputs(what, name)
    cases = [("target", *b) for b in _lookup(TARGET_BREAKS, cls.target_kind, "list of wrong layouts")]
    if what == "metric":
        cases += [("source", *b) for b in _lookup(SOURCE_BREAKS, cls.source_kind, "list of wrong layouts")]
    for side, label, breaks, named in cases:
        broken_sources = [breaks(sources[0]), *sources[1:]] if side == "source" else sources
        broken_targets = [breaks(targets[0]), *targets[1:]] if side == "target" else targets
        with pytest.raises(UserInputError) as error:
            _score(_build(what, name), broken_sources, broken_targets)
        assert named in str(error.value), f"{side} with {label}: {error.value}"


def test_the_registry_lists_every_regression_and_similarity():
    from brainscore_registry import metrics
    from brainscore_registry.metrics.regression import REGRESSIONS, SPLIT_REGRESSIONS
    from brainscore_registry.metrics.representational import SIMILARITIES

    assert metrics.REGRESSION_NAMES == tuple(REGRESSIONS)
    assert metrics.SPLIT_REGRESSION_NAMES == tuple(SPLIT_REGRESSIONS)
    assert set(metrics.SIMILARITY_NAMES) | {"rdm"} == set(SIMILARITIES)


def test_unknown_names_suggest_the_closest():
    with pytest.raises(UserInputError, match=r"unknown metric 'plss'. Did you mean 'pls'"):
        metric_parameters("plss")
    with pytest.raises(UserInputError, match=r"unknown ceiling 'internal_consistence'. Did you mean 'internal_consistency'"):
        load_ceiling("internal_consistence")


def test_importing_the_metrics_loads_no_numerical_library():
    """Validating a spec (names and parameters) must stay cheap: no scikit-learn, scipy, xarray or pandas."""
    script = (
        "import sys, brainscore_registry\n"
        "heavy = lambda: {m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy', 'xarray', 'pandas'}\n"
        "before = heavy()\n"
        "from brainscore_registry.metrics import CEILINGS, METRICS, ceiling_parameters, metric_parameters\n"
        "[metric_parameters(n) for n in METRICS], [ceiling_parameters(n) for n in CEILINGS]\n"
        "print(sorted(heavy() - before))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
