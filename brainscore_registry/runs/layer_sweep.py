"""Scoring a network's layers within a memory bound: every selected layer as a benchmark's region
(`bsr score --layers`, one record each), or the best layer per region written into the model card
(`bsr map-layers`).

Every layer a run will record from is planned before any activation is extracted or any record is
written. One forward pass of one image gives its units (`TorchBrainModel.layer_probes`), hence the size
of its activations, stimuli × units × 4 bytes (float32):

- a layer above the bound (`--max-layer-gb`, default 1 GiB) is refused, all such layers at once, each
  with its estimate and the fixes (a smaller `preprocessing.image_size`, a later layer, a higher bound):
  a ResNet's full-resolution stem at 224 px on a few thousand images is tens of gigabytes;
- a layer the benchmark's metric cannot use (fewer units than pls's 25 components) or that cannot be
  recorded (it never runs in the forward pass) is skipped with a note and gets no record, instead of
  aborting the run after some records were written.

Then the layers are scored one at a time: extracted, scored, recorded and dropped before the next, so
the peak memory is one layer's activations (with the metric's working copies of them), not the sum over
the layers. Each pass stops right after the layer it records, so an early layer costs only the network
up to it.

The best layer of a region maximises the mean ceiled score over the given neural benchmarks.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from ..benchmarks.scoring import BenchmarkData, run_benchmark
from ..benchmarks.specs import BenchmarkSpec
from ..data.metadata import read_yaml
from ..errors import UserInputError
from ..models.torch_model import TorchBrainModel
from ..paths import write_atomic
from ..progress import Progress
from ..store.registry import Registry
from .run import ScoredRun, Subject, local_benchmark_data, score_and_record

GIB = 1 << 30
DEFAULT_MAX_LAYER_GB = 1.0
BYTES_PER_UNIT = 4  # activations are float32


@dataclass(frozen=True)
class LayerJob:
    """One layer of one model to score on one benchmark, as planned (its size known, not yet extracted)."""

    spec: BenchmarkSpec
    model: TorchBrainModel  # committing `layer` where the benchmark records
    layer: str
    units: int
    stimuli: int  # images whose activations one extraction holds
    path: Path | None  # its record; None when the score is a choice, not a record (map-layers)
    label: str  # e.g. "resnet18 (layer3)"

    @property
    def estimate(self) -> int:
        """Bytes of this layer's activations: what extracting it holds in memory at once."""
        return self.stimuli * self.units * BYTES_PER_UNIT


@dataclass(frozen=True)
class SkippedLayer:
    """A selected layer that gets no score, and why: said in the output instead of failing the run."""

    benchmark: str
    model: str
    layer: str
    units: int | None
    reason: str

    @property
    def label(self) -> str:
        return f"{self.model} ({self.layer})"

    def to_json(self) -> dict:
        return {
            "benchmark": self.benchmark,
            "model": self.label,
            "layer": self.layer,
            "units": self.units,
            "skipped": self.reason,
            "record": None,
        }


def max_layer_bytes(max_layer_gb: float) -> int:
    """The bound in bytes; a bound that is not a positive, finite number is the user's mistake."""
    if isinstance(max_layer_gb, bool) or not (isinstance(max_layer_gb, (int, float)) and math.isfinite(max_layer_gb)):
        max_layer_gb = -1.0
    if max_layer_gb <= 0:
        raise UserInputError(
            f"--max-layer-gb {max_layer_gb!r} is not a positive number",
            field="max_layer_gb",
            fix=f"give the most GiB one layer's activations may take, e.g. --max-layer-gb {DEFAULT_MAX_LAYER_GB:g}",
        )
    return int(max_layer_gb * GIB)


def stimulus_count(data: BenchmarkData) -> int:
    """Images whose activations one extraction of a layer holds: the benchmark's stimuli, or its fitting
    stimuli when those are more (a behavioural readout is fitted on them)."""
    assembly = data.assembly
    if "stimulus_a" in assembly.dims:
        count = int(assembly.sizes["stimulus_a"])
    else:
        count = len(np.unique(np.asarray(assembly["stimulus_id"].values).astype(str)))
    fitting = len(data.fitting_stimuli.stimulus_ids) if data.fitting_stimuli is not None else 0
    return max(count, fitting)


def metric_refusal(spec: BenchmarkSpec, units: int) -> str | None:
    """Why the spec's metric cannot use `units` features per stimulus, or None when it can. Asked of the
    metric's own check (on an empty array of that width), so the rule lives in one place: pls needs at
    least as many features as its 25 components."""
    import xarray as xr

    from ..metrics import load_metric
    from ..metrics.regression import check_features

    regression = getattr(load_metric(spec.metric.name, **spec.metric.params), "regression", None)
    if regression is None:
        return None
    try:
        check_features(xr.DataArray(np.empty((0, units), np.float32), dims=("presentation", "neuroid")), regression)
    except UserInputError as exc:
        return exc.message
    return None


def recorded_region(spec: BenchmarkSpec) -> str | None:
    """The region whose layer a benchmark records from; None for a behavioural task (the readout layer)."""
    task = spec.procedure.task
    return spec.procedure.region if task is None or task == "passive" else None


def plan_layers(
    spec: BenchmarkSpec,
    data: BenchmarkData,
    model: TorchBrainModel,
    layers: Iterable[str],
    path_for: Callable[[str], Path | None],
    *,
    as_region: bool = True,
) -> tuple[list[LayerJob], list[SkippedLayer]]:
    """Each layer as a job (its units and activation size known from one probe pass) or skipped with the
    reason. With `as_region`, each job's model commits the layer to the benchmark's region; otherwise
    the model is scored as its card commits it (the layer given is the committed one)."""
    region = recorded_region(spec)
    stimuli = stimulus_count(data)
    jobs: list[LayerJob] = []
    skipped: list[SkippedLayer] = []
    for layer, probe in model.layer_probes(list(layers)).items():
        reason = probe.problem or (metric_refusal(spec, probe.units) if region is not None else None)
        if reason:
            skipped.append(SkippedLayer(spec.id, model.name, layer, probe.units, reason))
            continue
        committed = model.with_layers({**model.layers, region: layer}) if as_region else model
        label = f"{model.name} ({layer if region is not None else 'readout'})"
        jobs.append(LayerJob(spec, committed, layer, probe.units, stimuli, path_for(layer), label))
    return jobs, skipped


def check_memory_bound(jobs: list[LayerJob], bound: int) -> None:
    """Refuse, before any extraction, every layer whose activations would exceed `bound` bytes, each with
    its estimate (once for the benchmarks that share it), and the ways out."""
    over: dict[tuple[str, int, int], list[str]] = {}
    for job in jobs:
        if job.estimate > bound:
            over.setdefault((job.label, job.stimuli, job.units), []).append(job.spec.id)
    if not over:
        return
    listed = [
        f"{label} on {', '.join(benchmarks)}: {stimuli} stimuli × {units:,} units × {BYTES_PER_UNIT} bytes = "
        f"{readable_bytes(stimuli * units * BYTES_PER_UNIT)}"
        for (label, stimuli, units), benchmarks in over.items()
    ]
    more = f" (and {len(listed) - 8} more)" if len(listed) > 8 else ""
    raise UserInputError(
        f"{len(listed)} layer(s) would hold more activations than the bound of {readable_bytes(bound)}: "
        f"{'; '.join(listed[:8])}{more}",
        file=next(job.model.card.path for job in jobs if job.estimate > bound),
        field="max_layer_gb",
        fix="give the card a smaller preprocessing.image_size, choose later layers (e.g. --layers layer3,layer4), "
        "or raise the bound (--max-layer-gb N) if the machine has the memory",
    )


def readable_bytes(count: int) -> str:
    """1.07 GiB, 514.0 MiB, 640.0 KiB: sizes people compare with the memory they have."""
    for unit, size in (("GiB", GIB), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size:
            return f"{count / size:.2f} {unit}" if unit == "GiB" else f"{count / size:.1f} {unit}"
    return f"{count} bytes"


def score_layer(job: LayerJob, data: BenchmarkData, progress: Progress | None = None) -> ScoredRun:
    """Extract one layer, score it, write its signed record, and let its activations go before the
    next layer is extracted."""
    run = score_and_record(data, Subject.of_model(job.model), job.path, job.label, progress)
    gc.collect()  # the layer's activations (and any cycle holding them) go now, not at some later layer
    return run


@dataclass(frozen=True)
class LayerMapping:
    best: dict[str, str]  # region -> layer
    scores: dict[str, dict[str, float]]  # region -> layer -> mean ceiled score
    skipped: dict[str, dict[str, str]] = field(default_factory=dict)  # region -> layer -> why it was left out


def map_layers(
    registry: Registry,
    specs: list[BenchmarkSpec],
    model: TorchBrainModel,
    progress: Progress | None = None,
    *,
    layers: str = "all",
    max_layer_gb: float = DEFAULT_MAX_LAYER_GB,
) -> LayerMapping:
    """The best of the selected layers per region over neural benchmarks (no records: a choice, not a
    score). A layer some benchmark of a region cannot use is left out for that region, with the reason;
    every layer's size is checked against the bound before any is extracted."""
    not_neural = [s.id for s in specs if s.procedure.region is None]
    if not_neural:
        raise UserInputError(
            f"not neural benchmarks: {', '.join(not_neural)}", field="benchmark", fix="map layers on neural benchmarks"
        )
    bound = max_layer_bytes(max_layer_gb)
    names = model.select_layers(layers)
    data, jobs, skipped = {}, [], {}
    for spec in specs:
        data[spec.id] = local_benchmark_data(registry, spec, progress)
        planned, left_out = plan_layers(spec, data[spec.id], model, names, lambda _layer: None)
        jobs += planned
        for item in left_out:
            skipped.setdefault(spec.procedure.region, {}).setdefault(item.layer, f"{item.benchmark}: {item.reason}")
    jobs = [job for job in jobs if job.layer not in skipped.get(job.spec.procedure.region, {})]
    empty = sorted({s.procedure.region for s in specs} - {job.spec.procedure.region for job in jobs})
    if empty:
        raise UserInputError(
            f"no selected layer can be scored for region {empty[0]}: "
            + "; ".join(f"{layer}: {why}" for layer, why in skipped.get(empty[0], {}).items()),
            file=model.card.path,
            field="layers",
            fix="select layers with more units (--layers), or map on benchmarks whose metric can use them",
        )
    check_memory_bound(jobs, bound)
    values: dict[str, dict[str, list[float]]] = {}
    for job in jobs:
        result = run_benchmark(data[job.spec.id], job.model, progress)
        values.setdefault(job.spec.procedure.region, {}).setdefault(job.layer, []).append(result.value)
        gc.collect()
    scores = {region: {layer: sum(v) / len(v) for layer, v in by_layer.items()} for region, by_layer in values.items()}
    return LayerMapping({region: max(by_layer, key=by_layer.get) for region, by_layer in scores.items()}, scores, skipped)


def write_card_layers(card_path: Path, best: dict[str, str]) -> None:
    """Commit the chosen layers in the card's `layers`, atomically (the other keys are kept as written)."""
    data = read_yaml(card_path)  # bounded and strict, as when the card was loaded
    data["layers"] = {**data.get("layers", {}), **best}
    write_atomic(card_path, yaml.safe_dump(data, sort_keys=False))
