"""The fast I/O paths give exactly what the plain ones give: shard files written directly are byte
for byte zarr-python's, the store reads back to the same logical hash, the NaN short-cut hashes as
before, and damage to directly written files is still refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import brainscore_registry.data.zarr_io as zarr_io
from brainscore_registry.data.hashing import logical_hash
from brainscore_registry.data.verification import store_digest, verify_store
from brainscore_registry.errors import IntegrityError

RNG = np.random.default_rng(7)

ARRAYS = {
    "float32_odd": RNG.standard_normal((397, 13, 5)).astype(np.float32),
    "float64": RNG.standard_normal((301, 97)),
    "int64_zero_runs": np.where(RNG.random((260, 30, 7)) < 0.5, 0, RNG.integers(-5, 5, (260, 30, 7))),
    "uint8": RNG.integers(0, 255, (50_001, 3)).astype(np.uint8),
    "zero_chunks": np.concatenate([np.zeros((300, 100), np.float32), RNG.standard_normal((50, 100)).astype(np.float32)]),
    "negative_zero": np.full((200, 100), -0.0, np.float32),
    "nan": np.where(RNG.random((80, 200)) < 0.1, np.nan, RNG.standard_normal((80, 200))),
    "bool": RNG.random((500, 200)) < 0.3,
    "wide": RNG.standard_normal((3, 20_001)).astype(np.float32),
    "one_dim": RNG.standard_normal(30_001),
    "tiny": RNG.integers(0, 9, (2, 3)).astype(np.int16),
}


@pytest.fixture
def small_layout(monkeypatch):
    """Small chunks and shards, so the test arrays span many of both (and partial edge ones), and every
    numeric data variable goes through the shard writer."""
    monkeypatch.setattr(zarr_io, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(zarr_io, "SHARD_BYTES", 40_000)
    monkeypatch.setattr(zarr_io, "PARALLEL_BYTES", 1)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _dataset(values: np.ndarray) -> xr.Dataset:
    dims = tuple(f"d{i}" for i in range(values.ndim))
    ds = xr.Dataset({"x": (dims, values, {"unit": "spikes"})}, attrs={"who": "test"})
    return ds.assign_coords(d0=(dims[0], np.array([f"id{i}" for i in range(values.shape[0])], dtype=object)))


@pytest.mark.parametrize("case", sorted(ARRAYS))
def test_direct_shards_are_zarrs_bytes(case, small_layout, tmp_path, monkeypatch):
    ds = _dataset(ARRAYS[case])
    used = []
    direct = zarr_io._direct_layout

    def spy(*args):
        found = direct(*args)
        used.append(found is not None)
        return found

    monkeypatch.setattr(zarr_io, "_direct_layout", lambda *args: None)
    zarr_io.write_store(ds, tmp_path / "zarr.zarr")
    monkeypatch.setattr(zarr_io, "_direct_layout", spy)
    zarr_io.write_store(ds, tmp_path / "direct.zarr")
    assert used == [True]
    ours, theirs = _files(tmp_path / "direct.zarr"), _files(tmp_path / "zarr.zarr")
    assert sorted(ours) == sorted(theirs)
    assert ours == theirs
    if ARRAYS[case].size > 1000:  # several shards; all-zero ones are no file at all
        assert sum(k.startswith("x/c/") for k in ours) > (0 if case == "zero_chunks" else 1)
    back = zarr_io.read_store(tmp_path / "direct.zarr")
    assert back["x"].dtype == ds["x"].dtype
    assert np.array_equal(back["x"].values.view(np.uint8), np.ascontiguousarray(ds["x"].values).view(np.uint8))
    assert store_digest(tmp_path / "direct.zarr") == logical_hash(ds)


def test_hash_of_mixed_variables_survives_the_store(small_layout, tmp_path):
    n = 311
    ds = xr.Dataset(
        {
            "f4": (("p", "n"), RNG.standard_normal((n, 17)).astype(np.float32)),
            "f8": (("p",), RNG.standard_normal(n)),
            "i4": (("p", "t"), RNG.integers(-100, 100, (n, 3)).astype(np.int32)),
            "s": (("p",), np.array([f"ü{i}" * (i % 4) for i in range(n)], dtype=object)),
        },
        coords={"stimulus_id": ("p", [f"s{i}" for i in range(n)]), "t": [0, 10, 20]},
        attrs={"nested": {"a": [1, 2]}},
    )
    zarr_io.write_store(ds, tmp_path / "s.zarr")
    assert store_digest(tmp_path / "s.zarr") == logical_hash(ds)


def test_nan_shortcut_hashes_as_before():
    values = RNG.standard_normal((64, 33))
    other_nan = np.float64(np.frombuffer(np.uint64(0x7FF8000000000001).tobytes(), np.float64)[0])
    a, b = values.copy(), values.copy()
    a[3, 4], b[3, 4] = np.nan, other_nan
    assert logical_hash(xr.Dataset({"x": (("p", "n"), a)})) == logical_hash(xr.Dataset({"x": (("p", "n"), b)}))
    c = values.copy()
    c[0, 0], c[0, 1] = np.inf, -np.inf  # no NaN, but infinities: hashed as they are
    assert logical_hash(xr.Dataset({"x": (("p", "n"), c)})) != logical_hash(xr.Dataset({"x": (("p", "n"), values)}))
    zeros, negative = np.zeros((4, 4)), np.zeros((4, 4))
    negative[1, 1] = -0.0
    assert logical_hash(xr.Dataset({"x": (("p", "n"), zeros)})) != logical_hash(xr.Dataset({"x": (("p", "n"), negative)}))
    assert logical_hash(xr.Dataset({"x": (("p",), np.zeros(0))}))  # empty: no max() of nothing


@pytest.mark.parametrize("where", ["chunk", "index"])
def test_flipped_bit_in_a_directly_written_shard_is_refused(where, small_layout, tmp_path):
    ds = _dataset(ARRAYS["float32_odd"])
    zarr_io.write_store(ds, tmp_path / "s.zarr")
    digest = logical_hash(ds)
    verify_store(tmp_path / "s.zarr", digest)
    shard = max((tmp_path / "s.zarr" / "x" / "c").rglob("*"), key=lambda p: p.stat().st_size if p.is_file() else -1)
    data = bytearray(shard.read_bytes())
    data[len(data) // 3 if where == "chunk" else len(data) - 10] ^= 0x04
    shard.write_bytes(bytes(data))
    with pytest.raises(IntegrityError):
        verify_store(tmp_path / "s.zarr", digest)


def test_direct_writer_refuses_to_overwrite(small_layout, tmp_path):
    ds = _dataset(ARRAYS["float64"])
    zarr_io.write_store(ds, tmp_path / "s.zarr")
    with pytest.raises(Exception):  # `write_store` creates a new store only (mode "w-")
        zarr_io.write_store(ds, tmp_path / "s.zarr")


def _zstd_levels(node) -> list[int]:
    """Every zstd level named in a zarr.json tree."""
    if isinstance(node, dict):
        own = [node["configuration"]["level"]] if node.get("name") == "zstd" else []
        return own + [level for value in node.values() for level in _zstd_levels(value)]
    if isinstance(node, list):
        return [level for value in node for level in _zstd_levels(value)]
    return []


def test_zstd_level_follows_what_level_3_would_gain(small_layout, tmp_path):
    import json

    noisy = RNG.standard_normal((400, 100)).astype(np.float32)  # level 3 saves ~7%: not worth its time
    counts = RNG.poisson(2.0, (400, 100)).astype(np.float32)  # level 3 saves ~80%
    for name, values, level in (("noisy", noisy, zarr_io.FAST_ZSTD_LEVEL), ("counts", counts, zarr_io.ZSTD_LEVEL)):
        ds = _dataset(values)
        for copy in ("a", "b"):
            zarr_io.write_store(ds, tmp_path / f"{name}-{copy}.zarr")
        store = tmp_path / f"{name}-a.zarr"
        assert _zstd_levels(json.loads((store / "x" / "zarr.json").read_text())) == [level]
        assert _zstd_levels(json.loads((store / "d0" / "zarr.json").read_text())) == [zarr_io.ZSTD_LEVEL]  # small: as before
        assert _files(store) == _files(tmp_path / f"{name}-b.zarr")  # the choice depends on the values only
        assert store_digest(store) == logical_hash(ds)
