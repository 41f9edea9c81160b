"""A brain model whose activations were extracted elsewhere: a scale-out worker scores a benchmark on
activations another worker extracted (or the same one, earlier), with the same readout and procedure
code as a local model, and reports the numeric setting they were extracted in.

It is a `TorchBrainModel` in every way but where its activations come from: recording, the behavioural
readout (fitted on the supplied fitting-stimuli activations) and the model's identity in a record are
the card's own. The network is never built.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..benchmarks.screen import PlacedStimuli
from ..errors import JobError
from .model_card import LoadedCard
from .torch_model import TorchBrainModel


@dataclass(frozen=True)
class ExtractedLayer:
    """One layer's activations on placed stimuli, and the setting that computed them."""

    stimuli_key: str  # PlacedStimuli.key: set version, placement, ids
    layer: str
    values: np.ndarray
    ids: tuple[str, ...]
    device: str
    threads: int
    setting: str  # TorchBrainModel.numeric_setting() where they were extracted
    device_name: str  # the GPU or CPU that extracted them, for the record's environment


class PrecomputedBrainModel(TorchBrainModel):
    """The card's model, answering from `extracted` instead of running its network."""

    def __init__(self, card: LoadedCard, layers: dict[str, str], extracted: list[ExtractedLayer]) -> None:
        super().__init__(card, device="cpu", layers=layers)
        if not extracted or len({e.setting for e in extracted}) != 1:
            raise JobError(
                f"{card.card.name}: activations extracted in {len({e.setting for e in extracted})} numeric settings "
                "cannot be scored together",
                file=card.path,
                fix="extract a benchmark's stimuli and fitting stimuli on workers of one kind (device, precision, threads)",
            )
        self._supplied = {(e.stimuli_key, e.layer): e for e in extracted}
        self.device = extracted[0].device
        self._threads = extracted[0].threads
        self._setting = extracted[0].setting

    @property
    def threads(self) -> int:
        return self._threads

    def numeric_setting(self) -> str:
        return self._setting

    def activations(self, stimuli: PlacedStimuli, layer: str) -> np.ndarray:
        found = self._supplied.get((stimuli.key, layer))
        if found is None or found.ids != tuple(stimuli.ids):
            raise JobError(
                f"{self.name}: no extracted activations of layer {layer!r} for stimuli {stimuli.key}",
                file=self.card.path,
                fix="this is a planning error in bsr run: please report it with the command line",
            )
        return found.values
