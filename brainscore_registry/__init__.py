"""brainscore-registry: versioned, content-hashed datasets and benchmarks for brain models.

The public Python API, re-exported from the layers that define it (see the README's Architecture):

    from brainscore_registry import register_assembly, load_assembly, Registry, logical_hash

Names are imported on first use (PEP 562), so `import brainscore_registry` costs nothing until one is
needed: the CLI answers `bsr --help` without loading xarray, zarr or DVC.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

_EXPORTS = {
    "AssemblyMeta": ".data.schemas",
    "StimulusSetMeta": ".data.schemas",
    "Version": ".data.identifiers",
    "parse_reference": ".data.identifiers",
    "parse_version": ".data.identifiers",
    "logical_hash": ".data.hashing",
    "StimulusSet": ".data.stimuli",
    "BsrError": ".errors",
    "IntegrityError": ".errors",
    "JobError": ".errors",
    "UserInputError": ".errors",
    "Registry": ".store.registry",
    "Registration": ".store.registration",
    "register_assembly": ".store.registration",
    "register_stimulus_set": ".store.registration",
    "load_assembly": ".store.loading",
    "load_dataset": ".store.loading",
    "load_stimulus_set": ".store.loading",
}

__all__ = [
    "AssemblyMeta",
    "BsrError",
    "IntegrityError",
    "JobError",
    "Registration",
    "Registry",
    "StimulusSet",
    "StimulusSetMeta",
    "UserInputError",
    "Version",
    "__version__",
    "load_assembly",
    "load_dataset",
    "load_stimulus_set",
    "logical_hash",
    "parse_reference",
    "parse_version",
    "register_assembly",
    "register_stimulus_set",
]


def __getattr__(name: str) -> object:
    if name == "__version__":
        from .runs.environment import package_version

        return package_version()
    if name not in _EXPORTS:
        raise AttributeError(f"module 'brainscore_registry' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, eagerly
    from .data.hashing import logical_hash
    from .data.identifiers import Version, parse_reference, parse_version
    from .data.schemas import AssemblyMeta, StimulusSetMeta
    from .data.stimuli import StimulusSet
    from .errors import BsrError, IntegrityError, JobError, UserInputError
    from .store.loading import load_assembly, load_dataset, load_stimulus_set
    from .store.registration import Registration, register_assembly, register_stimulus_set
    from .store.registry import Registry
