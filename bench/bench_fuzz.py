"""Fuzz the input paths with hypothesis for a fixed time each: WARC reading, JSONL reading, HTML extraction.

Inputs are real shared data mutated by hypothesis (flipped, cut, inserted bytes; lying headers;
hostile JSON values; generated markup). A target "crashes" when it raises, or when what it yields
breaks the readers' promises: every item a Document or a counted Skipped, text that Arrow can
store (valid UTF-8, no NUL), and for JSONL one item per non-blank line. The baseline is the same
hypothesis loop that only builds the inputs, so `x input-building` says what the target itself costs.
`CURATE_FUZZ_SECONDS` sets the time per target (default 20).
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
import time
import traceback
import zlib
from pathlib import Path
from typing import Callable

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from curate.io.base import InputOptions
from curate.document import Document
from curate.io.charset import decode_html
from curate.io.base import InputShard, Skipped
from curate.io.jsonl import read_jsonl
from curate.io.warc import read_warc
from curate.stages.extract import Extract

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SECONDS = float(os.environ.get("CURATE_FUZZ_SECONDS", "20"))
CHUNK_EXAMPLES = 50  # examples per hypothesis run; runs repeat with new seeds until the time is spent


def real_warc_records(count: int = 6) -> bytes:
    """The first gzip members (records) of a real wget WARC, uncompressed."""
    data = (SHARED / "web-warc-dolma" / "sample-0000.warc.gz").read_bytes()
    out, position = [], 0
    for _ in range(count):
        member = zlib.decompressobj(31)
        out.append(member.decompress(data[position:]))
        position = len(data) - len(member.unused_data)
    return b"".join(out)


def mutated(base: bytes) -> st.SearchStrategy[bytes]:
    """`base` with a few byte edits: overwrite, insert or cut at drawn positions, then maybe truncate."""
    edit = st.tuples(st.sampled_from(["put", "insert", "cut"]), st.integers(0, max(0, len(base) - 1)), st.binary(min_size=1, max_size=40))

    def apply(args: tuple[list[tuple[str, int, bytes]], int | None]) -> bytes:
        edits, truncate = args
        data = bytearray(base)
        for kind, at, blob in edits:
            if kind == "put":
                data[at : at + len(blob)] = blob
            elif kind == "insert":
                data[at:at] = blob
            else:
                del data[at : at + len(blob)]
        return bytes(data[:truncate] if truncate is not None else data)

    return st.tuples(st.lists(edit, max_size=6), st.none() | st.integers(0, len(base))).map(apply)


HOSTILE_HEADERS = st.sampled_from([
    b"Content-Length: 99999999\r\n", b"Content-Length: -5\r\n", b"Content-Length: 0\r\n", b"WARC-Type: revisit\r\n",
    b"Content-Type: text/html; charset=x-unknown\r\n", b"Content-Encoding: gzip\r\n", b"Transfer-Encoding: chunked\r\n",
    b"WARC/1.0\r\n", b"\r\n\r\n", b"\x00\x00", b"Content-Type: text/html; charset=utf-16\r\n",
])


def warc_inputs() -> st.SearchStrategy[bytes]:
    base = real_warc_records()
    with_headers = st.tuples(mutated(base), st.lists(st.tuples(st.integers(0, len(base)), HOSTILE_HEADERS), max_size=4))

    def insert(args: tuple[bytes, list[tuple[int, bytes]]]) -> bytes:
        data, inserts = args
        for at, header in sorted(inserts, reverse=True):
            data = data[:at] + header + data[at:]
        return data

    return with_headers.map(insert)


def check_items(items: list, source: str) -> None:
    for item in items:
        if isinstance(item, Skipped):
            assert isinstance(item.reason, str) and ":" in item.reason, item
            continue
        assert isinstance(item, Document), f"{source}: yielded {type(item).__name__}"
        for field in (item.text, item.html or ""):
            field.encode("utf-8")  # Arrow stores only valid UTF-8: no lone surrogates
            assert "\x00" not in field, f"{source}: NUL in a document"


def fuzz_warc(data: bytes, folder: Path, compress: bool) -> None:
    path = folder / ("f.warc.gz" if compress else "f.warc")
    path.write_bytes(gzip.compress(data) if compress else data)
    check_items(list(read_warc(InputShard(0, str(path), "warc", source=path.name))), "warc")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=12,
)
JSONL_LINES = st.one_of(
    st.fixed_dictionaries({"id": JSON_VALUES, "text": JSON_VALUES}).map(lambda d: json.dumps(d).encode()),
    st.fixed_dictionaries({"text": st.text()}).map(lambda d: json.dumps(d, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=60).map(lambda b: b.replace(b"\n", b" ")),
)


def fuzz_jsonl(lines: list[bytes], folder: Path, cut: int | None) -> None:
    data = b"\n".join(lines) + b"\n"
    path = folder / ("f.jsonl" if cut is None else "f.jsonl.gz")
    path.write_bytes(data if cut is None else gzip.compress(data)[:cut])
    items = list(read_jsonl(InputShard(0, str(path), "jsonl", source=path.name), InputOptions(paths=[])))
    check_items(items, "jsonl")
    if cut is None:  # conservation: one document or one counted skip per non-blank line
        blank_first = lines[0].removeprefix(b"\xef\xbb\xbf") if lines else b""
        expected = sum(1 for i, line in enumerate(lines) if (blank_first if i == 0 else line).strip())
        assert len(items) == expected, f"jsonl: {len(items)} items for {expected} lines"


TAGS = st.sampled_from(["div", "p", "span", "table", "tr", "td", "a", "script", "style", "article", "li", "ul", "pre", "br", "!--", "svg"])
HTML = st.recursive(
    st.text(max_size=30).map(lambda t: t.replace("<", "&lt;")),
    lambda children: st.tuples(TAGS, st.text(max_size=10), st.lists(children, max_size=4)).map(
        lambda t: f"<{t[0]} x=\"{t[1]}\">{''.join(t[2])}</{t[0]}>"
    ),
    max_leaves=40,
)
HTML_PAGES = st.one_of(
    HTML.map(lambda body: f"<html><head><title>t</title></head><body>{body}</body></html>"),
    st.binary(max_size=400).map(lambda b: decode_html(b).text),
    st.text(max_size=200),
)
EXTRACT_VERDICTS = {None, "no_text", "extraction_failed"}


def fuzz_extract(stage: Extract, pages: list[str]) -> None:
    docs = [Document(id=str(i), text="", html=html) for i, html in enumerate(pages)]
    verdicts = stage.process(docs)
    assert len(verdicts) == len(docs) and set(verdicts) <= EXTRACT_VERDICTS, verdicts
    check_items([d for d, v in zip(docs, verdicts) if v is None], "extract")


def run_for(seconds: float, strategy: st.SearchStrategy, target: Callable[..., None]) -> tuple[int, float, list[str]]:
    """Run `target` on hypothesis examples of `strategy` for `seconds`: (executions, seconds, crashes)."""
    executions, crashes = 0, []

    @settings(max_examples=CHUNK_EXAMPLES, deadline=None, database=None, phases=[Phase.generate, Phase.shrink],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def one(args) -> None:
        nonlocal executions
        executions += 1
        target(*args)

    started = time.perf_counter()
    chunk = 0
    while time.perf_counter() - started < seconds:
        try:
            seed(chunk)(one)()
        except Exception:  # noqa: BLE001 - a crash is what we are looking for; keep its shrunk example
            crashes.append(traceback.format_exc(limit=3)[-1500:])
        chunk += 1
    return executions, time.perf_counter() - started, crashes


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        isolated, in_process = Extract(), Extract(timeout_s=None)
        targets = {
            "warc": (st.tuples(warc_inputs(), st.booleans()), lambda data, compress: fuzz_warc(data, folder, compress)),
            "jsonl": (st.tuples(st.lists(JSONL_LINES, max_size=30), st.none() | st.integers(0, 400)), lambda lines, cut: fuzz_jsonl(lines, folder, cut)),
            "extract (helper process)": (st.tuples(st.lists(HTML_PAGES, min_size=1, max_size=8)), lambda pages: fuzz_extract(isolated, pages)),
            "extract (in process)": (st.tuples(st.lists(HTML_PAGES, min_size=1, max_size=8)), lambda pages: fuzz_extract(in_process, pages)),
        }
        print(f"{SECONDS:.0f} s per target; baseline: the same loop building the inputs only")
        total_crashes = 0
        for name, (strategy, target) in targets.items():
            base_runs, base_seconds, _ = run_for(SECONDS / 4, strategy, lambda *args: None)
            runs, seconds, crashes = run_for(SECONDS, strategy, target)
            per_exec, per_base = seconds / max(runs, 1), base_seconds / max(base_runs, 1)
            print(f"{name:26s} {runs:7,d} executions  {runs / seconds:8,.0f}/s  "
                  f"{per_exec / per_base:5.1f}x input-building  crashes: {len(crashes)}", flush=True)
            for crash in crashes[:3]:
                print("  " + crash.replace("\n", "\n  "))
            total_crashes += len(crashes)
        print(f"total crashes: {total_crashes}")
