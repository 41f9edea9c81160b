"""Every parameter of the representational metrics, ceilings and new normalisations against an
independent computation: plain Python/numpy loops written from the definitions (Kriegeskorte 2008;
Nili et al. 2014; Kendall 1938), never the library's own helpers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import xarray as xr

from brainscore_registry import UserInputError
from brainscore_registry.metrics import load_ceiling, load_metric
from brainscore_registry.metrics.normalization import ceil_score
from brainscore_registry.metrics.score import Score

N_STIMULI, N_UNITS, N_SUBJECTS = 14, 9, 5
IDS = np.array([f"s{i:02d}" for i in range(N_STIMULI)])
RNG = np.random.default_rng(11)
FEATURES = RNG.standard_normal((N_STIMULI, N_UNITS)) * RNG.uniform(0.2, 3.0, N_UNITS) + RNG.uniform(-2, 2, N_UNITS)


# ---- the oracle -----------------------------------------------------------------------------------


def ranks(values) -> list[float]:
    """1-based ranks, ties given the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            result[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return result


def pearson(a, b) -> float:
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    num = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    return num / math.sqrt(sum((x - ma) ** 2 for x in a) * sum((y - mb) ** 2 for y in b))


def spearman(a, b) -> float:
    return pearson(ranks(a), ranks(b))


def kendall_tau_a(a, b) -> float:
    n, total = len(a), 0
    for i, j in itertools.combinations(range(n), 2):
        total += np.sign(a[i] - a[j]) * np.sign(b[i] - b[j])
    return total / (n * (n - 1) / 2)


def cosine(a, b) -> float:
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


COMPARE = {"spearman": spearman, "pearson": pearson, "kendall_tau_a": kendall_tau_a, "cosine": cosine}


def cells(matrix, which: str) -> list[float]:
    n = len(matrix)
    keep = {"upper": lambda i, j: j > i, "off_diagonal": lambda i, j: i != j, "all": lambda i, j: True}[which]
    return [float(matrix[i][j]) for i in range(n) for j in range(n) if keep(i, j)]


def distance(u, v, kind: str) -> float:
    if kind == "euclidean":
        return math.sqrt(sum((x - y) ** 2 for x, y in zip(u, v)))
    if kind == "cosine":
        return 1 - cosine(u, v)
    return 1 - pearson(u, v)


def rdm(features, kind: str = "correlation") -> list[list[float]]:
    """Distances between rows; d(u, u) = 0 exactly, as the definition says."""
    return [[0.0 if i == j else distance(u, v, kind) for j, v in enumerate(features)] for i, u in enumerate(features)]


def zscored(features: np.ndarray) -> np.ndarray:
    out = np.zeros_like(features)
    for k in range(features.shape[1]):
        column = features[:, k]
        sd = math.sqrt(sum((x - column.mean()) ** 2 for x in column) / len(column))
        out[:, k] = (column - column.mean()) / sd if sd > 0 else 0.0
    return out


# ---- inputs -------------------------------------------------------------------------------------


def subject_matrices(asymmetric: bool = False) -> np.ndarray:
    """Per-subject noisy versions of the features' RDM; asymmetric ones mimic split-data matrices."""
    base = np.array(rdm(FEATURES))
    rng = np.random.default_rng(5)
    out = []
    for _ in range(N_SUBJECTS):
        noise = rng.standard_normal((N_STIMULI, N_STIMULI)) * 0.3
        m = base + (noise if asymmetric else (noise + noise.T) / 2)
        if not asymmetric:
            np.fill_diagonal(m, 0.0)
        out.append(m)
    return np.stack(out)


def rdm_assembly(matrices: np.ndarray, measure: str | None = None) -> xr.DataArray:
    order = np.random.default_rng(3).permutation(N_STIMULI)  # stored in another order than the features
    da = xr.DataArray(
        np.moveaxis(matrices, 0, -1)[np.ix_(order, order)],
        dims=("stimulus_a", "stimulus_b", "subject"),
        coords={"stimulus_a": IDS[order], "stimulus_b": IDS[order], "subject": [f"h{i}" for i in range(N_SUBJECTS)]},
    )
    if measure:
        da.attrs["measure"] = measure
    return da


def features(values: np.ndarray = FEATURES) -> xr.DataArray:
    order = np.random.default_rng(4).permutation(N_STIMULI)
    return xr.DataArray(
        values[order],
        dims=("presentation", "neuroid"),
        coords={
            "stimulus_id": ("presentation", IDS[order]),
            "neuroid_id": ("neuroid", [f"u{k}" for k in range(values.shape[1])]),
        },
    )


# ---- rsa ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("comparison", list(COMPARE))
@pytest.mark.parametrize("which", ["upper", "off_diagonal", "all"])
def test_rsa_comparison_and_cells_match_the_definitions(comparison, which):
    matrices = subject_matrices(asymmetric=True)
    score = load_metric("rsa", comparison=comparison, cells=which)(features(), rdm_assembly(matrices))
    model = rdm(FEATURES)
    expected = [COMPARE[comparison](cells(model, which), cells(m, which)) for m in matrices]
    assert score.value == pytest.approx(np.mean(expected), abs=1e-12)
    assert np.asarray(score.raw)[0] == pytest.approx(expected, abs=1e-12)
    assert score.error == pytest.approx(np.std(expected) / math.sqrt(N_SUBJECTS), abs=1e-12)


def test_upper_cells_ignore_the_lower_half_and_off_diagonal_uses_it():
    symmetric, asymmetric = subject_matrices(), subject_matrices(asymmetric=True)
    mixed = np.triu(symmetric) + np.tril(asymmetric, k=-1)
    upper = load_metric("rsa")(features(), rdm_assembly(symmetric)).value
    assert load_metric("rsa")(features(), rdm_assembly(mixed)).value == pytest.approx(upper, abs=1e-15)
    both = load_metric("rsa", cells="off_diagonal")(features(), rdm_assembly(mixed)).value
    assert abs(both - upper) > 1e-3


@pytest.mark.parametrize("kind", ["correlation", "euclidean", "cosine"])
@pytest.mark.parametrize("zscore", [False, True])
def test_model_rdm_distance_and_zscoring_match_the_definitions(kind, zscore):
    matrices = subject_matrices()
    metric = load_metric("rsa", comparison="pearson", model_rdm={"distance": kind, "zscore_units": zscore})
    model = rdm(zscored(FEATURES) if zscore else FEATURES, kind)
    expected = np.mean([pearson(cells(model, "upper"), cells(m, "upper")) for m in matrices])
    assert metric(features(), rdm_assembly(matrices)).value == pytest.approx(expected, abs=1e-12)


def test_unit_selection_by_variance_and_at_random():
    matrices = subject_matrices()
    variances = FEATURES.var(axis=0)
    top = sorted(sorted(range(N_UNITS), key=lambda k: -variances[k])[:4])
    metric = load_metric("rsa", model_rdm={"units": {"method": "variance", "count": 4}})
    expected = np.mean([spearman(cells(rdm(FEATURES[:, top]), "upper"), cells(m, "upper")) for m in matrices])
    assert metric(features(), rdm_assembly(matrices)).value == pytest.approx(expected, abs=1e-12)
    random = load_metric("rsa", model_rdm={"units": {"method": "random", "count": 4, "seed": 3}})
    chosen = sorted(np.random.default_rng(3).permutation(N_UNITS)[:4])
    expected = np.mean([spearman(cells(rdm(FEATURES[:, chosen]), "upper"), cells(m, "upper")) for m in matrices])
    assert random(features(), rdm_assembly(matrices)).value == pytest.approx(expected, abs=1e-12)
    with pytest.raises(UserInputError, match="to use 40 units but the model has 9"):
        load_metric("rsa", model_rdm={"units": {"method": "random", "count": 40}})(features(), rdm_assembly(matrices))


def test_similarity_data_are_compared_as_one_minus_s():
    similarities = 1 - subject_matrices()
    metric = load_metric("rsa", comparison="cosine")
    expected = np.mean([cosine(cells(rdm(FEATURES), "upper"), cells(1 - s, "upper")) for s in similarities])
    score = metric(features(), rdm_assembly(similarities, measure="similarity"))
    assert score.value == pytest.approx(expected, abs=1e-12) and score.attrs["data_measure"] == "similarity"
    as_if_dissimilar = load_metric("rsa")(features(), rdm_assembly(similarities)).value  # the bug: read as dissimilarities
    assert as_if_dissimilar < 0 < load_metric("rsa")(features(), rdm_assembly(similarities, measure="similarity")).value


def test_defaults_are_the_original_rsa():
    """Spearman over the upper triangle of 1 − Pearson r, as every pinned spec was scored."""
    import scipy.stats

    matrices = subject_matrices()
    upper = np.triu_indices(N_STIMULI, k=1)
    model = 1 - np.corrcoef(FEATURES)
    expected = np.mean([scipy.stats.spearmanr(model[upper], m[upper])[0] for m in matrices])
    assert load_metric("rsa")(features(), rdm_assembly(matrices)).value == expected


def test_a_constant_model_rdm_is_undefined_not_zero():
    flat = np.ones((N_STIMULI, N_UNITS))
    score = load_metric("rsa", comparison="kendall_tau_a", model_rdm={"distance": "euclidean"})(
        features(flat), rdm_assembly(subject_matrices())
    )
    assert math.isnan(score.value)


@pytest.mark.parametrize(
    "params, field",
    [
        ({"comparison": "spearmann"}, "comparison"),
        ({"cells": "lower"}, "cells"),
        ({"model_rdm": {"distance": "manhattan"}}, "distance"),
        ({"model_rdm": {"zscore": True}}, "model_rdm.zscore"),
        ({"model_rdm": {"zscore_units": "yes"}}, "model_rdm.zscore_units"),
        ({"model_rdm": {"units": {"method": "pca", "count": 3}}}, "model_rdm.units.method"),
        ({"model_rdm": {"units": {"method": "random", "count": 1}}}, "model_rdm.units.count"),
        ({"model_rdm": "correlation"}, "model_rdm"),
    ],
)
def test_bad_parameters_name_the_field(params, field):
    with pytest.raises(UserInputError) as error:
        load_metric("rsa", **params)
    assert error.value.field == field


# ---- ceilings -----------------------------------------------------------------------------------


@pytest.mark.parametrize("comparison", ["spearman", "kendall_tau_a"])
@pytest.mark.parametrize("bound", ["upper", "lower"])
def test_noise_ceiling_bounds(comparison, bound):
    matrices = subject_matrices(asymmetric=True)
    ceiling = load_ceiling("rsa_noise_ceiling", comparison=comparison, cells="off_diagonal", bound=bound)(rdm_assembly(matrices))
    mean_all = matrices.mean(axis=0)
    upper = [COMPARE[comparison](cells(m, "off_diagonal"), cells(mean_all, "off_diagonal")) for m in matrices]
    lower = [
        COMPARE[comparison](cells(m, "off_diagonal"), cells(np.delete(matrices, i, axis=0).mean(axis=0), "off_diagonal"))
        for i, m in enumerate(matrices)
    ]
    chosen = upper if bound == "upper" else lower
    assert ceiling.value == pytest.approx(np.mean(chosen), abs=1e-12)
    assert ceiling.error == pytest.approx(np.std(chosen) / math.sqrt(N_SUBJECTS), abs=1e-12)
    assert ceiling.attrs["lower_bound"] == pytest.approx(np.mean(lower), abs=1e-12)
    assert ceiling.attrs["lower_bound"] < ceiling.attrs["upper_bound"]


def test_split_half_ceiling_is_spearman_brown_corrected():
    matrices = subject_matrices()
    ceiling = load_ceiling("rsa_split_half", comparison="pearson", n_splits=7, random_state=2)(rdm_assembly(matrices))
    rng, corrected = np.random.default_rng(2), []
    for _ in range(7):
        order = rng.permutation(N_SUBJECTS)  # subjects in sorted order: h0..h4
        a, b = matrices[order[:2]].mean(axis=0), matrices[order[2:]].mean(axis=0)
        r = pearson(cells(a, "upper"), cells(b, "upper"))
        corrected.append(2 * r / (1 + r))
    assert ceiling.value == pytest.approx(np.mean(corrected), abs=1e-12)
    assert ceiling.error == pytest.approx(np.std(corrected), abs=1e-12)


# ---- rdm and rdm_cv -----------------------------------------------------------------------------


def recordings() -> xr.DataArray:
    values = FEATURES @ np.random.default_rng(8).standard_normal((N_UNITS, 6)) + np.random.default_rng(9).standard_normal(
        (N_STIMULI, 6)
    )
    return xr.DataArray(
        values,
        dims=("presentation", "neuroid"),
        coords={
            "stimulus_id": ("presentation", IDS),
            "object_name": ("presentation", [f"o{i % 2}" for i in range(N_STIMULI)]),
            "neuroid_id": ("neuroid", [f"n{k}" for k in range(6)]),
        },
    )


@pytest.mark.parametrize("comparison", list(COMPARE))
@pytest.mark.parametrize("kind", ["correlation", "euclidean", "cosine"])
def test_rdm_comparison_and_distance(comparison, kind):
    score = load_metric("rdm", comparison=comparison, distance=kind)(features(), recordings())
    expected = COMPARE[comparison](cells(rdm(FEATURES, kind), "upper"), cells(rdm(recordings().values, kind), "upper"))
    assert score.value == pytest.approx(expected, abs=1e-12)


def test_rdm_cv_takes_the_same_options_on_each_split():
    from sklearn.model_selection import ShuffleSplit

    metric = load_metric("rdm_cv", comparison="pearson", distance="euclidean", n_splits=3, stratification_coord=None)
    score = metric(features(), recordings())
    expected = []
    for _, test in ShuffleSplit(3, test_size=0.9, random_state=1).split(np.zeros(N_STIMULI)):
        keep = sorted(test, key=lambda i: IDS[i])
        expected.append(
            pearson(cells(rdm(FEATURES[keep], "euclidean"), "upper"), cells(rdm(recordings().values[keep], "euclidean"), "upper"))
        )
    assert np.asarray(score.raw)[:, 0] == pytest.approx(expected, abs=1e-12)


# ---- normalisations -----------------------------------------------------------------------------


def _score(value: float, error: float = 0.02) -> Score:
    return Score(value, error, np.array([[value]]), (), {})


def test_squared_raw_over_ceiling_and_its_sign_warning():
    ceiled = ceil_score(_score(0.3), _score(0.6), "squared_raw_over_ceiling")
    assert ceiled.value == pytest.approx(0.25, abs=1e-15) and ceiled.error == pytest.approx(2 * 0.3 * 0.02 / 0.36, abs=1e-15)
    assert ceiled.warnings == ()
    negative = ceil_score(_score(-0.3), _score(0.6), "squared_raw_over_ceiling")
    assert negative.value == pytest.approx(0.25) and "negative" in negative.warnings[0]
    assert "negative" in ceil_score(_score(-0.3), _score(0.6), "r2_over_ceiling").warnings[0]


def test_chance_corrected_over_ceiling():
    ceiled = ceil_score(_score(0.55), _score(0.6767), "chance_corrected_over_ceiling", {"chance": 1 / 3})
    assert ceiled.value == pytest.approx((0.55 - 1 / 3) / (0.6767 - 1 / 3), abs=1e-15)
    assert ceil_score(_score(0.2), _score(0.6767), "chance_corrected_over_ceiling", {"chance": 1 / 3}).value == 0.0
    with pytest.raises(UserInputError, match="needs chance"):
        ceil_score(_score(0.5), _score(0.6), "chance_corrected_over_ceiling")
    with pytest.raises(UserInputError, match=r"must be a number in \[0, 1\)"):
        ceil_score(_score(0.5), _score(0.6), "chance_corrected_over_ceiling", {"chance": 1.5})
