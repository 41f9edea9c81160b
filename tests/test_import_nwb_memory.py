"""`bsr import nwb` streams: a session of more than a gigabyte of spike times is imported with a
peak memory of the output array's order, not the file's. Measured in a fresh process (the figure is
printed: `pytest -s` shows it)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from PIL import Image

from brainscore_registry.synthetic.nwb import write_large_session

from .nwb_files import META

pytestmark = pytest.mark.slow
UNITS, SPIKES_PER_UNIT, PRESENTATIONS, BINS = 200, 700_000, 20_000, "70:170,100:200"

MEASURE = textwrap.dedent("""
    import json, resource, sys
    from pathlib import Path
    from brainscore_registry.formats.nwb_import import import_nwb
    from brainscore_registry.formats.spike_counts import parse_time_bins
    from brainscore_registry.store.registry import Registry
    registry = Registry.init(sys.argv[1])
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result = import_nwb(Path(sys.argv[2]), Path(sys.argv[3]), parse_time_bins(sys.argv[4]), registry=registry,
                        stimuli_dir=Path(sys.argv[5]))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"baseline": baseline, "peak": peak, "spikes": result.spikes}))
""")


def test_a_gigabyte_of_spike_times_imports_within_twice_the_output_plus_200_mb(tmp_path):
    session = write_large_session(
        tmp_path / "large.nwb", units=UNITS, spikes_per_unit=SPIKES_PER_UNIT, presentations=PRESENTATIONS
    )
    spike_bytes = session.spikes * 8
    assert spike_bytes >= 1 << 30 and (tmp_path / "large.nwb").stat().st_size >= 1 << 30
    images = tmp_path / "images"
    images.mkdir()
    rows = ["stimulus_id,filename"]
    for stimulus in session.stimuli:
        Image.new("RGB", (8, 8), (len(rows), 0, 0)).save(images / f"{stimulus}.png")
        rows.append(f"{stimulus},{stimulus}.png")
    (images / "stimuli.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "meta.yaml").write_text(META.replace("6 random 24 px images", "100 synthetic 8 px images"))
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(tmp_path / "registry"), str(session.path), str(tmp_path / "meta.yaml"), BINS,
         str(images)], capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    assert measured["spikes"] == session.spikes
    output = PRESENTATIONS * UNITS * 2 * 4  # float32 counts, 2 bins
    grown = measured["peak"] - measured["baseline"]
    print(
        f"\n{spike_bytes / 2**30:.2f} GiB of spike times, output {output / 2**20:.1f} MiB: "
        f"peak RSS {measured['peak'] / 2**20:.0f} MiB "
        f"({measured['baseline'] / 2**20:.0f} MiB with the libraries loaded, +{grown / 2**20:.0f} MiB for the import); "
        f"bound 2 × output + 200 MiB = {(2 * output + (200 << 20)) / 2**20:.0f} MiB"
    )
    assert grown < 2 * output + (200 << 20)
