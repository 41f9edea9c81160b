"""`bsr import nwb` on sessions written by the real pynwb: counts against an independent slow loop,
repetitions, unit metadata and provenance, images from the file, units filters, the same version as
an equivalent NetCDF, and every bad input refused with nothing registered."""

from __future__ import annotations

import hashlib
import io
import json

import numpy as np
import pytest
import xarray as xr
import yaml
from PIL import Image

from brainscore_registry.store.loading import load_assembly, load_stimulus_set

from .nwb_files import META, images_of, write_meta, write_session

BINS = [(70, 170), (100, 200)]  # overlapping


def slow_counts(session, bins, units=None) -> np.ndarray:
    """Presentation (time order) × unit × bin counts, one spike at a time."""
    order = np.argsort(session.onsets, kind="stable")
    units = range(len(session.unit_ids)) if units is None else units
    counts = np.zeros((len(order), len(units), len(bins)), dtype=np.float32)
    for p, i in enumerate(order):
        for c, u in enumerate(units):
            for b, (start, end) in enumerate(bins):
                lower, upper = session.onsets[i] + start / 1000.0, session.onsets[i] + end / 1000.0
                counts[p, c, b] = sum(1 for t in session.spike_times[u] if lower <= t < upper)
    return counts


def _import(cli, registry, tmp_path, *extra, session=None, meta=None):
    session_path = session or tmp_path / "session.nwb"
    meta_path = meta or write_meta(tmp_path / "session.yaml")
    return cli("--registry", registry.root, "import", "nwb", session_path, "--meta", meta_path, *extra, "--json")


def test_counts_equal_a_slow_loop_with_unit_metadata_and_provenance(cli, registry, tmp_path):
    session = write_session(tmp_path / "session.nwb")
    result = _import(cli, registry, tmp_path, "--time-bins", "70:170,100:200")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["units"] == 5 and summary["presentations"] == 18
    assert summary["spikes"] == sum(len(s) for s in session.spike_times)
    assembly = load_assembly(summary["assembly"]["version"], registry=registry)
    np.testing.assert_array_equal(assembly.values, slow_counts(session, BINS))
    assert assembly.values[:, 1, :].sum() == 0  # the silent unit is kept, with zero counts
    order = np.argsort(session.onsets)
    assert list(assembly["stimulus_id"].values) == [session.stimulus_ids[i] for i in order]
    seen: dict[str, int] = {}
    for stimulus, repetition in zip(assembly["stimulus_id"].values, assembly["repetition"].values):
        assert repetition == seen.get(stimulus, 0)  # numbered in presentation order, per stimulus
        seen[stimulus] = repetition + 1
    assert set(seen.values()) == {3}
    assert list(assembly["neuroid_id"].values) == [str(u) for u in session.unit_ids]
    assert list(assembly["quality"].values) == session.quality
    assert set(assembly["location"].values) == {"V4"} and set(assembly["electrode_group"].values) == {"shank0"}
    assert list(assembly["time_bin_start"].values) == [70, 100] and list(assembly["time_bin_end"].values) == [170, 200]
    nwb = assembly.attrs
    assert nwb["nwb_identifier"] == "test-session-0" and nwb["nwb_session_id"] == "session-210325"
    assert nwb["nwb_subject_id"] == "monkey-1" and nwb["nwb_species"] == "Macaca mulatta"
    assert nwb["nwb_file_sha256"] == hashlib.sha256(session.path.read_bytes()).hexdigest()
    metadata = assembly.attrs["bsr"]["metadata"]
    assert metadata["species"] == "macaca_mulatta"  # from the NWB Subject: the metadata file leaves it out
    assert metadata["time_bins"] == [[70, 170], [100, 200]] and metadata["modality"] == "spikes"
    # the last presentation ends where the recording does, and its windows are counted
    assert session.onsets.max() + 0.2 <= session.stops.max()


def test_the_file_s_own_images_become_the_stimulus_set(cli, registry, tmp_path):
    session = write_session(tmp_path / "session.nwb")
    summary = json.loads(_import(cli, registry, tmp_path, "--time-bins", "70:170").stdout)
    stimuli = load_stimulus_set(summary["stimulus_set"]["version"], registry=registry)
    assert sorted(stimuli.stimulus_ids) == sorted(session.images)
    for stimulus_id, pixels in session.images.items():
        decoded = np.asarray(Image.open(io.BytesIO(stimuli.image_bytes(stimulus_id))).convert("RGB"))
        np.testing.assert_array_equal(decoded, pixels)
    assembly = load_assembly(summary["assembly"]["version"], registry=registry)
    assert assembly.attrs["bsr"]["metadata"]["stimulus_set"] == summary["stimulus_set"]["version"]


def test_a_units_filter_keeps_the_units_that_pass(cli, registry, tmp_path):
    session = write_session(tmp_path / "session.nwb")
    result = _import(cli, registry, tmp_path, "--time-bins", "70:170", "--units-filter", "quality == good")
    summary = json.loads(result.stdout)
    assembly = load_assembly(summary["assembly"]["version"], registry=registry)
    assert list(assembly["neuroid_id"].values) == ["100", "102", "104"]
    np.testing.assert_array_equal(assembly.values, slow_counts(session, [(70, 170)], units=[0, 2, 4]))


def _write_images(directory, images) -> None:
    directory.mkdir()
    rows = ["stimulus_id,filename"]
    for name, pixels in images.items():
        Image.fromarray(pixels).save(directory / f"{name}.png")
        rows.append(f"{name},{name}.png")
    (directory / "stimuli.csv").write_text("\n".join(rows) + "\n")


def test_nwb_and_an_equivalent_netcdf_register_the_same_version(cli, tmp_path):
    from brainscore_registry.store.registry import Registry

    session = write_session(tmp_path / "session.nwb", with_images=False)
    _write_images(tmp_path / "images", images_of(6))
    from_nwb = Registry.init(tmp_path / "a")
    result = _import(cli, from_nwb, tmp_path, "--time-bins", "70:170,100:200", "--stimuli", tmp_path / "images")
    assert result.exit_code == 0, result.output
    nwb_versions = json.loads(result.stdout)
    # the same data, as an experimentalist would hand them over: a NetCDF, its metadata, the images
    from_netcdf = Registry.init(tmp_path / "b")
    meta = yaml.safe_load(META)
    stimuli_meta = {**meta.pop("stimulus_set"), **{k: meta[k] for k in ("citation", "license", "provenance")}}
    (tmp_path / "stimuli.yaml").write_text(yaml.safe_dump(stimuli_meta))
    registered = cli("--registry", from_netcdf.root, "register", "stimuli", tmp_path / "images", "--table",
                     tmp_path / "images" / "stimuli.csv", "--meta", tmp_path / "stimuli.yaml", "--json")  # fmt: skip
    stimuli_version = json.loads(registered.stdout)["version"]
    assert stimuli_version == nwb_versions["stimulus_set"]["version"]
    order = np.argsort(session.onsets, kind="stable")
    stimuli = np.array(session.stimulus_ids)[order]
    repetitions = [list(stimuli[:i]).count(s) for i, s in enumerate(stimuli)]
    equivalent = xr.DataArray(
        slow_counts(session, BINS),
        dims=("presentation", "neuroid", "time_bin"),
        coords={
            "stimulus_id": ("presentation", stimuli),
            "repetition": ("presentation", repetitions),
            "onset_time": ("presentation", session.onsets[order]),
            "neuroid_id": ("neuroid", [str(u) for u in session.unit_ids]),
            "quality": ("neuroid", session.quality),
            "location": ("neuroid", ["V4"] * 5),
            "electrode_group": ("neuroid", ["shank0"] * 5),
            "region": ("neuroid", ["V4"] * 5),
            "time_bin_start": ("time_bin", [70, 100]),
            "time_bin_end": ("time_bin", [170, 200]),
        },
        attrs={
            "nwb_identifier": "test-session-0",
            "nwb_session_id": "session-210325",
            "nwb_session_description": "passive fixation, images at the receptive field centre",
            "nwb_session_start_time": "2024-03-25T10:00:00+00:00",
            "nwb_subject_id": "monkey-1",
            "nwb_species": "Macaca mulatta",
            "nwb_file": "session.nwb",
            "nwb_file_sha256": hashlib.sha256(session.path.read_bytes()).hexdigest(),
        },
    )
    equivalent.to_netcdf(tmp_path / "neural.nc")
    neural_meta = {**meta, "kind": "neural", "species": "macaca_mulatta", "modality": "spikes",
                   "time_bins": [[70, 170], [100, 200]], "stimulus_set": stimuli_version}  # fmt: skip
    (tmp_path / "neural.yaml").write_text(yaml.safe_dump(neural_meta))
    args = ("--registry", from_netcdf.root, "register", "assembly", tmp_path / "neural.nc", "--meta", tmp_path / "neural.yaml")
    registered = cli(*args, "--json")
    assert registered.exit_code == 0, registered.output
    assert json.loads(registered.stdout)["version"] == nwb_versions["assembly"]["version"]


def _meta_without(tmp_path, **changes):
    meta = yaml.safe_load(META)
    meta.update(changes)
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(meta))
    return path


@pytest.mark.parametrize(
    "write, args, field, said",
    [
        ({"with_units": False}, (), "units", "no Units table"),
        ({"with_presentations": False}, (), "presentations", "no stimulus presentations"),
        ({}, ("--stimulus-column", "picture"), "stimulus_column", "no column 'picture'; its columns are: start_time, stop_time"),
        ({"stimulus_column": "picture"}, (), "stimulus_column", "no stimulus column (looked for stimulus_id"),
        ({"unsorted_unit": 3}, (), "spike_times", "the spike times of unit 103 are not sorted"),
        ({}, ("--time-bins", "70:900"), "time_bins", "reach outside the recording"),
        ({}, ("--time-bins", "170:70"), "time_bins", "is not a time bin START:END"),
        ({"species": "Mus musculus"}, ("--meta-species",), "species", "differs from the NWB Subject's 'mus_musculus'"),
        ({}, ("--units-filter", "snr > 3"), "units_filter", "no column 'snr'"),
        ({"with_images": False}, (), "stimuli", "no stimulus images"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_registered(cli, registry, tmp_path, write, args, field, said):
    session = tmp_path / "session.nwb"
    write_session(session, **write)
    meta = write_meta(tmp_path / "session.yaml")
    if "--meta-species" in args:
        meta, args = _meta_without(tmp_path, species="macaca_mulatta"), ()
    bins = () if "--time-bins" in args else ("--time-bins", "70:170")
    result = cli("--registry", registry.root, "import", "nwb", session, "--meta", meta, *bins, *args)
    assert result.exit_code == 2, result.output
    text = " ".join(result.stderr.split())
    assert said in text and f"field '{field}'" in text and "Traceback" not in result.output, text
    if field not in ("time_bins",) or "outside" in said:
        assert str(session) in text or str(meta) in text  # the file the mistake is in
    assert registry.catalog.names() == []


def test_a_presented_stimulus_without_an_image(cli, registry, tmp_path):
    write_session(tmp_path / "session.nwb", with_images=False)
    images = images_of(6)
    images.pop("im03")
    _write_images(tmp_path / "images", images)
    result = _import(cli, registry, tmp_path, "--time-bins", "70:170", "--stimuli", tmp_path / "images")
    assert result.exit_code == 2 and "have no image (e.g. 'im03')" in " ".join(result.stderr.split())
    assert registry.catalog.names() == []


def test_an_unedited_template_registers_nothing(cli, registry, tmp_path):
    write_session(tmp_path / "session.nwb")
    template = cli("meta-template", "nwb").stdout
    (tmp_path / "template.yaml").write_text(template)
    result = _import(cli, registry, tmp_path, "--time-bins", "70:170", meta=tmp_path / "template.yaml")
    assert result.exit_code == 2 and "still the `bsr meta-template` example" in result.stderr
    assert registry.catalog.names() == []


@pytest.mark.parametrize("kind", ["nwb", "brainio"])
def test_the_import_templates_are_commented_and_valid(cli, kind, tmp_path):
    from brainscore_registry.data.schemas import AssemblyMeta, StimulusSetMeta
    from brainscore_registry.formats.pair import PLACEHOLDER_PIN, ImportMeta

    result = cli("meta-template", kind)
    assert result.exit_code == 0 and result.stdout.count("\n# ") >= 4
    (tmp_path / "meta.yaml").write_text(result.stdout)
    meta = ImportMeta.read(tmp_path / "meta.yaml", kind)
    fixed = {"kind": "neural", "modality": "spikes", "species": "macaca_mulatta", "time_bins": [[70, 170]]}
    assembly = AssemblyMeta.model_validate({**fixed, **meta.assembly, "stimulus_set": PLACEHOLDER_PIN})
    stimuli = StimulusSetMeta.model_validate(meta.stimuli)
    assert assembly.identifier.startswith("Doe2024") and stimuli.identifier == "Doe2024.images"
    assert stimuli.citation == assembly.citation  # inherited from the assembly's part


def test_a_registered_stimulus_set_can_be_named_instead_of_images(cli, registry, tmp_path):
    write_session(tmp_path / "session.nwb")
    first = json.loads(_import(cli, registry, tmp_path, "--time-bins", "70:170").stdout)
    pinned = first["stimulus_set"]["version"]
    meta = yaml.safe_load(META)
    meta.update(identifier="Test2024.V4_session_late", stimulus_set=pinned)
    (tmp_path / "pinned.yaml").write_text(yaml.safe_dump(meta))
    result = _import(cli, registry, tmp_path, "--time-bins", "170:270", meta=tmp_path / "pinned.yaml")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["stimulus_set"] is None
    assembly = load_assembly(summary["assembly"]["version"], registry=registry)
    assert assembly.attrs["bsr"]["metadata"]["stimulus_set"] == pinned


def test_filters_compare_numbers_with_numbers_and_text_for_equality(cli, registry, tmp_path):
    write_session(tmp_path / "session.nwb")
    for filter_, said in (("quality > 5", "holds text: compare it with == or !="), ("id_of_nothing == 1", "no column")):
        result = _import(cli, registry, tmp_path, "--time-bins", "70:170", "--units-filter", filter_)
        assert result.exit_code == 2 and said in result.stderr, result.output
    assert registry.catalog.names() == []


def test_bins_that_end_with_the_last_presentation_are_inside_the_recording(cli, registry, tmp_path):
    session = write_session(tmp_path / "session.nwb")
    result = _import(cli, registry, tmp_path, "--time-bins", "0:300")  # each presentation's [start, stop)
    assert result.exit_code == 0, result.output
    assert session.stops.max() > max(t.max() for t in session.spike_times if t.size)  # later than the last spike
