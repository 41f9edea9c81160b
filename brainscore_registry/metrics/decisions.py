"""Decision metrics over a model's one-label-per-image choices: `accuracy` and `shape_bias`.

accuracy (as Brain-Score): mean(model choice == correct label) over the images, error = std (ddof=0)
of the 0/1 values, not SEM.

shape_bias (Geirhos et al. 2019): on cue-conflict images (shape of one category, texture of another),
shape decisions / (shape + texture decisions); images whose shape and texture categories agree are
excluded, and so are decisions that are neither (they count toward no term). Categories come from
the `shape` and `texture` coordinates of the data, by stimulus_id.

A missing model choice (None or NaN) matches no label: it is wrong for accuracy and neither cue for
shape bias. Model choices for stimuli the data lack are ignored.

shape_bias_subjects (ceiling): how human a shape bias is, measured on the humans themselves. With
b_i each subject's shape bias and μ₋ᵢ the mean of the others, the ceiling is the mean over subjects
of 1 − |b_i − μ₋ᵢ|: how close a held-out human comes to the rest. Its attrs carry the human mean μ.
The `closeness_over_ceiling` normalisation then scores a model's shape bias m as
clip((1 − |m − μ|) / ceiling, 0, 1): 1 for a model as close to the human mean as humans are to each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import UserInputError
from .alignment import align_by_stimulus, require_dims
from .contract import Ceiling, Metric
from .score import Score

if TYPE_CHECKING:
    import xarray as xr


def model_choices(source: xr.DataArray, stimuli: list[str]) -> np.ndarray:
    """The model's choice for each of the data's `stimuli` (stimuli the data lack are ignored)."""
    require_dims(source, ("presentation",), who="model choices", fix="run the model with the 'label' task")
    return np.asarray(source.values).astype(str)[align_by_stimulus(source, stimuli, extra="ignore", noun="choice")]


def _labels(target: xr.DataArray, coord: str) -> dict[str, str]:
    require_dims(target, ("presentation",), who="the data", fix="give one label per presentation")
    for name in ("stimulus_id", coord):
        if name not in target.coords or target[name].dims != ("presentation",):
            what = f"{name!r} (or 'label')" if name == "truth" else repr(name)
            raise UserInputError(f"the data have no {what} coordinate", field=name, fix=f"give every stimulus its {name}")
    return dict(zip(np.asarray(target["stimulus_id"].values).astype(str), np.asarray(target[coord].values).astype(str)))


class Accuracy(Metric):
    """Model choices (one per stimulus) against the data's correct labels (`truth`, or `label`)."""

    source_kind = "choices"
    target_kind = "labels"

    def __call__(self, source: xr.DataArray, target: xr.DataArray) -> Score:
        truth = _labels(target, "label" if "truth" not in target.coords and "label" in target.coords else "truth")
        stimuli = sorted(truth)
        correct = (model_choices(source, stimuli) == np.array([truth[s] for s in stimuli])).astype(float)
        return Score(float(correct.mean()), float(correct.std()), correct[None, :], tuple(stimuli), {})


def shape_bias_of(choices: np.ndarray, shape: np.ndarray, texture: np.ndarray) -> tuple[float, int, int]:
    """(shape bias, shape decisions, texture decisions) over cue-conflict trials."""
    conflict = shape != texture
    shape_hits = int(((choices == shape) & conflict).sum())
    texture_hits = int(((choices == texture) & conflict).sum())
    total = shape_hits + texture_hits
    return (shape_hits / total if total else float("nan")), shape_hits, texture_hits


def subject_shape_biases(trials: xr.DataArray) -> dict[str, float]:
    """Each subject's shape bias over their cue-conflict trials (`shape`, `texture`, `subject` coords).
    A trial without a choice (NaN) is a decision for neither cue, so it counts toward no term."""
    require_dims(trials, ("presentation",), who="the trials", fix="give one choice per presentation")
    for coord in ("subject", "shape", "texture"):
        if coord not in trials.coords or trials[coord].dims != ("presentation",):
            raise UserInputError(f"the trials have no {coord!r} coordinate", field=coord, fix=f"give every trial its {coord}")
    subject = np.asarray(trials["subject"].values).astype(str)
    choice = np.asarray(trials.values).astype(str)
    shape, texture = (np.asarray(trials[c].values).astype(str) for c in ("shape", "texture"))
    return {s: shape_bias_of(choice[subject == s], shape[subject == s], texture[subject == s])[0] for s in sorted(set(subject))}


class ShapeBiasSubjects(Ceiling):
    """How human a shape bias is, from the humans themselves (see the module's docstring)."""

    target_kind = "cue_conflict_trials"

    def __call__(self, target: xr.DataArray) -> Score:
        biases = subject_shape_biases(target)
        if len(biases) < 2:
            raise UserInputError(
                "the shape-bias ceiling needs at least 2 subjects", field="subject", fix="pin a ceiling value instead"
            )
        values = np.array(list(biases.values()))
        closeness = np.array([1 - abs(b - np.delete(values, i).mean()) for i, b in enumerate(values)])
        attrs = {
            "method": "shape_bias_subjects",
            "target": float(values.mean()),
            "human_mean": float(values.mean()),
            "subjects": biases,
        }
        return Score(float(closeness.mean()), float(closeness.std()), closeness[None, :], tuple(biases), attrs)


class ShapeBias(Metric):
    """The model's shape bias on the data's cue-conflict stimuli (`shape` and `texture` coordinates)."""

    source_kind = "choices"
    target_kind = "cue_conflict"

    def __call__(self, source: xr.DataArray, target: xr.DataArray) -> Score:
        shape, texture = _labels(target, "shape"), _labels(target, "texture")
        stimuli = sorted(shape)
        choices = model_choices(source, stimuli)
        shapes, textures = np.array([shape[s] for s in stimuli]), np.array([texture[s] for s in stimuli])
        value, shape_hits, texture_hits = shape_bias_of(choices, shapes, textures)
        decisions = np.full(len(stimuli), np.nan)  # 1 shape, 0 texture, NaN neither or no conflict
        decisions[(choices == textures) & (shapes != textures)] = 0.0
        decisions[(choices == shapes) & (shapes != textures)] = 1.0
        attrs = {"shape_decisions": shape_hits, "texture_decisions": texture_hits}
        return Score(value, float("nan"), decisions[None, :], tuple(stimuli), attrs)
