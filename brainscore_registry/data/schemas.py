"""Pydantic models for dataset metadata and the catalogue.

Validated once, at the public boundary (a YAML file, a Python call); inner code trusts them.
`extra="forbid"` everywhere, so a misspelt key is an error rather than silently ignored.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import datetime
from pathlib import PurePosixPath
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    SerializerFunctionWrapHandler,
    WithJsonSchema,
    field_validator,
    model_serializer,
    model_validator,
)

from ..errors import UserInputError
from .identifiers import IDENTIFIER_RULE, Version, identifier_problem, is_hex64, parse_reference, parse_version
from .vocabulary import REGIONS, SPECIES, normalize_license, vocabulary_problem

AssemblyKind = Literal["neural", "behavioral", "similarity"]
DatasetKind = Literal["stimuli", "neural", "behavioral", "similarity"]
Modality = Literal["spikes", "multi_unit", "fmri", "eeg", "meg", "calcium", "psychophysics"]
Measure = Literal["dissimilarity", "similarity"]
CATALOG_SCHEMA_VERSION = 1
MAX_VISUAL_DEGREES = 180.0
"""Visual degrees are in (0, 180]: a stimulus or a network input spans at most the visual hemifield."""
DATA_DIRS = {"stimuli": "stimulus_sets", "neural": "assemblies", "behavioral": "assemblies", "similarity": "assemblies"}
"""The directory a catalogued store of each kind lives under (store/layout.py publishes them there)."""


class Strict(BaseModel):
    """Every schema read from a file: unknown keys refused, values frozen, and numbers finite
    (`.inf`/`.nan` in YAML, or inf/NaN from Python, are refused with the field's name)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Additive(Strict):
    """A schema that grew fields after files were pinned: a field listed in `added` is left out of the
    JSON form while it has its default, so every spec, record and catalogue entry written before it
    keeps its bytes, its fingerprint and its signature."""

    added: ClassVar[dict[str, Any]] = {}

    @model_serializer(mode="wrap")
    def _omit_added_defaults(self, handler: SerializerFunctionWrapHandler) -> dict:
        data = handler(self)
        return {k: v for k, v in data.items() if not (k in self.added and v == self.added[k])}


def non_finite(value: Any, where: str = "") -> str | None:
    """The dotted place of the first non-finite number inside nested lists and dicts (None if none)."""
    if isinstance(value, float) and not math.isfinite(value):
        return where or "(value)"
    if isinstance(value, dict):
        items = ((f"{where}.{k}" if where else str(k), v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"{where}.{i}" if where else str(i), v) for i, v in enumerate(value))
    else:
        return None
    return next((found for place, item in items if (found := non_finite(item, place)) is not None), None)


def finite_tree(value: Any) -> Any:
    """A `mode="before"` validator for free-form values (metadata dicts, metric params, time bins):
    every number inside must be finite, as pydantic's allow_inf_nan=False ensures for typed floats."""
    place = non_finite(value)
    if place is not None:
        at = "" if place == "(value)" else f" (at {place})"
        raise ValueError(f"numbers must be finite; got a non-finite number{at}")
    return value


VisualDegrees = Annotated[float, Field(gt=0.0, le=MAX_VISUAL_DEGREES)]


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

    visual_degrees: VisualDegrees | None = None


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
    measure: Measure | None = Field(
        default=None,
        description="similarity assemblies: what the matrices hold (dissimilarity when not given, e.g. 1 − r; "
        "or similarity, e.g. Pearson r); metrics compare dissimilarities, converting similarity s to 1 − s",
    )
    measure_method: str | None = Field(
        default=None, description="how the (dis)similarities were computed, e.g. '1 - pearson r', 'crossnobis', 'pearson r'"
    )

    _measure_method = field_validator("measure_method")(_non_blank)

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

    _finite_bins = field_validator("time_bins", mode="before")(finite_tree)

    @field_validator("time_bins")
    @classmethod
    def _bins(cls, value: list[list[float]] | None) -> list[list[int | float]] | None:
        for start, end in value or []:
            if not end > start:
                raise ValueError(
                    f"time bin [{start}, {end}] does not end after it starts; write [start_ms, end_ms] with end > start"
                )
        repeated = repeated_bin(value or [])
        if repeated:
            raise ValueError(f"time bin [{repeated[0]}, {repeated[1]}] is listed twice; list each time bin once")
        return time_bin_values(value) if value else value

    @model_validator(mode="after")
    def _kind_rules(self) -> "AssemblyMeta":
        if self.kind == "neural" and not self.time_bins:
            raise ValueError("time_bins is required for a neural assembly: a list of [start_ms, end_ms]")
        if self.kind != "neural" and self.time_bins is not None:
            raise ValueError(f"time_bins applies to neural assemblies only; remove it from this {self.kind} assembly")
        if self.kind != "similarity" and (self.measure is not None or self.measure_method is not None):
            raise ValueError(f"measure and measure_method describe similarity assemblies; remove them from this {self.kind} one")
        if self.measure_method is not None and self.measure is None:
            raise ValueError("measure_method needs measure: dissimilarity or similarity")
        return self


def repeated_bin(bins: list) -> tuple | None:
    """The first time bin listed twice (compared as numbers: [70, 170] and [70.0, 170.0] are one bin)."""
    seen: set[tuple[float, float]] = set()
    for start, end in bins:
        key = (float(start), float(end))
        if key in seen:
            return (start, end)
        seen.add(key)
    return None


def time_bin_values(bins: list[list[float]]) -> list[list[int | float]]:
    """Time bins as ints when every edge is integral (ms), so hashing and display are stable."""
    if all(float(edge).is_integer() for pair in bins for edge in pair):
        return [[int(a), int(b)] for a, b in bins]
    return [[float(a), float(b)] for a, b in bins]


def store_path_problem(value: str) -> str | None:
    """Why `value` is not a store location a catalogue may name (None when it is): a relative POSIX
    path, without '..', '.' or empty parts, under assemblies/ or stimulus_sets/. Catalogue files come
    from other people's repositories, and these paths are read, pulled into and deleted."""
    if not value:
        return "is empty"
    if "\\" in value:
        return "contains a backslash (catalogue paths are POSIX, '/'-separated)"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in value):
        return "contains control or format characters"
    if PurePosixPath(value).is_absolute():
        return "is an absolute path"
    parts = value.split("/")
    if ".." in parts:
        return "climbs out of its directory with '..'"
    if "" in parts or "." in parts:
        return "has empty or '.' parts"
    if len(parts) < 3 or parts[0] not in set(DATA_DIRS.values()):
        return "is not under assemblies/ or stimulus_sets/ (as assemblies/<Name>/<hash12>.zarr)"
    return None


def _store_path(value: str) -> str:
    problem = store_path_problem(value)
    if problem:
        raise ValueError(
            f"{value!r} {problem}; a store path is relative to the registry root, e.g. 'assemblies/<Name>/<hash12>.zarr'"
        )
    return value


class DvcLocation(Strict):
    """Where a version's bytes live for DVC: its `.dvc` file (beside the store), and the md5 of its
    directory manifest (the object every remote stores it under, `files/md5/<2>/<30>.dir`)."""

    file: str
    md5: str
    nfiles: int
    size: int

    _file = field_validator("file")(_store_path)


def _file_digests(value: dict[str, str] | None) -> dict[str, str] | None:
    """Relative POSIX paths inside the store (no `..`, not absolute) → lowercase sha256 hex, sorted."""
    if value is None:
        return None
    for path, digest in value.items():
        parts = PurePosixPath(path).parts
        if not path or path.startswith("/") or ".." in parts or "\\" in path:
            raise ValueError(f"{path!r} is not a relative path inside the store")
        if not is_hex64(digest):
            raise ValueError(f"the sha256 of {path!r} is not 64 lowercase hex digits")
    return dict(sorted(value.items()))


class StoredVersion(Additive):
    """One registered version of a dataset, as the catalogue records it.

    `file_sha256` (entries written since it was added) is the sha256 of every file of the store as
    registration wrote it, computed from bytes it had just verified against the logical hash: a pull
    checks each file as it arrives, in parallel, instead of recomputing the logical hash in one stream."""

    added: ClassVar[dict[str, Any]] = {"file_sha256": None}

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
    file_sha256: dict[str, str] | None = Field(default=None, description="sha256 of every file of the store, by path")

    _path = field_validator("path")(_store_path)
    _digests = field_validator("file_sha256")(_file_digests)
    _finite_metadata = field_validator("metadata", mode="before")(finite_tree)

    @model_validator(mode="after")
    def _dvc_beside_store(self) -> "StoredVersion":
        if self.dvc is not None and self.dvc.file != f"{self.path}.dvc":
            raise ValueError(
                f"the .dvc file {self.dvc.file!r} is not the store's path plus '.dvc' ({self.path + '.dvc'!r}); "
                "DVC would track or fetch something else"
            )
        return self


class CatalogEntry(Strict):
    """`registry/datasets/<Name>.yaml`: one dataset and all its versions, oldest first."""

    schema_version: Literal[1] = CATALOG_SCHEMA_VERSION
    identifier: str
    kind: DatasetKind
    versions: list[StoredVersion] = Field(min_length=1)

    _id = field_validator("identifier")(valid_identifier)

    @model_validator(mode="after")
    def _stores_of_this_kind(self) -> "CatalogEntry":
        directory = DATA_DIRS[self.kind]
        for i, stored in enumerate(self.versions):
            if stored.path.split("/")[0] != directory:
                raise ValueError(f"versions.{i}.path {stored.path!r} is not under {directory}/, where {self.kind} stores live")
        return self

    @property
    def latest(self) -> StoredVersion:
        return self.versions[-1]
