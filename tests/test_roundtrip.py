"""Every kind written and read back identical: values, coordinates, attributes and dtypes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from brainscore_registry import load_assembly, load_stimulus_set, logical_hash, register_assembly
from brainscore_registry.data.assemblies import read_assembly_source
from brainscore_registry.data.hashing import file_sha256
from brainscore_registry.data.schemas import AssemblyMeta

STRING_KINDS = "OUT"


def _expected_dtype(dtype: np.dtype) -> np.dtype:
    return np.dtype(object) if dtype.kind in STRING_KINDS else dtype


def assert_same_assembly(original: xr.DataArray, loaded: xr.DataArray) -> None:
    """Explicit checks: xarray's identical() ignores dtypes."""
    original = original.reset_index([n for n, i in original.indexes.items() if isinstance(i, pd.MultiIndex)])
    original = original.transpose(*loaded.dims)
    assert loaded.dtype == _expected_dtype(original.dtype)
    np.testing.assert_array_equal(loaded.values, original.values)
    assert set(loaded.coords) == set(original.coords)
    for name, coord in original.coords.items():
        got = loaded[name]
        assert got.dims == coord.dims, name
        assert got.dtype == _expected_dtype(coord.dtype), (name, got.dtype, coord.dtype)
        np.testing.assert_array_equal(got.values, coord.values.astype(got.dtype), err_msg=name)


def _register(kind, experiment, registry):
    source = {"neural": experiment.neural, "behavioral": experiment.behavioral, "similarity": experiment.similarity}[kind]
    meta = {"neural": experiment.neural_meta, "behavioral": experiment.behavioral_meta, "similarity": experiment.similarity_meta}[
        kind
    ]
    return source, meta, register_assembly(source, meta, registry=registry)


@pytest.mark.parametrize("kind", ["neural", "behavioral", "similarity"])
def test_assembly_round_trip(kind, experiment, registry, stimuli):
    source, meta, result = _register(kind, experiment, registry)
    original = read_assembly_source(source)
    loaded = load_assembly(str(result.version), registry=registry, verify=True)
    assert loaded.name == {"neural": "responses", "behavioral": "choice", "similarity": "similarity"}[kind]
    assert_same_assembly(original, loaded)
    assert loaded.attrs["bsr"]["kind"] == kind and loaded.attrs["bsr"]["format"] == "bsr-assembly-v1"
    declared = AssemblyMeta.model_validate(yaml.safe_load(meta.read_text())).model_dump(mode="json", exclude_none=True)
    assert loaded.attrs["bsr"]["metadata"] == declared | {"stimulus_set": str(stimuli.version)}
    assert set(loaded.attrs) == {"bsr"}
    # the stored content still hashes to the version it was registered as
    from brainscore_registry import load_dataset

    assert logical_hash(load_dataset(str(result.version), registry=registry)) == result.version.digest


def test_neural_numeric_dtypes_and_nan_survive(registry, stimuli, experiment):
    da = read_assembly_source(experiment.neural)
    for dtype in (np.int16, np.float64):
        values = da.values.astype(dtype)
        if dtype == np.float64:
            values[0, 0, 0] = np.nan
            values[1, 0, 0] = -0.0
        variant = da.copy(data=values)
        variant.attrs = {"lab": "synthetic", "channels": [1, 2, 3], "gain": 0.5}
        variant["time_bin_start"].attrs = {"units": "ms"}
        result = register_assembly(variant, experiment.neural_meta, registry=registry)
        loaded = load_assembly(str(result.version), registry=registry)
        assert loaded.dtype == dtype
        np.testing.assert_array_equal(loaded.values, values)
        if dtype == np.float64:
            assert np.signbit(loaded.values[1, 0, 0])
        assert loaded.attrs["lab"] == "synthetic" and loaded.attrs["channels"] == [1, 2, 3] and loaded.attrs["gain"] == 0.5
        assert loaded["time_bin_start"].attrs == {"units": "ms"}


def test_brainio_multiindex_in_memory_equals_netcdf(registry, stimuli, experiment):
    """A DataArray with MultiIndex dims (as Brain-Score hands them out) registers as the same version as its file."""
    flat = read_assembly_source(experiment.neural)
    multi = flat.set_index(presentation=["stimulus_id", "repetition", "object_name"], neuroid=["neuroid_id", "region", "animal"])
    a = register_assembly(experiment.neural, experiment.neural_meta, registry=registry)
    b = register_assembly(multi, experiment.neural_meta, registry=registry)
    assert a.version == b.version and not b.created


def test_netcdf3_and_zarr_sources(tmp_path, registry, stimuli, experiment):
    da = read_assembly_source(experiment.neural)
    netcdf3 = tmp_path / "v3.nc"
    da.to_netcdf(netcdf3, engine="scipy")  # classic NetCDF3, as old brainio files
    zarr_v2 = tmp_path / "v2.zarr"
    da.to_dataset(name="spikes").to_zarr(zarr_v2, zarr_format=2)
    versions = {
        register_assembly(src, experiment.neural_meta, registry=registry).version for src in (experiment.neural, netcdf3, zarr_v2)
    }
    assert len(versions) == 1


def test_legacy_image_id_coordinate(registry, stimuli, experiment):
    da = read_assembly_source(experiment.neural).rename({"stimulus_id": "image_id"})
    result = register_assembly(da, experiment.neural_meta, registry=registry)
    assert "stimulus_id" in load_assembly(str(result.version), registry=registry).coords


def test_stimulus_set_round_trip(tmp_path, registry, stimuli, experiment):
    stimulus_set = load_stimulus_set(str(stimuli.version), registry=registry, verify=True)
    table = pd.read_csv(experiment.table)
    assert stimulus_set.stimulus_ids == list(table["stimulus_id"])
    loaded = stimulus_set.table
    assert list(loaded.columns) == ["stimulus_id", "filename", "media_type", "width", "height", "sha256", "object_name"]
    assert loaded["width"].dtype == np.int64 and loaded["stimulus_id"].dtype == object
    assert set(loaded["media_type"]) == {"image/png"} and set(loaded["width"]) == {32}
    for row in table.itertuples():
        original = (experiment.stimuli_dir / row.filename).read_bytes()
        assert stimulus_set.image_bytes(row.stimulus_id) == original
    exported_table = stimulus_set.export(tmp_path / "exported")
    for row in table.itertuples():
        assert file_sha256(tmp_path / "exported" / row.filename) == file_sha256(experiment.stimuli_dir / row.filename)
    pd.testing.assert_frame_equal(pd.read_csv(exported_table), table)
    assert stimulus_set.metadata["visual_degrees"] == 8.0


def test_stimulus_table_types(tmp_path, registry, experiment):
    """Numeric columns become numbers only when every cell parses; a blank keeps a column text."""
    from brainscore_registry import register_stimulus_set

    table = pd.read_csv(experiment.table)
    table["size_deg"] = np.linspace(1, 2, len(table))
    table["block"] = np.arange(len(table)) % 2
    table["note"] = ["" if i % 2 else "ok" for i in range(len(table))]
    path = tmp_path / "typed.csv"
    table.to_csv(path, index=False)
    result = register_stimulus_set(experiment.stimuli_dir, path, experiment.stimuli_meta, registry=registry)
    loaded = load_stimulus_set(str(result.version), registry=registry).table
    assert loaded["size_deg"].dtype == np.float64 and loaded["block"].dtype == np.int64 and loaded["note"].dtype == object
    assert list(loaded["note"][:2]) == ["ok", ""]
