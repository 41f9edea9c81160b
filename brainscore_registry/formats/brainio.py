"""Brain-Score's brainio packages, in (`bsr import brainio`) and out (`bsr export brainio`).

A brainio package is three files: the assembly as NetCDF (one data variable; coordinates that Brain-Score
keeps as MultiIndex levels along `presentation`, `neuroid` and `time_bin`, written flat by brainio's
`write_netcdf`), the stimulus table as CSV (`stimulus_id`, or `image_id` before 2023; `filename`, or
`image_file_name`; free columns) and a zip of the image files, listed by the table's file names (at the
zip's top level or under one folder). Brain-Score's catalogue pins each file by sha1.

Import checks the sha1s given, every file the table lists against the zip, and ids given twice, before
anything is registered; export writes the three files so that brainio's own loaders
(`StimulusSetLoader`, `AssemblyLoader` in brainscore-core) read them back, with the sha1 of each file.
Export then import gives the same versions: a version depends only on content.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pandas as pd
import xarray as xr

from ..data.assemblies import read_assembly_source
from ..data.hashing import file_digest
from ..data.stimuli import read_table
from ..errors import UserInputError
from ..paths import check_input_file, check_output_file, default_file_mode, write_atomic
from ..progress import Progress
from ..store.loading import load_assembly, load_stimulus_set
from ..store.registry import Registry
from .pair import ImportMeta, RegisteredPair, register_pair, scratch_errors

ID_COLUMNS = ("stimulus_id", "image_id")
FILE_COLUMNS = ("filename", "image_file_name")
MAX_MEMBER_BYTES = 1 << 30  # one image file in a zip: a bigger "image" is a zip bomb, not a stimulus
LINK_ATTRS = ("stimulus_set_identifier", "stimulus_set")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed member times: the same set exports to the same bytes


def sha1_of(path: Path) -> str:
    return file_digest(path, "sha1")


def check_sha1(path: Path, expected: str | None, field: str) -> None:
    found = sha1_of(path) if expected is not None else None
    if found is not None and found != expected.strip().lower():
        raise UserInputError(
            f"sha1 {found} is not the {expected} the package lists",
            file=path,
            field=field,
            fix="download the file again (or give the sha1 of the file you mean)",
        )


@dataclass(frozen=True)
class BrainioImport:
    registered: RegisteredPair
    stimuli: int


def import_brainio(
    assembly: Path,
    stimuli_csv: Path,
    stimuli_zip: Path,
    meta_path: Path,
    *,
    registry: Registry | str | Path | None = None,
    sha1: dict[str, str | None] | None = None,
    variable: str | None = None,
    progress: Progress | None = None,
) -> BrainioImport:
    """Register a brainio package: its images as a stimulus set and its assembly pinned to it."""
    registry = Registry.of(registry)
    registry.require_writable("import")
    sha1 = sha1 or {}
    for path, field in ((assembly, "assembly"), (stimuli_csv, "stimuli"), (stimuli_zip, "stimuli_zip")):
        check_input_file(Path(path), field)
        check_sha1(Path(path), sha1.get(field), f"{field}_sha1")
    meta = ImportMeta.read(Path(meta_path), "brainio")
    data = read_assembly_source(assembly, variable)
    # brainio's link to its stimulus set (and the set a loader attaches): the registration pins instead
    data.attrs = {k: v for k, v in data.attrs.items() if k not in LINK_ATTRS}
    if meta.assembly.get("kind") == "neural" and "time_bins" not in meta.assembly:
        meta = meta.with_assembly(time_bins=_time_bins(data, Path(assembly)))
    table = _package_table(Path(stimuli_csv))
    with tempfile.TemporaryDirectory(prefix="bsr-brainio-") as scratch:
        files = _extract(table, Path(stimuli_csv), Path(stimuli_zip), Path(scratch))
        with scratch_errors(Path(scratch) / "images", Path(stimuli_zip), "the zip"):
            registered = register_pair(data, meta, files, registry=registry, source=Path(assembly), progress=progress)
    return BrainioImport(registered, len(table))


def _time_bins(data: xr.DataArray, path: Path) -> list[list[int]] | None:
    """The bins the NetCDF's time_bin_start/time_bin_end give, in whole ms; None when it has neither."""
    names = [n for n in ("time_bin_start", "time_bin_end") if n in data.coords]
    if not names:
        return None
    try:
        if len(names) != 2:
            raise ValueError(f"it has {names[0]} but not the other")
        return [[int(a), int(b)] for a, b in zip(data["time_bin_start"].values, data["time_bin_end"].values)]
    except (ValueError, TypeError, OverflowError) as exc:
        raise UserInputError(
            f"the time bins cannot be read: {exc}",
            file=path,
            field="time_bin_start",
            fix="give time_bin_start and time_bin_end in whole ms along time_bin, or time_bins in the metadata",
        ) from None


def _package_table(path: Path) -> pd.DataFrame:
    """The package's table with `stimulus_id` and `filename` (from the pre-2023 names when those are
    what it has); ids given twice are refused, naming the rows."""
    table = read_table(path)
    for canonical, names in (("stimulus_id", ID_COLUMNS), ("filename", FILE_COLUMNS)):
        found = next((n for n in names if n in table.columns), None)
        if found is None:
            raise UserInputError(
                f"no {' or '.join(names)} column (the table has: {', '.join(map(str, table.columns))})",
                file=path,
                field=canonical,
                fix=f"a brainio stimulus table names each image in {names[0]!r} and its file in {FILE_COLUMNS[0]!r}",
            )
        if found != canonical:
            table = table.drop(columns=[canonical], errors="ignore").rename(columns={found: canonical})
    ids = table["stimulus_id"].astype(str)
    for column in ("stimulus_id", "filename"):
        empty = table[column].astype(str).str.strip() == ""
        if empty.any():
            raise UserInputError(
                f"{int(empty.sum())} empty {column} cells (table rows {[int(i) + 2 for i in empty[empty].index[:6]]})",
                file=path,
                field=column,
                fix=f"give every row its {column}",
            )
    twice = ids[ids.duplicated(keep=False)]
    if len(twice):
        rows = [int(i) + 2 for i in twice.index[:6]]
        raise UserInputError(
            f"{twice.nunique()} stimulus ids appear more than once (e.g. {twice.iloc[0]!r}, table rows {rows})",
            file=path,
            field="stimulus_id",
            fix="give every image its own id: one row per image",
        )
    return table


def _extract(table: pd.DataFrame, csv_path: Path, zip_path: Path, scratch: Path) -> tuple[Path, Path]:
    """The listed images, out of the zip under names of our own (a member's path never decides where
    a file is written), and a table that lists them; every listed file must be in the zip."""
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UserInputError(
            f"not a readable zip file: {exc}", file=zip_path, field="stimuli_zip", fix="check the file"
        ) from None
    with archive:
        members = _members(archive)
        wanted = [str(name) for name in table["filename"]]
        local = [_safe_name(name, csv_path, row) for row, name in enumerate(wanted, start=2)]
        missing = [name for name in wanted if _find(members, name) is None]
        if missing:
            raise UserInputError(
                f"{len(missing)} of the {len(wanted)} images the table lists are not in the zip "
                f"(e.g. {', '.join(map(repr, missing[:3]))})",
                file=zip_path,
                field="filename",
                fix=f"use the zip that belongs to {csv_path.name}, or list only the images it holds",
            )
        images = scratch / "images"
        images.mkdir()
        for name, relative in zip(wanted, local):
            target = images / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(_read_member(archive, _find(members, name), zip_path))
    table.to_csv(scratch / "stimuli.csv", index=False)
    return images, scratch / "stimuli.csv"


def _safe_name(name: str, csv_path: Path, row: int) -> str:
    """The table's file name, kept (it is part of the stimulus set), if it stays inside a directory."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or "\0" in name or not pure.parts:
        raise UserInputError(
            f"file name {name!r} is not a path inside the package",
            file=f"{csv_path} row {row}",
            field="filename",
            fix="name each image by its path relative to the zip's top (or its one folder)",
        )
    return str(pure)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, zip_path: Path) -> bytes:
    """A member's bytes; a member too large to be an image, encrypted or damaged is the package's fault."""
    if info.file_size > MAX_MEMBER_BYTES:
        raise UserInputError(
            f"member {info.filename!r} would unpack to {info.file_size:,} bytes",
            file=zip_path,
            field="filename",
            fix="check the zip",
        )
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError, zlib.error) as exc:
        raise UserInputError(
            f"member {info.filename!r} cannot be read: {exc}",
            file=zip_path,
            field="filename",
            fix="download the zip again, or repack it without encryption",
        ) from None


def _members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Files of the zip by their path, and by the path below a single top folder."""
    files = {i.filename: i for i in archive.infolist() if not i.is_dir()}
    tops = {PurePosixPath(name).parts[0] for name in files if len(PurePosixPath(name).parts) > 1}
    if len(tops) == 1 and all(len(PurePosixPath(n).parts) > 1 for n in files):
        top = tops.pop()
        files.update({str(PurePosixPath(n).relative_to(top)): i for n, i in list(files.items())})
    return files


def _find(members: dict[str, zipfile.ZipInfo], name: str) -> zipfile.ZipInfo | None:
    return members.get(name) or members.get(name.replace("\\", "/").removeprefix("./"))


@dataclass(frozen=True)
class BrainioExport:
    assembly: Path
    stimuli_csv: Path
    stimuli_zip: Path
    sha1: dict[str, str]


def export_brainio(reference: str, out: Path, *, registry: Registry | str | Path | None = None) -> BrainioExport:
    """Write the assembly `reference` names and its stimulus set as a brainio package in `out`."""
    registry = Registry.of(registry)
    assembly = load_assembly(reference, registry=registry)
    bsr = assembly.attrs.get("bsr", {})
    stimuli = load_stimulus_set(bsr["metadata"]["stimulus_set"], registry=registry)
    out = Path(out)
    if out.exists() and not out.is_dir() or out.is_symlink() and not out.is_dir():
        raise UserInputError(
            "is not a directory", file=out, field="out", fix="give a directory (made if missing) for the package"
        )
    out.mkdir(parents=True, exist_ok=True)
    name = bsr["metadata"]["identifier"]
    paths = tuple(
        check_output_file(out / f, field="out")
        for f in (f"assy_{name}.nc", f"{stimuli.identifier}.csv", f"{stimuli.identifier}.zip")
    )
    _write_assembly(assembly, paths[0], stimuli.identifier)
    _write_stimuli(stimuli, paths[1], paths[2])
    return BrainioExport(*paths, sha1={p.name: sha1_of(p) for p in paths})


def _write_assembly(assembly: xr.DataArray, path: Path, stimulus_set: str) -> None:
    """The assembly as brainio writes it: one unnamed data variable, coordinates flat along their
    dimension (brainio's loader gathers them into MultiIndexes), string attributes."""
    da = assembly.copy()
    da.attrs.pop("bsr", None)
    da.attrs = {k: str(v) for k, v in da.attrs.items()}
    da.attrs["stimulus_set_identifier"] = stimulus_set  # brainio's link to the stimulus set (import pins instead)
    da.name = None
    for coord in list(da.coords):
        if da[coord].dtype == object:
            da = da.assign_coords({coord: da[coord].astype(str)})
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False) as tmp:
        pass
    try:
        da.to_netcdf(tmp.name, engine="h5netcdf")
        os.chmod(tmp.name, default_file_mode())  # as the table and the zip: readable by others, like any export
        Path(tmp.name).replace(path)
    finally:
        Path(tmp.name).unlink(missing_ok=True)


def _write_stimuli(stimuli, csv_path: Path, zip_path: Path) -> None:
    """The table (stimulus_id, filename and the free columns) and a zip of the original files at its top
    level, with fixed member times."""
    table = stimuli.table.drop(columns=["media_type", "width", "height", "sha256"])
    write_atomic(csv_path, table.to_csv(index=False))
    tmp = zip_path.with_name(f".{zip_path.name}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
            for stimulus_id, filename in zip(table["stimulus_id"], table["filename"]):
                archive.writestr(zipfile.ZipInfo(str(filename), ZIP_DATE), stimuli.image_bytes(str(stimulus_id)))
        tmp.replace(zip_path)
    finally:
        tmp.unlink(missing_ok=True)
