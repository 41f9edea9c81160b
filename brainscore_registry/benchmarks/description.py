"""What `bsr benchmarks` and `bsr benchmark show` say about a spec: the spec itself, its fingerprint,
whether each pinned version is catalogued and here, and how well posed its metric is on its data."""

from __future__ import annotations

from ..data.identifiers import Version
from ..metrics import load_metric
from ..store.registry import Registry
from .specs import BenchmarkSpec


def pin_state(registry: Registry, pin: Version | None) -> dict | None:
    """Whether a pinned version is in the catalogue and on this machine."""
    if pin is None:
        return None
    stored = registry.catalog.find(pin)
    return {"version": pin, "catalogued": stored is not None, "local": stored is not None and registry.layout.is_local(stored)}


def stimulus_count(registry: Registry, spec: BenchmarkSpec) -> int | None:
    """How many stimuli the pinned assembly's stimulus set holds (an upper bound on the benchmark's), from
    the catalogue alone: the data need not be here."""
    assembly = registry.catalog.find(spec.assembly)
    stimuli = registry.catalog.find(assembly.stimulus_set) if assembly is not None and assembly.stimulus_set else None
    return stimuli.dims.get("stimulus") if stimuli is not None else None


def conditioning(registry: Registry, spec: BenchmarkSpec) -> str | None:
    """When the spec's metric would give machine-dependent numbers on this benchmark's shape (None: never)."""
    n_stimuli = stimulus_count(registry, spec)
    if n_stimuli is None:
        return None
    return load_metric(spec.metric.name, **spec.metric.params).conditioning_note(n_stimuli)


def describe(registry: Registry, spec: BenchmarkSpec) -> dict:
    return {
        **spec.model_dump(mode="json"),
        "fingerprint": spec.fingerprint(),
        "data": {"assembly": pin_state(registry, spec.assembly), "fitting_stimuli": pin_state(registry, spec.fitting_stimuli)},
        "conditioning": conditioning(registry, spec),
    }
