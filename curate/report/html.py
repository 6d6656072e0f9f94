"""report.html: a self-contained page (no network) of what each stage did to the documents."""

from __future__ import annotations

import html
import json
from pathlib import Path

from .terminal import load_stats


def write_report(run_dir: str | Path) -> Path:
    run_dir = Path(run_dir)
    stats = load_stats(run_dir)
    rows = []
    for s in stats["stages"]:
        reasons = "".join(
            f"<li>{html.escape(k)}: {v:,}</li>" for k, v in sorted(s["removed"].items(), key=lambda kv: -kv[1])
        )
        rows.append(
            f"<tr><td>{html.escape(s['name'])}</td><td>{s['docs_in']:,}</td><td>{s['docs_out']:,}</td>"
            f"<td>{s['bytes_in']:,}</td><td>{s['bytes_out']:,}</td><td><ul>{reasons}</ul></td></tr>"
        )
    body = (
        "<!doctype html><html><head><meta charset='utf-8'><title>curate report</title></head><body>"
        "<h1>curate report</h1>"
        f"<p>read {stats['docs_read']:,} documents, wrote {stats['docs_written']:,}; "
        f"conservation {'ok' if stats['conservation']['ok'] else 'FAILED'}</p>"
        "<table border=1><tr><th>stage</th><th>docs in</th><th>docs out</th><th>bytes in</th>"
        f"<th>bytes out</th><th>removed</th></tr>{''.join(rows)}</table>"
        f"<h2>config</h2><pre>{html.escape(json.dumps(stats.get('run', {}), indent=2))}</pre>"
        "</body></html>"
    )
    path = run_dir / "report.html"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(body, encoding="utf-8")
    tmp.replace(path)
    return path
