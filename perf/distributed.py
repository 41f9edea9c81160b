"""`bsr run` on a 2-worker LocalCluster against a sequential `bsr score` loop, in one run.

    python perf/distributed.py               # 3 models × the 11 published benchmarks (raw data present)
    python perf/distributed.py --synthetic   # 3 models × the demo's synthetic benchmarks
    python perf/distributed.py --workers 4

Both arms start from empty caches (their own $BSR_HOME; the registry's data are local to both) and
score every pair once: the sequential arm runs `bsr score -m CARD -b ...all...` once per model (the
machine's default thread count), the other `bsr run` with `--workers` one-thread processes. Printed:
the ratio, where `bsr run`'s time goes (stage 1 wall, extraction and metric task-seconds, the rest:
cluster start, transfers, signing), the sharing of extractions, and the per-task costs that the
README's estimate for Brain-Score's scale is computed from (printed too).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BSR = str(Path(sys.executable).parent / "bsr")
CARDS = [ROOT / "examples" / "models" / name / "card.yaml" for name in ("convnet4", "widenet", "resnet18")]


def published_registry(directory: Path) -> Path:
    from brainscore_registry.packaging.build import PACKAGES, build
    from brainscore_registry.store.registry import Registry

    registry = Registry.init(directory / "published")
    for name in PACKAGES:
        build(name, registry)
    return registry.root


def synthetic_registry(directory: Path, env: dict) -> Path:
    subprocess.run([BSR, "demo", "--workdir", str(directory / "demo"), "--raw", str(directory / "none"), "--json"],
                   env=env, check=True, capture_output=True)  # fmt: skip
    return directory / "demo" / "registry"


def timed(command: list[str], env: dict) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started, done.stdout


def store_bytes(root: Path) -> int:
    return sum(p.stat().st_size for d in ("assemblies", "stimulus_sets") for p in (root / d).rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--synthetic", action="store_true", help="the demo's synthetic set even when raw data are present")
    args = parser.parse_args()
    from brainscore_registry.packaging.build import raw_available

    with tempfile.TemporaryDirectory(prefix="bsr-perf-distributed-") as scratch:
        scratch = Path(scratch)
        base = {**os.environ, "DVC_NO_ANALYTICS": "1", "BSR_NO_SCORE_CACHE": "1", "BSR_HOME": str(scratch / "setup_home")}
        os.environ.update(base)
        real = raw_available() and not args.synthetic
        root = published_registry(scratch) if real else synthetic_registry(scratch, base)
        from brainscore_registry.benchmarks.specs import list_specs

        ids = [s.id for s in list_specs(root)]
        print(f"{len(CARDS)} models × {len(ids)} {'published' if real else 'synthetic'} benchmarks, {os.cpu_count()} cores")
        sequential = 0.0
        env_a = {**base, "BSR_HOME": str(scratch / "home_sequential")}
        for card in CARDS:
            seconds, _ = timed([BSR, "--registry", str(root), "score", "-m", str(card), *[a for b in ids for a in ("-b", b)],
                                "--json"], env_a)  # fmt: skip
            sequential += seconds
            print(f"  bsr score -m {card.parent.name}: {seconds:.1f} s")
        env_b = {**base, "BSR_HOME": str(scratch / "home_run")}
        command = [BSR, "--registry", str(root), "run", *[a for c in CARDS for a in ("-m", str(c))], "-b", "*",
                   "--workers", str(args.workers), "--out", str(scratch / "run_records"), "--json"]  # fmt: skip
        wall, stdout = timed(command, env_b)
        summary = json.loads(stdout)
        report(summary, sequential, wall, args.workers, len(ids), store_bytes(root))


def report(summary: dict, sequential: float, wall: float, workers: int, benchmarks: int, data_bytes: int) -> None:
    pairs = len(summary["records"])
    ex, seconds = summary["extractions"], summary["seconds"]
    extractions = summary["tasks"]["extract"]["total"]
    print(f"sequential bsr score loop: {sequential:.1f} s")
    print(f"bsr run, {workers} workers:     {wall:.1f} s  → {sequential / wall:.2f}× the loop")
    rest = wall - seconds["prepare_wall"] - (ex["seconds"] + seconds["metric_tasks"]) / workers
    print("where bsr run's time goes:")
    print(f"  stage 1 (data pulled, verified and listed on workers): {seconds['prepare_wall']:.1f} s wall")
    print(f"  extraction tasks: {ex['seconds']:.1f} task-s for {extractions} extractions, {ex['images']:,} images "
          f"({ex['images'] / max(ex['seconds'], 1e-9):.0f} images/s per worker)")  # fmt: skip
    print(f"  metric tasks:     {seconds['metric_tasks']:.1f} task-s for {pairs} pairs")
    print(f"  the rest (cluster start, scheduling, transfers, signing, idle cores): {rest:.1f} s")
    print(f"sharing: {pairs} pairs needed {extractions} extractions ({pairs / max(extractions, 1):.2f} pairs per extraction)")
    per_extraction = ex["seconds"] / max(extractions, 1)
    per_metric = seconds["metric_tasks"] / max(pairs, 1)
    per_bytes = ex["bytes"] / max(extractions, 1)
    models = len(CARDS)
    per_model_per_benchmark = extractions / models / benchmarks
    print(f"per-task costs: {per_extraction:.2f} s per extraction, {per_metric:.2f} s per metric task, "
          f"{per_bytes / 1e6:.1f} MB of activations per extraction, {per_model_per_benchmark:.2f} extractions per "
          f"(model, benchmark), {data_bytes / 1e6:.1f} MB of benchmark data")  # fmt: skip
    big_models, big_benchmarks = 1000, 100
    n_extract = big_models * big_benchmarks * per_model_per_benchmark
    task_hours = (n_extract * per_extraction + big_models * big_benchmarks * per_metric) / 3600
    print(f"at Brain-Score's scale ({big_models:,} models × {big_benchmarks} benchmarks, these models' sizes): "
          f"{n_extract:,.0f} extractions, {task_hours:,.0f} task-hours")  # fmt: skip
    for n in (2, 32, 256):
        moved = n * data_bytes * big_benchmarks / benchmarks + n_extract * per_bytes
        print(f"  on {n:>3} workers: {task_hours / n:,.1f} h; at most {moved / 1e9:,.0f} GB moved "
              f"(each worker pulls every benchmark's data once; each extraction's activations cross once)")  # fmt: skip
    print(f"  activation cache: {n_extract * per_bytes / 1e9:,.0f} GB (float32; less with a card's `reduction`)")


if __name__ == "__main__":
    main()
