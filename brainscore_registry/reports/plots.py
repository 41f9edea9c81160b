"""The leaderboard's figures: SVG text written directly at build time.

Vector graphics readable without JavaScript, embedded in the page (no request, no CDN), byte-for-byte
reproducible, with a `<title>` on every mark so a reader can point at a bar or a point and read its
number. Written by hand rather than with matplotlib because the charts are four simple kinds and a
site must be built for hundreds of models: matplotlib took 0.12-0.31 s for one 50-bar figure with error
bars on this project's 2-core machine (a minute for 200 model pages), these take about a millisecond.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd")
FONT = 11
AXIS_LIMIT = 10.0  # ceiled scores live near [0, 1]; beyond ±10 an axis shows nothing useful
CHAR = 0.6 * FONT  # the width of a character, near enough to size margins for labels


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


class Scale:
    """A linear map from data to pixels, with ticks at round numbers."""

    def __init__(self, low: float, high: float, start: float, end: float) -> None:
        if not high > low:
            high = low + 1.0
        self.low, self.high, self.start, self.end = low, high, start, end

    def __call__(self, value: float) -> float:
        value = min(self.high, max(self.low, value))  # a value beyond the axis is drawn at its end
        return self.start + (value - self.low) / (self.high - self.low) * (self.end - self.start)

    def ticks(self, count: int = 5) -> list[float]:
        raw = (self.high - self.low) / count
        magnitude = 10 ** math.floor(math.log10(raw))
        step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
        first = math.ceil(self.low / step) * step
        return [round(first + i * step, 10) for i in range(int((self.high - first) / step + 1e-9) + 1)]


def _svg(width: float, height: float, body: list[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" role="img" aria-label="{escape(label)}" '
        f'font-family="sans-serif" font-size="{FONT}">' + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def _line(x1: float, y1: float, x2: float, y2: float, style: str = 'stroke="#222"') -> str:
    return f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" {style}/>'


CEILING = 'stroke="#555" stroke-dasharray="4 3"'


def _x_axis(scale: Scale, y: float, label: str) -> list[str]:
    parts = [_line(scale.start, y, scale.end, y)]
    for tick in scale.ticks():
        x = scale(tick)
        parts += [_line(x, y, x, y + 4), _text(x, y + 15, f"{tick:g}", "middle")]
    parts.append(_text((scale.start + scale.end) / 2, y + 30, label, "middle"))
    return parts


def _y_axis(scale: Scale, x: float, label: str) -> list[str]:
    parts = [_line(x, scale.start, x, scale.end)]
    for tick in scale.ticks():
        y = scale(tick)
        parts += [_line(x - 4, y, x, y), _text(x - 6, y + 4, f"{tick:g}", "end")]
    middle = (scale.start + scale.end) / 2
    parts.append(_text(14, middle, label, "middle", f' transform="rotate(-90 14 {_n(middle)})"'))
    return parts


def _pm(value: float, error: float) -> str:
    """`value ± error` for a title, saying which is undefined."""
    shown = f"{value:.4f}" if math.isfinite(value) else "undefined (NaN)"
    return shown + (f" ± {error:.4f}" if math.isfinite(error) else " (error undefined)")


def _value_range(values: Sequence[float], errors: Sequence[float] = ()) -> tuple[float, float]:
    """From min(0, lowest) to max(1.05, highest), error bars included: the ceiling (1) is always in view."""
    finite = [v for v in values if math.isfinite(v)]
    above = [v + e for v, e in zip(values, errors) if math.isfinite(v + e)]
    below = [v - e for v, e in zip(values, errors) if math.isfinite(v - e)]
    low, high = min([0.0, *finite, *below]), max([1.05, *finite, *above])
    return max(low, -AXIS_LIMIT), min(high, AXIS_LIMIT)  # a wild value (1e308) must not make the axis unreadable


def scores_with_errors(rows: Sequence[tuple[str, float, float]], xlabel: str = "ceiled score") -> str:
    """Horizontal bars, one per (label, value, error), with error bars and the ceiling (1) dashed."""
    left = 12 + CHAR * max((len(r[0]) for r in rows), default=4)
    width, bar, top = left + 380, 18, 8
    height = top + bar * max(1, len(rows)) + 44
    scale = Scale(*_value_range([r[1] for r in rows], [r[2] for r in rows]), left, width - 12)
    body: list[str] = []
    for i, (label, value, error) in enumerate(rows):
        y, centre = top + i * bar, top + i * bar + bar / 2
        body.append(f"<g><title>{escape(label)}: {_pm(value, error)}</title>")
        if math.isfinite(value):
            x0, x1 = sorted((scale(0.0), scale(value)))
            body.append(f'<rect x="{_n(x0)}" y="{_n(y + 3)}" width="{_n(x1 - x0)}" height="{bar - 6}" fill="{PALETTE[0]}"/>')
            if math.isfinite(error):
                body.append(_line(scale(value - error), centre, scale(value + error), centre))
        else:  # an undefined score is said, not drawn
            body.append(_text(scale(0.0) + 4, centre + 4, "undefined (NaN)", extra=' fill="#999"'))
        body.append(_text(left - 6, centre + 4, label, "end") + "</g>")
    body.append(_line(scale(1.0), top, scale(1.0), top + bar * len(rows), CEILING))
    body += _x_axis(scale, top + bar * max(1, len(rows)), f"{xlabel} (dashed: the ceiling)")
    return _svg(width, height, body, f"{xlabel} of {len(rows)} benchmark(s)")


def distribution(values: Sequence[tuple[str, float]]) -> str:
    """Every model's ceiled score on one benchmark as a strip of points (name, value), ceiling dashed."""
    width, height, top = 560, 106, 10
    values = [(name, value) for name, value in values if math.isfinite(value)]
    scale = Scale(*_value_range([v for _, v in values]), 16, width - 16)
    body: list[str] = []
    for i, (name, value) in enumerate(values):
        y = top + 10 + (i * 7919 % 37)  # a fixed spread so that equal scores stay visible
        body.append(
            f'<circle cx="{_n(scale(value))}" cy="{y}" r="3.5" fill="{PALETTE[0]}" fill-opacity="0.6">'
            f"<title>{escape(name)}: {value:.4f}</title></circle>"
        )
    body.append(_line(scale(1.0), top, scale(1.0), top + 56, CEILING))
    body += _x_axis(scale, top + 56, f"ceiled score of {len(values)} model(s) (dashed: the ceiling)")
    return _svg(width, height, body, f"distribution of {len(values)} models' scores")


def raw_against_ceiled(points: Sequence[tuple[str, float, float]], ceiling: float | None, formula: str) -> str:
    """Each model's raw score (x) against its ceiled score (y): (name, raw, ceiled); the ceiling dashed."""
    width, height = 460, 300
    points = [p for p in points if math.isfinite(p[1]) and math.isfinite(p[2])]
    ceiling = ceiling if ceiling is not None and math.isfinite(ceiling) else None
    raws = [p[1] for p in points] + ([ceiling] if ceiling is not None else [])
    low, high = min([0.0, *raws]), max([0.1, *raws]) * 1.05
    x = Scale(low, high, 60, width - 14)
    y = Scale(*_value_range([p[2] for p in points]), height - 46, 24)
    body = [_text(width / 2, 14, f"ceiled = {formula}", "middle", ' font-size="10"')]
    for name, raw, ceiled in points:
        body.append(
            f'<circle cx="{_n(x(raw))}" cy="{_n(y(ceiled))}" r="3.5" fill="{PALETTE[1]}" fill-opacity="0.7">'
            f"<title>{escape(name)}: raw {raw:.4f}, ceiled {ceiled:.4f}</title></circle>"
        )
    if ceiling is not None:
        body.append(_line(x(ceiling), 24, x(ceiling), height - 46, CEILING))
    body += _x_axis(x, height - 46, "raw score" + (" (dashed: the ceiling)" if ceiling is not None else ""))
    body += _y_axis(y, 60, "ceiled score")
    return _svg(width, height, body, "raw against ceiled scores")


def layer_curves(layers: Sequence[str], curves: dict[str, dict[str, tuple[float, float]]]) -> str:
    """Score against layer (`layers` in the order shown), one line per benchmark over the layers it was
    scored on: {benchmark: {layer: (value, error)}}; the ceiling dashed."""
    legend = 14 + CHAR * max(len(b) for b in curves)
    bottom = 16 + CHAR * max(len(layer) for layer in layers) * 0.75
    width, height = 420 + legend, 240 + bottom
    x = Scale(-0.5, len(layers) - 0.5, 60, width - legend - 10)
    values = [v for points in curves.values() for v, _ in points.values()]
    errors = [e for points in curves.values() for _, e in points.values()]
    y = Scale(*_value_range(values, errors), height - bottom - 30, 10)
    body = [_line(x.start, y.end, x.start, y.start), _line(x.start, y.start, x.end, y.start)]
    for i, layer in enumerate(layers):
        body.append(_text(x(i), y.start + 12, layer, "end", f' transform="rotate(-45 {_n(x(i))} {_n(y.start + 12)})"'))
    body += _y_axis(y, 60, "ceiled score")[1:]
    body.append(_line(x.start, y(1.0), x.end, y(1.0), CEILING))
    position = {layer: i for i, layer in enumerate(layers)}
    for k, (benchmark, points) in enumerate(sorted(curves.items())):
        colour = PALETTE[k % len(PALETTE)]
        ordered = sorted(points.items(), key=lambda item: position[item[0]])
        path = " ".join(f"{_n(x(position[layer]))},{_n(y(value))}" for layer, (value, _) in ordered)
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        for layer, (value, error) in ordered:
            cx = x(position[layer])
            body.append(_line(cx, y(value - error), cx, y(value + error), f'stroke="{colour}"'))
            body.append(
                f'<circle cx="{_n(cx)}" cy="{_n(y(value))}" r="3" fill="{colour}">'
                f"<title>{escape(benchmark)}, {escape(layer)}: {value:.4f} ± {error:.4f}</title></circle>"
            )
        ly = 16 + 16 * k
        body.append(f'<rect x="{_n(width - legend)}" y="{ly - 8}" width="10" height="10" fill="{colour}"/>')
        body.append(_text(width - legend + 14, ly + 1, benchmark))
    return _svg(width, height, body, f"per-layer scores on {len(curves)} benchmark(s)")
