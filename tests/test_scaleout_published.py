"""`bsr run` on the 11 published benchmarks: 3 models, one extraction per (model, stimulus-set
version, placement, layer), counted against what the sequential procedure asks a model for.

Needs the raw data (`../shared/data` or $BSR_RAW_DATA); skipped, saying so, without them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from brainscore_registry.benchmarks.scoring import load_benchmark_data, model_responses
from brainscore_registry.benchmarks.specs import list_specs
from brainscore_registry.models.model_card import load_card
from brainscore_registry.models.torch_model import TorchBrainModel
from brainscore_registry.packaging import default_raw_root
from brainscore_registry.packaging.build import PACKAGES, build, raw_available
from brainscore_registry.paths import bsr_home
from brainscore_registry.store.registry import Registry

from .scoring_setup import CONVNET, EXAMPLES, WIDENET

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not raw_available(), reason=f"raw data not found at {default_raw_root()} (set BSR_RAW_DATA)"),
]
CARDS = [CONVNET, WIDENET, EXAMPLES / "resnet18" / "card.yaml"]


class AskedFor(TorchBrainModel):
    """The card's model answering with noise, remembering every (placed stimuli, layer) the
    benchmark's procedure asks it for: the extractions a sequential run performs."""

    def __init__(self, card, asked: set) -> None:
        super().__init__(card, device="cpu")
        self.asked = asked

    def activations(self, stimuli, layer):
        self.asked.add((self.identifier, stimuli.key, layer))
        return np.random.default_rng(len(self.asked)).standard_normal((len(stimuli), 32)).astype(np.float32)


@pytest.fixture
def published(tmp_path):
    registry = Registry.init(tmp_path / "published")
    for name in PACKAGES:
        build(name, registry)
    return registry


def test_three_models_on_the_eleven_benchmarks_extract_each_stimulus_set_once(published, cli):
    specs = list_specs(published.root)
    assert len(specs) == 11
    asked: set = set()
    for spec in specs:
        data = load_benchmark_data(spec, published)
        for card in CARDS:
            model_responses(data, AskedFor(load_card(card), asked))
    pairs_needs = len(specs) * len(CARDS)
    result = cli(
        "--registry", published.root, "run", *[a for c in CARDS for a in ("-m", c)], "-b", "*", "--workers", "2", "--json"
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert len(summary["records"]) == pairs_needs and summary["failed"] == []
    assert summary["tasks"]["extract"]["total"] == len(asked) < pairs_needs
    assert summary["extractions"]["computed"] == len(asked)  # a fresh cache: each one ran a network, once
    entries = list((bsr_home() / "cache" / "activations").rglob("*.npz"))
    assert len(entries) == len(asked)
