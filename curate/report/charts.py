"""Inline SVG charts: no scripts, no network, readable at a glance. Every label is escaped.

Charts are drawn on a 1000-unit-wide canvas and scale to the page's full width."""

from __future__ import annotations

import math
from html import escape

WIDTH = 1000
PALETTE = ["#4c78a8", "#e45756", "#54a24b", "#f58518", "#b279a2", "#72b7b2", "#9d755d", "#bab0ac"]
BAR_COLOR = "#4c78a8"
REMOVED_COLOR = "#e45756"
THRESHOLD_COLOR = "#f58518"


def funnel(rows: list[tuple[str, int, int]], change: str = "removed") -> str:
    """Horizontal bars: one per step, `kept` in blue and what that step removed in red (`change` names it)."""
    if not rows:
        return ""
    top = max(max(n_in for _, n_in, _ in rows), 1)
    label_w, bar_w, row_h = 150, WIDTH - 150 - 190, 24
    parts = []
    for i, (label, n_in, n_out) in enumerate(rows):
        y = i * row_h
        kept_w = bar_w * n_out / top
        removed_w = bar_w * (n_in - n_out) / top
        share = f"{(n_in - n_out) / n_in:.1%} {change}" if n_in else "-"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{kept_w:.1f}" height="{row_h - 8}" fill="{BAR_COLOR}">'
            f"<title>{escape(label)}: {n_out:,} kept of {n_in:,}</title></rect>"
            f'<rect x="{label_w + kept_w:.1f}" y="{y + 4}" width="{removed_w:.1f}" height="{row_h - 8}" '
            f'fill="{REMOVED_COLOR}"><title>{escape(label)}: {n_in - n_out:,} removed</title></rect>'
            f'<text x="{label_w + bar_w + 6}" y="{y + 16}">{n_out:,} ({escape(share)})</text>'
        )
    return _svg(WIDTH, row_h * len(rows), "".join(parts), "funnel")


def histogram(counts: list[int], edges: list[float], threshold: float | None = None, log: bool = False) -> str:
    """Vertical bars over the fixed bins that hold documents (empty bins at either end are cut, the threshold's
    kept in view); the threshold, when known, is a dashed line. The outer bins also hold values beyond them."""
    first, last = _occupied(counts, edges, threshold)
    counts, edges = counts[first : last + 1], edges[first : last + 2]
    height, pad_left, pad_bottom = 130, 60, 22
    plot_w, plot_h = WIDTH - pad_left - 10, height - pad_bottom - 18
    top = max(max(counts, default=0), 1)
    bar_w = plot_w / max(len(counts), 1)
    parts = [f'<text x="{pad_left - 6}" y="{18 + 4}" text-anchor="end">{top:,}</text>',
             f'<text x="{pad_left - 6}" y="{18 + plot_h}" text-anchor="end">0</text>']
    for i, count in enumerate(counts):
        h = plot_h * count / top
        x = pad_left + i * bar_w
        label = f"{_fmt(edges[i])} to {_fmt(edges[i + 1])}: {count:,}"
        parts.append(
            f'<rect x="{x:.1f}" y="{18 + plot_h - h:.1f}" width="{max(bar_w - 2, 1):.1f}" height="{h:.1f}" '
            f'fill="{BAR_COLOR}"><title>{escape(label)}</title></rect>'
        )
        if count:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{14 + plot_h - h:.1f}" text-anchor="middle" '
                         f'fill="#555">{count:,}</text>')
    ticks = sorted({0, len(counts) // 2, len(counts)}) if len(counts) < 8 else range(0, len(counts) + 1, max(1, len(counts) // 6))
    for i in ticks:
        anchor = "start" if i == 0 else "end" if i == len(counts) else "middle"
        parts.append(f'<text x="{pad_left + i * bar_w:.1f}" y="{height - 6}" text-anchor="{anchor}">{escape(_fmt(edges[i]))}</text>')
    if threshold is not None and edges[0] <= threshold <= edges[-1]:
        x = pad_left + plot_w * _position(threshold, edges[0], edges[-1], log)
        parts.append(
            f'<line class="threshold" x1="{x:.1f}" x2="{x:.1f}" y1="4" y2="{18 + plot_h}" stroke="{THRESHOLD_COLOR}" '
            f'stroke-width="2" stroke-dasharray="4 2"><title>threshold {escape(_fmt(threshold))}</title></line>'
        )
    return _svg(WIDTH, height, "".join(parts), "histogram")


def _occupied(counts: list[int], edges: list[float], threshold: float | None) -> tuple[int, int]:
    """First and last bin to draw: one empty bin of margin around the documents, widened to show the threshold."""
    filled = [i for i, c in enumerate(counts) if c]
    if not filled:
        return 0, len(counts) - 1
    first, last = max(filled[0] - 1, 0), min(filled[-1] + 1, len(counts) - 1)
    if threshold is not None and edges[0] <= threshold <= edges[-1]:
        at = next((i for i in range(len(counts)) if edges[i] <= threshold <= edges[i + 1]), first)
        first, last = min(first, at), max(last, at)
    return first, last


def bars(items: list[tuple[str, int]]) -> str:
    """Horizontal bars for categories (languages, reasons), largest first."""
    if not items:
        return ""
    top = max(max(v for _, v in items), 1)
    label_w, bar_w, row_h = 150, WIDTH - 150 - 90, 18
    parts = []
    for i, (label, value) in enumerate(items):
        y = i * row_h
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{bar_w * value / top:.1f}" height="{row_h - 6}" '
            f'fill="{BAR_COLOR}"><title>{escape(label)}: {value:,}</title></rect>'
            f'<text x="{label_w + bar_w * value / top + 4:.1f}" y="{y + 13}">{value:,}</text>'
        )
    return _svg(WIDTH, row_h * len(items), "".join(parts), "bars")


def curves(runs: dict[str, list[list[tuple[float, float]]]], x_label: str, y_label: str, skip_first: float = 0.2) -> str:
    """Loss curves: per variant the mean over its runs (seeds) as a line and their range as a band. The y-axis
    fits the points after the first `skip_first` share of the x range, so the early, high losses of warm-up do
    not squash the part worth reading (they run off the top, clipped)."""
    points = [p for series in runs.values() for run in series for p in run]
    if not points:
        return ""
    height, pad_left, pad_bottom, legend_w = 300, 60, 40, 240
    plot_w, plot_h = WIDTH - pad_left - legend_w, height - pad_bottom - 10
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    x1 = x1 if x1 > x0 else x0 + 1
    late = [p[1] for p in points if p[0] >= x0 + skip_first * (x1 - x0)]
    few = len({p[0] for p in points}) < 4  # two or three evaluations: nothing to cut
    readable = [p[1] for p in points] if few or not late else late
    y0, y1 = min(readable), max(readable)
    margin = max((y1 - y0) * 0.08, 1e-3)
    y0, y1 = y0 - margin, y1 + margin

    def xy(x: float, y: float) -> str:
        return f"{pad_left + plot_w * (x - x0) / (x1 - x0):.1f},{10 + plot_h * (1 - (y - y0) / (y1 - y0)):.1f}"

    parts = [f'<clipPath id="plot"><rect x="{pad_left}" y="10" width="{plot_w}" height="{plot_h}"/></clipPath>',
             f'<rect x="{pad_left}" y="10" width="{plot_w}" height="{plot_h}" fill="none" stroke="#ccc"/>']
    step, decimals = _nice_step((y1 - y0) / 4)
    for i in range(math.ceil(y0 / step), math.floor(y1 / step) + 1):
        y = i * step
        tick_y = xy(x0, y).split(",")[1]
        parts.append(f'<line x1="{pad_left}" x2="{pad_left + plot_w}" y1="{tick_y}" y2="{tick_y}" stroke="#eee"/>'
                     f'<text x="{pad_left - 6}" y="{float(tick_y) + 4:.1f}" text-anchor="end">{y:.{decimals}f}</text>')
    for x in (x0, (x0 + x1) / 2, x1):
        parts.append(f'<text x="{xy(x, y0).split(",")[0]}" y="{height - 24}" text-anchor="middle">{escape(_fmt(x))}</text>')
    parts.append(f'<text x="{pad_left + plot_w / 2}" y="{height - 6}" text-anchor="middle">{escape(x_label)}</text>')
    parts.append(f'<text x="14" y="{10 + plot_h / 2}" transform="rotate(-90 14 {10 + plot_h / 2})" '
                 f'text-anchor="middle">{escape(y_label)}</text>')
    for i, (name, series) in enumerate(sorted(runs.items())):
        color = PALETTE[i % len(PALETTE)]
        by_x: dict[float, list[float]] = {}
        for run in series:
            for x, y in run:
                by_x.setdefault(x, []).append(y)
        xs = sorted(by_x)
        mean = [(x, sum(by_x[x]) / len(by_x[x])) for x in xs]
        band = [(x, max(by_x[x])) for x in xs] + [(x, min(by_x[x])) for x in reversed(xs)]
        parts.append(f'<g clip-path="url(#plot)"><polygon points="{" ".join(xy(x, y) for x, y in band)}" fill="{color}" '
                     f'fill-opacity="0.18"/><polyline points="{" ".join(xy(x, y) for x, y in mean)}" fill="none" '
                     f'stroke="{color}" stroke-width="2"/></g>')
        last = f"{mean[-1][1]:.3f}" if mean else ""
        parts.append(f'<text x="{pad_left + plot_w + 12}" y="{24 + 18 * i}" fill="{color}" font-weight="bold">'
                     f'{escape(name)} {escape(last)} (n={len(series)})</text>')
    return _svg(WIDTH, height, "".join(parts), "lines")


def _nice_step(raw: float) -> tuple[float, int]:
    """A round tick step near `raw` (1, 2, 2.5 or 5 times a power of ten) and the decimals that print it."""
    power = math.floor(math.log10(raw))
    for mantissa in (1, 2, 2.5, 5, 10):
        if mantissa * 10**power >= raw:
            break
    step = mantissa * 10**power
    decimals = max(0, -power + (1 if mantissa == 2.5 else 0) - (1 if mantissa == 10 else 0))
    return step, decimals


def _position(value: float, lo: float, hi: float, log: bool) -> float:
    if log:
        lo, hi, value = math.log10(max(lo, 1e-12)), math.log10(hi), math.log10(max(value, 1e-12))
    return (value - lo) / (hi - lo) if hi > lo else 0.0


def _fmt(x: float) -> str:
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def _svg(width: float, height: float, body: str, kind: str) -> str:
    """Scales to the width of the page; text stays about 13 px on a 1100 px page."""
    return (
        f'<svg class="chart {kind}" xmlns="http://www.w3.org/2000/svg" width="100%" '
        f'viewBox="0 0 {width} {height:.0f}" font-size="13" font-family="sans-serif">{body}</svg>'
    )
