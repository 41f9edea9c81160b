"""`bsr benchmark check ID`: the metric contract, run on one benchmark's own data.

What a plugin author (or a reviewer of someone else's plugin) needs to know before trusting its
numbers: it builds from the spec's parameters and gives them back; it returns a `Score`; two calls on
the same input agree exactly (no unseeded randomness, no dependence on call order); its Score survives
the JSON of a record; a model that lacks some of the data's stimuli is refused with a user error
rather than scored on what is left; and the ceiling (when computed) does the same. The model's side is
an example input of the metric's `source_kind`, seeded, over the data's stimuli.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..errors import BsrError, UserInputError
from ..metrics import average_repetitions
from ..metrics.contract import Parameterized
from ..metrics.normalization import ceil_score
from ..metrics.score import Score
from .scoring import BenchmarkData, build_ceiling, build_metric, ceiling_for, target_of

EXAMPLE_FEATURES = 64  # above the 25 components pls needs
DROPPED_STIMULI = 3


@dataclass(frozen=True)
class Check:
    """One contract check: passed (True), failed (False) or not applicable (None), and why."""

    name: str
    passed: bool | None
    detail: str

    def to_json(self) -> dict:
        return {"check": self.name, "passed": self.passed, "detail": self.detail}


def _stimulus_ids(target: xr.DataArray) -> np.ndarray:
    from ..data.assemblies import stimulus_ids_of

    kind = "similarity" if "stimulus_a" in target.dims else "other"
    return np.array(sorted(set(np.asarray(stimulus_ids_of(target, kind)).astype(str).tolist())), dtype=object)


def _labels(data: BenchmarkData, target: xr.DataArray) -> list[str]:
    if data.spec.procedure.choices:
        return list(data.spec.procedure.choices)
    for name in ("truth", "label"):
        if name in target.coords:
            return sorted(set(np.asarray(target[name].values).astype(str).tolist()))
    return ["a", "b"]


def example_source(data: BenchmarkData, target: xr.DataArray, source_kind: str) -> xr.DataArray | None:
    """A seeded model output of `source_kind` over the data's stimuli (None: no example for that kind)."""
    ids = _stimulus_ids(target)
    rng = np.random.default_rng(0)
    if source_kind in ("features", "rdm_or_features"):
        return xr.DataArray(
            rng.standard_normal((len(ids), EXAMPLE_FEATURES)),
            dims=("presentation", "neuroid"),
            coords={"stimulus_id": ("presentation", ids), "neuroid_id": ("neuroid", [f"u{i}" for i in range(EXAMPLE_FEATURES)])},
        )
    labels = _labels(data, target)
    if source_kind == "probabilities":
        values = rng.dirichlet(np.ones(len(labels)), size=len(ids))
        return xr.DataArray(
            values, dims=("presentation", "choice"), coords={"stimulus_id": ("presentation", ids), "choice": labels}
        )
    if source_kind == "choices":
        return xr.DataArray(
            rng.choice(labels, size=len(ids)), dims=("presentation",), coords={"stimulus_id": ("presentation", ids)}
        )
    return None


def _without_some_stimuli(source: xr.DataArray) -> xr.DataArray:
    return source.isel(presentation=slice(DROPPED_STIMULI, None))


def _attempt(name: str, call: Callable[[], object]) -> tuple[object, Check | None]:
    """Run one step; a failure becomes a failed check rather than ending the report."""
    try:
        return call(), None
    except BsrError as exc:
        return None, Check(name, False, exc.message)
    except Exception as exc:  # noqa: BLE001 - a plugin may raise anything; report it
        return None, Check(name, False, f"{type(exc).__name__}: {exc}")


def _json_round_trip(score: Score) -> bool:
    text = json.dumps(score.to_json())
    return json.dumps(Score.from_json(json.loads(text)).to_json()) == text


def contract_checks(label: str, call: Callable[[], Score], instance: Parameterized, params: dict) -> list[Check]:
    """Parameters, Score type, determinism and JSON round trip of one metric or ceiling call."""
    checks = []
    given, problem = _attempt(f"{label}: parameters", instance.params)
    if problem:
        return [problem]
    unknown = sorted(set(params) - set(given))
    same = all(given.get(k) == v for k, v in params.items())
    checks.append(
        Check(f"{label}: parameters", not unknown and same, f"params() = {given}" + (f"; lost {unknown}" if unknown else ""))
    )
    first, problem = _attempt(f"{label}: returns a Score", call)
    if problem:
        return [*checks, problem]
    if not isinstance(first, Score):
        return [*checks, Check(f"{label}: returns a Score", False, f"returned {type(first).__name__}")]
    checks.append(Check(f"{label}: returns a Score", True, f"value {first.value:.6g}, error {first.error:.3g}"))
    second, problem = _attempt(f"{label}: deterministic", call)
    if problem:
        return [*checks, problem]
    agree = isinstance(second, Score) and json.dumps(second.to_json()) == json.dumps(first.to_json())
    checks.append(Check(f"{label}: deterministic", agree, "two calls give identical Scores" if agree else "two calls differ"))
    checks.append(Check(f"{label}: JSON round trip", _json_round_trip(first), "Score → record JSON → Score"))
    return checks


def _missing_stimuli_check(metric: Parameterized, source: xr.DataArray, target: xr.DataArray) -> Check:
    name = f"metric: a model without {DROPPED_STIMULI} of the data's stimuli is refused"
    try:
        metric(_without_some_stimuli(source), target)
    except UserInputError as exc:
        return Check(name, True, f"UserInputError: {exc.message}")
    except BsrError as exc:
        return Check(name, False, f"{type(exc).__name__} instead of a user error: {exc.message}")
    except Exception as exc:  # noqa: BLE001
        return Check(name, False, f"{type(exc).__name__} instead of a user error: {exc}")
    return Check(name, False, "it scored the model on the stimuli that were left")


def check_benchmark(data: BenchmarkData) -> list[Check]:
    """Every contract check of the benchmark's metric and ceiling on its own data (pulled already)."""
    spec = data.spec
    metric, problem = _attempt("metric: builds", lambda: build_metric(data))
    if problem:
        return [problem]
    checks = [Check("metric: builds", True, f"{spec.metric.name} ({type(metric).__name__})")]
    target = target_of(data)
    metric_target = average_repetitions(target) if data.kind == "neural" else target
    source = example_source(data, target, metric.source_kind)
    if source is None:
        checks.append(Check("metric: example model output", None, f"no example input for source kind {metric.source_kind!r}"))
    else:
        checks += contract_checks("metric", lambda: metric(source, metric_target), metric, spec.metric.params)
        checks.append(_missing_stimuli_check(metric, source, metric_target))
    ceiling, problem = _attempt("ceiling: builds", lambda: build_ceiling(data))
    if problem:
        return [*checks, problem]
    if ceiling is None:
        checks.append(Check("ceiling", None, f"pinned value {spec.ceiling.value}"))
    else:
        checks += contract_checks("ceiling", lambda: ceiling(target), ceiling, spec.ceiling.params)
    if source is not None and all(c.passed is not False for c in checks):
        checks.append(_end_to_end(data, metric, source, metric_target, target, ceiling))
    return checks


def _end_to_end(data, metric, source, metric_target, target, ceiling) -> Check:
    spec = data.spec

    def score():
        raw = metric(source, metric_target)
        return ceil_score(raw, ceiling_for(spec, target, ceiling), spec.normalization_name, spec.normalization_params)

    result, problem = _attempt("normalised score", score)
    return problem or Check("normalised score", True, f"{spec.normalization_name}: {result.value:.6g} for the example output")
