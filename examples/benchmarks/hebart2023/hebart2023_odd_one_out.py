"""Hebart et al. (2023) THINGS odd-one-out, as a benchmark plugin (registry/metrics/hebart2023_odd_one_out.py).

Brain-Score's `Hebart2023-match`: the model sees the images of a triplet; its odd one out is the image
outside the pair whose features are most similar; it scores the fraction of triplets where that is
the image people chose.

    features   the model's readout-layer features of every stimulus (procedure task: features),
               `presentation × neuroid`, keyed by stimulus_id
    trials     one triplet per presentation: stimulus_id, stimulus_id_2, stimulus_id_3 (image_1..3 of
               the original data) and the chosen odd one as the value (always image_3 there)
    similarity dot (default) or cosine, between feature vectors
    choice     with s = [s(1, 2), s(1, 3), s(2, 3)], the most similar pair is np.argmax(s) (the first
               one on a tie) and the odd one is image number 3 - argmax: image 3 for pair (1, 2),
               image 2 for (1, 3), image 1 for (2, 3)
    score      accuracy = mean(model's odd one == chosen one); error = sqrt(p (1 - p) / n); raw keeps
               the accuracy of 5 consecutive folds of the trials (one per row)

The spec ceils it with chance_corrected_over_ceiling (chance 1/3, ceiling 0.6767 pinned).
Only numpy and the platform's contract are used.
"""

import numpy as np

from brainscore_registry.errors import UserInputError
from brainscore_registry.metrics.contract import Metric
from brainscore_registry.metrics.score import Score


class Hebart2023OddOneOut(Metric):
    source_kind = "features"
    target_kind = "triplet_trials"

    def __init__(self, similarity="dot"):
        if similarity not in ("dot", "cosine"):
            raise UserInputError(
                f"unknown similarity {similarity!r}: the 'similarity' parameter must be 'dot' or 'cosine'",
                field="similarity",
                fix="set metric.params.similarity to dot or cosine",
            )
        self.similarity = similarity

    def __call__(self, source, target):
        # the trials
        image_1 = np.asarray(target["stimulus_id"].values).astype(str)
        image_2 = np.asarray(target["stimulus_id_2"].values).astype(str)
        image_3 = np.asarray(target["stimulus_id_3"].values).astype(str)
        human_choice = np.asarray(target.values).astype(str)

        # the features of the stimuli that appear in a triplet, rows in sorted stimulus order
        model_ids = np.asarray(source["stimulus_id"].values).astype(str)
        values = np.asarray(source.transpose("presentation", "neuroid").values, dtype=np.float64)
        stimuli = np.unique(np.concatenate([image_1, image_2, image_3]))
        missing = np.setdiff1d(stimuli, model_ids)
        if len(missing):
            names = ", ".join(repr(str(stimulus)) for stimulus in missing[:5])
            raise UserInputError(
                f"the model has no features for {len(missing)} stimuli of the triplets: {names}",
                field="stimulus_id",
                fix="give features for every stimulus of the benchmark",
            )
        row_of = {stimulus: row for row, stimulus in enumerate(model_ids)}
        features = values[[row_of[stimulus] for stimulus in stimuli]]
        if not np.isfinite(features).all():
            raise UserInputError("the model's features contain NaN or infinite values", field="features", fix="check the model")

        # similarity matrix between the stimuli
        similarity = features @ features.T
        if self.similarity == "cosine":
            norms = np.linalg.norm(features, axis=1)
            similarity = similarity / np.outer(norms, norms)

        # odd one out of each triplet
        i, j, k = (np.searchsorted(stimuli, image) for image in (image_1, image_2, image_3))
        pair_similarity = np.stack([similarity[i, j], similarity[i, k], similarity[j, k]], axis=1)
        odd_position = 2 - np.argmax(pair_similarity, axis=1)
        model_choice = np.stack([image_1, image_2, image_3], axis=1)[np.arange(len(image_1)), odd_position]

        correct = model_choice == human_choice
        accuracy = correct.mean()
        folds = np.array([fold.mean() for fold in np.array_split(correct, min(5, len(correct)))])
        return Score(
            float(accuracy),
            float(np.sqrt(accuracy * (1 - accuracy) / len(correct))),
            folds[:, None],
            ("accuracy",),
            {"similarity": self.similarity, "trials": len(correct), "correct": int(correct.sum())},
        )


METRIC = Hebart2023OddOneOut
