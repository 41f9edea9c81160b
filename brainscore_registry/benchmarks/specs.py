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
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from ..data.hashing import canonical_json
from ..data.metadata import parse_metadata, read_yaml
from ..data.schemas import PinnedVersion, Strict, VisualDegrees, finite_tree, repeated_bin, valid_identifier
from ..data.vocabulary import REGIONS
from ..errors import BsrError, UserInputError, did_you_mean
from ..paths import write_atomic
from ..store.layout import Layout

Normalization = Literal[
    "none", "r2_over_ceiling", "raw_over_sqrt_ceiling", "raw_over_ceiling_clipped", "raw_over_ceiling", "closeness_over_ceiling"
]
Task = Literal["passive", "probabilities", "label"]
FINGERPRINTS = "fingerprints.json"
AGGREGATES = "aggregates.yaml"
NUMBERS = {"assembly", "fitting_stimuli", "procedure", "metric", "ceiling", "normalization"}  # fields that change scores


class Procedure(Strict):
    """What the model is asked to do: record a region over time bins, or perform a task."""

    region: str | None = Field(default=None, description="recorded region (neural benchmarks)")
    time_bins: list[tuple[int, int]] | None = Field(default=None, description="[start, end) ms after stimulus onset")
    visual_degrees: VisualDegrees | None = Field(default=None, description="size of the stimuli in degrees of visual angle")
    number_of_trials: int = Field(default=1, ge=1, description="presentations of each stimulus to the model")
    task: Task | None = Field(default=None, description="behavioural task: probabilities or label")
    choices: list[str] | None = Field(default=None, description="labels the model chooses among")

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

    @model_validator(mode="after")
    def _neural_or_behavioural(self) -> "Procedure":
        if self.region is None and self.task is None:
            raise ValueError("name a recorded `region` (neural) or a behavioural `task`")
        if self.region is not None and not self.time_bins:
            raise ValueError("a neural procedure needs `time_bins`, e.g. [[70, 170]]")
        return self


class MetricSpec(Strict):
    name: str
    params: dict = Field(default_factory=dict)

    _finite_params = field_validator("params", mode="before")(finite_tree)

    @model_validator(mode="after")
    def _known(self) -> "MetricSpec":
        """A registered metric, parameters it takes, and values its constructor accepts (the metric is
        built once here, so a spec with `n_splits: 0` fails when it is read, naming its file)."""
        from ..metrics import METRICS, metric_parameters

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


class CeilingSpec(Strict):
    """Either a `method` computed from the data, or a pinned `value` (with its `error`)."""

    method: str | None = None
    value: float | None = Field(default=None, gt=0, le=1)
    error: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_of(self) -> "CeilingSpec":
        from ..metrics import CEILINGS

        if (self.method is None) == (self.value is None):
            raise ValueError("give exactly one of `method` (computed from the data) or `value` (pinned)")
        if self.method is not None and self.method not in CEILINGS:
            raise ValueError(
                f"unknown ceiling {self.method!r}.{did_you_mean(self.method, CEILINGS)} Known: {', '.join(CEILINGS)}"
            )
        return self


class BenchmarkSpec(Strict):
    id: Annotated[str, Field(description="benchmark identifier, the file's name")]
    version: int = Field(ge=1, description="raise it whenever a pin, the procedure, the metric or the ceiling changes")
    description: str
    assembly: PinnedVersion = Field(description="the data, pinned: Name@sha256:<64 hex>")
    fitting_stimuli: PinnedVersion | None = Field(default=None, description="stimuli a readout is fitted on, pinned")
    procedure: Procedure
    metric: MetricSpec
    ceiling: CeilingSpec
    normalization: Normalization
    parent: str | None = Field(default=None, description="aggregation node this benchmark counts toward, e.g. 'V4'")
    weight: float = Field(default=1.0, gt=0, description="weight among the parent's children")
    citation: str

    _id = field_validator("id")(valid_identifier)

    def fingerprint(self) -> str:
        """sha256 of everything that can change the numbers."""
        content = self.model_dump(
            mode="json", include={"assembly", "fitting_stimuli", "procedure", "metric", "ceiling", "normalization"}
        )
        return hashlib.sha256(canonical_json(content)).hexdigest()


def benchmarks_dir(root: Path) -> Path:
    return Layout(Path(root)).benchmarks_dir


def load_spec(path: Path) -> BenchmarkSpec:
    spec = parse_metadata(read_yaml(path), BenchmarkSpec, file=path, hint="`bsr benchmark show --json` of an existing spec")
    if spec.id != path.stem:
        raise UserInputError(
            f"the spec's id {spec.id!r} differs from its file name", file=path, field="id", fix=f"name the file {spec.id}.yaml"
        )
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
