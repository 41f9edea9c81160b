"""Putting stimuli in front of a model at the right size (as Brain-Score's `place_on_screen`).

A benchmark's stimuli span `stimulus_degrees` of visual angle; a model's input spans `model_degrees`.
With ratio = model_degrees / stimulus_degrees: ratio ≥ 1 pastes the image, unscaled, in the centre of
a grey (128, 128, 128) canvas ratio times its size; ratio < 1 crops the image's centre to ratio times
its size. The network's own preprocessing then resizes what it sees to its input size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..data.stimuli import StimulusSet

GREY = (128, 128, 128)


def place(image: Image.Image, ratio: float) -> Image.Image:
    image = image.convert("RGB")
    if ratio == 1:
        return image
    size = np.array(image.size)
    target = (ratio * size).round().astype(int)
    if ratio > 1:
        canvas = Image.new("RGB", tuple(int(t) for t in target), GREY)
        canvas.paste(image, tuple(int(v) for v in ((target - size) / 2).round().astype(int)))
        return canvas
    left, upper = ((size - target) / 2).round().astype(int)
    return image.crop((int(left), int(upper), int(left + target[0]), int(upper + target[1])))


def placement_ratio(stimulus_degrees: float | None, model_degrees: float) -> float:
    """How much of the model's field of view one stimulus spans: 1 when the procedure gives no degrees."""
    return 1.0 if stimulus_degrees is None else model_degrees / stimulus_degrees


def placement_key(version: str, ratio: float, ids) -> str:
    """Names exactly the pixels a model is shown: the stimulus-set version, the placement and the stimuli,
    in order. Computable without the images (a scale-out plan groups extractions by it)."""
    digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
    return f"{version}|ratio={ratio!r}|ids={digest}"


@dataclass(frozen=True)
class PlacedStimuli:
    """A stimulus set as a model with `model_degrees` sees it; `key` names exactly these pixels."""

    stimulus_set: StimulusSet
    stimulus_degrees: float | None
    model_degrees: float
    ids: tuple[str, ...]

    @classmethod
    def of(cls, stimulus_set: StimulusSet, stimulus_degrees: float | None, model_degrees: float, ids=None) -> "PlacedStimuli":
        return cls(stimulus_set, stimulus_degrees, model_degrees, tuple(ids if ids is not None else stimulus_set.stimulus_ids))

    @property
    def ratio(self) -> float:
        return placement_ratio(self.stimulus_degrees, self.model_degrees)

    @property
    def key(self) -> str:
        """Stimulus-set version, placement and the stimuli shown: the cache's stimulus half of a key."""
        return placement_key(self.stimulus_set.version or self.stimulus_set.identifier, self.ratio, self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def images(self) -> Iterator[Image.Image]:
        for stimulus_id in self.ids:
            yield place(self.stimulus_set.open_image(stimulus_id), self.ratio)
