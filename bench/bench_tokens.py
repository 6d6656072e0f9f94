"""Tokenization speed: the tokenize stage (and the shard writer) against raw tiktoken, and rustbpe training.

Baselines are measured in the same run on the same texts with the same thread count:
- `encode_ordinary_batch` alone vs the tokenize stage (ids -> numpy, splits, accounting) vs the stage
  plus the shard writer (target: stage >= 0.85 of raw);
- an 8k-vocabulary rustbpe training on 50 MB of the shared data's distinct text (those documents, then
  the register corpus's web pages), next to one cl100k encoding pass over the same text, so the number
  reads the same on a faster or slower machine.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
import time
from pathlib import Path

from bench.bench_filters import read_texts
from curate.document import Document
from curate.sinks import Batch, SinkTask
from curate.sinks.tokens import TokenShards
from curate.stages.tokenize import Tokenize
from curate.stats import StageStats
from curate.tokens.bpe import train_bpe

SHARED_DATA = Path(os.environ.get("CURATE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
DOC_CHARS = 4000  # long texts are cut into web-page-sized documents at paragraph breaks
TRAIN_BYTES = 50 * 10**6
REPEATS = 3
BATCH = 500


def shared_texts() -> list[str]:
    """Documents from every text source in the shared data: books, Wikipedia, web text, 75 languages."""
    docs: list[str] = []
    books = sorted((SHARED_DATA / "gutenberg-nltk").glob("*.txt"))
    books += [SHARED_DATA / "tinyshakespeare" / "input.txt", SHARED_DATA / "wikitext2-valid-test" / "valid.txt",
              SHARED_DATA / "wikitext2-valid-test" / "test.txt"]
    for path in books:
        docs += _cut(path.read_bytes().decode("utf-8", errors="replace"))
    for path in sorted((SHARED_DATA / "cc-text-jsonl-dolma").glob("*.jsonl*")):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as lines:
            docs += [json.loads(line)["text"] for line in lines if line.strip()]
    for path in sorted((SHARED_DATA / "lingua-langid-testdata" / "language-testdata" / "sentences").glob("*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()
        docs += [" ".join(lines[i : i + 20]) for i in range(0, len(lines), 20)]
    return [d for d in docs if d.strip()]


def _cut(text: str) -> list[str]:
    pieces, current = [], ""
    for paragraph in text.split("\n\n"):
        current = f"{current}\n\n{paragraph}" if current else paragraph
        if len(current) >= DOC_CHARS:
            pieces.append(current)
            current = ""
    return pieces + ([current] if current else [])


def megabytes(texts: list[str]) -> float:
    return sum(len(t.encode("utf-8")) for t in texts) / 1e6


def throughput(texts: list[str], threads: int) -> None:
    """Batch by batch, raw then stage then stage+shards, each batch's best of REPEATS summed: the three
    see the same moments of a busy shared machine, so their ratio holds even when the machine does not."""
    stage = Tokenize(encoding="cl100k_base", threads=threads, val_fraction=0.01)
    stage.ensure_setup()
    enc = stage.encoding
    starts = range(0, len(texts), BATCH)
    batches = [texts[i : i + BATCH] for i in starts]
    doc_batches = [[Document(id=str(i + n), text=t) for n, t in enumerate(texts[i : i + BATCH])] for i in starts]
    stats = StageStats("tokenize")
    totals = {"raw": 0.0, "stage": 0.0, "stage+shards": 0.0}
    with tempfile.TemporaryDirectory() as scratch:
        writer = TokenShards(TokenShards.Options(**stage.sink_requests()["tokens"])).open(SinkTask(Path(scratch), "00000", 0, {}, lambda: ""))

        def staged_and_written(docs: list[Document]) -> None:
            kept, _ = stage(docs, stats)
            writer.add(Batch(kept=kept))

        runs = {
            "raw": lambda b, d: enc.encode_ordinary_batch(b, num_threads=threads),
            "stage": lambda b, d: stage(d, stats),
            "stage+shards": lambda b, d: staged_and_written(d),
        }
        for batch, docs in zip(batches, doc_batches):
            best = dict.fromkeys(runs, float("inf"))
            for _ in range(REPEATS):
                for name, run in runs.items():
                    started = time.perf_counter()
                    run(batch, docs)
                    best[name] = min(best[name], time.perf_counter() - started)
            for name in runs:
                totals[name] += best[name]
        started = time.perf_counter()
        writer.close()
        totals["stage+shards"] += time.perf_counter() - started
    mb = megabytes(texts)
    print(f"tokenize throughput, cl100k_base, {len(texts):,} documents, {mb:.1f} MB, {threads} threads, "
          f"batches of {BATCH}, each batch's best of {REPEATS}")
    for name, seconds in totals.items():
        print(f"  {name:>13}: {mb / seconds:6.2f} MB/s  ratio vs raw encode_ordinary_batch {totals['raw'] / seconds:.2f}")


def training(texts: list[str], threads: int) -> None:
    distinct = megabytes(texts)
    corpus, size = [], 0
    while size < TRAIN_BYTES:  # the texts again and again, up to 50 MB
        text = texts[len(corpus) % len(texts)]
        corpus.append(text)
        size += len(text.encode("utf-8"))
    mb, rounds = size / 1e6, size / (distinct * 1e6)
    started = time.perf_counter()
    ranks = train_bpe(corpus, vocab_size=8192)
    train_seconds = time.perf_counter() - started
    stage = Tokenize(encoding="cl100k_base", threads=threads)
    stage.ensure_setup()
    started = time.perf_counter()
    stage.encoding.encode_ordinary_batch(corpus, num_threads=threads)
    encode_seconds = time.perf_counter() - started
    note = f" ({distinct:.1f} MB of distinct shared text, repeated {rounds:.1f}x)" if rounds > 1 else " of distinct text"
    print(f"rustbpe training, 8192 ids, {mb:.1f} MB{note}")
    print(f"  trained {len(ranks) + 1} ids in {train_seconds:.1f}s ({mb / train_seconds:.2f} MB/s); "
          f"one cl100k encode pass over the same text: {encode_seconds:.1f}s; ratio training/encode {train_seconds / encode_seconds:.1f}")


def main() -> None:
    if not SHARED_DATA.is_dir():
        raise FileNotFoundError(f"shared data not found at {SHARED_DATA}")
    texts = shared_texts()
    threads = os.cpu_count() or 1
    for batch_threads in sorted({1, threads}):  # the stage's default, and all cores
        throughput(texts[::2], batch_threads)  # every other document: the same mix of sources, half the time
    training(texts + read_texts("web-text-turku-register"), threads)


if __name__ == "__main__":
    main()
