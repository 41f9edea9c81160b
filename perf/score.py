"""`bsr score` end to end on a ResNet-18-shaped network, cold and warm, with a breakdown by stage.

    python perf/score.py                                  # 640 images at 224 px, layer3 (50,176 units), CPU
    python perf/score.py --images 160 --size 112          # a quicker look
    BSR_REFERENCE_PYTHON=refenv/bin/python python perf/score.py   # also brainscore-vision 2.4.2's own path

A benchmark of `--images` smooth random images (168 IT-like neuroids read out linearly from a power-law
latent, 10 repetitions, `pls` with the split-half ceiling) is registered in a scratch registry; the
hand-written ResNet-18 (examples/models/resnet18, seeded, untrained) is scored on it from a fresh process:

1. cold: empty caches (activations, scores);
2. warm: the same command again (activations cached; the score cached too when the code is a clean
   checkout, see runs/score_cache.py);
3. a second benchmark (`ridge`) on the same images: activations cached, so it costs its metric.

Each run's stages come from BSR_TIMINGS (brainscore_registry/timings.py): start-up (interpreter and
imports, up to the command's own code), model build, data (pull, load), read/decode/preprocess,
forward, metric, ceiling (on a second thread, overlapping the metric), record. With
BSR_REFERENCE_PYTHON, the reference's path on the same images and network: its PytorchWrapper
(activations of the layer), then its `pls` metric and `internal_consistency` ceiling, in one process.
Goals (the issue's): cold ≥ 8× the reference's path, warm ≤ 5 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from perf.scenario import build  # noqa: E402

BSR = str(Path(sys.executable).parent / "bsr")
CARD = ROOT / "examples" / "models" / "resnet18"
STAGES = ["start-up", "model build", "data (pull, load)", "read/decode/preprocess", "forward", "metric", "ceiling", "record"]

REFERENCE = textwrap.dedent("""
    import functools, importlib.util, json, sys, time
    t0 = time.perf_counter()
    import numpy as np
    import torch, torch.library
    try:
        import torchvision  # noqa: F401
    except RuntimeError:
        # A torchvision wheel built for CUDA beside a CPU torch has no compiled ops, so registering their
        # fake/autograd kernels fails at import. The reference path uses only torchvision.transforms
        # (pure Python over PIL), so the registration is skipped rather than the reference changed.
        for name in [m for m in sys.modules if m.split(".")[0] == "torchvision"]:
            del sys.modules[name]
        real = (torch.library.register_fake, torch.library.register_autograd)
        torch.library.register_fake = torch.library.register_autograd = lambda *a, **k: (lambda f: f)
        try:
            import torchvision  # noqa: F401
        finally:
            torch.library.register_fake, torch.library.register_autograd = real
    from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly
    from brainscore_core.supported_data_standards.brainio.stimuli import StimulusSet
    from brainscore_vision import load_ceiling, load_metric
    from brainscore_vision.benchmark_helpers.neural_common import average_repetition
    from brainscore_vision.model_helpers.activations.pytorch import PytorchWrapper, load_preprocess_images
    imports = time.perf_counter() - t0
    args = json.loads(sys.argv[1])
    t = time.perf_counter()
    spec = importlib.util.spec_from_file_location("model", args["factory"])
    module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
    network = module.build()
    preprocessing = functools.partial(load_preprocess_images, image_size=args["size"])
    wrapper = PytorchWrapper(identifier="perf-resnet18", model=network, preprocessing=preprocessing, batch_size=64)
    build = time.perf_counter() - t
    d = np.load(args["data"], allow_pickle=True)
    stimuli = StimulusSet({"stimulus_id": d["ids"], "object_name": d["objects"]})
    stimuli.stimulus_paths = {i: f"{args['images']}/{i}.png" for i in d["ids"]}
    stimuli.identifier = "perf-stimuli"
    t = time.perf_counter()
    activations = wrapper(stimuli, layers=[args["layer"]])
    extract = time.perf_counter() - t
    n, r, q = d["target"].shape
    target = NeuroidAssembly(d["target"].reshape(n * r, q), dims=["presentation", "neuroid"], coords={
        "stimulus_id": ("presentation", np.repeat(d["ids"], r)), "object_name": ("presentation", np.repeat(d["objects"], r)),
        "repetition": ("presentation", np.tile(np.arange(r), n)), "neuroid_id": ("neuroid", [f"n{j}" for j in range(q)]),
        "region": ("neuroid", ["IT"] * q)})
    averaged = average_repetition(target)
    source = activations.transpose("presentation", "neuroid")
    levels = set(source.indexes["presentation"].names) if "presentation" in source.indexes else set()
    if "object_name" not in levels | set(source.coords):  # the wrapper carries the stimulus set's columns along
        objects = dict(zip(d["ids"], d["objects"]))
        source = source.assign_coords(object_name=("presentation", [objects[s] for s in source["stimulus_id"].values]))
    t = time.perf_counter(); score = load_metric("pls")(source, averaged); metric = time.perf_counter() - t
    t = time.perf_counter(); ceiling = load_ceiling("internal_consistency")(target); ceil = time.perf_counter() - t
    print(json.dumps({"imports": imports, "model build": build, "extract": extract, "metric": metric, "ceiling": ceil,
                      "score": float(score.values), "ceiling_value": float(ceiling.values)}))
""")


def scratch_card(directory: Path, size: int, layer: str) -> Path:
    shutil.copytree(CARD, directory)
    card = directory / "card.yaml"
    data = yaml.safe_load(card.read_text())
    data["preprocessing"]["image_size"] = size
    data["layers"]["IT"] = layer
    card.write_text(yaml.safe_dump(data, sort_keys=False))
    return card


def add_benchmark(registry: Path, benchmark: str, metric: str) -> str:
    """A copy of `benchmark`'s spec with another metric, recorded."""
    from brainscore_registry.benchmarks.specs import record_versions

    source = registry / "registry" / "benchmarks" / f"{benchmark}.yaml"
    spec = yaml.safe_load(source.read_text())
    spec["id"] = benchmark.rsplit("-", 1)[0] + f"-{metric}"
    spec["metric"]["name"] = metric
    (source.parent / f"{spec['id']}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    record_versions(registry)
    return spec["id"]


def timed_score(registry: Path, benchmark: str, card: Path, device: str, env: dict, tmp: Path) -> tuple[float, dict, dict]:
    """(wall seconds, stage seconds, the score row) of one `bsr score` in a fresh process."""
    timings = tmp / f"timings-{time.monotonic_ns()}.json"
    command = [BSR, "score", "-b", benchmark, "-m", str(card), "--device", device, "--json"]
    spawned = time.time()
    start = time.perf_counter()
    result = subprocess.run(command, cwd=registry, env={**env, "BSR_TIMINGS": str(timings)}, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"bsr score failed:\n{result.stderr[-3000:]}")
    stages = json.loads(timings.read_text())
    stages["start-up"] = stages.pop("main_entered_at", spawned) - spawned
    return seconds, stages, json.loads(result.stdout)[0]


def reference_path(python: str, scenario, images: Path, size: int, layer: str, tmp: Path) -> dict:
    import numpy as np

    data = tmp / "reference.npz"
    np.savez(data, **scenario.data)
    script = tmp / "reference.py"
    script.write_text(REFERENCE)
    arguments = {"factory": str(CARD / "model.py"), "size": size, "data": str(data), "images": str(images), "layer": layer}
    start = time.perf_counter()
    # a cold run: the reference's own activation cache (result_caching, keyed by identifiers) starts empty
    env = {**os.environ, "RESULTCACHING_HOME": str(tmp / "result_caching")}
    out = subprocess.run([python, str(script), json.dumps(arguments)], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"brainscore-vision 2.4.2 failed:\n{out.stderr[-3000:]}")
    return {"wall": seconds, **json.loads(out.stdout.strip().splitlines()[-1])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=640)
    parser.add_argument("--size", type=int, default=224, help="input size of the network (and of the images)")
    parser.add_argument("--layer", default="layer3")
    parser.add_argument("--neuroids", type=int, default=168)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bsr-perf-score-") as directory:
        tmp = Path(directory)
        env = {**os.environ, "BSR_HOME": str(tmp / "home")}
        os.environ["BSR_HOME"] = env["BSR_HOME"]
        scenario = build(tmp / "scenario", args.images, 8, args.neuroids, 10, "pls", image_size=args.size)
        ridge = add_benchmark(scenario.registry, scenario.benchmark, "ridge")
        card = scratch_card(tmp / "card", args.size, args.layer)
        print(
            f"bsr score: ResNet-18 ({args.layer}) at {args.size} px on {args.images} images × {args.neuroids} neuroids, "
            f"{args.device}, pls + split-half ceiling"
        )
        runs = {
            "cold": timed_score(scenario.registry, scenario.benchmark, card, args.device, env, tmp),
            "warm": timed_score(scenario.registry, scenario.benchmark, card, args.device, env, tmp),
            "new benchmark (ridge), warm activations": timed_score(scenario.registry, ridge, card, args.device, env, tmp),
        }
        print(f"{'stage (s)':28s}" + "".join(f"{name[:12]:>14s}" for name in runs))
        for stage in STAGES:
            print(f"{stage:28s}" + "".join(f"{run[1].get(stage, 0.0):14.2f}" for run in runs.values()))
        overlapping = {"ceiling"}  # runs on a second thread during the metric
        other = [run[0] - sum(v for k, v in run[1].items() if k in STAGES and k not in overlapping) for run in runs.values()]
        print(f"{'other (imports on use, planning)':28s}" + "".join(f"{seconds:14.2f}" for seconds in other))
        print(f"{'whole command (wall)':28s}" + "".join(f"{run[0]:14.2f}" for run in runs.values()))
        print(f"{'score from the score cache':28s}" + "".join(f"{str(run[2]['cached']):>14s}" for run in runs.values()))
        cold, warm = runs["cold"][0], runs["warm"][0]
        print(f"warm: {warm:.2f} s (goal ≤ 5 s); cold/warm {cold / warm:.1f}×; score {runs['cold'][2]['score']:.6f}")
        reference = os.environ.get("BSR_REFERENCE_PYTHON")
        if not reference:
            print("brainscore-vision 2.4.2's path: skipped (set BSR_REFERENCE_PYTHON to a Python that has it installed)")
            return 0
        images = tmp / "scenario" / "raw" / "images"
        ref = reference_path(reference, scenario, images, args.size, args.layer, tmp)
        print(
            f"brainscore-vision 2.4.2's path: {ref['wall']:.1f} s (imports {ref['imports']:.1f}, build {ref['model build']:.1f}, "
            f"extract {ref['extract']:.1f}, pls {ref['metric']:.1f}, ceiling {ref['ceiling']:.1f}); "
            f"cold {ref['wall'] / cold:.1f}× faster (goal ≥ 8×), warm {ref['wall'] / warm:.1f}×"
        )
        raw, ceiling = runs["cold"][2]["raw"], runs["cold"][2]["ceiling"]
        print(
            f"same numbers: pls raw {raw:.9f} here, {ref['score']:.9f} in the reference (|Δ| {abs(raw - ref['score']):.1e}); "
            f"ceiling {ceiling:.6f} (split-half, Spearman-Brown) here, {ref['ceiling_value']:.6f} (internal_consistency) there"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
