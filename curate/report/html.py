"""report.html: one self-contained page (no scripts, no network) of what every stage did.

Numbers and histograms come from stats.json (fixed-bin counts merged during the run), so the page
costs seconds on any corpus. Example documents are sampled from a bounded number of output files.
Every document text, URL and reason is escaped: documents are hostile input.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from html import escape
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ..stats import Histogram
from . import charts
from .terminal import load_stats

SAMPLES_PER_REASON = 3
FILES_SAMPLED = 16  # example documents come from at most this many Parquet files per folder
SNIPPET_CHARS = 400
LENGTH_HISTOGRAMS = {"doc_bytes_in", "doc_bytes_out"}  # drawn once for the run, not per stage
BASE_COLUMNS = {"id", "text", "url", "source", "timestamp", "metadata", "stage", "reason", "detail"}

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{margin-bottom:0}h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:2em}
table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right;
vertical-align:top}th{background:#f4f4f4}td.l,th.l{text-align:left}.ok{color:#1a7f37}.bad{color:#c00;font-weight:bold}
.doc{border:1px solid #ddd;border-left:4px solid #e45756;margin:6px 0;padding:6px;background:#fafafa;
font-size:13px}.doc.kept{border-left-color:#4c78a8}.doc pre{white-space:pre-wrap;margin:4px 0;font-family:inherit}
.meta{color:#666;font-size:12px;word-break:break-all}.stage{margin-bottom:2em}.grid{display:flex;flex-wrap:wrap;
gap:12px}.grid>div{flex:0 0 auto}details{margin:4px 0}pre.cfg{background:#f6f8fa;padding:8px;font-size:12px}
"""


def write_report(run_dir: str | Path) -> Path:
    run_dir = Path(run_dir)
    stats = load_stats(run_dir)
    removed_samples = _sample_docs(run_dir / "removed", by_reason=True)
    kept_samples = _sample_docs(run_dir / "data", by_reason=False).get("", [])
    ablation_file = run_dir / "ablation.json"
    ablation = json.loads(ablation_file.read_text()) if ablation_file.exists() else None
    sections = [
        _header(stats),
        _funnel(stats),
        _lengths(stats),
        *(_stage_section(s, stats.get("thresholds", {}).get(s["name"], {}), removed_samples) for s in stats["stages"]),
        _kept(kept_samples),
        _ablation(ablation) if ablation else "",
        _run_facts(stats),
    ]
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>curate report: {escape(run_dir.name)}</title><style>{STYLE}</style></head><body>"
        + "".join(sections)
        + "</body></html>"
    )
    path = run_dir / "report.html"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path


def _header(stats: dict[str, Any]) -> str:
    cons = stats.get("conservation", {})
    status = (
        "<span class='ok'>conservation ok: every document read is kept or removed with a reason</span>"
        if cons.get("ok")
        else "<span class='bad'>conservation FAILED: " + escape("; ".join(cons.get("problems", []))) + "</span>"
    )
    skipped = stats.get("skipped") or {}
    skipped_html = ", ".join(f"{escape(k)} {v:,}" for k, v in skipped.items()) or "none"
    run = stats.get("run", {})
    return (
        "<h1>curate report</h1>"
        f"<p>{stats['docs_read']:,} documents read ({stats.get('bytes_read', 0) / 1e6:,.2f} MB), "
        f"{stats['docs_written']:,} written, in {run.get('seconds', 0):,.1f} s with {run.get('workers', 1)} "
        f"worker(s) on the {escape(str(run.get('executor', 'local')))} executor.<br>"
        f"Records the readers could not use: {skipped_html}.<br>{status}</p>"
    )


def _funnel(stats: dict[str, Any]) -> str:
    stages = stats["stages"]
    rows = [(s["name"], s["docs_in"], s["docs_out"]) for s in stages]
    byte_rows = [(s["name"], s["bytes_in"], s["bytes_out"]) for s in stages]
    table = "".join(
        f"<tr><td class='l'>{escape(s['name'])}</td><td>{s['docs_in']:,}</td><td>{s['docs_out']:,}</td>"
        f"<td>{_share(s['docs_in'] - s['docs_out'], s['docs_in'])}</td><td>{s['bytes_in'] / 1e6:,.2f}</td>"
        f"<td>{s['bytes_out'] / 1e6:,.2f}</td><td>{s.get('seconds', 0):,.2f}</td>"
        f"<td>{_rate(s)}</td></tr>"
        for s in stages
    )
    return (
        "<h2 id='funnel'>Funnel</h2><div class='grid'><div><b>documents</b><br>"
        f"{charts.funnel(rows)}</div><div><b>bytes</b><br>{charts.funnel(byte_rows)}</div></div>"
        "<table><tr><th class='l'>stage</th><th>docs in</th><th>docs out</th><th>removed</th><th>MB in</th>"
        f"<th>MB out</th><th>seconds</th><th>docs/s</th></tr>{table}</table>"
    )


def _stage_section(stage: dict[str, Any], thresholds: dict[str, float], samples: dict[str, list[dict]]) -> str:
    name = stage["name"]
    removed_total = sum(stage["removed"].values())
    reason_rows = "".join(
        f"<tr><td class='l'>{escape(reason)}</td><td>{count:,}</td><td>{_share(count, stage['docs_in'])}</td></tr>"
        for reason, count in sorted(stage["removed"].items(), key=lambda kv: -kv[1])
    )
    reasons = (
        f"<table><tr><th class='l'>reason</th><th>documents</th><th>share of input</th></tr>{reason_rows}</table>"
        if reason_rows
        else "<p>Removed nothing.</p>"
    )
    examples = "".join(
        f"<details><summary>examples removed for {escape(reason)}</summary>"
        + "".join(_doc_html(d) for d in samples.get(reason, []))
        + "</details>"
        for reason in sorted(stage["removed"])
        if samples.get(reason)
    )
    counters = stage.get("counters") or {}
    categorical: dict[str, list[tuple[str, int]]] = defaultdict(list)
    plain_counters = []
    for key, value in counters.items():
        if "=" in key:
            signal, category = key.split("=", 1)
            categorical[signal].append((category, value))
        else:
            plain_counters.append((key, value))
    charts_html = []
    for signal, items in sorted(categorical.items()):
        top = sorted(items, key=lambda kv: -kv[1])[:25]
        charts_html.append(f"<div><b>{escape(signal)}</b> (top {len(top)})<br>{charts.bars(top)}</div>")
    for key, hist in sorted(stage.get("histograms", {}).items()):
        if key not in LENGTH_HISTOGRAMS:
            charts_html.append(_histogram_html(key, hist, thresholds.get(key)))
    counter_html = (
        "<p>Counts: " + ", ".join(f"{escape(k)} {v:,}" for k, v in sorted(plain_counters)) + "</p>"
        if plain_counters
        else ""
    )
    return (
        f"<div class='stage' id='stage-{escape(name)}'><h2>{escape(name)}</h2>"
        f"<p>{stage['docs_in']:,} in, {stage['docs_out']:,} out, {removed_total:,} removed "
        f"({_share(removed_total, stage['docs_in'])}); {stage['bytes_in'] / 1e6:,.2f} MB in, "
        f"{stage['bytes_out'] / 1e6:,.2f} MB out; {_rate(stage)} docs/s.</p>"
        f"{reasons}{examples}{counter_html}<div class='grid'>{''.join(charts_html)}</div></div>"
    )


def _lengths(stats: dict[str, Any]) -> str:
    stages = stats["stages"]
    if not stages:
        return ""
    before = stages[0].get("histograms", {}).get("doc_bytes_in")
    after = stages[-1].get("histograms", {}).get("doc_bytes_out")
    shown = [_histogram_html(title, h, None) for title, h in (("bytes per document, read", before), ("bytes per document, written", after)) if h]
    return f"<h2 id='lengths'>Document length</h2><div class='grid'>{''.join(shown)}</div>"


def _histogram_html(title: str, hist: dict[str, Any], threshold: Any) -> str:
    threshold = threshold if isinstance(threshold, (int, float)) else None
    note = f" (threshold {threshold:g})" if threshold is not None else ""
    chart = charts.histogram(hist["counts"], _edges(hist), threshold, hist.get("log", False))
    return f"<div><b>{escape(title)}</b>{escape(note)}<br>{chart}</div>"


def _kept(samples: list[dict]) -> str:
    if not samples:
        return ""
    return "<h2 id='kept'>Kept documents, for contrast</h2>" + "".join(_doc_html(d, kept=True) for d in samples)


def _ablation(ablation: dict[str, Any]) -> str:
    """The table `curate ablate` stored (its cells as the terminal shows them), the evaluation overlap before
    and after decontamination, and the loss curves."""
    table = ablation.get("table", {"header": [], "rows": []})
    header = "".join(f"<th class='{'l' if i == 0 else ''}'>{escape(h)}</th>" for i, h in enumerate(table["header"]))
    rows = "".join("<tr>" + "".join(f"<td class='{'l' if i == 0 else ''}'>{escape(c)}</td>" for i, c in enumerate(cells))
                   + "</tr>" for cells in table["rows"])
    domains = ablation.get("eval", {}).get("domains", [])
    overlap = "".join(
        f"<tr><td class='l'>{escape(name)}</td>"
        + "".join(f"<td>{v['eval_overlap'].get(d['name'], 0):.2%}</td>" for d in domains) + "</tr>"
        for name, v in ablation.get("variants", {}).items())
    curves = {
        f"{r['variant']} s{r['seed']}": [(p[0], p[1]) for p in r.get("curve", [])] for r in ablation.get("runs", []) if r.get("curve")
    }
    return (
        "<h2 id='ablation'>Ablation</h2><p>" + escape(table.get("title", "")) + f"</p><table><tr>{header}</tr>{rows}</table>"
        + "<h3>Evaluation 13-gram overlap with the training text</h3><table><tr><th class='l'>text</th>"
        + "".join(f"<th>{escape(d['name'])}</th>" for d in domains) + "</tr><tr><td class='l'>pool, before decontamination</td>"
        + "".join(f"<td>{d.get('overlap_before', 0):.2%}</td>" for d in domains) + f"</tr>{overlap}</table>"
        + (charts.lines(curves, "tokens trained", "validation loss (a slice of every domain)") if curves else "")
    )


def _run_facts(stats: dict[str, Any]) -> str:
    run = stats.get("run", {})
    inputs = run.get("inputs", [])
    shown = "".join(f"<li>{escape(str(p))}</li>" for p in inputs[:50])
    more = f"<li>... and {len(inputs) - 50:,} more</li>" if len(inputs) > 50 else ""
    facts = {k: v for k, v in run.items() if k not in ("config", "inputs")}
    return (
        "<h2 id='run'>Run</h2><table>"
        + "".join(f"<tr><th class='l'>{escape(k)}</th><td class='l'>{escape(str(v))}</td></tr>" for k, v in facts.items())
        + f"</table><details><summary>{len(inputs):,} input shard(s)</summary><ul>{shown}{more}</ul></details>"
        + f"<details open><summary>config</summary><pre class='cfg'>{escape(json.dumps(run.get('config', {}), indent=2))}</pre></details>"
    )


def _sample_docs(folder: Path, by_reason: bool) -> dict[str, list[dict]]:
    """A seeded sample of documents per reason (or overall), from a bounded number of files."""
    files = sorted(folder.glob("*.parquet"))
    if len(files) > FILES_SAMPLED:
        files = random.Random(0).sample(files, FILES_SAMPLED)
    pools: dict[str, list[dict]] = defaultdict(list)
    rng = random.Random(0)
    seen: dict[str, int] = defaultdict(int)
    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=2048):
            for row in batch.to_pylist():
                key = (row.get("reason") or "") if by_reason else ""
                seen[key] += 1
                row["text"] = (row.get("text") or "")[:SNIPPET_CHARS]
                pool = pools[key]
                if len(pool) < SAMPLES_PER_REASON:  # reservoir sampling per key
                    pool.append(row)
                else:
                    j = rng.randrange(seen[key])
                    if j < SAMPLES_PER_REASON:
                        pool[j] = row
    return pools


def _doc_html(row: dict[str, Any], kept: bool = False) -> str:
    scores = ", ".join(
        f"{escape(k)}={escape(_fmt_value(v))}" for k, v in sorted(row.items()) if k not in BASE_COLUMNS and v is not None
    )
    detail = f" ({escape(str(row['detail']))})" if row.get("detail") else ""
    return (
        f"<div class='doc{' kept' if kept else ''}'><div class='meta'>id {escape(str(row.get('id')))} "
        f"{escape(str(row.get('url') or ''))}{detail}</div>"
        f"<pre>{escape(row.get('text') or '')}</pre><div class='meta'>{scores}</div></div>"
    )


def _edges(hist: dict[str, Any]) -> list[float]:
    return Histogram.from_dict(hist).edges()


def _fmt_value(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def _rate(stage: dict[str, Any]) -> str:
    rate = stage.get("docs_per_s")
    return f"{rate:,.0f}" if rate else "-"
