"""Metrics and ceilings, loadable by name: `load_metric("pls")`, `load_ceiling("internal_consistency")`.

Every metric is `metric(source, target) -> Score` over xarray objects with named dims; every ceiling is
`ceiling(target) -> Score` (the contract: contract.py). Each is checked against fixtures produced by
brainscore-vision 2.4.2 (tests/parity), except `rsa` and `shape_bias`, which the reference has no
metric for.

The registry is lazy: an entry names its module and class, imported on first use, so that importing
this package (e.g. to validate a benchmark spec) loads neither scikit-learn, scipy nor xarray.
`METRICS[name](**params)` builds a metric, as `load_metric` does; `CEILINGS[name](target)` computes a
ceiling, and `load_ceiling(name)` gives the ceiling itself.
"""

from __future__ import annotations

import importlib
import inspect
from typing import TYPE_CHECKING, Any

from ..errors import UserInputError, did_you_mean
from .score import Score

if TYPE_CHECKING:
    from .contract import Ceiling, Metric, Parameterized

REGRESSION_NAMES = ("pls", "ridge", "linear", "neuron_to_neuron")  # regression.REGRESSIONS
SPLIT_REGRESSION_NAMES = ("pls", "ridge", "ridgecv")  # regression.SPLIT_REGRESSIONS
SIMILARITY_NAMES = ("cka", "cka_biased")  # representational.SIMILARITIES, less rdm (which takes options)


class Entry:
    """A registered class, `module.name` inside this package, and the keyword arguments the registry
    binds (e.g. `regression="pls"`); everything else the constructor takes, a spec may set."""

    def __init__(self, module: str, name: str, **bound: Any) -> None:
        self.module, self.name, self.bound = module, name, bound

    def load(self) -> type[Parameterized]:
        return getattr(importlib.import_module(f"{__name__}.{self.module}"), self.name)

    def parameters(self) -> set[str]:
        """The constructor's keyword parameters, less those the registry binds."""
        return set(self._settable())

    def build(self, params: dict[str, Any] | None = None, *, label: str | None = None) -> Parameterized:
        """An instance with the bound arguments and `params`; an unknown parameter is the user's error."""
        params = params or {}
        unknown = sorted(set(params) - self.parameters())
        if unknown:
            raise UserInputError(
                f"{label or self.name} takes no parameter {', '.join(map(repr, unknown))}; it takes: {sorted(self.parameters())}",
                field="params",
                fix="remove the parameter, or use one it takes",
            )
        return self.load()(**self.bound, **params)

    def _settable(self) -> dict[str, inspect.Parameter]:
        keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        signature = inspect.signature(self.load().__init__)
        return {
            name: p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for name, p in list(signature.parameters.items())[1:]  # after self
            if p.kind in keyword and name not in self.bound
        }

    def __repr__(self) -> str:
        bound = "".join(f", {k}={v!r}" for k, v in self.bound.items())
        return f"{type(self).__name__}({self.module}.{self.name}{bound})"


class MetricEntry(Entry):
    """`METRICS[name](**params)` builds the metric; its signature lists exactly the settable parameters
    (so `inspect.signature` sees what a spec may set)."""

    def __call__(self, **params: Any) -> Metric:
        return self.build(params)

    @property
    def __signature__(self) -> inspect.Signature:
        return inspect.Signature(list(self._settable().values()))


class CeilingEntry(Entry):
    """`CEILINGS[name](target)` computes the ceiling with its default parameters."""

    def __call__(self, target: Any) -> Score:
        return self.build()(target)


METRICS: dict[str, MetricEntry] = {
    **{name: MetricEntry("regression", "CrossRegressedCorrelation", regression=name) for name in REGRESSION_NAMES},
    **{
        f"{name}_split": MetricEntry("regression", "TrainTestSplitCorrelation", regression=name)
        for name in SPLIT_REGRESSION_NAMES
    },
    **{name: MetricEntry("representational", "RepresentationalSimilarity", similarity=name) for name in SIMILARITY_NAMES},
    "rdm": MetricEntry("representational", "RdmSimilarity"),
    "rdm_cv": MetricEntry("representational", "CrossValidatedRdm"),
    "cka_cv": MetricEntry("representational", "CrossValidatedSimilarity", similarity="cka"),
    "i1": MetricEntry("dprime", "ImageLevelConsistency", collapse_distractors=True, normalize=False),
    "i2n": MetricEntry("dprime", "ImageLevelConsistency", collapse_distractors=False, normalize=True),
    "error_consistency": MetricEntry("error_consistency", "ErrorConsistency"),
    "accuracy": MetricEntry("decisions", "Accuracy"),
    "shape_bias": MetricEntry("decisions", "ShapeBias"),
    "rsa": MetricEntry("rsa", "RSA"),
    "odd_one_out": MetricEntry("odd_one_out", "OddOneOut"),
}
CEILINGS: dict[str, CeilingEntry] = {
    "internal_consistency": CeilingEntry("ceilings", "InternalConsistency"),
    "i1_split_half": CeilingEntry("dprime", "ImageLevelSplitHalf", collapse_distractors=True, normalize=False),
    "i2n_split_half": CeilingEntry("dprime", "ImageLevelSplitHalf", collapse_distractors=False, normalize=True),
    "error_consistency_subject_pairs": CeilingEntry("error_consistency", "SubjectPairConsistency"),
    "rsa_noise_ceiling": CeilingEntry("rsa", "RSANoiseCeiling"),
    "rsa_split_half": CeilingEntry("rsa", "RSASplitHalf"),
    "shape_bias_subjects": CeilingEntry("decisions", "ShapeBiasSubjects"),
}


def _lookup(table: dict[str, Entry], name: str, what: str) -> Entry:
    if name not in table:
        raise UserInputError(
            f"unknown {what} {name!r}.{did_you_mean(name, table)} Known: {', '.join(table)}",
            field=what,
            fix=f"use one of the known {what}s",
        )
    return table[name]


def load_metric(name: str, **params: Any) -> Metric:
    return _lookup(METRICS, name, "metric").build(params, label=f"metric {name!r}")


def load_ceiling(name: str, **params: Any) -> Ceiling:
    return _lookup(CEILINGS, name, "ceiling").build(params, label=f"ceiling {name!r}")


def metric_parameters(name: str) -> set[str]:
    """The keyword parameters a spec may set for metric `name` (not those its entry binds)."""
    return _lookup(METRICS, name, "metric").parameters()


def ceiling_parameters(name: str) -> set[str]:
    """The keyword parameters ceiling `name` takes besides those its entry binds."""
    return _lookup(CEILINGS, name, "ceiling").parameters()


def __getattr__(name: str) -> Any:
    """`average_repetitions`, imported on first use (it needs pandas and xarray)."""
    if name == "average_repetitions":
        from .data import average_repetitions

        return average_repetitions
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CEILINGS",
    "METRICS",
    "Score",
    "average_repetitions",
    "ceiling_parameters",
    "load_ceiling",
    "load_metric",
    "metric_parameters",
]
