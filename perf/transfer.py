"""Push and pull throughput of a large assembly, against `cp -r` of the same store measured in the
same run (machines are noisy; the ratios are the figure), then against a moto S3 server (MB/s).

    python perf/transfer.py            # 1 GB float32 assembly
    python perf/transfer.py --gb 0.25  # a quicker look
    python perf/transfer.py --no-s3    # local remote only

Pull is timed as DVC's transfer and checkout, and separately with the logical-hash verification
every `bsr pull` performs.
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
from brainscore_registry.synthetic.experiment import write_synthetic_experiment  # noqa: E402
from perf.register import make_assembly, neural_meta  # noqa: E402
from tests.s3 import MotoServer, s3_client  # noqa: E402


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def drop_local(registry: Registry, stored) -> None:
    shutil.rmtree(registry.root / stored.path)
    shutil.rmtree(Path(os.environ["BSR_HOME"]) / "cache")


def measure(registry: Registry, stored, remote: str | None) -> tuple[float, float, float]:
    push = timed(lambda: registry.storage.push([stored.dvc.file], remote))
    drop_local(registry, stored)
    pull = timed(lambda: registry.storage.pull([stored.dvc.file], remote))
    verify = timed(lambda: store_digest(registry.root / stored.path))
    return push, pull, verify


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

        t_cp = timed(lambda: subprocess.run(["cp", "-r", str(store), str(work / "copy.zarr")], check=True))
        shutil.rmtree(work / "copy.zarr")
        push, pull, verify = measure(registry, stored, None)
        rows = [
            ("cp -r (baseline)", t_cp),
            ("push, local remote", push),
            ("pull, local remote", pull),
            ("pull + verify (bsr pull)", pull + verify),
        ]
        if not args.no_s3:
            server = MotoServer()
            s3_client(server.endpoint).create_bucket(Bucket="perf")
            registry.storage.add_remote("s3", "s3://perf/registry", endpoint_url=server.endpoint)
            s3_push, s3_pull, s3_verify = measure(registry, stored, "s3")
            rows += [("push, moto S3", s3_push), ("pull, moto S3", s3_pull), ("pull + verify, moto S3", s3_pull + s3_verify)]
        print(f"{'step':<28}{'seconds':>9}{'MB/s':>9}{'÷ cp -r':>10}")
        for name, seconds in rows:
            print(f"{name:<28}{seconds:>9.2f}{mb / seconds:>9.0f}{seconds / t_cp:>10.2f}")
        print(
            f"\nfigure: push = {push / t_cp:.2f}× and pull = {pull / t_cp:.2f}× the time of cp -r (aim <= 2×); "
            f"with verification, pull = {(pull + verify) / t_cp:.2f}×"
        )
    finally:
        if server:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
