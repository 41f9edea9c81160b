"""`bsr run` on the client: models × benchmarks as a Dask task graph, records signed here.

Stage 1 prepares each benchmark on a worker (its data pulled and verified there, the stimuli it shows
listed). Stage 2 submits one extraction task per distinct extraction (see `plan`), one metric task per
(model, benchmark) that depends on the extractions it needs, and a small summary task per extraction,
so that counts and images/s reach the client and activations never do. Results come back as they
finish; each metric result is signed with the user's key, which never leaves this process, and written
once, atomically.

A task that fails for a user error reports `bsr score`'s message for the pairs it concerns and the rest
go on; a task whose worker dies is rerun elsewhere by the scheduler (a bounded number of times), and an
unexpected exception is retried (`retries`). A pair already recorded by this user for the same spec,
model and code is not planned again, and extractions already in the activation cache are read, not
recomputed: rerunning a finished command submits nothing.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..benchmarks.specs import BenchmarkSpec
from ..errors import BsrError, UserInputError
from ..paths import check_output_file
from ..runs.environment import code_info
from ..runs.records import ensure_key, write_record
from ..runs.run import ScoredRun, make_record
from .plan import Pair, PlannedModel, already_recorded, committed_layer, extraction_id, extraction_requests, metric_request
from .tasks import (
    BenchmarkNeeds,
    ExtractionSummary,
    MetricResult,
    TaskFailure,
    WorkerSetup,
    extract_layer,
    prepare_benchmark,
    score_benchmark,
    summarize,
)

if TYPE_CHECKING:
    from ..store.registry import Registry

STAGES = ("prepare", "extract", "metric")


@dataclass
class RunSettings:
    device: str = "auto"  # where extractions run; "cuda" asks Dask for a GPU resource
    batch_size: int = 64
    metric_device: str = "cpu"  # "cuda": metric tasks ask for a GPU too and run their products there
    retries: int = 2
    out_dir: Path | None = None  # default: the registry's records/
    worker_registry: str | None = None  # default: the client's registry (its git location when it has one)


@dataclass
class StageCount:
    total: int = 0
    done: int = 0
    failed: int = 0


@dataclass
class RunState:
    """What the progress view shows; `running` is read from the scheduler by the view itself."""

    stages: dict[str, StageCount] = field(default_factory=lambda: {s: StageCount() for s in STAGES})
    images: int = 0  # images through a network (not from the cache)
    metric_seconds: float = 0.0  # summed over metric tasks
    prepare_wall: float = 0.0  # stage 1, start to end
    started: float = field(default_factory=time.perf_counter)

    @property
    def images_per_second(self) -> float:
        elapsed = time.perf_counter() - self.started
        return self.images / elapsed if elapsed > 0 else 0.0


@dataclass(frozen=True)
class PairFailure:
    benchmark: str
    model: str
    stage: str
    message: str
    exit_code: int


@dataclass
class RunOutcome:
    runs: list[ScoredRun] = field(default_factory=list)
    failures: list[PairFailure] = field(default_factory=list)
    recorded: list[Pair] = field(default_factory=list)  # already recorded: not run again
    extractions: dict[str, ExtractionSummary] = field(default_factory=dict)  # extraction id -> what it did
    state: RunState = field(default_factory=RunState)

    @property
    def exit_code(self) -> int:
        """0 when every pair has its record; 2 when every failure is a user error; else 1."""
        if not self.failures:
            return 0
        return 2 if all(f.exit_code == 2 for f in self.failures) else 1


def plan_pairs(registry: Registry, specs: list[BenchmarkSpec], models: list[PlannedModel], out_dir: Path | None) -> list[Pair]:
    """Every (benchmark, model), with its record path checked before any task is submitted."""
    pairs = []
    for spec in specs:
        for model in models:
            default = registry.layout.record_path(spec.id, model.name)
            path = (out_dir / default.name) if out_dir is not None else default
            pairs.append(Pair(spec, model, check_output_file(path, field="record")))
    return pairs


class GridRun:
    """One `bsr run`: the pairs still to score are known on creation (before any cluster is started);
    `run` submits them, calling `on_change(state)` after every finished task."""

    def __init__(self, registry: Registry, pairs: list[Pair], settings: RunSettings) -> None:
        self.pairs, self.settings = pairs, settings
        location = settings.worker_registry or registry.origin or str(registry.root)
        self.setup = WorkerSetup(location, code_info())
        self.token = hashlib.sha256(repr((self.setup.registry, sorted(self.setup.code.items()))).encode()).hexdigest()[:10]
        self.outcome = RunOutcome()
        self.client = None
        self.on_change: Callable[[RunState], None] = lambda state: None
        ensure_key()
        self.pending = self._pending_pairs()

    def run(self, client, on_change: Callable[[RunState], None] | None = None) -> RunOutcome:
        """Submit the pending pairs to `client`'s cluster and wait for all of them."""
        self.client = client
        self.on_change = on_change or self.on_change
        self.outcome.state.started = time.perf_counter()
        needs = self._prepare(self.pending)
        self.outcome.state.prepare_wall = time.perf_counter() - self.outcome.state.started
        self._extract_and_score([p for p in self.pending if p.spec.id in needs], needs)
        return self.outcome

    def _fail(self, pair: Pair, stage: str, message: str, exit_code: int) -> None:
        self.outcome.failures.append(PairFailure(pair.spec.id, pair.model.name, stage, message, exit_code))

    def _pending_pairs(self) -> list[Pair]:
        """Pairs still to score: not already recorded, and whose card commits the layer they need."""
        pending = []
        for pair in self.pairs:
            if already_recorded(pair, self.setup.code):
                self.outcome.recorded.append(pair)
                continue
            try:
                committed_layer(pair)
            except UserInputError as exc:
                self._fail(pair, "plan", exc.render(), exc.exit_code)
                continue
            pending.append(pair)
        return pending

    def _submit(self, stage: str, function, *args, name: str, resources: dict | None = None):
        return self.client.submit(
            function, *args, key=f"{stage}-{name}-{self.token}", retries=self.settings.retries, resources=resources
        )

    def _prepare(self, pairs: list[Pair]) -> dict[str, BenchmarkNeeds]:
        """Stage 1: each benchmark's data on a worker, and the stimuli it shows."""
        from distributed import as_completed

        specs = {p.spec.id: p.spec for p in pairs}
        futures = {
            self._submit("prepare", prepare_benchmark, self.setup, spec.id, spec.fingerprint(), name=spec.id): spec.id
            for spec in specs.values()
        }
        self._count("prepare", total=len(futures))
        needs = {}
        for future in as_completed(futures, loop=self.client.loop):
            spec_id = futures[future]
            result = self._result(future, "prepare")
            if isinstance(result, TaskFailure):
                for pair in pairs:
                    if pair.spec.id == spec_id:
                        self._fail(pair, result.stage, result.message, result.exit_code)
            else:
                needs[spec_id] = result
            self._count("prepare", done=1, failed=int(isinstance(result, TaskFailure)))
        return needs

    def _extract_and_score(self, pairs: list[Pair], needs: dict[str, BenchmarkNeeds]) -> None:
        """Stage 2: one task per distinct extraction, one metric task per pair, as results arrive."""
        from distributed import as_completed

        extraction_gpu = {"GPU": 1} if self.settings.device == "cuda" else None
        metric_gpu = {"GPU": 1} if self.settings.metric_device == "cuda" else None
        extractions, summaries, metrics = {}, {}, {}
        for pair in pairs:
            depends = []
            for request in extraction_requests(pair, needs[pair.spec.id]):
                eid = extraction_id(request)
                if eid not in extractions:
                    extractions[eid] = self._submit(
                        "extract", extract_layer, self.setup, request, name=eid, resources=extraction_gpu
                    )
                    summaries[self._submit("summary", summarize, extractions[eid], name=eid)] = eid
                depends.append(extractions[eid])
            request = metric_request(pair, self.settings.metric_device)
            name = hashlib.sha256(f"{pair.spec.fingerprint()}|{pair.model.ref}|{request.metric_device}".encode()).hexdigest()[:24]
            metrics[self._submit("metric", score_benchmark, self.setup, request, depends, name=name, resources=metric_gpu)] = pair
        extractions.clear()  # the metric tasks hold them now: the scheduler frees each after its last one
        self._count("extract", total=len(summaries))
        self._count("metric", total=len(metrics))
        for future in as_completed([*summaries, *metrics], loop=self.client.loop):
            if future in summaries:
                self._extraction_done(summaries.pop(future), self._result(future, "extract"))
            else:
                self._metric_done(metrics.pop(future), self._result(future, "metric"))
            future.release()

    def _result(self, future, stage: str):
        """The task's value; an exception that survived the retries (or a worker that died too often)
        is a failed job, reported like any other failure."""
        try:
            return future.result()
        except Exception as exc:  # noqa: BLE001 - whatever the task raised, on a worker, after its retries
            return TaskFailure(stage, f"{type(exc).__name__}: {exc}", 1, "?")

    def _extraction_done(self, eid: str, result: ExtractionSummary | TaskFailure) -> None:
        failed = isinstance(result, TaskFailure)
        if not failed:
            self.outcome.extractions[eid] = result
            if result.computed:
                self.outcome.state.images += result.images
        self._count("extract", done=1, failed=int(failed))

    def _metric_done(self, pair: Pair, result: MetricResult | TaskFailure) -> None:
        if not isinstance(result, TaskFailure):
            self.outcome.state.metric_seconds += result.seconds
            result = self._record(pair, result)
        if isinstance(result, TaskFailure):
            self._fail(pair, result.stage, result.message, result.exit_code)
        self._count("metric", done=1, failed=int(isinstance(result, TaskFailure)))

    def _record(self, pair: Pair, result: MetricResult) -> TaskFailure | None:
        """Sign the pair's record here and write it; a failure to write is the pair's failure."""
        computed = result.computed
        try:
            record = make_record(
                pair.spec, result.versions, computed.score, pair.model.part, computed.started, computed.environment
            )
            write_record(record, pair.path)
        except BsrError as exc:
            return TaskFailure.of("record", exc)
        self.outcome.runs.append(ScoredRun(pair.spec, pair.model.name, computed.score, record, pair.path, computed.cached))
        return None

    def _count(self, stage: str, total: int = 0, done: int = 0, failed: int = 0) -> None:
        count = self.outcome.state.stages[stage]
        count.total += total
        count.done += done
        count.failed += failed
        self.on_change(self.outcome.state)
