"""Signed score records: everything needed to check a score and to re-run it.

A record is JSON: the benchmark (id, version, the full spec and its hash), every data version by full
hash, the metric and its parameters, the normalisation, the ceiled score with its raw score and ceiling
(per split and per unit), the model's identity (card, weights and factory-source hashes, layer map,
visual degrees) or the predictions file's hash, the code (package version, git commit, dirty flag),
the environment (python, torch, numpy, scikit-learn, xarray; device; threads), the seeds, timestamps,
the tolerances a reproduction is held to, and the signer. The signature is Ed25519 over the RFC 8785
canonical JSON of the record without its `signature` field.

Keys live in `$BSR_HOME/keys/` (`ed25519.key`, mode 0600, never printed; `ed25519.pub`). The key id is
the first 16 hex digits of the sha256 of the raw public key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..data.hashing import canonical_json
from ..data.schemas import PinnedVersion
from ..errors import JobError, UserInputError
from ..metrics.score import BenchmarkScore
from ..paths import bsr_home, write_atomic
from ..store.registry import Registry

RECORD_SCHEMA = "bsr-score-record-v1"
# |Δ| a reproduction may show: same device, thread count and BLAS kernel give identical numbers; another
# CPU thread count or BLAS kernel (OpenBLAS picks Haswell, SkylakeX, ... by CPU) changes summation order
# (≤ 1e-6 on scores of well-posed metrics); GPU against CPU (float32, no bf16) differs by the float32
# rounding of activations, amplified by the regression (documented, tested). An ill-posed metric (its
# score attrs say `conditioning.well_posed: false`) has no cross-setting tolerance at all: see reproduction.
TOLERANCES = {"same_setting": 0.0, "cpu_threads": 1e-6, "blas_kernel": 1e-6, "gpu_vs_cpu": 1e-3}


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
    signature: str | None = None

    def unsigned(self) -> dict:
        return self.model_dump(mode="json", by_alias=True, exclude={"signature"})


def keys_dir() -> Path:
    return bsr_home() / "keys"


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _raw_public(public_key: Ed25519PublicKey) -> str:
    return base64.b64encode(public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()


def init_keys(force: bool = False) -> Ed25519PublicKey:
    """Create the signing key pair; refuses to replace an existing one unless `force`."""
    directory = keys_dir()
    private_path = directory / "ed25519.key"
    if private_path.exists() and not force:
        raise UserInputError(
            f"a signing key already exists at {private_path}", field="keys", fix="keep it, or pass --force to replace it"
        )
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    write_atomic(private_path, pem, mode=0o600)  # 0600 before a byte is written
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    write_atomic(directory / "ed25519.pub", public_pem)
    return key.public_key()


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
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise UserInputError("the signing key is not Ed25519", file=path, field="keys", fix="run `bsr keys init --force`")
    return key


def public_key() -> Ed25519PublicKey:
    return private_key().public_key()


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    """A trusted key: a PEM public key file, or a file holding the base64 raw key."""
    path = Path(path)
    try:
        data = path.read_bytes()
        if data.lstrip().startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(data)
        else:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(data.strip()))
    except (OSError, ValueError) as exc:
        raise UserInputError(
            f"cannot read a public key: {exc}", file=path, field="trusted-key", fix="give an Ed25519 public key"
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise UserInputError("not an Ed25519 public key", file=path, field="trusted-key", fix="give an Ed25519 public key")
    return key


def signer() -> Signer:
    key = public_key()
    return Signer(key_id=key_id(key), public_key=_raw_public(key))


def sign(record: ScoreRecord) -> ScoreRecord:
    signature = private_key().sign(canonical_json(record.unsigned()))
    return record.model_copy(update={"signature": base64.b64encode(signature).decode()})


def write_record(record: ScoreRecord, path: Path) -> None:
    write_atomic(path, json.dumps(record.model_dump(mode="json", by_alias=True), indent=2) + "\n")


def read_record(path: str | Path) -> ScoreRecord:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UserInputError(
            f"cannot read a score record: {exc}", file=path, field="record", fix="give a record written by bsr score"
        ) from None
    try:
        return ScoreRecord.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RecordInvalid(f"the record does not follow {RECORD_SCHEMA}: {where}: {first['msg']}") from None


class RecordInvalid(JobError):
    """A record that fails verification (schema, signature, trust or pins): exit code 1."""


def check_signature(record: ScoreRecord, trusted: Ed25519PublicKey | None = None) -> None:
    if not record.signature:
        raise RecordInvalid("the record is not signed")
    try:
        embedded = Ed25519PublicKey.from_public_bytes(base64.b64decode(record.signer.public_key))
    except ValueError:
        raise RecordInvalid("the record's signer public key is malformed") from None
    if key_id(embedded) != record.signer.key_id:
        raise RecordInvalid("the signer key id does not match the record's public key")
    if trusted is not None and _raw_public(trusted) != record.signer.public_key:
        raise RecordInvalid(f"signed by key {record.signer.key_id}, which is not the trusted key {key_id(trusted)}")
    try:
        embedded.verify(base64.b64decode(record.signature), canonical_json(record.unsigned()))
    except (InvalidSignature, ValueError):
        raise RecordInvalid("the signature does not match the record's contents (the record was changed after signing)") from None


def verify_record(path: str | Path, registry: Registry, trusted: Ed25519PublicKey | None = None) -> ScoreRecord:
    """`bsr verify`: schema, signature (against `trusted` when given), every pinned version catalogued in
    `registry`, and a score that parses; the record, or RecordInvalid with the reason."""
    record = read_record(path)
    check_signature(record, trusted)
    unresolved = [pin for pin in record.data.values() if pin and registry.catalog.find(pin) is None]
    if unresolved:
        raise RecordInvalid(
            f"pinned data not in the registry at {registry.root}: {', '.join(unresolved)}",
            fix="verify against the registry the record was made from (--registry)",
        )
    BenchmarkScore.from_json(record.score)
    return record
