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

import numpy as np
import scipy.stats
import xarray as xr

from ..errors import UserInputError, preview
from .score import Score


def upper_triangle(matrix: np.ndarray) -> np.ndarray:
    return matrix[np.triu_indices(matrix.shape[0], k=1)]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
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
    return ids_a[order_a], list(subjects[by_subject]), values


def model_rdm(source: xr.DataArray, stimuli: np.ndarray) -> np.ndarray:
    """The model's RDM over `stimuli` (sorted ids): from `presentation × unit` features, or given."""
    if "stimulus_a" in source.dims:
        given = source.transpose("stimulus_a", "stimulus_b")
        rows = _rows(np.asarray(given["stimulus_a"].values).astype(str), stimuli)
        columns = _rows(np.asarray(given["stimulus_b"].values).astype(str), stimuli)
        return np.asarray(given.values, dtype=np.float64)[np.ix_(rows, columns)]
    values = np.asarray(source.transpose("presentation", ...).values)
    rows = _rows(np.asarray(source["stimulus_id"].values).astype(str), stimuli)
    return 1 - np.corrcoef(values.reshape(len(values), -1)[rows])


def _rows(ids: np.ndarray, stimuli: np.ndarray) -> np.ndarray:
    index = {s: i for i, s in enumerate(ids)}
    missing = [s for s in stimuli if s not in index]
    if missing:
        raise UserInputError(
            f"{len(missing)} data stimuli have no model response: {preview(missing)}",
            field="stimulus_id",
            fix="compute model responses for exactly the benchmark's stimuli",
        )
    return np.array([index[s] for s in stimuli], dtype=int)


def rsa(source: xr.DataArray, target: xr.DataArray) -> Score:
    stimuli, subjects, rdms = subject_rdms(target)
    model = upper_triangle(model_rdm(source, stimuli))
    per_subject = np.array([spearman(model, upper_triangle(r)) for r in rdms])
    error = per_subject.std() / np.sqrt(len(per_subject)) if len(per_subject) > 1 else float("nan")  # one RDM: no spread
    return Score(float(per_subject.mean()), float(error), per_subject[None, :], tuple(subjects), {"comparison": "spearman"})


def noise_ceiling(rdms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per subject: (ρ with the mean of the others, ρ with the mean of all)."""
    mean_all = upper_triangle(rdms.mean(axis=0))
    lower, upper = [], []
    for i, rdm in enumerate(rdms):
        others = np.delete(rdms, i, axis=0).mean(axis=0)
        lower.append(spearman(upper_triangle(rdm), upper_triangle(others)))
        upper.append(spearman(upper_triangle(rdm), mean_all))
    return np.array(lower), np.array(upper)


def rsa_noise_ceiling(target: xr.DataArray) -> Score:
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
