"""Nothing unverified reaches a metric: a damaged local copy is an error naming the version and the
file (exit 1), never a silently different score; `bsr status` shows it, `bsr verify-data` finds it and
`bsr pull --repair` restores it.

The flip tests change a store's files in place, as bit rot or a careless edit would: the workspace
files are read-only hardlinks into the DVC cache, so the flip damages the cached object too, and the
repair has to fetch the version again from the remote."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brainscore_registry import IntegrityError, load_assembly, register_assembly

from .scoring_setup import build_benchmark_registry


def _store(registry, name: str = "Synthetic2026.V4IT") -> tuple[object, Path]:
    stored = registry.catalog.read_entry(name).latest
    return stored, registry.layout.local_path(stored)


def _rewrite(path: Path, data: bytes) -> None:
    """Write into a read-only hardlinked file in place (the cache object changes with it)."""
    os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)
    with open(path, "r+b") as fh:
        fh.write(data)


def _flip(path: Path, offset: int, bit: int) -> bytes:
    original = path.read_bytes()
    damaged = bytearray(original)
    damaged[offset] ^= 1 << bit
    _rewrite(path, bytes(damaged))
    return original


@pytest.fixture
def neural(registry, stimuli, experiment):
    return register_assembly(experiment.neural, experiment.neural_meta, registry=registry)


@pytest.mark.filterwarnings("ignore:Object at data_type is not recognized:UserWarning")  # zarr, reading the damage
def test_a_flipped_bit_in_a_coordinates_metadata_is_refused_not_silently_dropped(cli, registry, neural):
    """The reported case: `data_type` → `eata_type` in region/zarr.json made zarr skip the `region`
    coordinate, so an IT benchmark scored every neuroid of a V4+IT assembly and the record verified."""
    stored, store = _store(registry)
    metadata = store / "region" / "zarr.json"
    text = metadata.read_bytes()
    offset = text.index(b'"data_type"') + 1
    _flip(metadata, offset, 0)  # 'd' (0x64) -> 'e' (0x65)
    assert b'"eata_type"' in metadata.read_bytes()
    with pytest.raises(IntegrityError, match=r"Synthetic2026.V4IT@sha256:.* is damaged: its metadata differ") as error:
        load_assembly(str(stored.version), registry=registry)
    # files with identical bytes share one cache object (hardlinks), so the damage shows wherever it is linked
    assert "region/zarr.json" in error.value.message and "bsr pull --repair" in error.value.fix
    status = cli("--registry", registry.root, "status", "--json")
    row = next(r for r in json.loads(status.stdout) if r["version"] == str(stored.version))
    assert row["intact"] is False and row["state"].startswith("DAMAGED")
    checked = cli("--registry", registry.root, "verify-data", str(stored.version), "--json")
    states = {r["version"]: r["state"] for r in json.loads(checked.stdout)}
    assert checked.exit_code == 1 and states == {str(stored.version): "damaged", str(stored.stimulus_set): "intact"}


def test_a_damaged_chunk_is_an_error_not_a_traceback(cli, registry, neural, experiment):
    stored, store = _store(registry)
    chunk = max((p for p in store.rglob("*") if p.is_file() and p.name != "zarr.json"), key=lambda p: p.stat().st_size)
    _flip(chunk, chunk.stat().st_size // 2, 3)
    with pytest.raises(IntegrityError, match="is damaged"):
        load_assembly(str(stored.version), registry=registry)
    result = cli("--registry", registry.root, "verify-data", "--json")
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_repair_restores_a_damaged_copy_from_the_remote(cli, registry, neural):
    stored, store = _store(registry)
    original = load_assembly(str(stored.version), registry=registry)
    assert cli("--registry", registry.root, "push").exit_code == 0
    _flip(store / "region" / "zarr.json", 10, 1)
    plain = cli("--registry", registry.root, "pull", str(stored.version))
    assert plain.exit_code == 1 and "is damaged" in plain.stderr and "pull --repair" in plain.stderr
    repaired = cli("--registry", registry.root, "pull", "--repair", str(stored.version), "--json")
    assert repaired.exit_code == 0, repaired.output
    states = {r["version"]: r["state"] for r in json.loads(repaired.stdout)}
    assert states[str(stored.version)] == "repaired" and states[str(stored.stimulus_set)] == "intact"
    xr.testing.assert_identical(load_assembly(str(stored.version), registry=registry), original)
    assert cli("--registry", registry.root, "verify-data").exit_code == 0
    assert any(p.name.startswith("Synthetic2026.V4IT@") for p in (Path(os.environ["BSR_HOME"]) / "quarantine").iterdir())


def test_an_unchanged_store_is_not_rehashed_and_a_forged_stamp_is_ignored(registry, neural, monkeypatch):
    import brainscore_registry.store.integrity as integrity

    stored, store = _store(registry)
    calls = []
    original = integrity.store_digest
    monkeypatch.setattr(integrity, "store_digest", lambda *a, **k: calls.append(1) or original(*a, **k))
    load_assembly(str(stored.version), registry=registry)
    assert calls == []  # stamped at registration: the cheap check suffices
    stamp = integrity.stamp_file(store, stored)
    body = json.loads(stamp.read_text())
    body["files"] = {**body["files"], "zarr.json": [1, 2, 3, "0" * 64]}  # a forged stamp, old HMAC
    stamp.write_text(json.dumps(body))
    load_assembly(str(stored.version), registry=registry)
    assert calls == [1]  # not trusted: verified in full, and stamped again


def test_bit_flips_never_give_a_different_number(tmp_path):
    """Property: a single flipped bit anywhere in a registered store gives an IntegrityError or the
    original assembly, identical; never different values with no error. Over 2,000 random flips."""
    registry = build_benchmark_registry(tmp_path / "flips")
    stored, store = _store(registry)
    files = sorted(p for p in store.rglob("*") if p.is_file())
    original = load_assembly(str(stored.version), registry=registry)
    outcomes = {"refused": 0, "identical": 0}

    @settings(max_examples=2000, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)
    @given(st.integers(0, len(files) - 1), st.floats(0, 1, exclude_max=True), st.integers(0, 7))
    def flip_one(which: int, where: float, bit: int) -> None:
        path = files[which]
        previous = _flip(path, int(where * path.stat().st_size), bit)
        try:
            loaded = load_assembly(str(stored.version), registry=registry)
        except IntegrityError:
            outcomes["refused"] += 1
        else:
            xr.testing.assert_identical(loaded, original)
            outcomes["identical"] += 1
        finally:
            _rewrite(path, previous)

    started = time.perf_counter()
    flip_one()
    assert sum(outcomes.values()) >= 2000, outcomes
    assert outcomes["refused"] > 0.9 * sum(outcomes.values()), outcomes
    print(f"\nstore bit flips: {outcomes} in {time.perf_counter() - started:.0f} s")
    assert np.isfinite(original.values).all()


def _record(tmp_path: Path) -> Path:
    """A real signed prediction-only record (by this user's key, so trusted by default)."""
    from brainscore_registry.models.predictions import Predictions
    from brainscore_registry.runs.session import score_benchmarks

    registry = build_benchmark_registry(tmp_path / "records")
    features = xr.DataArray(
        np.random.default_rng(0).standard_normal((40, 20)),
        dims=("presentation", "neuroid"),
        coords={"stimulus_id": ("presentation", [f"syn{i:04d}" for i in range(40)])},
    )
    features.to_netcdf(tmp_path / "predictions.nc")
    [run] = score_benchmarks(registry, ["Syn.IT-ridge"], predictions=Predictions(tmp_path / "predictions.nc"))
    return run.path


def test_bit_flips_in_a_record_never_verify_as_another_record(tmp_path):
    """Property: a record with one flipped bit is refused (schema, strict JSON, signature) or reads as
    exactly the record that was signed; never a verified record that says something else."""
    from brainscore_registry.errors import BsrError
    from brainscore_registry.runs.trust import accept_record, load_policy

    path = _record(tmp_path)
    policy = load_policy()
    original = accept_record(path, policy)
    size = path.stat().st_size
    outcomes = {"refused": 0, "identical": 0}

    @settings(max_examples=2000, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)
    @given(st.integers(0, size - 1), st.integers(0, 7))
    def flip_one(offset: int, bit: int) -> None:
        previous = _flip(path, offset, bit)
        try:
            accepted = accept_record(path, policy)
        except BsrError:
            outcomes["refused"] += 1
        else:
            assert accepted == original, (offset, bit)
            outcomes["identical"] += 1
        finally:
            path.write_bytes(previous)

    flip_one()
    assert sum(outcomes.values()) >= 2000 and outcomes["refused"] > 0.9 * sum(outcomes.values()), outcomes
    print(f"\nrecord bit flips: {outcomes}")


def test_bit_flips_in_a_cache_entry_are_never_used(tmp_path):
    """Property: an activation-cache entry with one flipped bit is discarded (and recomputed by its
    user) or gives exactly the stored values and ids; never other numbers."""
    from brainscore_registry.models.activation_cache import ActivationCache

    cache = ActivationCache(tmp_path / "cache")
    values = np.random.default_rng(1).standard_normal((12, 7)).astype(np.float32)
    ids = [f"s{i}" for i in range(12)]
    cache.put("k" * 64, values, ids)
    path = cache.path("k" * 64)
    good = path.read_bytes()
    outcomes = {"discarded": 0, "identical": 0}

    @settings(max_examples=2000, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)
    @given(st.integers(0, len(good) - 1), st.integers(0, 7))
    def flip_one(offset: int, bit: int) -> None:
        damaged = bytearray(good)
        damaged[offset] ^= 1 << bit
        path.write_bytes(bytes(damaged))
        entry = cache.get("k" * 64)
        if entry is None:
            outcomes["discarded"] += 1
            assert not path.exists()  # deleted, so it is recomputed
        else:
            np.testing.assert_array_equal(entry[0], values, strict=True)
            assert entry[1] == ids
            outcomes["identical"] += 1

    flip_one()
    assert sum(outcomes.values()) >= 2000 and outcomes["discarded"] > 0.5 * sum(outcomes.values()), outcomes
    print(f"\ncache entry bit flips: {outcomes}")
