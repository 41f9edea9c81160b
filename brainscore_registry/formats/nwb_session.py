"""An NWB file as `bsr import nwb` reads it, through pynwb: the Units table one unit at a time, the
stimulus presentations, the session's identity and its own stimulus images.

Nothing is read whole that can be large: spike times are sliced out of the HDF5 dataset one unit at a
time (the flat `spike_times` column and its index, as NWB stores a ragged column), so the memory a
session needs is the output array plus one unit's spike train, whatever the file's size.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.hashing import file_sha256
from ..errors import UserInputError
from ..paths import check_input_file

STIMULUS_COLUMNS = ("stimulus_id", "image_id", "stimulus_name", "image_name", "stimulus", "image", "frame")
PRESENTATION_TABLES = ("presentations", "stimulus_presentations", "trials")
# Units columns that are not one value per unit (or that we read otherwise)
_NOT_COORDS = {"spike_times", "obs_intervals", "electrodes", "electrode_group", "waveform_mean", "waveform_sd", "waveforms"}
_FILTER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=|>=|<=|>|<)\s*(.+?)\s*$")


@dataclass(frozen=True)
class Presentations:
    """Stimulus presentations in time order."""

    table: str
    column: str
    onsets: np.ndarray  # seconds, float64, ascending
    stops: np.ndarray
    stimulus_ids: np.ndarray  # str


class NwbSession:
    """An open NWB file (use as a context manager)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        check_input_file(self.path, "session")
        from pynwb import NWBHDF5IO

        try:
            self._io = NWBHDF5IO(str(self.path), "r")
            self.nwb = self._io.read()
        except Exception as exc:  # noqa: BLE001 - whatever pynwb or h5py raise, it is the user's file
            raise UserInputError(
                f"cannot read this NWB file: {type(exc).__name__}: {exc}",
                file=self.path,
                fix="give an NWB 2.x file (HDF5) that pynwb opens, e.g. one downloaded from DANDI",
            ) from None

    def __enter__(self) -> NwbSession:
        return self

    def __exit__(self, *exc) -> None:
        self._io.close()

    def fail(self, message: str, field: str, fix: str) -> UserInputError:
        return UserInputError(message, file=self.path, field=field, fix=fix)

    # --- units -----------------------------------------------------------------------------------

    @property
    def units(self):
        units = self.nwb.units
        if units is None or "spike_times" not in units.colnames:
            raise self.fail(
                "the file has no Units table with spike_times",
                "units",
                "import a session with sorted units (NWB's Units table); LFP or imaging data are not spike counts",
            )
        return units

    def unit_ids(self) -> np.ndarray:
        return np.asarray(self.units.id.data[:])

    def spike_trains(self, rows: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
        """(row, spike times in seconds) for each selected row, one unit in memory at a time."""
        units = self.units
        ends = np.asarray(units.spike_times_index.data[:], dtype=np.int64)
        data = units.spike_times.data
        for row in rows:
            start = int(ends[row - 1]) if row > 0 else 0
            yield int(row), np.asarray(data[start : int(ends[row])], dtype=np.float64)

    def unit_columns(self) -> dict[str, np.ndarray]:
        """One value per unit: the table's scalar columns, and each unit's electrode location and group."""
        units = self.units
        columns: dict[str, np.ndarray] = {}
        for name in units.colnames:
            if name in _NOT_COORDS or f"{name}_index" in units.colnames:
                continue
            values = np.asarray(units[name].data[:])
            if values.ndim == 1 and values.dtype.kind in "biufUSO":
                columns[name] = _as_labels(values)
        columns.update(self._electrode_columns(units))
        return columns

    def _electrode_columns(self, units) -> dict[str, np.ndarray]:
        n = len(units.id)
        if "electrodes" in units.colnames:
            locations, groups = [], []
            for i in range(n):
                rows = units["electrodes"][i]
                locations.append(str(rows["location"].iloc[0]) if "location" in rows and len(rows) else "")
                group = rows["group_name"].iloc[0] if "group_name" in rows and len(rows) else ""
                groups.append(str(group))
            return {"location": np.array(locations), "electrode_group": np.array(groups)}
        if "electrode_group" in units.colnames:
            groups = units["electrode_group"].data[:]
            return {
                "location": np.array([str(g.location) for g in groups]),
                "electrode_group": np.array([g.name for g in groups]),
            }
        return {}

    def select_units(self, filters: list[str]) -> np.ndarray:
        """Row numbers of the units that pass every `COLUMN OP VALUE` filter (==, !=, <, <=, >, >=)."""
        columns = self.unit_columns()
        keep = np.ones(len(self.unit_ids()), dtype=bool)
        for text in filters:
            match = _FILTER.match(text)
            if not match:
                raise self.fail(
                    f"{text!r} is not a filter COLUMN OP VALUE", "units_filter", "e.g. --units-filter 'quality == good'"
                )
            name, op, value = match[1], match[2], match[3].strip("'\"")
            if name not in columns:
                raise self.fail(
                    f"the Units table has no column {name!r} (it has: {', '.join(sorted(columns)) or 'none'})",
                    "units_filter",
                    "filter on one of the listed columns",
                )
            keep &= self._compare(name, columns[name], op, value)
        if not keep.any():
            raise self.fail("no unit passes the units filter", "units_filter", "loosen --units-filter")
        return np.flatnonzero(keep)

    def _compare(self, name: str, values: np.ndarray, op: str, text: str) -> np.ndarray:
        """A number against a numeric column; a text column only with == or !=."""
        if values.dtype.kind in "biuf":
            try:
                value: object = float(text)
            except ValueError:
                raise self.fail(
                    f"column {name!r} holds numbers, and {text!r} is not one", "units_filter", f"e.g. --units-filter '{name} > 3'"
                ) from None
        elif op in ("==", "!="):
            value, values = text, values.astype(str)
        else:
            raise self.fail(
                f"column {name!r} holds text: compare it with == or !=, not {op}",
                "units_filter",
                f"e.g. --units-filter '{name} == good'",
            )
        return np.asarray(_OPS[op](values, value), dtype=bool)

    def recording_end(self, presentations: Presentations) -> float:
        """Where the recording ends: the units' observation intervals when the file has them, else the
        later of the last spike and the last presentation's stop time."""
        units = self.units
        if "obs_intervals" in units.colnames:
            return float(np.max(units.obs_intervals.data[:]))
        ends = np.asarray(units.spike_times_index.data[:], dtype=np.int64)
        data = units.spike_times.data
        lasts = [float(data[int(end) - 1]) for end, before in zip(ends, np.r_[0, ends[:-1]]) if end > before]
        return max([*lasts, float(np.max(presentations.stops, initial=0.0))])

    # --- presentations -----------------------------------------------------------------------------

    def interval_tables(self) -> dict:
        tables = dict(self.nwb.intervals or {})
        for name in ("trials", "epochs"):
            table = getattr(self.nwb, name, None)
            if table is not None:
                tables.setdefault(name, table)
        return {name: table for name, table in tables.items() if name != "invalid_times"}

    def presentations(self, table: str | None, column: str | None) -> Presentations:
        tables = self.interval_tables()
        if not tables:
            raise self.fail(
                "the file has no stimulus presentations: no intervals table (trials, epochs or a TimeIntervals under intervals/)",
                "presentations",
                "add a TimeIntervals table with start_time, stop_time and a stimulus column, one row per presentation",
            )
        name = table or _default_table(tables)
        if name not in tables:
            raise self.fail(
                f"no intervals table {name!r} (the file has: {', '.join(sorted(tables))})",
                "presentations",
                "name one of the listed tables with --presentations",
            )
        intervals = tables[name]
        chosen = column or next((c for c in STIMULUS_COLUMNS if c in intervals.colnames), None)
        if chosen is None or chosen not in intervals.colnames:
            found = ", ".join(intervals.colnames)
            said = f"no column {chosen!r}" if chosen else f"no stimulus column (looked for {', '.join(STIMULUS_COLUMNS)})"
            raise self.fail(
                f"intervals table {name!r} has {said}; its columns are: {found}",
                "stimulus_column",
                "name the column that identifies the image of each presentation with --stimulus-column",
            )
        onsets = np.asarray(intervals["start_time"].data[:], dtype=np.float64)
        stops = np.asarray(intervals["stop_time"].data[:], dtype=np.float64)
        stimuli = _as_labels(np.asarray(intervals[chosen].data[:]))
        order = np.argsort(onsets, kind="stable")
        return Presentations(name, chosen, onsets[order], stops[order], stimuli[order])

    # --- identity and images -------------------------------------------------------------------------

    def provenance(self) -> dict:
        """The session as the NWB file names it: identifier, session, subject, and the file's sha256."""
        nwb, subject = self.nwb, self.nwb.subject
        found = {
            "identifier": nwb.identifier,
            "session_id": nwb.session_id,
            "session_description": nwb.session_description,
            "session_start_time": nwb.session_start_time.isoformat() if nwb.session_start_time else None,
            "subject_id": getattr(subject, "subject_id", None),
            "species": getattr(subject, "species", None),
            "file": self.path.name,
            "file_sha256": file_sha256(self.path),
        }
        return {k: str(v) for k, v in found.items() if v not in (None, "")}

    def species(self) -> str | None:
        """The subject's species in the catalogue's vocabulary ('Macaca mulatta' -> macaca_mulatta)."""
        species = getattr(self.nwb.subject, "species", None)
        return re.sub(r"[\s-]+", "_", str(species).strip()).lower() if species else None

    def stimulus_images(self) -> dict[str, np.ndarray]:
        """The file's own stimulus images (`stimulus_template` Images), by name; {} when it has none."""
        images: dict[str, np.ndarray] = {}
        for container in (self.nwb.stimulus_template or {}).values():
            for name, image in getattr(container, "images", {}).items():
                images[str(name)] = np.asarray(image.data[:])
        return images


def _default_table(tables: dict) -> str:
    with_stimuli = [n for n, t in tables.items() if any(c in t.colnames for c in STIMULUS_COLUMNS)]
    for name in PRESENTATION_TABLES:
        if name in with_stimuli:
            return name
    return with_stimuli[0] if len(with_stimuli) == 1 else sorted(tables)[0]


def _as_labels(values: np.ndarray) -> np.ndarray:
    """Bytes and objects as str; numbers and booleans as they are."""
    if values.dtype.kind == "S":
        return values.astype(str)
    if values.dtype.kind == "O":
        return np.array([v.decode() if isinstance(v, bytes) else str(v) for v in values])
    return values


_OPS = {"==": np.equal, "!=": np.not_equal, ">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}
