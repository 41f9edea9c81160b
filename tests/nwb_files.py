"""NWB sessions written by the real pynwb, for the import tests: units with spike times (one silent),
a stimulus-presentation table with 3 repetitions in shuffled order, a subject, electrodes and,
optionally, the stimulus images inside the file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

IMAGE_SIZE = 24


@dataclass
class Session:
    """What a test session holds, in plain numpy, for an independent count."""

    path: Path
    unit_ids: list[int]
    spike_times: list[np.ndarray]
    quality: list[str]
    onsets: np.ndarray
    stops: np.ndarray
    stimulus_ids: list[str]
    images: dict[str, np.ndarray] = field(default_factory=dict)


def images_of(n_stimuli: int, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {f"im{i:02d}": rng.integers(0, 256, (IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8) for i in range(n_stimuli)}


def write_session(
    path: Path,
    *,
    n_stimuli: int = 6,
    repetitions: int = 3,
    n_units: int = 5,
    seed: int = 0,
    with_images: bool = True,
    with_units: bool = True,
    with_presentations: bool = True,
    stimulus_column: str = "stimulus_id",
    unsorted_unit: int | None = None,
    species: str | None = "Macaca mulatta",
) -> Session:
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.base import Images
    from pynwb.epoch import TimeIntervals
    from pynwb.file import Subject
    from pynwb.image import RGBImage

    rng = np.random.default_rng(seed)
    subject = Subject(subject_id="monkey-1", species=species) if species else Subject(subject_id="monkey-1")
    nwb = NWBFile(
        session_description="passive fixation, images at the receptive field centre",
        identifier=f"test-session-{seed}",
        session_start_time=datetime(2024, 3, 25, 10, 0, tzinfo=timezone.utc),
        session_id="session-210325",
        subject=subject,
    )
    stimuli = [f"im{i:02d}" for i in range(n_stimuli)]
    order = np.array(stimuli * repetitions)[rng.permutation(n_stimuli * repetitions)]  # shuffled repetitions
    onsets = 0.5 + 0.4 * np.arange(len(order)) + rng.uniform(0, 0.05, len(order))
    stops = onsets + 0.3
    end = float(stops[-1])  # the last presentation ends where the recording does
    spike_times = []
    for u in range(n_units):
        if u == 1:
            spike_times.append(np.array([], dtype=np.float64))  # a unit with no spikes
            continue
        times = np.sort(rng.uniform(0, end, int(rng.integers(80, 200))))
        near = onsets[rng.integers(0, len(onsets), 30)] + rng.choice([0.07, 0.17, 0.1, 0.2], 30)  # on bin edges
        times = np.sort(np.concatenate([times, near[near < end]]))
        if u == unsorted_unit:
            times = times[::-1].copy()
        spike_times.append(times)
    quality = ["good" if u % 2 == 0 else "mua" for u in range(n_units)]
    if with_units:
        device = nwb.create_device(name="array")
        group = nwb.create_electrode_group(name="shank0", description="Utah array", location="V4", device=device)
        for _ in range(n_units):
            nwb.add_electrode(group=group, location="V4")
        nwb.add_unit_column(name="quality", description="curation label")
        for u in range(n_units):
            nwb.add_unit(spike_times=spike_times[u], quality=quality[u], electrodes=[u], id=100 + u)
    if with_presentations:
        table = TimeIntervals(name="presentations", description="stimulus presentations")
        table.add_column(name=stimulus_column, description="which image")
        for onset, stop, stimulus in zip(onsets, stops, order):
            table.add_row(start_time=float(onset), stop_time=float(stop), **{stimulus_column: str(stimulus)})
        nwb.add_time_intervals(table)
    images = images_of(n_stimuli) if with_images else {}
    if images:
        nwb.add_stimulus_template(
            Images(name="stimuli", images=[RGBImage(name=k, data=v) for k, v in images.items()], description="the images")
        )
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return Session(path, [100 + u for u in range(n_units)], spike_times, quality, onsets, stops, list(order), images)


META = """\
identifier: Test2024.V4_session
description: "Spike counts of 5 V4 units in one monkey, 6 images, 3 repetitions."
regions: [V4]
citation: "Test A (2024). A test session."
license: CC0-1.0
provenance:
  source: https://dandiarchive.org/dandiset/000000
  revision: "draft (2024-03-25)"
stimulus_set:
  identifier: Test2024.images
  description: "6 random 24 px images."
  visual_degrees: 8
"""


def write_meta(path: Path, text: str = META) -> Path:
    path.write_text(text)
    return path
