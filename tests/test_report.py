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
from curate.executors import execute
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
