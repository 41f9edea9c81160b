"""The leaderboard as data: models × benchmark columns, each cell a shown record or missing, and every
model's aggregation tree.

A column is one version of a benchmark. The registry's current version of each benchmark is the one
aggregated; a column of another version (records scored before the spec changed) is shown, labelled
with its version and marked as not current, and counts in no average. A benchmark the registry does
not know (records from another registry) is described by the spec its newest record carries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..benchmarks.aggregation import Node, aggregate, load_tree
from ..benchmarks.specs import BenchmarkSpec, list_specs
from ..store.registry import Registry
from .collect import Collection, Shown


@dataclass(frozen=True)
class Column:
    benchmark: str
    version: int
    current: bool  # the version the registry defines now: aggregated
    several_versions: bool  # records of more than one version of this benchmark are shown

    @property
    def label(self) -> str:
        return f"{self.benchmark} v{self.version}" if self.several_versions else self.benchmark


@dataclass
class Board:
    columns: list[Column]
    models: list[str]
    cells: dict[tuple[str, str], Shown]  # (model, column label) → record
    trees: dict[str, dict[str, Node]]  # model → aggregation nodes (benchmarks included)
    specs: dict[str, BenchmarkSpec]  # benchmark id → the spec its current column follows
    node_names: list[str] = field(default_factory=list)  # aggregation nodes above benchmarks, root first

    def __post_init__(self) -> None:
        self._by_model: dict[str, list[Shown]] = {}
        self._by_benchmark: dict[str, list[Shown]] = {}
        for (model, _), shown in sorted(self.cells.items()):
            self._by_model.setdefault(model, []).append(shown)
            self._by_benchmark.setdefault(shown.benchmark, []).append(shown)

    def cell(self, model: str, column: Column) -> Shown | None:
        return self.cells.get((model, column.label))

    def records_of(self, model: str) -> list[Shown]:
        """The model's shown records, by benchmark column."""
        return self._by_model.get(model, [])

    def records_on(self, benchmark: str) -> list[Shown]:
        """Every model's shown records on a benchmark (all its versions), by model."""
        return self._by_benchmark.get(benchmark, [])


def current_specs(registry: Registry, collection: Collection) -> dict[str, BenchmarkSpec]:
    """benchmark id → the spec aggregated: the registry's, else the one its newest record of the highest
    version carries (a spec that no longer validates leaves the benchmark out of the averages)."""
    specs = {spec.id: spec for spec in list_specs(registry.root)}
    newest: dict[str, Shown] = {}
    for shown in collection.shown:
        if shown.benchmark not in specs and (shown.version, shown.finished) >= _rank(newest.get(shown.benchmark)):
            newest[shown.benchmark] = shown
    foreign: dict[str, BenchmarkSpec] = {}
    for benchmark, shown in newest.items():
        try:
            foreign[benchmark] = BenchmarkSpec.model_validate(shown.record.benchmark.spec)
        except ValueError:
            continue
    return {**specs, **foreign}


def _rank(shown: Shown | None) -> tuple[int, str]:
    return (shown.version, shown.finished) if shown is not None else (-1, "")


def _columns(collection: Collection, specs: dict[str, BenchmarkSpec]) -> list[Column]:
    versions: dict[str, set[int]] = {}
    for shown in collection.shown:
        versions.setdefault(shown.benchmark, set()).add(shown.version)
    columns = []
    for benchmark in sorted(versions):
        current = specs[benchmark].version if benchmark in specs else max(versions[benchmark])
        for version in sorted(versions[benchmark], reverse=True):
            columns.append(Column(benchmark, version, version == current, len(versions[benchmark]) > 1))
    return columns


def _depth_first(nodes: dict[str, Node]) -> list[str]:
    """Aggregation nodes that are not benchmarks, each root followed by its subtree."""
    order: list[str] = []

    def visit(name: str) -> None:
        if nodes[name].children:
            order.append(name)
            for child in nodes[name].children:
                visit(child)

    for root in sorted(n for n, node in nodes.items() if node.parent is None):
        visit(root)
    return order


def build_board(registry: Registry, collection: Collection) -> Board:
    specs = current_specs(registry, collection)
    columns = _columns(collection, specs)
    label = {(c.benchmark, c.version): c.label for c in columns}
    cells = {(shown.model, label[(shown.benchmark, shown.version)]): shown for shown in collection.shown}
    models = sorted({shown.model for shown in collection.shown})
    tree = load_tree(registry.root)
    trees = {}
    for model in models:
        scores = {c.benchmark: cells[(model, c.label)].score.value for c in columns if c.current and (model, c.label) in cells}
        trees[model] = aggregate(list(specs.values()), scores, tree)
    node_names = _depth_first(next(iter(trees.values()))) if trees else []
    return Board(columns, models, cells, trees, specs, node_names)
