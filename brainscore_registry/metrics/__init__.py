"""Metrics and ceilings, loadable by name: `load_metric("pls")`, `load_ceiling("internal_consistency")`.

This package covers the regression family, RDM and CKA, and the internal-consistency ceiling so far; each is
checked against fixtures produced by brainscore-vision 2.4.2 (tests/parity)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from ..errors import UserInputError, did_you_mean
from .ceilings import internal_consistency
from .data import average_repetitions
from .regression import REGRESSIONS, SPLIT_REGRESSIONS, CrossRegressedCorrelation, TrainTestSplitCorrelation
from .representational import SIMILARITIES, CrossValidatedSimilarity, RepresentationalSimilarity
from .score import Score

METRICS: dict[str, Callable[..., Callable]] = {
    **{name: partial(CrossRegressedCorrelation, name) for name in REGRESSIONS},
    **{f"{name}_split": partial(TrainTestSplitCorrelation, name) for name in SPLIT_REGRESSIONS},
    **{name: partial(RepresentationalSimilarity, name) for name in SIMILARITIES},
    **{f"{name}_cv": partial(CrossValidatedSimilarity, name) for name in ("rdm", "cka")},
}
CEILINGS: dict[str, Callable] = {"internal_consistency": internal_consistency}


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
