"""`bsr aggregate`: roll signed score records up the benchmarks' parent links, per model."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.tree import Tree

from brainscore_registry.benchmarks.aggregation import aggregate as aggregate_scores
from brainscore_registry.benchmarks.aggregation import load_tree
from brainscore_registry.benchmarks.specs import list_specs
from brainscore_registry.runs.records import check_signature, read_record

from .common import out, print_json, registry, user_errors


def aggregate(
    record_paths: list[Path] = typer.Argument(..., metavar="RECORD...", help="Score records (JSON), e.g. records/*.json."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Aggregate verified records per model along the specs' parent links (benchmark → region → ...).

    Equal weights unless a spec gives `weight`; a benchmark without a record is listed as missing and
    is not counted as 0.

    Example: bsr aggregate records/*.json
    """
    with user_errors():
        reg = registry()
        specs, tree = list_specs(reg.root), load_tree(reg.root)
        by_model: dict[str, dict[str, float]] = {}
        for path in record_paths:
            record = read_record(path)
            check_signature(record)
            model = record.model.name + (
                f" ({', '.join(f'{k}={v}' for k, v in record.model.layers.items())})" if record.model.layers else ""
            )
            by_model.setdefault(model, {})[record.benchmark.id] = record.score["value"]
    results = {model: aggregate_scores(specs, scores, tree) for model, scores in by_model.items()}
    if as_json:
        print_json({model: {name: node.to_json() for name, node in nodes.items()} for model, nodes in results.items()})
        return
    for model, nodes in results.items():
        roots = [n for n in nodes.values() if n.parent is None]
        view = Tree(f"[bold]{model}[/]")
        for root in roots:
            _add(view, root, nodes)
        out.print(view)


def _add(parent: Tree, node, nodes) -> None:
    value = "—" if node.value is None else f"{node.value:.4f}"
    missing = f"  [yellow]{len(node.missing)} missing[/]" if node.missing and node.children else ""
    branch = parent.add(f"{node.name}: {value}{missing}")
    for child in node.children:
        _add(branch, nodes[child], nodes)
