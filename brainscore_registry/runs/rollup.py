"""Rolling signed score records up the benchmarks' parent links, per model: a pure function of the
records and the registry's specs and aggregation tree (what `bsr aggregate` and a leaderboard show).

Only records whose signature verifies (against `trusted` when given) are counted; a benchmark without
a record stays missing, never 0.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ..benchmarks.aggregation import Node, aggregate, load_tree
from ..benchmarks.specs import list_specs
from ..store.registry import Registry
from .records import ScoreRecord, check_signature, read_record


def model_label(record: ScoreRecord) -> str:
    """The scored model as people read it: its name and, for a brain model, its layer commitment."""
    layers = record.model.layers
    return record.model.name + (f" ({', '.join(f'{k}={v}' for k, v in layers.items())})" if layers else "")


def rollup(
    registry: Registry, record_paths: list[Path], trusted: Ed25519PublicKey | None = None
) -> dict[str, dict[str, Node]]:
    """model → every node of the aggregation tree (benchmarks included) with its value and missing leaves."""
    by_model: dict[str, dict[str, float]] = {}
    for path in record_paths:
        record = read_record(path)
        check_signature(record, trusted)
        by_model.setdefault(model_label(record), {})[record.benchmark.id] = record.score["value"]
    specs, tree = list_specs(registry.root), load_tree(registry.root)
    return {model: aggregate(specs, scores, tree) for model, scores in by_model.items()}
