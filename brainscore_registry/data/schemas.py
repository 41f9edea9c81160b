"""Pydantic models for dataset metadata and the catalogue.

Validated once, at the public boundary (a YAML file, a Python call); inner code trusts them.
`extra="forbid"` everywhere, so a misspelt key is an error rather than silently ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from ..errors import UserInputError
from .identifiers import IDENTIFIER_RULE, Version, identifier_problem, is_hex64, parse_reference, parse_version
from .vocabulary import REGIONS, SPECIES, normalize_license, vocabulary_problem

AssemblyKind = Literal["neural", "behavioral", "similarity"]
DatasetKind = Literal["stimuli", "neural", "behavioral", "similarity"]
Modality = Literal["spikes", "multi_unit", "fmri", "eeg", "meg", "calcium", "psychophysics"]
CATALOG_SCHEMA_VERSION = 1


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _pinned_version(value: object) -> Version:
    if not isinstance(value, str):
        raise ValueError(f"must be a version 'Name@sha256:<64 hex digits>', got {type(value).__name__}")
    try:
        return parse_version(value)
    except UserInputError as exc:
        raise ValueError(f"{exc.message}; pin data as 'Name@sha256:<64 hex digits>'") from None


PinnedVersion = Annotated[
    Version,
    PlainValidator(_pinned_version),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9_.\-]*@sha256:[0-9a-f]{64}$"}),
]
"""A `Version` in a pydantic model: validated from its string, serialised back to exactly that string,
so catalogue files, spec fingerprints and signed records keep their bytes."""


def valid_identifier(value: str) -> str:
    """A field validator: the value must be a dataset or benchmark identifier."""
    problem = identifier_problem(value)
    if problem:
        raise ValueError(f"identifier {value!r} {problem}; an identifier must {IDENTIFIER_RULE}")
    return value


def _license(value: str) -> str:
    normalized, problem = normalize_license(value)
    if problem:
        raise ValueError(f"{problem} Use an SPDX id such as 'CC-BY-4.0', 'CC0-1.0' or 'MIT' (https://spdx.org/licenses/)")
    return normalized


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


class Provenance(Strict):
    """Where the raw files came from, precisely enough to fetch them again."""

    source: str = Field(description="URL or citation of the raw data")
    revision: str = Field(description="commit, release tag, DOI version or download date")
    sha256: dict[str, str] | None = Field(default=None, description="raw file name -> sha256 hex")

    _source = field_validator("source", "revision")(_non_blank)

    @field_validator("sha256")
    @classmethod
    def _hex(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for name, digest in (value or {}).items():
            if not is_hex64(digest):
                raise ValueError(f"sha256 of {name!r} must be 64 lowercase hex digits, got {digest!r}")
        return value


class Ceiling(Strict):
    value: float = Field(ge=0.0, le=1.0)
    error: float | None = Field(default=None, ge=0.0)
    method: str

    _method = field_validator("method")(_non_blank)


class _DatasetMeta(Strict):
    identifier: str
    description: str
    citation: str
    license: str
    provenance: Provenance

    _id = field_validator("identifier")(valid_identifier)
    _text = field_validator("description", "citation")(_non_blank)
    _lic = field_validator("license")(_license)


class StimulusSetMeta(_DatasetMeta):
    """Metadata of a stimulus set (`bsr meta-template stimuli`)."""

    visual_degrees: float | None = Field(default=None, gt=0.0, le=180.0)


TimeBin = Annotated[list[int | float], Field(min_length=2, max_length=2)]


class AssemblyMeta(_DatasetMeta):
    """Metadata of a neural, behavioral or similarity assembly (`bsr meta-template KIND`)."""

    kind: AssemblyKind
    species: str
    regions: list[str] = Field(min_length=1)
    modality: Modality
    stimulus_set: str = Field(description="'Name' (latest version) or 'Name@sha256:<hex>'")
    time_bins: list[TimeBin] | None = None
    ceiling: Ceiling | None = None

    @field_validator("species")
    @classmethod
    def _species(cls, value: str) -> str:
        problem = vocabulary_problem(value, SPECIES, "species")
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        for region in value:
            problem = vocabulary_problem(region, REGIONS, "region")
            if problem:
                raise ValueError(problem)
        if len(set(value)) != len(value):
            raise ValueError(f"regions are listed twice: {value}")
        return value

    @field_validator("stimulus_set")
    @classmethod
    def _stimulus_set(cls, value: str) -> str:
        parse_reference(value, field="stimulus_set")
        return value

    @field_validator("time_bins")
    @classmethod
    def _bins(cls, value: list[list[float]] | None) -> list[list[int | float]] | None:
        for start, end in value or []:
            if not end > start:
                raise ValueError(
                    f"time bin [{start}, {end}] does not end after it starts; write [start_ms, end_ms] with end > start"
                )
        return time_bin_values(value) if value else value

    @model_validator(mode="after")
    def _kind_rules(self) -> "AssemblyMeta":
        if self.kind == "neural" and not self.time_bins:
            raise ValueError("time_bins is required for a neural assembly: a list of [start_ms, end_ms]")
        if self.kind != "neural" and self.time_bins is not None:
            raise ValueError(f"time_bins applies to neural assemblies only; remove it from this {self.kind} assembly")
        return self


def time_bin_values(bins: list[list[float]]) -> list[list[int | float]]:
    """Time bins as ints when every edge is integral (ms), so hashing and display are stable."""
    if all(float(edge).is_integer() for pair in bins for edge in pair):
        return [[int(a), int(b)] for a, b in bins]
    return [[float(a), float(b)] for a, b in bins]


class DvcLocation(Strict):
    """Where a version's bytes live for DVC: its `.dvc` file, and the md5 of its directory manifest
    (the object every remote stores it under, `files/md5/<2>/<30>.dir`)."""

    file: str
    md5: str
    nfiles: int
    size: int


class StoredVersion(Strict):
    """One registered version of a dataset, as the catalogue records it."""

    version: PinnedVersion
    created: datetime
    path: str = Field(description="store location relative to the registry root")
    dims: dict[str, int]
    dtype: str
    nbytes: int = Field(description="uncompressed bytes of all variables")
    stored_bytes: int = Field(description="bytes on disk")
    files: int
    stimulus_set: PinnedVersion | None = Field(default=None, description="pinned stimulus set of an assembly")
    dvc: DvcLocation | None = Field(default=None, description="DVC tracking of the store")
    metadata: dict


class CatalogEntry(Strict):
    """`registry/datasets/<Name>.yaml`: one dataset and all its versions, oldest first."""

    schema_version: Literal[1] = CATALOG_SCHEMA_VERSION
    identifier: str
    kind: DatasetKind
    versions: list[StoredVersion] = Field(min_length=1)

    _id = field_validator("identifier")(valid_identifier)

    @property
    def latest(self) -> StoredVersion:
        return self.versions[-1]
