"""A small registry with benchmarks over the synthetic experiment, shared by the scoring tests."""

from __future__ import annotations

from pathlib import Path

import yaml

from brainscore_registry.benchmarks.specs import record_versions
from brainscore_registry.store.registration import register_assembly, register_stimulus_set
from brainscore_registry.store.registry import Registry
from brainscore_registry.synthetic.experiment import write_synthetic_experiment

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "models"
CONVNET, WIDENET = EXAMPLES / "convnet4" / "card.yaml", EXAMPLES / "widenet" / "card.yaml"


def build_benchmark_registry(directory: Path) -> Registry:
    experiment = write_synthetic_experiment(
        directory / "raw", n_stimuli=40, n_neuroids=12, n_repetitions=4, n_subjects=3, image_size=32
    )
    registry = Registry.init(directory / "registry")
    stimuli = register_stimulus_set(experiment.stimuli_dir, experiment.table, experiment.stimuli_meta, registry=registry).version
    neural = register_assembly(experiment.neural, experiment.neural_meta, registry=registry).version
    behavioral = register_assembly(experiment.behavioral, experiment.behavioral_meta, registry=registry).version
    similarity = register_assembly(experiment.similarity, experiment.similarity_meta, registry=registry).version
    common = {"version": 1, "description": "synthetic test benchmark", "citation": "Synthetic, 2026"}
    neural_procedure = {"region": "IT", "time_bins": [[70, 170]], "visual_degrees": 8}
    specs = {
        "Syn.IT-ridge": {
            "assembly": str(neural),
            "procedure": neural_procedure,
            "metric": {"name": "ridge", "params": {"stratification_coord": "object_name"}},
            "ceiling": {"method": "internal_consistency"},
            "normalization": "r2_over_ceiling",
            "parent": "IT",
        },
        "Syn.objects-accuracy": {
            "assembly": str(behavioral),
            "fitting_stimuli": str(stimuli),
            "procedure": {"task": "label", "visual_degrees": 8, "choices": ["cross", "disk", "grating", "square"]},
            "metric": {"name": "accuracy"},
            "ceiling": {"value": 1.0},
            "normalization": "none",
            "parent": "behavior",
        },
        "Syn.IT-rsa": {
            "assembly": str(similarity),
            "procedure": neural_procedure,
            "metric": {"name": "rsa"},
            "ceiling": {"method": "rsa_noise_ceiling"},
            "normalization": "raw_over_ceiling",
            "parent": "IT",
        },
    }
    directory = registry.root / "registry" / "benchmarks"
    directory.mkdir(parents=True, exist_ok=True)
    for benchmark_id, spec in specs.items():
        (directory / f"{benchmark_id}.yaml").write_text(yaml.safe_dump({"id": benchmark_id, **common, **spec}, sort_keys=False))
    record_versions(registry.root)
    return registry
