"""Triplet odd-one-out (Hebart et al. 2023, THINGS; brainscore-vision's `Hebart2023-match` benchmark
with its `OddOneOut` behavioural model).

The protocol, as the reference runs it (brainscore_vision 2.4.2,
`model_helpers/brain_transformation/behavior.py`, class `OddOneOut`, and
`benchmarks/hebart2023/benchmark.py`):

1. The model's features (its behavioural readout layer), `presentation × neuroid`, one row per
   stimulus that appears in any triplet, rows in the order of the sorted stimulus ids.
2. A similarity between every two stimuli: `dot` (default), the dot product of their feature
   vectors, or `cosine`, that dot product divided by the product of the two vectors' Euclidean norms.
3. For the triplet (i, j, k) — `stimulus_id`, `stimulus_id_2`, `stimulus_id_3` of a trial here, the
   reference's `image_1`, `image_2`, `image_3` — the similarities of its pairs in the order
   [s(i, j), s(i, k), s(j, k)]; the most similar pair is the first maximum (`np.argmax`, so a tie
   goes to the earlier pair: (i, j) before (i, k) before (j, k)), and the model's odd one is the item
   not in it: triplet position `2 − argmax`, i.e. k for (i, j), j for (i, k), i for (j, k).
4. A trial is correct when the model's odd one is the stimulus the human chose (compared by stimulus
   id, as the reference compares its choices with `image_3`). The data value of each trial is that
   choice; in the Hebart data it is always the third stimulus.
5. Score value = the fraction of correct trials (the reference's raw score). The benchmark then
   ceils it with `chance_corrected_over_ceiling` (chance 1/3, pinned ceiling 0.6767):
   clip((raw − 1/3) / (ceiling − 1/3), 0, 1).

What this module adds, and where it departs from the reference:

- error: the binomial standard error of the accuracy, sqrt(p (1 − p) / n) over the n trials (the
  reference reports none; its comment suggests the spread over five folds, which `raw` keeps).
- raw: the accuracy of each of 5 contiguous folds of the trials in data order
  (`np.array_split`, fewer folds when there are fewer than 5 trials), as `folds × 1` (splits ×
  units, as the platform's Scores keep per-split values); per-trial correctness would put ~10^5
  numbers into every record. The value is the accuracy over all trials, not the mean of the folds.
- attrs: the similarity used, the number of trials and of correct ones, the number of folds.
- similarities are computed in float64 (the reference keeps the features' dtype, usually float32),
  from rows of the Gram matrix as the reference does, built in blocks of rows so that memory stays
  bounded however many stimuli the data hold (time grows as stimuli² × features: 1,854 stimuli ×
  4,096 features and 453,642 triplets take ~1.3 s, 20,000 × 512 and 10^6 triplets ~15 s, on 2 CPU
  cores). A different dtype or summation order only matters for triplets whose two largest
  similarities tie to within rounding.
- refused (UserInputError, exit 2) where the reference would fail or silently decide: a triplet
  stimulus without model features (named), NaN or infinite features, a
  trial without a choice or whose choice is none of its three stimuli, and, for `cosine`, a stimulus
  whose features are all zero (the reference's 0/0 = NaN would make `np.argmax` pick that pair).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..errors import UserInputError, did_you_mean, preview
from .alignment import align_by_stimulus, check_finite, refuse_missing_choices, require_coords, require_dims
from .contract import Metric
from .score import Score

if TYPE_CHECKING:
    import xarray as xr

SIMILARITIES = ("dot", "cosine")
TRIPLET_COORDS = ("stimulus_id", "stimulus_id_2", "stimulus_id_3")
N_FOLDS = 5
BLOCK_ENTRIES = 1 << 24
"""Most Gram-matrix entries held at once (128 MiB of float64): the 1,854 THINGS stimuli are one block."""


def triplets_and_choices(target: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """The trials' stimulus ids (`n × 3`, as strings) and the chosen odd one of each (a string)."""
    fix = "give one odd-one-out trial per presentation with coordinates stimulus_id, stimulus_id_2, stimulus_id_3"
    require_dims(target, ("presentation",), who="the trials", fix=fix)
    require_coords(target, TRIPLET_COORDS, dim="presentation", who="the trials", fix=fix)
    if target.sizes["presentation"] == 0:
        raise UserInputError("the data hold no trials", field="presentation", fix="score on data with at least one triplet")
    has_coord = "choice" in target.coords and target["choice"].dims == ("presentation",)
    choice = np.asarray(target["choice"].values if has_coord else target.values)
    refuse_missing_choices(choice, who="trials")
    triplets = np.stack([np.asarray(target[c].values).astype(str) for c in TRIPLET_COORDS], axis=1)
    choice = choice.astype(str)
    outside = ~(triplets == choice[:, None]).any(axis=1)
    if outside.any():
        rows = np.flatnonzero(outside)
        raise UserInputError(
            f"{len(rows)} of {len(choice)} trials chose a stimulus that is not in their triplet "
            f"(first at presentation {rows[0]}: choice {choice[rows[0]]!r}, triplet {preview(triplets[rows[0]])})",
            field="choice",
            fix="store each trial's chosen odd one as the stimulus id of one of its three stimuli",
        )
    return triplets, choice


def pair_similarities(
    features: np.ndarray, left: np.ndarray, right: np.ndarray, similarity: str, report: Callable | None = None
) -> np.ndarray:
    """s(features[left[p]], features[right[p]]) for every pair p: the dot product from the rows of the
    Gram matrix `features @ features.T`, as the reference computes it, built in blocks of rows of at
    most BLOCK_ENTRIES entries (`dot`); divided by the product of the two norms (`cosine`).
    `report(stage, total)` (a Metric's `report`) hears of each block."""
    n = features.shape[0]
    rows_per_block = max(1, BLOCK_ENTRIES // max(n, 1))
    starts = range(0, n, rows_per_block)
    done = report("similarity blocks", len(starts)) if report is not None else (lambda _: None)
    order = np.argsort(left, kind="stable")
    bounds = np.searchsorted(left[order], [*starts, n])
    out = np.empty(len(left), dtype=np.float64)
    for index, start in enumerate(starts):
        if bounds[index + 1] > bounds[index]:
            pairs = order[bounds[index] : bounds[index + 1]]
            block = features[start : start + rows_per_block] @ features.T
            out[pairs] = block[left[pairs] - start, right[pairs]]
        done(index + 1)
    if similarity == "cosine":
        norms = np.linalg.norm(features, axis=1)
        out = out / (norms[left] * norms[right])
    return out


class OddOneOut(Metric):
    """`metric(features, trials) -> Score`: how often the model's odd one out (the item outside its most
    similar pair) is the one humans chose (see the module's docstring for the exact protocol)."""

    source_kind = "features"
    target_kind = "triplet_trials"

    def __init__(self, similarity: str = "dot") -> None:
        if not isinstance(similarity, str) or similarity not in SIMILARITIES:
            hint = did_you_mean(similarity, SIMILARITIES) if isinstance(similarity, str) else ""
            raise UserInputError(
                f"The 'similarity' parameter of OddOneOut must be one of {', '.join(map(repr, SIMILARITIES))}. "
                f"Got {similarity!r} instead.{hint}",
                field="similarity",
                fix="set similarity to 'dot' (the reference's default) or 'cosine' in the benchmark spec's metric params",
            )
        self.similarity = similarity

    def __call__(self, source: xr.DataArray, target: xr.DataArray) -> Score:
        triplets, choice = triplets_and_choices(target)
        fix = "give model features as presentation × neuroid (procedure task: features)"
        require_dims(source, ("presentation", "neuroid"), who="model features", fix=fix)
        stimuli, positions = np.unique(triplets, return_inverse=True)  # sorted ids, as the reference orders its rows
        rows = align_by_stimulus(source, stimuli, extra="ignore", noun="feature")  # only the triplets' stimuli count
        if np.asarray(source.values).dtype.kind not in "biuf":
            raise UserInputError(
                f"model features must be numbers, got dtype {np.asarray(source.values).dtype}",
                field="features",
                fix="give the readout layer's activations (procedure task: features)",
            )
        check_finite(source.values, noun="features")
        features = np.asarray(source.transpose("presentation", "neuroid").values, dtype=np.float64)[rows]
        if self.similarity == "cosine":
            zero = ~features.any(axis=1)
            if zero.any():
                raise UserInputError(
                    f"cosine similarity is undefined for {int(zero.sum())} stimuli whose features are all zero: "
                    f"{preview(stimuli[zero])}",
                    field="stimulus_id",
                    fix="use similarity 'dot', or a readout layer whose features are not all zero for any stimulus",
                )
        positions = positions.reshape(triplets.shape)
        i, j, k = positions[:, 0], positions[:, 1], positions[:, 2]
        pairs = pair_similarities(features, np.concatenate([i, i, j]), np.concatenate([j, k, k]), self.similarity, self.report)
        if not np.isfinite(pairs).all():
            raise UserInputError(
                f"{int((~np.isfinite(pairs)).sum())} similarities overflowed to infinity or NaN",
                field="features",
                fix="scale the model's features down (or use similarity 'cosine')",
            )
        similarities = pairs.reshape(3, -1).T  # columns: (i, j), (i, k), (j, k)
        odd = triplets[np.arange(len(triplets)), 2 - np.argmax(similarities, axis=1)]
        correct = odd == choice
        n = len(correct)
        accuracy = float(correct.mean())
        folds = np.array([part.mean() for part in np.array_split(correct, min(N_FOLDS, n))], dtype=np.float64)
        attrs = {"similarity": self.similarity, "trials": n, "correct": int(correct.sum()), "folds": len(folds)}
        return Score(accuracy, float(np.sqrt(accuracy * (1 - accuracy) / n)), folds[:, None], ("accuracy",), attrs)
