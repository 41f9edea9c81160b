"""Scoring runs that leave a signed record.

A run scores a *subject* on one benchmark: a brain model (its network runs) or a predictions file (no
model code runs). It pulls the pinned data that are missing, runs the benchmark, and signs a record of
everything needed to check and re-run it (see `records`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from .. import timings
from ..benchmarks.plugins import pins_of
from ..benchmarks.scoring import BenchmarkData, evaluate, load_benchmark_data, model_responses
from ..benchmarks.specs import BenchmarkSpec
from ..data.hashing import canonical_json
from ..errors import JobError
from ..metrics.compute import compute_on
from ..metrics.score import BenchmarkScore
from ..paths import check_output_file
from ..progress import Progress
from ..store.integrity import check_local
from ..store.registry import Registry
from ..store.sources import UnavailableError
from ..store.transfers import pull, resolve_targets
from .environment import code_info, environment_info
from .records import RECORD_SCHEMA, TOLERANCES, ModelPart, ScoreRecord, sign, signer, write_record
from .score_cache import ScoreCache, numeric_setting, score_key

if TYPE_CHECKING:
    import xarray as xr
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ..models.predictions import Predictions
    from ..models.torch_model import TorchBrainModel

SEEDS = {"cv_splits_random_state": 1, "trial_halves": "numpy RandomState(0)", "network": "the factory's own seeding"}


@dataclass(frozen=True)
class Subject:
    """What a run scores, as a record names it: its identity, where it computes, and its responses."""

    part: ModelPart
    device: str
    threads: int | None  # None: the BLAS library's own count is recorded
    responses: Callable[[BenchmarkData], xr.DataArray]
    model: TorchBrainModel | None = None
    setting: str | None = None  # the model's numeric setting (device, bf16, torch, threads), part of a score's key
    metric_device: str | None = None  # where the metric's heavy products run; None: `device`

    @classmethod
    def of_model(cls, model: TorchBrainModel) -> Subject:
        responses = lambda data: model_responses(data, model)  # noqa: E731
        return cls(model_part(model), model.device, model.threads, responses, model, model.numeric_setting())

    @classmethod
    def of_predictions(cls, predictions: Predictions) -> Subject:
        part = ModelPart(kind="predictions", name=f"predictions:{predictions.path.name}", predictions_sha256=predictions.sha256)
        return cls(part, "cpu", None, predictions.responses_for)


def model_part(model: TorchBrainModel) -> ModelPart:
    """A model as a record names it: its card's hashes and the layers it commits."""
    identity = model.card.identity()
    return ModelPart(
        kind="torch",
        name=identity["name"],
        card_sha256=identity["card_sha256"],
        weights_sha256=identity["weights_sha256"],
        factory_sha256=identity["factory_sha256"],
        layers=dict(model.layers),
        readout_layer=identity["readout_layer"],
        visual_degrees=identity["visual_degrees"],
        reduction=identity.get("reduction"),
    )


@dataclass(frozen=True)
class ScoredRun:
    """One benchmark scored on one subject, and where its signed record was written."""

    spec: BenchmarkSpec
    label: str  # the subject as people read it, e.g. "convnet4 (stage3)"
    score: BenchmarkScore
    record: ScoreRecord
    path: Path
    cached: bool = False  # the score came from the score cache (runs/score_cache.py), re-signed


def ensure_local(registry: Registry, spec: BenchmarkSpec, progress: Progress | None = None, logical: bool = False) -> list[str]:
    """Pull the pinned versions (and the assembly's stimulus set) that are not here, from the shared
    cache, the default remote or the public one; returns those pulled. Data that are nowhere are one
    error naming the benchmark, the remotes tried, how to rebuild them and whom to ask. `logical`:
    then make sure each was verified by its logical hash itself, not only by its files' digests."""
    pins = [p for p in (spec.assembly, spec.fitting_stimuli) if p]
    versions = resolve_targets(registry, pins, all_if_empty=False)
    missing = [v.version for v in versions if not registry.layout.is_local(v)]
    if missing:
        try:
            pull(registry, missing, progress=progress)
        except UnavailableError as exc:  # e.g. a fresh clone, offline, whose remotes never received the data
            raise UnavailableError(
                f"benchmark {spec.id} cannot run: {exc.message}",
                versions=exc.versions,
                checks=exc.checks,
                file=exc.file,
                fix=exc.fix,
            ) from None
        except JobError as exc:  # a transfer that failed, or a copy that failed verification
            raise JobError(
                f"benchmark {spec.id} needs {', '.join(missing)}, which could not be pulled: {exc.message}",
                file=exc.file,
                fix=exc.fix,
            ) from None
    if logical:
        for stored in versions:
            check_local(registry.layout, stored, progress, logical=True)
    return missing


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def metric_part(spec: BenchmarkSpec) -> dict:
    """The record's metric: name and parameters, and the plugin files (with their sha256) the score ran."""
    plugins = [{"part": p.part, "name": p.name, "sha256": p.sha256} for p in pins_of(spec)]
    return {"name": spec.metric.name, "params": spec.metric.params, **({"plugins": plugins} if plugins else {})}


def spec_sha256(spec: BenchmarkSpec) -> str:
    """The digest a record pins its benchmark spec by (canonical JSON)."""
    return hashlib.sha256(canonical_json(spec.model_dump(mode="json"))).hexdigest()


def make_record(
    spec: BenchmarkSpec,
    versions: dict[str, str | None],
    score: BenchmarkScore,
    part: ModelPart,
    started: str,
    environment: dict,
    key: Ed25519PrivateKey | None = None,
    submission: dict | None = None,
) -> ScoreRecord:
    """The signed record of `score`: signed here, with this user's key (or `key`, a scoring service's),
    whoever computed it. `submission`: the service's part (account, submission id, precision)."""
    spec_json = spec.model_dump(mode="json")
    record = ScoreRecord(
        schema=RECORD_SCHEMA,
        benchmark={"id": spec.id, "version": spec.version, "spec_sha256": spec_sha256(spec), "spec": spec_json},
        data=versions,
        metric=metric_part(spec),
        normalization=spec.normalization_name,
        score=score.to_json(),
        model=part,
        code=code_info(),
        environment=environment,
        seeds=SEEDS,
        tolerance=TOLERANCES,
        timestamps={"started": started, "finished": _now()},
        signer=signer(key),
        submission=submission,
    )
    return sign(record, key)


def evaluate_subject(data: BenchmarkData, subject: Subject, progress: Progress | None = None) -> BenchmarkScore:
    """The subject's responses, scored; a model on a GPU has the metric's heavy products run there too
    (metrics/compute.py: the same exact algorithms, the record's gpu_vs_cpu tolerance)."""
    device = subject.metric_device or subject.device
    with compute_on("cuda" if device == "cuda" else None):
        return evaluate(data, subject.responses(data), progress)


@dataclass(frozen=True)
class ComputedScore:
    """A score and the setting it was computed in: what a record is signed over, wherever it ran."""

    score: BenchmarkScore
    environment: dict
    started: str
    cached: bool  # from the score cache


def compute_score(data: BenchmarkData, subject: Subject, progress: Progress | None = None) -> ComputedScore:
    """The subject's score on loaded data, from the score cache when the same inputs, code and setting
    were scored before. No record and no key: a scale-out worker runs this, the client signs."""
    started = _now()
    environment = environment_info(subject.device, subject.threads)
    setting = numeric_setting(environment, subject.setting)
    key = score_key(data.spec.fingerprint(), data.versions, subject.part.model_dump(mode="json"), setting, code_info())
    cache = ScoreCache()
    score = cache.get(key)
    cached = score is not None
    if score is None:
        score = evaluate_subject(data, subject, progress)
        cache.put(key, score)
    return ComputedScore(score, environment, started, cached)


def score_and_record(
    data: BenchmarkData, subject: Subject, path: Path, label: str, progress: Progress | None = None
) -> ScoredRun:
    """Score a subject on a benchmark whose data are loaded, sign the record and write it to `path`. A
    score already computed from the same inputs, code and setting comes from the score cache."""
    computed = compute_score(data, subject, progress)
    with timings.stage("record"):
        record = make_record(data.spec, data.versions, computed.score, subject.part, computed.started, computed.environment)
        write_record(record, path)
    return ScoredRun(data.spec, label, computed.score, record, path, computed.cached)


def record_run(
    spec: BenchmarkSpec, registry: Registry, subject: Subject, path: Path, label: str, progress: Progress | None = None
) -> ScoredRun:
    """Pull what the spec pins, score, sign and write the record to `path` (checked first: not a
    directory, device or symlink)."""
    path = check_output_file(path, field="record")
    return score_and_record(local_benchmark_data(registry, spec, progress), subject, path, label, progress)


def local_benchmark_data(registry: Registry, spec: BenchmarkSpec, progress: Progress | None = None) -> BenchmarkData:
    """The spec's pinned data, pulled when they are not here, loaded."""
    with timings.stage("data (pull, load)"):
        ensure_local(registry, spec, progress)
        return load_benchmark_data(spec, registry)
