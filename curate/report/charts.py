"""Inline SVG charts: no scripts, no network, readable at a glance. Every label is escaped."""

from __future__ import annotations

from html import escape

WIDTH = 560
BAR_COLOR = "#4c78a8"
REMOVED_COLOR = "#e45756"
THRESHOLD_COLOR = "#f58518"


def funnel(rows: list[tuple[str, int, int]]) -> str:
    """Horizontal bars: one per step, `kept` in blue and what that step removed in red."""
    if not rows:
        return ""
    top = max(max(n_in for _, n_in, _ in rows), 1)
    label_w, bar_w, row_h = 120, WIDTH - 120 - 170, 24
    parts = []
    for i, (label, n_in, n_out) in enumerate(rows):
        y = i * row_h
        kept_w = bar_w * n_out / top
        removed_w = bar_w * (n_in - n_out) / top
        share = f"{(n_in - n_out) / n_in:.1%} removed" if n_in else "-"
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
    """Vertical bars over fixed bins; the threshold, when known, drawn as a vertical line."""
    height, pad_left, pad_bottom = 140, 40, 28
    plot_w, plot_h = WIDTH - pad_left - 10, height - pad_bottom - 8
    top = max(max(counts, default=0), 1)
    n = len(counts)
    bar_w = plot_w / max(n, 1)
    parts = [f'<text x="{pad_left - 4}" y="14" text-anchor="end">{top:,}</text>']
    for i, count in enumerate(counts):
        h = plot_h * count / top
        x = pad_left + i * bar_w
        label = f"{_fmt(edges[i])} to {_fmt(edges[i + 1])}: {count:,}"
        parts.append(
            f'<rect x="{x:.1f}" y="{8 + plot_h - h:.1f}" width="{max(bar_w - 1, 1):.1f}" height="{h:.1f}" '
            f'fill="{BAR_COLOR}"><title>{escape(label)}</title></rect>'
        )
    for i, anchor in ((0, "start"), (n // 2, "middle"), (n, "end")):
        x = pad_left + i * bar_w
        parts.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="{anchor}">{escape(_fmt(edges[i]))}</text>')
    if threshold is not None and edges[0] <= threshold <= edges[-1]:
        x = pad_left + plot_w * _position(threshold, edges[0], edges[-1], log)
        parts.append(
            f'<line class="threshold" x1="{x:.1f}" x2="{x:.1f}" y1="4" y2="{8 + plot_h}" stroke="{THRESHOLD_COLOR}" '
            f'stroke-width="2" stroke-dasharray="4 2"><title>threshold {escape(_fmt(threshold))}</title></line>'
        )
    return _svg(WIDTH, height, "".join(parts), "histogram")


def bars(items: list[tuple[str, int]]) -> str:
    """Horizontal bars for categories (languages, reasons), largest first."""
    if not items:
        return ""
    top = max(max(v for _, v in items), 1)
    label_w, bar_w, row_h = 110, WIDTH - 110 - 80, 18
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


def lines(series: dict[str, list[tuple[float, float]]], x_label: str, y_label: str) -> str:
    """Line chart of several named series (loss curves)."""
    points = [p for s in series.values() for p in s]
    if not points:
        return ""
    height, pad_left, pad_bottom = 220, 50, 30
    plot_w, plot_h = WIDTH - pad_left - 120, height - pad_bottom - 10
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1)
    palette = ["#4c78a8", "#e45756", "#54a24b", "#f58518", "#b279a2", "#72b7b2", "#9d755d", "#bab0ac"]
    parts = [
        f'<text x="{pad_left - 4}" y="14" text-anchor="end">{escape(_fmt(y1))}</text>',
        f'<text x="{pad_left - 4}" y="{10 + plot_h}" text-anchor="end">{escape(_fmt(y0))}</text>',
        f'<text x="{pad_left + plot_w / 2}" y="{height - 6}" text-anchor="middle">{escape(x_label)}</text>',
        f'<text x="12" y="{10 + plot_h / 2}" transform="rotate(-90 12 {10 + plot_h / 2})" '
        f'text-anchor="middle">{escape(y_label)}</text>',
    ]
    for i, (name, pts) in enumerate(sorted(series.items())):
        color = palette[i % len(palette)]
        coords = " ".join(
            f"{pad_left + plot_w * (x - x0) / (x1 - x0):.1f},{10 + plot_h * (1 - (y - y0) / (y1 - y0)):.1f}"
            for x, y in pts
        )
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="1.5"/>')
        parts.append(
            f'<text x="{pad_left + plot_w + 8}" y="{16 + 14 * i}" fill="{color}">{escape(name)}</text>'
        )
    return _svg(WIDTH, height, "".join(parts), "lines")


def _position(value: float, lo: float, hi: float, log: bool) -> float:
    if log:
        import math

        lo, hi, value = math.log10(max(lo, 1e-12)), math.log10(hi), math.log10(max(value, 1e-12))
    return (value - lo) / (hi - lo) if hi > lo else 0.0


def _fmt(x: float) -> str:
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def _svg(width: float, height: float, body: str, kind: str) -> str:
    return (
        f'<svg class="chart {kind}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0f}" '
        f'viewBox="0 0 {width} {height:.0f}" font-size="11" font-family="sans-serif">{body}</svg>'
    )
