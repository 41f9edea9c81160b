"""Brain-Score (brainio) packages in and out: a package whose assembly Brain-Score's own brainio wrote
imports to its values and coordinates; export then import gives the same versions; Brain-Score's own
loaders read the export; a broken package is refused with nothing registered.

Brain-Score's brainio (brainscore-core 2.4: numpy < 2, xarray 2022.3) cannot share our environment,
so it runs in a virtual environment of its own, built once per test session from the package index
(`$BSR_BRAINIO_PYTHON` names an existing one), through tests/brainio_reference.py."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from brainscore_registry.store.loading import load_assembly, load_stimulus_set
from brainscore_registry.store.registry import Registry

pytestmark = pytest.mark.slow
REFERENCE = Path(__file__).with_name("brainio_reference.py")
BRAINIO_REQUIREMENTS = ["numpy<2", "pandas<2", "xarray==2022.3.0", "netCDF4<1.7.3", "certifi", "cftime", "Pillow", "tqdm",
                        "boto3", "six", "packaging", "python-dateutil", "pytz"]  # fmt: skip
META = {
    "identifier": "Package2020.V4",
    "kind": "neural",
    "description": "A V4 package in Brain-Score's layout, made for the import tests.",
    "species": "macaca_mulatta",
    "regions": ["V4"],
    "modality": "spikes",
    "citation": "Package A (2020). A test package.",
    "license": "CC0-1.0",
    "provenance": {"source": "tests/test_brainio.py", "revision": "1"},
    "stimulus_set": {"identifier": "Package2020.images", "description": "8 random images.", "visual_degrees": 8},
}


@pytest.fixture(scope="session")
def brainio_python(tmp_path_factory) -> str:
    if os.environ.get("BSR_BRAINIO_PYTHON"):
        return os.environ["BSR_BRAINIO_PYTHON"]
    venv = tmp_path_factory.mktemp("brainio") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, *BRAINIO_REQUIREMENTS], check=True, capture_output=True)
    subprocess.run([*pip, "--no-deps", "brainscore-core==2.4.0"], check=True, capture_output=True)
    return str(venv / "bin" / "python")


def reference(python: str, *args) -> dict:
    done = subprocess.run([python, str(REFERENCE), *map(str, args)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def make_package(directory: Path, python: str) -> dict:
    """A package as Brain-Score holds one: `image_id` and `image_file_name`, images under a folder of
    the zip, the assembly written by brainio's write_netcdf (MultiIndex levels, written flat)."""
    directory.mkdir()
    rng = np.random.default_rng(7)
    ids = [f"img{i}" for i in range(8)]
    rows = ["image_id,image_file_name,object_name"]
    with zipfile.ZipFile(directory / "images.zip", "w") as archive:
        for i, stimulus in enumerate(ids):
            path = directory / f"{stimulus}.png"
            Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(path)
            archive.write(path, f"package_images/{stimulus}.png")
            rows.append(f"{stimulus},{stimulus}.png,{'face' if i % 2 else 'car'}")
    (directory / "images.csv").write_text("\n".join(rows) + "\n")
    presentations = [(s, r) for r in range(3) for s in ids]
    source = {
        "values": rng.poisson(3, (len(presentations), 4, 1)).astype(float).tolist(),
        "dims": ["presentation", "neuroid", "time_bin"],
        "coords": {
            "image_id": ["presentation", [s for s, _ in presentations]],
            "repetition": ["presentation", [r for _, r in presentations]],
            "object_name": ["presentation", ["face" if int(s[3:]) % 2 else "car" for s, _ in presentations]],
            "neuroid_id": ["neuroid", [f"n{j}" for j in range(4)]],
            "region": ["neuroid", ["V4"] * 4],
            "animal": ["neuroid", ["m1", "m1", "m2", "m2"]],
            "time_bin_start": ["time_bin", [70]],
            "time_bin_end": ["time_bin", [170]],
        },
    }
    (directory / "source.json").write_text(json.dumps(source))
    written = reference(python, "write", directory / "source.json", directory / "assy_Package2020_V4.nc")
    assert written["indexes"]["presentation"] == ["image_id", "repetition", "object_name"]
    (directory / "meta.yaml").write_text(yaml.safe_dump(META))
    return {"source": source, "sha1": written["sha1"]}


def _import(cli, registry: Registry, package: Path, *extra):
    return cli(
        "--registry", registry.root, "import", "brainio", "--assembly", package / "assy_Package2020_V4.nc",
        "--stimuli", package / "images.csv", "--stimuli-zip", package / "images.zip", "--meta", package / "meta.yaml",
        *extra, "--json",
    )  # fmt: skip


def test_a_brainio_package_imports_to_its_values_and_coords(cli, registry, tmp_path, brainio_python):
    made = make_package(tmp_path / "package", brainio_python)
    result = _import(cli, registry, tmp_path / "package", "--assembly-sha1", made["sha1"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assembly = load_assembly(summary["assembly"]["version"], registry=registry)
    source = made["source"]
    np.testing.assert_array_equal(assembly.values, np.array(source["values"], dtype=np.float32))
    expected = {("stimulus_id" if name == "image_id" else name): values for name, (_, values) in source["coords"].items()}
    for name, values in expected.items():
        assert list(assembly[name].values) == values, name
        assert assembly[name].dims == (source["coords"]["image_id" if name == "stimulus_id" else name][0],)
    stimuli = load_stimulus_set(summary["stimulus_set"]["version"], registry=registry)
    assert sorted(stimuli.stimulus_ids) == [f"img{i}" for i in range(8)]
    assert stimuli.image_bytes("img3") == (tmp_path / "package" / "img3.png").read_bytes()
    assert list(stimuli.table["object_name"])[:2] == ["car", "face"]


def test_export_then_import_gives_the_same_versions_and_brainio_reads_the_export(cli, registry, tmp_path, brainio_python):
    make_package(tmp_path / "package", brainio_python)
    first = json.loads(_import(cli, registry, tmp_path / "package").stdout)
    exported = cli(
        "--registry", registry.root, "export", "brainio", first["assembly"]["version"], "--out", tmp_path / "out", "--json"
    )
    assert exported.exit_code == 0, exported.output
    files = json.loads(exported.stdout)
    for key in ("assembly", "stimuli", "stimuli_zip"):
        path = Path(files[key])
        assert files["sha1"][path.name] == hashlib.sha1(path.read_bytes()).hexdigest()
    loaded = reference(brainio_python, "load", files["stimuli"], files["stimuli_zip"], files["assembly"])
    assert loaded["stimuli"] == 8 and {"stimulus_id", "filename", "object_name"} <= set(loaded["columns"])
    assert loaded["dims"] == ["presentation", "neuroid", "time_bin"] and loaded["shape"] == [24, 4, 1]
    assert {"stimulus_id", "repetition", "object_name"} <= set(loaded["indexes"]["presentation"])
    assert {"neuroid_id", "region", "animal"} <= set(loaded["indexes"]["neuroid"])
    assembly = load_assembly(first["assembly"]["version"], registry=registry)
    assert loaded["sum"] == float(assembly.values.astype(np.float64).sum())
    # and back: the exported package is the same data, so the same versions
    elsewhere = Registry.init(tmp_path / "elsewhere")
    meta = {**META, "stimulus_set": {**META["stimulus_set"]}}
    (tmp_path / "meta.yaml").write_text(yaml.safe_dump(meta))
    again = cli("--registry", elsewhere.root, "import", "brainio", "--assembly", files["assembly"], "--stimuli", files["stimuli"],
                "--stimuli-zip", files["stimuli_zip"], "--meta", tmp_path / "meta.yaml", "--json")  # fmt: skip
    assert again.exit_code == 0, again.output
    second = json.loads(again.stdout)
    assert second["stimulus_set"]["version"] == first["stimulus_set"]["version"]
    assert second["assembly"]["version"] == first["assembly"]["version"]


def _without_image(package: Path) -> None:
    with zipfile.ZipFile(package / "images.zip", "w") as archive:
        for i in range(7):  # img7 is listed in the table but not in the zip
            archive.write(package / f"img{i}.png", f"package_images/img{i}.png")


def _duplicate_id(package: Path) -> None:
    table = package / "images.csv"
    table.write_text(table.read_text().replace("img5,img5.png", "img4,img5.png"))


def _no_id_column(package: Path) -> None:
    table = package / "images.csv"
    table.write_text(table.read_text().replace("image_id,", "picture,", 1))


@pytest.mark.parametrize(
    "damage, extra, where, field, said",
    [
        (_without_image, (), "images.zip", "filename", "1 of the 8 images the table lists are not in the zip (e.g. 'img7.png')"),
        (_duplicate_id, (), "images.csv", "stimulus_id", "1 stimulus ids appear more than once (e.g. 'img4', table rows [6, 7])"),
        (_no_id_column, (), "images.csv", "stimulus_id", "no stimulus_id or image_id column"),
        (None, ("--zip-sha1", "0" * 40), "images.zip", "stimuli_zip_sha1", "is not the 0000"),
    ],
)
def test_a_broken_package_registers_nothing(cli, registry, tmp_path, brainio_python, damage, extra, where, field, said):
    make_package(tmp_path / "package", brainio_python)
    if damage is not None:
        damage(tmp_path / "package")
    result = _import(cli, registry, tmp_path / "package", *extra)
    assert result.exit_code == 2, result.output
    text = " ".join(result.stderr.split())
    assert said in text and f"field '{field}'" in text and where in text and "Traceback" not in result.output, text
    assert registry.catalog.names() == []


def _damaged_member(package: Path) -> None:
    data = bytearray((package / "images.zip").read_bytes())
    start = data.index(b"\x89PNG")  # the first image's bytes, stored uncompressed: its CRC no longer matches
    data[start + 40] ^= 0xFF
    (package / "images.zip").write_bytes(bytes(data))


def _climbing_name(package: Path) -> None:
    table = package / "images.csv"
    table.write_text(table.read_text().replace("img2,img2.png", "img2,../img2.png"))


@pytest.mark.parametrize(
    "damage, where, field, said",
    [
        (_damaged_member, "images.zip", "filename", "member 'package_images/img0.png' cannot be read"),
        (_climbing_name, "images.csv row 4", "filename", "file name '../img2.png' is not a path inside the package"),
    ],
)
def test_a_damaged_package_registers_nothing(cli, registry, tmp_path, brainio_python, damage, where, field, said):
    make_package(tmp_path / "package", brainio_python)
    damage(tmp_path / "package")
    result = _import(cli, registry, tmp_path / "package")
    text = " ".join(result.stderr.split())
    assert result.exit_code == 2 and said in text and f"field '{field}'" in text and where in text, result.output
    assert registry.catalog.names() == []


def test_an_identifier_taken_by_another_kind_registers_nothing(cli, registry, tmp_path, brainio_python):
    make_package(tmp_path / "package", brainio_python)
    meta = {**META, "identifier": "Package2020.images"}  # the name its own images get
    (tmp_path / "package" / "meta.yaml").write_text(yaml.safe_dump(meta))
    result = _import(cli, registry, tmp_path / "package")
    assert result.exit_code == 2 and "are both named 'Package2020.images'" in result.stderr
    assert registry.catalog.names() == []


def test_ids_that_look_like_numbers_stay_names_and_export_refuses_a_file_as_directory(cli, registry, tmp_path, brainio_python):
    make_package(tmp_path / "package", brainio_python)
    package = tmp_path / "package"
    for path in (package / "images.csv",):
        path.write_text(path.read_text().replace("img", "00"))
    with zipfile.ZipFile(package / "images.zip", "w") as archive:
        for i in range(8):
            archive.write(package / f"img{i}.png", f"00{i}.png")
    source = json.loads((package / "source.json").read_text())
    source["coords"]["image_id"][1] = [s.replace("img", "00") for s in source["coords"]["image_id"][1]]
    (package / "source.json").write_text(json.dumps(source))
    reference(brainio_python, "write", package / "source.json", package / "assy_Package2020_V4.nc")
    result = _import(cli, registry, package)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert sorted(load_stimulus_set(summary["stimulus_set"]["version"], registry=registry).stimulus_ids)[:2] == ["000", "001"]
    (tmp_path / "a-file").write_text("x")
    refused = cli("--registry", registry.root, "export", "brainio", summary["assembly"]["version"], "--out", tmp_path / "a-file")
    assert refused.exit_code == 2 and "is not a directory" in refused.stderr and "Traceback" not in refused.output
