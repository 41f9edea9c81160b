"""Representational similarity analysis against per-subject RDMs, with noise ceilings.

`rsa(model, data)`: the model's RDM (made as `model_rdm` says: 1 − Pearson r between its stimulus
rows by default; or a square model RDM given as `stimulus_a × stimulus_b`) against each subject's
matrix of a similarity assembly (`stimulus_a × stimulus_b × subject`), compared over `cells` with
`comparison` (rdms.py: Spearman ρ over the upper triangle by default); score = mean over subjects,
error = std over subjects (ddof=0) / √subjects. This is how rsatoolbox evaluates a fixed model (the
mean of per-subject comparisons), with an analytic error instead of its bootstrap. Data registered as
similarities (`attrs["measure"] == "similarity"`) are compared as dissimilarities 1 − s.

Noise ceilings, with the metric's own comparison and cells:
- `rsa_noise_ceiling` (Nili et al. 2014; rsatoolbox; brainscore-vision 2.4.2's `rsa_ceiling`):
  `bound: upper` = mean over subjects of the comparison of the subject with the mean matrix of all
  subjects (the subject is in the mean, so no model can beat it on average); `bound: lower` = the same
  against the mean of the *other* subjects (leave one subject out: what a perfect model of the group
  reaches at least). Both bounds are in attrs; the value is the one `bound` names.
- `rsa_split_half`: subjects split at random into two halves (`n_splits` draws), the comparison of
  the two half-mean matrices, Spearman–Brown corrected to the full group (2r / (1 + r)); mean over
  draws, error = std over draws (ddof=0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import UserInputError, preview
from .alignment import align_by_stimulus, check_finite, require_dims
from .contract import MAX_SEED, MAX_SPLITS, Ceiling, Metric, int_parameter
from .rdms import (
    as_dissimilarities,
    cell_mask,
    cells_of,
    cells_parameter,
    compare_rdms,
    comparison_parameter,
    model_rdm_parameter,
)
from .score import Score

if TYPE_CHECKING:
    import xarray as xr

BOUNDS = ("upper", "lower")


def upper_triangle(matrix: np.ndarray) -> np.ndarray:
    return cells_of(matrix, "upper")


def data_measure(target: xr.DataArray) -> str:
    """What the data's matrices hold: `attrs["measure"]`, dissimilarity when not said (the registry's
    default for similarity assemblies registered before the field existed)."""
    return str(target.attrs.get("measure") or "dissimilarity")


def subject_rdms(target: xr.DataArray, cells: str = "upper") -> tuple[np.ndarray, list[str], np.ndarray]:
    """(sorted stimulus ids, subjects in sorted order, subjects × n × n dissimilarities)."""
    missing = [d for d in ("stimulus_a", "stimulus_b", "subject") if d not in target.dims]
    if missing:
        raise UserInputError(
            f"rsa needs a similarity assembly with dims stimulus_a × stimulus_b × subject; missing {', '.join(missing)}",
            field=missing[0],
            fix="register the per-subject RDMs as a similarity assembly",
        )
    require_dims(target, ("stimulus_a", "stimulus_b", "subject"), who="the RDMs", fix="give one RDM per subject")
    target = target.transpose("subject", "stimulus_a", "stimulus_b")
    ids_a = np.asarray(target["stimulus_a"].values).astype(str)
    ids_b = np.asarray(target["stimulus_b"].values).astype(str)
    order_a, order_b = np.argsort(ids_a, kind="stable"), np.argsort(ids_b, kind="stable")
    if not np.array_equal(ids_a[order_a], ids_b[order_b]):
        raise UserInputError(
            "the RDM's two stimulus axes list different stimuli", field="stimulus_b", fix="index both axes by the same ids"
        )
    subjects = np.asarray(target["subject"].values).astype(str)
    by_subject = np.argsort(subjects, kind="stable")
    values = np.asarray(target.values, dtype=np.float64)[by_subject][:, order_a][:, :, order_b]
    _refuse_nan(values, subjects[by_subject], cells)
    return ids_a[order_a], list(subjects[by_subject]), as_dissimilarities(values, data_measure(target))


def _refuse_nan(rdms: np.ndarray, subjects: np.ndarray, cells: str) -> None:
    """NaN in a compared cell would make a subject's comparison NaN, and the mean with it."""
    bad = np.isnan(rdms[:, cell_mask(rdms.shape[1], cells)]).any(axis=1)
    if bad.any():
        where = {"upper": " above the diagonal", "off_diagonal": " off the diagonal", "all": ""}[cells]
        raise UserInputError(
            f"the RDMs of {int(bad.sum())} subject(s) have NaN values{where} (cells: {cells}): {preview(subjects[bad])}",
            field="subject",
            fix="give every subject a value for every compared cell, compare fewer cells, or leave that subject out",
        )


def model_rdm(source: xr.DataArray, stimuli: np.ndarray, make_rdm=None) -> np.ndarray:
    """The model's RDM over `stimuli` (sorted ids): from `presentation × unit` features (by
    `make_rdm`, the correlation distance by default), or given. Model stimuli the data lack are ignored."""
    if "stimulus_a" in source.dims:
        require_dims(source, ("stimulus_a", "stimulus_b"), who="model RDMs", fix="give the model RDM as stimulus_a × stimulus_b")
        given = source.transpose("stimulus_a", "stimulus_b")
        rows = align_by_stimulus(given, stimuli, extra="ignore", dim="stimulus_a", coord="stimulus_a")
        columns = align_by_stimulus(given, stimuli, extra="ignore", dim="stimulus_b", coord="stimulus_b")
        values = np.asarray(given.values, dtype=np.float64)[np.ix_(rows, columns)]
        check_finite(upper_triangle(values), noun="dissimilarities")
        return values
    require_dims(
        source, ("presentation",), who="model responses", fix="give features as presentation × ... or an RDM", exact=False
    )
    rows = align_by_stimulus(source, stimuli, extra="ignore")
    values = np.asarray(source.transpose("presentation", ...).values)
    values = values.reshape(len(values), -1)[rows]
    check_finite(values)
    return (make_rdm or model_rdm_parameter("rsa", None))(values)


def exactly_symmetric(rdm: np.ndarray) -> np.ndarray:
    """A computed RDM with d(i, j) == d(j, i) and d(i, i) == 0 bit for bit: `np.corrcoef` and friends round
    the two halves differently (by an ulp), which would break the ties a rank comparison of both halves
    (`cells: off_diagonal | all`) must see. The upper triangle alone is read as computed."""
    symmetric = (rdm + rdm.T) / 2
    np.fill_diagonal(symmetric, 0.0)
    return symmetric


class RSA(Metric):
    """The model's RDM against each subject's: `comparison` over `cells`, mean over subjects."""

    source_kind = "rdm_or_features"
    target_kind = "rdms"

    def __init__(self, comparison: str = "spearman", cells: str = "upper", model_rdm: dict | None = None) -> None:
        self.comparison = comparison_parameter("metric 'rsa'", comparison)
        self.cells = cells_parameter("metric 'rsa'", cells)
        self.model_rdm = model_rdm
        self._make_rdm = model_rdm_parameter("metric 'rsa'", model_rdm)

    def __call__(self, source: xr.DataArray, target: xr.DataArray) -> Score:
        stimuli, subjects, rdms = subject_rdms(target, self.cells)
        model = model_rdm(source, stimuli, self._make_rdm)
        if self.cells != "upper" and "stimulus_a" not in source.dims:  # computed here, not given by the model
            model = exactly_symmetric(model)
        per_subject = np.array([compare_rdms(model, r, self.comparison, self.cells) for r in rdms])
        error = per_subject.std() / np.sqrt(len(per_subject)) if len(per_subject) > 1 else float("nan")  # one RDM: no spread
        attrs = {"comparison": self.comparison, "cells": self.cells, "data_measure": data_measure(target)}
        return Score(float(per_subject.mean()), float(error), per_subject[None, :], tuple(subjects), attrs)


def rsa(source: xr.DataArray, target: xr.DataArray) -> Score:
    """`RSA()(source, target)`, for callers that use a plain function."""
    return RSA()(source, target)


def noise_ceiling(rdms: np.ndarray, comparison: str = "spearman", cells: str = "upper") -> tuple[np.ndarray, np.ndarray]:
    """Per subject: (comparison with the mean of the others, with the mean of all)."""
    mean_all = rdms.mean(axis=0)
    lower, upper = [], []
    for i, rdm in enumerate(rdms):
        others = np.delete(rdms, i, axis=0).mean(axis=0)
        lower.append(compare_rdms(rdm, others, comparison, cells))
        upper.append(compare_rdms(rdm, mean_all, comparison, cells))
    return np.array(lower), np.array(upper)


def _at_least_two(subjects: list[str]) -> None:
    if len(subjects) < 2:
        raise UserInputError(
            f"a noise ceiling needs at least 2 subjects' RDMs, the data have {len(subjects)}",
            field="subject",
            fix="pin a ceiling value in the benchmark spec instead",
        )


class RSANoiseCeiling(Ceiling):
    """Nili et al.'s bounds of the RSA any model could reach: the value is the `bound` asked for."""

    target_kind = "rdms"

    def __init__(self, comparison: str = "spearman", cells: str = "upper", bound: str = "upper") -> None:
        self.comparison = comparison_parameter("ceiling 'rsa_noise_ceiling'", comparison)
        self.cells = cells_parameter("ceiling 'rsa_noise_ceiling'", cells)
        if bound not in BOUNDS:
            raise UserInputError(
                f"The 'bound' parameter of ceiling 'rsa_noise_ceiling' must be upper or lower. Got {bound!r} instead.",
                field="bound",
                fix="bound: upper (subject vs the mean of all) or lower (vs the mean of the others: leave one subject out)",
            )
        self.bound = bound

    def __call__(self, target: xr.DataArray) -> Score:
        _, subjects, rdms = subject_rdms(target, self.cells)
        _at_least_two(subjects)
        lower, upper = noise_ceiling(rdms, self.comparison, self.cells)
        chosen = upper if self.bound == "upper" else lower
        return Score(
            float(chosen.mean()),
            float(chosen.std() / np.sqrt(len(chosen))),
            np.stack([lower, upper]),
            tuple(subjects),
            {
                "method": "rsa_noise_ceiling",
                "bound": self.bound,
                "comparison": self.comparison,
                "cells": self.cells,
                "lower_bound": float(lower.mean()),
                "upper_bound": float(upper.mean()),
                "rows": ["lower", "upper"],
            },
        )


def spearman_brown(r: np.ndarray) -> np.ndarray:
    """The reliability of the whole from that of two halves: 2r / (1 + r)."""
    return 2 * r / (1 + r)


class RSASplitHalf(Ceiling):
    """The comparison of two random halves of the subjects' mean matrices, Spearman–Brown corrected."""

    target_kind = "rdms"

    def __init__(self, comparison: str = "spearman", cells: str = "upper", n_splits: int = 100, random_state: int = 0) -> None:
        owner = "ceiling 'rsa_split_half'"
        self.comparison = comparison_parameter(owner, comparison)
        self.cells = cells_parameter(owner, cells)
        self.n_splits = int_parameter(owner, "n_splits", n_splits, 1, MAX_SPLITS)
        self.random_state = int_parameter(owner, "random_state", random_state, 0, MAX_SEED)

    def __call__(self, target: xr.DataArray) -> Score:
        _, subjects, rdms = subject_rdms(target, self.cells)
        _at_least_two(subjects)
        rng = np.random.default_rng(self.random_state)
        half = len(subjects) // 2
        report = self.report("rsa_split_half: splits", self.n_splits)
        halves = []
        for done in range(1, self.n_splits + 1):
            order = rng.permutation(len(subjects))
            a, b = rdms[order[:half]].mean(axis=0), rdms[order[half:]].mean(axis=0)
            halves.append(compare_rdms(a, b, self.comparison, self.cells))
            report(done)
        corrected = spearman_brown(np.array(halves))
        return Score(
            float(corrected.mean()),
            float(corrected.std()),
            corrected[:, None],
            (),
            {"method": "rsa_split_half", "comparison": self.comparison, "cells": self.cells, "half_size": half},
        )
