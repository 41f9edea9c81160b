"""Image-level behavioural consistency, `i1` and `i2n` (Rajalingham, Issa et al. 2018, as Brain-Score
computes them): how well a model's per-image, per-distractor difficulty pattern (d′) matches the
primates'.

Protocol (brainscore-vision 2.4.2):
- primate response matrix, per image i and choice c ≠ truth(i): (#trials on i where c was chosen) /
  (#trials on i where c was the sample or the distractor); NaN where c = truth(i) or c never offered;
  the choices are the labels chosen in that set of trials, sorted;
- model matrix: P(c) / (P(c) + P(truth)) from `presentation × choice` probabilities;
- d′(i, c) = Φ⁻¹(1 − cell) − Φ⁻¹(false-alarm rate), the false-alarm rate being the NaN-skipping mean of
  column truth(i) over the images whose truth is c; clipped to [−5, 5];
- i2n subtracts the NaN-skipping mean within each (truth object, choice) group; i1 averages over choices
  per image (NaN skipped) and does not normalise;
- trials split in halves by `RandomState(0)` shuffling the trial list (half = first floor(N/2)),
  2 repetitions from one continuing RandomState, shared by score and ceiling: the score correlates the
  model with half 1, the ceiling half 1 with half 2 (no Spearman-Brown);
- correlation: rows sorted by stimulus_id, choices sorted, flattened, positions NaN in the target
  dropped, Pearson r; mean over the repetitions, error = std (ddof=0, not SEM).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.random import RandomState

from ..errors import UserInputError, preview
from .alignment import align_by_stimulus, check_finite, refuse_missing_choices, require_dims
from .contract import MAX_SPLITS, Ceiling, Metric, int_parameter
from .data import nan_results_expected
from .score import Score

if TYPE_CHECKING:
    import xarray as xr

CAP = 5.0
COLUMNS = ("stimulus_id", "truth", "sample_obj", "dist_obj")  # of a trial, besides its choice
MODEL = ("the model's probabilities", "give probabilities for every choice of the benchmark")
FIRST_HALF = ("the first half of the trials", "give every image and choice enough trials to appear in both halves")


class _ImageLevel:
    """The parameters i1, i2n and their ceilings share, and the d′ pattern they define."""

    target_kind = "trials"

    def __init__(self, *, collapse_distractors: bool, normalize: bool, repetitions: int = 2) -> None:
        name = "i1" if collapse_distractors else "i2n"
        owner = f"ceiling '{name}_split_half'" if isinstance(self, Ceiling) else f"metric {name!r}"
        self.collapse_distractors = collapse_distractors
        self.normalize = normalize
        self.repetitions = int_parameter(owner, "repetitions", repetitions, 1, MAX_SPLITS)

    def _pattern(self, matrix: _Matrix, truth: np.ndarray) -> _Matrix:
        dprimes = _dprimes(matrix.values, truth, matrix.choices)
        if self.normalize:
            dprimes = _subtract_group_means(dprimes, truth, matrix.choices)
        if self.collapse_distractors:
            with nan_results_expected():
                dprimes = np.nanmean(dprimes, axis=1, keepdims=True)
        return _Matrix(dprimes, matrix.images, matrix.choices if not self.collapse_distractors else np.array(["mean"]))


class ImageLevelConsistency(_ImageLevel, Metric):
    """`metric(source_probabilities, target_trials) -> Score`; `.ceiling(target_trials) -> Score`."""

    source_kind = "probabilities"

    def __call__(self, source: xr.DataArray, target: xr.DataArray) -> Score:
        trials = _Trials.of(target)
        predicted = self._pattern(*_model_matrix(source, trials))  # over all the images (the model's) and its choices
        per_split = []
        for first, _ in trials.halves(self.repetitions):
            observed = self._pattern(*first.response_matrix())
            aligned = predicted.restricted_to(observed.images, observed.choices, who=MODEL)
            per_split.append(_correlate(aligned.values, observed.values, who="model"))
        return _aggregate(per_split, **self.params())

    def ceiling(self, target: xr.DataArray) -> Score:
        """The split-half ceiling with the same parameters (as the reference's metric offers it)."""
        return ImageLevelSplitHalf(**self.params())(target)


class ImageLevelSplitHalf(_ImageLevel, Ceiling):
    """`ceiling(target_trials) -> Score`: the first half of the trials against the second, per split."""

    def __call__(self, target: xr.DataArray) -> Score:
        trials = _Trials.of(target)
        per_split = []
        for first, second in trials.halves(self.repetitions):
            a, b = self._pattern(*first.response_matrix()), self._pattern(*second.response_matrix())
            aligned = a.restricted_to(b.images, b.choices, who=FIRST_HALF)
            per_split.append(_correlate(aligned.values, b.values, who="first half of the trials"))
        return _aggregate(per_split, method="split_half", **self.params())


class _Matrix:
    """images × choices values with their labels."""

    def __init__(self, values: np.ndarray, images: np.ndarray, choices: np.ndarray) -> None:
        self.values, self.images, self.choices = values, images, choices

    def restricted_to(self, images: np.ndarray, choices: np.ndarray, who: tuple[str, str]) -> _Matrix:
        rows, columns = _positions(self.images, images, "stimulus_id", who), _positions(self.choices, choices, "choice", who)
        return _Matrix(self.values[np.ix_(rows, columns)], images, choices)


def _positions(have: np.ndarray, want: np.ndarray, what: str, who: tuple[str, str] = MODEL) -> np.ndarray:
    """Where each of `want` is in `have`; `who` = (what lacks them, the fix) for the error."""
    index = {v: i for i, v in enumerate(have)}
    missing = [v for v in want if v not in index]
    if missing:
        raise UserInputError(
            f"{who[0]} lack {len(missing)} {what} value(s) the data have: {preview(missing)}",
            field=what,
            fix=who[1],
        )
    return np.array([index[v] for v in want], dtype=int)


class _Trials:
    """Trials in their given order: stimulus_id, truth, sample_obj, dist_obj, choice."""

    def __init__(self, columns: dict[str, np.ndarray]) -> None:
        self.columns = columns

    @classmethod
    def of(cls, target: xr.DataArray) -> _Trials:
        require_dims(target, ("presentation",), who="the trials", fix="give one choice per presentation")
        missing = [c for c in COLUMNS if c not in target.coords or target[c].dims != ("presentation",)]
        if missing:
            raise UserInputError(
                f"i1/i2n need two-alternative trials; coordinate(s) {', '.join(missing)} are missing",
                field=missing[0],
                fix="give each trial its stimulus_id, truth, sample_obj and dist_obj",
            )
        refuse_missing_choices(target.values, who="trials")
        columns = {c: np.asarray(target[c].values).astype(str) for c in COLUMNS}
        columns["choice"] = np.asarray(target.values).astype(str)
        return cls(columns)

    def subset(self, rows: list[int]) -> _Trials:
        return _Trials({name: values[rows] for name, values in self.columns.items()})

    def halves(self, repetitions: int):
        """The reference's halves: one RandomState(0) shuffles the trial list, `repetitions` times."""
        random_state = RandomState(seed=0)
        n = len(self.columns["choice"])
        for _ in range(repetitions):
            order = list(range(n))
            random_state.shuffle(order)
            yield self.subset(order[: n // 2]), self.subset(order[n // 2 :])

    def response_matrix(self) -> tuple[_Matrix, np.ndarray]:
        """(images × choices rate matrix, truth per image)."""
        c = self.columns
        images, first, image_of = np.unique(c["stimulus_id"], return_index=True, return_inverse=True)
        choices = np.unique(c["choice"])
        truth = c["truth"][first]
        n_images, n_choices = len(images), len(choices)
        chosen = np.zeros((n_images, n_choices))
        offered = np.zeros((n_images, n_choices))
        np.add.at(chosen, (image_of, np.searchsorted(choices, c["choice"])), 1)
        for offered_label in (c["sample_obj"], c["dist_obj"]):
            column = np.searchsorted(choices, offered_label).clip(0, n_choices - 1)
            known = choices[column] == offered_label
            np.add.at(offered, (image_of[known], column[known]), 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = np.where(offered > 0, chosen / offered, np.nan)
        rates[truth[:, None] == choices[None, :]] = np.nan
        return _Matrix(rates, images, choices), truth


def _model_matrix(source: xr.DataArray, trials: _Trials) -> tuple[_Matrix, np.ndarray]:
    """P(c) / (P(c) + P(truth)) per image (sorted) and choice, NaN where c is the truth."""
    require_dims(source, ("presentation", "choice"), who="model probabilities", fix="run the model with the 'probabilities' task")
    source = source.transpose("presentation", "choice")
    if "choice" not in source.coords:
        raise UserInputError("model probabilities have no 'choice' coordinate", field="choice", fix="label the choice dim")
    truth_of = dict(zip(trials.columns["stimulus_id"], trials.columns["truth"]))
    images = np.array(sorted(truth_of))
    rows = align_by_stimulus(source, images, extra="raise", noun="probabilities")
    probabilities = np.asarray(source.values, dtype=np.float64)[rows]
    check_finite(probabilities, noun="probabilities")
    choices = np.asarray(source["choice"].values).astype(str)
    truth = np.array([truth_of[image] for image in images])
    p_truth = probabilities[np.arange(len(images)), _positions(choices, truth, "choice")]
    with np.errstate(invalid="ignore", divide="ignore"):
        values = probabilities / (probabilities + p_truth[:, None])
    values[truth[:, None] == choices[None, :]] = np.nan
    return _Matrix(values, images, choices), truth


def _dprimes(rates: np.ndarray, truth: np.ndarray, choices: np.ndarray) -> np.ndarray:
    """d′ per (image, choice): hit = 1 − rate; false alarms: mean of column truth(i) over images of truth c."""
    objects = np.unique(truth)
    missing = [c for c in choices if c not in set(truth)]
    if missing:
        raise UserInputError(
            f"choice(s) {preview(missing)} are never the correct answer, so their false-alarm rate is undefined",
            field="choice",
            fix="offer only the task's object labels as choices",
        )
    truth_column = _positions(choices, truth, "choice")
    with nan_results_expected():
        by_object = np.stack([np.nanmean(rates[truth == o], axis=0) for o in objects])  # objects × choices
    object_row = {o: i for i, o in enumerate(objects)}
    choice_rows = np.array([object_row[c] for c in choices])
    false_alarms = by_object[choice_rows[None, :], truth_column[:, None]]  # [i, c] = by_object[c, truth(i)]
    import scipy.stats

    with np.errstate(invalid="ignore"):
        dprimes = scipy.stats.norm.ppf(1 - rates) - scipy.stats.norm.ppf(false_alarms)
    return np.clip(dprimes, -CAP, CAP)


def _subtract_group_means(dprimes: np.ndarray, truth: np.ndarray, choices: np.ndarray) -> np.ndarray:
    out = dprimes.copy()
    with nan_results_expected():
        for o in np.unique(truth):
            rows = truth == o
            out[rows] -= np.nanmean(dprimes[rows], axis=0, keepdims=True)
    return out


def _correlate(source: np.ndarray, target: np.ndarray, who: str) -> float:
    import scipy.stats

    source, target = source.ravel(), target.ravel()
    kept = ~np.isnan(target)
    if np.isnan(source[kept]).any():
        raise UserInputError(
            f"the {who}'s d′ is undefined (NaN) where the data's is not, at {int(np.isnan(source[kept]).sum())} positions",
            field="choice",
            fix="check that every stimulus has probabilities for every choice (and trials for every pair)",
        )
    return float(scipy.stats.pearsonr(source[kept], target[kept])[0])


def _aggregate(per_split: list[float], **attrs) -> Score:
    values = np.array(per_split)
    return Score(float(values.mean()), float(values.std()), values[:, None], ("trials",), attrs)
