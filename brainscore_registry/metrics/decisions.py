"""Decision metrics over a model's one-label-per-image choices: `accuracy` and `shape_bias`.

accuracy (as Brain-Score): mean(model choice == correct label) over the images, error = std (ddof=0)
of the 0/1 values, not SEM.

shape_bias (Geirhos et al. 2019): on cue-conflict images (shape of one category, texture of another),
shape decisions / (shape + texture decisions); images whose shape and texture categories agree are
excluded, and so are decisions that are neither (they count toward no term). Categories come from
the `shape` and `texture` coordinates of the data, by stimulus_id.

shape_bias_subjects (ceiling): how human a shape bias is, measured on the humans themselves. With
b_i each subject's shape bias and μ₋ᵢ the mean of the others, the ceiling is the mean over subjects
of 1 − |b_i − μ₋ᵢ|: how close a held-out human comes to the rest. Its attrs carry the human mean μ.
The `closeness_over_ceiling` normalisation then scores a model's shape bias m as
clip((1 − |m − μ|) / ceiling, 0, 1): 1 for a model as close to the human mean as humans are to each other.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import UserInputError, preview
from .score import Score


def _by_stimulus(array: xr.DataArray, what: str) -> dict[str, str]:
    if "stimulus_id" not in array.coords:
        raise UserInputError(f"{what} need a stimulus_id coordinate", field="stimulus_id", fix="key each row by stimulus_id")
    return dict(zip(np.asarray(array["stimulus_id"].values).astype(str), np.asarray(array.values).astype(str)))


def _labels(target: xr.DataArray, coord: str) -> dict[str, str]:
    if coord not in target.coords:
        raise UserInputError(f"the data have no {coord!r} coordinate", field=coord, fix=f"give every stimulus its {coord} label")
    return dict(zip(np.asarray(target["stimulus_id"].values).astype(str), np.asarray(target[coord].values).astype(str)))


def _aligned(choices: dict[str, str], stimuli: list[str]) -> np.ndarray:
    missing = [s for s in stimuli if s not in choices]
    if missing:
        raise UserInputError(
            f"{len(missing)} data stimuli have no model choice: {preview(missing)}",
            field="stimulus_id",
            fix="compute the model's choices for exactly the benchmark's stimuli",
        )
    return np.array([choices[s] for s in stimuli])


def accuracy(source: xr.DataArray, target: xr.DataArray) -> Score:
    """Model choices (one per stimulus) against the data's correct labels (`truth`, or `label`)."""
    truth = _labels(target, "truth" if "truth" in target.coords else "label")
    stimuli = sorted(truth)
    correct = (_aligned(_by_stimulus(source, "model choices"), stimuli) == np.array([truth[s] for s in stimuli])).astype(float)
    return Score(float(correct.mean()), float(correct.std()), correct[None, :], tuple(stimuli), {})


def shape_bias_of(choices: np.ndarray, shape: np.ndarray, texture: np.ndarray) -> tuple[float, int, int]:
    """(shape bias, shape decisions, texture decisions) over cue-conflict trials."""
    conflict = shape != texture
    shape_hits = int(((choices == shape) & conflict).sum())
    texture_hits = int(((choices == texture) & conflict).sum())
    total = shape_hits + texture_hits
    return (shape_hits / total if total else float("nan")), shape_hits, texture_hits


def subject_shape_biases(trials: xr.DataArray) -> dict[str, float]:
    """Each subject's shape bias over their cue-conflict trials (`shape`, `texture`, `subject` coords)."""
    for coord in ("subject", "shape", "texture"):
        if coord not in trials.coords:
            raise UserInputError(f"the trials have no {coord!r} coordinate", field=coord, fix=f"give every trial its {coord}")
    subject = np.asarray(trials["subject"].values).astype(str)
    choice = np.asarray(trials.values).astype(str)
    shape, texture = (np.asarray(trials[c].values).astype(str) for c in ("shape", "texture"))
    return {s: shape_bias_of(choice[subject == s], shape[subject == s], texture[subject == s])[0] for s in sorted(set(subject))}


def shape_bias_subjects(trials: xr.DataArray) -> Score:
    biases = subject_shape_biases(trials)
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


def shape_bias(source: xr.DataArray, target: xr.DataArray) -> Score:
    """The model's shape bias on the data's cue-conflict stimuli (`shape` and `texture` coordinates)."""
    shape, texture = _labels(target, "shape"), _labels(target, "texture")
    stimuli = sorted(shape)
    choices = _aligned(_by_stimulus(source, "model choices"), stimuli)
    shapes, textures = np.array([shape[s] for s in stimuli]), np.array([texture[s] for s in stimuli])
    value, shape_hits, texture_hits = shape_bias_of(choices, shapes, textures)
    decisions = np.full(len(stimuli), np.nan)  # 1 shape, 0 texture, NaN neither or no conflict
    decisions[(choices == textures) & (shapes != textures)] = 0.0
    decisions[(choices == shapes) & (shapes != textures)] = 1.0
    attrs = {"shape_decisions": shape_hits, "texture_decisions": texture_hits}
    return Score(value, float("nan"), decisions[None, :], tuple(stimuli), attrs)
