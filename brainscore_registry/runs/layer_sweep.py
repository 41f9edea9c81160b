"""Which layer of a network is most like a region: score every candidate layer (`--layers all`, one
record each), or pick the best per region and commit it in the model card (`map-layers`).

Candidates are the network's direct children (its stages); the best layer maximises the mean ceiled
score over the given neural benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from ..benchmarks.scoring import load_benchmark_data, run_benchmark
from ..benchmarks.specs import BenchmarkSpec
from ..data.metadata import read_yaml
from ..errors import UserInputError
from ..models.activations import candidate_layers
from ..models.torch_model import TorchBrainModel
from ..paths import write_atomic
from ..progress import Progress
from ..store.registry import Registry
from .run import ScoredRun, Subject, ensure_local, record_run


def sweep_layers(
    spec: BenchmarkSpec, registry: Registry, model: TorchBrainModel, progress: Progress | None = None
) -> list[ScoredRun]:
    """Score every candidate layer as the spec's region; records at `records/<benchmark>--<model>--<layer>.json`."""
    region = spec.procedure.region
    runs = []
    for layer in candidate_layers(model.network):
        committed = model.with_layers({**model.layers, region: layer})
        path = registry.layout.record_path(spec.id, model.name, layer)
        runs.append(record_run(spec, registry, Subject.of_model(committed), path, f"{model.name} ({layer})", progress))
    return runs


@dataclass(frozen=True)
class LayerMapping:
    best: dict[str, str]  # region -> layer
    scores: dict[str, dict[str, float]]  # region -> layer -> mean ceiled score


def map_layers(
    registry: Registry, specs: list[BenchmarkSpec], model: TorchBrainModel, progress: Progress | None = None
) -> LayerMapping:
    """The best candidate layer per region over neural benchmarks (no records: a choice, not a score)."""
    not_neural = [s.id for s in specs if s.procedure.region is None]
    if not_neural:
        raise UserInputError(
            f"not neural benchmarks: {', '.join(not_neural)}", field="benchmark", fix="map layers on neural benchmarks"
        )
    values: dict[str, dict[str, list[float]]] = {}
    for spec in specs:
        region = spec.procedure.region
        ensure_local(registry, spec, progress)
        data = load_benchmark_data(spec, registry)
        for layer in candidate_layers(model.network):
            result = run_benchmark(data, model.with_layers({**model.layers, region: layer}), progress)
            values.setdefault(region, {}).setdefault(layer, []).append(result.value)
    scores = {region: {layer: sum(v) / len(v) for layer, v in layers.items()} for region, layers in values.items()}
    return LayerMapping({region: max(layers, key=layers.get) for region, layers in scores.items()}, scores)


def write_card_layers(card_path: Path, best: dict[str, str]) -> None:
    """Commit the chosen layers in the card's `layers`, atomically (the other keys are kept as written)."""
    data = read_yaml(card_path)  # bounded and strict, as when the card was loaded
    data["layers"] = {**data.get("layers", {}), **best}
    write_atomic(card_path, yaml.safe_dump(data, sort_keys=False))
