"""What a Dask worker runs for `bsr run`: three pure functions of hashed inputs.

- `prepare_benchmark`: pull the benchmark's pinned data into the worker's registry (its own DVC cache,
  verified), load them, and say which stimuli a model is shown (so the client can share extractions);
- `extract_layer`: one layer of one model on one placed stimulus set, through the activation cache;
- `score_benchmark`: the metric, ceiling and normalisation on extracted activations, through the
  score cache. No key and no record: the client signs.

Every request carries what the client hashed (the spec's fingerprint, the card's identity, the
stimuli's placement key, the code's version), and a worker that finds anything else refuses the task
instead of computing a number the record would misdescribe. A user's mistake (a card that does not
build, a layer the network lacks) comes back as a `TaskFailure` carrying the very message `bsr score`
prints, so it is not retried; anything else raises, and Dask retries the task (bounded) elsewhere.

Workers are stateless between runs: what a process memoises (the registry checkout, loaded data, a
built network) is keyed by content and rebuilt by any fresh worker from the registry and the cards.
"""

from __future__ import annotations

import functools
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import BsrError, JobError
from ..runs.environment import code_info

if TYPE_CHECKING:
    from ..benchmarks.scoring import BenchmarkData
    from ..models.precomputed import ExtractedLayer
    from ..models.torch_model import TorchBrainModel
    from ..runs.run import ComputedScore
    from ..store.registry import Registry


@dataclass(frozen=True)
class WorkerSetup:
    """What every task needs to find the client's inputs: where the registry is, and the code version
    the client will sign records as."""

    registry: str  # a checkout path every worker can read, or a git location each worker clones
    code: dict  # the client's code_info()


@dataclass(frozen=True)
class TaskFailure:
    """A task that failed for a reason retrying cannot fix; `message` is what `bsr score` prints."""

    stage: str
    message: str
    exit_code: int
    worker: str

    @classmethod
    def of(cls, stage: str, exc: BsrError) -> TaskFailure:
        return cls(stage, exc.render(), exc.exit_code, socket.gethostname())


@dataclass(frozen=True)
class BenchmarkNeeds:
    """The stimuli a benchmark shows a model: what extractions are grouped by."""

    spec_id: str
    stimulus_set: str
    ids: tuple[str, ...]
    fitting_set: str | None
    fitting_ids: tuple[str, ...] | None


@dataclass(frozen=True)
class ModelRef:
    """A model card as the client loaded it: the path every worker reads, and the identity it hashed to."""

    card_path: str
    identity: str
    device: str
    batch_size: int


@dataclass(frozen=True)
class ExtractionRequest:
    model: ModelRef
    spec_id: str  # a benchmark whose data hold these stimuli (any of those that share them)
    fingerprint: str
    fitting: bool  # the benchmark's fitting stimuli, not its test stimuli
    ids: tuple[str, ...]
    layer: str
    stimuli_key: str  # PlacedStimuli.key the client planned


@dataclass(frozen=True)
class Extraction:
    activations: ExtractedLayer
    images: int
    seconds: float
    computed: bool  # False: from the activation cache
    worker: str


@dataclass(frozen=True)
class MetricRequest:
    model: ModelRef
    layers: dict[str, str]
    spec_id: str
    fingerprint: str
    metric_device: str


@dataclass(frozen=True)
class MetricResult:
    computed: ComputedScore
    versions: dict[str, str | None]
    code: dict
    seconds: float  # the task's own time: data load, responses, metric, ceiling
    worker: str


def _guarded(stage: str):
    """Turn the package's own errors into a TaskFailure (not retried); let anything else raise."""

    def wrap(function):
        @functools.wraps(function)
        def run(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except BsrError as exc:
                return TaskFailure.of(stage, exc)

        return run

    return wrap


_lock = threading.Lock()  # one worker process may run tasks on several threads


@functools.lru_cache(maxsize=4)
def _registry(location: str) -> Registry:
    from ..store.registry import Registry

    return Registry(location)


def _check_code(setup: WorkerSetup) -> None:
    mine = code_info()  # asked of git once per process
    if mine != setup.code:
        raise JobError(
            f"this worker runs {_code_text(mine)}, the client {_code_text(setup.code)}: its numbers would be signed "
            "as code that did not compute them",
            field="code",
            fix="install the same brainscore-registry version (and commit) on the workers as on the client",
        )


def _code_text(code: dict) -> str:
    commit = (code.get("git_commit") or "no commit")[:12]
    return f"brainscore-registry {code.get('version')} ({commit}{', modified' if code.get('git_dirty') else ''})"


@functools.lru_cache(maxsize=16)
def _benchmark_data(location: str, spec_id: str, fingerprint: str) -> BenchmarkData:
    """The benchmark's data, pulled into this worker's registry when missing (verified) and loaded once
    per process. Pulls are serialised by the registry's lock: workers may share one checkout."""
    from ..benchmarks.scoring import load_benchmark_data
    from ..benchmarks.specs import find_spec
    from ..runs.run import ensure_local

    registry = _registry(location)
    spec = find_spec(registry.root, spec_id)
    if spec.fingerprint() != fingerprint:
        raise JobError(
            f"benchmark {spec_id} in the workers' registry ({location}) is not the client's: another version of its spec",
            file=str(registry.layout.benchmarks_dir / f"{spec_id}.yaml"),
            field="spec",
            fix="commit and push the registry the client uses, or point --worker-registry at the client's",
        )
    with _lock, registry.lock():
        ensure_local(registry, spec)
    return load_benchmark_data(spec, registry)


def benchmark_data(setup: WorkerSetup, spec_id: str, fingerprint: str) -> BenchmarkData:
    _check_code(setup)
    return _benchmark_data(setup.registry, spec_id, fingerprint)


@functools.lru_cache(maxsize=8)
def _card(card_path: str, identity: str):
    """The card, loaded and its identity (card, weights, factory) checked once per process."""
    from ..models.model_card import load_card

    card = load_card(card_path)
    check_identity(card, identity)
    return card


@functools.lru_cache(maxsize=8)
def _model(card_path: str, identity: str, device: str, batch_size: int) -> TorchBrainModel:
    """The card's model, built once per process (its network on first use)."""
    from ..models.torch_model import TorchBrainModel

    return TorchBrainModel(_card(card_path, identity), device=device, batch_size=batch_size)


def check_identity(card, identity: str) -> None:
    """The card (with its weights and factory) this worker reads must be the one the client hashed."""
    if card.identity_hash() != identity:
        raise JobError(
            f"the model card on worker {socket.gethostname()} is not the client's (card, weights or factory file differ)",
            file=card.path,
            field="card",
            fix="put cards, weights and factory files on a filesystem every worker reads, unchanged during the run",
        )


@_guarded("prepare")
def prepare_benchmark(setup: WorkerSetup, spec_id: str, fingerprint: str) -> BenchmarkNeeds | TaskFailure:
    from ..benchmarks.scoring import shown_stimulus_ids

    data = benchmark_data(setup, spec_id, fingerprint)
    fitting = data.fitting_stimuli
    return BenchmarkNeeds(
        spec_id,
        data.stimulus_set.version,
        tuple(shown_stimulus_ids(data)),
        fitting.version if fitting is not None else None,
        tuple(fitting.stimulus_ids) if fitting is not None else None,
    )


@_guarded("extract")
def extract_layer(setup: WorkerSetup, request: ExtractionRequest) -> Extraction | TaskFailure:
    from ..benchmarks.scoring import check_placement
    from ..benchmarks.screen import PlacedStimuli
    from ..models.precomputed import ExtractedLayer
    from ..runs.environment import device_name

    data = benchmark_data(setup, request.spec_id, request.fingerprint)
    ref = request.model
    model = _model(ref.card_path, ref.identity, ref.device, ref.batch_size)
    stimuli = data.fitting_stimuli if request.fitting else data.stimulus_set
    degrees = data.spec.procedure.visual_degrees
    check_placement(stimuli, degrees, model.visual_degrees(), data.spec.id)
    placed = PlacedStimuli.of(stimuli, degrees, model.visual_degrees(), request.ids)
    if placed.key != request.stimuli_key:
        raise JobError(f"the worker placed {placed.key}, the client planned {request.stimuli_key}", field="stimuli")
    hits, started = model.cache_hits, time.perf_counter()
    with _lock:
        values = model.activations(placed, request.layer)
    extracted = ExtractedLayer(
        placed.key,
        request.layer,
        values,
        tuple(placed.ids),
        model.device,
        model.threads,
        model.numeric_setting(),
        device_name(model.device),
    )
    seconds = time.perf_counter() - started
    return Extraction(extracted, len(placed), seconds, model.cache_hits == hits, socket.gethostname())


@_guarded("metric")
def score_benchmark(
    setup: WorkerSetup, request: MetricRequest, extractions: list[Extraction | TaskFailure]
) -> MetricResult | TaskFailure:
    """The benchmark scored on extracted activations; the first failed extraction, as it failed."""
    from dataclasses import replace

    from ..models.precomputed import PrecomputedBrainModel
    from ..runs.run import Subject, compute_score

    failed = next((e for e in extractions if isinstance(e, TaskFailure)), None)
    if failed is not None:
        return failed
    started = time.perf_counter()
    data = benchmark_data(setup, request.spec_id, request.fingerprint)
    card = _card(request.model.card_path, request.model.identity)
    model = PrecomputedBrainModel(card, request.layers, [e.activations for e in extractions])
    subject = replace(Subject.of_model(model), metric_device=request.metric_device)
    with _lock:
        computed = compute_score(data, subject)
    # the record names the device that extracted the activations, not the one that scored them
    computed = replace(computed, environment={**computed.environment, "device_name": extractions[0].activations.device_name})
    return MetricResult(computed, data.versions, code_info(), time.perf_counter() - started, socket.gethostname())


@dataclass(frozen=True)
class ExtractionSummary:
    """An extraction without its activations: what the client counts, so no array crosses to it."""

    stimuli_key: str
    layer: str
    images: int
    seconds: float
    computed: bool
    nbytes: int  # the activations' size: what a metric task on another worker receives, and the cache holds
    worker: str


def summarize(extraction: Extraction | TaskFailure) -> ExtractionSummary | TaskFailure:
    if isinstance(extraction, TaskFailure):
        return extraction
    a = extraction.activations
    return ExtractionSummary(
        a.stimuli_key, a.layer, extraction.images, extraction.seconds, extraction.computed, a.values.nbytes, extraction.worker
    )
