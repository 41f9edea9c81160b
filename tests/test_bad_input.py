"""Bad input: a clear error naming the file, the field and the fix; exit code 2; no traceback;
nothing written to the registry. Each case goes through the real CLI."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from brainscore_registry.data.assemblies import read_assembly_source


@dataclass
class Ctx:
    experiment: object
    tmp: Path

    def neural(self) -> xr.DataArray:
        return read_assembly_source(self.experiment.neural)

    def save_nc(self, da: xr.DataArray | xr.Dataset, name: str = "bad.nc") -> Path:
        path = self.tmp / name
        da.drop_encoding().to_netcdf(path, engine="h5netcdf")
        return path

    def meta(self, kind: str = "neural", **changes) -> Path:
        source = {
            "neural": self.experiment.neural_meta,
            "behavioral": self.experiment.behavioral_meta,
            "similarity": self.experiment.similarity_meta,
            "stimuli": self.experiment.stimuli_meta,
        }[kind]
        data = yaml.safe_load(source.read_text())
        for key, value in changes.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        path = self.tmp / f"bad_{kind}.yaml"
        path.write_text(yaml.safe_dump(data))
        return path

    def table(self, frame: pd.DataFrame | None = None, text: str | None = None) -> Path:
        path = self.tmp / "bad_table.csv"
        if text is not None:
            path.write_text(text)
        else:
            frame.to_csv(path, index=False)
        return path

    def rows(self) -> pd.DataFrame:
        return pd.read_csv(self.experiment.table)

    def assembly(self, source: Path, meta: Path | None = None) -> list:
        return ["register", "assembly", source, "--meta", meta or self.experiment.neural_meta]

    def stimuli(self, table: Path | None = None, meta: Path | None = None, directory: Path | None = None) -> list:
        return [
            "register",
            "stimuli",
            directory or self.experiment.stimuli_dir,
            "--table",
            table or self.experiment.table,
            "--meta",
            meta or self.experiment.stimuli_meta,
        ]


def _with(da: xr.DataArray, name: str, values) -> xr.DataArray:
    return da.assign_coords({name: (da[name].dims, values)})


def _drop_coord(c):
    return c.assembly(c.save_nc(c.neural().drop_vars("repetition")))


def _wrong_dims(c):
    return c.assembly(c.save_nc(c.neural().rename({"neuroid": "unit"})))


def _extra_dim(c):
    return c.assembly(c.save_nc(c.neural().expand_dims(eye=["left", "right"])))


def _non_numeric(c):
    da = c.neural()
    return c.assembly(c.save_nc(da.copy(data=np.full(da.shape, "x", dtype="U1"))))


def _all_nan_neuroid(c):
    da = c.neural()
    values = da.values.copy()
    values[:, 3, :] = np.nan
    return c.assembly(c.save_nc(da.copy(data=values)))


def _infinite(c):
    da = c.neural()
    values = da.values.copy()
    values[2, 1, 0] = np.inf
    return c.assembly(c.save_nc(da.copy(data=values)))


def _bin_order_meta(c):
    return c.assembly(c.experiment.neural, c.meta(time_bins=[[170, 70]]))


def _bin_order_data(c):
    da = _with(_with(c.neural(), "time_bin_start", [170]), "time_bin_end", [170])
    return c.assembly(c.save_nc(da), c.meta(time_bins=[[170, 171]]))


def _duplicate_presentation(c):
    da = c.neural()
    rep = da["repetition"].values.copy()
    rep[1] = rep[0]
    return c.assembly(c.save_nc(_with(da, "repetition", rep)))


def _duplicate_neuroid(c):
    da = c.neural()
    ids = da["neuroid_id"].values.copy()
    ids[1] = ids[0]
    return c.assembly(c.save_nc(_with(da, "neuroid_id", ids)))


def _unknown_stimuli(c):
    da = c.neural()
    ids = da["stimulus_id"].values.astype(object).copy()
    ids[:6] = ["ghost1"] * 3 + ["ghost2"] * 3
    return c.assembly(c.save_nc(_with(da, "stimulus_id", ids)))


def _unknown_species(c):
    return c.assembly(c.experiment.neural, c.meta(species="macaca_mulata"))


def _unknown_region(c):
    return c.assembly(c.experiment.neural, c.meta(regions=["V44", "IT"]))


def _undeclared_region(c):
    return c.assembly(c.experiment.neural, c.meta(regions=["IT"]))


def _identifier(value):
    return lambda c: c.assembly(c.experiment.neural, c.meta(identifier=value))


def _missing_key(c):
    return c.assembly(c.experiment.neural, c.meta(citation=None))


def _unknown_key(c):
    return c.assembly(c.experiment.neural, c.meta(speceis="homo_sapiens"))


def _bad_license(c):
    return c.assembly(c.experiment.neural, c.meta(license="Apache2"))


def _ceiling_above_one(c):
    return c.assembly(c.experiment.neural, c.meta(ceiling={"value": 1.2, "method": "internal_consistency"}))


def _unreadable_netcdf(c):
    path = c.tmp / "garbage.nc"
    path.write_bytes(b"CDF\x01 this is not really a netcdf file" * 10)
    return c.assembly(path)


def _missing_file(c):
    return c.assembly(c.tmp / "nowhere.nc")


def _two_variables(c):
    da = c.neural()
    return c.assembly(c.save_nc(xr.Dataset({"spikes": da, "rates": da * 10})))


def _empty(c):
    return c.assembly(c.save_nc(c.neural().isel(presentation=slice(0, 0))))


def _pinned_missing_stimulus_set(c):
    return c.assembly(c.experiment.neural, c.meta(stimulus_set="Synthetic2026.images@sha256:" + "0" * 64))


def _unknown_stimulus_set(c):
    return c.assembly(c.experiment.neural, c.meta(stimulus_set="Synthetic2026.imags"))


def _time_bins_on_behavior(c):
    return c.assembly(c.experiment.behavioral, c.meta("behavioral", time_bins=[[0, 100]]))


def _behavior_without_truth(c):
    da = read_assembly_source(c.experiment.behavioral).drop_vars("truth")
    return c.assembly(c.save_nc(da), c.experiment.behavioral_meta)


def _similarity_not_square(c):
    da = read_assembly_source(c.experiment.similarity)
    da = da.assign_coords(stimulus_b=da["stimulus_b"].values[::-1])
    return c.assembly(c.save_nc(da), c.experiment.similarity_meta)


def _float_repetition(c):
    da = c.neural()
    return c.assembly(c.save_nc(_with(da, "repetition", da["repetition"].values + 0.5), name="float_rep.nc"))


def _kind_clash(c):
    return c.assembly(c.experiment.behavioral, c.meta("behavioral", identifier="Synthetic2026.images"))


def _yaml_syntax(c):
    path = c.tmp / "broken.yaml"
    path.write_text("identifier: [unclosed\nkind: neural\n")
    return c.assembly(c.experiment.neural, path)


def _yaml_not_mapping(c):
    path = c.tmp / "list.yaml"
    path.write_text("- identifier\n- kind\n")
    return c.assembly(c.experiment.neural, path)


def _duplicate_stimulus_id(c):
    rows = c.rows()
    rows.loc[1, "stimulus_id"] = rows.loc[0, "stimulus_id"]
    return c.stimuli(c.table(rows))


def _blank_stimulus_id(c):
    rows = c.rows()
    rows.loc[3, "stimulus_id"] = ""
    rows.loc[5, "stimulus_id"] = " syn0005"
    return c.stimuli(c.table(rows))


def _not_an_image(c):
    rows = c.rows()
    (c.experiment.stimuli_dir / "notes.png").write_text("this is text, not a PNG")
    rows.loc[0, "filename"] = "notes.png"
    return c.stimuli(c.table(rows))


def _truncated_image(c):
    rows = c.rows()
    data = (c.experiment.stimuli_dir / rows.loc[0, "filename"]).read_bytes()
    (c.experiment.stimuli_dir / "cut.png").write_bytes(data[: len(data) // 2])
    rows.loc[0, "filename"] = "cut.png"
    return c.stimuli(c.table(rows))


def _truncated_jpeg(c):
    from PIL import Image

    rows = c.rows()
    Image.new("RGB", (64, 64), (200, 10, 10)).save(c.tmp / "full.jpg", format="JPEG", quality=90)
    data = (c.tmp / "full.jpg").read_bytes()
    (c.experiment.stimuli_dir / "cut.jpg").write_bytes(data[: len(data) - 200])
    rows.loc[0, "filename"] = "cut.jpg"
    return c.stimuli(c.table(rows))


def _escape_dotdot(c):
    rows = c.rows()
    rows.loc[0, "filename"] = "../outside.png"
    return c.stimuli(c.table(rows))


def _escape_absolute(c):
    rows = c.rows()
    rows.loc[0, "filename"] = str((c.experiment.stimuli_dir / rows.loc[0, "filename"]).resolve())
    return c.stimuli(c.table(rows))


def _escape_symlink(c):
    rows = c.rows()
    outside = c.tmp / "outside.png"
    outside.write_bytes((c.experiment.stimuli_dir / rows.loc[0, "filename"]).read_bytes())
    os.symlink(outside, c.experiment.stimuli_dir / "link.png")
    rows.loc[0, "filename"] = "link.png"
    return c.stimuli(c.table(rows))


def _no_filename_column(c):
    return c.stimuli(c.table(c.rows().rename(columns={"filename": "file_name"})))


def _no_id_column(c):
    return c.stimuli(c.table(c.rows().drop(columns=["stimulus_id"])))


def _missing_image(c):
    rows = c.rows()
    rows.loc[2, "filename"] = "disk/9999.png"
    return c.stimuli(c.table(rows))


def _empty_table(c):
    return c.stimuli(c.table(text="stimulus_id,filename,object_name\n"))


def _computed_column(c):
    rows = c.rows()
    rows["width"] = 32
    return c.stimuli(c.table(rows))


def _missing_directory(c):
    return c.stimuli(directory=c.tmp / "no_such_dir")


def _bad_visual_degrees(c):
    return c.stimuli(meta=c.meta("stimuli", visual_degrees=-4))


def _bad_provenance_hash(c):
    return c.stimuli(meta=c.meta("stimuli", provenance={"source": "x", "revision": "1", "sha256": {"a.npy": "xyz"}}))


CASES = {
    # case: (build args, message pattern, file the message must name)
    "required coord missing": (_drop_coord, r"required coordinate 'repetition'", "bad.nc"),
    "wrong dims": (_wrong_dims, r"dims presentation × neuroid × time_bin.*unexpected \['unit'\]", "bad.nc"),
    "extra dim": (_extra_dim, r"unexpected \['eye'\]", "bad.nc"),
    "non-numeric data": (_non_numeric, r"neural responses must be numbers", "bad.nc"),
    "all-NaN neuroid": (_all_nan_neuroid, r"1 neuroid\(s\) have no value at all \(all NaN\): 'n003'", "bad.nc"),
    "infinite value": (_infinite, r"1 responses are infinite", "bad.nc"),
    "time bin order (metadata)": (_bin_order_meta, r"time_bins.*\[170, 70\] does not end after it starts", "bad_neural.yaml"),
    "time bin order (data)": (_bin_order_data, r"time bin 0 ends at 170 ms, not after its start 170 ms", "bad.nc"),
    "duplicate presentation": (_duplicate_presentation, r"1 presentations repeat a \(stimulus_id, repetition\) pair", "bad.nc"),
    "duplicate neuroid": (_duplicate_neuroid, r"neuroid_id is not unique: 'n000'", "bad.nc"),
    "stimuli not in set": (
        _unknown_stimuli,
        r"2 of 16 stimulus ids are not in stimulus set Synthetic2026.images@sha256:[0-9a-f]{64}: 'ghost1', 'ghost2'",
        "bad.nc",
    ),
    "unknown species": (_unknown_species, r"unknown species 'macaca_mulata'. Did you mean 'macaca_mulatta'", "bad_neural.yaml"),
    "unknown region": (_unknown_region, r"unknown region 'V44'. Did you mean 'V4'", "bad_neural.yaml"),
    "undeclared region": (
        _undeclared_region,
        r"region\(s\) \['V4'\] that the metadata's regions \['IT'\] do not list",
        "neural.nc",
    ),
    "identifier with /": (_identifier("Lab/V4"), r"identifier 'Lab/V4' contains a path separator", "bad_neural.yaml"),
    "identifier with ..": (_identifier("Lab..V4"), r"identifier 'Lab..V4' contains '..'", "bad_neural.yaml"),
    "identifier with space": (_identifier("Lab V4"), r"identifier 'Lab V4' contains whitespace", "bad_neural.yaml"),
    "identifier too long": (_identifier("A" * 81), r"is 81 characters long \(at most 80\)", "bad_neural.yaml"),
    "metadata key missing": (_missing_key, r"missing required key 'citation'", "bad_neural.yaml"),
    "metadata key unknown": (_unknown_key, r"unknown key 'speceis'. Did you mean 'species'", "bad_neural.yaml"),
    "license not SPDX": (_bad_license, r"'Apache2' is not an SPDX license.*Did you mean 'Apache-2.0'", "bad_neural.yaml"),
    "ceiling above 1": (_ceiling_above_one, r"'ceiling.value': Input should be less than or equal to 1", "bad_neural.yaml"),
    "unreadable NetCDF": (_unreadable_netcdf, r"cannot read this NetCDF file", "garbage.nc"),
    "assembly file missing": (_missing_file, r"file not found", "nowhere.nc"),
    "several data variables": (_two_variables, r"holds 2 data variables.*--variable", "bad.nc"),
    "empty assembly": (_empty, r"the assembly is empty \(dimension 'presentation' has size 0\)", "bad.nc"),
    "pinned stimulus set missing": (
        _pinned_missing_stimulus_set,
        r"Synthetic2026.images@sha256:0{64} matches no version of Synthetic2026.images",
        "neural.yaml",
    ),
    "unknown stimulus set": (
        _unknown_stimulus_set,
        r"no dataset 'Synthetic2026.imags'.*Did you mean 'Synthetic2026.images'",
        "bad_neural.yaml",
    ),
    "time_bins on behavior": (_time_bins_on_behavior, r"time_bins applies to neural assemblies only", "bad_behavioral.yaml"),
    "behavior without truth": (_behavior_without_truth, r"needs the correct answer per trial", "bad.nc"),
    "similarity not square": (_similarity_not_square, r"stimulus_a and stimulus_b do not list the same stimuli", "bad.nc"),
    "repetition not integer": (_float_repetition, r"coordinate 'repetition' must be integers, got float64", "float_rep.nc"),
    "identifier of another kind": (
        _kind_clash,
        r"'Synthetic2026.images' is already registered as a stimuli dataset",
        "identifier",
    ),
    "YAML syntax": (_yaml_syntax, r"not valid YAML", "broken.yaml"),
    "YAML not a mapping": (_yaml_not_mapping, r"metadata must be a mapping", "list.yaml"),
    "duplicate stimulus_id": (_duplicate_stimulus_id, r"1 stimulus ids appear more than once: 'syn0000'", "bad_table.csv"),
    "blank stimulus_id": (
        _blank_stimulus_id,
        r"2 stimulus ids are empty or have surrounding spaces, in table rows '5', '7'",
        "bad_table.csv",
    ),
    "not an image": (_not_an_image, r"not an image \(unknown format\)", "notes.png"),
    "truncated PNG": (_truncated_image, r"image is unreadable or truncated", "cut.png"),
    "truncated JPEG": (_truncated_jpeg, r"image is unreadable or truncated", "cut.jpg"),
    "filename with ..": (_escape_dotdot, r"climbs out of the stimulus directory", "bad_table.csv row 2"),
    "absolute filename": (_escape_absolute, r"is an absolute path", "bad_table.csv row 2"),
    "symlink out": (_escape_symlink, r"is a link that leads outside the stimulus directory", "bad_table.csv row 2"),
    "table without filename": (_no_filename_column, r"no 'filename' column. Did you mean 'file_name'", "bad_table.csv"),
    "table without stimulus_id": (_no_id_column, r"no 'stimulus_id' column", "bad_table.csv"),
    "image file missing": (_missing_image, r"file 'disk/9999.png' does not exist", "bad_table.csv row 4"),
    "table without rows": (_empty_table, r"the table has no rows", "bad_table.csv"),
    "computed column given": (_computed_column, r"column 'width' is computed from the image files", "bad_table.csv"),
    "stimulus directory missing": (_missing_directory, r"stimulus directory not found", "no_such_dir"),
    "visual degrees negative": (_bad_visual_degrees, r"'visual_degrees': Input should be greater than 0", "bad_stimuli.yaml"),
    "provenance hash not hex": (_bad_provenance_hash, r"sha256 of 'a.npy' must be 64 lowercase hex digits", "bad_stimuli.yaml"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_cleanly(case, cli, registry, stimuli, experiment, tmp_path, snapshot):
    build, pattern, file_hint = CASES[case]
    work = tmp_path / "case"
    work.mkdir()
    args = build(Ctx(experiment, work))
    before = snapshot(registry.root)
    result = cli("--registry", registry.root, *args)
    output = " ".join(result.stderr.split())
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert "Error: " in output, output
    message = output[output.index("Error: ") :]  # progress bars may come first
    assert re.search(pattern, message), message
    assert file_hint in message, message
    assert "Fix: " in message, message
    assert "Traceback" not in result.output + result.stderr
    assert snapshot(registry.root) == before, "a failed registration changed the registry"
    assert not list((registry.root / ".bsr-tmp").glob("stage-*"))


def test_at_least_25_cases():
    assert len(CASES) >= 25


def test_missing_labels_in_a_string_coordinate(registry, stimuli, experiment, snapshot):
    """None inside string labels has no single meaning (missing? the string 'None'?): refused."""
    from brainscore_registry import UserInputError, register_assembly

    da = read_assembly_source(experiment.neural)
    labels = da["object_name"].values.astype(object).copy()
    labels[4] = None
    before = snapshot(registry.root)
    with pytest.raises(UserInputError, match=r"coordinate 'object_name' mixes strings with float values such as nan \(1 of 48\)"):
        register_assembly(_with(da, "object_name", labels), experiment.neural_meta, registry=registry)
    assert snapshot(registry.root) == before


def test_library_raises_user_input_error(registry, stimuli, experiment, tmp_path):
    from brainscore_registry import UserInputError, register_assembly

    with pytest.raises(UserInputError, match=r"unknown species 'macaca_mulata'") as info:
        register_assembly(experiment.neural, Ctx(experiment, tmp_path).meta(species="macaca_mulata"), registry=registry)
    assert info.value.exit_code == 2 and info.value.fix
