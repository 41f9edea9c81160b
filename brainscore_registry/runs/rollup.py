"""Rolling signed score records up the benchmarks' parent links, per model: a pure function of the
records and the registry's specs and aggregation tree (what `bsr aggregate` and a leaderboard show).

Only records the trusted-keys policy accepts (valid signature, trusted signer: see `trust`) are
counted, and one it refuses stops the roll-up with the file and the signer named, rather than being
left out quietly (a missing score and a refused one are not the same thing). A benchmark without a
record stays missing, never 0.
"""

from __future__ import annotations

from pathlib import Path

from ..benchmarks.aggregation import Node, aggregate, load_tree
from ..benchmarks.specs import list_specs
from ..store.registry import Registry
from .records import ScoreRecord
from .trust import TrustPolicy, accept_record


def model_label(record: ScoreRecord) -> str:
    """The scored model as people read it: its name and, for a brain model, its layer commitment; for a
    scoring service's answer, the account that submitted it and the server's key (two accounts' files
    of one name are two entries)."""
    layers = record.model.layers
    label = record.model.name + (f" ({', '.join(f'{k}={v}' for k, v in layers.items())})" if layers else "")
    if record.submission is not None:
        label = f"{record.submission.get('account')}@{record.signer.key_id[:8]}: {label}"
    return label


def rollup(registry: Registry, record_paths: list[Path], policy: TrustPolicy) -> dict[str, dict[str, Node]]:
    """model → every node of the aggregation tree (benchmarks included) with its value and missing leaves;
    RecordInvalid (SignerNotTrusted for an untrusted signer) for the first record `policy` refuses."""
    by_model: dict[str, dict[str, float]] = {}
    for path in record_paths:
        record = accept_record(path, policy)
        by_model.setdefault(model_label(record), {})[record.benchmark.id] = record.score["value"]
    specs, tree = list_specs(registry.root), load_tree(registry.root)
    return {model: aggregate(specs, scores, tree) for model, scores in by_model.items()}
