"""Registration throughput for a large float32 neural assembly, against a plain `np.save` of the
same array measured in the same run (machines are noisy; only the ratios mean something).

    python perf/register.py                 # 1 GB of random float32 (incompressible: the worst case)
    python perf/register.py --data counts   # 1 GB of Poisson spike counts stored as float32
    python perf/register.py --gb 0.25       # smaller, for a quick look

Prints MB/s for: np.save (baseline), the logical hash (in memory), writing the zarr store (shard files
written directly, and the same store written by zarr-python's own writer, for comparison), re-reading
+ re-hashing it, and the whole `register_assembly` call; then each as a ratio of np.save.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr
import yaml

from brainscore_registry import Registry, load_assembly, logical_hash, register_assembly, register_stimulus_set
from brainscore_registry.data import zarr_io
from brainscore_registry.data.zarr_io import io_settings, normalize_strings, open_store, read_store, sync_tree, write_store
from brainscore_registry.store.integrity import check_local, verify_fully
from brainscore_registry.synthetic.experiment import write_synthetic_experiment


def make_assembly(gb: float, data: str, stimulus_ids: list[str]) -> xr.DataArray:
    n_neuroids, n_bins = 1000, 64
    n_presentations = int(gb * 1e9 / (4 * n_neuroids * n_bins))
    rng = np.random.default_rng(0)
    shape = (n_presentations, n_neuroids, n_bins)
    values = rng.standard_normal(shape, dtype=np.float32) if data == "random" else rng.poisson(3.0, shape).astype(np.float32)
    n_stim = len(stimulus_ids)
    return xr.DataArray(
        values,
        dims=("presentation", "neuroid", "time_bin"),
        coords={
            "stimulus_id": ("presentation", [stimulus_ids[i % n_stim] for i in range(n_presentations)]),
            "repetition": ("presentation", np.arange(n_presentations) // n_stim),
            "neuroid_id": ("neuroid", [f"n{j:04d}" for j in range(n_neuroids)]),
            "region": ("neuroid", ["IT"] * n_neuroids),
            "time_bin_start": ("time_bin", np.arange(n_bins) * 10),
            "time_bin_end": ("time_bin", np.arange(n_bins) * 10 + 10),
        },
    )


def neural_meta(raw, work: Path) -> Path:
    """The synthetic experiment's neural metadata, for one IT population in 64 bins of 10 ms."""
    meta = yaml.safe_load(raw.neural_meta.read_text())
    meta.update(identifier="Perf.IT", regions=["IT"], time_bins=[[s, s + 10] for s in range(0, 640, 10)])
    path = work / "perf.yaml"
    path.write_text(yaml.safe_dump(meta))
    return path


def load_checks(registry, registration, mb: float) -> str:
    """What every load pays for "nothing unverified reaches a metric": the cheap check against the
    verified stamp, next to reading the store without any check, and a full re-verification (what a
    load costs once after the store changed)."""
    stored = registration.stored
    store = registry.layout.local_path(stored)
    t_read = timed(lambda: read_store(store), repeat=3)
    t_check = timed(lambda: check_local(registry.layout, stored), repeat=5)
    t_load = timed(lambda: load_assembly(str(stored.version), registry=registry), repeat=3)
    t_full = timed(lambda: verify_fully(registry.layout, stored))
    return (
        f"\nloading the {mb:,.0f} MB store: read alone {t_read:.2f} s; check against the stamp {t_check * 1e3:.1f} ms "
        f"({100 * t_check / t_read:.2f}% of a read; goal <= 5%); load_assembly with the check {t_load:.2f} s; "
        f"full re-verification, once after a change, {t_full:.2f} s"
    )


def timed(fn, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gb", type=float, default=1.0)
    parser.add_argument("--data", choices=["random", "counts"], default="random")
    parser.add_argument("--dir", type=Path, default=None, help="working directory (default: a temporary one)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bsr-perf-", dir=args.dir))
    try:
        raw = write_synthetic_experiment(work / "raw", n_stimuli=64, n_repetitions=1)
        registry = Registry.init(work / "registry")
        register_stimulus_set(raw.stimuli_dir, raw.table, raw.stimuli_meta, registry=registry)
        ids = [f"syn{i:04d}" for i in range(64)]
        da = make_assembly(args.gb, args.data, ids)
        mb = da.nbytes / 1e6
        meta_path = neural_meta(raw, work)
        print(f"assembly: {da.shape} float32, {mb:,.0f} MB ({args.data}); working in {work}")

        def save(durable: bool) -> None:
            np.save(work / "baseline.npy", da.values)
            if durable:
                sync_tree(work / "baseline.npy")
            (work / "baseline.npy").unlink()

        t_save = timed(lambda: save(False), repeat=2)
        t_save_sync = timed(lambda: save(True), repeat=2)
        ds = da.to_dataset(name="responses")
        t_hash = timed(lambda: logical_hash(ds))

        def write_once():
            target = work / "probe.zarr"
            shutil.rmtree(target, ignore_errors=True)
            write_store(ds, target)

        t_write = timed(write_once, repeat=2)
        direct = zarr_io._direct_layout
        zarr_io._direct_layout = lambda *args: None  # the same store, every shard written by zarr-python
        try:
            t_write_zarr = timed(write_once, repeat=2)
        finally:
            zarr_io._direct_layout = direct

        def verify() -> None:
            with io_settings():
                logical_hash(normalize_strings(open_store(work / "probe.zarr")))

        t_verify = timed(verify)
        shutil.rmtree(work / "probe.zarr")
        started = time.perf_counter()
        registration = register_assembly(da, meta_path, registry=registry)
        t_register = time.perf_counter() - started
        loads = load_checks(registry, registration, mb)

        rows = [
            ("np.save (baseline)", t_save),
            ("np.save + fsync (durable)", t_save_sync),
            ("logical hash, in memory", t_hash),
            ("write zarr store", t_write),
            ("  same, zarr-python's writer", t_write_zarr),
            ("re-read + re-hash store", t_verify),
            ("register_assembly, end to end", t_register),
        ]
        print(f"{'step':<32}{'seconds':>9}{'MB/s':>10}{'× np.save':>11}")
        for name, seconds in rows:
            print(f"{name:<32}{seconds:>9.2f}{mb / seconds:>10.0f}{t_save / seconds:>11.2f}")
        print(
            f"\nfigure: write MB/s / np.save MB/s = {t_save / t_write:.2f} (aim >= 0.5; "
            f"{t_save_sync / t_write:.2f} against a durable np.save + fsync, as the store is fsynced; "
            f"{t_save_sync / t_write_zarr:.2f} with zarr-python writing the shards); "
            f"hash MB/s / np.save MB/s = {t_save / t_hash:.2f}; "
            f"end-to-end registration (validate, hash, write, verify, publish) = {t_save / t_register:.2f}"
        )
        print(loads)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
