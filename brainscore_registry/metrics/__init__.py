"""Metrics and ceilings, loadable by name: `load_metric("pls")`, `load_ceiling("internal_consistency")`.

Every metric is `metric(source, target) -> Score` over xarray objects with named dims; every ceiling is
`ceiling(target) -> Score`. Each is checked against fixtures produced by brainscore-vision 2.4.2
(tests/parity), except `rsa` and `shape_bias`, which the reference has no metric for."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from ..errors import UserInputError, did_you_mean
from .ceilings import internal_consistency
from .data import average_repetitions
from .decisions import accuracy, shape_bias, shape_bias_subjects
from .dprime import ImageLevelConsistency
from .error_consistency import ErrorConsistency
from .regression import REGRESSIONS, SPLIT_REGRESSIONS, CrossRegressedCorrelation, TrainTestSplitCorrelation
from .representational import SIMILARITIES, CrossValidatedSimilarity, RepresentationalSimilarity
from .rsa import rsa, rsa_noise_ceiling
from .score import Score

I1 = partial(ImageLevelConsistency, collapse_distractors=True, normalize=False)
I2N = partial(ImageLevelConsistency, collapse_distractors=False, normalize=True)

METRICS: dict[str, Callable[..., Callable]] = {
    **{name: partial(CrossRegressedCorrelation, name) for name in REGRESSIONS},
    **{f"{name}_split": partial(TrainTestSplitCorrelation, name) for name in SPLIT_REGRESSIONS},
    **{name: partial(RepresentationalSimilarity, name) for name in SIMILARITIES},
    **{f"{name}_cv": partial(CrossValidatedSimilarity, name) for name in ("rdm", "cka")},
    "i1": I1,
    "i2n": I2N,
    "error_consistency": ErrorConsistency,
    "accuracy": lambda: accuracy,
    "shape_bias": lambda: shape_bias,
    "rsa": lambda: rsa,
}
CEILINGS: dict[str, Callable] = {
    "internal_consistency": internal_consistency,
    "i1_split_half": lambda target: I1().ceiling(target),
    "i2n_split_half": lambda target: I2N().ceiling(target),
    "error_consistency_subject_pairs": lambda target: ErrorConsistency().ceiling(target),
    "rsa_noise_ceiling": rsa_noise_ceiling,
    "shape_bias_subjects": shape_bias_subjects,
}


def _lookup(table: dict, name: str, what: str):
    if name not in table:
        raise UserInputError(
            f"unknown {what} {name!r}.{did_you_mean(name, table)} Known: {', '.join(table)}",
            field=what,
            fix=f"use one of the known {what}s",
        )
    return table[name]


def load_metric(name: str, **params) -> Callable:
    return _lookup(METRICS, name, "metric")(**params)


def load_ceiling(name: str) -> Callable:
    return _lookup(CEILINGS, name, "ceiling")


__all__ = ["CEILINGS", "METRICS", "Score", "average_repetitions", "load_ceiling", "load_metric"]
