"""A layer sweep of ResNet-18 on the real Cowley2023 V4 benchmark: peak memory, cache size and time.

    python perf/layer_sweep.py                      # examples/models/resnet18 as its card commits it (112 px)
    python perf/layer_sweep.py --image-size 224     # the ImageNet input size (4× the units per layer)

In a scratch registry and a fresh `$BSR_HOME` (nothing of yours is touched), it packages Cowley2023 from
the raw files (`--raw`, default ../shared/data), then runs, as a user would, in a child process:

    bsr score -b Cowley2023.V4-pls -m <resnet18 card> --layers all --device cpu --json

and reports the child's peak resident memory (`wait4`'s ru_maxrss of that process alone), the
activation cache's size afterwards, the wall time, every candidate layer's units and activation
estimate (640 stimuli × units × 4 bytes) with its score, and the layers skipped. For contrast it
also sizes, from one probe pass, what the old candidates (every direct child: `conv1`, `bn1`, `relu`,
`maxpool`, ...) would have held. Goals: peak RSS under 3 GB and a cache under 1 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BSR = str(Path(sys.executable).parent / "bsr")
CARD = ROOT / "examples" / "models" / "resnet18"
BENCHMARK = "Cowley2023.V4-pls"
STIMULI = 640


def scratch_card(directory: Path, image_size: int | None) -> Path:
    """A copy of the ResNet-18 card, at `image_size` when given (the model's identity changes with it)."""
    import yaml

    shutil.copytree(CARD, directory)
    card = directory / "card.yaml"
    if image_size is not None:
        data = yaml.safe_load(card.read_text())
        data["preprocessing"]["image_size"] = image_size
        card.write_text(yaml.safe_dump(data, sort_keys=False))
    return card


def run_measured(command: list[str], env: dict) -> tuple[subprocess.CompletedProcess, float, int]:
    """(result, seconds, peak RSS in bytes) of one child process, its own rusage only."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        stdout.seek(0)
        stderr.seek(0)
        code = os.waitstatus_to_exitcode(status)
        result = subprocess.CompletedProcess(command, code, stdout.read().decode(), stderr.read().decode())
    return result, seconds, usage.ru_maxrss * 1024  # Linux reports kilobytes


def directory_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def layer_units(card: Path) -> tuple[dict[str, int | None], int, str]:
    """(units of each candidate layer, bytes the old candidates would hold, their names), from probe
    passes of one image: what `--layers all` considers now, and what it considered before (every
    direct child of the network)."""
    from brainscore_registry.models.activations import candidate_layers, probe_layers
    from brainscore_registry.models.model_card import load_card

    loaded = load_card(card)
    network, size = loaded.build(), loaded.card.preprocessing.image_size
    units = {name: probe.units for name, probe in probe_layers(network, candidate_layers(network), size).items()}
    children = [name for name, _ in network.named_children()]
    old = sum(probe.bytes_for(STIMULI) for probe in probe_layers(network, children, size).values())
    return units, old, ", ".join(children)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image-size", type=int, default=None, help="network input side (default: the card's, 112)")
    parser.add_argument("--raw", type=Path, default=ROOT.parent / "shared" / "data", help="raw published data")
    parser.add_argument("--max-layer-gb", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bsr-sweep-") as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "BSR_HOME": str(tmp / "home"), "DVC_NO_ANALYTICS": "1"}
        registry = tmp / "registry"
        for command in (
            [BSR, "init", str(registry)],
            [BSR, "--registry", str(registry), "package", "cowley2023", "--raw", str(args.raw)],
        ):
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            if done.returncode:
                print(done.stderr, file=sys.stderr)
                return done.returncode
        card = scratch_card(tmp / "resnet18", args.image_size)
        size = args.image_size or 112
        command = [BSR, "--registry", str(registry), "score", "-b", BENCHMARK, "-m", str(card)]
        command += ["--layers", "all", "--device", "cpu", "--json", "--max-layer-gb", str(args.max_layer_gb)]
        result, seconds, peak = run_measured(command, env)
        if result.returncode:
            print(result.stderr, file=sys.stderr)
            return result.returncode
        rows = json.loads(result.stdout)
        cache = directory_bytes(tmp / "home" / "cache" / "activations")
        os.environ["BSR_HOME"] = env["BSR_HOME"]
        units, old_bytes, children = layer_units(card)
    scores = {row["layer"]: row for row in rows}
    print(f"resnet18 at {size}×{size} px, {BENCHMARK} ({STIMULI} stimuli), --layers all, CPU ({os.cpu_count()} cores)")
    print(f"{'layer':10} {'units':>9} {'activations':>12}  score")
    for layer, count in units.items():
        row = scores.get(layer, {})
        shown = f"skipped: {row['skipped']}" if row.get("skipped") else f"{row['score']:.4f}" if row else "-"
        print(f"{layer:10} {count or 0:9,} {(count or 0) * STIMULI * 4 / 1e6:9.1f} MB  {shown}")
    print(f"peak RSS of `bsr score`    {peak / 1e9:6.2f} GB   (goal < 3 GB)")
    print(f"activation cache           {cache / 1e9:6.2f} GB   (goal < 1 GB)")
    print(f"wall time                  {seconds:6.1f} s")
    print(f"the old candidates ({children}) would hold {old_bytes / 1e9:.2f} GB of activations")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
