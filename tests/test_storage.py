"""DVC-versioned data against real remotes: the embedded local directory and a real S3 API (a moto
server subprocess on 127.0.0.1). Push, wipe, pull, verify; bare clones; corruption; faults."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from brainscore_registry import IntegrityError, Registry, load_assembly, load_stimulus_set, register_assembly
from brainscore_registry.paths import bsr_home
from brainscore_registry.store import transfers

from .s3 import MotoServer, StoppingProxy, s3_client

BUCKET = "bsr-test"


@pytest.fixture(scope="module")
def moto():
    server = MotoServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3(moto, monkeypatch):
    """A fresh bucket on the moto server; returns its endpoint."""
    moto.reset()
    s3_client(moto.endpoint).create_bucket(Bucket=BUCKET)
    return moto.endpoint


@pytest.fixture(params=["local", "s3"])
def remote(request, registry):
    """The registry's default remote: the embedded local directory, or an S3 bucket."""
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3")
        registry.storage.add_remote("s3", f"s3://{BUCKET}/registry", endpoint_url=endpoint, default=True)
    return request.param


@pytest.fixture
def populated(registry, stimuli, experiment):
    """A registry holding the synthetic stimulus set and neural assembly."""
    neural = register_assembly(experiment.neural, experiment.neural_meta, registry=registry)
    return registry, stimuli, neural


def _tree(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _wipe_local(registry: Registry, *versions) -> None:
    for v in versions:
        shutil.rmtree(v.path)
    shutil.rmtree(bsr_home() / "cache", ignore_errors=True)


def _remote_objects(remote: str, registry: Registry, endpoint: str | None = None) -> dict[str, int]:
    if remote == "local":
        base = bsr_home() / "remote"
        return {p.relative_to(base).as_posix(): p.stat().st_size for p in base.rglob("*") if p.is_file()}
    listing = s3_client(endpoint).list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {o["Key"]: o["Size"] for o in listing}


def test_push_wipe_pull_gives_identical_bytes(remote, populated, cli):
    registry, stimuli, neural = populated
    before = {v.version: _tree(v.path) for v in (stimuli, neural)}
    assert [s.state for s in transfers.status(registry)] == ["local only: push it"] * 2
    pushed = cli("--registry", registry.root, "push")
    assert pushed.exit_code == 0, pushed.stderr
    assert {s.state for s in transfers.status(registry)} == {"synced"}
    _wipe_local(registry, stimuli, neural)
    assert {s.state for s in transfers.status(registry)} == {"in remote: pull it"}
    pulled = cli("--registry", registry.root, "pull", "Synthetic2026.V4IT")  # brings its stimulus set along
    assert pulled.exit_code == 0, pulled.stderr
    assert pulled.stdout.split() == [str(stimuli.version), str(neural.version)]
    assert {v.version: _tree(v.path) for v in (stimuli, neural)} == before
    load_assembly(str(neural.version), registry=registry, verify=True)
    load_stimulus_set(str(stimuli.version), registry=registry, verify=True)


def test_catalogue_records_where_versions_live(populated):
    registry, stimuli, neural = populated
    stored = registry.catalog.read_entry("Synthetic2026.V4IT").latest
    assert stored.dvc.file == f"{stored.path}.dvc" and (registry.root / stored.dvc.file).is_file()
    assert stored.dvc.md5.endswith(".dir") and stored.dvc.md5.split(".")[0] in (registry.root / stored.dvc.file).read_text()
    ignored = subprocess.run(["git", "check-ignore", "-q", stored.path], cwd=registry.root)
    assert ignored.returncode == 0  # the store itself is never committed, only its .dvc file
    tracked = subprocess.run(["git", "check-ignore", "-q", stored.dvc.file], cwd=registry.root)
    assert tracked.returncode == 1


def _commit(registry: Registry) -> None:
    subprocess.run(["git", "add", "-A"], cwd=registry.root, check=True)
    subprocess.run(["git", "commit", "-qm", "registry"], cwd=registry.root, check=True)


def test_pull_by_version_from_a_bare_clone_elsewhere(remote, populated, cli, tmp_path, monkeypatch):
    registry, stimuli, neural = populated
    assert cli("--registry", registry.root, "push").exit_code == 0
    _commit(registry)
    bare = tmp_path / "registry.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(registry.root), str(bare)], check=True)
    shutil.rmtree(bsr_home() / "cache")  # nothing local: the bytes must come from the remote
    if remote == "s3":  # another machine: not even the embedded local remote is shared
        monkeypatch.setenv("BSR_HOME", str(tmp_path / "other_home"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = cli("--registry", bare, "pull", str(neural.version))
    assert result.exit_code == 0, result.stderr
    loaded = load_assembly(str(neural.version), registry=str(bare), verify=True)
    np.testing.assert_array_equal(loaded.values, load_assembly(str(neural.version), registry=registry).values)
    assert not any(elsewhere.iterdir())  # nothing written into the working directory
    assert register_fails_read_only(bare, cli)


def register_fails_read_only(bare: Path, cli) -> bool:
    result = cli("--registry", bare, "register", "assembly", "x.nc", "--meta", "x.yaml")
    return result.exit_code == 2 and "read-only registry" in result.stderr


def test_two_registries_share_one_copy(populated, cli, tmp_path):
    registry, stimuli, neural = populated
    assert cli("--registry", registry.root, "push").exit_code == 0
    _commit(registry)
    bare = tmp_path / "registry.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(registry.root), str(bare)], check=True)
    assert cli("--registry", bare, "pull", "Synthetic2026.V4IT").exit_code == 0
    clone = Registry(str(bare))
    for v in (neural, stimuli):
        for original in Path(v.path).rglob("*"):
            if original.is_file():
                copy = clone.root / Path(v.path).relative_to(registry.root) / original.relative_to(v.path)
                assert os.stat(copy).st_ino == os.stat(original).st_ino  # one inode: stored once


def _flip_a_byte(remote: str, objects: dict[str, int], endpoint: str | None) -> str:
    key = max((k for k in objects if not k.endswith(".dir")), key=objects.get)
    if remote == "local":
        path = bsr_home() / "remote" / key
        os.chmod(path, 0o644)
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
    else:
        client = s3_client(endpoint)
        data = bytearray(client.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        data[len(data) // 2] ^= 0x01
        client.put_object(Bucket=BUCKET, Key=key, Body=bytes(data))
    return key


def test_flipped_byte_in_the_remote_is_refused(remote, populated, cli, request):
    registry, stimuli, neural = populated
    endpoint = request.getfixturevalue("s3") if remote == "s3" else None
    assert cli("--registry", registry.root, "push", str(neural.version)).exit_code == 0
    oids = registry.storage.objects(neural.stored.dvc.md5, None)[1:]  # the neural store's files
    neural_objects = {
        k: n
        for k, n in _remote_objects(remote, registry, endpoint).items()
        if any(k.endswith(f"{oid[:2]}/{oid[2:]}") for oid in oids)
    }
    assert len(neural_objects) == len(set(oids))
    _flip_a_byte(remote, neural_objects, endpoint)
    _wipe_local(registry, stimuli, neural)
    result = cli("--registry", registry.root, "pull", str(neural.version))
    message = " ".join(result.stderr.split())
    assert result.exit_code == 1, result.stderr
    assert "does not match its pin" in message and "differ from their recorded sha256" in message
    assert not neural.path.exists()  # the bad copy is not in the workspace
    quarantine = bsr_home() / "quarantine"
    quarantined = list(quarantine.iterdir()) if quarantine.exists() else []
    if remote == "local":  # checked as it was copied: the bad object never reached the cache or the workspace
        assert "Nothing of it was kept" in message and not quarantined
    else:  # DVC fetched it, then the files were checked
        assert "moved aside" in message and "will not be used" in message
        assert len(quarantined) == 1 and quarantined[0].name.startswith("Synthetic2026.V4IT@sha256-")
    with pytest.raises(IntegrityError):  # and a second pull does not reuse a cached bad copy
        transfers.pull(registry, [str(neural.version)])


def test_missing_credentials_are_a_clear_error(s3, populated, cli, monkeypatch):
    registry, _, _ = populated
    registry.storage.add_remote("s3", f"s3://{BUCKET}/registry", endpoint_url=s3, default=True)
    credentials = {name: os.environ[name] for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    for name in credentials:
        monkeypatch.delenv(name)
    result = cli("--registry", registry.root, "push")
    for name, value in credentials.items():  # the test itself lists the bucket with them
        monkeypatch.setenv(name, value)
    message = " ".join(result.stderr.split())
    assert result.exit_code == 2, result.stderr
    assert "no valid credentials for remote 's3'" in message and "no anonymous access" in message
    assert "AWS_ACCESS_KEY_ID" in message and "Traceback" not in result.stderr
    assert s3_client_objects(s3) == []


def s3_client_objects(endpoint: str) -> list[str]:
    return [o["Key"] for o in s3_client(endpoint).list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_server_stopped_mid_push_then_rerun_completes(moto, s3, populated, cli, experiment):
    registry, stimuli, neural = populated
    proxy = StoppingProxy(moto.port, stop_after=3)
    registry.storage.add_remote("s3", f"s3://{BUCKET}/registry", endpoint_url=proxy.endpoint, default=True)
    try:
        failed = cli("--registry", registry.root, "push")
    finally:
        proxy.stop()
    message = " ".join(failed.stderr.split())
    assert failed.exit_code == 1, failed.stderr
    assert "push failed" in message and "unreachable or stopped answering" in message and "rerun `bsr push`" in message
    partial = s3_client_objects(s3)
    assert 0 < len(partial) < neural.stored.files + stimuli.stored.files + 2
    back = StoppingProxy(moto.port, port=proxy.port)  # the server comes back at the same address
    try:
        assert {s.state for s in transfers.status(registry)} != {"synced"}
        rerun = cli("--registry", registry.root, "push")
        assert rerun.exit_code == 0, rerun.stderr
        assert {s.state for s in transfers.status(registry)} == {"synced"}
        _wipe_local(registry, stimuli, neural)
        assert cli("--registry", registry.root, "pull", "Synthetic2026.V4IT").exit_code == 0
        load_assembly(str(neural.version), registry=registry, verify=True)
    finally:
        back.stop()


def test_unreachable_remote_is_a_clear_error(populated, cli):
    from .s3 import free_port

    registry, _, _ = populated
    registry.storage.add_remote("s3", f"s3://{BUCKET}/registry", endpoint_url=f"http://127.0.0.1:{free_port()}", default=True)
    result = cli("--registry", registry.root, "push")
    assert result.exit_code == 1
    assert "unreachable" in result.stderr


def test_no_credentials_in_committed_files(s3, populated, cli):
    registry, _, _ = populated
    registry.storage.add_remote("s3", f"s3://{BUCKET}/registry", endpoint_url=s3, default=True)
    assert cli("--registry", registry.root, "push").exit_code == 0
    _commit(registry)
    for secret in (os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"], "access_key_id", "secret_access_key"):
        found = subprocess.run(["git", "grep", "-n", secret], cwd=registry.root, capture_output=True, text=True)
        assert found.returncode == 1, found.stdout  # 1: no match in any committed file
    config = (registry.root / ".dvc" / "config").read_text()
    assert f"s3://{BUCKET}/registry" in config and s3 in config


@pytest.mark.parametrize(
    "args, pattern",
    [
        (["pull", "Synthetic2026.V4"], r"no dataset 'Synthetic2026.V4'.*Did you mean 'Synthetic2026.V4IT'"),
        (["push", "Synthetic2026.imagez"], r"Did you mean 'Synthetic2026.images'"),
        (["status", "Nope2020"], r"no dataset 'Nope2020'"),
        (["pull", "Synthetic2026.V4IT", "--remote", "s4"], r"no remote named 's4'"),
        (["remote", "add", "x", "http://example.org/bucket"], r"neither s3://bucket/prefix"),
    ],
)
def test_bad_transfer_input(populated, cli, args, pattern):
    import re

    registry, _, _ = populated
    result = cli("--registry", registry.root, *args)
    assert result.exit_code == 2, result.stderr
    assert re.search(pattern, " ".join(result.stderr.split())), result.stderr
