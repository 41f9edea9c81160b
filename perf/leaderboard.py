"""Building the leaderboard site for many models: 200 models × 50 benchmarks of synthetic signed records
by default (brainscore_registry/synthetic/records.py), against writing the same records' bytes to
disk in the same run (the machines are noisy; the ratio is the figure).

    python perf/leaderboard.py                       # 200 × 50 = 10,000 records
    python perf/leaderboard.py --models 20 --benchmarks 10

Prints the build time (goal: under 30 s on 2 cores), the pages and bytes written, and the largest page.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from brainscore_registry.reports.site import build_site  # noqa: E402
from brainscore_registry.runs.trust import TrustedKey, TrustPolicy  # noqa: E402
from brainscore_registry.store.registry import Registry  # noqa: E402
from brainscore_registry.synthetic.records import synthetic_record, synthetic_spec  # noqa: E402


def write_records(directory: Path, models: int, benchmarks: int, key: Ed25519PrivateKey) -> list[bytes]:
    """One record per model × benchmark (a few missing, as on a real board); returns their bytes."""
    rng = np.random.default_rng(0)
    specs = [synthetic_spec(i) for i in range(benchmarks)]
    directory.mkdir(parents=True)
    written = []
    for m in range(models):
        quality = rng.uniform(0.1, 0.9)
        for b, spec in enumerate(specs):
            if rng.random() < 0.05:
                continue
            value = float(np.clip(quality + 0.1 * rng.standard_normal(), 0, 1))
            record = synthetic_record(f"Synthetic-net-{m:03d}", spec, value, key, m * 1000 + b, "2026-12-01T12:00:00+00:00")
            data = json.dumps(record, indent=2).encode()
            (directory / f"{spec['id']}--{m:03d}.json").write_bytes(data)
            written.append(data)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--benchmarks", type=int, default=50)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bsr-perf-leaderboard-"))
    try:
        key = Ed25519PrivateKey.generate()
        payloads = write_records(work / "records", args.models, args.benchmarks, key)
        start = time.perf_counter()
        for i, data in enumerate(payloads):
            (work / "copy" / f"{i}.json").parent.mkdir(exist_ok=True)
            (work / "copy" / f"{i}.json").write_bytes(data)
        t_copy = time.perf_counter() - start
        registry = Registry.init(work / "registry")
        policy = TrustPolicy((TrustedKey.of(key.public_key(), "--trusted-key", None),), explicit=True)
        start = time.perf_counter()
        summary = build_site(registry, [work / "records"], work / "site", policy, "Scale run")
        t_build = time.perf_counter() - start
        pages = sorted((work / "site").rglob("*.html"), key=lambda p: p.stat().st_size)
        total = sum(p.stat().st_size for p in (work / "site").rglob("*") if p.is_file())
        largest = pages[-1]
        print(f"{summary.models} models × {summary.columns} benchmarks, {summary.shown} signed records")
        print(f"build: {t_build:.1f} s (goal < 30 s); writing the records' bytes alone: {t_copy:.2f} s ({t_build / t_copy:.0f}×)")
        where, size = largest.relative_to(work / "site"), largest.stat().st_size / 1e6
        print(f"{len(pages)} pages, {total / 1e6:.1f} MB in all; largest: {where} {size:.2f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
