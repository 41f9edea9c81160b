"""Representational similarity analysis against per-subject RDMs, with a noise ceiling.

`rsa(model, data)`: the model's RDM (1 − Pearson r between its stimulus rows, or a square model RDM
given as `stimulus_a × stimulus_b`) against each subject's RDM of a similarity assembly
(`stimulus_a × stimulus_b × subject`, dissimilarities): Spearman ρ of the upper triangles per subject;
score = mean over subjects, error = std over subjects (ddof=0) / √subjects. This is how rsatoolbox
evaluates a fixed model (the mean of per-subject correlations), with an analytic error instead of its
bootstrap.

`rsa_noise_ceiling(data)` (Nili et al. 2014; rsatoolbox; brainscore-vision 2.4.2's `rsa_ceiling`):
upper bound = mean over subjects of ρ(subject, mean RDM of all subjects), lower bound = the same
against the mean of the other subjects (leave one subject out). The upper bound is the value used to
normalise (a model cannot beat it); the lower bound is in attrs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import UserInputError, preview
from .alignment import align_by_stimulus, check_finite, require_dims
from .contract import Ceiling, Metric
from .score import Score

if TYPE_CHECKING:
    import xarray as xr


def upper_triangle(matrix: np.ndarray) -> np.ndarray:
    return matrix[np.triu_indices(matrix.shape[0], k=1)]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    import scipy.stats

    return float(scipy.stats.spearmanr(a, b)[0])


def subject_rdms(target: xr.DataArray) -> tuple[np.ndarray, list[str], np.ndarray]:
    """(sorted stimulus ids, sorted subjects, subjects × n × n dissimilarities)."""
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
    _refuse_nan(values, subjects[by_subject])
    return ids_a[order_a], list(subjects[by_subject]), values


def _refuse_nan(rdms: np.ndarray, subjects: np.ndarray) -> None:
    """NaN above the diagonal (the part compared) would make a subject's ρ NaN, and the mean with it."""
    upper = np.triu_indices(rdms.shape[1], k=1)
    bad = np.isnan(rdms[:, upper[0], upper[1]]).any(axis=1)
    if bad.any():
        raise UserInputError(
            f"the RDMs of {int(bad.sum())} subject(s) have NaN dissimilarities above the diagonal: {preview(subjects[bad])}",
            field="subject",
            fix="give every subject a dissimilarity for every stimulus pair, or leave that subject out",
        )


def model_rdm(source: xr.DataArray, stimuli: np.ndarray) -> np.ndarray:
    """The model's RDM over `stimuli` (sorted ids): from `presentation × unit` features, or given.
    Model stimuli the data lack are ignored."""
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
    return 1 - np.corrcoef(values)


class RSA(Metric):
    """The model's RDM against each subject's: Spearman ρ of the upper triangles, mean over subjects."""

    source_kind = "rdm_or_features"
    target_kind = "rdms"

    def __call__(self, source: xr.DataArray, target: xr.DataArray) -> Score:
        stimuli, subjects, rdms = subject_rdms(target)
        model = upper_triangle(model_rdm(source, stimuli))
        per_subject = np.array([spearman(model, upper_triangle(r)) for r in rdms])
        error = per_subject.std() / np.sqrt(len(per_subject)) if len(per_subject) > 1 else float("nan")  # one RDM: no spread
        return Score(float(per_subject.mean()), float(error), per_subject[None, :], tuple(subjects), {"comparison": "spearman"})


def rsa(source: xr.DataArray, target: xr.DataArray) -> Score:
    """`RSA()(source, target)`, for callers that use a plain function."""
    return RSA()(source, target)


def noise_ceiling(rdms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per subject: (ρ with the mean of the others, ρ with the mean of all)."""
    mean_all = upper_triangle(rdms.mean(axis=0))
    lower, upper = [], []
    for i, rdm in enumerate(rdms):
        others = np.delete(rdms, i, axis=0).mean(axis=0)
        lower.append(spearman(upper_triangle(rdm), upper_triangle(others)))
        upper.append(spearman(upper_triangle(rdm), mean_all))
    return np.array(lower), np.array(upper)


class RSANoiseCeiling(Ceiling):
    """Upper bound (the value) and lower bound (in attrs) of the RSA any model could reach."""

    target_kind = "rdms"

    def __call__(self, target: xr.DataArray) -> Score:
        _, subjects, rdms = subject_rdms(target)
        if len(subjects) < 2:
            raise UserInputError(
                f"a noise ceiling needs at least 2 subjects' RDMs, the data have {len(subjects)}",
                field="subject",
                fix="pin a ceiling value in the benchmark spec instead",
            )
        lower, upper = noise_ceiling(rdms)
        return Score(
            float(upper.mean()),
            float(upper.std() / np.sqrt(len(upper))),
            np.stack([lower, upper]),
            tuple(subjects),
            {
                "method": "rsa_noise_ceiling",
                "lower_bound": float(lower.mean()),
                "upper_bound": float(upper.mean()),
                "rows": ["lower", "upper"],
            },
        )
