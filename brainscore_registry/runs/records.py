"""Signed score records: everything needed to check a score and to re-run it.

A record is JSON: the benchmark (id, version, the full spec and its hash), every data version by full
hash, the metric and its parameters, the normalisation, the ceiled score with its raw score and ceiling
(per split and per unit), the model's identity (card, weights and factory-source hashes, layer map,
visual degrees) or the predictions file's hash, the code (package version, git commit, dirty flag),
the environment (python, torch, numpy, scikit-learn, xarray; device; threads), the seeds, timestamps,
the tolerances a reproduction is held to, and the signer. The signature is Ed25519 over the RFC 8785
canonical JSON of the record without its `signature` field.

Keys live in `$BSR_HOME/keys/` (`ed25519.key`, mode 0600, never printed; `ed25519.pub`). The key id is
the first 16 hex digits of the sha256 of the raw public key. A valid signature says who signed, not
that the signer is trusted: that is the trusted-keys policy's call (`trust`), which every consumer of
records applies.

A record is read strictly, because it is a file we did not write: at most 16 MiB (checked before it is
read), UTF-8, nested at most 64 deep, no key twice in one object (JSON readers disagree on which copy
wins, so a signed record could say two things), integers within ±(2^53 - 1) and finite numbers only (what
RFC 8785 can canonicalise), strings of valid Unicode. Each refusal is a RecordInvalid naming the file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import os
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_serializer

from ..data.hashing import canonical_json
from ..data.schemas import PinnedVersion
from ..errors import JobError, UserInputError
from ..metrics.score import BenchmarkScore
from ..paths import bsr_home, write_atomic

RECORD_SCHEMA = "bsr-score-record-v1"
# |Δ| a reproduction may show: same device, thread count and BLAS kernel give identical numbers; another
# CPU thread count or BLAS kernel (OpenBLAS picks Haswell, SkylakeX, ... by CPU) changes summation order
# (≤ 1e-6 on scores of well-posed metrics); GPU against CPU (float32, no bf16) differs by the float32
# rounding of activations, amplified by the regression (documented, tested). An ill-posed metric (its
# score attrs say `conditioning.well_posed: false`) has no cross-setting tolerance at all: see reproduction.
TOLERANCES = {"same_setting": 0.0, "cpu_threads": 1e-6, "blas_kernel": 1e-6, "gpu_vs_cpu": 1e-3}
# Bounds on a record read from disk: far above any real record (a few kB to a few hundred kB, nested
# about 7 deep), far below what could exhaust memory or the parser's recursion.
MAX_RECORD_BYTES = 16 << 20
MAX_RECORD_DEPTH = 64
MAX_SAFE_INTEGER = 2**53 - 1  # I-JSON (RFC 7493): what every JSON reader and RFC 8785 hold exactly
MAX_KEY_FILE_BYTES = 16 << 10


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BenchmarkPart(_Record):
    id: str
    version: int
    spec_sha256: str
    spec: dict


class ModelPart(_Record):
    kind: Literal["torch", "predictions"]
    name: str
    card_sha256: str | None = None
    weights_sha256: str | None = None
    factory_sha256: str | None = None
    predictions_sha256: str | None = None
    layers: dict[str, str] = Field(default_factory=dict)
    readout_layer: str | None = None
    visual_degrees: float | None = None
    reduction: dict | None = None  # the card's `reduction` ({pca, fit_stimuli}); absent when it has none

    @model_serializer(mode="wrap")
    def _without_absent_reduction(self, handler):
        """A model without a reduction serialises without the key: records written before the field
        existed keep their signed bytes, and such a model's score-cache key is unchanged."""
        data = handler(self)
        if self.reduction is None and isinstance(data, dict):
            data.pop("reduction", None)
        return data


class Signer(_Record):
    key_id: str
    public_key: str  # base64 of the raw 32-byte Ed25519 public key


class ScoreRecord(_Record):
    schema_: Literal["bsr-score-record-v1"] = Field(alias="schema")
    benchmark: BenchmarkPart
    data: dict[str, PinnedVersion | None]
    metric: dict
    normalization: str
    score: dict
    model: ModelPart
    code: dict
    environment: dict
    seeds: dict
    tolerance: dict[str, float]
    timestamps: dict[str, str]
    signer: Signer
    submission: dict | None = None  # a scoring service's answer: account, submission id, released precision
    signature: str | None = None

    @model_serializer(mode="wrap")
    def _without_absent_submission(self, handler):
        """A record scored locally serialises without the key, so records written before the field
        existed keep their signed bytes."""
        data = handler(self)
        if self.submission is None and isinstance(data, dict):
            data.pop("submission", None)
        return data

    def unsigned(self) -> dict:
        return self.model_dump(mode="json", by_alias=True, exclude={"signature"})


class RecordInvalid(JobError):
    """A record that fails verification (schema, strict parsing, signature, trust or pins): exit code 1."""


def keys_dir() -> Path:
    return bsr_home() / "keys"


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def raw_public(public_key: Ed25519PublicKey) -> str:
    """The base64 raw 32-byte public key, as a record's signer carries it."""
    return base64.b64encode(public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()


def init_keys(force: bool = False) -> Ed25519PublicKey:
    """Create the signing key pair; refuses to replace an existing one unless `force`."""
    private_path = keys_dir() / "ed25519.key"
    if private_path.exists() and not force:
        raise UserInputError(
            f"a signing key already exists at {private_path}", field="keys", fix="keep it, or pass --force to replace it"
        )
    return write_key_pair(private_path, private_path.with_suffix(".pub"))


def write_key_pair(private_path: Path, public_path: Path) -> Ed25519PublicKey:
    """A new Ed25519 key pair: the private key PEM at mode 0600 (in a 0700 directory), the public PEM beside."""
    private_path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(private_path.parent, 0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    write_atomic(private_path, pem, mode=0o600)  # 0600 before a byte is written
    write_atomic(public_path, public_pem(key.public_key()))
    return key.public_key()


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def has_key() -> bool:
    return (keys_dir() / "ed25519.key").is_file()


def ensure_key() -> bool:
    """Create the signing key on first use; returns whether it was created just now."""
    if has_key():
        return False
    init_keys()
    return True


def private_key() -> Ed25519PrivateKey:
    path = keys_dir() / "ed25519.key"
    if not path.is_file():
        raise UserInputError("no signing key yet", file=path, field="keys", fix="run `bsr keys init` once")
    return load_private_key(path, fix="run `bsr keys init --force`")


def load_private_key(path: Path, fix: str) -> Ed25519PrivateKey:
    """The Ed25519 private key in the PEM file at `path`; UserInputError with `fix` when it is not one."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not an unencrypted PEM private key"
        raise UserInputError(f"cannot read the signing key: {reason}", file=path, field="key", fix=fix) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UserInputError("the signing key is not Ed25519", file=path, field="key", fix=fix)
    return key


def public_key() -> Ed25519PublicKey:
    return private_key().public_key()


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    """A trusted key: a PEM public key file, or a file holding the base64 raw key."""
    path = Path(path)
    try:
        if path.exists() and not path.is_file():  # a directory, or a named pipe whose read would block
            raise ValueError("not a regular file")
        with path.open("rb") as fh:
            data = fh.read(MAX_KEY_FILE_BYTES + 1)
        if len(data) > MAX_KEY_FILE_BYTES:
            raise ValueError(f"larger than {MAX_KEY_FILE_BYTES} bytes, which no public key file is")
        if data.lstrip().startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(data)
        else:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(data.strip(), validate=True))
    except (OSError, ValueError, UnsupportedAlgorithm) as exc:  # binascii.Error is a ValueError
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise UserInputError(
            f"cannot read a public key: {reason}",
            file=path,
            field="trusted-key",
            fix="give an Ed25519 public key: a PEM file (e.g. another machine's $BSR_HOME/keys/ed25519.pub) or the "
            "base64 of the raw 32-byte key",
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise UserInputError("not an Ed25519 public key", file=path, field="trusted-key", fix="give an Ed25519 public key")
    return key


def signer(key: Ed25519PrivateKey | None = None) -> Signer:
    """Who signs: `key`, or this user's signing key."""
    public = (key or private_key()).public_key()
    return Signer(key_id=key_id(public), public_key=raw_public(public))


def sign(record: ScoreRecord, key: Ed25519PrivateKey | None = None) -> ScoreRecord:
    """The record signed by `key` (default: this user's signing key), which must be its signer's."""
    signature = (key or private_key()).sign(canonical_json(record.unsigned()))
    return record.model_copy(update={"signature": base64.b64encode(signature).decode()})


def write_record(record: ScoreRecord, path: Path) -> None:
    write_atomic(path, json.dumps(record.model_dump(mode="json", by_alias=True), indent=2) + "\n")


def read_record(path: str | Path) -> ScoreRecord:
    """The record at `path`, parsed strictly and checked against the schema (the signature is not
    checked here: see check_signature). A missing file is the user's mistake (UserInputError); a file
    that is not a well-formed record is RecordInvalid."""
    return record_from_bytes(read_bounded(Path(path)), Path(path))


def record_from_bytes(raw: bytes, path: Path) -> ScoreRecord:
    """`read_record` of bytes already read from `path` (named in errors): a caller that must use the very
    bytes it checked (a leaderboard copying the record it verified) reads them once."""
    data = parse_record_json(raw, path)
    try:
        return ScoreRecord.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the record"
        raise RecordInvalid(
            f"the record does not follow {RECORD_SCHEMA}: {where}: {first['msg']}",
            file=path,
            fix="give a record written by bsr score, unchanged",
        ) from None


def read_bounded(path: Path) -> bytes:
    """The file's bytes, refusing one larger than MAX_RECORD_BYTES before reading it whole (and reading
    at most one byte more, should it grow meanwhile)."""
    try:
        with path.open("rb") as fh:
            if os.fstat(fh.fileno()).st_size > MAX_RECORD_BYTES:
                raise _too_large(path)
            data = fh.read(MAX_RECORD_BYTES + 1)
    except OSError as exc:
        raise UserInputError(
            f"cannot read a score record: {exc.strerror or exc}",
            file=path,
            field="record",
            fix="give a record written by bsr score",
        ) from None
    if len(data) > MAX_RECORD_BYTES:
        raise _too_large(path)
    return data


def _too_large(path: Path) -> RecordInvalid:
    return RecordInvalid(
        f"larger than {MAX_RECORD_BYTES >> 20} MiB, which no score record is", file=path, fix="give a record written by bsr score"
    )


class _Refused(ValueError):
    """Raised inside the JSON parser's hooks; turned into RecordInvalid with the file's name."""


def _pairs(pairs: list[tuple[str, object]]) -> dict:
    """object_pairs_hook: one object, refusing a key that appears twice (Python would keep the last copy,
    other readers the first: a signed record must not say two things)."""
    obj: dict = {}
    for key, value in pairs:
        if key in obj:
            raise _Refused(f"the key {key!r} appears twice in one object")
        obj[key] = value
    return obj


def _integer(text: str) -> int:
    """parse_int: refuse before converting, so a 5,000-digit number costs nothing and raises nothing else."""
    if len(text.lstrip("-")) > len(str(MAX_SAFE_INTEGER)) or abs(value := int(text)) > MAX_SAFE_INTEGER:
        shown = text if len(text) <= 24 else f"{text[:12]}…({len(text)} digits)"
        raise _Refused(f"the integer {shown} is beyond ±(2^53 - 1), which JSON readers and RFC 8785 cannot hold exactly")
    return value


def _finite(text: str) -> float:
    """parse_float: refuse a number that overflows to infinity (e.g. 1e400)."""
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text[:24]} is not finite")
    return value


def _constant(text: str) -> float:
    """parse_constant: NaN, Infinity and -Infinity are not JSON."""
    raise _Refused(f"{text} is not a JSON number (a missing value is written null)")


def parse_record_json(data: bytes, path: Path) -> object:
    """Strict JSON: UTF-8, no duplicate keys, bounded integers, finite numbers, at most MAX_RECORD_DEPTH
    levels, valid Unicode strings. Every refusal is RecordInvalid naming `path` and what is wrong."""

    def invalid(what: str) -> RecordInvalid:
        return RecordInvalid(f"not a valid score record: {what}", file=path, fix="give a record written by bsr score, unchanged")

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid(f"byte {exc.start} is not UTF-8 ({exc.reason})") from None
    try:
        value = json.loads(text, object_pairs_hook=_pairs, parse_int=_integer, parse_float=_finite, parse_constant=_constant)
    except RecursionError:  # the C parser counts its depth against Python's recursion limit
        raise invalid(f"nested deeper than {MAX_RECORD_DEPTH} levels") from None
    except _Refused as exc:
        raise invalid(str(exc)) from None
    except json.JSONDecodeError as exc:
        raise invalid(f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    problem = _structure_problem(value)
    if problem:
        raise invalid(problem)
    return value


def _structure_problem(value: object) -> str | None:
    """What the parser's hooks cannot see: nesting beyond MAX_RECORD_DEPTH, and strings (keys included)
    holding an unpaired surrogate (valid JSON escapes, but not Unicode: RFC 8785 cannot encode them).
    Walks with an explicit stack, so no depth can exhaust Python's recursion."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_RECORD_DEPTH:
                return f"nested deeper than {MAX_RECORD_DEPTH} levels"
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return f"the string {item[:24]!r} holds an unpaired surrogate, which is not Unicode"
    return None


def check_signature(record: ScoreRecord, path: str | Path | None = None) -> None:
    """The signature is the record's signer's, over exactly these contents; RecordInvalid when not.
    Who the signer is, and whether to believe them, is not checked here (see `trust`)."""

    def invalid(message: str) -> RecordInvalid:
        return RecordInvalid(message, file=path, field="signature", fix="use the record as its signer wrote it")

    if not record.signature:
        raise invalid("the record is not signed")
    try:
        embedded = Ed25519PublicKey.from_public_bytes(base64.b64decode(record.signer.public_key, validate=True))
    except (ValueError, binascii.Error):
        raise invalid("the record's signer public key is malformed") from None
    if key_id(embedded) != record.signer.key_id:
        raise invalid("the signer key id does not match the record's public key")
    try:
        embedded.verify(base64.b64decode(record.signature, validate=True), canonical_json(record.unsigned()))
    except (InvalidSignature, ValueError):
        raise invalid("the signature does not match the record's contents (the record was changed after signing)") from None


def record_score(record: ScoreRecord, path: str | Path | None = None) -> BenchmarkScore:
    """The record's score, parsed; RecordInvalid (not a KeyError deep inside) when it is not one."""
    try:
        return BenchmarkScore.from_json(record.score)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RecordInvalid(
            f"the record's score is not a benchmark score ({type(exc).__name__}: {exc})", file=path, field="score"
        ) from None
