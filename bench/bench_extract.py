"""read + extract + normalize: curate's pipeline against a bare fastwarc + resiliparse + ftfy loop.

Both read the same shared WARC files, repeated so each side runs a few seconds, in one process
(workers=1); times are CPU seconds, which other jobs on a shared machine disturb far less than wall
time: this process's plus its children's, since `extract` (with `timeout_s`, the default) parses pages
in a helper process, whose start-up (imports, once per run) is counted too. The bare loop does the
same per-page work with the libraries alone (detect the charset, decode, extract the main content,
fix mojibake) in this process and writes nothing; the pipeline also decodes by our charset rules,
sends each page to the helper and back, accounts every document, and writes Parquet, stats and a report.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
import unicodedata
from pathlib import Path

import ftfy
from fastwarc.warc import ArchiveIterator, WarcRecordType
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.encoding import bytes_to_str, detect_encoding

from bench.proc import children_cpu_seconds
from curate.config import parse_config
from curate.document import Document
from curate.driver import execute
from curate.io.base import InputShard
from curate.io.warc import read_warc
from curate.stages.extract import Extract
from curate.stages.base import Stage
from curate.stages.normalize import Normalize
from curate.stats import StageStats

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
WARC_FILES = [
    "cc-warc-resiliparse/CC-MAIN-2020-34-subset.warc.gz",
    "cc-warc-resiliparse/clueweb09-ja-quirk.warc.gz",
    "cc-whirlwind/whirlwind.warc.gz",
    "web-warc-dolma/sample-0000.warc.gz",
    "web-warc-dolma/sample-0001.warc.gz",
]
REPEATS = 4
ROUNDS = 3


def cpu_seconds() -> float:
    """CPU seconds of this process and of all its children: those waited for (`RUSAGE_CHILDREN`) and those
    not (yet), read from /proc, such as the extract helper, which exits once its stage is freed but is
    reaped only later. Only this thread reaps, so no child is counted twice or missed between the two reads."""
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + reaped.ru_utime + reaped.ru_stime + children_cpu_seconds(os.getpid())


def bare_loop(paths: list[str]) -> tuple[int, int]:
    """What a hand-written script does: pages in, normalised main text out, nothing kept."""
    docs = payload_bytes = 0
    for path in paths:
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream, record_types=WarcRecordType.response, parse_http=True, quirks_mode=True):
                payload = record.reader.read()
                html = bytes_to_str(payload, record.http_charset or detect_encoding(payload))
                text = extract_plain_text(html, preserve_formatting=True, main_content=True, comments=False,
                                          post_meta=False, alt_texts=False, noscript=False)
                if not text.isascii():
                    text = unicodedata.normalize("NFC", ftfy.fix_text(text))
                docs += bool(text.strip())
                payload_bytes += len(payload)
    return docs, payload_bytes


SAME_WORK = {"line_model": False}  # the bare loop has no line classifier: compare like with like


def curate_run(paths: list[str], output: str) -> int:
    config = parse_config({"input": {"paths": paths}, "stages": [{"extract": SAME_WORK}, {"normalize": {}}]})
    return execute(config, output).stats.docs_written


def read_documents(paths: list[str]) -> list[Document]:
    docs: list[Document] = []
    for n, path in enumerate(paths):
        docs += [d for d in read_warc(InputShard(n, path, "warc", source=Path(path).name)) if isinstance(d, Document)]
    return docs


class _KeepAll(Stage):
    """Keeps every document: what remains of `Stage.__call__` is its accounting (bytes, histograms)."""

    name = "keep_all"
    signals = Extract.signals

    def process(self, docs: list[Document]) -> list[str | None]:
        return [None] * len(docs)


def curate_parts(paths: list[str]) -> dict[str, float]:
    """The pipeline's work split up: reader, the stages' `process`, and the accounting `Stage.__call__` adds."""
    stages = (Extract(**SAME_WORK), Normalize())
    for stage in stages:
        stage.ensure_setup()  # as a worker does before its first batch (normalize's lossy repair needs it)
    started = time.process_time()
    docs = read_documents(paths)
    parts = {"read (curate.io.warc + charset)": time.process_time() - started}
    keep_all, accounting_s, process_s = _KeepAll(), 0.0, 0.0
    for stage in stages:
        started = time.process_time()
        keep_all(docs, StageStats(keep_all.name))  # the same documents this stage sees in a run
        accounting_s += time.process_time() - started
        started = cpu_seconds()
        stage.process(docs)
        process_s += cpu_seconds() - started
    parts["stages' process (extract + normalize)"] = process_s
    parts["Stage.__call__ accounting"] = accounting_s
    return parts


def main() -> None:
    paths = [str(SHARED / name) for name in WARC_FILES] * REPEATS
    with tempfile.TemporaryDirectory() as scratch:
        bare_docs, payload_bytes = bare_loop(paths)
        curate_docs = curate_run(paths, f"{scratch}/first")
        bare_s = curate_s = bare_wall = curate_wall = float("inf")
        parts: dict[str, float] = {}
        for n in range(ROUNDS):  # interleaved, best of each: the machine is shared
            cpu, wall = time.process_time(), time.perf_counter()
            bare_loop(paths)
            bare_s, bare_wall = min(bare_s, time.process_time() - cpu), min(bare_wall, time.perf_counter() - wall)
            cpu, wall = cpu_seconds(), time.perf_counter()
            curate_run(paths, f"{scratch}/run{n}")
            curate_s, curate_wall = min(curate_s, cpu_seconds() - cpu), min(curate_wall, time.perf_counter() - wall)
            parts = {k: min(v, parts.get(k, v)) for k, v in curate_parts(paths).items()}
    mb = payload_bytes / 1e6
    print(f"input: {len(WARC_FILES)} WARC files x {REPEATS}, {mb:.1f} MB of HTTP payload; CPU seconds, best of {ROUNDS} interleaved rounds")
    print(f"bare fastwarc+resiliparse+ftfy: {bare_docs} docs, {bare_s:.2f}s, {mb / bare_s:.2f} MB/s, {bare_docs / bare_s:.0f} docs/s")
    print(f"curate run (extract+normalize): {curate_docs} docs, {curate_s:.2f}s, {mb / curate_s:.2f} MB/s, {curate_docs / curate_s:.0f} docs/s")
    print(f"overhead: curate/bare = {curate_s / bare_s:.2f}x ({(curate_s / bare_s - 1) * 100:+.0f}%; target under +25%)")
    print(f"wall clock (noisier): bare {bare_wall:.2f}s, curate {curate_wall:.2f}s, ratio {curate_wall / bare_wall:.2f}x")
    print("curate's time, by part:")
    for name, seconds in parts.items():
        print(f"  {name:40s} {seconds:6.2f}s  {seconds / curate_s:5.0%}")
    rest = curate_s - sum(parts.values())
    print(f"  {'rest: run_task, Parquet, stats, report':40s} {rest:6.2f}s  {rest / curate_s:5.0%}")


if __name__ == "__main__":
    main()
