"""`bsr leaderboard`: a static site built from signed records alone.

Plain files that work from `file://` and from any static host: a leaderboard table (sortable and
filterable with a little plain JavaScript shipped with the site), a page per model, per benchmark and
per record (with a copy of the record file and the commands that check it), and a page of the records
that were rejected or superseded. Figures are SVG drawn at build time (`plots`). The site is built in
a staging directory beside the output and replaces it by renames, so a failed build leaves the previous
site as it was; a directory that is not a site built here is never overwritten.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import UserInputError
from ..metrics.normalization import NORMALIZATIONS
from ..runs.environment import package_version
from ..runs.trust import TrustPolicy
from ..store.registry import Registry
from . import plots
from .board import Board, build_board
from .collect import Collection, Rejected, Shown, collect, unique_slugs

MARKER = ".bsr-site"  # a directory holding it was built by this module and may be replaced


@dataclass(frozen=True)
class SiteSummary:
    index: Path
    shown: int
    untrusted: int
    superseded: int
    models: int
    columns: int
    rejections: tuple[Rejected, ...]

    def to_json(self) -> dict:
        return {
            "index": str(self.index),
            "shown": self.shown,
            "untrusted": self.untrusted,
            "rejected": len(self.rejections),
            "superseded": self.superseded,
            "models": self.models,
            "columns": self.columns,
            "rejections": [{"file": str(r.path), "reason": r.reason} for r in self.rejections],
        }


def _finite_or_zero(value: float) -> float:
    return value if math.isfinite(value) else 0.0


def colour(value: float) -> str:
    """Red (0) through yellow to green (1, the ceiling); values outside are clipped."""
    clipped = min(1.0, max(0.0, float(value)))
    return f"hsl({120 * clipped:.0f}, 65%, 82%)"


def _environment(env: dict) -> dict:
    blas = ", ".join(sorted({f"{b.get('library', '?')} {b.get('architecture', '?')}" for b in env.get("blas", []) or []}))
    return {
        "python": env.get("python", "?"),
        "torch": env.get("torch", "—"),
        "numpy": env.get("numpy", "?"),
        "device": env.get("device_name") or env.get("device", "?"),
        "threads": env.get("threads", "?"),
        "blas": blas or "—",
    }


def identity(records: list[Shown]) -> dict:
    first = records[0].record.model
    names = ("card_sha256", "weights_sha256", "factory_sha256", "predictions_sha256")
    hashes = [(name, value) for name in names for value in sorted({getattr(s.record.model, name) for s in records} - {None})]
    return {"kind": first.kind, "hashes": hashes, "layers": first.layers, "reduction": first.reduction}


def network_of(shown: Shown) -> tuple:
    """What makes records the same network whatever layers they commit: its name and its hashes."""
    model = shown.record.model
    return (model.name, model.card_sha256, model.weights_sha256, model.factory_sha256)


def _natural(text: str) -> list:
    import re

    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def networks(board: Board, collection: Collection) -> dict[tuple, dict[str, dict[str, tuple[float, float]]]]:
    """network → {benchmark: {layer: (value, error)}}: every layer each network was scored with as a
    benchmark's region (current spec versions), from all shown records."""
    found: dict[tuple, dict[str, dict[str, tuple[float, float]]]] = {}
    for shown in collection.shown:
        spec = board.specs.get(shown.benchmark)
        region = spec.procedure.region if spec is not None and spec.version == shown.version else None
        if region is None or region not in shown.record.model.layers:
            continue
        layers = found.setdefault(network_of(shown), {}).setdefault(shown.benchmark, {})
        layers[shown.record.model.layers[region]] = (shown.score.value, shown.score.error)
    return found


def layer_curves(curves: dict[str, dict[str, tuple[float, float]]]) -> str | None:
    """The SVG of a network's per-layer scores on every benchmark it has two or more layers on; None
    when it has none."""
    curves = {
        b: {layer: (v, e if math.isfinite(e) else 0.0) for layer, (v, e) in points.items() if math.isfinite(v)}
        for b, points in curves.items()
    }
    curves = {benchmark: points for benchmark, points in curves.items() if len(points) >= 2}
    if not curves:
        return None
    layers = sorted({layer for points in curves.values() for layer in points}, key=_natural)
    return plots.layer_curves(layers, curves)


def _pins(registry: Registry, records: list[Shown], spec) -> list[dict]:
    pins = {pin for shown in records for pin in shown.record.data.values() if pin}
    if spec is not None:
        pins |= {p for p in (spec.assembly, spec.fitting_stimuli) if p}
    rows = []
    for pin in sorted(pins):
        stored = registry.catalog.find(pin)
        entry = registry.catalog.read_entry(pin.name) if stored is not None else None
        metadata = stored.metadata if stored is not None else {}
        rows.append(
            {
                "version": pin,
                "kind": entry.kind if entry is not None else "?",
                "citation": metadata.get("citation"),
                "license": metadata.get("license"),
            }
        )
    return rows


def model_view(board: Board, found_networks: dict, model: str) -> dict:
    """What a model's page and its report show: identity, aggregate tree, scores with their figure,
    per-layer curves and environments (`found_networks`: from `networks`)."""
    records = board.records_of(model)
    nodes = board.trees[model]
    rows = [(f"{s.benchmark} v{s.version}", s.score.value, s.score.error) for s in records]
    environments = Counter(json.dumps(_environment(s.record.environment), sort_keys=True) for s in records)
    return {
        "model": model,
        "identity": identity(records),
        "nodes": nodes,
        "roots": sorted(n for n, node in nodes.items() if node.parent is None and node.children),
        "records": records,
        "scores_svg": plots.scores_with_errors(rows),
        "layers_svg": layer_curves(found_networks.get(network_of(records[0]), {})),
        "environments": [(json.loads(env), count) for env, count in sorted(environments.items())],
    }


def template_environment():
    """The package's page templates: autoescaped, and an undefined name is an error, not an empty string."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("brainscore_registry.reports", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["colour"] = colour
    return env


class _Pages:
    """Renders every page of one site into a directory."""

    def __init__(self, registry: Registry, collection: Collection, board: Board, title: str, target: Path) -> None:
        self.registry, self.collection, self.board, self.target = registry, collection, board, target
        self.env = template_environment()
        self.model_slugs = unique_slugs(board.models)
        self.benchmark_slugs = unique_slugs(c.benchmark for c in board.columns)
        self.networks = networks(board, collection)
        untrusted = sum(not s.trusted for s in collection.shown)
        self.common = {
            "site_title": title,
            "bsr_version": package_version(),
            "counts": {
                "shown": len(collection.shown),
                "untrusted": untrusted,
                "rejected": len(collection.rejected),
                "superseded": len(collection.superseded),
            },
            "model_slugs": self.model_slugs,
            "benchmark_slugs": self.benchmark_slugs,
        }

    def write(self, relative: str, template: str, root: str, **context) -> None:
        path = self.target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        html = self.env.get_template(template).render(**self.common, root=root, **context)
        path.write_text(html, encoding="utf-8")

    def index(self) -> None:
        self.write("index.html", "index.html", "", page_title="Leaderboard", board=self.board)

    def compare(self) -> None:
        scores: dict[str, dict[str, list[float]]] = {model: {} for model in self.board.models}
        for (model, label), shown in self.board.cells.items():
            if math.isfinite(shown.score.value):  # an undefined (NaN) score is shown as missing
                scores[model][label] = [shown.score.value, _finite_or_zero(shown.score.error)]
        data = {"models": self.board.models, "columns": [c.label for c in self.board.columns], "scores": scores}
        self.write("compare.html", "compare.html", "", page_title="Compare two models", data=data)

    def rejected(self) -> None:
        self.write("rejected.html", "rejected.html", "", page_title="Rejected and superseded", collection=self.collection)

    def model(self, model: str) -> None:
        view = model_view(self.board, self.networks, model)
        self.write(f"models/{self.model_slugs[model]}.html", "model.html", "../", page_title=model, **view)

    def benchmark(self, benchmark: str) -> None:
        records = self.board.records_on(benchmark)
        spec = self.board.specs.get(benchmark)
        current = [s for s in records if spec is None or s.version == spec.version]
        formula = NORMALIZATIONS[spec.normalization_name].formula if spec is not None else "?"
        ceilings = [s.score.ceiling.value for s in current if s.score.ceiling is not None]
        self.write(
            f"benchmarks/{self.benchmark_slugs[benchmark]}.html",
            "benchmark.html",
            "../",
            page_title=benchmark,
            benchmark=benchmark,
            spec=spec,
            formula=formula,
            other_versions=sorted({s.version for s in records} - ({spec.version} if spec else set())),
            data=_pins(self.registry, records, spec),
            records=records,
            distribution_svg=plots.distribution([(s.model, s.score.value) for s in current]),
            raw_svg=plots.raw_against_ceiled(
                [(s.model, s.score.raw.value, s.score.value) for s in current], ceilings[0] if ceilings else None, formula
            ),
        )

    def record(self, shown: Shown) -> None:
        (self.target / "records").mkdir(parents=True, exist_ok=True)
        raw = shown.verified_bytes()
        (self.target / "records" / f"{shown.slug}.json").write_bytes(raw)
        pretty = raw.decode("utf-8")  # the contents as signed (bsr writes them indented)
        self.write(
            f"records/{shown.slug}.html",
            "record.html",
            "../",
            page_title=f"{shown.model} on {shown.benchmark}",
            shown=shown,
            pretty=pretty,
            model_slug=self.model_slugs[shown.model],
            benchmark_slug=self.benchmark_slugs[shown.benchmark],
        )

    def static(self) -> None:
        folder = self.target / "static"
        folder.mkdir(parents=True, exist_ok=True)
        for item in resources.files("brainscore_registry.reports").joinpath("static").iterdir():
            (folder / item.name).write_bytes(item.read_bytes())


def unwritable(out: Path, exc: OSError) -> UserInputError:
    return UserInputError(
        f"cannot be written: {exc.strerror or exc}",
        file=out,
        field="out",
        fix="give a path in a directory you can write, with a name under 200 characters",
    )


def _check_output(out: Path) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).is_file())):
        raise UserInputError(
            "exists and is not a site built by `bsr leaderboard`: it would be replaced",
            file=out,
            field="out",
            fix="give a new or empty directory, or one an earlier `bsr leaderboard` built",
        )


def _replace(staged: Path, out: Path) -> None:
    """Put the staged site at `out` by renames: the old site is moved aside first, then removed."""
    aside = out.with_name(f".bsr-site-old-{uuid.uuid4().hex[:8]}")
    if out.exists():
        os.rename(out, aside)
    os.rename(staged, out)
    shutil.rmtree(aside, ignore_errors=True)


def build_site(registry: Registry, sources: list[Path], out: Path, policy: TrustPolicy, title: str) -> SiteSummary:
    """Check the records, lay out the board and write every page; returns what was built."""
    out = out.resolve()
    try:
        _check_output(out)
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise unwritable(out, exc) from None
    collection = collect(sources, policy, exclude=out)
    board = build_board(registry, collection)
    staged = out.with_name(f".bsr-site-building-{uuid.uuid4().hex[:8]}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staged.mkdir()
    except OSError as exc:
        raise unwritable(out, exc) from None
    try:
        pages = _Pages(registry, collection, board, title, staged)
        pages.static()
        pages.index()
        pages.rejected()
        pages.compare()
        for model in board.models:
            pages.model(model)
        for benchmark in sorted({c.benchmark for c in board.columns}):
            pages.benchmark(benchmark)
        for shown in collection.shown:
            pages.record(shown)
        (staged / MARKER).write_text("built by bsr leaderboard\n")
        _replace(staged, out)
    except OSError as exc:
        shutil.rmtree(staged, ignore_errors=True)
        raise unwritable(out, exc) from None
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return SiteSummary(
        out / "index.html",
        len(collection.shown),
        sum(not s.trusted for s in collection.shown),
        len(collection.superseded),
        len(board.models),
        len(board.columns),
        tuple(collection.rejected),
    )
