"""What `bsr benchmarks` and `bsr benchmark show` say about a spec: the spec itself, its fingerprint,
whether each pinned version is catalogued and here, and how well posed its metric is on its data."""

from __future__ import annotations

from ..data.identifiers import Version
from ..store.registry import Registry
from .specs import BenchmarkSpec


def pin_state(registry: Registry, pin: Version | None) -> dict | None:
    """Whether a pinned version is in the catalogue and on this machine."""
    if pin is None:
        return None
    stored = registry.catalog.find(pin)
    return {"version": pin, "catalogued": stored is not None, "local": stored is not None and registry.layout.is_local(stored)}


def describe(registry: Registry, spec: BenchmarkSpec) -> dict:
    return {
        **spec.model_dump(mode="json"),
        "fingerprint": spec.fingerprint(),
        "data": {"assembly": pin_state(registry, spec.assembly), "fitting_stimuli": pin_state(registry, spec.fitting_stimuli)},
    }
