"""`bsr import nwb` on a large synthetic session: spikes per second against plain numpy, in one run.

    python perf/import_nwb.py                  # 200 units × 700,000 spikes (1.04 GiB), 20,000 presentations
    python perf/import_nwb.py --units 50       # a quicker look

The baseline is what a hand-written conversion does at best: every unit's spike train already in memory
as a numpy array, two `np.searchsorted` calls per unit over all windows. The import is measured twice:
its counting stage alone (reading each unit's train from the NWB file through pynwb and h5py, the order
check, the same two calls), and the whole command as a library call (counting, checks, registering the
images and the assembly). Both count the same spikes; the script checks that the counts are equal.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from brainscore_registry.formats import nwb_import  # noqa: E402
from brainscore_registry.formats.nwb_session import NwbSession  # noqa: E402
from brainscore_registry.formats.spike_counts import window_bounds  # noqa: E402
from brainscore_registry.synthetic.nwb import unit_train, write_large_session  # noqa: E402

BINS = [(70, 170), (100, 200)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--spikes-per-unit", type=int, default=700_000)
    parser.add_argument("--presentations", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bsr-perf-nwb-") as scratch:
        scratch = Path(scratch)
        session = write_large_session(
            scratch / "large.nwb", units=args.units, spikes_per_unit=args.spikes_per_unit, presentations=args.presentations
        )
        print(f"{session.spikes:,} spike times ({session.spikes * 8 / 2**30:.2f} GiB), {args.presentations:,} presentations")
        duration = 0.25 * args.presentations + 1.0
        trains = [unit_train(u, args.spikes_per_unit, duration) for u in range(args.units)]  # the baseline's input
        onsets = 0.5 + 0.25 * np.arange(args.presentations)
        lower, upper = window_bounds(onsets, BINS)
        started = time.perf_counter()
        baseline = np.stack([np.searchsorted(t, upper) - np.searchsorted(t, lower) for t in trains], axis=1)
        numpy_seconds = time.perf_counter() - started
        del trains
        with NwbSession(session.path) as nwb:
            presentations = nwb.presentations(None, None)
            rows = nwb.select_units([])
            started = time.perf_counter()
            counts, spikes = nwb_import._count(nwb, rows, presentations, BINS, None)
            count_seconds = time.perf_counter() - started
        assert np.array_equal(counts, baseline.astype(np.float32)) and spikes == session.spikes
        started = time.perf_counter()
        _import(scratch, session)
        whole_seconds = time.perf_counter() - started
        rate = session.spikes / 1e6
        print(f"numpy searchsorted, trains in memory: {numpy_seconds:6.2f} s  {rate / numpy_seconds:7.1f} M spikes/s")
        print(
            f"import's counting (read + check + count): {count_seconds:6.2f} s  {rate / count_seconds:7.1f} M spikes/s  "
            f"({count_seconds / numpy_seconds:.2f}× numpy's time)"
        )
        print(
            f"whole import (count, check, register):  {whole_seconds:6.2f} s  {rate / whole_seconds:7.1f} M spikes/s  "
            f"({whole_seconds / numpy_seconds:.2f}× numpy's time)"
        )


def _import(scratch: Path, session) -> None:
    from PIL import Image

    from brainscore_registry.store.registry import Registry

    images = scratch / "images"
    images.mkdir()
    rows = ["stimulus_id,filename"]
    for i, stimulus in enumerate(session.stimuli):
        Image.new("RGB", (8, 8), (i % 256, 0, 0)).save(images / f"{stimulus}.png")
        rows.append(f"{stimulus},{stimulus}.png")
    (images / "stimuli.csv").write_text("\n".join(rows) + "\n")
    meta = scratch / "meta.yaml"
    meta.write_text(
        "identifier: Perf2026.large\ndescription: synthetic session\nregions: [V4]\ncitation: none\nlicense: CC0-1.0\n"
        "provenance: {source: perf/import_nwb.py, revision: synthetic}\n"
        "stimulus_set: {identifier: Perf2026.images, description: synthetic images}\n"
    )
    nwb_import.import_nwb(session.path, meta, BINS, registry=Registry.init(scratch / "registry"), stimuli_dir=images)


if __name__ == "__main__":
    main()
