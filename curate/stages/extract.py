"""extract: HTML -> main text, with resiliparse (fast, default) or trafilatura (about 6x slower).

By default resiliparse renders the whole page and a shipped classifier (curate/extraction/, card:
curate/data/extract-lines.md) keeps the lines that are main text, judging each by its length, link
share, markup, wording, whether resiliparse's own main-content heuristic kept it, what the class and
id names (and ARIA role, schema.org itemprop) of the element it starts say (comments, byline,
related, ...), and its neighbours. On the held-out half of html-cleaning-gold (1,470 human-cleaned
pages, see bench/bench_extract_quality.py) that gives token F1 0.910 against bare trafilatura's 0.881 and resiliparse's main content's 0.843,
at about 5x trafilatura's pages per CPU second counting the helper process (4.9-5.5x in the latest runs; the README has each). Line breaks are preserved
because later quality filters (C4, Gopher, FineWeb) reason about lines.

Runaway pages: resiliparse's time grows worse than quadratically with nesting depth (10,000 nested
<div>s, 110 KB, take 12 s; 100,000 take about half an hour), and C code never checks Python's
signals. So with `timeout_s` set (the default) pages are extracted in a helper process, which is
killed and restarted when one page takes longer (`extract:timeout`), runs out of its `memory_mb`
(`extract:memory_limit`) or crashes (`extract:extractor_crashed`); the run goes on with the next
page. Pages over `max_html_chars` are not extracted at all (`extract:html_too_large`). The helper
costs a few percent of extraction time (its parent's side about 0.1 ms a page; pages cross a pipe
one by one) and about 0.75 CPU s to start, 0.55 s of it numba's (its import ~0.15 s, the kernels'
and their tables' one-time load ~0.4 s): once a run and again after each page it is killed for.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from multiprocessing.util import Finalize
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from ..document import Document
from ..errors import CurateError
from ..options import option
from .base import Signal, Stage, StageOptions, Verdict

Extractor = Literal["resiliparse", "trafilatura"]


@dataclass(frozen=True, kw_only=True)
class ExtractOptions(StageOptions):
    extractor: Extractor = option("resiliparse", "the HTML extractor: resiliparse (fast) or trafilatura")
    main_content: bool = option(True, "keep only the main content (drop navigation, footers)")
    comments: bool = option(False, "count comment sections as main content (the line model keeps comments that read like the text either way)")
    line_model: bool = option(True, "resiliparse with main_content: choose the main text line by line with the shipped classifier; false: resiliparse's own main-content heuristic")
    min_chars: int = option(1, "pages with fewer characters of text are removed as no_text", ge=0)
    max_html_chars: int = option(8 * 2**20, "larger pages are removed unread (the WARC reader skips bodies over 8 MiB)", ge=1)
    timeout_s: float | None = option(10.0, "the most one page may take; null extracts in this process, unlimited", gt=0)
    memory_mb: int | None = option(2048, "memory extracting one page may add to the helper process; null: no limit", ge=1)


class Extract(Stage):
    name = "extract"
    signals = {"extracted_chars": Signal(pa.int64(), bins=(1, 1_000_000, 30), log=True)}

    Options = ExtractOptions
    options: ExtractOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        o = self.options
        self.extractor_options = {"extractor": o.extractor, "main_content": o.main_content, "comments": o.comments,
                                  "line_model": o.line_model}
        self.min_chars, self.max_html_chars = o.min_chars, o.max_html_chars
        self.timeout_s, self.memory_mb = o.timeout_s, o.memory_mb
        self._helper: _Helper | None = None
        if o.extractor == "resiliparse" and o.main_content and o.line_model:
            from ..extraction.model import shipped_line_model

            shipped_line_model()  # a missing or stale model is a clear error now, not every page failing later

    def process(self, docs: list[Document]) -> list[Verdict]:
        verdicts: list[Verdict] = [None] * len(docs)
        pages: list[int] = []
        for i, doc in enumerate(docs):
            if doc.html is None:  # already text (WET, JSONL): nothing to extract
                continue
            if len(doc.html) > self.max_html_chars:
                verdicts[i] = "html_too_large"
                doc.html = None
                continue
            pages.append(i)
        outcomes = self._extract_all([docs[i].html or "" for i in pages])
        for i, (outcome, text) in zip(pages, outcomes):
            doc = docs[i]
            doc.html = None
            if text is None:
                verdicts[i] = outcome
                continue
            doc.text = text
            doc.signals["extracted_chars"] = len(text)
            verdicts[i] = None if len(text.strip()) >= self.min_chars else "no_text"
        return verdicts

    def _extract_all(self, pages: list[str]) -> list[tuple[str, str | None]]:
        """(outcome, text) per page: ("ok", text), or (reason, None)."""
        if self.timeout_s is None:
            return [extract_page(html, **self.extractor_options) for html in pages]
        results: list[tuple[str, str | None]] = []
        while len(results) < len(pages):
            if self._helper is None or not self._helper.alive():
                self._helper = _Helper(self.extractor_options, self.memory_mb)
            helper = self._helper
            cpu_before = helper.cpu_seconds
            finished, lost = helper.extract(pages[len(results):], self.timeout_s)
            if lost:  # it hung or died on the last page: the next one gets a fresh helper
                helper.stop()  # reaped, so `cpu_seconds` holds what that page burnt
                self._helper = None
            self.cpu_elsewhere += helper.cpu_seconds - cpu_before
            results += finished
        return results


def extract_page(html: str, extractor: Extractor, main_content: bool, comments: bool, line_model: bool = False) -> tuple[str, str | None]:
    """One page -> ("ok", text) or ("extraction_failed", None); never raises on bad markup."""
    try:
        if extractor == "trafilatura":
            import trafilatura

            # None means "found no main text", not a failure
            return "ok", trafilatura.extract(html, include_comments=comments, favor_precision=True) or ""
        if line_model and main_content:
            from ..extraction.model import main_text

            return "ok", main_text(html, comments)
        from resiliparse.extract.html2text import extract_plain_text
        from resiliparse.parse.html import HTMLTree

        from ..extraction import RENDER_CHOICES

        tree = HTMLTree.parse(html)
        return "ok", extract_plain_text(tree, preserve_formatting=True, main_content=main_content, comments=comments, **RENDER_CHOICES)
    except MemoryError:
        return "memory_limit", None
    except Exception:  # noqa: BLE001 - the extractors raise many types on broken markup
        return "extraction_failed", None


class _Helper:
    """A child process that extracts pages sent to it, answering page by page, so the parent can
    give each page its own deadline and kill the child when one runs away. A plain subprocess, not
    multiprocessing: spawning would re-run the user's main script in the child. Messages are
    length-prefixed bytes (`Connection.send_bytes`). `cpu_seconds` is the child's CPU so far: each
    answer carries it, and reaping a lost child reads it from the kernel, so the stage counts the
    pages that ran away too (a fresh child's start-up it does not count, as it does not count setup)."""

    def __init__(self, options: dict, memory_mb: int | None) -> None:
        command = [sys.executable, "-c", f"from {__name__} import serve; serve()", json.dumps([options, memory_mb])]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.to_child = Connection(os.dup(self.process.stdin.fileno()), readable=False)
        self.from_child = Connection(os.dup(self.process.stdout.fileno()), writable=False)
        self.process.stdin.close()
        self.process.stdout.close()
        # at exit, in a pool worker too, or when dropped: the child is reaped, so its CPU time counts
        # in this process's children (getrusage), and no orphan is left
        self._end = Finalize(self, _end_helper, args=(self.process, self.to_child, self.from_child), exitpriority=10)
        try:  # ready: imports done, so their time is not charged to the first page
            self.cpu_seconds = float(self.from_child.recv_bytes().partition(b"\0")[2])
        except EOFError:
            raise CurateError(f"extract: its helper process failed to start (exit code {self.process.wait()}; see stderr)") from None

    def alive(self) -> bool:
        return self.process.poll() is None

    def extract(self, pages: list[str], timeout_s: float) -> tuple[list[tuple[str, str | None]], bool]:
        """Results for `pages` in order, up to and including the first page that ran past `timeout_s`
        or killed the helper; and whether the helper was lost that way."""
        results: list[tuple[str, str | None]] = []
        try:
            for html in pages:  # one at a time: a page's memory and time are its own, and pipes never fill both ways
                self.to_child.send_bytes(html.encode("utf-8", "surrogatepass"))
                if not self.from_child.poll(timeout_s):
                    results.append(("timeout", None))
                    return results, True
                outcome, text, self.cpu_seconds = _decode_result(self.from_child.recv_bytes())
                results.append((outcome, text))
        except (EOFError, OSError):  # the child died: out of memory where Python could not catch it, or a crash
            self._reap()
            results.append(("memory_limit" if self.process.returncode == 1 else "extractor_crashed", None))
            return results, True
        return results, False

    def stop(self) -> None:
        """Kills the child (it ran away or died) and reaps it."""
        if self.process.returncode is None:
            self.process.kill()
            self._reap()
        self._end()

    def _reap(self) -> None:
        """Waits for the child to end; its CPU up to then, as this process's children's clock counts it."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.process.wait()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        self.cpu_seconds = max(self.cpu_seconds, used)


def _end_helper(process: subprocess.Popen, to_child: Connection, from_child: Connection) -> None:
    """Closes the pipe to the child (at its end an idle helper returns) and reaps it."""
    to_child.close()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    from_child.close()


def serve() -> None:
    """The helper's loop (`python -c "...serve()" OPTIONS`): a page in on stdin, its result out on
    the original stdout; anything the extractors print goes to stderr."""
    options, memory_mb = json.loads(sys.argv[1])
    from_parent = Connection(os.dup(0), writable=False)
    to_parent = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)
    extract_page("<p>warm</p>", **options)  # load the extractor before limiting memory and saying ready
    if memory_mb is not None:
        limit = _address_space_bytes() + memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    to_parent.send_bytes(b"ready\0" + _cpu_seconds())
    while True:
        try:
            html = from_parent.recv_bytes().decode("utf-8", "surrogatepass")
        except EOFError:  # the parent is gone
            return
        except MemoryError:  # a page too large to even receive under the limit: the parent counts it
            raise SystemExit(1) from None
        outcome, text = extract_page(html, **options)
        to_parent.send_bytes(outcome.encode() + b"\0" + _cpu_seconds() + b"\0" + (text or "").encode("utf-8", "surrogatepass"))


def _cpu_seconds() -> bytes:
    return repr(time.process_time()).encode()


def _decode_result(message: bytes) -> tuple[str, str | None, float]:
    """`outcome NUL cpu NUL text` -> (outcome, text or None unless ok, the helper's CPU seconds so far).
    Plain bytes both ways, never pickle: the helper reads hostile pages, so the parent must not
    unpickle what it sends."""
    outcome, _, rest = message.partition(b"\0")
    cpu, _, text = rest.partition(b"\0")
    return outcome.decode(), text.decode("utf-8", "surrogatepass") if outcome == b"ok" else None, float(cpu)


def _address_space_bytes() -> int:
    """This process's mapped memory now (Linux); the limit is set that much above it."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
