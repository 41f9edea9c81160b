"""Per-file digests: registration records every file's sha256 of the verified store; a pull from a
directory remote checks each file as it arrives, keeps nothing that differs, and leaves the cache and
the workspace as DVC would; catalogue entries written before the digests keep their bytes and are
verified by the logical hash; `bsr reproduce` asks for the logical hash itself."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from brainscore_registry import IntegrityError, Registry, register_assembly
from brainscore_registry.data.schemas import CatalogEntry
from brainscore_registry.paths import bsr_home
from brainscore_registry.runs.run import ensure_local
from brainscore_registry.store import transfers
from brainscore_registry.store.directory_fetch import object_path
from brainscore_registry.store.integrity import stamp_file
from brainscore_registry.store.storage import local_remote_dir, shared_cache_dir

REPOSITORY = Path(__file__).resolve().parents[1]


@pytest.fixture
def pushed(registry, stimuli, experiment):
    neural = register_assembly(experiment.neural, experiment.neural_meta, registry=registry)
    transfers.push(registry)
    return registry, stimuli, neural


def _wipe(registry: Registry, *registrations) -> None:
    for registration in registrations:
        shutil.rmtree(registration.path)
    shutil.rmtree(bsr_home() / "cache", ignore_errors=True)


def _remote_object(stored, relpath: str) -> Path:
    manifest = json.loads(object_path(local_remote_dir(), stored.dvc.md5).read_bytes())
    return object_path(local_remote_dir(), next(e["md5"] for e in manifest if e["relpath"] == relpath))


def _rewrite(path: Path, change) -> None:
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    change(data)
    path.write_bytes(bytes(data))


def _largest_file(stored) -> str:
    return max(stored.file_sha256, key=lambda p: (not p.endswith("zarr.json"), p))


def test_registration_records_the_sha256_of_every_file(pushed):
    registry, stimuli, neural = pushed
    for registration in (stimuli, neural):
        store, digests = registration.path, registration.stored.file_sha256
        on_disk = sorted(p.relative_to(store).as_posix() for p in store.rglob("*") if p.is_file())
        assert sorted(digests) == on_disk and len(digests) == registration.stored.files
        assert all(hashlib.sha256((store / p).read_bytes()).hexdigest() == d for p, d in digests.items())
        entry = yaml.safe_load(registry.layout.entry_path(registration.version.name).read_text())
        assert entry["versions"][-1]["file_sha256"] == digests


def test_entries_written_before_the_digests_keep_their_bytes():
    for path in sorted((REPOSITORY / "registry" / "datasets").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        entry = CatalogEntry.model_validate(data)
        assert entry.model_dump(mode="json") == data, path.name  # no `file_sha256: null` appears


def test_a_pull_from_the_local_remote_checks_files_and_leaves_what_dvc_would(pushed):
    registry, stimuli, neural = pushed
    _wipe(registry, stimuli, neural)
    transfers.pull(registry, [str(neural.version)])
    store, stored = neural.path, neural.stored
    for relpath in stored.file_sha256:  # read-only links to the cache objects, as DVC's checkout makes them
        linked = store / relpath
        assert linked.stat().st_mode & 0o222 == 0
        assert linked.stat().st_nlink >= 2
    stamp = json.loads(stamp_file(store, stored).read_text())
    assert stamp["basis"] == "files"
    [row] = [r for r in transfers.status(registry, [str(neural.version)]) if r.version == neural.version]
    assert row.state == "synced" and row.intact
    with registry.storage.repo() as repo:  # DVC sees the workspace as its own checkout
        assert repo.status(targets=[str(registry.root / stored.dvc.file)]) == {}


def test_a_damaged_object_never_enters_the_cache(pushed):
    registry, stimuli, neural = pushed
    bad = _largest_file(neural.stored)
    _rewrite(_remote_object(neural.stored, bad), lambda data: data.__setitem__(len(data) // 2, data[len(data) // 2] ^ 1))
    _wipe(registry, stimuli, neural)
    with pytest.raises(IntegrityError) as caught:
        transfers.pull(registry, [str(neural.version)])
    assert bad in caught.value.message and "Nothing of it was kept" in caught.value.message
    assert not neural.path.exists()
    assert not object_path(shared_cache_dir(), neural.stored.dvc.md5).exists()  # the version is not half cached
    assert not list(shared_cache_dir().rglob("*.tmp"))  # no half-written object left behind


def test_a_manifest_that_is_not_the_pinned_one_is_refused(pushed):
    registry, stimuli, neural = pushed
    manifest = object_path(local_remote_dir(), neural.stored.dvc.md5)
    _rewrite(manifest, lambda data: data.extend(b" "))
    _wipe(registry, stimuli, neural)
    with pytest.raises(IntegrityError) as caught:
        transfers.pull(registry, [str(neural.version)])
    assert "manifest" in caught.value.message and not neural.path.exists()


def test_a_damaged_cached_object_is_refused_not_linked(pushed):
    registry, stimuli, neural = pushed
    _wipe(registry, stimuli, neural)
    transfers.pull(registry, [str(neural.version)])
    shutil.rmtree(neural.path)  # the cache keeps its objects; damage one of them
    manifest = json.loads(object_path(shared_cache_dir(), neural.stored.dvc.md5).read_bytes())
    bad = _largest_file(neural.stored)
    oid = next(e["md5"] for e in manifest if e["relpath"] == bad)
    _rewrite(object_path(shared_cache_dir(), oid), lambda data: data.__setitem__(0, data[0] ^ 1))
    with pytest.raises(IntegrityError) as caught:
        transfers.pull(registry, [str(neural.version)])
    assert bad in caught.value.message
    transfers.pull(registry, [str(neural.version)])  # the damaged object was dropped: fetched again, intact
    assert (neural.path / "zarr.json").is_file()


def test_an_entry_without_digests_is_verified_by_its_logical_hash(pushed):
    registry, stimuli, neural = pushed
    entry = registry.catalog.read_entry(neural.version.name)
    old = entry.model_copy(update={"versions": [v.model_copy(update={"file_sha256": None}) for v in entry.versions]})
    registry.catalog.write_entry(old)
    assert "file_sha256" not in registry.layout.entry_path(neural.version.name).read_text()
    bad = _largest_file(neural.stored)
    _rewrite(_remote_object(neural.stored, bad), lambda data: data.__setitem__(len(data) // 2, data[len(data) // 2] ^ 1))
    _wipe(registry, stimuli, neural)
    with pytest.raises(IntegrityError) as caught:
        transfers.pull(Registry(registry.root), [str(neural.version)])
    assert f"expected {neural.version.digest}, got" in caught.value.message


def test_reproduction_asks_for_the_logical_hash(pushed, tmp_path):
    from brainscore_registry.benchmarks.specs import BenchmarkSpec

    registry, stimuli, neural = pushed
    _wipe(registry, stimuli, neural)
    transfers.pull(registry, [str(neural.version)])
    stamp = stamp_file(neural.path, neural.stored)
    assert json.loads(stamp.read_text())["basis"] == "files"
    spec = BenchmarkSpec.model_validate(
        {
            "id": "Synthetic2026.V4IT-pls",
            "version": 1,
            "assembly": str(neural.version),
            "procedure": {"region": "IT", "time_bins": [[70, 170]]},
            "metric": {"name": "pls"},
            "ceiling": {"method": "internal_consistency"},
            "description": "a test spec",
            "normalization": "r2_over_ceiling",
            "citation": "a test",
        }
    )
    ensure_local(registry, spec)  # the cheap check accepts the file-checked copy
    assert json.loads(stamp.read_text())["basis"] == "files"
    ensure_local(registry, spec, logical=True)  # reproduction recomputes the logical hash, then stamps it so
    assert "basis" not in json.loads(stamp.read_text())
