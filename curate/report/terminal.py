"""The terminal summary of a run (`curate stats DIR` and the end of `curate run`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ..errors import CurateError


def load_stats(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / "stats.json"
    if not path.exists():
        raise CurateError(f"{run_dir}: no stats.json; is it the output folder of `curate run`?")
    return json.loads(path.read_text(encoding="utf-8"))


def _compact(rate: float) -> str:
    """1,234 / 185k / 1.2M: fits the docs/s column at 80 columns however fast a stage is."""
    if rate < 100_000:
        return f"{rate:,.0f}"
    return f"{rate / 1e3:,.0f}k" if rate < 1e6 else f"{rate / 1e6:,.1f}M"


def print_stats(stats: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title="curate: documents through each stage", title_justify="left", show_edge=False)
    table.add_column("stage", no_wrap=True)
    for col in ("docs in", "docs out", "kept", "MB in", "MB out", "docs/s"):
        table.add_column(col, justify="right", no_wrap=True)
    for s in stats["stages"]:
        share = f"{s['docs_out'] / s['docs_in']:.1%}" if s["docs_in"] else "-"
        rate = _compact(s["docs_per_s"]) if s.get("docs_per_s") else "-"
        table.add_row(
            s.get("id", s["name"]), f"{s['docs_in']:,}", f"{s['docs_out']:,}", share,
            f"{s['bytes_in'] / 1e6:.2f}", f"{s['bytes_out'] / 1e6:.2f}", rate,
        )
    console.print(table)
    for s in stats["stages"]:
        if s["removed"]:
            reasons = ", ".join(f"{k.split(':', 1)[1]} {v:,}" for k, v in sorted(s["removed"].items(), key=lambda kv: -kv[1]))
            console.print(f"  {s['name']} removed: {reasons}", highlight=False, soft_wrap=True)
    skipped = stats.get("skipped") or {}
    skipped_text = ", ".join(f"{k} {v:,}" for k, v in skipped.items()) or "none"
    console.print(f"read {stats['docs_read']:,} documents, wrote {stats['docs_written']:,}", highlight=False)
    console.print(f"records skipped: {skipped_text}", highlight=False, soft_wrap=True)
    conservation = stats.get("conservation", {})
    if conservation.get("ok"):
        console.print("conservation: ok (every document is kept or removed with a reason)")
    else:
        console.print("[red]conservation: FAILED[/red] " + "; ".join(conservation.get("problems", [])))
