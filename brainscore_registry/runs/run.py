"""Scoring runs that leave a signed record, and their reproduction from the record alone.

`score_with_record` runs a benchmark on a brain model (or on a predictions file), then writes what is
needed to check and re-run it (see records). `reproduce` reads a record, refuses a model whose card,
weights or factory source differ from the record's, fetches exactly the pinned data versions (not
the registry's latest), re-runs the recorded spec and compares score, raw score, ceiling and every
per-split value within the record's tolerance for the setting at hand.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from ..benchmarks.scoring import BenchmarkData, evaluate, load_benchmark_data, model_responses
from ..benchmarks.specs import BenchmarkSpec
from ..data.hashing import canonical_json
from ..errors import JobError, UserInputError
from ..metrics.score import BenchmarkScore
from ..store.registry import Registry
from ..store.transfers import pull, resolve_targets
from .environment import code_info, environment_info
from .records import RECORD_SCHEMA, TOLERANCES, ModelPart, ScoreRecord, sign, signer

SEEDS = {"cv_splits_random_state": 1, "trial_halves": "numpy RandomState(0)", "network": "the factory's own seeding"}


def ensure_local(registry: Registry, spec: BenchmarkSpec, progress=None) -> list[str]:
    """Pull the pinned versions (and the assembly's stimulus set) that are not here; returns those pulled."""
    pins = [p for p in (spec.assembly, spec.fitting_stimuli) if p]
    missing = [v.version for v in resolve_targets(registry, pins, all_if_empty=False) if not registry.layout.is_local(v)]
    if missing:
        try:
            pull(registry, missing, progress=progress)
        except JobError as exc:  # e.g. a fresh clone whose remote never received the data
            raise JobError(
                f"benchmark {spec.id} needs {', '.join(missing)}, which could not be pulled: {exc.message}",
                fix=f"{exc.fix}; or rebuild published data from the raw files: `bsr package all --raw PATH`",
            ) from None
    return missing


def model_part(model) -> ModelPart:
    """The record's model identity for a TorchBrainModel."""
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
    )


def predictions_part(path, digest: str) -> ModelPart:
    return ModelPart(kind="predictions", name=f"predictions:{path.name}", predictions_sha256=digest)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def make_record(
    spec: BenchmarkSpec, data: BenchmarkData, score: BenchmarkScore, model: ModelPart, device: str, started: str
) -> ScoreRecord:
    spec_json = spec.model_dump(mode="json")
    record = ScoreRecord(
        schema=RECORD_SCHEMA,
        benchmark={
            "id": spec.id,
            "version": spec.version,
            "spec_sha256": hashlib.sha256(canonical_json(spec_json)).hexdigest(),
            "spec": spec_json,
        },
        data=data.versions,
        metric={"name": spec.metric.name, "params": spec.metric.params},
        normalization=spec.normalization,
        score=score.to_json(),
        model=model,
        code=code_info(),
        environment=environment_info(device),
        seeds=SEEDS,
        tolerance=TOLERANCES,
        timestamps={"started": started, "finished": _now()},
        signer=signer(),
    )
    return sign(record)


def score_with_record(
    spec: BenchmarkSpec, registry: Registry, model=None, *, predictions=None, progress=None
) -> tuple[BenchmarkScore, ScoreRecord]:
    """Score a TorchBrainModel, or a `Predictions` file, on one benchmark; returns the score and its signed record."""
    started = _now()
    ensure_local(registry, spec, progress)
    data = load_benchmark_data(spec, registry)
    if predictions is not None:
        score = evaluate(data, predictions.responses_for(data), progress)
        part, device = predictions_part(predictions.path, predictions.sha256), "cpu"
    else:
        score = evaluate(data, model_responses(data, model), progress)
        part, device = model_part(model), model.device
    return score, make_record(spec, data, score, part, device, started)


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


def tolerance_for(record: ScoreRecord, device: str, threads: int) -> tuple[str, float]:
    """Which of the record's tolerances applies to re-running on `device` with `threads`."""
    env = record.environment
    if env.get("device") != device:
        return "gpu_vs_cpu", record.tolerance["gpu_vs_cpu"]
    if env.get("threads") != threads:
        return "cpu_threads", record.tolerance["cpu_threads"]
    return "same_setting", record.tolerance["same_setting"]


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
    before = BenchmarkScore.from_json(record.score)
    rows = [
        Comparison("score", before.value, score.value),
        Comparison("raw", before.raw.value, score.raw.value),
        Comparison("ceiling", before.ceiling.value, score.ceiling.value),
        Comparison("error", before.error, score.error),
    ]
    a, b = np.asarray(before.raw.raw, dtype=float), np.asarray(score.raw.raw, dtype=float)
    if a.shape == b.shape:
        both_nan = np.isnan(a) & np.isnan(b)
        worst = float(np.max(np.where(both_nan, 0.0, np.abs(a - b)), initial=0.0))
        rows.append(Comparison("per-split raw (max |Δ|)", 0.0, worst))
    else:
        rows.append(Comparison(f"per-split raw shape {a.shape} vs {b.shape}", 0.0, float("inf")))
    return rows


def reproduce(record: ScoreRecord, registry: Registry, model=None, *, predictions=None, progress=None):
    """Re-run a record; returns (comparisons, tolerance name, tolerance, reproduced?)."""
    spec = BenchmarkSpec.model_validate(record.benchmark.spec)
    if predictions is not None:
        check_model_matches(record, predictions_part(predictions.path, predictions.sha256))
        device, threads = "cpu", record.environment.get("threads")
    else:
        model.layers = dict(record.model.layers)  # the layer commitment the record was made with
        check_model_matches(record, model_part(model))
        import torch

        device, threads = model.device, torch.get_num_threads()
    ensure_local(registry, spec, progress)
    data = load_benchmark_data(spec, registry)
    if data.versions != record.data:
        raise UserInputError(
            f"the pinned data resolve to {data.versions}, the record has {record.data}",
            field="data",
            fix="the record and its spec disagree: it was edited",
        )
    source = predictions.responses_for(data) if predictions is not None else model_responses(data, model)
    rows = compare(record, evaluate(data, source, progress))
    name, tolerance = tolerance_for(record, device, threads)
    return rows, name, tolerance, all(row.delta <= tolerance for row in rows)
