"""Planning `bsr run` on the client: which benchmarks, which models, which pairs are already recorded,
and which extractions the pairs share.

An extraction is named by what determines its bytes: the model's identity (card, weights, factory),
the stimuli as placed (stimulus-set version, placement ratio, the ids in order: `placement_key`), the
layer and the device asked for. Every (model, benchmark) pair that needs the same one depends on one
task: the Geirhos benchmarks' shared fitting set, or a region's two metrics on one assembly, are
extracted once per model.
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass
from pathlib import Path

from ..benchmarks.screen import placement_key, placement_ratio
from ..benchmarks.specs import BenchmarkSpec, list_specs
from ..errors import BsrError, UserInputError, did_you_mean
from ..models.model_card import load_card
from ..models.torch_model import TorchBrainModel
from ..runs.layer_sweep import recorded_region
from ..runs.records import ModelPart, check_signature, key_id, public_key, read_record
from ..runs.run import model_part, spec_sha256
from ..runs.session import check_distinct
from .tasks import BenchmarkNeeds, ExtractionRequest, MetricRequest, ModelRef

FITTING_TASKS = ("probabilities", "label")  # tasks whose readout is fitted on the fitting stimuli


def select_benchmarks(root: Path, patterns: list[str]) -> list[BenchmarkSpec]:
    """The specs named by ids or shell globs, in catalogue order, each once; a pattern that matches
    nothing is the user's mistake, with the closest ids."""
    specs = list_specs(root)
    ids = [s.id for s in specs]
    chosen: dict[str, BenchmarkSpec] = {}
    for pattern in patterns:
        matched = [s for s in specs if fnmatch.fnmatchcase(s.id, pattern)]
        if not matched:
            raise UserInputError(
                f"no benchmark matches {pattern!r}.{did_you_mean(pattern, ids)}",
                field="benchmarks",
                fix="give benchmark ids or globs, e.g. 'Geirhos2019.*' (quote globs); `bsr benchmarks` lists them",
            )
        chosen.update({s.id: s for s in matched})
    return list(chosen.values())


@dataclass(frozen=True)
class PlannedModel:
    """A model card loaded on the client: its identity as workers must find it, and as records name it."""

    ref: ModelRef
    model: TorchBrainModel  # never builds its network on the client
    part: ModelPart

    @property
    def name(self) -> str:
        return self.model.name


def load_models(card_paths: list[Path], device: str, batch_size: int) -> list[PlannedModel]:
    """Each card loaded (schema, weights and factory hashed) before anything is submitted."""
    planned = []
    for path in card_paths:
        card = load_card(path)
        model = TorchBrainModel(card, device="cpu", batch_size=batch_size)
        ref = ModelRef(str(card.path.resolve()), card.identity_hash(), device, batch_size)
        planned.append(PlannedModel(ref, model, model_part(model)))
    check_distinct([p.model for p in planned])
    return planned


@dataclass(frozen=True)
class Pair:
    """One model on one benchmark: one metric task and one record."""

    spec: BenchmarkSpec
    model: PlannedModel
    path: Path


def committed_layer(pair: Pair) -> str:
    """The layer the benchmark records from, or the card's readout: a card that commits none is refused
    with `bsr score`'s own message, before any task is submitted."""
    return pair.model.model.committed_layer(recorded_region(pair.spec))


def extraction_requests(pair: Pair, needs: BenchmarkNeeds) -> list[ExtractionRequest]:
    """The extractions the pair's metric task needs: the test stimuli at the committed layer, and the
    fitting stimuli too when the task fits a readout on them."""
    spec, ref = pair.spec, pair.model.ref
    layer = committed_layer(pair)
    ratio = placement_ratio(spec.procedure.visual_degrees, pair.model.model.visual_degrees())
    shown = [(False, needs.stimulus_set, needs.ids)]
    if spec.procedure.task in FITTING_TASKS and needs.fitting_set is not None:
        shown.append((True, needs.fitting_set, needs.fitting_ids))
    return [
        ExtractionRequest(ref, spec.id, spec.fingerprint(), fitting, ids, layer, placement_key(version, ratio, ids))
        for fitting, version, ids in shown
    ]


def extraction_id(request: ExtractionRequest) -> str:
    """What an extraction's bytes depend on, hashed: the key that pairs share a task by."""
    ref = request.model
    parts = (ref.identity, request.stimuli_key, request.layer, ref.device, str(ref.batch_size))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def metric_request(pair: Pair, metric_device: str) -> MetricRequest:
    model = pair.model
    return MetricRequest(model.ref, dict(model.model.layers), pair.spec.id, pair.spec.fingerprint(), metric_device)


def already_recorded(pair: Pair, code: dict) -> bool:
    """A record at the pair's path that this user signed for this spec, model and code: the pair is
    done (its data are pinned by the spec). Anything else (absent, damaged, another signer, stale) is
    recomputed and replaced."""
    if not pair.path.is_file():
        return False
    try:
        record = read_record(pair.path)
        check_signature(record, pair.path)
    except BsrError:
        return False
    return (
        record.signer.key_id == key_id(public_key())
        and record.benchmark.spec_sha256 == spec_sha256(pair.spec)
        and record.model == pair.model.part
        and record.code == code
    )
