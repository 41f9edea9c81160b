"""Error consistency (Geirhos et al. 2020, as Brain-Score computes it): do a model and a human get
the same images wrong, beyond what their accuracies predict by chance?

Per subject and condition (both sorted), over that subject's trials sorted by stimulus_id: Cohen's κ
between the model's and the subject's correct/incorrect pattern,
p_exp = a_m·a_s + (1 − a_m)(1 − a_s), p_obs = fraction of trials where both are right or both wrong,
κ = (p_obs − p_exp) / (1 − p_exp). Score = |mean over subjects of the mean over conditions| (NaN cells
skipped, as xarray's mean does); error = std (ddof=0) over all subject × condition cells. The ceiling is
the same statistic over every pair of subjects (`itertools.combinations` of the sorted subjects).
Quirk followed: κ is NaN when both are always right (p_exp = 1), and such cells are skipped.
A missing model choice (None or NaN) counts as wrong; human trials without a choice are refused.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np

from ..errors import UserInputError
from .alignment import align_by_stimulus, refuse_missing_choices, require_dims
from .contract import Ceiling, Metric
from .data import nan_results_expected
from .score import Score

if TYPE_CHECKING:
    import xarray as xr


def cohens_kappa(correct_a: np.ndarray, correct_b: np.ndarray) -> float:
    accuracy_a, accuracy_b = correct_a.mean(), correct_b.mean()
    expected = accuracy_a * accuracy_b + (1 - accuracy_a) * (1 - accuracy_b)
    observed = (correct_a == correct_b).sum() / len(correct_b)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.float64(observed - expected) / np.float64(1.0 - expected))


class _Trials:
    """One row per trial: subject, condition, stimulus_id, truth, choice (strings)."""

    def __init__(self, target: xr.DataArray) -> None:
        require_dims(target, ("presentation",), who="the trials", fix="give one choice per presentation")
        missing = [c for c in ("stimulus_id", "subject") if not _along_presentation(target, c)]
        truth = "truth" if _along_presentation(target, "truth") else "label" if _along_presentation(target, "label") else None
        if missing or truth is None:
            raise UserInputError(
                f"error consistency needs trials with coordinates stimulus_id, subject and truth; missing: "
                f"{', '.join(missing + ([] if truth else ['truth']))}",
                field=(missing or ["truth"])[0],
                fix="give each trial its stimulus_id, subject and correct label (truth)",
            )
        refuse_missing_choices(target.values, who="trials")
        n = target.sizes["presentation"]
        self.stimulus = np.asarray(target["stimulus_id"].values).astype(str)
        self.subject = np.asarray(target["subject"].values).astype(str)
        conditions = _along_presentation(target, "condition")
        self.condition = np.asarray(target["condition"].values).astype(str) if conditions else np.full(n, "")
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


def _along_presentation(array: xr.DataArray, coord: str) -> bool:
    return coord in array.coords and array[coord].dims == ("presentation",)


def _model_choices(source: xr.DataArray, stimuli: np.ndarray) -> dict[str, str]:
    """The model's choice per data stimulus (stimuli the data lack are ignored)."""
    require_dims(source, ("presentation",), who="model choices", fix="run the model with the 'label' task")
    ids = np.unique(stimuli)
    rows = align_by_stimulus(source, ids, extra="ignore", noun="choice")
    return dict(zip(ids, np.asarray(source.values).astype(str)[rows]))


def _aggregate(cells: np.ndarray, labels: tuple[str, ...], **attrs) -> Score:
    """|mean over the first axis of the mean over the second| (NaN skipped); error = std over all cells."""
    with nan_results_expected():
        value = abs(np.nanmean(np.nanmean(cells, axis=1)))
        error = np.nanstd(cells)
    return Score(float(value), float(error), cells, labels, attrs)


class ErrorConsistency(Metric):
    """`metric(model_choices, human_trials) -> Score`; `.ceiling(human_trials) -> Score`."""

    source_kind = "choices"
    target_kind = "subject_trials"

    def __call__(self, source: xr.DataArray, target: xr.DataArray) -> Score:
        trials = _Trials(target)
        model = _model_choices(source, trials.stimulus)
        subjects, conditions = sorted(set(trials.subject)), sorted(set(trials.condition))
        cells = np.full((len(subjects), len(conditions)), np.nan)
        for subject, condition, rows in trials.cells():
            if len(rows):
                model_correct = np.array([model[s] for s in trials.stimulus[rows]]) == trials.truth[rows]
                cells[subjects.index(subject), conditions.index(condition)] = cohens_kappa(model_correct, trials.correct(rows))
        return _aggregate(cells, tuple(subjects), conditions=conditions)

    def ceiling(self, target: xr.DataArray) -> Score:
        """The subject-pair ceiling (as the reference's metric offers it)."""
        return SubjectPairConsistency()(target)


class SubjectPairConsistency(Ceiling):
    """`ceiling(human_trials) -> Score`: error consistency between every pair of subjects."""

    target_kind = "subject_trials"

    def __call__(self, target: xr.DataArray) -> Score:
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
