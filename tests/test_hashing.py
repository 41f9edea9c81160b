"""The logical hash: invariant to storage layout, sensitive to every value, label and attribute."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from zarr.codecs import ZstdCodec

from brainscore_registry.data.hashing import canonical_json, logical_hash
from brainscore_registry.data.zarr_io import normalize_strings, open_store, write_store


def _dataset() -> xr.Dataset:
    rng = np.random.default_rng(1)
    values = rng.normal(size=(60, 7, 3)).astype(np.float32)
    values[3, 2, 1] = np.nan
    return xr.Dataset(
        {"responses": (("presentation", "neuroid", "time_bin"), values)},
        coords={
            "stimulus_id": ("presentation", np.array([f"s{i // 3}" for i in range(60)])),
            "repetition": ("presentation", np.arange(60) % 3),
            "label": ("presentation", np.array(["ünïcode", "", "a b"] * 20)),
            "neuroid_id": ("neuroid", [f"n{j}" for j in range(7)]),
            "region": ("neuroid", ["IT"] * 7),
            "time_bin_start": ("time_bin", [0, 50, 100]),
            "time_bin_end": ("time_bin", [50, 100, 150]),
        },
        attrs={"bsr": {"kind": "neural", "nested": {"a": [1, 2]}}, "note": "x"},
    )


def _reopen(path) -> xr.Dataset:
    return normalize_strings(open_store(path).load())


def test_hash_format():
    digest = logical_hash(_dataset())
    assert digest.startswith("sha256:") and len(digest) == len("sha256:") + 64


@pytest.mark.parametrize(
    "layout",
    [
        "bsr_default",
        "v3_small_chunks",
        "v3_sharded_other",
        "v2_consolidated",
        "v3_fixed_width_strings",
    ],
)
def test_hash_ignores_storage_layout(tmp_path, layout):
    ds = _dataset()
    expected = logical_hash(ds)
    path = tmp_path / f"{layout}.zarr"
    strings = ("stimulus_id", "label", "neuroid_id", "region")
    if layout != "v3_fixed_width_strings":
        ds = ds.assign_coords({n: ds[n].astype(object) for n in strings})  # variable-length strings
    if layout == "bsr_default":
        write_store(ds, path)
    elif layout == "v3_small_chunks":
        ds.to_zarr(path, zarr_format=3, consolidated=False, encoding={"responses": {"chunks": (7, 2, 1)}})
    elif layout == "v3_sharded_other":
        ds.to_zarr(
            path,
            zarr_format=3,
            consolidated=False,
            encoding={
                "responses": {"chunks": (5, 7, 3), "shards": (20, 7, 3), "compressors": [ZstdCodec(level=9, checksum=True)]}
            },
        )
    elif layout == "v2_consolidated":
        ds.to_zarr(path, zarr_format=2, consolidated=True)
    else:
        from zarr.errors import UnstableSpecificationWarning

        with pytest.warns(UnstableSpecificationWarning):
            ds.to_zarr(path, zarr_format=3, consolidated=False)  # <U strings: fixed-width UTF-32
    back = open_store(path).load()
    assert logical_hash(back) == expected
    assert logical_hash(normalize_strings(back)) == expected


@pytest.mark.parametrize("as_dtype", [object, "U", "T"])
def test_hash_ignores_string_dtype(as_dtype):
    ds = _dataset()
    converted = ds.assign_coords(label=ds["label"].astype(np.dtypes.StringDType() if as_dtype == "T" else as_dtype))
    assert logical_hash(converted) == logical_hash(ds)


def test_hash_ignores_variable_insertion_order():
    ds = _dataset()
    reordered = xr.Dataset(ds.data_vars, coords={k: ds.coords[k] for k in reversed(list(ds.coords))}, attrs=ds.attrs)
    assert logical_hash(reordered) == logical_hash(ds)


def test_hash_ignores_nan_payload():
    ds = _dataset()
    other = ds.copy(deep=True)
    payload = np.array([0x7FC00001], dtype=np.uint32).view(np.float32)[0]  # a NaN with another payload
    other["responses"].values[3, 2, 1] = payload
    assert np.isnan(other["responses"].values[3, 2, 1])
    assert logical_hash(other) == logical_hash(ds)


def test_hash_ignores_slab_size():
    ds = _dataset()
    assert logical_hash(ds, slab_bytes=64) == logical_hash(ds)


@pytest.mark.parametrize(
    "change", ["value", "negative_zero", "coord_label", "coord_number", "attr", "nested_attr", "var_attr", "dtype", "dim_name"]
)
def test_hash_changes_with_content(change):
    ds = _dataset()
    other = ds.copy(deep=True)
    if change == "value":
        other["responses"].values[0, 0, 0] += np.float32(1e-3)
    elif change == "negative_zero":
        ds["responses"].values[0, 0, 0] = 0.0
        other["responses"].values[0, 0, 0] = -0.0
    elif change == "coord_label":
        labels = other["label"].values.copy()
        labels[5] = "changed"
        other = other.assign_coords(label=("presentation", labels))
    elif change == "coord_number":
        other = other.assign_coords(time_bin_end=("time_bin", [50, 100, 151]))
    elif change == "attr":
        other.attrs["note"] = "y"
    elif change == "nested_attr":
        other.attrs["bsr"] = {"kind": "neural", "nested": {"a": [1, 3]}}
    elif change == "var_attr":
        other["responses"].attrs["units"] = "spikes/s"
    elif change == "dtype":
        other["responses"] = other["responses"].astype(np.float64)
    else:
        other = other.rename({"time_bin": "timebin"})
    assert logical_hash(other) != logical_hash(ds)


def test_hash_distinguishes_string_boundaries():
    a = xr.Dataset(coords={"x": ("i", ["ab", "c"])})
    b = xr.Dataset(coords={"x": ("i", ["a", "bc"])})
    assert logical_hash(a) != logical_hash(b)


def test_canonical_json_is_rfc8785():
    assert canonical_json({"b": 1.0, "a": [np.int64(2), np.float32(0.5)], "c": "é"}) == '{"a":[2,0.5],"b":1,"c":"é"}'.encode()
    with pytest.raises(ValueError, match="JSON cannot represent"):
        canonical_json({"x": float("nan")})
