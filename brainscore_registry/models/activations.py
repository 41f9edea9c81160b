"""Batched activation extraction from a PyTorch network with forward hooks on only the layers needed.

Activations stay on the device: each batch's layer outputs are flattened there and gathered into one
preallocated device buffer per layer, and copied to host memory once at the end, instead of moving
every feature map to the host batch by batch. Preprocessing (resize, centre crop, normalise) follows
the model card. Optional bf16 autocast on CUDA.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from ..errors import UserInputError, did_you_mean


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise UserInputError("--device cuda, but no CUDA device is available", field="device", fix="use --device cpu or auto")
    if device not in ("cpu", "cuda"):
        raise UserInputError(f"unknown device {device!r}", field="device", fix="use auto, cpu or cuda")
    return device


def preprocess(image: Image.Image, preprocessing) -> np.ndarray:
    """`3 × size × size` float32, normalised, as the card says."""
    size = preprocessing.image_size
    image = image.convert("RGB")
    if preprocessing.resize == "stretch":
        image = image.resize((size, size), Image.BILINEAR)
    else:
        w, h = image.size
        scale = size / min(w, h)
        image = image.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BILINEAR)
        if preprocessing.crop == "center":
            w, h = image.size
            left, top = (w - size) // 2, (h - size) // 2
            image = image.crop((left, top, left + size, top + size))
    array = np.asarray(image, dtype=np.float32) / 255.0
    array = (array - np.array(preprocessing.mean, dtype=np.float32)) / np.array(preprocessing.std, dtype=np.float32)
    return array.transpose(2, 0, 1)


def layer_modules(network, layers: list[str]) -> dict:
    modules = dict(network.named_modules())
    unknown = [layer for layer in layers if layer not in modules]
    if unknown:
        available = [name for name in modules if name]
        raise UserInputError(
            f"the network has no layer {unknown[0]!r}.{did_you_mean(unknown[0], available)} Available: {', '.join(available)}",
            field="layers",
            fix="map the region to one of the available layers",
        )
    return {layer: modules[layer] for layer in layers}


def extract(
    network,
    layers: list[str],
    images: Iterable[Image.Image],
    count: int,
    preprocessing,
    *,
    device: str = "cpu",
    bf16: bool = False,
    batch_size: int = 64,
    on_batch: Callable[[int], None] | None = None,
) -> dict[str, np.ndarray]:
    """layer → `count × features` float32 activations for the images, in order."""
    import torch

    network = network.to(device)
    captured: dict[str, torch.Tensor] = {}
    handles = [
        module.register_forward_hook(lambda _m, _i, output, name=name: captured.__setitem__(name, output))
        for name, module in layer_modules(network, layers).items()
    ]
    buffers: dict[str, torch.Tensor] = {}
    done = 0
    try:
        prepared = _prepared(images, batch_size, preprocessing, prefetch=device == "cuda")
        with torch.inference_mode(), torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=bf16 and device == "cuda"):
            for batch, pixels in prepared:
                x = torch.from_numpy(pixels).to(device, non_blocking=True)
                network(x)
                for name in layers:
                    output = captured[name]
                    output = output[0] if isinstance(output, (tuple, list)) else output
                    flat = output.reshape(len(batch), -1)
                    if name not in buffers:
                        buffers[name] = torch.empty((count, flat.shape[1]), dtype=torch.float32, device=device)
                    buffers[name][done : done + len(batch)] = flat.float()
                done += len(batch)
                if on_batch:
                    on_batch(len(batch))
    finally:
        for handle in handles:
            handle.remove()
    return {name: buffer.cpu().numpy() for name, buffer in buffers.items()}


def _prepared(images: Iterable[Image.Image], batch_size: int, preprocessing, prefetch: bool):
    """(batch, preprocessed pixels) pairs; with `prefetch`, the next batch is decoded and preprocessed
    on a CPU thread while the device runs the current one."""

    def prepare(batch):
        return batch, np.stack([preprocess(image, preprocessing) for image in batch])

    batches = _batches(images, batch_size)
    if not prefetch:
        yield from map(prepare, batches)
        return
    with ThreadPoolExecutor(1, thread_name_prefix="bsr-preprocess") as pool:
        pending = None
        for batch in batches:
            following = pool.submit(prepare, batch)
            if pending is not None:
                yield pending.result()
            pending = following
        if pending is not None:
            yield pending.result()


def _batches(images: Iterable[Image.Image], size: int):
    batch = []
    for image in images:
        batch.append(image)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def candidate_layers(network) -> list[str]:
    """Layers `--layers all` and `map-layers` consider: the network's direct children (its stages)."""
    return [name for name, _ in network.named_children()]
