"""The leaderboard's figures, drawn with matplotlib into SVG text at build time.

Vector graphics readable without JavaScript, embedded in the page (no extra request, no CDN), and
byte-for-byte reproducible: a fixed hash salt for the SVG element ids, no date in the metadata, text
kept as text (small, selectable, searchable). matplotlib is the field's default plotting library; a
Vega-Lite chart would need a JavaScript engine at build time (vl-convert) or in the browser.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

RC = {
    "svg.hashsalt": "bsr-leaderboard",
    "svg.fonttype": "none",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
CEILING_STYLE = {"color": "#555555", "linestyle": "--", "linewidth": 1}


def _svg(draw, width: float, height: float) -> str:
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(RC):
        figure = Figure(figsize=(width, height))
        draw(figure)
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.S)  # RDF boilerplate: no content
    return text[text.index("<svg") :]  # the element alone, to sit inside an HTML page


def scores_with_errors(rows: Sequence[tuple[str, float, float]], xlabel: str = "ceiled score") -> str:
    """Horizontal bars, one per (label, value, error), with error bars and the ceiling (1) marked."""

    def draw(figure) -> None:
        ax = figure.subplots()
        labels = [r[0] for r in rows][::-1]
        values = [r[1] for r in rows][::-1]
        errors = [r[2] for r in rows][::-1]
        ax.barh(range(len(rows)), values, xerr=errors, color="#4c72b0", ecolor="#222222", capsize=2)
        ax.set_yticks(range(len(rows)), labels)
        ax.axvline(1.0, **CEILING_STYLE)
        ax.set_xlim(min(0.0, *values) if values else 0.0, max(1.05, *(v + e for v, e in zip(values, errors))) if values else 1.05)
        ax.set_xlabel(f"{xlabel} (dashed: the ceiling)")

    return _svg(draw, 6.5, 0.8 + 0.28 * max(1, len(rows)))


def distribution(values: Sequence[float], highlight: dict[str, float] | None = None) -> str:
    """Every model's ceiled score on one benchmark as a strip of points, with the ceiling marked."""

    def draw(figure) -> None:
        ax = figure.subplots()
        ax.scatter(values, [0.0] * len(values), s=24, alpha=0.6, color="#4c72b0")
        ax.axvline(1.0, **CEILING_STYLE)
        ax.set_yticks([])
        ax.set_xlim(min(0.0, *values) - 0.02 if values else 0.0, max(1.05, *values) if values else 1.05)
        ax.set_xlabel(f"ceiled score of {len(values)} model(s) (dashed: the ceiling)")

    return _svg(draw, 6.5, 1.6)


def raw_against_ceiled(points: Sequence[tuple[float, float]], ceiling: float | None, formula: str) -> str:
    """Each model's raw score against its ceiled score, with the normalisation's formula as the title."""

    def draw(figure) -> None:
        ax = figure.subplots()
        ax.scatter([p[0] for p in points], [p[1] for p in points], s=24, alpha=0.7, color="#dd8452")
        if ceiling is not None:
            ax.axvline(ceiling, **CEILING_STYLE)
        ax.set_xlabel("raw score" + (" (dashed: the ceiling)" if ceiling is not None else ""))
        ax.set_ylabel("ceiled score")
        ax.set_title(f"ceiled = {formula}", fontsize=8)

    return _svg(draw, 5.0, 3.4)


def layer_curves(layers: Sequence[str], curves: dict[str, dict[str, tuple[float, float]]]) -> str:
    """Score against layer (`layers` in the order to show), one line per benchmark over the layers it
    was scored on: {benchmark: {layer: (value, error)}}."""

    def draw(figure) -> None:
        ax = figure.subplots()
        position = {layer: i for i, layer in enumerate(layers)}
        for benchmark, points in sorted(curves.items()):
            ordered = sorted(points.items(), key=lambda item: position[item[0]])
            ax.errorbar(
                [position[layer] for layer, _ in ordered],
                [value for _, (value, _) in ordered],
                yerr=[error for _, (_, error) in ordered],
                marker="o",
                capsize=2,
                label=benchmark,
            )
        ax.set_xticks(range(len(layers)), list(layers), rotation=45, ha="right")
        ax.axhline(1.0, **CEILING_STYLE)
        ax.set_ylabel("ceiled score (dashed: the ceiling)")
        ax.legend(fontsize=7, frameon=False)

    return _svg(draw, 6.5, 3.6)
