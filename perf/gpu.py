"""The GPU path, measured in one run: one prepared script for a machine with a CUDA device.

    python perf/gpu.py                       # on a machine with a GPU; refuses (exit 2) without one
    python perf/gpu.py --images 800          # a quicker look

1. `perf/extraction.py --network resnet50 --device cuda`: a ResNet-50-shaped network's bare forward pass
   over preprocessed tensors already on the device against the platform's extraction (PNG decoding,
   placement, preprocessing on a CPU thread overlapping the device, hooks, one copy to the host, the cache
   write), on `--images` images; goal: extraction ≥ 50% of the bare throughput.
2. `perf/score.py --device cuda` on a benchmark of `--images` images: the whole `bsr score` (ResNet-18
   `layer3`, 50,176 units; pls in kernel form with its Gram products on the GPU in float64, see
   metrics/compute.py), cold and warm, with its breakdown; goal: cold < 10 s on one H200.

Nothing is downloaded: the networks are seeded, untrained modules written in the scripts.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(command: list[str], timeout: int) -> int:
    print("$ " + " ".join(command), flush=True)
    start = time.perf_counter()
    try:
        code = subprocess.run(command, timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        print(f"(stopped after {timeout} s)")
        return 124
    print(f"({time.perf_counter() - start:.1f} s)\n", flush=True)
    return code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=3200)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--timeout", type=int, default=240, help="seconds each part may take")
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("perf/gpu.py measures the CUDA path: no CUDA device here (use perf/extraction.py and perf/score.py on CPU)")
        return 2
    print(f"GPU: {torch.cuda.get_device_name(0)}; torch {torch.__version__}; {args.images} images\n", flush=True)
    python = sys.executable
    codes = [
        run(
            [python, str(HERE / "extraction.py"), "--network", "resnet50", "--images", str(args.images), "--device", "cuda",
             "--batch-size", str(args.batch_size)],
            args.timeout,
        ),
        run([python, str(HERE / "score.py"), "--images", str(args.images), "--device", "cuda"], args.timeout),
    ]  # fmt: skip
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
