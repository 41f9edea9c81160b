"""`bsr score` as one library call: several benchmarks on one model or one predictions file, optionally
every candidate layer, one signed record file each."""

from __future__ import annotations

from pathlib import Path

from ..benchmarks.specs import find_spec
from ..errors import UserInputError
from ..models.predictions import Predictions
from ..models.torch_model import TorchBrainModel
from ..paths import check_output_file
from ..progress import Progress
from ..store.registry import Registry
from .layer_sweep import sweep_layers
from .records import ensure_key
from .run import ScoredRun, Subject, record_run


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
) -> list[ScoredRun]:
    """Each benchmark on `model` (every candidate layer with `all_layers`, for neural benchmarks) or on
    `predictions`; records at `out` (one record only) or `records/<benchmark>--<model>[--<layer>].json`.
    `out` is checked before any work (`paths.check_output_file`): not a directory, device or pipe, and
    not a symlink unless `follow_symlinks`, which writes the record to the link's target."""
    if (model is None) == (predictions is None):
        raise UserInputError("give exactly one of --model or --predictions", field="model", fix="--model card.yaml")
    if out is not None and (len(benchmark_ids) > 1 or all_layers):
        raise UserInputError("--out names one record", field="out", fix="score one benchmark (and one layer) with --out")
    if out is not None:
        out = check_output_file(out, follow_symlinks=follow_symlinks)
    specs = [find_spec(registry.root, b) for b in benchmark_ids]
    ensure_key()
    runs: list[ScoredRun] = []
    for spec in specs:
        if predictions is not None:
            subject = Subject.of_predictions(predictions)
            path = out or registry.layout.record_path(spec.id, "predictions")
            runs.append(record_run(spec, registry, subject, path, subject.part.name, progress))
        elif all_layers and spec.procedure.region is not None:
            runs.extend(sweep_layers(spec, registry, model, progress))
        else:
            region = spec.procedure.region
            label = f"{model.name} ({model.layers.get(region, 'readout') if region else 'readout'})"
            path = out or registry.layout.record_path(spec.id, model.name)
            runs.append(record_run(spec, registry, Subject.of_model(model), path, label, progress))
    return runs
