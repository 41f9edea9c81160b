"""The scoring service's latency under load, against scoring the same file in-process (same run).

    python perf/serve.py [--clients 20] [--per-client 10] [--jobs 0]

Builds the synthetic lab registry (tests/scoring_setup.py), starts `bsr serve` on 127.0.0.1 (SQLite,
precision 3) by its PID and measures:
- baseline: `compute_score` of the predictions file in this process, the work a submission costs
  without HTTP, database or signing (median of 20 runs, score cache off);
- one client, one submission at a time (20): the service's own overhead per submission;
- the bounded load: `clients` concurrent clients × `per_client` submissions (default 20 × 10 = 200),
  every account allowed all of them, p50 / p95 / max latency and throughput.
Ratios are against the baseline measured in the same run (the machines are noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.service_process import ServiceProcess, submit_load  # noqa: E402

BENCHMARK = "Syn.IT-ridge"


def lab(directory: Path) -> tuple[Path, Path]:
    from tests.scoring_setup import build_benchmark_registry
    from tests.service_process import STIMULI, random_responses

    registry = build_benchmark_registry(directory)
    path = directory / "predictions.nc"
    random_responses(STIMULI).to_netcdf(path)
    return registry.root, path


def in_process_seconds(registry: Path, path: Path, repeats: int = 20) -> float:
    from brainscore_registry.benchmarks.specs import find_spec
    from brainscore_registry.models.predictions import Predictions
    from brainscore_registry.runs.run import Subject, compute_score, local_benchmark_data
    from brainscore_registry.store.registry import Registry

    data = local_benchmark_data(Registry(registry), find_spec(registry, BENCHMARK))
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        compute_score(data, Subject.of_predictions(Predictions(path)))
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--per-client", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=0, help="bsr serve --jobs (0: one per core)")
    args = parser.parse_args()
    os.environ["BSR_NO_SCORE_CACHE"] = "1"
    with tempfile.TemporaryDirectory(prefix="bsr-perf-serve-") as tmp:
        directory = Path(tmp)
        os.environ["BSR_HOME"] = str(directory / "home")
        registry, path = lab(directory)
        baseline = in_process_seconds(registry, path)
        from brainscore_registry.service.accounts import add_account
        from brainscore_registry.service.database import connect

        db = f"sqlite:///{directory / 'serve.sqlite'}"
        engine = connect(db)
        tokens = [add_account(engine, f"perf{k}", 10_000) for k in range(args.clients)]
        engine.dispose()
        server = ServiceProcess(registry, [BENCHMARK], directory / "server", "--jobs", str(args.jobs), db=db)
        try:
            single = submit_load([server.url], BENCHMARK, path, tokens[:1], 1, 20)
            started = time.perf_counter()
            rows = submit_load([server.url], BENCHMARK, path, tokens, args.clients, args.per_client)
            wall = time.perf_counter() - started
        finally:
            server.stop()
    statuses = {row["status"] for row in rows + single}
    if statuses != {200}:
        raise SystemExit(f"not every submission was scored: statuses {sorted(statuses)}")
    one = [row["seconds"] for row in single]
    loaded = [row["seconds"] for row in rows]
    result = {
        "cores": os.cpu_count(),
        "baseline_in_process_s": baseline,
        "single_client_p50_s": statistics.median(one),
        "single_client_overhead_ratio": statistics.median(one) / baseline,
        "load": {"clients": args.clients, "submissions": len(rows), "wall_s": wall, "per_s": len(rows) / wall},
        "load_p50_s": percentile(loaded, 0.5),
        "load_p95_s": percentile(loaded, 0.95),
        "load_max_s": max(loaded),
        "load_p50_ratio": percentile(loaded, 0.5) / baseline,
        "throughput_vs_in_process_serial": (len(rows) / wall) * baseline,
    }
    print(f"in-process scoring (baseline)      {baseline * 1000:8.1f} ms")
    print(f"one client, sequential, p50        {result['single_client_p50_s'] * 1000:8.1f} ms  "
          f"({result['single_client_overhead_ratio']:.2f}× baseline)")  # fmt: skip
    print(f"{args.clients} clients × {args.per_client}: p50 {result['load_p50_s'] * 1000:.0f} ms, "
          f"p95 {result['load_p95_s'] * 1000:.0f} ms, max {result['load_max_s'] * 1000:.0f} ms; "
          f"{result['load']['per_s']:.1f} submissions/s = {result['throughput_vs_in_process_serial']:.2f}× one in-process "
          f"scorer ({os.cpu_count()} cores)")  # fmt: skip
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
