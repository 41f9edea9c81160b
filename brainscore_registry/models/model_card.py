"""Model cards (`card.yaml`): how a local PyTorch network commits to the brain-model interface.

A card names the network (`factory`: `path/to/file.py:function` returning a `torch.nn.Module`, paths
relative to the card), its optional `weights` (a state dict loaded with `torch.load(weights_only=True)`,
or a `.safetensors` file: never arbitrary unpickling), its input `preprocessing`, the `visual_degrees`
its input spans, the `layers` it commits to per region and the `readout_layer` for behaviour, and
optionally a `reduction` of every layer it is read from (`{pca: N, fit_stimuli: Name@sha256:<hex>}`:
Brain-Score's projection onto N principal components fitted on a pinned stimulus set; see reduction.py).

The model's identity is the hash of the card's content together with the sha256 of the weights file and
of the factory's source file: change any of them and it is a different model (and a different cache key).
A card without `reduction` hashes exactly as before the field existed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal

from pydantic import Field, field_validator

from ..data.hashing import canonical_json, file_sha256
from ..data.identifiers import label_problem
from ..data.metadata import parse_metadata, read_yaml
from ..data.schemas import PinnedVersion, Strict, VisualDegrees, valid_identifier
from ..data.vocabulary import REGIONS
from ..errors import UserInputError, did_you_mean

CARD_HINT = "examples/models/*/card.yaml"
MAX_IMAGE_SIZE = 4096
"""Largest network input side, in pixels: one 4096 × 4096 RGB float32 input is already 200 MB."""


class Preprocessing(Strict):
    image_size: int = Field(gt=0, le=MAX_IMAGE_SIZE, description="side of the square network input, pixels")
    resize: Literal["shorter_side", "stretch"] = Field(default="shorter_side", description="how images reach image_size")
    crop: Literal["center", "none"] = Field(default="center", description="after resizing the shorter side")
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]] = (
        0.229,
        0.224,
        0.225,
    )


class PCAReduction(Strict):
    """`reduction:` in a card: each recorded layer's activations projected onto its first `pca` principal
    components, fitted on the activations of `fit_stimuli` (a registered, pinned stimulus set version)."""

    pca: Annotated[int, Field(strict=True, gt=0)] = Field(description="number of principal components (Brain-Score: 1000)")
    fit_stimuli: PinnedVersion = Field(description="the stimulus set version the components are fitted on, Name@sha256:<64 hex>")


def card_relative_path(value: str) -> str:
    """A file named by a card lies in the card's directory (or below it): a relative POSIX path without
    '..'. Someone else's card must not make us import, hash or unpickle a file elsewhere."""
    pure = PurePosixPath(value.replace("\\", "/"))
    if not value or pure.is_absolute() or Path(value).is_absolute():
        raise ValueError(f"{value!r} is an absolute path, outside the card's directory; name the file relative to the card")
    if ".." in pure.parts:
        raise ValueError(f"{value!r} climbs outside the card's directory with '..'; keep the file beside the card")
    return value


def _layer_name(value: str | None) -> str | None:
    if value is None:
        return value
    if not value.strip():
        raise ValueError("a layer name must not be empty (an empty name is the whole network)")
    problem = label_problem(value)
    if problem:
        raise ValueError(f"layer name {value!r} {problem}")
    return value


class ModelCard(Strict):
    name: str
    factory: str = Field(description="path/to/file.py:function, relative to the card, inside its directory")
    weights: str | None = Field(
        default=None, description="state dict file (.pt/.pth via weights_only, or .safetensors), inside the card's directory"
    )
    preprocessing: Preprocessing
    visual_degrees: VisualDegrees = Field(description="degrees of visual angle the network's input spans, in (0, 180]")
    layers: dict[str, str] = Field(description="region -> layer name, e.g. {V1: stage1, IT: stage4}")
    readout_layer: str | None = Field(default=None, description="layer a behavioural readout is fitted on")
    reduction: PCAReduction | None = Field(
        default=None, description="{pca: N, fit_stimuli: Name@sha256:<hex>}: project each layer onto N principal components"
    )
    description: str = ""

    def content(self) -> dict:
        """The card as JSON, hashed into `card_sha256`. A card without `reduction` leaves the key out, so
        every card written before the field existed keeps its hash (and its records their model)."""
        data = self.model_dump(mode="json")
        if data.get("reduction") is None:
            data.pop("reduction", None)
        return data

    _name = field_validator("name")(valid_identifier)
    _readout = field_validator("readout_layer")(_layer_name)

    @field_validator("factory")
    @classmethod
    def _factory_form(cls, value: str) -> str:
        path, _, function = value.rpartition(":")
        if not path.endswith(".py") or not function.isidentifier():
            raise ValueError(f"{value!r} is not 'path/to/file.py:function'")
        card_relative_path(path)
        return value

    @field_validator("weights")
    @classmethod
    def _weights_inside(cls, value: str | None) -> str | None:
        return value if value is None else card_relative_path(value)

    @field_validator("layers")
    @classmethod
    def _regions(cls, value: dict[str, str]) -> dict[str, str]:
        for region, layer in value.items():
            if region not in REGIONS:
                raise ValueError(f"unknown region {region!r}.{did_you_mean(region, REGIONS)} Known: {', '.join(REGIONS)}")
            try:
                _layer_name(layer)
            except ValueError as exc:
                raise ValueError(f"{region}: {exc}") from None
        return value


class LoadedCard:
    """A validated card with its file, resolved paths and identity hashes."""

    def __init__(self, card: ModelCard, path: Path) -> None:
        self.card, self.path = card, path
        factory_file, _, self.function = card.factory.rpartition(":")
        self.factory_file = (path.parent / factory_file).resolve()
        self.weights_file = (path.parent / card.weights).resolve() if card.weights else None
        for field, file in (("factory", self.factory_file), ("weights", self.weights_file)):
            if file is not None and not file.is_file():
                raise UserInputError(
                    f"{file} does not exist", file=path, field=field, fix=f"give a path relative to the card ({path.parent})"
                )
            if file is not None and not file.is_relative_to(path.parent.resolve()):
                raise UserInputError(
                    f"{card.factory if field == 'factory' else card.weights} leads outside the card's directory "
                    f"{path.parent} (to {file}, through a symbolic link)",
                    file=path,
                    field=field,
                    fix="copy the file into the card's directory instead of linking to it",
                )

    def identity(self) -> dict:
        """The hashes that make up the model's identity (with the card's `reduction`, when it has one)."""
        identity = {
            "name": self.card.name,
            "card_sha256": hashlib.sha256(canonical_json(self.card.content())).hexdigest(),
            "weights_sha256": file_sha256(self.weights_file) if self.weights_file else None,
            "factory_sha256": file_sha256(self.factory_file),
            "layers": dict(self.card.layers),
            "readout_layer": self.card.readout_layer,
            "visual_degrees": self.card.visual_degrees,
        }
        if self.card.reduction is not None:
            identity["reduction"] = self.card.reduction.model_dump(mode="json")
        return identity

    def identity_hash(self) -> str:
        return hashlib.sha256(canonical_json(self.identity())).hexdigest()

    def build(self):
        """The network, with its weights loaded; in eval mode."""
        import torch

        module = self._factory()()
        if not isinstance(module, torch.nn.Module):
            raise UserInputError(
                f"{self.card.factory} returned {type(module).__name__}, not a torch.nn.Module",
                file=self.path,
                field="factory",
                fix="return the network from the factory function",
            )
        if self.weights_file is not None:
            self._load_weights(module)
        return module.eval()

    def _factory(self):
        name = f"bsr_model_{hashlib.sha256(str(self.factory_file).encode()).hexdigest()[:12]}"
        spec = importlib.util.spec_from_file_location(name, self.factory_file)
        module = importlib.util.module_from_spec(spec)
        try:
            sys.modules[name] = module
            spec.loader.exec_module(module)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # the user's code, sys.exit() included: report it, never exit with it
            sys.modules.pop(name, None)
            raise UserInputError(
                f"importing {self.factory_file} failed: {type(exc).__name__}: {exc}",
                file=self.path,
                field="factory",
                fix="make the factory file importable on its own (and never call sys.exit)",
            ) from None
        function = getattr(module, self.function, None)
        if function is None:
            public = [n for n in vars(module) if callable(vars(module)[n]) and not n.startswith("_")]
            raise UserInputError(
                f"{self.factory_file} has no function {self.function!r}.{did_you_mean(self.function, public)}",
                file=self.path,
                field="factory",
                fix=f"name one of: {', '.join(public)}",
            )

        def call():
            try:
                return function()
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # SystemExit too: a factory must not end the run without a record
                raise UserInputError(
                    f"{self.card.factory} raised {type(exc).__name__}: {exc}",
                    file=self.path,
                    field="factory",
                    fix="make the factory return the network, called without arguments (and never call sys.exit)",
                ) from None

        return call

    def _load_weights(self, module) -> None:
        import torch

        try:
            if self.weights_file.suffix == ".safetensors":
                from safetensors.torch import load_file

                state = load_file(str(self.weights_file))
            else:
                state = torch.load(self.weights_file, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise UserInputError(
                f"cannot read weights {self.weights_file}: {type(exc).__name__}: {str(exc).splitlines()[0]}",
                file=self.path,
                field="weights",
                fix="save a state dict with torch.save(model.state_dict(), path) or safetensors",
            ) from None
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            detail = " ".join(str(exc).split())[:400]
            raise UserInputError(
                f"the weights do not match the network: {detail}",
                file=self.path,
                field="weights",
                fix="use weights saved from this architecture",
            ) from None


def load_card(path: str | Path) -> LoadedCard:
    path = Path(path).resolve()
    if not path.is_file():
        raise UserInputError(f"{path} does not exist", field="model", fix="give the path to a card.yaml")
    return LoadedCard(parse_metadata(read_yaml(path), ModelCard, file=path, hint=CARD_HINT), path)
