"""Aggregate benchmark scores along the specs' `parent` links: benchmark → region or behaviour →
... → the root. A node's value is the weighted mean of its children that have a value (equal weights
unless a spec gives `weight`); a child without a score (not run, or failed) is listed as missing and
never counted as 0, so an incomplete node says so instead of silently dropping.

Non-benchmark nodes and their parents are declared in `registry/benchmarks/aggregates.yaml`
(`V4: {parent: neural}`, `neural: {parent: average_vision, weight: 1}`); a parent named by a spec but
not declared there is a root.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..data.metadata import read_yaml
from ..errors import UserInputError
from .specs import AGGREGATES, BenchmarkSpec, benchmarks_dir


@dataclass
class Node:
    name: str
    value: float | None = None
    children: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # benchmarks below this node without a score
    weight: float = 1.0
    parent: str | None = None

    @property
    def complete(self) -> bool:
        return not self.missing

    def reported_value(self, partial: bool = False) -> float | None:
        """The value to show: none for an incomplete node unless `partial` is asked for, so that an
        average over the benchmarks that happen to have a score is never read as the whole node's."""
        return self.value if self.complete or partial else None

    def to_json(self, partial: bool = False) -> dict:
        return {
            "name": self.name,
            "value": self.reported_value(partial),
            "partial_value": self.value,
            "children": self.children,
            "missing": self.missing,
            "complete": self.complete,
            "weight": self.weight,
            "parent": self.parent,
        }


def load_tree(root: Path) -> dict[str, dict]:
    """Declared aggregation nodes: name → {parent, weight}."""
    path = benchmarks_dir(root) / AGGREGATES
    if not path.is_file():
        return {}
    data = read_yaml(path) or {}
    if not isinstance(data, dict):
        raise UserInputError("must map node names to {parent, weight}", file=path, fix="write e.g. 'V4: {parent: neural}'")
    for name, node in data.items():
        if not isinstance(node, dict) or set(node) - {"parent", "weight"}:
            raise UserInputError(
                f"node {name!r} may only have `parent` and `weight`", file=path, field=str(name), fix="remove other keys"
            )
    return data


def aggregate(
    specs: list[BenchmarkSpec], scores: dict[str, float | None], tree: dict[str, dict] | None = None
) -> dict[str, Node]:
    """Every node of the tree, leaves (benchmarks) included, with its value and missing benchmarks."""
    tree = tree or {}
    nodes: dict[str, Node] = {}
    for spec in specs:
        nodes[spec.id] = Node(spec.id, scores.get(spec.id), weight=spec.weight, parent=spec.parent)
        if nodes[spec.id].value is None:
            nodes[spec.id].missing.append(spec.id)
    pending = [spec.parent for spec in specs if spec.parent]
    while pending:
        name = pending.pop()
        if name in nodes:
            continue
        declared = tree.get(name, {})
        nodes[name] = Node(name, weight=float(declared.get("weight", 1.0)), parent=declared.get("parent"))
        if nodes[name].parent:
            pending.append(nodes[name].parent)
    for node in nodes.values():
        if node.parent:
            nodes[node.parent].children.append(node.name)
    _check_acyclic(nodes)
    for name in _bottom_up(nodes):
        node = nodes[name]
        if not node.children:
            continue
        node.children.sort()
        present = [nodes[c] for c in node.children if nodes[c].value is not None]
        node.missing = sorted(m for c in node.children for m in nodes[c].missing)
        total = sum(c.weight for c in present)
        node.value = sum(c.weight * c.value for c in present) / total if present else None
    return nodes


def _check_acyclic(nodes: dict[str, Node]) -> None:
    for start in nodes:
        seen, name = set(), start
        while name is not None:
            if name in seen:
                raise UserInputError(
                    f"the aggregation tree has a cycle through {name!r}", field="parent", fix="fix the parent links"
                )
            seen.add(name)
            name = nodes[name].parent


def _bottom_up(nodes: dict[str, Node]) -> list[str]:
    def depth(name: str) -> int:
        return 0 if nodes[name].parent is None else 1 + depth(nodes[name].parent)

    return sorted(nodes, key=depth, reverse=True)
