"""Start-up and small-command wall times of `bsr`, against `python -c "import numpy"` measured in the
same run (machines are noisy; the ratios and the goals are the figures).

    python perf/cli.py                 # median of 5 runs each
    python perf/cli.py --repeat 9

Times, each as a fresh process (what a user waits for): `bsr --help`, `bsr list --json`,
`bsr benchmarks --json`, `bsr show DATASET`, and `bsr score --predictions` on a small benchmark
(200 stimuli × 512 features × 40 neuroids, pls and ridge). Goals on a 2-core machine: --help ≤ 0.5 s;
list, benchmarks, show ≤ 1 s; the small prediction-only score ≤ 2 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from perf.scenario import build  # noqa: E402

BSR = str(Path(sys.executable).parent / "bsr")


def wall(command: list[str], env: dict, cwd: Path, repeat: int) -> float:
    """Median wall time of `command` run `repeat` times (after one warm-up run that fills the page cache)."""
    times = []
    for attempt in range(repeat + 1):
        start = time.perf_counter()
        result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
        if attempt:
            times.append(elapsed)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bsr-perf-cli-") as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "BSR_HOME": str(tmp / "home"), "DVC_NO_ANALYTICS": "1"}
        os.environ["BSR_HOME"] = env["BSR_HOME"]
        pls = build(tmp / "pls", 200, 512, 40, 4, "pls")
        ridge = build(tmp / "ridge", 200, 512, 40, 4, "ridge")
        cases = [
            ("python -c 'import numpy' (baseline)", [sys.executable, "-c", "import numpy"], pls.registry, None),
            ("bsr --help", [BSR, "--help"], pls.registry, 0.5),
            ("bsr list --json", [BSR, "list", "--json"], pls.registry, 1.0),
            ("bsr benchmarks --json", [BSR, "benchmarks", "--json"], pls.registry, 1.0),
            (f"bsr show {pls.dataset}", [BSR, "show", pls.dataset], pls.registry, 1.0),
        ]
        for scenario in (pls, ridge):
            command = [BSR, "score", "-b", scenario.benchmark, "--predictions", str(scenario.predictions), "--json"]
            cases.append((f"bsr score --predictions ({scenario.benchmark}, 200×512)", command, scenario.registry, 2.0))
        print(f"{'command':<58} {'median s':>9} {'× numpy':>8} {'goal s':>7}")
        baseline = None
        failed = 0
        for label, command, cwd, goal in cases:
            seconds = wall(command, env, cwd, args.repeat)
            baseline = baseline or seconds
            verdict = "" if goal is None else ("ok" if seconds <= goal else "MISSED")
            failed += verdict == "MISSED"
            print(f"{label:<58} {seconds:9.3f} {seconds / baseline:8.1f} {goal or '':>7} {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
