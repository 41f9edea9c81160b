"""`bsr import nwb`: one NWB session to one stimulus set and one neural assembly, pinned to each other.

The spike counts are computed unit by unit (`spike_counts`), repetitions are numbered per stimulus in
presentation order, the Units table's per-unit columns (quality, location, electrode group, ...) become
neuroid coordinates, and the session's identity (NWB identifier, session, subject, the file's sha256)
is kept in the assembly's `nwb_*` attributes (strings, as a NetCDF file could hold them). The images
come from a directory and its table, from the NWB file's own `stimulus_template`, or from a stimulus
set already registered.

Everything that can be wrong with the inputs is found before anything is registered (see `pair`);
then the stimulus set and the assembly are registered exactly as `bsr register` does.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..data.png import deterministic_png
from ..errors import UserInputError
from ..progress import Progress
from ..store.registry import Registry
from .nwb_session import NwbSession, Presentations
from .pair import ImportMeta, RegisteredPair, register_pair, scratch_errors
from .spike_counts import count_in_windows, first_decrease, repetition_numbers, window_bounds


@dataclass(frozen=True)
class NwbImport:
    registered: RegisteredPair
    units: int
    presentations: int
    spikes: int


def import_nwb(
    session_path: Path,
    meta_path: Path,
    time_bins: list[tuple[int, int]],
    *,
    registry: Registry | str | Path | None = None,
    units_filter: list[str] = (),
    stimuli_dir: Path | None = None,
    stimuli_table: Path | None = None,
    presentations_table: str | None = None,
    stimulus_column: str | None = None,
    progress: Progress | None = None,
) -> NwbImport:
    """Count, check and register one session (see the module docstring); nothing is registered unless
    everything checks out."""
    registry = Registry.of(registry)
    registry.require_writable("import")
    meta = ImportMeta.read(Path(meta_path), "nwb")
    with NwbSession(session_path) as session:
        presentations = session.presentations(presentations_table, stimulus_column)
        rows = session.select_units(list(units_filter))
        _check_windows(session, presentations, time_bins)
        counts, spikes = _count(session, rows, presentations, time_bins, progress)
        meta = meta.with_assembly(**_assembly_fields(meta, session, time_bins))
        neural = _assembly(session, rows, presentations, counts, time_bins, meta.assembly)
        images = session.stimulus_images() if stimuli_dir is None and meta.pinned is None else {}
    with tempfile.TemporaryDirectory(prefix="bsr-nwb-images-") as scratch:
        files = None if meta.pinned is not None else _image_files(stimuli_dir, stimuli_table, images, Path(scratch), session_path)
        with scratch_errors(Path(scratch), Path(session_path), "stimulus_template"):
            registered = register_pair(neural, meta, files, registry=registry, source=Path(session_path), progress=progress)
    return NwbImport(registered, len(rows), len(presentations.onsets), spikes)


def _check_windows(session: NwbSession, presentations: Presentations, bins: list[tuple[int, int]]) -> None:
    """Every window lies inside the recording: a bin before time 0 or after the recording's end would
    count silence as zero spikes."""
    lower, upper = window_bounds(presentations.onsets, bins)
    end = session.recording_end(presentations)
    outside = np.flatnonzero((lower < 0).any(axis=1) | (upper > end).any(axis=1))
    if outside.size:
        i = int(outside[0])
        raise session.fail(
            f"time bins of presentation {i} ({str(presentations.stimulus_ids[i])!r}, onset {presentations.onsets[i]:.4f} s) "
            f"reach outside the recording [0, {end:.4f}] s ({outside.size} presentation(s) in all)",
            "time_bins",
            "choose bins that end before the recording does, or filter out presentations made after it ends",
        )


def _count(
    session: NwbSession, rows: np.ndarray, presentations: Presentations, bins: list[tuple[int, int]], progress: Progress | None
) -> tuple[np.ndarray, int]:
    """presentation × unit × bin spike counts (float32), one unit's train in memory at a time."""
    lower, upper = window_bounds(presentations.onsets, bins)
    counts = np.empty((len(presentations.onsets), len(rows), len(bins)), dtype=np.float32)
    ids = session.unit_ids()
    spikes = 0
    for column, (row, train) in enumerate(session.spike_trains(rows)):
        bad = first_decrease(train)
        if bad is not None:
            raise session.fail(
                f"the spike times of unit {ids[row]} are not sorted "
                f"(spike {bad}: {train[bad]:.6f} s after {train[bad - 1]:.6f} s)",
                "spike_times",
                "sort each unit's spike times in ascending order (NWB requires it) and write the file again",
            )
        counts[:, column, :] = count_in_windows(train, lower, upper)
        spikes += train.size
        if progress:
            progress("count spikes", column + 1, len(rows))
    return counts, spikes


def _assembly_fields(meta: ImportMeta, session: NwbSession, bins: list[tuple[int, int]]) -> dict:
    """Kind, modality and bins set; the species taken from the NWB Subject when the metadata leave it out
    (and checked against it when they do not)."""
    given, species = meta.assembly.get("species"), session.species()
    if species and given is not None and given != species:
        raise UserInputError(
            f"species {given!r} differs from the NWB Subject's {species!r}",
            file=meta.path,
            field="species",
            fix="leave species out to take the file's, or correct whichever is wrong",
        )
    fields = {"kind": "neural", "modality": meta.assembly.get("modality", "spikes"), "time_bins": [list(b) for b in bins]}
    return {**fields, **({"species": species} if given is None and species else {})}


def _assembly(
    session: NwbSession, rows: np.ndarray, presentations: Presentations, counts: np.ndarray, bins, meta: dict
) -> xr.DataArray:
    columns = {name: values[rows] for name, values in session.unit_columns().items()}
    regions = meta.get("regions") or []
    region = columns.get("location") if len(regions) > 1 else None
    stimuli = presentations.stimulus_ids.astype(str)
    da = xr.DataArray(
        counts,
        dims=("presentation", "neuroid", "time_bin"),
        coords={
            "stimulus_id": ("presentation", stimuli),
            "repetition": ("presentation", repetition_numbers(stimuli)),
            "onset_time": ("presentation", presentations.onsets),
            "neuroid_id": ("neuroid", session.unit_ids()[rows].astype(str)),
            **{name: ("neuroid", values) for name, values in columns.items() if name not in ("neuroid_id", "region")},
            **({"region": ("neuroid", region.astype(str))} if region is not None else {}),
            "time_bin_start": ("time_bin", [b[0] for b in bins]),
            "time_bin_end": ("time_bin", [b[1] for b in bins]),
        },
        attrs={f"nwb_{key}": value for key, value in session.provenance().items()},  # flat: a NetCDF can hold them
    )
    return da


def _image_files(
    directory: Path | None, table: Path | None, images: dict[str, np.ndarray], scratch: Path, session_path: Path
) -> tuple[Path, Path]:
    """The stimulus directory and table to register: the user's, or the NWB file's images as PNGs."""
    if directory is not None:
        if table is None:
            table = directory / "stimuli.csv"
        return directory, table
    if not images:
        raise UserInputError(
            "no stimulus images: the file has no stimulus_template Images and no --stimuli directory was given",
            file=session_path,
            field="stimuli",
            fix="give --stimuli DIR (with DIR/stimuli.csv: stimulus_id, filename), or name a registered set in the metadata",
        )
    names = sorted(images)
    files = [f"image_{i:05d}.png" for i in range(len(names))]
    for name, filename in zip(names, files):
        (scratch / filename).write_bytes(deterministic_png(_rgb(images[name])))
    pd.DataFrame({"stimulus_id": names, "filename": files}).to_csv(scratch / "stimuli.csv", index=False)
    return scratch, scratch / "stimuli.csv"


def _rgb(pixels: np.ndarray) -> np.ndarray:
    """Grayscale, RGB or RGBA pixels (uint8, or floats in [0, 1]) as 8-bit RGB."""
    pixels = np.asarray(pixels)
    if pixels.dtype.kind == "f":
        pixels = np.clip(np.round(pixels * 255), 0, 255)
    pixels = pixels.astype(np.uint8)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    return pixels[:, :, :3]
