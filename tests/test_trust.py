"""Trust is explicit (issue #11, part 2): a valid signature from a key nobody trusts is not a valid
record; records are parsed strictly (duplicate keys, size, depth, huge integers, bad bytes) with clean
errors; and an activation-cache entry is used only if it authenticates, so forged activations can
never reach a metric and end up in a signed record.

Records re-signed with another key are built as an attacker would: a real record, changed or not,
signed with a fresh Ed25519 key that is put in `signer`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from pathlib import Path

import numpy as np
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .scoring_setup import CONVNET, build_benchmark_registry

STIMULI = [f"syn{i:04d}" for i in range(40)]  # the synthetic experiment's ids


@pytest.fixture(scope="module")
def bench_registry(tmp_path_factory):
    return build_benchmark_registry(tmp_path_factory.mktemp("bench"))


@pytest.fixture(scope="module")
def predictions(tmp_path_factory) -> Path:
    import xarray as xr

    features = xr.DataArray(
        np.random.default_rng(0).standard_normal((40, 30)),
        dims=("presentation", "neuroid"),
        coords={"stimulus_id": ("presentation", STIMULI), "neuroid_id": ("neuroid", [f"u{k}" for k in range(30)])},
    )
    path = tmp_path_factory.mktemp("predictions") / "predictions.nc"
    features.to_netcdf(path)
    return path


def _score(cli, registry, predictions: Path, out: Path, benchmark: str = "Syn.IT-ridge") -> Path:
    result = cli("--registry", registry.root, "score", "-b", benchmark, "--predictions", predictions, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    return out


def _resign(record_path: Path, target: Path, change=None) -> tuple[Path, str]:
    """The record at `record_path`, changed by `change` (or not), signed with a fresh key that is put in
    `signer`; returns the public key file (PEM) and the key id."""
    from brainscore_registry.data.hashing import canonical_json
    from brainscore_registry.runs.records import ScoreRecord

    record = json.loads(record_path.read_text())
    if change is not None:
        change(record)
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_id = hashlib.sha256(raw).hexdigest()[:16]
    record["signer"] = {"key_id": key_id, "public_key": base64.b64encode(raw).decode()}
    record.pop("signature", None)
    unsigned = ScoreRecord.model_validate(record).unsigned()
    record["signature"] = base64.b64encode(key.sign(canonical_json(unsigned))).decode()
    target.write_text(json.dumps(record, indent=2))
    public = target.with_suffix(".pub")
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return public, key_id


def _raise_score(record: dict) -> None:
    record["score"]["value"] += 0.25


def _clean_failure(result, *phrases: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for phrase in phrases:
        assert phrase in " ".join(result.output.split()), result.output


# -- trusted keys -----------------------------------------------------------------------------------


def test_a_record_re_signed_with_another_key_is_not_trusted_until_its_key_is(cli, bench_registry, predictions, tmp_path):
    args = ("--registry", bench_registry.root)
    record = _score(cli, bench_registry, predictions, tmp_path / "r.json")
    forged = tmp_path / "forged.json"
    other_pub, other_id = _resign(record, forged, _raise_score)

    refused = cli(*args, "verify", forged)
    _clean_failure(refused, f"signature valid, signer {other_id} not trusted", "bsr keys trust FILE", "--trusted-key FILE")
    assert str(forged) in refused.output and "✓" not in refused.output
    as_json = cli(*args, "verify", forged, "--json")
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    assert report["valid"] is False and report["signature_valid"] is True and report["trusted"] is False
    assert report["signer"] == other_id

    assert cli(*args, "verify", forged, "--trusted-key", other_pub).exit_code == 0  # only that key: accepted
    only_other = cli(*args, "verify", record, "--trusted-key", other_pub)  # ... and only that key: ours is not
    _clean_failure(only_other, "not trusted", "given with --trusted-key")

    trusted = cli("keys", "trust", other_pub, "--name", "other")
    assert trusted.exit_code == 0 and other_id in trusted.output
    accepted = cli(*args, "verify", forged, "--json")
    assert accepted.exit_code == 0, accepted.output
    assert json.loads(accepted.stdout) | {"score": None} == {
        "valid": True,
        "signature_valid": True,
        "trusted": True,
        "benchmark": "Syn.IT-ridge",
        "signer": other_id,
        "score": None,
    }
    assert cli(*args, "verify", record).exit_code == 0  # our own key stays trusted by default

    listed = json.loads(cli("keys", "trusted", "--json").stdout)
    assert {(k["key_id"], k["source"]) for k in listed} >= {(other_id, "trusted_keys")}
    assert any(k["source"] == "own signing key" for k in listed)
    assert Path(next(k["file"] for k in listed if k["key_id"] == other_id)).name == "other.pub"

    assert cli("keys", "untrust", other_id).exit_code == 0
    _clean_failure(cli(*args, "verify", forged), "not trusted")


def test_aggregate_refuses_an_untrusted_signer_and_accepts_it_with_trusted_key(cli, bench_registry, predictions, tmp_path):
    args = ("--registry", bench_registry.root)
    ours = _score(cli, bench_registry, predictions, tmp_path / "ours.json")
    forged = tmp_path / "forged-rsa.json"
    other_pub, other_id = _resign(ours, forged, lambda r: r["benchmark"].__setitem__("id", "Syn.IT-rsa"))
    # ^ invalid as a benchmark claim, but validly signed: only trust can keep it out

    refused = cli(*args, "aggregate", ours, forged, "--json")
    _clean_failure(refused, str(forged), f"signer {other_id} not trusted")
    assert refused.stdout == ""

    (tmp_path / "ours.pub").write_text(json.loads(cli("keys", "show", "--json").stdout)["public_key_pem"])
    both = cli(*args, "aggregate", ours, forged, "--trusted-key", tmp_path / "ours.pub", "--trusted-key", other_pub, "--json")
    assert both.exit_code == 0, both.output
    [nodes] = json.loads(both.stdout).values()
    assert nodes["IT"]["complete"]  # the other signer's record counted, because it was named

    only_other = cli(*args, "aggregate", ours, "--trusted-key", other_pub)  # --trusted-key means only those keys
    _clean_failure(only_other, str(ours), "not trusted")


def test_reproduce_applies_the_same_policy(cli, bench_registry, predictions, tmp_path):
    args = ("--registry", bench_registry.root)
    record = _score(cli, bench_registry, predictions, tmp_path / "r.json")
    resigned = tmp_path / "resigned.json"
    other_pub, other_id = _resign(record, resigned)  # nothing changed but the signer

    refused = cli(*args, "reproduce", resigned, "--predictions", predictions)
    _clean_failure(refused, f"signature valid, signer {other_id} not trusted")
    accepted = cli(*args, "reproduce", resigned, "--predictions", predictions, "--trusted-key", other_pub, "--json")
    assert accepted.exit_code == 0, accepted.output
    assert json.loads(accepted.stdout)["verdict"] == "reproduced"


def test_replacing_the_signing_key_keeps_the_old_one_trusted(cli, bench_registry, predictions, tmp_path):
    record = _score(cli, bench_registry, predictions, tmp_path / "r.json")
    old_id = json.loads(record.read_text())["signer"]["key_id"]
    replaced = cli("keys", "init", "--force")
    assert replaced.exit_code == 0 and f"previous key {old_id} stays trusted" in " ".join(replaced.output.split())
    assert cli("--registry", bench_registry.root, "verify", record).exit_code == 0
    listed = json.loads(cli("keys", "trusted", "--json").stdout)
    assert [k["source"] for k in listed if k["key_id"] == old_id] == ["trusted_keys"]


def test_key_management_refuses_what_it_cannot_do(cli, bench_registry, predictions, tmp_path):
    from brainscore_registry.runs.trust import trusted_dir

    not_a_key = tmp_path / "not-a-key.pub"
    not_a_key.write_text("hello")
    result = cli("keys", "trust", not_a_key)
    assert result.exit_code == 2 and "cannot read a public key" in result.output and "Traceback" not in result.output

    other = Ed25519PrivateKey.generate().public_key()
    raw = other.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    (tmp_path / "raw.b64").write_text(base64.b64encode(raw).decode() + "\n")  # base64 raw keys are accepted too
    escaping = cli("keys", "trust", tmp_path / "raw.b64", "--name", "../outside")
    assert escaping.exit_code == 2 and "not a usable name" in escaping.output
    assert cli("keys", "trust", tmp_path / "raw.b64", "--name", "carol").exit_code == 0
    again = cli("keys", "trust", tmp_path / "raw.b64", "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["added"] is False
    assert [p.name for p in trusted_dir().iterdir()] == ["carol.pub"]

    assert cli("keys", "init").exit_code == 0
    own = json.loads(cli("keys", "show", "--json").stdout)["key_id"]
    mine = cli("keys", "untrust", own)
    assert mine.exit_code == 2 and "always trusted" in mine.output
    unknown = cli("keys", "untrust", "0123456789abcdef")
    assert unknown.exit_code == 2 and "no trusted key has the id" in unknown.output

    (trusted_dir() / "broken.pub").write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    record = _score(cli, bench_registry, predictions, tmp_path / "r.json")
    broken = cli("--registry", bench_registry.root, "verify", record)
    assert broken.exit_code == 2 and "broken.pub" in broken.output and "delete the file" in broken.output


@pytest.mark.parametrize("command", [["keys", "trust"], ["keys", "trusted"], ["keys", "untrust"]], ids=" ".join)
def test_the_new_key_commands_have_help_with_an_example(cli, command):
    result = cli(*command, "--help")
    assert result.exit_code == 0 and "Example: bsr keys" in " ".join(result.stdout.split())


def test_the_trusted_key_option_is_on_every_consumer_of_records(cli):
    for command in (["verify"], ["aggregate"], ["reproduce"]):
        result = cli(*command, "--help")
        assert result.exit_code == 0 and "--trusted-key" in result.stdout, command


# -- strict parsing ---------------------------------------------------------------------------------


def _duplicate_score(text: str) -> bytes:
    """A second "score" *before* the signed one: Python keeps the last copy (the signed one, so the
    signature checks), other JSON readers keep the first (the forged one)."""
    record = json.loads(text)
    forged = {**record["score"], "value": 0.99}
    return ('{"score": ' + json.dumps(forged) + ", " + text.lstrip()[1:]).encode()


def _padded(text: str) -> bytes:
    return text.encode() + b" " * (16 << 20)  # valid JSON, still: over 16 MiB


def _deep(depth: int):
    def change(text: str) -> bytes:
        record = json.loads(text)
        record["seeds"]["nested"] = "@"
        return json.dumps(record).replace('"@"', "[" * depth + "]" * depth).encode()

    return change


def _huge_integer(text: str) -> bytes:
    record = json.loads(text)
    record["benchmark"]["version"] = "@"
    return json.dumps(record).replace('"@"', "9" * 5000).encode()


def _non_utf8(text: str) -> bytes:
    return text.encode().replace(b'"Syn.IT-ridge"', b'"Syn.IT-ridge\xff"', 1)


@pytest.mark.parametrize(
    "change, reason",
    [
        (_duplicate_score, "the key 'score' appears twice in one object"),
        (_padded, "larger than 16 MiB"),
        (_deep(70), "nested deeper than 64 levels"),
        (_deep(50_000), "nested deeper than 64 levels"),
        (_huge_integer, "is beyond ±(2^53 - 1)"),
        (_non_utf8, "is not UTF-8"),
    ],
    ids=["duplicate-score", "size", "depth-70", "depth-50000", "5000-digit-integer", "non-utf8"],
)
def test_records_are_parsed_strictly_with_clean_errors(cli, bench_registry, predictions, tmp_path, change, reason):
    args = ("--registry", bench_registry.root)
    record = _score(cli, bench_registry, predictions, tmp_path / "r.json")
    bad = tmp_path / "bad.json"
    bad.write_bytes(change(record.read_text()))
    for command in (["verify", bad], ["aggregate", bad], ["reproduce", bad, "--predictions", predictions]):
        result = cli(*args, *command)
        _clean_failure(result, str(bad), reason)


# -- the activation cache ---------------------------------------------------------------------------


def _forge_entry(entry: Path) -> None:
    """Replace an entry by other values with every check an attacker without the secret can compute: the
    old-style sha256 checksum, and an HMAC under a key of their own."""
    with np.load(entry) as data:
        values, ids = data["values"], data["ids"].astype(str)
    forged = (values + np.float32(1.0)).astype(values.dtype)
    digest = hashlib.sha256()
    digest.update(str((forged.dtype.str, forged.shape)).encode())
    digest.update(np.ascontiguousarray(forged).tobytes())
    digest.update("\x1f".join(ids.tolist()).encode())
    mac = hmac.new(os.urandom(32), forged.tobytes(), "sha256").hexdigest()
    with entry.open("wb") as fh:
        np.savez(fh, values=forged, ids=ids, checksum=np.array(digest.hexdigest()), hmac=np.array(mac))


def test_a_forged_cache_entry_is_never_used(cli, bench_registry, tmp_path):
    from brainscore_registry.models.activation_cache import ActivationCache
    from brainscore_registry.paths import bsr_home

    args = ["--registry", bench_registry.root, "score", "-b", "Syn.IT-ridge", "-m", CONVNET, "--device", "cpu", "--json"]
    honest = cli(*args, "--out", tmp_path / "honest.json")
    assert honest.exit_code == 0, honest.output
    cache = ActivationCache()
    entries = sorted(cache.directory.rglob("*.npz"))
    assert entries
    originals = {e: cache.get(e.stem)[0] for e in entries}
    for entry in entries:
        _forge_entry(entry)
    forged_bytes = {e: e.read_bytes() for e in entries}

    again = cli(*args, "--out", tmp_path / "again.json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)[0]["score"] == json.loads(honest.stdout)[0]["score"]
    for entry in entries:
        assert entry.read_bytes() != forged_bytes[entry]  # rewritten by the recomputation
        np.testing.assert_array_equal(cache.get(entry.stem)[0], originals[entry])
    assert cli("--registry", bench_registry.root, "verify", tmp_path / "again.json").exit_code == 0

    secret = bsr_home() / "keys" / "cache.key"
    assert len(secret.read_bytes()) == 32 and secret.stat().st_mode & 0o777 == 0o600


def test_an_entry_written_under_another_secret_or_key_is_not_used(tmp_path):
    from brainscore_registry.models.activation_cache import ActivationCache

    values, ids = np.arange(6, dtype=np.float32).reshape(3, 2), ["a", "b", "c"]
    ours = ActivationCache(tmp_path / "cache")
    theirs = ActivationCache(tmp_path / "cache", secret_file=tmp_path / "their.key")
    theirs.put("k" * 64, values, ids)
    assert ours.get("k" * 64) is None and not ours.path("k" * 64).exists()  # deleted, never used

    ours.put("a" * 64, values, ids)
    moved = ours.path("b" * 64)
    moved.parent.mkdir(parents=True, exist_ok=True)
    ours.path("a" * 64).rename(moved)
    assert ours.get("b" * 64) is None  # an entry moved under another cache key does not authenticate

    ours.put("c" * 64, values, ids)
    got = ours.get("c" * 64)
    np.testing.assert_array_equal(got[0], values)
    assert got[1] == ids


def test_an_entry_that_is_not_well_formed_or_a_bad_secret_is_never_used(tmp_path):
    from brainscore_registry.errors import JobError
    from brainscore_registry.models.activation_cache import ActivationCache

    cache = ActivationCache(tmp_path / "cache", secret_file=tmp_path / "keys" / "cache.key")
    values, ids = np.ones((2, 2), dtype=np.float32), ["a", "b"]
    cache.put("d" * 64, values, ids)
    path = cache.path("d" * 64)
    with path.open("wb") as fh:  # a MAC that is not even hex: refused, not a TypeError from compare_digest
        np.savez(fh, values=values, ids=np.array(ids), hmac=np.array("é" * 64))
    assert cache.get("d" * 64) is None and not path.exists()
    cache.put("d" * 64, values, ids)
    with path.open("wb") as fh:  # compressed members: refused before anything is inflated
        np.savez_compressed(fh, values=values, ids=np.array(ids), hmac=np.array("0" * 64))
    assert cache.get("d" * 64) is None and not path.exists()

    (tmp_path / "short.key").write_bytes(b"too short")
    with pytest.raises(JobError, match=r"short.key: field 'cache.key': the local cache secret is not 32 bytes"):
        ActivationCache(tmp_path / "cache", secret_file=tmp_path / "short.key").put("d" * 64, values, ids)
