"""The `bsr demo` scenario: the whole platform, end to end, on a SYNTHETIC experiment whose ground
truth is known, and on the published benchmarks when their raw data are found.

1. generate images and the responses of a hidden network layer (`convnet4.stage3`) + Poisson noise;
2. register them into a fresh registry and write the benchmark spec;
3. push to the embedded remote, delete the local copies, pull them back by benchmark id (verified);
4. score every stage of the hidden network and the other example models; sign the records;
5. verify the records and reproduce the hidden layer's from its record alone;
6. check model and layer recovery (the hidden network and layer must score best);
7. with raw data: package the published datasets and score the example models on every real benchmark.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..benchmarks.specs import find_spec, list_specs, record_versions
from ..metrics.score import BenchmarkScore
from ..models.activations import candidate_layers
from ..models.torch_model import TorchBrainModel, load_brain_model
from ..packaging import REPOSITORY
from ..packaging.build import PACKAGES, build, raw_available
from ..paths import bsr_home, write_atomic
from ..progress import Progress
from ..reports.site import build_site
from ..runs.records import ensure_key, read_record
from ..runs.reproduction import reproduce
from ..runs.run import ScoredRun, Subject, ensure_local, record_run
from ..runs.trust import accept_record, load_policy
from ..store import transfers
from ..store.registration import register_assembly, register_stimulus_set
from ..store.registry import Registry
from ..store.storage import local_remote_dir
from .hidden_network import HiddenExperiment, write_hidden_experiment

MODELS = REPOSITORY / "examples" / "models"
HIDDEN_MODEL, HIDDEN_LAYER = "convnet4", "stage3"
BENCHMARK = "Synthetic2026.V4-pls"
Step = Callable[[int, int, str], None]


@dataclass
class DemoResult:
    registry: Registry
    experiment: HiddenExperiment
    idempotent: bool  # registering the same data again created nothing
    pulled: list[str]
    runs: list[ScoredRun]  # the synthetic benchmark: every stage of the hidden model, then the others
    reproduced: bool
    reproduction_setting: str
    real_runs: list[ScoredRun] = field(default_factory=list)
    real_data: bool = False
    seconds: float = 0.0
    site: Path | None = None  # the leaderboard built from the demo's records

    def layer_of(self, run: ScoredRun) -> str:
        return run.record.model.layers.get("V4", "")

    @property
    def best(self) -> ScoredRun:
        return max(self.runs, key=lambda r: r.score.value)

    @property
    def model_recovered(self) -> bool:
        return self.best.record.model.name == HIDDEN_MODEL

    @property
    def layer_recovered(self) -> bool:
        return self.layer_of(self.best) == HIDDEN_LAYER

    @property
    def passed(self) -> bool:
        return self.model_recovered and self.layer_recovered and self.reproduced

    def to_json(self) -> dict:
        return {
            "registry": str(self.registry.root),
            "seconds": round(self.seconds, 1),
            "idempotent": self.idempotent,
            "pulled": self.pulled,
            "benchmark": BENCHMARK,
            "hidden": {"model": HIDDEN_MODEL, "layer": HIDDEN_LAYER, "true_reliability": self.experiment.true_reliability},
            "scores": [
                {"model": r.record.model.name, "layer": self.layer_of(r), **_numbers(r.score), "record": str(r.path)}
                for r in self.runs
            ],
            "site": str(self.site) if self.site else None,
            "model_recovered": self.model_recovered,
            "layer_recovered": self.layer_recovered,
            "reproduced": self.reproduced,
            "real_benchmarks": [
                {"benchmark": r.spec.id, "model": r.record.model.name, "raw": r.score.raw.value, "score": r.score.value}
                for r in self.real_runs
            ],
        }


def _numbers(score: BenchmarkScore) -> dict:
    return {"raw": score.raw.value, "ceiling": score.ceiling.value, "score": score.value, "error": score.error}


def write_demo_spec(registry: Registry, assembly: str) -> None:
    """The synthetic benchmark (PLS, 10 stratified splits, split-half ceiling) and the aggregation tree."""
    spec = {
        "id": BENCHMARK,
        "version": 1,
        "description": "SYNTHETIC: V4 predictivity (PLS, 10 stratified splits) on a hidden network layer's responses.",
        "assembly": assembly,
        "procedure": {"region": "V4", "time_bins": [[70, 170]], "visual_degrees": 8.0, "number_of_trials": 1},
        "metric": {"name": "pls", "params": {"stratification_coord": "object_name"}},
        "ceiling": {"method": "internal_consistency"},
        "normalization": "r2_over_ceiling",
        "parent": "V4",
        "citation": "Synthetic data generated by bsr demo; not a real recording.",
    }
    directory = registry.layout.benchmarks_dir
    write_atomic(directory / f"{BENCHMARK}.yaml", yaml.safe_dump(spec, sort_keys=False, width=200))
    shutil.copyfile(REPOSITORY / "registry" / "benchmarks" / "aggregates.yaml", directory / "aggregates.yaml")
    record_versions(registry.root)


def _score(registry: Registry, spec, model: TorchBrainModel, progress: Progress | None, layer: str | None = None) -> ScoredRun:
    path = registry.layout.record_path(spec.id, model.name, layer)
    region = spec.procedure.region
    label = f"{model.name} ({model.layers.get(region, 'readout') if region else 'readout'})"
    return record_run(spec, registry, Subject.of_model(model), path, label, progress)


def run_demo(
    workdir: Path | None = None, raw: Path | None = None, *, progress: Progress | None = None, step: Step | None = None
) -> DemoResult:
    """Run the scenario in `workdir` (default `$BSR_HOME/demo`, replaced); `step(n, total, text)` announces each step."""
    workdir = Path(workdir or bsr_home() / "demo").resolve()
    started = time.perf_counter()
    real = raw_available(raw)
    total = 8 if real else 7
    announce = step or (lambda number, count, text: None)
    if workdir.exists():
        shutil.rmtree(workdir)
    hidden_card = MODELS / HIDDEN_MODEL / "card.yaml"

    announce(1, total, f"generating images and the responses of {HIDDEN_MODEL}.{HIDDEN_LAYER} (hidden) + Poisson noise")
    experiment = write_hidden_experiment(workdir / "raw", hidden_card, HIDDEN_LAYER)
    registry = Registry.init(workdir / "registry")

    announce(2, total, f"registering into {registry.root} and writing the benchmark spec {BENCHMARK}")
    stimuli = register_stimulus_set(
        experiment.stimuli_dir, experiment.table, experiment.stimuli_meta, registry=registry, progress=progress
    )
    neural = register_assembly(experiment.neural, experiment.neural_meta, registry=registry, progress=progress)
    again = register_assembly(experiment.neural, experiment.neural_meta, registry=registry)
    write_demo_spec(registry, str(neural.version))

    announce(3, total, f"pushing to the embedded remote {local_remote_dir()}, deleting the local copies, pulling by benchmark id")
    transfers.push(registry, None, None, progress)
    for registered in (stimuli, neural):
        shutil.rmtree(registered.path)
        registry.storage.purge_cache(registered.stored.dvc.md5)
    spec = find_spec(registry.root, BENCHMARK)
    pulled = ensure_local(registry, spec, progress)

    announce(4, total, "scoring the example models (every layer of the hidden one) and signing the records")
    ensure_key()
    hidden_model = load_brain_model(hidden_card, device="cpu", progress=progress)
    others = [load_brain_model(card, device="cpu", progress=progress) for card in sorted(MODELS.glob("*/card.yaml"))]
    others = [model for model in others if model.name != HIDDEN_MODEL]
    runs = [
        _score(registry, spec, hidden_model.with_layers({**hidden_model.layers, "V4": layer}), progress, layer)
        for layer in candidate_layers(hidden_model.network)[:4]
    ]
    runs += [_score(registry, spec, model, progress) for model in others]

    announce(5, total, "verifying the signed records and reproducing the hidden layer's from its record alone")
    for run in runs:
        accept_record(run.path, load_policy())  # strict parse, signature, and a trusted signer (our own key)
    hidden = next(r for r in runs if r.record.model.name == HIDDEN_MODEL and r.record.model.layers.get("V4") == HIDDEN_LAYER)
    reproduction = reproduce(
        read_record(hidden.path),
        registry,
        Subject.of_model(load_brain_model(hidden_card, device="cpu", progress=progress)),
        progress,
    )

    announce(6, total, "checking model and layer recovery against the known ground truth")
    result = DemoResult(
        registry, experiment, not again.created, pulled, runs, reproduction.reproduced, reproduction.setting, real_data=real
    )
    if real:
        announce(7, total, "packaging the published datasets from the raw files and scoring the example models on them")
        for name in PACKAGES:
            build(name, registry, raw, progress=progress)
        record_versions(registry.root)
        for model in [hidden_model, *others]:
            for real_spec in [s for s in list_specs(registry.root) if s.id != BENCHMARK]:
                result.real_runs.append(_score(registry, real_spec, model, progress))
    announce(total, total, "building the leaderboard site from the signed records")
    title = "bsr demo: example models on the synthetic benchmark" + (" and the published ones" if real else "")
    result.site = build_site(registry, [registry.layout.records_dir], workdir / "site", load_policy(), title).index
    result.seconds = time.perf_counter() - started
    return result
