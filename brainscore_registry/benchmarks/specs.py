"""Benchmark specs: `registry/benchmarks/<id>.yaml`, one executable experiment each.

A spec pins its data by full content hash, names the experiment's procedure, the metric with its
parameters, the ceiling (a method, or a pinned value) and the normalisation that turns a raw score
into a ceiled one, and its `parent` in the aggregation tree. Its *fingerprint* is the hash of
everything that can change a number (pins, procedure, metric, ceiling, normalisation); the
description, citation, parent and weight are not in it. `registry/benchmarks/fingerprints.json`
records each spec's version and fingerprint: changing a spec's numbers without raising its version
is an error (`check_versions`, run by the tests), and `record_versions` refuses to record it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from ..data.hashing import canonical_json
from ..data.identifiers import is_hex64
from ..data.metadata import parse_metadata, read_yaml
from ..data.schemas import Additive, PinnedVersion, Strict, VisualDegrees, finite_tree, repeated_bin, valid_identifier
from ..data.vocabulary import REGIONS
from ..errors import BsrError, UserInputError, did_you_mean
from ..paths import write_atomic
from ..store.layout import Layout

Task = Literal["passive", "probabilities", "label", "features"]
FINGERPRINTS = "fingerprints.json"
AGGREGATES = "aggregates.yaml"
NUMBERS = {"assembly", "fitting_stimuli", "procedure", "metric", "ceiling", "normalization"}  # fields that change scores


class Procedure(Additive):
    """What the model is asked to do: record a region over time bins, or perform a task; and which part of
    the data it is compared with (`region`, `subjects`), for every kind of assembly."""

    added: ClassVar[dict[str, Any]] = {"subjects": None}

    region: str | None = Field(default=None, description="recorded region (neural); the region compared (any data)")
    time_bins: list[tuple[int, int]] | None = Field(default=None, description="[start, end) ms after stimulus onset")
    visual_degrees: VisualDegrees | None = Field(default=None, description="size of the stimuli in degrees of visual angle")
    number_of_trials: int = Field(default=1, ge=1, description="presentations of each stimulus to the model")
    task: Task | None = Field(default=None, description="behavioural task: probabilities or label")
    choices: list[str] | None = Field(default=None, description="labels the model chooses among")
    subjects: list[str] | None = Field(default=None, min_length=1, description="only these subjects' data (default: all)")

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str | None) -> str | None:
        if value is not None and value not in REGIONS:
            raise ValueError(f"unknown region {value!r}.{did_you_mean(value, REGIONS)} Known: {', '.join(REGIONS)}")
        return value

    _finite_bins = field_validator("time_bins", mode="before")(finite_tree)

    @field_validator("time_bins")
    @classmethod
    def _ordered_bins(cls, value):
        for start, end in value or []:
            if end <= start:
                raise ValueError(f"time bin [{start}, {end}) ends before it starts")
        repeated = repeated_bin(value or [])
        if repeated:
            raise ValueError(f"time bin [{repeated[0]}, {repeated[1]}) is listed twice; list each time bin once")
        return value

    @field_validator("subjects")
    @classmethod
    def _distinct_subjects(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError(f"subjects are listed twice: {value}")
        return value

    @model_validator(mode="after")
    def _neural_or_behavioural(self) -> "Procedure":
        if self.region is None and self.task is None:
            raise ValueError("name a recorded `region` (neural) or a behavioural `task`")
        return self


def _plugin_pin(part: str, name: str, sha256: str | None) -> None:
    """A plugin name that can name a file, and a well-formed pin (the file, and a missing pin, are checked
    by load_spec, which can say the file's actual sha256)."""
    from .plugins import name_problem, plugin_name

    plugin = plugin_name(name)
    if plugin is None:
        if sha256 is not None:
            raise ValueError(f"plugin_sha256 pins plugin code, but {part} {name!r} is built in; remove plugin_sha256")
        return
    problem = name_problem(plugin)
    if problem:
        raise ValueError(problem)
    if sha256 is not None and not is_hex64(sha256):
        raise ValueError(f"plugin_sha256 of {part} plugin:{plugin} must be 64 lowercase hex digits, got {sha256!r}")


class MetricSpec(Additive):
    """A built-in metric with its parameters, or a plugin (`plugin:<name>`) pinned by its file's sha256."""

    added: ClassVar[dict[str, Any]] = {"plugin_sha256": None}

    name: str
    params: dict = Field(default_factory=dict)
    plugin_sha256: str | None = Field(default=None, description="sha256 of registry/metrics/<name>.py, for plugin:<name>")

    _finite_params = field_validator("params", mode="before")(finite_tree)

    @model_validator(mode="after")
    def _known(self) -> "MetricSpec":
        """A registered metric, parameters it takes, and values its constructor accepts (the metric is
        built once here, so a spec with `n_splits: 0` fails when it is read, naming its file). A plugin's
        parameters are checked when its code is loaded (`bsr benchmark check`, scoring)."""
        from ..metrics import METRICS, metric_parameters

        _plugin_pin("metric", self.name, self.plugin_sha256)
        if self.name.startswith("plugin:"):
            return self
        if self.name not in METRICS:
            raise ValueError(f"unknown metric {self.name!r}.{did_you_mean(self.name, METRICS)} Known: {', '.join(METRICS)}")
        accepted = metric_parameters(self.name)
        unknown = sorted(set(self.params) - accepted)
        if unknown:
            raise ValueError(
                f"metric {self.name!r} takes no parameter {', '.join(map(repr, unknown))}; it takes: {sorted(accepted)}"
            )
        try:
            METRICS[self.name](**self.params)
        except BsrError as exc:
            raise ValueError(exc.message) from None
        return self


class CeilingSpec(Additive):
    """Either a `method` computed from the data (with its `params`; a plugin pinned by sha256), or a
    pinned `value` (with its `error`)."""

    added: ClassVar[dict[str, Any]] = {"params": {}, "plugin_sha256": None}

    method: str | None = None
    value: float | None = Field(default=None, gt=0, le=1)
    error: float | None = Field(default=None, ge=0)
    params: dict = Field(default_factory=dict)
    plugin_sha256: str | None = None

    _finite_params = field_validator("params", mode="before")(finite_tree)

    @model_validator(mode="after")
    def _one_of(self) -> "CeilingSpec":
        from ..metrics import CEILINGS, ceiling_parameters, load_ceiling

        if (self.method is None) == (self.value is None):
            raise ValueError("give exactly one of `method` (computed from the data) or `value` (pinned)")
        if self.method is None:
            if self.params or self.plugin_sha256:
                raise ValueError("a pinned ceiling `value` takes no params or plugin_sha256")
            return self
        _plugin_pin("ceiling", self.method, self.plugin_sha256)
        if self.method.startswith("plugin:"):
            return self
        if self.method not in CEILINGS:
            raise ValueError(
                f"unknown ceiling {self.method!r}.{did_you_mean(self.method, CEILINGS)} Known: {', '.join(CEILINGS)}"
            )
        unknown = sorted(set(self.params) - ceiling_parameters(self.method))
        if unknown:
            raise ValueError(
                f"ceiling {self.method!r} takes no parameter {', '.join(map(repr, unknown))}; "
                f"it takes: {sorted(ceiling_parameters(self.method))}"
            )
        try:
            load_ceiling(self.method, **self.params)
        except BsrError as exc:
            raise ValueError(exc.message) from None
        return self


class NormalizationSpec(Strict):
    """A normalisation that takes parameters: `{name: chance_corrected_over_ceiling, params: {chance: 0.333}}`."""

    name: str
    params: dict = Field(default_factory=dict)

    _finite_params = field_validator("params", mode="before")(finite_tree)


def _normalization(value: Any) -> Any:
    """A known normalisation, by name or with its parameters (metrics/normalization.py lists them)."""
    from ..metrics.normalization import NORMALIZATIONS

    name = value.name if isinstance(value, NormalizationSpec) else value
    if name not in NORMALIZATIONS:
        raise ValueError(
            f"unknown normalization {name!r}.{did_you_mean(str(name), NORMALIZATIONS)} Known: {', '.join(NORMALIZATIONS)}"
        )
    params = value.params if isinstance(value, NormalizationSpec) else {}
    try:
        NORMALIZATIONS[name].checked(params)
    except BsrError as exc:
        raise ValueError(exc.message) from None
    return value


RSA_AGREEMENT = {"comparison": "spearman", "cells": "upper"}
"""What an RSA ceiling must share with the `rsa` metric (with the defaults both take)."""


class BenchmarkSpec(Strict):
    id: Annotated[str, Field(description="benchmark identifier, the file's name")]
    version: int = Field(ge=1, description="raise it whenever a pin, the procedure, the metric or the ceiling changes")
    description: str
    assembly: PinnedVersion = Field(description="the data, pinned: Name@sha256:<64 hex>")
    fitting_stimuli: PinnedVersion | None = Field(default=None, description="stimuli a readout is fitted on, pinned")
    procedure: Procedure
    metric: MetricSpec
    ceiling: CeilingSpec
    normalization: str | NormalizationSpec
    parent: str | None = Field(default=None, description="aggregation node this benchmark counts toward, e.g. 'V4'")
    weight: float = Field(default=1.0, gt=0, description="weight among the parent's children")
    citation: str

    _id = field_validator("id")(valid_identifier)
    _normalization = field_validator("normalization")(_normalization)

    @model_validator(mode="after")
    def _ceiling_compares_as_the_metric(self) -> "BenchmarkSpec":
        """A noise ceiling computed with another comparison or other cells than the metric's bounds
        another quantity: refused rather than silently dividing one by the other."""
        if self.metric.name != "rsa" or self.ceiling.method not in ("rsa_noise_ceiling", "rsa_split_half"):
            return self
        for key, default in RSA_AGREEMENT.items():
            metric, ceiling = self.metric.params.get(key, default), self.ceiling.params.get(key, default)
            if metric != ceiling:
                raise ValueError(
                    f"the metric compares with {key} {metric!r} but the ceiling with {ceiling!r}; "
                    f"set ceiling.params.{key}: {metric} so that the ceiling bounds the same quantity"
                )
        return self

    @property
    def normalization_name(self) -> str:
        return self.normalization.name if isinstance(self.normalization, NormalizationSpec) else self.normalization

    @property
    def normalization_params(self) -> dict:
        return self.normalization.params if isinstance(self.normalization, NormalizationSpec) else {}

    def fingerprint(self) -> str:
        """sha256 of everything that can change the numbers."""
        content = self.model_dump(
            mode="json", include={"assembly", "fitting_stimuli", "procedure", "metric", "ceiling", "normalization"}
        )
        return hashlib.sha256(canonical_json(content)).hexdigest()


def benchmarks_dir(root: Path) -> Path:
    return Layout(Path(root)).benchmarks_dir


def load_spec(path: Path) -> BenchmarkSpec:
    """A spec file, validated; a plugin it pins must be in the same registry (`<root>/registry/metrics/`)
    with exactly the pinned bytes (hashed here, not run)."""
    from .plugins import check_pins

    spec = parse_metadata(read_yaml(path), BenchmarkSpec, file=path, hint="`bsr benchmark show --json` of an existing spec")
    if spec.id != path.stem:
        raise UserInputError(
            f"the spec's id {spec.id!r} differs from its file name", file=path, field="id", fix=f"name the file {spec.id}.yaml"
        )
    check_pins(Path(path).resolve().parents[2], spec, file=path)
    return spec


def spec_paths(root: Path) -> list[Path]:
    """Every spec file (`aggregates.yaml`, the aggregation tree, is not a spec)."""
    return [p for p in sorted(benchmarks_dir(root).glob("*.yaml")) if p.name != AGGREGATES]


def list_specs(root: Path) -> list[BenchmarkSpec]:
    """Every spec; the first broken one is an error (what scoring and aggregation need)."""
    return [load_spec(p) for p in spec_paths(root)]


def read_specs(root: Path) -> tuple[list[BenchmarkSpec], list[UserInputError]]:
    """Every spec that loads, and the error of each one that does not: a listing reports a broken spec
    by its file and still shows the others."""
    specs, errors = [], []
    for path in spec_paths(root):
        try:
            specs.append(load_spec(path))
        except UserInputError as exc:
            errors.append(exc)
    return specs, errors


def find_spec(root: Path, benchmark_id: str) -> BenchmarkSpec:
    path = benchmarks_dir(root) / f"{benchmark_id}.yaml"
    if not path.is_file() or path.name == AGGREGATES:
        known = [p.stem for p in spec_paths(root)]
        raise UserInputError(
            f"no benchmark {benchmark_id!r} in {benchmarks_dir(root)}.{did_you_mean(benchmark_id, known)}",
            field="benchmark",
            fix=f"use one of: {', '.join(known)}" if known else "add a spec under registry/benchmarks/",
        )
    return load_spec(path)


def _recorded(root: Path) -> dict[str, dict]:
    path = benchmarks_dir(root) / FINGERPRINTS
    return json.loads(path.read_text()) if path.is_file() else {}


def version_problems(root: Path) -> list[str]:
    """Specs whose numbers changed without a version bump, or whose version is not recorded."""
    recorded, problems = _recorded(root), []
    for spec in list_specs(root):
        known = recorded.get(spec.id)
        if known is None:
            problems.append(f"{spec.id}: version {spec.version} is not recorded; run `bsr benchmark record`")
        elif spec.version == known["version"] and spec.fingerprint() != known["fingerprint"]:
            problems.append(
                f"{spec.id}: pins, procedure, metric, ceiling or normalization changed but the version is still "
                f"{spec.version}; raise `version` to {spec.version + 1}, then run `bsr benchmark record`"
            )
        elif spec.version < known["version"]:
            problems.append(f"{spec.id}: version {spec.version} is lower than the recorded {known['version']}")
        elif spec.version > known["version"]:
            problems.append(f"{spec.id}: version {spec.version} is not recorded yet; run `bsr benchmark record`")
    return problems


def record_versions(root: Path) -> dict[str, dict]:
    """Record every spec's version and fingerprint; refuses a changed spec whose version was not raised."""
    recorded = _recorded(root)
    for spec in list_specs(root):
        known = recorded.get(spec.id)
        if known and known["version"] == spec.version and known["fingerprint"] != spec.fingerprint():
            raise UserInputError(
                f"benchmark {spec.id} changed its numbers but kept version {spec.version}",
                file=benchmarks_dir(root) / f"{spec.id}.yaml",
                field="version",
                fix=f"raise version to {spec.version + 1}",
            )
        if known and spec.version < known["version"]:
            raise UserInputError(
                f"benchmark {spec.id} has version {spec.version}, lower than the recorded {known['version']}",
                file=benchmarks_dir(root) / f"{spec.id}.yaml",
                field="version",
                fix=f"use a version above {known['version']}",
            )
        recorded[spec.id] = {"version": spec.version, "fingerprint": spec.fingerprint()}
    write_atomic(benchmarks_dir(root) / FINGERPRINTS, json.dumps(dict(sorted(recorded.items())), indent=2) + "\n")
    return recorded
