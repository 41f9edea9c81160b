"""Metrics on awkward inputs: constant neuroids, too few stimuli, NaN in the data, unequal repetition
counts, wrong layouts. Each gives the reference's number or a clear error."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from brainscore_registry import UserInputError
from brainscore_registry.metrics import average_repetitions, load_ceiling, load_metric
from brainscore_registry.metrics.regression import pearson_per_column
from brainscore_registry.metrics.score import ExcludedUnitsWarning


def _recordings(n_stim=60, n_rep=4, n_neur=12, n_obj=4, seed=0) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    signal = rng.standard_normal((n_stim, n_neur))
    values = signal[:, None, :] + 0.7 * rng.standard_normal((n_stim, n_rep, n_neur))
    ids = np.array([f"s{i:03d}" for i in range(n_stim)])
    return xr.DataArray(
        values.reshape(n_stim * n_rep, n_neur),
        dims=("presentation", "neuroid"),
        coords={
            "stimulus_id": ("presentation", np.repeat(ids, n_rep)),
            "object_name": ("presentation", np.repeat([f"o{i % n_obj}" for i in range(n_stim)], n_rep)),
            "repetition": ("presentation", np.tile(np.arange(n_rep), n_stim)),
            "neuroid_id": ("neuroid", [f"n{j:02d}" for j in range(n_neur)]),
        },
    )


def _features(target: xr.DataArray, n_feat=40, seed=1) -> xr.DataArray:
    averaged = average_repetitions(target)
    rng = np.random.default_rng(seed)
    values = averaged.values @ rng.standard_normal((averaged.sizes["neuroid"], n_feat)) + rng.standard_normal(
        (averaged.sizes["presentation"], n_feat)
    )
    return xr.DataArray(
        values,
        dims=("presentation", "neuroid"),
        coords={
            "stimulus_id": ("presentation", averaged["stimulus_id"].values),
            "neuroid_id": ("neuroid", [f"f{k}" for k in range(n_feat)]),
        },
    )


def test_a_constant_neuroid_is_excluded_and_counted():
    target = _recordings()
    values = target.values.copy()
    values[:, 3] = 2.0
    target = target.copy(data=values)
    with pytest.warns(ExcludedUnitsWarning, match="1 of 12 units gave r = NaN"):
        score = load_metric("ridge")(_features(target), average_repetitions(target))
    assert np.isnan(score.raw[:, 3]).all() and score.attrs["units_excluded"] == 1
    expected = np.mean(np.nanmedian(score.raw, axis=1))
    assert score.value == pytest.approx(expected, abs=1e-15)
    with pytest.warns(ExcludedUnitsWarning):
        load_metric("pls", stratification_coord=None)(_features(target, n_feat=30), average_repetitions(target))


def test_fewer_stimuli_than_the_splits_need():
    target = _recordings(n_stim=20, n_obj=8)  # 2 test stimuli cannot cover 8 objects
    with pytest.raises(UserInputError, match=r"20 stimuli in 8 stratification groups cannot make 10 splits"):
        load_metric("ridge")(_features(target), average_repetitions(target))
    tiny = _recordings(n_stim=8, n_obj=2)
    with pytest.raises(UserInputError, match="too few"):
        load_metric("ridge", stratification_coord=None)(_features(tiny), average_repetitions(tiny))


def test_pls_refuses_fewer_features_than_components():
    target = _recordings()
    with pytest.raises(UserInputError, match="the model gives 10 features; pls needs at least 25"):
        load_metric("pls")(_features(target, n_feat=10), average_repetitions(target))


def test_infinite_model_responses_are_refused():
    target = _recordings()
    source = _features(target)
    source.values[2, 1] = np.inf
    with pytest.raises(UserInputError, match="1 model responses are NaN or infinite"):
        load_metric("pls", stratification_coord=None)(source, average_repetitions(target))


def _naive_internal_consistency(assembly: xr.DataArray) -> np.ndarray:
    """The protocol written plainly: per split, average each half per stimulus (NaN skipped), keep the
    stimuli seen in both, Pearson per neuroid, Spearman-Brown."""
    from sklearn.model_selection import ShuffleSplit

    reps = np.unique(assembly["repetition"].values)
    ids = np.asarray(assembly["stimulus_id"].values)
    stimuli = np.unique(ids)
    rows = []
    for first, second in ShuffleSplit(10, train_size=0.5, random_state=1).split(reps):
        halves = []
        for part in (first, second):
            keep = np.isin(assembly["repetition"].values, reps[part])
            means = np.full((len(stimuli), assembly.sizes["neuroid"]), np.nan)
            for i, s in enumerate(stimuli):
                chosen = assembly.values[keep & (ids == s)]
                if len(chosen):
                    means[i] = _nanmean(chosen)
            halves.append(means)
        both = ~(np.isnan(halves[0]).all(axis=1) | np.isnan(halves[1]).all(axis=1))
        r = pearson_per_column(halves[0][both], halves[1][both])
        rows.append(2 * r / (1 + r))
    return np.array(rows)


def _nanmean(values: np.ndarray) -> np.ndarray:
    counts = (~np.isnan(values)).sum(axis=0)
    sums = np.nansum(values, axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def test_internal_consistency_with_missing_presentations_and_nan_values():
    target = _recordings(n_stim=50, n_rep=7, n_neur=9)
    rng = np.random.default_rng(5)
    keep = rng.random(target.sizes["presentation"]) > 0.25  # 6-10-style unequal repetition counts
    uneven = target.isel(presentation=keep)
    values = uneven.values.copy()
    values[rng.random(values.shape) < 0.02] = np.nan
    uneven = uneven.copy(data=values)
    with pytest.warns(ExcludedUnitsWarning, match="NaN in the data"):
        ceiling = load_ceiling("internal_consistency")(uneven)
    np.testing.assert_allclose(ceiling.raw, _naive_internal_consistency(uneven), rtol=0, atol=1e-12)


def test_duplicate_presentations_are_refused():
    target = _recordings()
    duplicated = xr.concat([target, target.isel(presentation=[0])], dim="presentation")
    with pytest.raises(UserInputError, match=r"more than one presentation for some \(stimulus_id, repetition\)"):
        load_ceiling("internal_consistency")(duplicated)


def test_behavioural_metrics_name_missing_coordinates():
    trials = xr.DataArray(np.array(["a", "b"]), dims=("presentation",), coords={"stimulus_id": ("presentation", ["x", "y"])})
    with pytest.raises(UserInputError, match="coordinate\\(s\\) truth, sample_obj, dist_obj are missing"):
        load_ceiling("i2n_split_half")(trials)
    with pytest.raises(UserInputError, match="missing: subject, truth"):
        load_ceiling("error_consistency_subject_pairs")(trials)


def test_error_consistency_names_stimuli_without_a_model_choice():
    trials = xr.DataArray(
        np.array(["cat", "dog", "cat", "cat"]),
        dims=("presentation",),
        coords={
            "stimulus_id": ("presentation", ["i1", "i2", "i1", "i2"]),
            "subject": ("presentation", ["s1", "s1", "s2", "s2"]),
            "truth": ("presentation", ["cat", "dog", "cat", "dog"]),
        },
    )
    model = xr.DataArray(np.array(["cat"]), dims=("presentation",), coords={"stimulus_id": ("presentation", ["i1"])})
    with pytest.raises(UserInputError, match="1 data stimuli have no model choice: 'i2'"):
        load_metric("error_consistency")(model, trials)


def test_shape_bias_counts_only_cue_conflict_decisions():
    ids = ["cat1-dog2", "cat2-cat3", "dog1-cat4", "car1-dog3"]
    data = xr.DataArray(
        np.zeros(4),
        dims=("presentation",),
        coords={
            "stimulus_id": ("presentation", ids),
            "shape": ("presentation", ["cat", "cat", "dog", "car"]),
            "texture": ("presentation", ["dog", "cat", "cat", "dog"]),
        },
    )
    choices = xr.DataArray(
        np.array(["cat", "cat", "cat", "boat"]), dims=("presentation",), coords={"stimulus_id": ("presentation", ids)}
    )
    score = load_metric("shape_bias")(choices, data)
    # cat1-dog2: shape; cat2-cat3: no conflict, excluded; dog1-cat4: texture; car1-dog3: neither
    assert score.value == pytest.approx(0.5)
    assert score.attrs == {"shape_decisions": 1, "texture_decisions": 1}
