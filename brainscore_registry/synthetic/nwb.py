"""Large synthetic NWB sessions, for the memory test and `perf/import_nwb.py`: a session with as many
spike times as asked for (a gigabyte and more), written without holding them in memory.

pynwb writes the file (subject, electrodes, Units with one spike per unit, the presentations table);
then the Units table's ragged `spike_times` column and its index are rewritten in place with h5py, one
unit's train at a time, keeping their NWB attributes and the index's reference to its target: what
pynwb itself would have written for the full trains, which it can only take from memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class LargeSession:
    path: Path
    units: int
    spikes: int
    presentations: int
    stimuli: list[str]


def unit_train(unit: int, spikes: int, duration: float) -> np.ndarray:
    """One unit's sorted spike times (seeded by the unit): what the file holds for it."""
    return np.sort(np.random.default_rng(unit).uniform(0.0, duration, spikes))


def write_large_session(
    path: Path, *, units: int, spikes_per_unit: int, presentations: int, n_stimuli: int = 100
) -> LargeSession:
    import h5py
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.epoch import TimeIntervals
    from pynwb.file import Subject

    duration = 0.25 * presentations + 1.0
    nwb = NWBFile(
        session_description="synthetic: uniform spike trains, one presentation every 250 ms",
        identifier=f"synthetic-large-{units}x{spikes_per_unit}",
        session_start_time=datetime(2026, 1, 1, tzinfo=timezone.utc),
        session_id="synthetic-large",
        subject=Subject(subject_id="synthetic", species="Macaca mulatta"),
    )
    for u in range(units):
        nwb.add_unit(spike_times=[0.0], id=u)
    stimuli = [f"s{i:04d}" for i in range(n_stimuli)]
    table = TimeIntervals(name="presentations", description="stimulus presentations")
    table.add_column(name="stimulus_id", description="which image")
    for i in range(presentations):
        onset = 0.5 + 0.25 * i
        table.add_row(start_time=onset, stop_time=onset + 0.2, stimulus_id=stimuli[i % n_stimuli])
    nwb.add_time_intervals(table)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    with h5py.File(path, "r+") as f:
        _rewrite_spike_times(f["units"], units, spikes_per_unit, duration)
    return LargeSession(path, units, units * spikes_per_unit, presentations, stimuli)


def _rewrite_spike_times(group, units: int, per_unit: int, duration: float) -> None:
    times_attrs = dict(group["spike_times"].attrs)
    index_attrs = {k: v for k, v in group["spike_times_index"].attrs.items() if k != "target"}
    del group["spike_times"], group["spike_times_index"]
    times = group.create_dataset("spike_times", shape=(units * per_unit,), dtype="f8", chunks=(min(1 << 20, units * per_unit),))
    for u in range(units):
        times[u * per_unit : (u + 1) * per_unit] = unit_train(u, per_unit, duration)
    index = group.create_dataset("spike_times_index", data=np.arange(1, units + 1, dtype=np.uint64) * per_unit)
    times.attrs.update(times_attrs)
    index.attrs.update(index_attrs)
    index.attrs["target"] = times.ref
