"""Metric speed against baselines measured in the same run (machines are noisy; the ratios are the figure).

    python perf/metrics.py                      # 3200 stimuli × 4096 float32 features × 168 neuroids, 16 objects
    python perf/metrics.py --stimuli 800        # a quicker look
    python perf/metrics.py --case wide          # 640 × 50,176 (a ResNet-18 layer3 at 224 px): kernel-form pls
    python perf/metrics.py --case wider --no-sklearn --no-end-to-end --no-primal   # 3200 × 100,000
    BSR_REFERENCE_PYTHON=refenv/bin/python python perf/metrics.py   # also time brainscore-vision 2.4.2 itself

Baselines: the primal lockstep pls (the form used before the kernel form, for wide layers), scikit-learn's
PLSRegression split by split inside the same protocol code (unless --no-sklearn), and the reference
package's own metric call in a subprocess when BSR_REFERENCE_PYTHON names a Python that has
brainscore-vision 2.4.2 installed (skipped with a notice otherwise). Also checks that our score equals
the scikit-learn baseline's.

End to end: the same data registered as a benchmark, and the whole `bsr score --predictions` command (a
fresh process: start-up, loading the pinned data, the ceiling, pls, the signed record) timed against the
reference's pls metric call alone (`--no-end-to-end` skips it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc
from pathlib import Path

import numpy as np
import xarray as xr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from brainscore_registry.metrics import (  # noqa: E402
    average_repetitions,
    load_ceiling,
    load_metric,
    regression,  # noqa: E402
)
from brainscore_registry.metrics.pls_forms import use_kernel  # noqa: E402
from perf.scenario import build, make_data  # noqa: E402

BSR = str(Path(sys.executable).parent / "bsr")
CASES = {"tuned": (3200, 4096), "wide": (640, 50_176), "wider": (3200, 100_000)}
"""(stimuli, float32 features): the shape the primal form was tuned on, a ResNet-18 layer3 at 224 px on a
640-image benchmark, and a 100k-unit layer on 3200 images."""

REFERENCE = textwrap.dedent("""
    import sys, time, numpy as np
    from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly
    from brainscore_vision import load_metric, load_ceiling
    d = np.load(sys.argv[1])
    n, r, q = d["target"].shape
    target = NeuroidAssembly(d["target"].reshape(n * r, q), dims=["presentation", "neuroid"], coords={
        "stimulus_id": ("presentation", np.repeat(d["ids"], r)), "object_name": ("presentation", np.repeat(d["objects"], r)),
        "repetition": ("presentation", np.tile(np.arange(r), n)), "neuroid_id": ("neuroid", [f"n{j}" for j in range(q)]),
        "region": ("neuroid", ["IT"] * q)})
    from brainscore_vision.benchmark_helpers.neural_common import average_repetition
    source = NeuroidAssembly(d["source"], dims=["presentation", "neuroid"], coords={
        "stimulus_id": ("presentation", d["ids"]), "object_name": ("presentation", d["objects"]),
        "neuroid_id": ("neuroid", [f"f{k}" for k in range(d["source"].shape[1])])})
    averaged = average_repetition(target)
    t = time.perf_counter(); score = load_metric("pls")(source, averaged); pls = time.perf_counter() - t
    t = time.perf_counter(); ceiling = load_ceiling("internal_consistency")(target); ic = time.perf_counter() - t
    print(pls, float(score.values), ic, float(ceiling.values))
""")


def assemblies(d: dict) -> tuple[xr.DataArray, xr.DataArray]:
    n, r, q = d["target"].shape
    target = xr.DataArray(
        d["target"].reshape(n * r, q),
        dims=("presentation", "neuroid"),
        coords={
            "stimulus_id": ("presentation", np.repeat(d["ids"], r)),
            "object_name": ("presentation", np.repeat(d["objects"], r)),
            "repetition": ("presentation", np.tile(np.arange(r), n)),
            "neuroid_id": ("neuroid", [f"n{j}" for j in range(q)]),
        },
    )
    source = xr.DataArray(
        d["source"],
        dims=("presentation", "neuroid"),
        coords={
            "stimulus_id": ("presentation", d["ids"]),
            "object_name": ("presentation", d["objects"]),
            "neuroid_id": ("neuroid", [f"f{k}" for k in range(d["source"].shape[1])]),
        },
    )
    return source, target


def peak_memory(fn) -> int:
    """Peak bytes allocated during fn (numpy buffers are traced), above what was allocated before."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stimuli", type=int, default=3200)
    parser.add_argument("--features", type=int, default=4096)
    parser.add_argument("--neuroids", type=int, default=168)
    parser.add_argument("--repetitions", type=int, default=46)
    parser.add_argument("--no-end-to-end", dest="end_to_end", action="store_false", help="skip the bsr score timing")
    parser.add_argument("--no-sklearn", dest="sklearn", action="store_false", help="skip scikit-learn's split-by-split pls")
    parser.add_argument("--no-primal", dest="primal", action="store_false", help="skip the primal form on a wide case (slow)")
    parser.add_argument("--case", choices=sorted(CASES), help="a named shape (overrides --stimuli and --features)")
    args = parser.parse_args()
    if args.case:
        args.stimuli, args.features = CASES[args.case]
    d = make_data(args.stimuli, args.features, args.neuroids, args.repetitions, 16)
    source, target = assemblies(d)
    averaged = average_repetitions(target)
    print(
        f"pls: {args.stimuli} stimuli × {args.features} float32 features × {args.neuroids} neuroids, 16 objects; "
        f"ceiling: {args.repetitions} repetitions"
    )
    t_ours, ours = timed(lambda: load_metric("pls")(source, averaged))
    peak = peak_memory(lambda: load_metric("pls")(source, averaged))
    form = "kernel form" if use_kernel(args.stimuli, args.features) else "primal lockstep"
    print(f"pls, ours ({form:15s})       {t_ours:7.2f} s   score {ours.value:.10f}")
    print(
        f"pls, ours: peak working memory     {peak / 2**20:7.1f} MiB = {peak / d['source'].nbytes:.2f}× the features "
        f"({d['source'].nbytes / 2**20:.1f} MiB)"
    )
    if use_kernel(args.stimuli, args.features) and args.primal:
        t_primal, primal = timed(lambda: primal_score(source, averaged))
        print(
            f"pls, primal lockstep (before)     {t_primal:8.2f} s   score {primal.value:.10f}   ratio {t_primal / t_ours:.1f}×"
            f"   max |Δraw| {np.nanmax(np.abs(ours.raw - primal.raw)):.1e}"
        )
    if args.sklearn:
        from sklearn.cross_decomposition import PLSRegression

        regression.REGRESSIONS["sklearn_pls"] = lambda: PLSRegression(n_components=25, scale=False)
        t_sk, sk = timed(lambda: regression.CrossRegressedCorrelation("sklearn_pls")(source, averaged))
        print(
            f"pls, scikit-learn in our protocol {t_sk:8.2f} s   score {sk.value:.10f}   ratio {t_sk / t_ours:.1f}×"
            f"   max |Δraw| {np.nanmax(np.abs(ours.raw - sk.raw)):.1e}"
        )
    t_ic, ic = timed(lambda: load_ceiling("internal_consistency")(target))
    print(f"internal_consistency, ours        {t_ic:8.2f} s   ceiling {ic.value:.10f}")
    t_e2e = end_to_end(args) if args.end_to_end else None
    reference = os.environ.get("BSR_REFERENCE_PYTHON")
    if not reference:
        print("brainscore-vision 2.4.2: skipped (set BSR_REFERENCE_PYTHON to a Python that has it installed)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.npz"
        np.savez(path, **d)
        script = Path(tmp) / "reference.py"
        script.write_text(REFERENCE)
        out = subprocess.run([reference, str(script), str(path)], capture_output=True, text=True)
        if out.returncode != 0:
            print(f"brainscore-vision 2.4.2 failed:\n{out.stderr[-2000:]}")
            return 1
    t_ref, s_ref, t_ref_ic, c_ref = map(float, out.stdout.split()[-4:])
    print(
        f"pls, brainscore-vision 2.4.2      {t_ref:8.2f} s   score {s_ref:.10f}   ratio {t_ref / t_ours:.1f}×"
        f"   |Δscore| {abs(s_ref - ours.value):.1e}"
    )
    print(
        f"internal_consistency, reference   {t_ref_ic:8.2f} s   ceiling {c_ref:.10f}   ratio {t_ref_ic / t_ic:.1f}×"
        f"   |Δ| {abs(c_ref - ic.value):.1e}"
    )
    if t_e2e is not None:
        print(f"whole `bsr score --predictions` vs the reference's pls alone: {t_ref / t_e2e:.1f}× (goal ≥ 15×)")
    return 0


def primal_score(source, averaged):
    """Our pls with the primal lockstep form forced (what wide layers ran before the kernel form)."""
    from brainscore_registry.metrics import pls_cv, pls_forms

    dispatch = pls_forms.cross_validated_pls
    pls_forms.cross_validated_pls = pls_cv.primal_cross_validated_pls
    try:
        return load_metric("pls")(source, averaged)
    finally:
        pls_forms.cross_validated_pls = dispatch


def end_to_end(args) -> float:
    """Wall time of the whole prediction-only `bsr score` in a fresh process, on the same data."""
    with tempfile.TemporaryDirectory(prefix="bsr-perf-e2e-") as tmp:
        tmp = Path(tmp)
        os.environ["BSR_HOME"] = str(tmp / "home")
        scenario = build(tmp, args.stimuli, args.features, args.neuroids, args.repetitions, "pls")
        command = [BSR, "score", "-b", scenario.benchmark, "--predictions", str(scenario.predictions), "--json"]
        start = time.perf_counter()
        result = subprocess.run(command, cwd=scenario.registry, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if result.returncode != 0:
            raise SystemExit(f"bsr score failed:\n{result.stderr[-2000:]}")
    print(f"bsr score --predictions, whole     {seconds:8.2f} s   (start-up, load, ceiling, pls, signed record)")
    return seconds


if __name__ == "__main__":
    sys.exit(main())
