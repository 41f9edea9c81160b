"""brainscore-registry: versioned, content-hashed datasets and benchmarks for brain models."""

from __future__ import annotations

__version__ = "0.1.0"

from .data.hashing import logical_hash
from .data.identifiers import Version, parse_reference, parse_version
from .data.schemas import AssemblyMeta, StimulusSetMeta
from .data.stimuli import StimulusSet
from .errors import BsrError, IntegrityError, JobError, UserInputError
from .store.loading import load_assembly, load_dataset, load_stimulus_set
from .store.registration import Registration, register_assembly, register_stimulus_set
from .store.registry import Registry

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
    "load_assembly",
    "load_dataset",
    "load_stimulus_set",
    "logical_hash",
    "parse_reference",
    "parse_version",
    "register_assembly",
    "register_stimulus_set",
]
