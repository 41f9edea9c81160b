"""`bsr aggregate`: roll signed score records up the benchmarks' parent links, per model."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.tree import Tree

from .common import JSON_HELP, out, print_json, registry, user_errors


def aggregate(
    record_paths: list[Path] = typer.Argument(..., metavar="RECORD...", help="Score records (JSON), e.g. records/*.json."),
    trusted_key: list[Path] = typer.Option(
        None,
        "--trusted-key",
        help="Count only records signed by this public key (repeat for several). "
        "Default: your own signing key and the keys in $BSR_HOME/trusted_keys (bsr keys trusted).",
    ),
    partial: bool = typer.Option(
        False, "--partial", help="Also print the value of an incomplete node (the mean over the children that have a score)."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Aggregate verified records per model along the specs' parent links (benchmark → region → ...).

    Equal weights unless a spec gives `weight`; a benchmark without a record is listed as missing and
    is not counted as 0, and a node with missing benchmarks below it prints no number unless --partial.
    A record whose signature fails or whose signer is not trusted stops the
    aggregation (exit 1, naming the file and the signer): trust the key (bsr keys trust FILE) or
    leave the record out.

    Example: bsr aggregate records/*.json
    """
    from brainscore_registry.runs.rollup import rollup
    from brainscore_registry.runs.trust import load_policy

    with user_errors():
        results = rollup(registry(), record_paths, load_policy(trusted_key or ()))
    if as_json:
        print_json({model: {name: node.to_json(partial) for name, node in nodes.items()} for model, nodes in results.items()})
        return
    for model, nodes in results.items():
        view = Tree(f"[bold]{model}[/]")
        for root in (n for n in nodes.values() if n.parent is None):
            _add(view, root, nodes, partial)
        out.print(view)


def _add(parent: Tree, node, nodes, partial: bool) -> None:
    value = node.reported_value(partial)
    shown = "—" if value is None else f"{value:.4f}" + (" (partial)" if not node.complete else "")
    missing = f"  [yellow]incomplete: {len(node.missing)} missing[/]" if node.missing and node.children else ""
    branch = parent.add(f"{node.name}: {shown}{missing}")
    for child in node.children:
        _add(branch, nodes[child], nodes, partial)
