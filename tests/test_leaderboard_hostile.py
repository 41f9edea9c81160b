"""Hostile and odd input to `bsr leaderboard` and `bsr report`, from a review of both commands: every
value in a record is untrusted, every failure is a message with exit 2 (never a traceback), and
nothing is left half-written. Records here are synthetic but really signed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from brainscore_registry.store.registry import Registry
from brainscore_registry.synthetic.records import synthetic_record, synthetic_spec

WHEN = "2026-12-01T12:00:00+00:00"


def _invoke(*args):
    from cli.app import app

    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def env(tmp_path):
    """(registry, records dir, signing key, public key file, a function writing a record)."""
    key = Ed25519PrivateKey.generate()
    public = tmp_path / "key.pub"
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    records = tmp_path / "records"
    records.mkdir()

    def write(name: str, model: str, value: float, *, signer=key, finished: str = WHEN, benchmark: int = 0, error=None) -> Path:
        record = synthetic_record(model, synthetic_spec(benchmark), value, signer, hash(name) % 1000, finished)
        if error is not None:
            record["score"]["error"] = error
            record = _resign(record, signer)
        path = records / name
        path.write_text(json.dumps(record))
        return path

    return Registry.init(tmp_path / "registry"), records, key, public, write


def _resign(record: dict, key: Ed25519PrivateKey) -> dict:
    import base64

    from brainscore_registry.data.hashing import canonical_json
    from brainscore_registry.runs.records import ScoreRecord

    record = {k: v for k, v in record.items() if k != "signature"}
    unsigned = ScoreRecord.model_validate(record).unsigned()
    return {**record, "signature": base64.b64encode(key.sign(canonical_json(unsigned))).decode()}


def test_extreme_but_legal_numbers_build_a_site(env, tmp_path):
    registry, records, _, public, write = env
    write("huge.json", "huge", 1e308, error=1.7e308)
    write("negative.json", "negative", -1e308)
    result = _invoke("--registry", registry.root, "leaderboard", records, "--out", tmp_path / "site", "--trusted-key", public)
    assert result.exit_code == 0, result.output
    import re

    for page in (tmp_path / "site").rglob("*.html"):  # every coordinate of every figure is a finite number
        for svg in re.findall(r"<svg.*?</svg>", page.read_text(), re.S):
            assert not re.search(r'(x|y|x1|x2|y1|y2|cx|cy|width|height|points)="[^"]*(inf|nan)', svg, re.I), page


def test_names_are_printed_as_text_not_markup_or_terminal_codes(env, tmp_path):
    registry, records, _, public, write = env
    write("a.json", "[/]\x1b]0;pwned\x07\x1b[31mRED", 0.5)
    result = _invoke("--registry", registry.root, "report", records, "--out", tmp_path / "r.html", "--trusted-key", public)
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "[/]" in result.stdout and "\\x1b" in result.stdout
    site = _invoke("--registry", registry.root, "leaderboard", records, "--out", tmp_path / "[/]site", "--trusted-key", public)
    assert site.exit_code == 0, site.output


def test_a_report_never_replaces_a_record_it_reads(env):
    registry, records, _, public, write = env
    victim = write("victim.json", "m", 0.5)
    before = victim.read_bytes()
    result = _invoke("--registry", registry.root, "report", victim, "--out", victim, "--trusted-key", public)
    assert result.exit_code == 2 and "one of the records given" in " ".join(result.stderr.split())
    assert victim.read_bytes() == before


def test_an_output_that_cannot_be_written_is_a_message(env, tmp_path):
    registry, records, _, public, write = env
    write("a.json", "m", 0.5)
    a_file = tmp_path / "afile"
    a_file.write_text("x")
    for out, code in ((a_file / "site", 2), (tmp_path / ("n" * 300), 2), (tmp_path / ("n" * 250), 0)):
        result = _invoke("--registry", registry.root, "leaderboard", records, "--out", out, "--trusted-key", public)
        assert result.exit_code == code and "Traceback" not in result.output, result.output
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".bsr-site")) == []


def test_a_name_cannot_take_another_models_page(env, tmp_path):
    from brainscore_registry.reports.collect import unique_slugs

    registry, records, _, public, write = env
    slugs = unique_slugs(["a/b", "a_b"])
    forged = slugs["a/b"]
    for i, model in enumerate(["a/b", "a_b", forged]):
        write(f"{i}.json", model, 0.1 * (i + 1))
    result = _invoke("--registry", registry.root, "leaderboard", records, "--out", tmp_path / "site", "--trusted-key", public)
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "site" / "models").glob("*.html"))) == 3


def test_an_untrusted_record_never_hides_a_trusted_one(env, tmp_path):
    registry, records, _, public, write = env
    write("trusted.json", "alpha", 0.3)
    write("stranger.json", "alpha", 0.99, signer=Ed25519PrivateKey.generate(), finished="2099-01-01T00:00:00+00:00")
    result = _invoke(
        "--registry", registry.root, "leaderboard", records, "--out", tmp_path / "site", "--trusted-key", public, "--json"
    )
    assert json.loads(result.stdout)["superseded"] == 1
    index = (tmp_path / "site" / "index.html").read_text()
    assert 'data-value="0.300000"' in index and 'data-value="0.990000"' not in index


def test_each_file_counts_once_and_a_site_never_reads_its_own_copies(env, tmp_path, monkeypatch):
    registry, records, _, public, write = env
    write("a.json", "m", 0.5)
    monkeypatch.chdir(tmp_path)
    site = records / "sub" / "site"
    for _ in range(2):  # the rebuild finds the first build's copies under records/ and leaves them out
        result = _invoke(
            "--registry", registry.root, "leaderboard", "records", records, "--out", site, "--trusted-key", public, "--json"
        )
        summary = json.loads(result.stdout)
        assert summary["shown"] == 1 and summary["superseded"] == 0


def test_a_named_pipe_as_trusted_key_is_refused_not_waited_on(env, tmp_path):
    registry, records, _, _, write = env
    write("a.json", "m", 0.5)
    fifo = tmp_path / "key.fifo"
    os.mkfifo(fifo)
    result = _invoke("--registry", registry.root, "leaderboard", records, "--out", tmp_path / "site", "--trusted-key", fifo)
    assert result.exit_code == 2 and "not a regular file" in result.stderr


def test_a_report_without_a_valid_record_says_why(env, tmp_path):
    registry, records, _, public, _ = env
    (records / "broken.json").write_text("{")
    result = _invoke("--registry", registry.root, "report", records, "--out", tmp_path / "r.html", "--trusted-key", public)
    message = " ".join(result.stderr.split())
    assert result.exit_code == 2 and "no verified record" in message and "broken.json" in message
    assert not (tmp_path / "r.html").exists()


def test_a_report_path_too_long_for_the_file_system_is_a_message(env, tmp_path):
    registry, records, _, public, write = env
    write("a.json", "m", 0.5)
    result = _invoke("--registry", registry.root, "report", records, "--out", tmp_path / ("r" * 300), "--trusted-key", public)
    assert result.exit_code == 2 and "cannot be written" in result.stderr


def test_names_with_direction_overrides_stay_isolated_and_an_empty_board_is_said(env, tmp_path):
    registry, records, _, public, write = env
    write("a.json", "layered \u202eRLO", 0.5)
    result = _invoke("--registry", registry.root, "leaderboard", records, "--out", tmp_path / "site", "--trusted-key", public)
    assert result.exit_code == 0
    assert "<bdi>layered \u202eRLO" in (tmp_path / "site" / "index.html").read_text()
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _invoke("--registry", registry.root, "leaderboard", empty, "--out", tmp_path / "site2")
    assert result.exit_code == 0 and "no verified record" in result.stderr
