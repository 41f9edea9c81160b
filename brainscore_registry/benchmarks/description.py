"""What `bsr benchmarks` and `bsr benchmark show` say about a spec: the spec itself, its fingerprint,
whether each pinned version is catalogued and here, and how well posed its metric is on its data."""

from __future__ import annotations

from ..data.identifiers import Version
from ..metrics import load_ceiling, load_metric
from ..metrics.normalization import NORMALIZATIONS
from ..store.registry import Registry
from .plugins import pins_of, plugin_name, plugin_path
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
    if n_stimuli is None or plugin_name(spec.metric.name):  # plugin code is not run to describe a spec
        return None
    return load_metric(spec.metric.name, **spec.metric.params).conditioning_note(n_stimuli)


def effective_parameters(spec: BenchmarkSpec) -> dict:
    """Every parameter of the built-in metric and ceiling, defaults filled in (what the numbers depend
    on, not only what the spec wrote); a plugin's are what the spec gives, since its code is not run here."""
    metric = spec.metric.params if plugin_name(spec.metric.name) else load_metric(spec.metric.name, **spec.metric.params).params()
    ceiling = None
    if spec.ceiling.method is not None:
        method = spec.ceiling.method
        ceiling = spec.ceiling.params if plugin_name(method) else load_ceiling(method, **spec.ceiling.params).params()
    return {"metric": metric, "ceiling": ceiling}


def plugin_code(registry: Registry, spec: BenchmarkSpec) -> list[dict]:
    """The plugin files the benchmark runs, with their pins: a reader must know that scoring it runs
    code from this registry."""
    return [
        {"part": pin.part, "name": pin.name, "file": str(plugin_path(registry.root, pin.name)), "sha256": pin.sha256}
        for pin in pins_of(spec)
    ]


def describe(registry: Registry, spec: BenchmarkSpec) -> dict:
    normalization = NORMALIZATIONS[spec.normalization_name]
    return {
        **spec.model_dump(mode="json"),
        "fingerprint": spec.fingerprint(),
        "data": {"assembly": pin_state(registry, spec.assembly), "fitting_stimuli": pin_state(registry, spec.fitting_stimuli)},
        "parameters": effective_parameters(spec),
        "normalization_formula": normalization.formula,
        "plugin_code": plugin_code(registry, spec),
        "conditioning": conditioning(registry, spec),
    }
