"""Activation extraction through the platform against the same network's bare forward pass, in one run.

    python perf/extraction.py                           # examples/models/convnet4, CPU, 512 images
    python perf/extraction.py --network resnet18 --images 2048 --device cuda --batch-size 256

`--network resnet18` (or `resnet50`) builds a ResNet-18- (ResNet-50-) shaped network in the script
(random weights, nothing downloaded) at 224×224. Reported: images/s of (1) the bare forward pass over preprocessed tensors
already on the device, (2) the platform, cold (PNG decoding, placement, preprocessing, hooks, device
buffers, one copy to the host, cache write), (3) the platform again, from the activation cache; and the
ratios platform/bare (goal ≥ 0.5) and cached/cold.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RESNET = textwrap.dedent("""
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.a = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                                   nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
            self.skip = nn.Sequential() if stride == 1 and cin == cout else nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            return torch.relu(self.a(x) + self.skip(x))

    def build():
        torch.manual_seed(0)
        stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                             nn.MaxPool2d(3, 2, 1))
        layers = [stem]
        cin = 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers.append(nn.Sequential(Block(cin, cout, stride), Block(cout, cout, 1)))
            cin = cout
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1000))

    class Bottleneck(nn.Module):
        def __init__(self, cin, width, stride):
            super().__init__()
            cout = 4 * width
            self.a = nn.Sequential(nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                                   nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width),
                                   nn.ReLU(inplace=True),
                                   nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout))
            self.skip = nn.Sequential() if stride == 1 and cin == cout else nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            return torch.relu(self.a(x) + self.skip(x))

    def build50():
        torch.manual_seed(0)
        stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                             nn.MaxPool2d(3, 2, 1))
        layers = [stem]
        cin = 64
        for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            stage = [Bottleneck(cin, width, stride)] + [Bottleneck(4 * width, width, 1) for _ in range(blocks - 1)]
            layers.append(nn.Sequential(*stage))
            cin = 4 * width
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1000))
""")


def network_card(name: str, directory: Path) -> tuple[Path, str]:
    """(card path, recorded layer)."""
    if name == "convnet4":
        return Path(__file__).resolve().parents[1] / "examples" / "models" / "convnet4" / "card.yaml", "stage4"
    (directory / "resnet.py").write_text(RESNET)
    factory = "build50" if name == "resnet50" else "build"
    (directory / "card.yaml").write_text(
        f"name: {name}_random\nfactory: resnet.py:{factory}\npreprocessing: {{image_size: 224}}\nvisual_degrees: 8\n"
        "layers: {IT: '4'}\nreadout_layer: '5'\n"
    )
    return directory / "card.yaml", "4"


def stimulus_set(directory: Path, n: int, size: int):
    from brainscore_registry.store.loading import load_stimulus_set
    from brainscore_registry.store.registration import register_stimulus_set
    from brainscore_registry.store.registry import Registry
    from brainscore_registry.synthetic.experiment import png_bytes

    rng = np.random.default_rng(0)
    images = directory / "images"
    images.mkdir()
    rows = ["stimulus_id,filename"]
    for i in range(n):
        (images / f"{i:05d}.png").write_bytes(png_bytes(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)))
        rows.append(f"im{i:05d},{i:05d}.png")
    (directory / "stimuli.csv").write_text("\n".join(rows) + "\n")
    (directory / "stimuli.yaml").write_text(
        "identifier: Perf.images\ndescription: random images for timing\ncitation: none\nlicense: CC0-1.0\n"
        "provenance: {source: perf/extraction.py, revision: '1'}\n"
    )
    registry = Registry.init(directory / "registry")
    version = register_stimulus_set(images, directory / "stimuli.csv", directory / "stimuli.yaml", registry=registry).version
    return load_stimulus_set(str(version), registry=registry)


def bare_forward(network, n: int, size: int, batch_size: int, device: str) -> float:
    """Seconds for the network's own forward passes over n preprocessed images already on the device."""
    import torch

    x = torch.randn(batch_size, 3, size, size, device=device)
    network = network.to(device).eval()
    with torch.inference_mode():
        network(x)  # warm-up
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for done in range(0, n, batch_size):
            network(x[: min(batch_size, n - done)])
        if device == "cuda":
            torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--network", choices=["convnet4", "resnet18", "resnet50"], default="convnet4")
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--image-size", type=int, default=None, help="stored image side (default: the network's input)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--bf16", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["BSR_HOME"] = str(tmp / "home")
        from brainscore_registry.benchmarks.screen import PlacedStimuli
        from brainscore_registry.models.activation_cache import ActivationCache
        from brainscore_registry.models.activations import resolve_device
        from brainscore_registry.models.model_card import load_card
        from brainscore_registry.models.torch_model import TorchBrainModel

        device = resolve_device(args.device)
        card_path, layer = network_card(args.network, tmp)
        card = load_card(card_path)
        size = card.card.preprocessing.image_size
        stimuli = stimulus_set(tmp, args.images, args.image_size or size)
        placed = PlacedStimuli.of(stimuli, None, card.card.visual_degrees)
        t_bare = bare_forward(card.build(), args.images, size, args.batch_size, device)
        model = TorchBrainModel(
            card, device=device, bf16=args.bf16, batch_size=args.batch_size, cache=ActivationCache(tmp / "cache")
        )
        model.activations(
            PlacedStimuli.of(stimuli, None, card.card.visual_degrees, stimuli.stimulus_ids[: args.batch_size]), layer
        )
        start = time.perf_counter()
        values = model.activations(placed, layer)
        t_cold = time.perf_counter() - start
        start = time.perf_counter()
        again = model.activations(placed, layer)
        t_warm = time.perf_counter() - start
        assert np.array_equal(values, again)
    n = args.images
    print(f"{args.network} on {device}, {n} images, batch {args.batch_size}, layer {layer} ({values.shape[1]:,} units)")
    print(f"bare forward pass            {n / t_bare:10.1f} images/s")
    print(f"platform, cold               {n / t_cold:10.1f} images/s   ratio to bare {t_bare / t_cold:.2f} (goal ≥ 0.5)")
    print(f"platform, from the cache     {n / t_warm:10.1f} images/s   {t_cold / t_warm:.0f}× the cold run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
