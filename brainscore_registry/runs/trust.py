"""The trusted-keys policy: which signers' records count. Every consumer of records (verify, aggregate,
reproduce, a leaderboard) goes through `accept_record`, so they all apply the same rule.

A valid signature only says which key signed a record; anyone can make a key and sign anything. So a
record counts only when its signer is trusted:

- by default: the keys in `$BSR_HOME/trusted_keys/` (PEM or base64 raw Ed25519 public keys, one per
  file; `bsr keys trust FILE` puts one there) plus the user's own signing key;
- with `--trusted-key FILE` (repeatable): only the keys given, and nothing else, so that a script can
  pin exactly whom it believes.

A signer is matched by its whole public key, never by the key id alone (an id is a 64-bit prefix).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ..benchmarks.plugins import pin_problems
from ..errors import UserInputError, did_you_mean, preview
from ..paths import bsr_home, write_atomic
from ..store.registry import Registry
from .records import (
    RecordInvalid,
    ScoreRecord,
    check_signature,
    has_key,
    init_keys,
    key_id,
    keys_dir,
    load_public_key,
    public_key,
    public_pem,
    raw_public,
    read_record,
    record_score,
)

OWN, LISTED, GIVEN = "own signing key", "trusted_keys", "--trusted-key"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
TRUST_FIX = "if you trust this signer, add its public key with `bsr keys trust FILE`, or pass --trusted-key FILE"


@dataclass(frozen=True)
class TrustedKey:
    """One trusted public key and where the trust comes from (OWN, LISTED or GIVEN)."""

    key_id: str
    public_key: str  # base64 of the raw 32-byte key, as records carry it
    source: str
    file: Path | None

    @classmethod
    def of(cls, key: Ed25519PublicKey, source: str, file: Path | None) -> TrustedKey:
        return cls(key_id(key), raw_public(key), source, file)

    def to_json(self) -> dict:
        return {"key_id": self.key_id, "source": self.source, "file": str(self.file) if self.file else None}


@dataclass(frozen=True)
class TrustPolicy:
    """The keys whose records count. `explicit`: they were given with --trusted-key (only those)."""

    keys: tuple[TrustedKey, ...]
    explicit: bool = False

    def trusts(self, record: ScoreRecord) -> bool:
        """Whether the record's signer is one of the keys, compared as raw key bytes (not as base64 text,
        which can spell the same key more than one way)."""
        try:
            signer = base64.b64decode(record.signer.public_key, validate=True)
        except ValueError:
            return False
        return any(base64.b64decode(key.public_key) == signer for key in self.keys)

    def describe(self) -> str:
        """Whom this policy trusts, in words, for an error message."""
        distinct = sorted({k.key_id for k in self.keys})
        ids = ", ".join(distinct)
        if self.explicit:
            which = "the trusted key" if len(distinct) == 1 else "one of the trusted keys"
            return f"it is not {which} {ids} given with --trusted-key"
        if not self.keys:
            return f"no key is trusted yet (no signing key of your own, nothing in {trusted_dir()})"
        listed = sum(k.source == LISTED for k in self.keys)
        keys = f"{listed} key{'s' if listed != 1 else ''} in {trusted_dir()}" if listed else f"no key in {trusted_dir()}"
        own = "your own signing key and " if any(k.source == OWN for k in self.keys) else ""
        return f"trusted here: {own}{keys}"


class SignerNotTrusted(RecordInvalid):
    """The signature is valid, but the signer is not trusted: exit code 1."""

    def __init__(self, record: ScoreRecord, path: str | Path | None, policy: TrustPolicy) -> None:
        self.record = record
        fix = (
            "pass --trusted-key with the signer's public key, or leave --trusted-key out to use your trusted keys "
            "(`bsr keys trusted`)"
            if policy.explicit
            else TRUST_FIX
        )
        message = f"signature valid, signer {record.signer.key_id} not trusted: {policy.describe()}"
        super().__init__(message, file=path, field="signer", fix=fix)


def trusted_dir() -> Path:
    return bsr_home() / "trusted_keys"


def load_policy(trusted_key_files: Sequence[str | Path] = ()) -> TrustPolicy:
    """The policy a command applies: only `trusted_key_files` when any are given (--trusted-key),
    otherwise the trusted directory plus the user's own signing key."""
    if trusted_key_files:
        keys = tuple(TrustedKey.of(load_public_key(f), GIVEN, Path(f)) for f in trusted_key_files)
        return TrustPolicy(keys, explicit=True)
    return TrustPolicy(tuple(trusted_keys()))


def trusted_keys() -> list[TrustedKey]:
    """The default trusted list: the user's own signing key (when there is one), then every key file in
    the trusted directory. A file there that is not a public key is an error, not silently skipped: the
    user put it there to be trusted."""
    keys = [TrustedKey.of(public_key(), OWN, keys_dir() / "ed25519.pub")] if has_key() else []
    return keys + [TrustedKey.of(_load_listed(f), LISTED, f) for f in _listed_files()]


def _listed_files() -> list[Path]:
    directory = trusted_dir()
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))  # dotfiles: staging


def _load_listed(path: Path) -> Ed25519PublicKey:
    try:
        return load_public_key(path)
    except UserInputError as exc:
        raise UserInputError(
            f"in the trusted keys: {exc.message}",
            file=path,
            field="trusted_keys",
            fix="replace it with an Ed25519 public key, or delete the file",
        ) from None


def check_trusted(record: ScoreRecord, policy: TrustPolicy, path: str | Path | None = None) -> None:
    """SignerNotTrusted unless the record's signer is one of the policy's keys."""
    if not policy.trusts(record):
        raise SignerNotTrusted(record, path, policy)


def accept_record(path: str | Path, policy: TrustPolicy) -> ScoreRecord:
    """A record that may be counted: read strictly, its signature valid, its signer trusted. The one
    gate every consumer of records goes through."""
    record = read_record(path)
    check_signature(record, path)
    check_trusted(record, policy, path)
    record_score(record, path)
    return record


def verify_record(path: str | Path, registry: Registry, policy: TrustPolicy) -> ScoreRecord:
    """`bsr verify`: an accepted record (schema, signature, trusted signer, a score that parses) whose
    every pinned version is catalogued in `registry` and every plugin file it ran has, in `registry`, the
    bytes it pinned; RecordInvalid with the reason otherwise."""
    record = accept_record(path, policy)
    unresolved = [pin for pin in record.data.values() if pin and registry.catalog.find(pin) is None]
    if unresolved:
        raise RecordInvalid(
            f"pinned data not in the registry at {registry.root}: {', '.join(unresolved)}",
            file=path,
            field="data",
            fix="verify against the registry the record was made from (--registry)",
        )
    changed = pin_problems(registry.root, record.benchmark.spec)
    if changed:
        raise RecordInvalid(
            "the benchmark's plugin code is not what the record ran: " + "; ".join(changed),
            file=path,
            field="metric.plugins",
            fix="verify against the registry (and the plugin file) the record was made from; a changed plugin is a "
            "different benchmark",
        )
    return record


def trust_key(path: str | Path, name: str | None = None) -> tuple[TrustedKey, bool]:
    """Copy the public key in `path` (validated, written as PEM) into the trusted directory as
    `<name>.pub` (default: its key id). Returns the entry and whether it is new."""
    return trust_public_key(load_public_key(path), name)


def trust_public_key(key: Ed25519PublicKey, name: str | None = None) -> tuple[TrustedKey, bool]:
    """Add `key` to the trusted directory; a key already listed is not written twice."""
    entry = TrustedKey.of(key, LISTED, None)
    for existing in (k for k in trusted_keys() if k.source == LISTED):
        if existing.public_key == entry.public_key:
            return existing, False
    target = trusted_dir() / f"{_checked_name(name or entry.key_id)}.pub"
    if target.exists():
        raise UserInputError(
            "another trusted key already has this name",
            file=target,
            field="name",
            fix="choose another --name, or remove that key first with `bsr keys untrust KEY_ID`",
        )
    write_atomic(target, public_pem(key))
    return TrustedKey(entry.key_id, entry.public_key, LISTED, target), True


def _checked_name(name: str) -> str:
    """A plain file name: no path, no leading dot (a name from the command line never leaves the directory)."""
    stem = name.removesuffix(".pub")
    if not _NAME.fullmatch(stem):
        raise UserInputError(
            f"{name!r} is not a usable name",
            field="name",
            fix="use letters, digits, '.', '_' or '-' (at most 64, not starting with '.' or '-'), e.g. --name alice",
        )
    return stem


def untrust(key_id_: str) -> list[Path]:
    """Remove every file in the trusted directory holding the key `key_id_` (a key id, or the name it was
    trusted under: `bsr keys trust alice.pub --name alice`, then `bsr keys untrust alice`); returns the
    files removed."""
    listed = [k for k in trusted_keys() if k.source == LISTED]
    named = [k for k in listed if k.file is not None and k.file.stem == key_id_]
    matching = [k for k in listed if k.key_id == key_id_ or (named and k.key_id in {n.key_id for n in named})]
    if not matching:
        if has_key() and key_id(public_key()) == key_id_:
            raise UserInputError(
                f"{key_id_} is your own signing key, which is always trusted",
                field="key_id",
                fix="to accept only other keys for one command, pass --trusted-key FILE",
            )
        known = sorted({k.key_id for k in listed})
        raise UserInputError(
            f"no trusted key has the id {key_id_!r}.{did_you_mean(key_id_, known)}",
            field="key_id",
            fix=f"give one of {preview(known)} (see `bsr keys trusted`)" if known else "nothing to remove: no key is listed",
        )
    for entry in matching:
        entry.file.unlink(missing_ok=True)
    return [entry.file for entry in matching]


def init_signing_key(force: bool = False) -> tuple[Ed25519PublicKey, TrustedKey | None]:
    """Create the signing key; when `force` replaces one, its public key stays trusted (copied into the
    trusted directory), so the records it signed keep verifying. Returns the new key and that entry."""
    previous = public_key() if force and has_key() else None
    key = init_keys(force)
    if previous is None or key_id(previous) == key_id(key):
        return key, None
    entry, _ = trust_public_key(previous, f"previous-{key_id(previous)}")
    return key, entry
