"""Registration is atomic: an exception or a kill at any point leaves either the whole new
version (store + catalogue entry) or nothing at all, and the next run completes cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import brainscore_registry.store.registration as registration
from brainscore_registry import IntegrityError, Registry, load_dataset, logical_hash, register_assembly
from brainscore_registry.store.catalog import Catalog
from brainscore_registry.store.publish import Publication
from brainscore_registry.store.storage import Storage


def _stores(root: Path) -> list[Path]:
    return sorted((root / "assemblies").glob("*/*.zarr")) + sorted((root / "stimulus_sets").glob("*/*.zarr"))


def assert_consistent(registry: Registry) -> None:
    """Every catalogued version has its complete store; every store is catalogued; no scratch left."""
    catalogued = {registry.root / v.path: v for e in registry.catalog.entries() for v in e.versions}
    assert set(_stores(registry.root)) == set(catalogued)
    dvc_files = set((registry.root / "assemblies").glob("*/*.zarr.dvc")) | set(
        (registry.root / "stimulus_sets").glob("*/*.zarr.dvc")
    )
    assert dvc_files == {registry.root / v.dvc.file for v in catalogued.values()}
    for ignore in (registry.root / "assemblies").glob("*/.gitignore"):
        assert {line.strip("/") for line in ignore.read_text().split()} <= {p.name for p in catalogued}
    for path, version in catalogued.items():
        assert logical_hash(load_dataset(version.version, registry=registry)) == version.version.split("@")[1]
    work = registry.layout.work_dir
    leftovers = [p.name for p in work.glob("*") if p.name != "registry.lock"] if work.exists() else []
    assert leftovers == []
    assert [p.name for p in registry.layout.datasets_dir.iterdir() if p.name.startswith(".")] == []


def _fail(exc: BaseException):
    def raiser(*args, **kwargs):
        raise exc

    return raiser


def _after(original, exc: BaseException):
    def wrapped(*args, **kwargs):
        original(*args, **kwargs)
        raise exc

    return wrapped


FAULTS = {
    "write fails": lambda mp: mp.setattr(
        registration, "write_store", _after(registration.write_store, OSError(28, "No space left on device"))
    ),
    "interrupted while writing": lambda mp: mp.setattr(
        registration, "write_store", _after(registration.write_store, KeyboardInterrupt())
    ),
    "verify fails": lambda mp: mp.setattr(registration, "store_size", _fail(OSError(5, "Input/output error"))),
    "rename fails": lambda mp: mp.setattr(Publication, "move_into_place", _fail(OSError(18, "Invalid cross-device link"))),
    "crash after rename": lambda mp: mp.setattr(
        Publication, "move_into_place", _after(Publication.move_into_place, RuntimeError("crash"))
    ),
    "dvc add fails": lambda mp: mp.setattr(Storage, "track", _fail(OSError(28, "No space left on device"))),
    "crash after dvc add": lambda mp: mp.setattr(Storage, "track", _after(Storage.track, RuntimeError("crash"))),
    "catalogue write fails": lambda mp: mp.setattr(Catalog, "write_entry", _fail(OSError(28, "No space left on device"))),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_exception_leaves_nothing(fault, monkeypatch, registry, stimuli, experiment, snapshot):
    before = snapshot(registry.root)
    with monkeypatch.context() as mp:
        FAULTS[fault](mp)
        with pytest.raises((OSError, RuntimeError, KeyboardInterrupt)):
            register_assembly(experiment.neural, experiment.neural_meta, registry=registry)
    assert snapshot(registry.root) == before
    assert_consistent(registry)
    result = register_assembly(experiment.neural, experiment.neural_meta, registry=registry)
    assert result.created
    assert_consistent(registry)


def test_corrupted_write_is_detected(monkeypatch, registry, stimuli, experiment, snapshot):
    """A bit flipped in the staged store between write and verify: refused, nothing published."""
    original = registration.write_store

    def write_then_flip(ds, path):
        original(ds, path)
        chunk = max(
            (p for p in Path(path, "responses").rglob("*") if p.is_file() and p.name != "zarr.json"),
            key=lambda p: p.stat().st_size,
        )
        data = bytearray(chunk.read_bytes())
        data[len(data) // 2] ^= 0x01
        chunk.write_bytes(bytes(data))

    before = snapshot(registry.root)
    monkeypatch.setattr(registration, "write_store", write_then_flip)
    with pytest.raises(IntegrityError, match="cannot be read: RuntimeError: Zstd decompression error|hashes to"):
        register_assembly(experiment.neural, experiment.neural_meta, registry=registry)
    assert snapshot(registry.root) == before


KILL_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    import brainscore_registry.store.registration as R
    from brainscore_registry.store.catalog import Catalog
    from brainscore_registry.store.publish import Publication
    from brainscore_registry.store.storage import Storage

    phase, root, source, meta = sys.argv[1:5]

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def after(obj, name):
        original = getattr(obj, name)
        def wrapped(*args, **kwargs):
            original(*args, **kwargs)
            die()
        setattr(obj, name, wrapped)

    def partial_write(ds, path):
        os.makedirs(path)
        with open(os.path.join(path, "zarr.json"), "w") as fh:
            fh.write('{"zarr_format": 3, "node_type": "gr')  # half a file
        die()

    def partial_catalogue(self, entry):
        target = self.layout.entry_path(entry.identifier)
        with open(target.parent / ("." + target.name + ".partial.tmp"), "w") as fh:
            fh.write("schema_version: 1\\nidentifier: ")
        die()

    if phase == "during write":
        R.write_store = partial_write
    elif phase == "after write":
        after(R, "write_store")
    elif phase == "after verify":
        after(R, "verify_store")
    elif phase == "after rename":
        after(Publication, "move_into_place")
    elif phase == "after dvc add":
        after(Storage, "track")
    elif phase == "during catalogue write":
        Catalog.write_entry = partial_catalogue
    elif phase == "after catalogue write":
        after(Catalog, "write_entry")
    R.register_assembly(source, meta, registry=root)
    print("finished without being killed")
""")


@pytest.mark.parametrize(
    "phase", ["during write", "after write", "after verify", "after rename", "during catalogue write", "after catalogue write"]
)
def test_kill_at_any_point(phase, tmp_path, registry, stimuli, experiment):
    script = tmp_path / "register_and_die.py"
    script.write_text(KILL_SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script), phase, str(registry.root), str(experiment.neural), str(experiment.neural_meta)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    registered = phase == "after catalogue write"
    # whatever is in the catalogue now is complete; a store without its entry is never a partial one
    for store in _stores(registry.root):
        assert (store / "zarr.json").is_file() and logical_hash(load_dataset_from(store)) is not None
    reopened = Registry(registry.root)  # opening the registry rolls back the dead process's leftovers
    assert_consistent(reopened)
    names = reopened.catalog.names()
    assert ("Synthetic2026.V4IT" in names) == registered
    result = register_assembly(experiment.neural, experiment.neural_meta, registry=reopened)
    assert result.created != registered
    assert_consistent(reopened)
    assert [p.name for p in registry.layout.datasets_dir.iterdir() if p.name.startswith(".")] == []


def load_dataset_from(store: Path):
    from brainscore_registry.data.zarr_io import read_store

    return read_store(store)


def test_leftovers_of_a_live_registration_are_left_alone(registry, stimuli):
    """Opening the registry never touches the staging area of a registration that holds the lock."""
    stage = registry.layout.work_dir / "stage-12345-deadbeef"
    with registry.lock():
        stage.mkdir(parents=True)
        Registry(registry.root)  # cannot take the lock: leaves everything as it is
        assert stage.is_dir()
    Registry(registry.root)  # the lock is free and the stage is orphaned: rolled back
    assert not stage.exists()
