"""Error consistency (Geirhos et al. 2020, as Brain-Score computes it): do a model and a human get
the same images wrong, beyond what their accuracies predict by chance?

Per subject and condition (both sorted), over that subject's trials sorted by stimulus_id: Cohen's κ
between the model's and the subject's correct/incorrect pattern,
p_exp = a_m·a_s + (1 − a_m)(1 − a_s), p_obs = fraction of trials where both are right or both wrong,
κ = (p_obs − p_exp) / (1 − p_exp). Score = |mean over subjects of the mean over conditions| (NaN cells
skipped, as xarray's mean does); error = std (ddof=0) over all subject × condition cells. The ceiling is
the same statistic over every pair of subjects (`itertools.combinations` of the sorted subjects).
Quirk followed: κ is NaN when both are always right (p_exp = 1), and such cells are skipped.
"""

from __future__ import annotations

import itertools

import numpy as np
import xarray as xr

from ..errors import UserInputError, preview
from .data import nan_results_expected
from .score import Score


def cohens_kappa(correct_a: np.ndarray, correct_b: np.ndarray) -> float:
    accuracy_a, accuracy_b = correct_a.mean(), correct_b.mean()
    expected = accuracy_a * accuracy_b + (1 - accuracy_a) * (1 - accuracy_b)
    observed = (correct_a == correct_b).sum() / len(correct_b)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.float64(observed - expected) / np.float64(1.0 - expected))


class _Trials:
    """One row per trial: subject, condition, stimulus_id, truth, choice (strings)."""

    def __init__(self, target: xr.DataArray) -> None:
        missing = [c for c in ("stimulus_id", "subject") if c not in target.coords]
        truth = "truth" if "truth" in target.coords else "label" if "label" in target.coords else None
        if missing or truth is None:
            raise UserInputError(
                f"error consistency needs trials with coordinates stimulus_id, subject and truth; missing: "
                f"{', '.join(missing + ([] if truth else ['truth']))}",
                field=(missing or ["truth"])[0],
                fix="give each trial its stimulus_id, subject and correct label (truth)",
            )
        n = target.sizes["presentation"]
        self.stimulus = np.asarray(target["stimulus_id"].values).astype(str)
        self.subject = np.asarray(target["subject"].values).astype(str)
        self.condition = np.asarray(target["condition"].values).astype(str) if "condition" in target.coords else np.full(n, "")
        self.truth = np.asarray(target[truth].values).astype(str)
        self.choice = np.asarray(target.values).astype(str)

    def cells(self):
        """(subject, condition, trial rows sorted by stimulus_id) for every sorted subject × condition."""
        for subject in sorted(set(self.subject)):
            for condition in sorted(set(self.condition)):
                rows = np.flatnonzero((self.subject == subject) & (self.condition == condition))
                yield subject, condition, rows[np.argsort(self.stimulus[rows], kind="stable")]

    def correct(self, rows: np.ndarray) -> np.ndarray:
        return self.choice[rows] == self.truth[rows]


def _model_choices(source: xr.DataArray) -> dict[str, str]:
    if "stimulus_id" not in source.coords:
        raise UserInputError(
            "model choices need a stimulus_id coordinate", field="stimulus_id", fix="run the model with the 'label' task"
        )
    return dict(zip(np.asarray(source["stimulus_id"].values).astype(str), np.asarray(source.values).astype(str)))


def _aggregate(cells: np.ndarray, labels: tuple[str, ...], **attrs) -> Score:
    """|mean over the first axis of the mean over the second| (NaN skipped); error = std over all cells."""
    with nan_results_expected():
        value = abs(np.nanmean(np.nanmean(cells, axis=1)))
        error = np.nanstd(cells)
    return Score(float(value), float(error), cells, labels, attrs)


class ErrorConsistency:
    """`metric(model_choices, human_trials) -> Score`; `.ceiling(human_trials) -> Score`."""

    def __call__(self, source: xr.DataArray, target: xr.DataArray) -> Score:
        trials, model = _Trials(target), _model_choices(source)
        missing = sorted(set(trials.stimulus) - set(model))
        if missing:
            raise UserInputError(
                f"{len(missing)} data stimuli have no model choice: {preview(missing)}",
                field="stimulus_id",
                fix="compute the model's choices for exactly the benchmark's stimuli",
            )
        subjects, conditions = sorted(set(trials.subject)), sorted(set(trials.condition))
        cells = np.full((len(subjects), len(conditions)), np.nan)
        for subject, condition, rows in trials.cells():
            if len(rows):
                model_correct = np.array([model[s] for s in trials.stimulus[rows]]) == trials.truth[rows]
                cells[subjects.index(subject), conditions.index(condition)] = cohens_kappa(model_correct, trials.correct(rows))
        return _aggregate(cells, tuple(subjects), conditions=conditions)

    def ceiling(self, target: xr.DataArray) -> Score:
        trials = _Trials(target)
        subjects, conditions = sorted(set(trials.subject)), sorted(set(trials.condition))
        rows_of = {(s, c): rows for s, c, rows in trials.cells()}
        pairs = list(itertools.combinations(subjects, 2))
        cells = np.full((len(pairs), len(conditions)), np.nan)
        for i, (left, right) in enumerate(pairs):
            for j, condition in enumerate(conditions):
                a, b = rows_of[(left, condition)], rows_of[(right, condition)]
                if len(a) == 0 or len(b) == 0:
                    continue
                if not np.array_equal(trials.stimulus[a], trials.stimulus[b]):
                    raise UserInputError(
                        f"subjects {left} and {right} saw different images in condition {condition!r}",
                        field="stimulus_id",
                        fix="the subject-pair ceiling needs every subject to see the same images once per condition",
                    )
                cells[i, j] = cohens_kappa(trials.correct(a), trials.correct(b))
        return _aggregate(cells, tuple(f"{a}|{b}" for a, b in pairs), conditions=conditions, method="subject_pairs")
