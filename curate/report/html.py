"""report.html: one self-contained page (no scripts, no network) that answers first "what was removed, why, and
show me", then shows every stage's numbers and distributions, and ends with how the run was made.

Numbers and histograms come from stats.json (fixed-bin counts merged during the run), so the page costs seconds on
any corpus; example documents, survivors and domain counts come from a bounded number of output files
(samples.py). Every document text, URL and reason is escaped: documents are hostile input.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from html import escape
from pathlib import Path
from typing import Any

from ..atomic import write_text_atomic
from ..stats import Histogram
from . import charts
from .samples import KEPT, REMOVED, DomainCounts, domain_counts, find_survivors, is_duplicate, sample_docs
from .terminal import load_stats

EXAMPLES_SHOWN = 2  # per reason, open on the page; the rest of the sample sits behind a click
DOMAINS_SHOWN = 25
SIGNAL_COLUMNS = 3  # (signal, value) pairs per row of a document's signal table
LENGTH_HISTOGRAMS = {"doc_bytes_in", "doc_bytes_out"}  # drawn once for the run, not per stage
BASE_COLUMNS = {"id", "text", "url", "source", "timestamp", "metadata", "stage", "reason", "detail", "folder"}

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1100px;color:#222;padding:0 1em;line-height:1.35}
h1{margin-bottom:0.2em}h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:1.8em}h3{margin:1.2em 0 0.4em}
table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right;
vertical-align:top}th{background:#f4f4f4}td.l,th.l{text-align:left}.ok{color:#1a7f37}.bad{color:#c00;font-weight:bold}
.lead{font-size:15px}.doc{border:1px solid #ddd;border-left:4px solid #e45756;margin:6px 0;padding:6px 8px;
background:#fafafa;font-size:13px;min-width:0}.doc.kept{border-left-color:#4c78a8}
.doc pre{white-space:pre-wrap;margin:4px 0;font-family:inherit;max-height:9em;overflow:hidden}
.meta{color:#555;font-size:12px;word-break:break-all}.pair{display:grid;grid-template-columns:1fr 1fr;gap:10px}
.pair>.doc{margin:6px 0}table.signals{font-size:11px;margin:4px 0 0}table.signals td{border:0;padding:0 6px 0 0;
font-variant-numeric:tabular-nums}table.signals td.k{color:#666;text-align:left}.stage{margin-bottom:1.5em}
.chart{display:block;margin:2px 0 10px}.caption{font-weight:bold;font-size:13px;margin-top:8px}
.empty{color:#888;font-style:italic;font-size:13px;margin:4px 0 12px}details{margin:4px 0}
summary{cursor:pointer;color:#245}pre.cfg{background:#f6f8fa;padding:8px;font-size:12px;overflow-x:auto}
td.num{font-variant-numeric:tabular-nums}table.signals td.hit{font-weight:bold;color:#b00}
"""


def write_report(run_dir: str | Path) -> Path:
    run_dir = Path(run_dir)
    stats = load_stats(run_dir)
    removed_samples = sample_docs(run_dir / REMOVED, by_reason=True)
    survivors = find_survivors(run_dir, removed_samples)
    kept_samples = sample_docs(run_dir / KEPT, by_reason=False).get("", [])
    ablation_file = run_dir / "ablation.json"
    ablation = json.loads(ablation_file.read_text()) if ablation_file.exists() else None
    thresholds = stats.get("thresholds", {})
    sections = [
        _header(stats),
        _ablation(ablation) if ablation else "",
        _removed_overview(stats, removed_samples, survivors),
        _funnel(stats),
        _domains(domain_counts(run_dir)),
        _lengths(stats),
        *(_stage_section(s, thresholds.get(s.get("id", s["name"]), {})) for s in stats["stages"]),
        _kept(kept_samples),
        _run_facts(stats),
    ]
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>curate report: {escape(run_dir.name)}</title><style>{STYLE}</style></head><body>"
        + "".join(sections)
        + "</body></html>"
    )
    path = run_dir / "report.html"
    write_text_atomic(path, page)
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
    read, written = stats["docs_read"], stats["docs_written"]
    return (
        "<h1>curate report</h1>"
        f"<p class='lead'><b>{read:,}</b> documents read ({stats.get('bytes_read', 0) / 1e6:,.2f} MB), "
        f"<b>{written:,}</b> kept ({_share(written, read)}), <b>{read - written:,}</b> removed; "
        f"{_durations(stats)}, {run.get('workers', 1)} worker(s), {escape(str(run.get('executor', 'local')))} executor.<br>"
        f"Records the readers could not use: {skipped_html}.<br>{status}</p>"
    )


def _durations(stats: dict[str, Any]) -> str:
    """Wall time of the invocation that finished the run, and the stage time summed over every task, resumed
    ones included (a resumed run's own wall time says little)."""
    run = stats.get("run", {})
    cpu = sum(s.get("seconds", 0) for s in stats["stages"])
    stage_wall = sum(s.get("wall_seconds", 0) for s in stats["stages"])
    resumed = run.get("tasks_resumed", 0)
    wall = f"finished in {run.get('seconds', 0):,.1f} s"
    if resumed:
        wall += f" after resuming {resumed} task(s) done earlier"
    return f"{wall}; stages took {stage_wall:,.1f} s ({cpu:,.1f} CPU s) summed over all tasks"


def _removed_overview(stats: dict[str, Any], samples: dict[str, list[dict]], survivors: dict[str, dict]) -> str:
    """Every removal reason with its count, and the first examples of each, open on the page."""
    rows, examples = [], []
    read = stats["docs_read"]
    for stage in stats["stages"]:
        for reason, count in sorted(stage["removed"].items(), key=lambda kv: -kv[1]):
            anchor = _anchor(reason)
            rows.append(f"<tr><td class='l'>{escape(stage.get('id', stage['name']))}</td><td class='l'><a href='#{anchor}'>"
                        f"{escape(reason.split(':', 1)[-1])}</a></td><td class='num'>{count:,}</td>"
                        f"<td class='num'>{_share(count, stage['docs_in'])}</td><td class='num'>{_share(count, read)}</td></tr>")
            docs = samples.get(reason, [])
            shown = "".join(_removed_html(d, survivors) for d in docs[:EXAMPLES_SHOWN])
            more = (f"<details><summary>{len(docs) - EXAMPLES_SHOWN} more example(s)</summary>"
                    + "".join(_removed_html(d, survivors) for d in docs[EXAMPLES_SHOWN:]) + "</details>"
                    if len(docs) > EXAMPLES_SHOWN else "")
            note = "" if docs else "<p class='empty'>no example found in the sampled files</p>"
            examples.append(f"<h3 id='{anchor}'>{escape(reason)}: {count:,}</h3>{shown}{more}{note}")
    if not rows:
        return "<h2 id='removed'>What was removed</h2><p>Nothing was removed.</p>"
    return (
        "<h2 id='removed'>What was removed, and why</h2><table><tr><th class='l'>stage</th><th class='l'>reason</th>"
        "<th>documents</th><th>share of the stage's input</th><th>share of all read</th></tr>"
        + "".join(rows) + "</table>" + "".join(examples)
    )


def _funnel(stats: dict[str, Any]) -> str:
    stages = stats["stages"]
    rows = [(s.get("id", s["name"]), s["docs_in"], s["docs_out"]) for s in stages]
    byte_rows = [(s.get("id", s["name"]), s["bytes_in"], s["bytes_out"]) for s in stages]
    table = "".join(
        f"<tr><td class='l'><a href='#stage-{escape(s.get('id', s['name']))}'>{escape(s.get('id', s['name']))}</a></td><td>{s['docs_in']:,}</td>"
        f"<td>{s['docs_out']:,}</td><td>{_share(s['docs_in'] - s['docs_out'], s['docs_in'])}</td>"
        f"<td>{s['bytes_in'] / 1e6:,.2f}</td><td>{s['bytes_out'] / 1e6:,.2f}</td><td>{s.get('wall_seconds', 0):,.2f}</td>"
        f"<td>{s.get('seconds', 0):,.2f}</td>"
        f"<td>{_rate(s)}</td></tr>"
        for s in stages
    )
    return (
        "<h2 id='funnel'>Funnel</h2><div class='caption'>documents after each stage (red: removed there)</div>"
        f"{charts.funnel(rows)}<div class='caption'>bytes after each stage (red: removed or cut there)</div>"
        f"{charts.funnel(byte_rows, change='smaller')}"
        "<table><tr><th class='l'>stage</th><th>docs in</th><th>docs out</th><th>removed</th><th>MB in</th>"
        f"<th>MB out</th><th>seconds</th><th>CPU s</th><th>docs/CPU s</th></tr>{table}</table>"
    )


def _domains(counts: DomainCounts) -> str:
    totals = counts.kept + counts.removed
    if not totals:
        return ""
    rows = "".join(
        f"<tr><td class='l'>{escape(domain)}</td><td>{counts.kept[domain]:,}</td><td>{counts.removed[domain]:,}</td>"
        f"<td>{_share(counts.removed[domain], total)}</td><td class='l'>"
        + escape(", ".join(f"{r.split(':', 1)[-1]} {n:,}" for r, n in counts.reasons[domain].most_common(3)))
        + "</td></tr>"
        for domain, total in sorted(totals.items(), key=lambda kv: (-kv[1], -counts.removed[kv[0]], kv[0]))[:DOMAINS_SHOWN]
    )
    sampled = (f" (from {counts.files_read:,} of {counts.files_total:,} output files)"
               if counts.files_read < counts.files_total else "")
    return (
        f"<h2 id='domains'>Domains</h2><p>The {min(DOMAINS_SHOWN, len(totals)):,} domains with the most documents, "
        f"of {len(totals):,}{sampled}.</p><table><tr><th class='l'>domain</th><th>kept</th><th>removed</th>"
        f"<th>removed share</th><th class='l'>main reasons</th></tr>{rows}</table>"
    )


def _stage_section(stage: dict[str, Any], thresholds: dict[str, float]) -> str:
    name = stage.get("id", stage["name"])
    removed_total = sum(stage["removed"].values())
    reasons = ", ".join(
        f"<a href='#{_anchor(reason)}'>{escape(reason.split(':', 1)[-1])}</a> {count:,}"
        for reason, count in sorted(stage["removed"].items(), key=lambda kv: -kv[1])
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
    for signal, items in sorted(categorical.items(), key=lambda kv: _natural(kv[0])):
        top = sorted(items, key=lambda kv: -kv[1])[:25]
        charts_html.append(f"<div class='caption'>{escape(signal)} (top {len(top)})</div>{charts.bars(top)}")
    for key, hist in sorted(stage.get("histograms", {}).items(), key=lambda kv: _natural(kv[0])):
        if key not in LENGTH_HISTOGRAMS:
            charts_html.append(_histogram_html(key, hist, thresholds.get(key)))
    counter_html = (
        "<p>Counts: " + ", ".join(f"{escape(k)} {v:,}" for k, v in sorted(plain_counters, key=lambda kv: _natural(kv[0])))
        + "</p>"
        if plain_counters
        else ""
    )
    return (
        f"<div class='stage' id='stage-{escape(name)}'><h2>{escape(name)}</h2>"
        f"<p>{stage['docs_in']:,} in, {stage['docs_out']:,} out, {removed_total:,} removed "
        f"({_share(removed_total, stage['docs_in'])}){': ' + reasons if reasons else ''}; "
        f"{stage['bytes_in'] / 1e6:,.2f} MB in, {stage['bytes_out'] / 1e6:,.2f} MB out; {_rate(stage)} docs/s.</p>"
        f"{counter_html}{''.join(charts_html)}</div>"
    )


def _lengths(stats: dict[str, Any]) -> str:
    stages = stats["stages"]
    if not stages:
        return ""
    before = stages[0].get("histograms", {}).get("doc_bytes_in")
    after = stages[-1].get("histograms", {}).get("doc_bytes_out")
    shown = [_histogram_html(title, h, None) for title, h in
             (("bytes per document, read", before), ("bytes per document, written", after)) if h]
    return f"<h2 id='lengths'>Document length</h2>{''.join(shown)}"


def _histogram_html(title: str, hist: dict[str, Any], threshold: Any) -> str:
    threshold = threshold if isinstance(threshold, (int, float)) else None
    note = f" (threshold {threshold:g}, dashed)" if threshold is not None else ""
    caption = f"<div class='caption'>{escape(title)}{escape(note)}</div>"
    total = sum(hist["counts"])
    if not total:
        return caption + "<p class='empty'>Nothing to draw: no document had this value (none reached it, or none applied).</p>"
    chart = charts.histogram(hist["counts"], _edges(hist), threshold, hist.get("log", False))
    return caption + chart


def _kept(samples: list[dict]) -> str:
    if not samples:
        return ""
    return "<h2 id='kept'>Kept documents, for contrast</h2>" + "".join(_doc_html(d, kept=True) for d in samples)


def _ablation(ablation: dict[str, Any]) -> str:
    """The table `curate ablate` stored (its cells as the terminal shows them) and the loss curves, at the top of
    the page; then the evaluation overlap before and after decontamination."""
    runs = ablation.get("runs", [])
    table = ablation.get("table") or _runs_table(runs)
    header = "".join(f"<th class='{'l' if i == 0 else ''}'>{escape(h)}</th>" for i, h in enumerate(table["header"]))
    rows = "".join("<tr>" + "".join(f"<td class='{'l' if i == 0 else ''}'>{escape(str(c))}</td>" for i, c in enumerate(cells))
                   + "</tr>" for cells in table["rows"])
    domains = ablation.get("eval", {}).get("domains", [])
    overlap = "".join(
        f"<tr><td class='l'>{escape(name)}</td>"
        + "".join(f"<td>{v.get('eval_overlap', {}).get(d['name'], 0):.3%}</td>" for d in domains) + "</tr>"
        for name, v in ablation.get("variants", {}).items())
    by_variant: dict[str, list[list[tuple[float, float]]]] = defaultdict(list)
    for run in runs:
        if run.get("curve"):
            by_variant[run["variant"]].append([(p[0], p[1]) for p in run["curve"]])
    curves = charts.curves(by_variant, "tokens trained", "validation loss")
    overlap_html = (
        "<h3>Evaluation 13-gram overlap with the training text</h3><table><tr><th class='l'>text</th>"
        + "".join(f"<th>{escape(d['name'])}</th>" for d in domains) + "</tr><tr><td class='l'>pool, before decontamination</td>"
        + "".join(f"<td>{d.get('overlap_before', 0):.3%}</td>" for d in domains) + f"</tr>{overlap}</table>"
        if domains else ""
    )
    return (
        "<h2 id='ablation'>Ablation</h2><p>" + escape(table.get("title", "")) + f"</p><table><tr>{header}</tr>{rows}</table>"
        + (f"<div class='caption'>validation loss while training: mean over seeds per variant, the band their range; "
           f"the y-axis fits the losses after the first fifth of training (all of them when there are under four evaluations)</div>{curves}" if curves else "")
        + overlap_html
    )


def _runs_table(runs: list[dict]) -> dict[str, Any]:
    """Per variant from the runs alone (ablation.json's fixed fields), for an ablation.json without a table."""
    by_variant: dict[str, list[dict]] = defaultdict(list)
    for run in runs:
        by_variant[run["variant"]].append(run)
    rows = []
    for variant, items in by_variant.items():
        losses = [r["val_loss"] for r in items]
        rows.append([variant, len(items), f"{items[0]['docs']:,}", f"{items[0]['tokens']:,}",
                     f"{sum(losses) / len(losses):.4f}", f"{max(losses) - min(losses):.4f}",
                     f"{sum(r['val_bpb'] for r in items) / len(items):.4f}"])
    return {"title": "", "header": ["variant", "seeds", "docs", "tokens", "val loss (mean)", "seed spread", "val bits/byte"],
            "rows": rows}


def _run_facts(stats: dict[str, Any]) -> str:
    run = stats.get("run", {})
    inputs = run.get("inputs", [])
    shown = "".join(f"<li>{escape(str(p))}</li>" for p in inputs[:50])
    more = f"<li>... and {len(inputs) - 50:,} more</li>" if len(inputs) > 50 else ""
    hidden = ("config", "config_text", "inputs", "versions")
    facts = {k: v for k, v in run.items() if k not in hidden}
    versions = run.get("versions") or {}
    config_text = run.get("config_text")
    config_html = (
        f"<details open><summary>{escape(str(run.get('config_file') or 'config'))}, as written</summary>"
        f"<pre class='cfg'>{escape(config_text)}</pre></details>"
        f"<details><summary>the config as curate read it (defaults filled in)</summary>"
        f"<pre class='cfg'>{escape(json.dumps(run.get('config', {}), indent=2))}</pre></details>"
        if config_text
        else f"<details open><summary>config (as curate read it: the pipeline was given as data, not a file)</summary>"
        f"<pre class='cfg'>{escape(json.dumps(run.get('config', {}), indent=2))}</pre></details>"
    )
    return (
        "<h2 id='run'>Run</h2><table>"
        + "".join(f"<tr><th class='l'>{escape(k)}</th><td class='l'>{escape(str(v))}</td></tr>" for k, v in facts.items())
        + "</table>"
        + ("<h3>Versions</h3><p class='versions'>" + " · ".join(f"<b>{escape(k)}</b> {escape(str(v))}" for k, v in versions.items())
           + "</p>" if versions else "")
        + f"<details><summary>{len(inputs):,} input shard(s)</summary><ul>{shown}{more}</ul></details>"
        + config_html
    )


def _removed_html(row: dict[str, Any], survivors: dict[str, dict]) -> str:
    """A removed document; a duplicate beside the document it duplicates."""
    if not is_duplicate(row):
        return _doc_html(row)
    survivor = survivors.get(str(row["detail"]))
    if survivor is None:
        right = f"<div class='doc kept'><div class='meta'>survivor {escape(str(row['detail']))} not found in the output</div></div>"
    else:
        where = "kept" if survivor["folder"] == KEPT else "later removed for another reason"
        right = _doc_html(survivor, kept=True, label=f"survivor ({where})")
    return f"<div class='pair'>{_doc_html(row, label='removed', signals=False)}{right}</div>"


def _doc_html(row: dict[str, Any], kept: bool = False, label: str = "", signals: bool = True) -> str:
    """One document: URL, id, opening text and (for a whole-width card) its signals."""
    detail = f" ({escape(str(row['detail']))})" if row.get("detail") and not is_duplicate(row) else ""
    return (
        f"<div class='doc{' kept' if kept else ''}'><div class='meta'>{f'<b>{escape(label)}</b> ' if label else ''}"
        f"{escape(str(row.get('url') or '(no URL)'))}{detail}<br>id {escape(str(row.get('id')))}</div>"
        f"<pre>{escape(row.get('text') or '')}</pre>{_signals_table(row) if signals else ''}</div>"
    )


def _signals_table(row: dict[str, Any]) -> str:
    """The document's signals as a small aligned table, a few (name, value) pairs per row; those of the stage and
    rule that removed it in bold."""
    stage, _, rule = str(row.get("reason") or "").partition(":")
    items = [(k, _fmt_value(v)) for k, v in sorted(row.items(), key=lambda kv: _natural(kv[0]))
             if k not in BASE_COLUMNS and v is not None]
    if not items:
        return ""

    def cell(key: str, value: str) -> str:
        deciding = bool(stage) and (key.startswith(stage) or (bool(rule) and rule in key))
        tag = " class='hit'" if deciding else ""
        return f"<td class='k'>{escape(key)}</td><td{tag}>{escape(value)}</td>"

    rows = ["<tr>" + "".join(cell(k, v) for k, v in items[start : start + SIGNAL_COLUMNS]) + "</tr>"
            for start in range(0, len(items), SIGNAL_COLUMNS)]
    return f"<table class='signals'>{''.join(rows)}</table>"


def _natural(key: str) -> list:
    """dup_5gram before dup_10gram: digits compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", key)]


def _anchor(reason: str) -> str:
    return "reason-" + re.sub(r"[^A-Za-z0-9_-]", "-", reason)


def _edges(hist: dict[str, Any]) -> list[float]:
    return Histogram.from_dict(hist).edges()


def _fmt_value(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def _rate(stage: dict[str, Any]) -> str:
    rate = stage.get("docs_per_s")
    return f"{rate:,.0f}" if rate else "-"
