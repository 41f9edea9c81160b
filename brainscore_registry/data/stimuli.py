"""Stimulus sets: every image file's original bytes plus a table, as one xarray Dataset.

Layout: dimension `stimulus` (one row per stimulus) with coordinates `stimulus_id`, `filename`,
`media_type`, `width`, `height`, `sha256`, `byte_offset`, `byte_length` and the table's free
columns; dimension `byte` with `image_bytes` (uint8), the files concatenated in table order.
The logical hash therefore covers the file bytes themselves, not decoded pixels: re-encoding an
image, even losslessly, is a new version.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
import xarray as xr
from PIL import Image, UnidentifiedImageError

from ..errors import IntegrityError, UserInputError, did_you_mean, preview
from .identifiers import normalize_labels
from .schemas import StimulusSetMeta

STIMULUS_SET_FORMAT = "bsr-stimuli-v1"
COMPUTED_COLUMNS = ("media_type", "width", "height", "sha256", "byte_offset", "byte_length")
_COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INT = re.compile(r"^[+-]?\d+$")
MAX_IMAGE_PIXELS = 1 << 25
"""Most pixels (width × height) one stimulus may have: 33,554,432, e.g. 8192 × 4096 or a 24-megapixel
photograph. Far below PIL's decompression-bomb error (2 × 89,478,485), which a 121-megapixel PNG of a
few kB passes with only a warning; the size is read from the header, before anything is decoded."""


TEXT_COLUMNS = ("stimulus_id", "filename", "image_id", "image_file_name")  # with their pre-2023 Brain-Score names


def read_table(path: str | Path) -> pd.DataFrame:
    """The stimulus table as strings (no NA guessing), then numeric columns where every cell
    parses: a column with one blank cell stays text, so nothing is silently turned into NaN. Ids and
    file names stay text whatever they look like."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError("table not found", file=path, fix="pass the CSV table with --table")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise UserInputError(
            f"cannot read the CSV table: {exc}", file=path, fix="save the table as UTF-8 CSV with a header row"
        ) from None
    for column in table.columns:
        if column not in TEXT_COLUMNS:  # '001' and '1e5' are names, not numbers
            table[column] = _infer(table[column])
    return table


def _infer(column: pd.Series) -> pd.Series:
    values = column.tolist()
    if values and all(_INT.match(v) for v in values):
        return column.astype(np.int64)
    try:
        if values and all(v.strip() for v in values):
            return column.astype(np.float64)
    except ValueError:
        pass
    return column.astype(object)


def _check_columns(table: pd.DataFrame, path: Path) -> None:
    columns = [str(c) for c in table.columns]
    for required in ("stimulus_id", "filename"):
        if required not in columns:
            raise UserInputError(
                f"the table has no {required!r} column.{did_you_mean(required, columns)} Columns: {columns}",
                file=path,
                field=required,
                fix=f"add a {required!r} column to the table's header",
            )
    for column in columns:
        if column in COMPUTED_COLUMNS:
            raise UserInputError(
                f"column {column!r} is computed from the image files",
                file=path,
                field=column,
                fix=f"remove the {column!r} column; {', '.join(COMPUTED_COLUMNS)} are filled in by bsr",
            )
        if not _COLUMN_NAME.match(column):
            raise UserInputError(
                f"column name {column!r} is not a plain name",
                file=path,
                field=column,
                fix="use letters, digits and '_' in column names, starting with a letter",
            )
    if table.empty:
        raise UserInputError("the table has no rows", file=path, fix="list one stimulus per row")


def _check_ids(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """The table with its stimulus ids normalised to NFC (see `normalize_labels`); refuses empty ids,
    ids with surrounding spaces or control characters, and ids given twice (after normalisation)."""
    ids = table["stimulus_id"].astype(str)
    bad = (ids.str.strip() != ids) | (ids == "")
    if bad.any():
        rows = [int(i) + 2 for i in bad[bad].index]  # +2: the header is line 1
        raise UserInputError(
            f"{len(rows)} stimulus ids are empty or have surrounding spaces, in table rows {preview(rows)}",
            file=path,
            field="stimulus_id",
            fix="trim the ids and fill empty ones",
        )
    ids = pd.Series(normalize_labels(ids, file=path, position="table row", first_position=2), index=ids.index)
    dup = ids[ids.duplicated()]
    if len(dup):
        raise UserInputError(
            f"{len(dup)} stimulus ids appear more than once: {preview(dup.unique())}",
            file=path,
            field="stimulus_id",
            fix="give every stimulus its own id (one row per stimulus)",
        )
    return table.assign(stimulus_id=ids.astype(object))


def _resolve_file(directory: Path, filename: str, table_path: Path, row: int) -> Path:
    """The file a table row names, refusing anything that escapes the stimulus directory."""
    where = f"{table_path} row {row}"
    fix = "name files by their path relative to the stimulus directory, inside it"
    if not filename:
        raise UserInputError("empty filename", file=where, field="filename", fix=fix)
    pure = PurePosixPath(filename.replace("\\", "/"))
    if pure.is_absolute() or Path(filename).is_absolute():
        raise UserInputError(f"filename {filename!r} is an absolute path", file=where, field="filename", fix=fix)
    if ".." in pure.parts:
        raise UserInputError(
            f"filename {filename!r} climbs out of the stimulus directory with '..'", file=where, field="filename", fix=fix
        )
    path = directory / pure
    if not path.exists():
        raise UserInputError(
            f"file {filename!r} does not exist in {directory}",
            file=where,
            field="filename",
            fix="check the file name (case matters) or add the file",
        )
    real = path.resolve()
    if not real.is_relative_to(directory.resolve()):
        raise UserInputError(
            f"filename {filename!r} is a link that leads outside the stimulus directory (to {real})",
            file=where,
            field="filename",
            fix="copy the file into the stimulus directory instead of linking to it",
        )
    if not real.is_file():
        raise UserInputError(f"{filename!r} is not a regular file", file=where, field="filename", fix=fix)
    return real


def inspect_image(data: bytes, where: str) -> tuple[str, int, int]:
    """(media type, width, height) of encoded image bytes; refuses non-images and truncated files."""
    fix = "replace the file with a complete PNG, JPEG, GIF, BMP, TIFF or WebP image"
    try:
        with warnings.catch_warnings():  # PIL warns above 89 megapixels; we refuse far lower, just below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
        with img:
            fmt, size = img.format, img.size
            _check_pixels(size, where)
            img.verify()
        with Image.open(io.BytesIO(data)) as img:
            img.load()  # verify() does not decode; a truncated JPEG only fails here
    except UnidentifiedImageError:
        raise UserInputError("not an image (unknown format)", file=where, field="filename", fix=fix) from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise UserInputError(f"image is unreadable or truncated: {exc}", file=where, field="filename", fix=fix) from None
    media_type = Image.MIME.get(fmt or "", f"image/{(fmt or 'unknown').lower()}")
    return media_type, int(size[0]), int(size[1])


def _check_pixels(size: tuple[int, int], where: str) -> None:
    width, height = size
    if width * height > MAX_IMAGE_PIXELS:
        raise UserInputError(
            f"the image is {width} × {height} = {width * height:,} pixels, "
            f"more than the {MAX_IMAGE_PIXELS:,} a stimulus may have",
            file=where,
            field="filename",
            fix="downscale the image to the resolution it was shown at (any model sees a few hundred pixels a side)",
        )


def _read_bytes(path: Path, where: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UserInputError(
            f"cannot read the file: {exc.strerror}", file=where, field="filename", fix="check the file's permissions"
        ) from None


def build_stimulus_set(
    directory: str | Path, table_path: str | Path, meta: StimulusSetMeta, *, on_file: Callable[[int, int], None] | None = None
) -> xr.Dataset:
    """The canonical Dataset of a stimulus set: validated table + every file's bytes."""
    directory, table_path = Path(directory), Path(table_path)
    if not directory.is_dir():
        raise UserInputError("stimulus directory not found", file=directory, fix="pass the directory that holds the image files")
    table = read_table(table_path)
    _check_columns(table, table_path)
    table = _check_ids(table, table_path)
    blobs, media, widths, heights, digests, names = [], [], [], [], [], []
    for row, filename in enumerate(table["filename"].astype(str), start=2):
        path = _resolve_file(directory, filename, table_path, row)
        where = f"{directory / filename} (table row {row})"
        data = _read_bytes(path, where)
        media_type, width, height = inspect_image(data, where)
        blobs.append(data)
        media.append(media_type)
        widths.append(width)
        heights.append(height)
        digests.append(hashlib.sha256(data).hexdigest())
        names.append(PurePosixPath(filename.replace("\\", "/")).as_posix())
        if on_file:
            on_file(row - 1, len(table))
    lengths = np.array([len(b) for b in blobs], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    coords = {
        "stimulus_id": ("stimulus", table["stimulus_id"].astype(str).to_numpy(dtype=object)),
        "filename": ("stimulus", np.array(names, dtype=object)),
        "media_type": ("stimulus", np.array(media, dtype=object)),
        "width": ("stimulus", np.array(widths, dtype=np.int64)),
        "height": ("stimulus", np.array(heights, dtype=np.int64)),
        "sha256": ("stimulus", np.array(digests, dtype=object)),
        "byte_offset": ("stimulus", offsets),
        "byte_length": ("stimulus", lengths),
    }
    for column in table.columns:
        if column not in ("stimulus_id", "filename"):
            coords[str(column)] = ("stimulus", table[column].to_numpy())
    blob = np.frombuffer(b"".join(blobs), dtype=np.uint8)
    ds = xr.Dataset({"image_bytes": ("byte", blob)}, coords=coords)
    ds.attrs = {
        "bsr": {
            "format": STIMULUS_SET_FORMAT,
            "kind": "stimuli",
            "columns": [str(c) for c in table.columns],
            "metadata": meta.model_dump(mode="json", exclude_none=True),
        }
    }
    return ds


class StimulusSet:
    """A registered stimulus set: its table and lazy access to each file's original bytes."""

    WINDOW = 64 << 20  # image bytes are read in windows of this size: one zarr read serves many images

    def __init__(self, ds: xr.Dataset, version: str | None = None) -> None:
        self._ds = ds
        self.version = version
        self._row = {sid: i for i, sid in enumerate(np.asarray(ds["stimulus_id"].values, dtype=object))}
        self._offsets = np.asarray(ds["byte_offset"].values, dtype=np.int64)
        self._lengths = np.asarray(ds["byte_length"].values, dtype=np.int64)
        self._digests = np.asarray(ds["sha256"].values, dtype=object)
        self._window: tuple[int, np.ndarray] | None = None

    @property
    def dataset(self) -> xr.Dataset:
        return self._ds

    @property
    def metadata(self) -> dict:
        return self._ds.attrs["bsr"]["metadata"]

    @property
    def identifier(self) -> str:
        return self.metadata["identifier"]

    @property
    def stimulus_ids(self) -> list[str]:
        return list(self._row)

    def __len__(self) -> int:
        return len(self._row)

    @property
    def table(self) -> pd.DataFrame:
        """One row per stimulus: id, filename, media type, size, sha256 and the free columns."""
        free = [c for c in self._ds.attrs["bsr"]["columns"] if c not in ("stimulus_id", "filename")]
        names = ["stimulus_id", "filename", "media_type", "width", "height", "sha256", *free]
        return pd.DataFrame(
            {
                name: pd.Series(
                    np.asarray(self._ds[name].values),
                    dtype=object if self._ds[name].dtype.kind in "OUT" else self._ds[name].dtype,
                )
                for name in names
            }
        )

    def image_bytes(self, stimulus_id: str) -> bytes:
        try:
            i = self._row[stimulus_id]
        except KeyError:
            raise UserInputError(
                f"no stimulus {stimulus_id!r} in {self.identifier}.{did_you_mean(stimulus_id, self._row)}",
                field="stimulus_id",
                fix="use an id from the stimulus set's table",
            ) from None
        data = self._read(int(self._offsets[i]), int(self._lengths[i]))
        if hashlib.sha256(data).hexdigest() != self._digests[i]:
            raise IntegrityError(
                f"the bytes of stimulus {stimulus_id!r} do not match their recorded sha256", fix="pull the stimulus set again"
            )
        return data

    def _read(self, start: int, length: int) -> bytes:
        """Bytes [start, start + length) of the concatenated files, through a window that serves
        neighbouring images (stimuli are usually read in table order) without another zarr read."""
        if self._window is None or not (self._window[0] <= start and start + length <= self._window[0] + len(self._window[1])):
            if length > self.WINDOW:
                return self._bytes(start, start + length).tobytes()
            stop = min(start + self.WINDOW, self._ds.sizes[self._ds["image_bytes"].dims[0]])
            self._window = (start, self._bytes(start, stop))
        offset = start - self._window[0]
        return self._window[1][offset : offset + length].tobytes()

    def _bytes(self, start: int, stop: int) -> np.ndarray:
        """A lazy read of the store: a chunk damaged after the load-time check (bit rot in place) fails its
        zstd checksum here, and is reported as damage to this version, not as a decoder's traceback."""
        try:
            return np.asarray(self._ds["image_bytes"][start:stop].values)
        except (OSError, RuntimeError, ValueError, KeyError) as exc:
            raise IntegrityError(
                f"the stored image bytes of {self.version} cannot be read: {type(exc).__name__}: {exc}",
                fix=f"restore the stimulus set: `bsr pull --repair {self.version}`",
            ) from None

    def open_image(self, stimulus_id: str) -> Image.Image:
        return Image.open(io.BytesIO(self.image_bytes(stimulus_id)))

    def export(self, directory: str | Path) -> Path:
        """Write every file back under its original name, plus `stimuli.csv`; returns the table path."""
        directory = Path(directory)
        for sid, filename in zip(self.stimulus_ids, self._ds["filename"].values):
            target = directory / str(filename)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.image_bytes(sid))
        table = self.table.drop(columns=[c for c in COMPUTED_COLUMNS if c in self.table.columns])
        path = directory / "stimuli.csv"
        table.to_csv(path, index=False)
        return path
