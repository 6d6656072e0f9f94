"""report.html: escaped, self-contained, complete; checked in headless Chromium when it is installed."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from curate.config import load_config, parse_config
from curate.driver import execute
from curate.report.html import write_report

REPO = Path(__file__).resolve().parents[1]
HOSTILE = (
    "<script>document.title='pwned'</script></textarea></pre><img src=x onerror=\"document.title='pwned'\">"
    " A hostile document that must show as text."
)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Path:
    """The demo pipeline over sample_data plus a planted hostile document."""
    tmp = tmp_path_factory.mktemp("report")
    hostile = tmp / "hostile.jsonl"
    hostile.write_text(
        json.dumps({"id": "<b>hostile-id</b>", "url": "javascript:alert('x')", "text": HOSTILE}) + "\n"
        + json.dumps({"id": "empty<script>", "url": "http://x/\"><script>alert(1)</script>", "text": " "}) + "\n"
    )
    config = load_config(REPO / "pipelines" / "web.yaml")
    config.input.paths = [str(REPO / "sample_data"), str(hostile)]
    config.input.format = "auto"
    out = tmp / "out"
    execute(config, str(out))
    return out


def test_report_escapes_every_document_field(tmp_path):
    docs = tmp_path / "in.jsonl"
    docs.write_text(
        json.dumps({"id": "a", "url": "http://e/<script>", "text": HOSTILE}) + "\n"
        + json.dumps({"id": "<i>b</i>", "text": "  "}) + "\n"
    )
    out = tmp_path / "out"
    execute(parse_config({"input": {"paths": [str(docs)]}, "stages": ["normalize"]}), str(out))
    page = write_report(out).read_text()
    assert "<script" not in page.lower() and "onerror=" not in page.replace("onerror=&quot;", "")
    assert "&lt;script&gt;document.title=" in page and "&lt;i&gt;b&lt;/i&gt;" in page
    assert "http://" not in re.sub(r"http://e/&lt;script&gt;|http://www.w3.org/2000/svg", "", page)  # no external refs


def test_report_shows_every_stage_and_reason(demo_run):
    stats = json.loads((demo_run / "stats.json").read_text())
    page = (demo_run / "report.html").read_text()
    for stage in stats["stages"]:
        assert f"id='stage-{stage['name']}'" in page
        for reason in stage["removed"]:
            assert reason in page
    assert page.count("<svg") >= len(stats["stages"])


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def run_chromium(*args: str) -> subprocess.CompletedProcess:
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic", "--enable-logging=stderr", "--v=0",
    ]
    user_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"curate-chromium-{os.getpid()}"
    return subprocess.run(
        [chromium(), *flags, f"--user-data-dir={user_dir}", *args], capture_output=True, text=True, timeout=120
    )


def test_report_in_a_real_browser(demo_run, tmp_path):
    if chromium() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed; `make test` installs it (apt-get install chromium)")
        pytest.skip("chromium not installed (Debian package `chromium`)")
    url = (demo_run / "report.html").as_uri()
    dom = run_chromium("--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    title = re.search(r"<title>(.*?)</title>", dom.stdout).group(1)
    assert title == "curate report: out" and "pwned" not in title  # the planted script did not run
    assert not re.search(r"CONSOLE\(\d+\).*(Error|Uncaught)", dom.stderr)
    assert len(re.findall(r"<rect ", dom.stdout)) > 20  # charts rendered into the DOM
    assert "hostile-id" in dom.stdout or "hostile document" in dom.stdout or "empty&lt;script&gt;" in dom.stdout
    screenshot = tmp_path / "report.png"  # docs/report.png is refreshed by `make screenshot` only
    shot = run_chromium("--window-size=1200,1600", f"--screenshot={screenshot}", url)
    assert shot.returncode == 0 and screenshot.stat().st_size > 10_000


def section(page: str, anchor: str) -> str:
    """The page from the element with id `anchor` to the next heading of the same or a higher level."""
    start = page.index(f"id='{anchor}'")
    opening = page.rfind("<", 0, start)
    heading = opening if page[opening + 1] == "h" else page.index("<h", start)  # the element, or its first heading
    level = page[heading + 2]
    ends = [page.find(f"<h{n}", heading + 3) for n in range(1, int(level) + 1)]
    return page[start : min([e for e in ends if e > 0], default=len(page))]


def test_first_examples_of_every_reason_show_without_a_click(demo_run):
    stats = json.loads((demo_run / "stats.json").read_text())
    page = (demo_run / "report.html").read_text()
    assert page.index("id='removed'") < page.index("id='funnel'")  # the evidence comes first
    for stage in stats["stages"]:
        for reason in stage["removed"]:
            part = section(page, "reason-" + re.sub(r"[^A-Za-z0-9_-]", "-", reason))
            assert "class='doc" in part.split("<details>")[0], reason


def test_a_duplicate_shows_beside_its_survivor(demo_run):
    import pyarrow.parquet as pq

    removed = pq.read_table(demo_run / "removed").to_pylist()
    kept = {row["id"]: row for row in pq.read_table(demo_run / "data").to_pylist()}
    page = (demo_run / "report.html").read_text()
    pairs = re.findall(r"<div class='pair'>(.*?)</div></div>(?=<div class='pair'>|<h|<details|</div>)", page, re.S)
    duplicates = [r for r in removed if r["reason"].endswith("duplicate_of")]
    assert duplicates and pairs
    shown = 0
    for row in duplicates:
        pair = next((p for p in pairs if f"id {row['id']}" in p), None)
        if pair is None:
            continue
        survivor = kept[row["detail"]]
        assert escape_html(survivor["url"]) in pair and f"id {survivor['id']}" in pair
        assert escape_html(survivor["text"][:60]) in pair  # its opening text, read from the kept Parquet
        shown += 1
    assert shown >= 2  # exact and near duplicates


def test_survivors_are_found_by_id_in_kept_then_removed_files(tmp_path: Path) -> None:
    """A survivor kept, one removed by a later stage (a removed file with other columns), one not written at all."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curate.report.samples import find_survivors

    def write(path: Path, ids: list[str], **extra: list) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        columns = {"id": ids, "url": [f"http://x/{i}" for i in ids], "text": [f"text of {i} " * 100 for i in ids]}
        pq.write_table(pa.table(columns | extra), path, row_group_size=2)

    write(tmp_path / "data" / "part-00000.parquet", ["a", "b", "c"])
    write(tmp_path / "data" / "part-00001.parquet", ["d", "e"])
    write(tmp_path / "removed" / "part-00000-p1.parquet", ["f", "g"], stage=["pii", "pii"], language_score=[0.5, 0.9])
    samples = {"exact_dedup:exact_duplicate_of": [{"reason": "exact_dedup:exact_duplicate_of", "detail": survivor}
                                                  for survivor in ("e", "b", "g", "gone")],
               "gopher_quality:word_count": [{"reason": "gopher_quality:word_count", "detail": None}]}
    found = find_survivors(tmp_path, samples)
    assert {i: row["folder"] for i, row in found.items()} == {"b": "data", "e": "data", "g": "removed"}
    assert found["g"]["url"] == "http://x/g" and found["g"]["text"] == ("text of g " * 100)[:400]
    assert set(found["b"]) == {"id", "url", "text", "folder"}  # only the columns the report shows


def escape_html(text: str) -> str:
    from html import escape

    return escape(text)


def test_charts_in_natural_order_and_facts_from_the_run(demo_run):
    page = (demo_run / "report.html").read_text()
    repetition = section(page, "stage-gopher_repetition")
    assert repetition.index(">gopher_dup_5gram") < repetition.index(">gopher_dup_9gram") < repetition.index(">gopher_dup_10gram")
    assert "width=\"100%\"" in page  # charts take the page's width
    import platform

    import curate

    run = section(page, "run")
    assert f"<b>curate</b> {curate.__version__}" in run and platform.python_version() in run
    yaml_text = (REPO / "pipelines" / "web.yaml").read_text()
    comment = next(line for line in yaml_text.splitlines() if "#" in line)
    assert escape_html(comment) in run  # the YAML as written, comments and all
    domains = section(page, "domains")
    assert re.search(r"riverside-gardens\.example</td><td>1</td><td>1</td>", domains)  # kept and removed per domain
    from curate.report.samples import _domain

    assert [_domain(u) for u in ("https://WWW.Example.com/a", "example.com/b", "")] == ["example.com", "example.com", "(no URL)"]


def test_a_malformed_url_has_no_domain_and_the_report_is_written(tmp_path):
    docs = tmp_path / "in.jsonl"
    docs.write_text("".join(json.dumps({"id": str(i), "url": url, "text": "some words here"}) + "\n"
                            for i, url in enumerate(["http://[::1", "http://example.com/a"])))
    out = tmp_path / "out"
    execute(parse_config({"input": {"paths": [str(docs)]}, "stages": ["normalize"]}), str(out))
    domains = section((out / "report.html").read_text(), "domains")
    assert "(no host)</td>" in domains and "example.com</td>" in domains


def test_an_empty_histogram_says_so_and_bins_are_cut_to_the_data(tmp_path):
    docs = tmp_path / "in.jsonl"
    docs.write_text("".join(json.dumps({"id": str(i), "text": f"word {i} " * 30}) + "\n" for i in range(5)))
    out = tmp_path / "out"
    execute(parse_config({"input": {"paths": [str(docs)]}, "stages": ["normalize", "gopher_repetition"]}), str(out))
    stats = json.loads((out / "stats.json").read_text())
    hist = stats["stages"][1]["histograms"]["gopher_dup_5gram"]
    hist["counts"] = [0] * len(hist["counts"])
    (out / "stats.json").write_text(json.dumps(stats))
    page = write_report(out).read_text()
    assert "Nothing to draw" in section(page, "stage-gopher_repetition")
    from curate.report.charts import histogram

    bars = histogram([0] * 10 + [3, 5] + [0] * 18, [i / 30 for i in range(31)])
    assert bars.count("<rect ") == 4  # the two filled bins and one empty bin either side


def test_resumed_run_reports_the_time_its_tasks_took(tmp_path):
    docs = tmp_path / "in.jsonl"
    docs.write_text("".join(json.dumps({"id": str(i), "text": f"some words number {i}"}) + "\n" for i in range(50)))
    config = parse_config({"input": {"paths": [str(docs)]}, "stages": ["normalize", "exact_dedup"]})
    execute(config, str(tmp_path / "out"))
    first = json.loads((tmp_path / "out" / "stats.json").read_text())
    execute(config, str(tmp_path / "out"))  # everything resumes
    page = (tmp_path / "out" / "report.html").read_text()
    stage_seconds = sum(s["seconds"] for s in first["stages"])
    stage_wall = sum(s["wall_seconds"] for s in first["stages"])
    assert re.search(r"after resuming \d+ task\(s\) done earlier; stages took [\d.]+ s \([\d.]+ CPU s\) summed over all tasks", page)
    assert f"stages took {stage_wall:,.1f} s ({stage_seconds:,.1f} CPU s)" in page and stage_wall > 0


def test_ablation_table_and_readable_curves_come_first(demo_run, tmp_path):
    import shutil

    run = tmp_path / "variant"
    shutil.copytree(demo_run, run, ignore=shutil.ignore_patterns(".curate"))
    curve = lambda final: [[t, final + 6 / (1 + t / 1000)] for t in (100, 2000, 4000, 6000, 8000)]  # noqa: E731
    runs = [{"variant": v, "seed": s, "docs": 10, "tokens": 8000, "val_loss": f + s / 10, "val_bpb": 2.0,
             "tokens_per_s": 900.0, "curve": curve(f + s / 10)} for v, f in (("raw", 5.0), ("curated", 4.6)) for s in (0, 1)]
    (run / "ablation.json").write_text(json.dumps({"runs": runs}))
    page = write_report(run).read_text()
    assert page.index("id='ablation'") < page.index("id='removed'")
    ablation = section(page, "ablation")
    assert "curated" in ablation and "seed spread" in ablation and "<polygon" in ablation  # mean line and seed band
    y_labels = [float(v) for v in re.findall(r'text-anchor="end">([\d.]+)</text>', ablation)]
    assert y_labels and max(y_labels) < 8  # fitted to the losses after warm-up, not the first evaluation (about 10.5)


def test_terminal_table_fits_80_columns_without_cutting_a_number(demo_run, capsys):
    from rich.console import Console

    from curate import __version__
    from curate.cli import main as cli_main
    from curate.report.terminal import load_stats, print_stats

    stats = load_stats(demo_run)
    for stage in stats["stages"]:  # a large run: millions of documents, some stages at millions per second
        stage["docs_in"], stage["docs_out"] = stage["docs_in"] * 100_000, stage["docs_out"] * 100_000
        stage["docs_per_s"] = (stage.get("docs_per_s") or 1) * 1000
    stats["stages"][0]["name"] = stats["stages"][0]["id"] = "quality_classifier"  # the longest stage name
    console = Console(width=80, record=True, file=open(os.devnull, "w"))
    print_stats(stats, console)
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80 and not any("…" in line for line in lines)
    for stage in stats["stages"]:
        row = next(line for line in lines if line.startswith(f" {stage['name']} "))
        rate = row.split()[-1]
        assert f"{stage['docs_in']:,}" in row and re.fullmatch(r"[\d,.]+[kM]?", rate), row
    assert any(line.startswith("records skipped: warc:http_status_not_ok 1") for line in lines)  # not wrapped
    with pytest.raises(SystemExit):
        cli_main(["--version"])
    assert capsys.readouterr().out.strip() == f"curate {__version__}"
