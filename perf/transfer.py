"""Push and pull throughput of a large assembly, against `cp -r` of the same store measured in the
same run (machines are noisy; the ratios are the figure), then against a moto S3 server (MB/s).

    python perf/transfer.py            # 1 GB float32 assembly
    python perf/transfer.py --gb 0.25  # a quicker look
    python perf/transfer.py --no-s3    # local remote only

Pull is timed three ways: DVC's own transfer and checkout (nothing checked); that, then the logical
hash (how a pull verified before the catalogue recorded file digests); and `bsr pull` itself, which
checks every file against its recorded sha256 as the bytes pass (from a directory remote, in the same
read that copies them).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from brainscore_registry import Registry, register_assembly, register_stimulus_set  # noqa: E402
from brainscore_registry.data.verification import store_digest  # noqa: E402
from brainscore_registry.store.transfers import pull  # noqa: E402
from brainscore_registry.synthetic.experiment import write_synthetic_experiment  # noqa: E402
from perf.register import make_assembly, neural_meta  # noqa: E402
from tests.s3 import MotoServer, s3_client  # noqa: E402

REPEAT = 3


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def drop_local(registry: Registry, stored) -> None:
    shutil.rmtree(registry.root / stored.path)
    shutil.rmtree(Path(os.environ["BSR_HOME"]) / "cache")


def best(fn, before=lambda: None, repeat: int = REPEAT) -> float:
    """The fastest of `repeat` runs of `fn`, each after `before` (untimed): the machines are noisy."""
    times = []
    for _ in range(repeat):
        before()
        times.append(timed(fn))
    return min(times)


def measure(registry: Registry, stored, remote: str | None) -> dict[str, float]:
    """Seconds (best of REPEAT) for: push; DVC's own pull (transfer + checkout, nothing checked); that
    pull followed by the logical hash (how `bsr pull` verified before file digests, and still does for
    versions without them); and `bsr pull` itself (every file checked against its recorded sha256)."""
    push = timed(lambda: registry.storage.push([stored.dvc.file], remote))
    dvc_pull = best(lambda: registry.storage.pull([stored.dvc.file], remote), lambda: drop_local(registry, stored))
    logical = best(lambda: store_digest(registry.root / stored.path))
    bsr_pull = best(lambda: pull(registry, [str(stored.version)], remote), lambda: drop_local(registry, stored))
    return {"push": push, "dvc pull": dvc_pull, "dvc pull + logical hash": dvc_pull + logical, "bsr pull (verified)": bsr_pull}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gb", type=float, default=1.0)
    parser.add_argument("--no-s3", action="store_true")
    parser.add_argument("--dir", type=Path, default=None, help="working directory (default: a temporary one)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bsr-transfer-", dir=args.dir))
    os.environ["BSR_HOME"] = str(work / "home")
    os.environ.update(AWS_ACCESS_KEY_ID="perf", AWS_SECRET_ACCESS_KEY="perf", AWS_EC2_METADATA_DISABLED="true")
    server = None
    try:
        raw = write_synthetic_experiment(work / "raw", n_stimuli=64, n_repetitions=1)
        registry = Registry.init(work / "registry")
        register_stimulus_set(raw.stimuli_dir, raw.table, raw.stimuli_meta, registry=registry)
        da = make_assembly(args.gb, "random", [f"syn{i:04d}" for i in range(64)])
        stored = register_assembly(da, neural_meta(raw, work), registry=registry).stored
        del da
        mb = stored.stored_bytes / 1e6
        store = registry.root / stored.path
        print(f"store: {mb:,.0f} MB in {stored.files} files ({store})")

        t_cp = best(
            lambda: subprocess.run(["cp", "-r", str(store), str(work / "copy.zarr")], check=True),
            lambda: shutil.rmtree(work / "copy.zarr", ignore_errors=True),
        )
        shutil.rmtree(work / "copy.zarr")
        local = measure(registry, stored, None)
        rows = [("cp -r (baseline)", t_cp), *((f"{name}, local remote", seconds) for name, seconds in local.items())]
        if not args.no_s3:
            server = MotoServer()
            s3_client(server.endpoint).create_bucket(Bucket="perf")
            registry.storage.add_remote("s3", "s3://perf/registry", endpoint_url=server.endpoint)
            rows += [(f"{name}, moto S3", seconds) for name, seconds in measure(registry, stored, "s3").items()]
        print(f"{'step':<40}{'seconds':>9}{'MB/s':>9}{'÷ cp -r':>10}")
        for name, seconds in rows:
            print(f"{name:<40}{seconds:>9.2f}{mb / seconds:>9.0f}{seconds / t_cp:>10.2f}")
        print(
            f"\nfigure: a verified pull (`bsr pull`) from the local remote = {local['bsr pull (verified)'] / t_cp:.2f}× the time "
            f"of cp -r (aim <= 2.5×); DVC's pull then the logical hash = {local['dvc pull + logical hash'] / t_cp:.2f}×; "
            f"push = {local['push'] / t_cp:.2f}×"
        )
    finally:
        if server:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
