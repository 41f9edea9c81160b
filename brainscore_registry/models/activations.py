"""Batched activation extraction from a PyTorch network with forward hooks on only the layers needed,
and what a layer costs before it is extracted.

Activations stay on the device: each hooked output is flattened there and copied into one
preallocated device buffer per layer inside its hook, and the buffers are copied to host memory once
at the end, instead of moving every feature map to the host batch by batch. Preprocessing (resize,
centre crop, normalise) follows the model card. Optional bf16 autocast on CUDA.

Which layers a sweep considers is `candidate_layers` (the rule is in its docstring); `select_layers`
reads `--layers` (`all`, names, globs); `probe_layers` runs one image through the network to learn each
layer's units, so a sweep knows every layer's activation size (stimuli × units × 4 bytes) before it
extracts any.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .. import timings
from ..errors import UserInputError, did_you_mean, preview


def resolve_device(device: str) -> str:
    """The device to compute on. `cpu` needs no torch import (a warm score may never run the network)."""
    if device not in ("auto", "cpu", "cuda"):
        raise UserInputError(f"unknown device {device!r}", field="device", fix="use auto, cpu or cuda")
    if device == "cpu":
        return device
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available():
        raise UserInputError("--device cuda, but no CUDA device is available", field="device", fix="use --device cpu or auto")
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


class _Enough(Exception):
    """Raised by the last hook of a forward pass: nothing the network computes after it is needed."""


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
    stop_early: bool = False,
) -> dict[str, np.ndarray]:
    """layer → `count × features` float32 activations for the images, in order.

    Each output is copied into its buffer inside the hook, so an in-place operation the network applies
    later (a `ReLU(inplace=True)` after the hooked layer) cannot change what was recorded. With
    `stop_early` (each hooked module runs once per pass, as `probe_layers` tells) a pass stops as soon
    as the last hooked layer has run: extracting an early layer then costs only the network up to it,
    which is what makes a sweep that extracts one layer at a time affordable."""
    import torch

    layers = list(dict.fromkeys(layers))
    network = network.to(device)
    buffers: dict[str, torch.Tensor] = {}
    seen: set[str] = set()
    rows = [slice(0, 0)]  # the current batch's rows of every buffer

    def record(name: str, output) -> None:
        n = rows[0].stop - rows[0].start
        tensor = _tensor_of(output, name)
        if tensor.ndim == 0 or tensor.shape[0] != n:
            raise UserInputError(
                f"layer {name!r} outputs shape {tuple(tensor.shape)}, whose first dimension is not the batch ({n} images)",
                field="layers",
                fix="choose a layer with a batch-first output (nn.MultiheadAttention: batch_first=True)",
            )
        flat = tensor.reshape(n, -1)
        if name not in buffers:
            buffers[name] = torch.empty((count, flat.shape[1]), dtype=torch.float32, device=device)
        buffers[name][rows[0]] = flat
        seen.add(name)
        if stop_early and len(seen) == len(layers):
            raise _Enough

    handles = [
        module.register_forward_hook(lambda _m, _i, output, name=name: record(name, output))
        for name, module in layer_modules(network, layers).items()
    ]
    done = 0
    try:
        prepared = _prepared(images, batch_size, preprocessing, prefetch=device == "cuda")
        with torch.inference_mode(), torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=bf16 and device == "cuda"):
            for batch, pixels in prepared:
                x = torch.from_numpy(pixels).to(device, non_blocking=True)
                rows[0] = slice(done, done + len(batch))
                seen.clear()
                with timings.stage("forward"):
                    try:
                        network(x)
                    except _Enough:
                        pass
                _require_ran(layers, seen)
                done += len(batch)
                if on_batch:
                    on_batch(len(batch))
    finally:
        for handle in handles:
            handle.remove()
    return {name: buffers[name].cpu().numpy() for name in layers if name in buffers}


def _require_ran(layers: list[str], seen: set[str]) -> None:
    missing = [name for name in layers if name not in seen]
    if missing:
        raise UserInputError(
            f"layer {missing[0]!r} does not run in the network's forward pass",
            field="layers",
            fix="choose a layer the forward pass uses (`bsr score --layers all` lists the candidates)",
        )


def _tensor_of(output, name: str):
    """The tensor a layer outputs: the first of a tuple or list (as recurrent and attention layers
    return), the first value of a mapping (a transformers ModelOutput)."""
    import torch

    while not isinstance(output, torch.Tensor):
        if isinstance(output, (tuple, list)) and output:
            output = output[0]
        elif isinstance(output, Mapping) and output:
            output = next(iter(output.values()))
        else:
            raise UserInputError(
                f"layer {name!r} outputs {type(output).__name__}, not a tensor",
                field="layers",
                fix="choose a layer whose output is a tensor (or a tuple whose first item is one)",
            )
    return output


@dataclass(frozen=True)
class LayerProbe:
    """What one forward pass of one image tells of a layer before any extraction."""

    units: int | None  # features per image (its flattened output); None when it cannot be recorded
    calls: int  # times the module ran in one forward pass (more than one: weights shared across steps)
    problem: str | None = None  # why it cannot be recorded: it never runs, its output is not a batch-first tensor

    def bytes_for(self, stimuli: int) -> int:
        """float32 activations of `stimuli` images: what extracting this layer holds in memory."""
        return stimuli * (self.units or 0) * 4


def probe_layers(network, layers: list[str], image_size: int, device: str = "cpu") -> dict[str, LayerProbe]:
    """Units per image and calls per forward pass of each layer, from ONE forward pass of one blank
    image of the card's input size with hooks on all the layers at once. Cheap (one image), so a sweep
    can estimate every layer's activation memory and refuse or skip layers before extracting any."""
    import torch

    layers = list(dict.fromkeys(layers))
    network = network.to(device)
    units: dict[str, int] = {}
    calls = dict.fromkeys(layers, 0)
    problems: dict[str, str] = {}

    def seen(name: str, output) -> None:
        calls[name] += 1
        try:
            tensor = _tensor_of(output, name)
        except UserInputError as exc:
            problems[name] = exc.message
            return
        if tensor.ndim == 0 or tensor.shape[0] != 1:
            problems[name] = f"its output {tuple(tensor.shape)} is not batch-first"
        else:
            units[name] = int(tensor[0].numel())

    handles = [
        module.register_forward_hook(lambda _m, _i, output, name=name: seen(name, output))
        for name, module in layer_modules(network, layers).items()
    ]
    try:
        with torch.inference_mode():
            network(torch.zeros((1, 3, image_size, image_size), device=device))
    except UserInputError:
        raise
    except Exception as exc:  # the user's network: say which pass failed, with its own message
        raise UserInputError(
            f"the network's forward pass of one {image_size}×{image_size} image failed: {type(exc).__name__}: {exc}",
            field="factory",
            fix="make the network accept `1 × 3 × image_size × image_size` inputs (preprocessing.image_size)",
        ) from None
    finally:
        for handle in handles:
            handle.remove()
    never = "it does not run in the network's forward pass"
    return {
        name: LayerProbe(
            units.get(name) if name not in problems else None, calls[name], problems.get(name) or (None if calls[name] else never)
        )
        for name in layers
    }


def _prepared(images: Iterable[Image.Image], batch_size: int, preprocessing, prefetch: bool):
    """(batch, preprocessed pixels) pairs; with `prefetch`, the next batch is decoded and preprocessed
    on a CPU thread while the device runs the current one."""

    def prepare(batch):
        with timings.stage("read/decode/preprocess"):
            return batch, np.stack([preprocess(image, preprocessing) for image in batch])

    batches = _timed_batches(images, batch_size)
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


def _timed_batches(images: Iterable[Image.Image], size: int):
    """`_batches`, with the reading and decoding of each batch's images timed."""
    iterator = _batches(images, size)
    while True:
        with timings.stage("read/decode/preprocess"):
            batch = next(iterator, None)
        if batch is None:
            return
        yield batch


def _batches(images: Iterable[Image.Image], size: int):
    batch = []
    for image in images:
        batch.append(image)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


ADAPTIVE_POOLS = frozenset(f"Adaptive{kind}Pool{dims}d" for kind in ("Avg", "Max") for dims in (1, 2, 3))
STEP_MODULES = frozenset(
    f"torch.nn.modules.{name}"
    for name in (
        "activation",
        "batchnorm",
        "instancenorm",
        "normalization",
        "dropout",
        "conv",
        "pooling",
        "flatten",
        "padding",
        "pixelshuffle",
        "upsampling",
        "channelshuffle",
        "sparse",
    )
)
"""torch.nn's modules of steps inside a stage (activations, normalisation, dropout, convolution,
pooling, reshaping, embedding lookups): never a candidate, nor is a subclass of theirs (timm's
`BatchNormAct2d` is a BatchNorm2d with an activation inside), adaptive pooling excepted."""


def candidate_layers(network) -> list[str]:
    """Layers `--layers all` and `map-layers` consider: the network's named blocks, walking down from
    the root. The rule, for standard CNNs and transformers alike:

    - a *block*, a child module with children of its own (a stage, a residual block, an encoder block,
      a head such as `Sequential(Flatten, Linear)`), is a candidate;
    - a leaf is a candidate only when it is a fully connected layer (`nn.Linear`: an MLP stage or the
      classifier head), an adaptive (global) pooling layer (the pooled output), or a module class of
      the network's own, defined outside torch, that holds parameters. Activation functions,
      normalisation, dropout, identity, flatten, convolutions (a bare conv stem), fixed-window
      pooling and their subclasses (timm's `BatchNormAct2d`, a BatchNorm2d with an activation inside)
      never are: they are steps inside a stage, and their full-resolution outputs are the
      largest of the network (a ResNet-18's `conv1`, `bn1` and `relu` are 800k units each at 224 px);
    - a plain `Sequential` of a single module counts as that module (`heads = Sequential(Linear)`
      is a Linear); a class of the network's own with one child stays a block (a residual wrapper);
    - a block is replaced by the candidates inside it when it is the network's one trunk of repeated
      blocks, the only `Sequential` or `ModuleList` of two or more blocks of one class among its
      siblings (a timm ViT's `blocks`, transformers' `encoder.layer`), or the only sibling holding
      blocks (a wrapper: torchvision ViT's `encoder`, ConvNeXt's and EfficientNet's `features`,
      transformers' `vit`). Several sibling stacks are stages and stay whole: a ResNet's `layer1` to
      `layer4` hold two blocks each. A `ModuleList` or `ModuleDict` without a forward of its own has
      no output to record and is always replaced by its items.

    So a ResNet (torchvision or timm) gives `layer1`..`layer4`, `avgpool` (timm: `global_pool`) and
    `fc`; convnet4 `stage1`..`stage4`, `pool` and `classifier`; torchvision's ViT
    `encoder.layers.encoder_layer_0`.. and `heads`, timm's `blocks.0`.. between `patch_embed` and
    `head`; ConvNeXt, EfficientNet and Swin their `features.0`.. (timm: `stages.0`.., `blocks.0`..);
    DenseNet its dense blocks and transitions. A flat `Sequential` of convolutions (AlexNet's and
    VGG's `features`) stays one block: name its layers. The classifier head stays a candidate (it is
    the network's output; a benchmark may well like it); a metric that cannot use it (pls on a 10-unit
    head) skips it with a note. A network where nothing qualifies (a flat `Sequential` of convolutions)
    falls back to its direct children that hold parameters; any layer can be named with `--layers`.
    """
    found = _blocks_in(network, "")
    if found:
        return found
    return [name for name, child in network.named_children() if any(True for _ in child.parameters())]


def _blocks_in(module, prefix: str) -> list[str]:

    entries = []  # (name, path of what it stands for, that module, the stack it is or wraps)
    for name, child in module.named_children():
        name = f"{prefix}.{name}" if prefix else name
        path, inner = _unwrapped(name, child)
        entries.append((name, path, inner, _wrapped_stack(path, inner)))
    blocks = [entry for entry in entries if _kind(entry[2]) == "block"]
    stacks = [entry for entry in blocks if entry[3] is not None]
    holders = [entry for entry in blocks if _holds_blocks(entry[2])]
    found: list[str] = []
    for entry in entries:
        name, path, inner, stack = entry
        kind = _kind(inner)
        if kind == "leaf":
            found.append(name)
        elif kind == "block":
            inside: list[str] = []
            if len(stacks) == 1 and stacks[0] is entry:  # the one trunk of repeated blocks: its blocks
                inside = _blocks_in(stack[1], stack[0])
            elif (len(holders) == 1 and holders[0] is entry) or _without_forward(inner):
                inside = _blocks_in(inner, path)  # a wrapper (or a list without an output): what it holds
            found.extend(inside or [name])
    return found


def _unwrapped(path: str, module) -> tuple[str, object]:
    """(path, module) that a plain container (Sequential, ModuleList, ModuleDict) of a single child
    stands for, followed down: its output is its child's. A class of the network's own with one child
    stays itself: its forward may do more (a residual connection)."""
    while _plain_container(module) and len(module) == 1:
        name, module = next(iter(module.named_children()))
        path = f"{path}.{name}"
    return path, module


def _plain_container(module) -> bool:
    """A Sequential, ModuleList or ModuleDict whose class keeps the plain behaviour (a subclass with a
    forward of its own, such as torchvision's DenseNet `_DenseBlock`, is a block like any other)."""
    import torch.nn as nn

    return (isinstance(module, nn.Sequential) and type(module).forward is nn.Sequential.forward) or _without_forward(module)


def _without_forward(module) -> bool:
    """A ModuleList or ModuleDict without a forward: no output of its own to record."""
    import torch.nn as nn

    return isinstance(module, (nn.ModuleList, nn.ModuleDict)) and type(module).forward is nn.Module.forward


def _wrapped_stack(path: str, module) -> tuple[str, object] | None:
    """(path, stack) when the module is a stack of repeated blocks, or wraps one alone through single
    children (transformers' `encoder`, which holds only `layer`, a ModuleList of encoder layers)."""
    while not _is_stack(module):
        children = list(module.named_children())
        if len(children) != 1:
            return None
        name, module = children[0]
        path = f"{path}.{name}"
    return path, module


def _kind(module) -> str:
    """'block' (has children), 'leaf' (a candidate without children) or 'skip' (a step inside a stage)."""
    import torch.nn as nn

    classes = type(module).__mro__
    if any(c.__name__ in ADAPTIVE_POOLS and c.__module__ == "torch.nn.modules.pooling" for c in classes):
        return "leaf"
    if isinstance(module, nn.Identity) or any(c.__module__ in STEP_MODULES for c in classes):
        return "skip"
    if next(module.children(), None) is not None:
        return "block"
    if isinstance(module, nn.Linear):
        return "leaf"
    own_class = not type(module).__module__.startswith("torch.")
    return "leaf" if own_class and next(module.parameters(recurse=False), None) is not None else "skip"


def _is_stack(module) -> bool:
    """A Sequential or ModuleList of two or more blocks of one class: repeated blocks."""
    import torch.nn as nn

    children = list(module.children())
    return (
        isinstance(module, (nn.Sequential, nn.ModuleList))
        and len(children) >= 2
        and all(next(child.children(), None) is not None for child in children)
        and len({type(child) for child in children}) == 1
    )


def _holds_blocks(module) -> bool:
    return any(next(child.children(), None) is not None for child in module.children())


GLOB_CHARACTERS = frozenset("*?[")


def select_layers(network, selection: str) -> list[str]:
    """The layers `--layers` names: `all` (the candidates, see `candidate_layers`) or a comma-separated
    list of layer names and globs, e.g. `layer2,layer3` or `'layer*'`. A glob matches dot-separated
    names part by part (`*` never crosses a dot), so `layer*` is `layer1`..`layer4` and `layer*.*`
    their blocks, not every convolution inside them. The result keeps the order given (a glob's matches
    in the network's order), each layer once. A name or glob that matches nothing is refused with the
    candidates and the network's layers, before any work."""
    items = [item.strip() for item in selection.split(",")]
    if not all(items):
        raise UserInputError(
            f"--layers {selection!r} has an empty name", field="layers", fix="give names separated by commas, e.g. layer2,layer3"
        )
    names = [name for name, _ in network.named_modules() if name]
    chosen: dict[str, None] = {}
    for item in items:
        if item == "all":
            matched = candidate_layers(network)
        elif GLOB_CHARACTERS & set(item):
            matched = [name for name in names if _glob_match(name, item)]
        else:
            matched = [item] if item in names else []
        if not matched:
            hint = "" if GLOB_CHARACTERS & set(item) else did_you_mean(item, names)
            raise UserInputError(
                f"--layers {item!r} matches no layer of the network.{hint} "
                f"Candidates (--layers all): {', '.join(candidate_layers(network))}. Layers: {preview(names, 40)}",
                field="layers",
                fix="name layers from these lists, or a glob such as 'layer*' (each '.'-separated part matched on its own)",
            )
        chosen.update(dict.fromkeys(matched))
    return list(chosen)


def _glob_match(name: str, pattern: str) -> bool:
    parts, patterns = name.split("."), pattern.split(".")
    return len(parts) == len(patterns) and all(fnmatch.fnmatchcase(part, p) for part, p in zip(parts, patterns))
