"""The brain-model interface: what any model must do to be scored (Brain-Score's BrainModel).

Pixels in; a commitment of layers to regions; recordings and choices out. Any object with these
methods can be scored, whatever framework is behind it.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

import xarray as xr

from .screen import PlacedStimuli

Task = Literal["passive", "probabilities", "label", "features"]


@runtime_checkable
class BrainModel(Protocol):
    @property
    def identifier(self) -> str:
        """Names the model, including a hash of everything that determines its responses."""

    def visual_degrees(self) -> float:
        """Degrees of visual angle the model's input spans."""

    def start_recording(self, region: str, time_bins: list[tuple[int, int]]) -> None:
        """From now on `look_at` returns `presentation × neuroid × time_bin` responses of `region`."""

    def start_task(self, task: Task, fitting_stimuli: PlacedStimuli | None = None, labels: list[str] | None = None) -> None:
        """From now on `look_at` returns behaviour: `probabilities` (`presentation × choice`, a readout
        fitted on `fitting_stimuli` with their `labels`), `label` (one choice per presentation) or
        `features` (the readout layer's `presentation × neuroid` responses, from which a metric derives
        the choices of a similarity judgement such as odd-one-out)."""

    def look_at(self, stimuli: PlacedStimuli, number_of_trials: int = 1) -> xr.DataArray:
        """Responses to the stimuli, keyed by `stimulus_id`."""
