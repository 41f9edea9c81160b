"""Re-running a record from its pins alone, and saying honestly whether the numbers came back.

`reproduce` refuses a subject whose card, weights, factory source or predictions file differ from the
record's, fetches exactly the pinned data versions (not the registry's latest), re-runs the recorded
spec and compares score, raw score, ceiling, error and every per-split value within the record's
tolerance for the setting at hand (device, thread count, BLAS kernel).

The record comes in already accepted by the trusted-keys policy (`trust.accept_record`: valid signature,
trusted signer), as every consumer of records takes it: re-running a number nobody vouches for proves nothing.

Three verdicts: *reproduced*; *not reproduced* (a difference no setting explains); and *not comparable*,
when the metric is ill-posed on the record's shape (e.g. `linear` with more features than training
stimuli: its min-norm solution amplifies rounding noise) and the setting differs, so the difference
says nothing about the data or the model, only that such a score is tied to the machine it ran on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..benchmarks.plugins import check_pins
from ..benchmarks.scoring import load_benchmark_data
from ..benchmarks.specs import BenchmarkSpec
from ..errors import UserInputError
from ..metrics.score import BenchmarkScore
from ..progress import Progress
from ..store.registry import Registry
from .environment import blas_kernels, environment_info
from .records import ModelPart, ScoreRecord
from .release import released_precision, released_score
from .run import Subject, ensure_local, evaluate_subject


@dataclass
class Comparison:
    quantity: str
    recorded: float
    reproduced: float

    @property
    def delta(self) -> float:
        if np.isnan(self.recorded) and np.isnan(self.reproduced):
            return 0.0
        return abs(self.recorded - self.reproduced)


@dataclass(frozen=True)
class Reproduction:
    rows: list[Comparison]
    setting: str  # which tolerance applies: same_setting, cpu_threads, blas_kernel or gpu_vs_cpu
    tolerance: float
    conditioning: dict | None  # the metric's own conditioning report, when it has one
    recorded_environment: dict
    environment: dict

    @property
    def within_tolerance(self) -> bool:
        return all(row.delta <= self.tolerance for row in self.rows)

    @property
    def ill_posed(self) -> bool:
        return self.conditioning is not None and not self.conditioning.get("well_posed", True)

    @property
    def verdict(self) -> str:
        if self.within_tolerance:
            return "reproduced"
        if self.ill_posed and self.setting != "same_setting":
            return "not comparable"
        return "not reproduced"

    @property
    def reproduced(self) -> bool:
        return self.verdict == "reproduced"

    def explanation(self) -> str | None:
        """Why the numbers differ, when the metric's conditioning explains it (None otherwise)."""
        if self.verdict != "not comparable":
            return None
        recorded, here = _setting_text(self.recorded_environment), _setting_text(self.environment)
        return (
            f"{self.conditioning.get('reason', 'the metric is ill-posed on this shape')}. Its numbers depend on the "
            f"BLAS kernel and thread count, so this difference is not a failure of the data or the model: recorded on "
            f"{recorded}, re-run on {here}. To compare, re-run on the recorded setting "
            f"({_rerun_hint(self.recorded_environment)}); to compare across machines, score with a well-posed metric "
            "(ridge, pls)"
        )


def _setting_text(env: dict) -> str:
    kernels = ", ".join(f"{b['library']} {b['architecture']}" for b in env.get("blas") or []) or "an unrecorded BLAS kernel"
    return f"{env.get('device', 'cpu')} with {env.get('threads')} threads and {kernels}"


def _rerun_hint(env: dict) -> str:
    kernels = [b["architecture"] for b in env.get("blas") or [] if b.get("library") == "openblas" and b.get("architecture")]
    threads = env.get("threads")
    parts = ([f"OPENBLAS_CORETYPE={kernels[0]}"] if kernels else []) + ([f"OMP_NUM_THREADS={threads}"] if threads else [])
    return " ".join(parts) + " bsr reproduce ..." if parts else "the recorded device, threads and BLAS library"


def tolerance_for(record: ScoreRecord, environment: dict) -> tuple[str, float]:
    """Which of the record's tolerances applies to re-running in `environment` (as environment_info gives it)."""
    recorded, tolerances = record.environment, record.tolerance
    if recorded.get("device") != environment.get("device"):
        return "gpu_vs_cpu", tolerances["gpu_vs_cpu"]
    if recorded.get("threads") != environment.get("threads"):
        return "cpu_threads", tolerances["cpu_threads"]
    if blas_kernels(recorded) != blas_kernels(environment):  # another kernel, or a record that names none
        return "blas_kernel", tolerances.get("blas_kernel", tolerances["cpu_threads"])
    return "same_setting", tolerances["same_setting"]


def check_model_matches(record: ScoreRecord, part: ModelPart) -> None:
    """Refuse to reproduce with a model other than the recorded one; say which part differs."""
    recorded = record.model
    if recorded.kind != part.kind:
        raise UserInputError(
            f"the record was made from {recorded.kind}, not {part.kind}",
            field="model",
            fix="--predictions FILE for a prediction-only record, --model card.yaml otherwise",
        )
    for field, label in (
        ("weights_sha256", "weights"),
        ("factory_sha256", "factory source"),
        ("card_sha256", "model card"),
        ("predictions_sha256", "predictions file"),
    ):
        expected, actual = getattr(recorded, field), getattr(part, field)
        if expected != actual:
            raise UserInputError(
                f"the {label} differ from the record's: recorded sha256 {expected}, given {actual}",
                field=field.removesuffix("_sha256"),
                fix=f"use the exact {label} the record names; a different {label} is a different model",
            )


def compare(record: ScoreRecord, score: BenchmarkScore) -> list[Comparison]:
    """The recorded numbers against the re-run's. A scoring service's record holds a released score (the
    aggregates at its precision, no per-split values): the re-run is released the same way first."""
    before = BenchmarkScore.from_json(record.score)
    released, precision = released_precision(record)
    if released:
        score = released_score(score, precision)
    rows = [
        Comparison("score", before.value, score.value),
        Comparison("raw", before.raw.value, score.raw.value),
        Comparison("ceiling", before.ceiling.value, score.ceiling.value),
        Comparison("error", before.error, score.error),
    ]
    a, b = np.asarray(before.raw.raw, dtype=float), np.asarray(score.raw.raw, dtype=float)
    if released:
        return rows
    if a.shape == b.shape:
        both_nan = np.isnan(a) & np.isnan(b)
        worst = float(np.max(np.where(both_nan, 0.0, np.abs(a - b)), initial=0.0))
        rows.append(Comparison("per-split raw (max |Δ|)", 0.0, worst))
    else:
        rows.append(Comparison(f"per-split raw shape {a.shape} vs {b.shape}", 0.0, float("inf")))
    return rows


def reproduce(record: ScoreRecord, registry: Registry, subject: Subject, progress: Progress | None = None) -> Reproduction:
    """Re-run a record on `subject` (the recorded layer commitment is applied to a brain model). `record`
    is one `trust.accept_record` returned: this function checks the model and the data, not the signer."""
    spec = BenchmarkSpec.model_validate(record.benchmark.spec)
    check_pins(registry.root, spec)  # a changed plugin is refused before anything is pulled or run
    if subject.model is not None:
        subject = Subject.of_model(subject.model.with_layers(dict(record.model.layers)))
    check_model_matches(record, subject.part)
    ensure_local(registry, spec, progress, logical=True)  # a claim re-established rests on the logical hash itself
    data = load_benchmark_data(spec, registry)
    if data.versions != record.data:
        raise UserInputError(
            f"the pinned data resolve to {data.versions}, the record has {record.data}",
            field="data",
            fix="the record and its spec disagree: it was edited",
        )
    score = evaluate_subject(data, subject, progress)
    environment = environment_info(subject.device, subject.threads)
    setting, tolerance = tolerance_for(record, environment)
    conditioning = record.score["raw"].get("attrs", {}).get("conditioning") or score.raw.attrs.get("conditioning")
    return Reproduction(compare(record, score), setting, tolerance, conditioning, record.environment, environment)
