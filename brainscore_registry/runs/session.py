"""`bsr score` as one library call: several benchmarks on one or more models (or one predictions file),
optionally several layers per model, one signed record file each.

A model run is planned whole before anything is extracted or written (see layer_sweep): every
benchmark's data are made local and loaded, every layer it needs is probed and sized, layers above the
memory bound are refused together, the layers a metric cannot use are skipped with a note, and every
record path is checked. Only then are the layers scored, one at a time, so a mistake found anywhere in
the plan leaves no partial set of records behind.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..benchmarks.scoring import BenchmarkData
from ..benchmarks.specs import BenchmarkSpec, find_spec
from ..errors import UserInputError
from ..models.predictions import Predictions
from ..models.torch_model import TorchBrainModel
from ..paths import check_output_file
from ..progress import Progress
from ..store.registry import Registry
from .layer_sweep import (
    DEFAULT_MAX_LAYER_GB,
    LayerJob,
    SkippedLayer,
    check_memory_bound,
    max_layer_bytes,
    plan_layers,
    recorded_region,
    score_layer,
)
from .records import ensure_key
from .run import ScoredRun, Subject, local_benchmark_data, record_run


@dataclass
class ScoringOutcome:
    """What a scoring session did: the runs that left a record, and the layers it skipped, with why."""

    runs: list[ScoredRun] = field(default_factory=list)
    skipped: list[SkippedLayer] = field(default_factory=list)


@dataclass
class Plan:
    jobs: list[LayerJob]
    skipped: list[SkippedLayer]
    data: dict[str, BenchmarkData]


def score_session(
    registry: Registry,
    benchmark_ids: list[str],
    *,
    models: Sequence[TorchBrainModel] = (),
    predictions: Predictions | None = None,
    out: Path | None = None,
    layers: str | None = None,
    max_layer_gb: float = DEFAULT_MAX_LAYER_GB,
    progress: Progress | None = None,
    follow_symlinks: bool = False,
) -> ScoringOutcome:
    """Each benchmark on each model (with `layers`, each selected layer as a neural benchmark's region:
    `all`, names or globs) or on `predictions`; records at `out` (one record only) or
    `records/<benchmark>--<model>[--<layer>].json`. `out` is checked before any work
    (`paths.check_output_file`): not a directory, device or pipe, and not a symlink unless
    `follow_symlinks`, which writes the record to the link's target."""
    models = list(models)
    if bool(models) == (predictions is not None):
        raise UserInputError("give exactly one of --model or --predictions", field="model", fix="--model card.yaml")
    if predictions is not None and layers is not None:
        raise UserInputError(
            "--layers selects layers of a model; a predictions file has none", field="layers", fix="leave out --layers"
        )
    check_distinct(models)
    if out is not None and (len(benchmark_ids) > 1 or len(models) > 1 or layers == "all"):
        raise UserInputError("--out names one record", field="out", fix="score one benchmark, one model and one layer with --out")
    if out is not None:
        out = check_output_file(out, follow_symlinks=follow_symlinks)
    bound = max_layer_bytes(max_layer_gb)
    specs = [find_spec(registry.root, b) for b in benchmark_ids]
    ensure_key()
    if predictions is not None:
        subject = Subject.of_predictions(predictions)
        # one record per predictions file: two files scored on one benchmark must not overwrite each other
        name = f"predictions-{safe_file_stem(predictions.path)}"
        runs = [
            record_run(spec, registry, subject, out or registry.layout.record_path(spec.id, name), subject.part.name, progress)
            for spec in specs
        ]
        return ScoringOutcome(runs)
    plan = plan_session(registry, specs, models, layers, bound, out, progress)
    runs = [score_layer(job, plan.data[job.spec.id], progress) for job in plan.jobs]
    return ScoringOutcome(runs, plan.skipped)


def safe_file_stem(path: Path) -> str:
    """A file's stem as a record-name part: letters, digits, '.', '_' and '-' only (others become '_')."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", path.name.split(".")[0] or path.name)[:64] or "file"


def plan_session(
    registry: Registry,
    specs: list[BenchmarkSpec],
    models: list[TorchBrainModel],
    layers: str | None,
    bound: int,
    out: Path | None,
    progress: Progress | None = None,
) -> Plan:
    """Every (benchmark, model, layer) to score, checked before any is: data local and loaded, layers
    probed and sized against `bound`, unusable selected layers skipped, record paths writable."""
    data = {}
    for spec in specs:
        data[spec.id] = local_benchmark_data(registry, spec, progress)
    jobs: list[LayerJob] = []
    skipped: list[SkippedLayer] = []
    for spec in specs:
        for model in models:
            planned, left_out = _plan_one(registry, spec, data[spec.id], model, layers, out)
            jobs += planned
            skipped += left_out
    check_memory_bound(jobs, bound)
    if out is not None and len(jobs) != 1:
        raise UserInputError(
            f"--out names one record, but the selection gives {len(jobs)} layers",
            field="out",
            fix="select one layer, or leave out --out",
        )
    for job in jobs:
        check_output_file(job.path, field="record")
    return Plan(jobs, skipped, data)


def _plan_one(
    registry: Registry, spec: BenchmarkSpec, data: BenchmarkData, model: TorchBrainModel, layers: str | None, out: Path | None
) -> tuple[list[LayerJob], list[SkippedLayer]]:
    """One model on one benchmark: each selected layer as the region (a sweep), or the layer the card
    commits, which the metric must be able to use (a committed layer is never skipped quietly)."""
    region = recorded_region(spec)
    if layers is not None and region is not None:
        return plan_layers(
            spec,
            data,
            model,
            model.select_layers(layers),
            lambda layer: out or registry.layout.record_path(spec.id, model.name, layer),
        )
    layer = model.committed_layer(region)
    jobs, skipped = plan_layers(
        spec, data, model, [layer], lambda _layer: out or registry.layout.record_path(spec.id, model.name), as_region=False
    )
    if skipped:
        raise UserInputError(
            f"{spec.id}: layer {layer!r}, committed to {region or 'the readout'}: {skipped[0].reason}",
            file=model.card.path,
            field="layers" if region is not None else "readout_layer",
            fix="map the region to a layer with more units (bsr map-layers), or score it on a benchmark whose metric can use it",
        )
    return jobs, skipped


def check_distinct(models: list[TorchBrainModel]) -> None:
    """Records are named after the model: two cards with one name would overwrite each other's."""
    seen: dict[str, TorchBrainModel] = {}
    for model in models:
        if model.name in seen:
            same = seen[model.name].card.path == model.card.path
            raise UserInputError(
                f"the model card {model.card.path} is given twice"
                if same
                else f"two model cards name their model {model.name!r} ({seen[model.name].card.path} and {model.card.path}); "
                "their records would overwrite each other's",
                field="model",
                fix="give each card once" if same else "give each card its own `name`",
            )
        seen[model.name] = model


def score_benchmarks(
    registry: Registry,
    benchmark_ids: list[str],
    *,
    model: TorchBrainModel | None = None,
    predictions: Predictions | None = None,
    out: Path | None = None,
    all_layers: bool = False,
    progress: Progress | None = None,
    follow_symlinks: bool = False,
    models: Sequence[TorchBrainModel] = (),
    layers: str | None = None,
    max_layer_gb: float = DEFAULT_MAX_LAYER_GB,
) -> list[ScoredRun]:
    """`score_session`'s runs (its skipped layers are in `score_session(...).skipped`); `model` and
    `all_layers` are the one-model and `layers="all"` forms."""
    return score_session(
        registry,
        benchmark_ids,
        models=[*([model] if model is not None else []), *models],
        predictions=predictions,
        out=out,
        layers=layers if layers is not None else ("all" if all_layers else None),
        max_layer_gb=max_layer_gb,
        progress=progress,
        follow_symlinks=follow_symlinks,
    ).runs
