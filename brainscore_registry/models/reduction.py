"""Brain-Score's layer reduction, made explicit: a card's `reduction: {pca: N, fit_stimuli: <version>}`.

Brain-Score (brainscore_vision 2.4.2, `model_helpers/activations/pca.py`, `LayerPCA`) projects a
layer's flattened activations onto N = 1000 principal components fitted, per layer, on the model's
activations to 1000 ImageNet validation images (one per class), which the model sees as files at its
own input size (no visual-degree placement); sklearn `PCA(n_components=N, random_state=0)`, which
centres on the fit images' mean and does not whiten; a layer with at most N units is passed through
unprojected. Here the fit images are a registered stimulus set version the card pins (nothing is
downloaded), and the rest is the same, with these choices (each documented where it is made):

- Fit images: every stimulus of `fit_stimuli`, in its stored order, as the model sees them at its own
  input size: placement ratio 1 (the images themselves, no grey canvas, no crop), then the card's
  preprocessing. So one projection per layer serves every benchmark, as in the reference, whose
  projections are keyed by model and layer only.
- Fit: the mean over the fit images, then an exact thin SVD (`numpy.linalg.svd`, LAPACK gesdd) of the
  centred activations in float64. The reference's sklearn `auto` solver is the exact `full` SVD for
  its own case (N = images = 1000: N is not below 80% of the smaller dimension); a randomized solver
  would make the components depend on a random state and iteration count. Signs follow sklearn's
  `svd_flip(u_based_decision=False)`: each component's largest-magnitude entry is positive.
- Components kept: min(N, units, rank), where rank counts the singular values above numpy's
  `matrix_rank` tolerance (largest · max(shape) · float64 eps); rank ≤ fit images - 1 after centring.
  A direction with no variance in the fit images is not determined by them (LAPACK returns an
  arbitrary one), so projecting other stimuli onto it would add rounding noise: it is dropped. (The
  reference fits N components on exactly N images, so its last component is such a direction.)
- A layer with at most N units passes through as it is (raw, not centred), as in the reference.
- Projection: `(activations - mean) @ components.T`, float64 (the reference's sklearn keeps the
  float32 of its activations; the difference is float32 rounding).

The fitted projection (mean and components, float64) is cached under the activation cache's directory
(`projections/`), keyed by the model's identity, the fit stimulus set version, the layer, N, the scheme
and the numeric setting (device, precision, torch, threads, numpy), with the activation cache's HMAC
(activation_cache.py): an entry that does not authenticate is refitted, never used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..benchmarks.screen import PlacedStimuli
from ..data.stimuli import StimulusSet
from ..errors import BsrError, JobError, UserInputError
from ..store.registry import Registry
from .activation_cache import ActivationCache, cache_key
from .model_card import PCAReduction

SCHEME = "pca-svd-float64-v1"
"""Names how a projection is fitted and applied; part of every key that a reduction enters."""
PROJECTION_ROWS = 2048
"""Stimuli projected at a time: bounds the float64 working copy of a layer's activations."""


@dataclass(frozen=True)
class Projection:
    """A fitted layer projection: `mean` (units,) and orthonormal `components` (k × units), float64."""

    mean: np.ndarray
    components: np.ndarray

    def __call__(self, activations: np.ndarray) -> np.ndarray:
        """`stimuli × k` float64: the activations, centred on the fit mean, onto the components."""
        out = np.empty((activations.shape[0], self.components.shape[0]), dtype=np.float64)
        for start in range(0, activations.shape[0], PROJECTION_ROWS):
            rows = slice(start, start + PROJECTION_ROWS)
            out[rows] = (np.asarray(activations[rows], dtype=np.float64) - self.mean) @ self.components.T
        return out

    def as_entry(self) -> tuple[np.ndarray, list[str]]:
        """One cache entry: the mean as the first row, then the components; ids name the rows."""
        return np.vstack([self.mean[None, :], self.components]), ["mean", *(f"pc{i}" for i in range(len(self.components)))]

    @classmethod
    def from_entry(cls, values: np.ndarray, ids: list[str], units: int) -> Projection | None:
        expected = ["mean", *(f"pc{i}" for i in range(values.shape[0] - 1))] if values.ndim == 2 else None
        if values.ndim != 2 or values.shape[1] != units or values.dtype != np.float64 or ids != expected or len(ids) < 2:
            return None
        return cls(values[0], values[1:])


def fit_pca(activations: np.ndarray, n_components: int) -> Projection | None:
    """The first min(n_components, units, rank) principal components of `images × units` activations
    (module docstring); None when the layer has at most `n_components` units (passed through)."""
    units = activations.shape[1]
    if units <= n_components:
        return None
    x = np.array(activations, dtype=np.float64)  # a copy: centred in place
    mean = x.mean(axis=0)
    x -= mean
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    del x
    tolerance = s[0] * max(activations.shape) * np.finfo(np.float64).eps if s.size else 0.0
    rank = int(np.count_nonzero(s > tolerance))
    k = min(n_components, rank)
    components = np.array(vt[:k])
    largest = np.argmax(np.abs(components), axis=1)
    components *= np.sign(components[np.arange(k), largest])[:, None]
    return Projection(mean, components)


class LayerReduction:
    """A card's reduction for one model: its fit stimuli, resolved in the registry when first needed,
    and each layer's projection, fitted once (memoised, and cached by content on disk)."""

    def __init__(self, spec: PCAReduction, *, card_path: Path, registry: Registry | str | Path | None, cache: ActivationCache):
        self.spec, self.card_path, self._registry = spec, card_path, registry
        self.cache = ActivationCache(cache.directory / "projections", cache.secret_file)
        self._fit_set: StimulusSet | None = None
        self._projections: dict[str, Projection | None] = {}
        self.fitted = 0  # projections fitted (not found in the cache) by this model: what tests count

    @property
    def tag(self) -> str:
        """The reduction as a part of a cache key."""
        return f"reduction=pca:{self.spec.pca}|fit:{self.spec.fit_stimuli}|{SCHEME}"

    def fit_stimuli(self, model_degrees: float) -> PlacedStimuli:
        """The fit set as the model sees it at its own input size (ratio 1: no placement)."""
        return PlacedStimuli.of(self.fit_set(), None, model_degrees)

    def fit_set(self) -> StimulusSet:
        """The pinned fit stimulus set, from this checkout's registry; a missing or unknown version is
        an error naming the card and `reduction.fit_stimuli`."""
        if self._fit_set is None:
            from ..store.loading import load_stimulus_set

            field = "reduction.fit_stimuli"
            try:
                registry = Registry.of(self._registry)
            except BsrError as exc:
                raise UserInputError(
                    f"the fit stimuli {self.spec.fit_stimuli} are looked up in a registry, and there is none: {exc.message}",
                    file=self.card_path,
                    field=field,
                    fix="set BSR_REGISTRY to the registry checkout that holds them, or run inside it",
                ) from None
            try:
                self._fit_set = load_stimulus_set(str(self.spec.fit_stimuli), registry=registry)
            except BsrError as exc:  # unknown, not a stimulus set, not here, damaged: name the card's field
                kind = UserInputError if isinstance(exc, UserInputError) else JobError
                said = exc.message if str(self.spec.fit_stimuli) in exc.message else f"{self.spec.fit_stimuli}: {exc.message}"
                raise kind(said, file=self.card_path, field=field, fix=exc.fix) from None
            if len(self._fit_set) < 2:
                raise UserInputError(
                    f"{self.spec.fit_stimuli} has {len(self._fit_set)} stimulus; principal components need at least 2",
                    file=self.card_path,
                    field=field,
                    fix="pin a stimulus set with many images (Brain-Score fits on 1000)",
                )
        return self._fit_set

    def projection(
        self, layer: str, units: int, key_parts: tuple[str, ...], fit_activations: Callable[[], np.ndarray]
    ) -> Projection | None:
        """The layer's projection (None: at most N units, passed through). `key_parts` name the model
        and its numeric setting; `fit_activations` extracts the fit set's raw activations when needed."""
        if layer in self._projections:
            return self._projections[layer]
        projection = None
        if units > self.spec.pca:
            key = cache_key("bsr-pca-projection", SCHEME, *key_parts, str(self.spec.fit_stimuli), layer, str(self.spec.pca))
            cached = self.cache.get(key)
            projection = Projection.from_entry(*cached, units) if cached is not None else None
            if projection is None:
                activations = fit_activations()
                projection = fit_pca(activations, self.spec.pca)
                if projection is None or len(projection.components) == 0:
                    raise UserInputError(
                        f"layer {layer!r} does not vary over the fit stimuli {self.spec.fit_stimuli}: no principal component",
                        file=self.card_path,
                        field="reduction.fit_stimuli",
                        fix="pin a fit stimulus set of varied images",
                    )
                self.cache.put(key, *projection.as_entry())
                self.fitted += 1
        self._projections[layer] = projection
        return projection
