"""The benchmarks a service scores, as the server process knows them: the public facts only. The
held-out data are loaded in the scoring workers (`workers`), which compute these facts too: the server
process never loads the data.

The public part is what a modeler needs to predict: the spec's procedure, metric, ceiling and
normalisation, the pinned stimulus set and how to pull it, the stimulus ids to predict and what the
file must hold. It never holds a response: only the computed ceiling, an aggregate (rounded as scores
are), is derived from them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..benchmarks.scoring import BenchmarkData, build_ceiling, ceiling_for, load_benchmark_data, shown_stimulus_ids, target_of
from ..benchmarks.specs import BenchmarkSpec, find_spec
from ..progress import Progress
from ..runs.release import rounded
from ..runs.run import ensure_local, spec_sha256
from ..store.registry import Registry

FILE_FORMATS = {
    "neural": "NetCDF: presentation × neuroid activations with a stimulus_id coordinate along presentation",
    "behavioral": "NetCDF: a `choice` variable with one label per presentation (stimulus_id coordinate), or "
    "presentation × choice probabilities",
    "similarity": "NetCDF: a square RDM stimulus_a × stimulus_b, or presentation × neuroid activations with stimulus_id",
    "features": "NetCDF: presentation × neuroid features of the readout layer, with a stimulus_id coordinate",
}


@dataclass(frozen=True)
class ServedBenchmark:
    spec: BenchmarkSpec
    versions: dict[str, str | None]
    kind: str
    ceiling: float
    stimulus_ids: tuple[str, ...]

    @property
    def id(self) -> str:
        return self.spec.id

    @classmethod
    def of(cls, data: BenchmarkData) -> ServedBenchmark:
        ceiling = ceiling_for(data.spec, target_of(data), build_ceiling(data)).value
        return cls(data.spec, data.versions, data.kind, float(ceiling), tuple(shown_stimulus_ids(data)))

    def public(self, precision: int | None) -> dict:
        spec = self.spec
        stimuli, fitting = self.versions["stimulus_set"], self.versions["fitting_stimuli"]
        return {
            "id": spec.id,
            "version": spec.version,
            "spec_sha256": spec_sha256(spec),
            "description": spec.description,
            "citation": spec.citation,
            "kind": self.kind,
            "procedure": spec.procedure.model_dump(mode="json", exclude_none=True),
            "metric": {"name": spec.metric.name, "params": spec.metric.params},
            "ceiling": {**spec.ceiling.model_dump(mode="json", exclude_none=True), "computed": rounded(self.ceiling, precision)},
            "normalization": spec.normalization_name,
            "assembly": spec.assembly,  # a content hash: names the data, reveals nothing of them
            "stimulus_set": {"version": stimuli, "pull": f"bsr pull {stimuli}"},
            "fitting_stimuli": {"version": fitting, "pull": f"bsr pull {fitting}"} if fitting else None,
            "stimulus_ids": list(self.stimulus_ids),
            "predictions_file": FILE_FORMATS["features" if spec.procedure.task == "features" else self.kind],
        }


def pull_missing(registry: Registry, benchmark_ids: list[str], progress: Progress | None = None) -> list[str]:
    """The benchmarks' ids as their specs spell them, with their pinned data made local (pulled when
    missing): before the scoring workers start, so that they only read, never fetch."""
    specs = [find_spec(registry.root, benchmark_id) for benchmark_id in dict.fromkeys(benchmark_ids)]
    for spec in specs:
        ensure_local(registry, spec, progress)
    return [spec.id for spec in specs]


def load_data(registry: Registry, benchmark_ids: list[str]) -> dict[str, BenchmarkData]:
    """Each benchmark's pinned data (already local), loaded: what a scoring worker holds."""
    return {b: load_benchmark_data(find_spec(registry.root, b), registry) for b in benchmark_ids}
