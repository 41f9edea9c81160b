"""A local PyTorch network behind the brain-model interface, as its model card commits it.

Recording returns the activations of the layer mapped to the region, flattened, one column per unit,
and, since the network is static, the same response in every requested time bin. Behaviour uses a
readout on `readout_layer`: as Brain-Score's probabilities mapping, the fitting stimuli's features
are standardised and a multinomial logistic regression (C = 1e-3) is fitted to their labels;
`probabilities` returns its class probabilities, `label` its most probable class.

A card with `reduction: {pca: N, fit_stimuli: <version>}` gets every layer it is read from (recording,
features, the behavioural readout) projected onto N principal components fitted on the pinned fit
stimuli (see reduction.py); the reduced activations are what is cached, under a key that names the
reduction. Without it the raw layer is used, under the very key it always had.

Activations are cached by content (see activation_cache); extraction shows progress through the
`progress(stage, done, total)` callback. One forward pass of one image (`layer_probes`) tells each
layer's units before any extraction, so a sweep can bound its memory; an extraction stops each pass
right after the layer it records when that layer runs once per pass.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from ..benchmarks.screen import PlacedStimuli
from ..errors import UserInputError
from ..progress import Progress
from ..store.registry import Registry
from .activation_cache import ActivationCache, cache_key
from .activations import LayerProbe, extract, layer_modules, probe_layers, resolve_device, select_layers
from .model_card import LoadedCard, load_card
from .reduction import LayerReduction


class TorchBrainModel:
    def __init__(
        self,
        card: LoadedCard,
        *,
        device: str = "auto",
        bf16: bool = False,
        batch_size: int = 64,
        cache: ActivationCache | None = None,
        progress: Progress | None = None,
        layers: dict[str, str] | None = None,
        registry: Registry | str | Path | None = None,
    ) -> None:
        """`registry`: where a card's `reduction.fit_stimuli` is found (None: `$BSR_REGISTRY`, else the
        nearest parent of the working directory that is a registry); unused without a reduction."""
        self.card = card
        self.device = resolve_device(device)
        self.bf16 = bf16 and self.device == "cuda"
        self.batch_size = batch_size
        self.cache = cache if cache is not None else ActivationCache()
        self.progress = progress
        self.layers = dict(layers if layers is not None else card.card.layers)
        self._identity = card.identity_hash()
        self._network = None
        self._probes: dict[str, LayerProbe] = {}  # shared with the copies `with_layers` makes: one network
        self._mode: tuple = ("passive",)
        self.cache_hits = 0
        self.registry = registry
        reduction = card.card.reduction
        self.reduction = (
            LayerReduction(reduction, card_path=card.path, registry=registry, cache=self.cache) if reduction is not None else None
        )

    @property
    def identifier(self) -> str:
        return f"{self.card.card.name}@{self._identity[:12]}"

    @property
    def name(self) -> str:
        return self.card.card.name

    @property
    def threads(self) -> int:
        """CPU threads torch computes with: part of the numeric setting a reproduction is held to."""
        import torch

        return torch.get_num_threads()

    def with_layers(self, layers: dict[str, str]) -> "TorchBrainModel":
        """The same network and settings committing other layers (the network is built once, shared)."""
        other = TorchBrainModel(
            self.card,
            device=self.device,
            bf16=self.bf16,
            batch_size=self.batch_size,
            cache=self.cache,
            progress=self.progress,
            layers=layers,
            registry=self.registry,
        )
        other._network = self._network
        other._probes = self._probes
        other.reduction = self.reduction  # one fit set, each layer's projection fitted once
        return other

    @property
    def network(self):
        if self._network is None:
            self._network = self.card.build()
        return self._network

    def visual_degrees(self) -> float:
        return self.card.card.visual_degrees

    def numeric_setting(self) -> str:
        import torch

        return f"{self.device}|{'bf16' if self.bf16 else 'fp32'}|torch={torch.__version__}|threads={self.threads}"

    def committed_layer(self, region: str | None) -> str:
        """The layer the card commits to `region`, or its readout layer when `region` is None
        (behavioural tasks): the one a benchmark's procedure records from."""
        if region is not None:
            if region not in self.layers:
                raise UserInputError(
                    f"the model commits no layer to region {region!r} (it maps {', '.join(self.layers) or 'none'})",
                    file=self.card.path,
                    field="layers",
                    fix=f"add `{region}: <layer>` under layers (or run `bsr map-layers`)",
                )
            return self.layers[region]
        if self.card.card.readout_layer is None:
            raise UserInputError(
                "behavioural tasks need a readout layer",
                file=self.card.path,
                field="readout_layer",
                fix="name the layer to read out from",
            )
        return self.card.card.readout_layer

    def select_layers(self, selection: str) -> list[str]:
        """The network's layers `--layers` names (`all`, names, globs: see activations.select_layers)."""
        try:
            return select_layers(self.network, selection)
        except UserInputError as exc:
            raise UserInputError(exc.message, file=self.card.path, field="layers", fix=exc.fix) from None

    def layer_probes(self, layers: list[str]) -> dict[str, LayerProbe]:
        """Units per image and calls per forward pass of each layer, from one forward pass of one image
        at the card's input size; remembered for the network, so each layer is probed once."""
        if self.reduction is not None:
            self.reduction.fit_set()  # an unknown or missing fit set is refused while planning, before any work
        missing = [layer for layer in dict.fromkeys(layers) if layer not in self._probes]
        if missing:
            self._check_layers(missing)
            size = self.card.card.preprocessing.image_size
            try:
                self._probes.update(probe_layers(self.network, missing, size, self.device))
            except UserInputError as exc:
                raise UserInputError(exc.message, file=self.card.path, field=exc.field, fix=exc.fix) from None
        return {layer: self._probes[layer] for layer in layers}

    def _check_layers(self, layers: list[str]) -> None:
        """A clear error for an unknown layer, naming the card, before any work."""
        try:
            layer_modules(self.network, layers)  # building the network reports the factory's own errors
        except UserInputError as exc:
            raise UserInputError(exc.message, file=self.card.path, field="layers", fix=exc.fix) from None

    def start_recording(self, region: str, time_bins: list[tuple[int, int]]) -> None:
        self._mode = ("recording", self.committed_layer(region), [tuple(b) for b in time_bins])

    def start_task(self, task: str, fitting_stimuli: PlacedStimuli | None = None, labels: list[str] | None = None) -> None:
        if task == "passive":
            self._mode = ("passive",)
            return
        if task not in ("probabilities", "label", "features"):
            raise UserInputError(f"unknown task {task!r}", field="task", fix="use passive, probabilities, label or features")
        layer = self.committed_layer(None)
        if task == "features":  # the readout layer's responses, for metrics that decide from them
            self._mode = ("recording", layer, [(0, 1)])
            return
        if fitting_stimuli is None or labels is None:
            raise UserInputError(
                f"the {task} task fits a readout and needs fitting stimuli with labels",
                field="fitting_stimuli",
                fix="pin fitting_stimuli in the benchmark spec",
            )
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        features = self.activations(fitting_stimuli, layer)
        readout = make_pipeline(StandardScaler(), LogisticRegression(C=1e-3, max_iter=1000))
        readout.fit(features, np.asarray(labels))
        self._mode = (task, layer, readout)

    def activations(self, stimuli: PlacedStimuli, layer: str) -> np.ndarray:
        """`stimuli × units` float32 activations of one layer, from the cache when it has them; with the
        card's `reduction`, `stimuli × components` float64 (a layer with at most N units: its raw float32
        activations), cached under a key that adds the reduction."""
        parts = (self._identity, stimuli.key, layer, self.numeric_setting())
        if self.reduction is not None:
            parts = (*parts, self.reduction.tag)
        key = cache_key(*parts)
        cached = self.cache.get(key)
        if cached is not None and cached[1] == list(stimuli.ids):
            self.cache_hits += 1
            return cached[0]
        probe = self._recordable(layer)
        values = self._extract(stimuli, layer, probe)
        if self.reduction is not None:
            projection = self._projection(layer, probe, (stimuli, values))
            if projection is not None:
                values = projection(values)
        self.cache.put(key, values, list(stimuli.ids))
        return values

    def _projection(self, layer: str, probe: LayerProbe, extracted: tuple[PlacedStimuli, np.ndarray]):
        """The card's reduction of `layer` (None: it has at most N units and passes through).
        `extracted`: stimuli whose raw activations are at hand, reused when they are the fit stimuli."""

        def fit_activations() -> np.ndarray:
            fit = self.reduction.fit_stimuli(self.visual_degrees())
            if fit.key == extracted[0].key:  # the very pixels: no second extraction
                return extracted[1]
            return self._extract(fit, layer, probe, stage="fit PCA")

        setting = f"{self.numeric_setting()}|numpy={np.__version__}"
        return self.reduction.projection(layer, probe.units, (self._identity, setting), fit_activations)

    def _recordable(self, layer: str) -> LayerProbe:
        probe = self.layer_probes([layer])[layer]  # an unknown layer is refused here, before any work
        if probe.problem:
            raise UserInputError(
                f"layer {layer!r} cannot be recorded: {probe.problem}",
                file=self.card.path,
                field="layers",
                fix="map the region to another layer (`bsr score --layers all` lists the candidates)",
            )
        return probe

    def _extract(self, stimuli: PlacedStimuli, layer: str, probe: LayerProbe, stage: str = "extract") -> np.ndarray:
        """The layer's raw `stimuli × units` float32 activations, computed (never from the cache)."""
        done = [0]

        def on_batch(n: int) -> None:
            done[0] += n
            if self.progress:
                self.progress(f"{stage} {self.card.card.name}.{layer}", done[0], len(stimuli))

        return extract(
            self.network,
            [layer],
            stimuli.images(),
            len(stimuli),
            self.card.card.preprocessing,
            device=self.device,
            bf16=self.bf16,
            batch_size=self.batch_size,
            on_batch=on_batch,
            stop_early=probe.calls == 1,  # nothing after the layer is needed
        )[layer]

    def look_at(self, stimuli: PlacedStimuli, number_of_trials: int = 1) -> xr.DataArray:
        mode = self._mode[0]
        if mode == "passive":
            raise UserInputError("call start_recording or start_task before look_at", field="task", fix="start a task")
        ids = np.array(stimuli.ids, dtype=object)
        if mode == "recording":
            _, layer, time_bins = self._mode
            values = self.activations(stimuli, layer)
            # a static network: the same response in every bin; one bin is a view, not a copy of a layer
            binned = values[:, :, None] if len(time_bins) == 1 else np.repeat(values[:, :, None], len(time_bins), axis=2)
            return xr.DataArray(
                binned,
                dims=("presentation", "neuroid", "time_bin"),
                coords={
                    "stimulus_id": ("presentation", ids),
                    "neuroid_id": ("neuroid", [f"{layer}.{i}" for i in range(values.shape[1])]),
                    "layer": ("neuroid", [layer] * values.shape[1]),
                    "time_bin_start": ("time_bin", [b[0] for b in time_bins]),
                    "time_bin_end": ("time_bin", [b[1] for b in time_bins]),
                },
            )
        _, layer, readout = self._mode
        probabilities = readout.predict_proba(self.activations(stimuli, layer))
        classes = np.asarray(readout.classes_).astype(str)
        if mode == "probabilities":
            return xr.DataArray(
                probabilities, dims=("presentation", "choice"), coords={"stimulus_id": ("presentation", ids), "choice": classes}
            )
        return xr.DataArray(
            classes[probabilities.argmax(axis=1)], dims=("presentation",), coords={"stimulus_id": ("presentation", ids)}
        )


def load_brain_model(
    card_path: str | Path,
    *,
    device: str = "auto",
    bf16: bool = False,
    batch_size: int = 64,
    progress: Progress | None = None,
    layers: dict[str, str] | None = None,
    registry: Registry | str | Path | None = None,
) -> TorchBrainModel:
    """The brain model a card describes, with the shared activation cache; `registry` holds the fit
    stimuli of a card's `reduction` (None: `$BSR_REGISTRY` or the working directory's registry)."""
    card = load_card(card_path)
    cache = ActivationCache()
    return TorchBrainModel(
        card, device=device, bf16=bf16, batch_size=batch_size, cache=cache, progress=progress, layers=layers, registry=registry
    )
