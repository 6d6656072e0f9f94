"""Worker memory from 10k to 100k documents of real text: does a worker's peak RSS stay flat?

The documents are every distinct text of the shared corpora, none repeated (`pool()`): the register pages,
html-cleaning-gold's human-cleaned texts, line-quality-turku's pages, the Common Crawl JSONL, Reuters,
Gutenberg, Shakespeare and WikiText cut into about 2 KB at paragraph breaks, the Leipzig sentences 20 to a
document per language, the toxicity-train and Davidson comments 4 to a document (one thread of one set) and
the plagiarism answers: about 120k documents from twelve corpora, the Leipzig sentences in 75 languages. They are shuffled once (seeded) and the first
10k, 30k and 100k are written as JSONL files of 6,250 documents (about 10.6 MB, one task each), so the
sizes share one mix of sources and one task size: what grows is the run's document count, not the task a
worker holds (a task's memory grows with its size up to `shard_bytes`, 16 MiB: a larger file is read as
several tasks). `CURATE_BENCH_MEMORY_DOCS_PER_FILE=0` writes the earlier layout, 8 files at every size,
where the 100k run's tasks hold five times the 10k run's.

Each size is one `curate run` of pipelines/web.yaml's text stages (all but `extract`: exact and MinHash
dedup included) with `--workers 2`, polled through /proc (`bench.proc.PeakMemory`) for the peak RSS
(VmHWM) of the run's own process and of each pool worker, and their CPU. The whole run's CPU is
`getrusage(RUSAGE_CHILDREN)` (every process, waited for). Inputs and outputs go to a temporary folder
(`CURATE_BENCH_WORK` to choose it), never into the repository; `CURATE_BENCH_MEMORY_SIZES=10000,30000`
picks the sizes.

Then, in a fresh process, what a worker's memory is made of: the RSS after importing curate, after each
per-document stage's `setup` (models, lists), and after that stage's `process` on the first 5,000 documents
in batches of 500 (what lazily loaded models and caches add). web.yaml's language stage (`short_text_chars: 0`)
loads every lingua model it can ask at setup, so it does not grow with the languages its input holds (its
`process` line shows what it still adds); the last line loads every other lingua model on top (all languages,
all n-gram orders): the most the stage could still grow with `short_text_chars` above 0.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

from bench.bench_filters import read_texts
from bench.bench_pipeline import web_stages
from bench.bench_scale import DATA, REPO
from bench.proc import PeakMemory, children_cpu, rss_mb

SIZES = (10_000, 30_000, 100_000)
DOCS_PER_FILE = 6_250  # one task's documents (about 10.6 MB of text), the same at every size
OLD_FILES = 8  # CURATE_BENCH_MEMORY_DOCS_PER_FILE=0: the earlier layout, 8 files at every size (tasks grow with it)
WORKERS = 2
DOC_CHARS = 2000  # books and WikiText are cut into web-page-sized documents at paragraph breaks
SENTENCES_PER_DOC = 20
COMMENTS_PER_DOC = 4
SEED = 15
ATTRIBUTION_DOCS = 5_000
BATCH = 500
CLEANEVAL_TAGS = re.compile(r"<[phl]>|</[phl]>", re.IGNORECASE)


def pool() -> dict[str, list[str]]:
    """Every distinct document of the shared corpora, by source."""
    sources: dict[str, list[str]] = {
        "register": read_texts("web-text-turku-register"),
        "html-cleaning-gold": [CLEANEVAL_TAGS.sub("", r["gold_text"]).strip()
                               for r in _jsonl(DATA / "html-cleaning-gold" / "docs.jsonl.gz") if r.get("gold_text")],
        "line-quality": read_texts("line-quality-turku"),
        "cc-text": read_texts("cc-text-jsonl-dolma"),
        "reuters": read_texts("news-reuters21578"),
        "plagiarism": [r["text"] for r in _jsonl(DATA / "neardup-plagiarism-clough" / "plagiarism-pairs.jsonl")],
    }
    books = sorted((DATA / "gutenberg-nltk").glob("*.txt")) + [DATA / "tinyshakespeare" / "input.txt"]
    books += sorted((DATA / "wikitext2-valid-test").glob("*.txt"))
    sources["books+wikitext"] = [doc for book in books for doc in _cut(book.read_bytes().decode("utf-8", "replace"))]
    sentences = sorted((DATA / "lingua-langid-testdata" / "language-testdata" / "sentences").glob("*.txt"))
    sources["lingua sentences"] = [doc for path in sentences for doc in _grouped(path.read_text("utf-8").splitlines(), SENTENCES_PER_DOC, " ")]
    comments = [[r["text"] for r in _jsonl(path)] for path in sorted((DATA / "toxicity-train").glob("*/data.jsonl.gz"))]
    comments.append(_davidson_tweets())
    sources["comments"] = [doc for thread in comments for doc in _grouped(thread, COMMENTS_PER_DOC, "\n")]
    seen: set[str] = set()
    return {name: [t for t in texts if t.strip() and not (t in seen or seen.add(t))] for name, texts in sources.items()}


def _jsonl(path: Path) -> Iterator[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        yield from (json.loads(line) for line in lines if line.strip())


def _cut(text: str) -> list[str]:
    pieces, current = [], ""
    for paragraph in re.split(r"\n\s*\n", text):
        current = f"{current}\n\n{paragraph}" if current else paragraph
        if len(current) >= DOC_CHARS:
            pieces.append(current)
            current = ""
    return pieces + ([current] if current else [])


def _grouped(items: list[str], size: int, sep: str) -> list[str]:
    return [sep.join(items[i : i + size]) for i in range(0, len(items), size)]


def _davidson_tweets() -> list[str]:
    import csv

    with open(DATA / "hate-speech-davidson" / "labeled_data.csv", encoding="utf-8", newline="") as rows:
        return [row["tweet"] for row in csv.DictReader(rows)]


def write_corpus(work: Path, docs: list[tuple[str, str]], count: int, docs_per_file: int | None = DOCS_PER_FILE) -> tuple[Path, int]:
    """The first `count` of the shuffled documents in JSONL files of `docs_per_file` documents (None: in
    `OLD_FILES` files, round robin); returns the folder and text bytes."""
    folder = work / f"corpus-{count}"
    folder.mkdir(parents=True, exist_ok=True)
    n_files = -(-count // docs_per_file) if docs_per_file else OLD_FILES
    files = [open(folder / f"part-{i:03d}.jsonl", "w", encoding="utf-8") for i in range(n_files)]
    n_bytes = 0
    for i, (source, text) in enumerate(docs[:count]):
        file = files[i // docs_per_file if docs_per_file else i % OLD_FILES]
        file.write(json.dumps({"id": f"doc-{i}", "source": source, "text": text}, ensure_ascii=False) + "\n")
        n_bytes += len(text.encode("utf-8"))
    for file in files:
        file.close()
    return folder, n_bytes


def run(corpus: Path, output: Path, pipeline: Path) -> dict:
    command = [sys.executable, "-m", "curate", "run", str(pipeline), "--input", str(corpus), "--output", str(output),
               "--workers", str(WORKERS), "--overwrite", "--quiet"]
    started, cpu_started = time.perf_counter(), children_cpu()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    memory = PeakMemory(process.pid)
    _, stderr = process.communicate()
    memory.stop()
    if process.returncode != 0:
        raise RuntimeError(f"curate run failed: {stderr.strip()[-800:]}")
    stats = json.loads((output / "stats.json").read_text())
    return {
        "wall": time.perf_counter() - started,
        "cpu": children_cpu() - cpu_started,
        "parent": (memory.driver_mb(), memory.cpu_seconds.get(process.pid, 0.0)),
        "workers": memory.workers("local"),
        "stats": stats,
    }


def stage_memory(corpus: Path) -> None:
    """Prints RSS growth (MB) at each per-document stage's setup and first batches; run in a fresh process."""
    from curate.config import parse_config
    from curate.document import Document
    from curate.pipeline import Pipeline
    from curate.stats import StageStats

    imported = rss_mb()
    pipeline = Pipeline(parse_config({"input": {"paths": [str(corpus)]}, "stages": web_stages()}))
    texts = [json.loads(line)["text"] for path in sorted(corpus.glob("*.jsonl")) for line in open(path, encoding="utf-8")]
    docs = [Document(id=str(i), text=text) for i, text in enumerate(texts[:ATTRIBUTION_DOCS])]
    print(f"\nwhat a worker's memory is made of (fresh process, RSS, first {len(docs):,} documents of the 10k set): "
          f"python + curate imported {imported:.0f} MB")
    print(f"{'stage':20} {'setup +MB':>9} {'process +MB':>11}")
    for stage in pipeline.stages:
        if stage.is_global:
            continue
        before = rss_mb()
        stage.ensure_setup()
        set_up = rss_mb()
        docs = [doc for i in range(0, len(docs), BATCH) for doc in stage(docs[i : i + BATCH], StageStats(stage.key))[0]]
        print(f"{stage.key:20} {set_up - before:9.0f} {rss_mb() - set_up:11.0f}")
    print(f"{'all':20} {rss_mb() - imported:21.0f}  (RSS now {rss_mb():.0f} MB)")
    from lingua import LanguageDetectorBuilder

    before = rss_mb()
    LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models().build()
    print(f"then every lingua model (all languages, all n-gram orders), preloaded on top: +{rss_mb() - before:.0f} MB "
          "(the most `language` could still grow with short_text_chars above 0; at 0, web.yaml's setting, it asks only "
          "the models setup preloaded: 'process +MB' above)")


def main(argv: list[str] | None = None) -> None:
    if argv and argv[0] == "--stage-memory":
        stage_memory(Path(argv[1]))
        return
    sizes = [int(n) for n in os.environ.get("CURATE_BENCH_MEMORY_SIZES", ",".join(map(str, SIZES))).split(",")]
    docs_per_file = int(os.environ.get("CURATE_BENCH_MEMORY_DOCS_PER_FILE", DOCS_PER_FILE)) or None
    by_source = pool()
    docs = [(name, text) for name, texts in by_source.items() for text in texts]
    random.Random(SEED).shuffle(docs)
    if len(docs) < max(sizes):
        raise RuntimeError(f"the shared corpora hold {len(docs):,} distinct documents, fewer than {max(sizes):,}")
    print(f"pool: {len(docs):,} distinct documents: " + ", ".join(f"{name} {len(texts):,}" for name, texts in by_source.items()))
    print(f"files of {docs_per_file:,} documents (one task each)" if docs_per_file else f"{OLD_FILES} files at every size")
    print(f"{WORKERS} workers; stages: " + ", ".join(next(iter(s)) for s in web_stages()) + f"; load {os.getloadavg()[0]:.1f}")
    results = {}
    with tempfile.TemporaryDirectory(prefix="curate-bench-memory-", dir=os.environ.get("CURATE_BENCH_WORK")) as scratch:
        work = Path(scratch)
        pipeline = work / "web-text.yaml"
        pipeline.write_text(json.dumps({"input": {"format": "jsonl", "paths": ["unused"]}, "stages": web_stages()}))
        for count in sizes:
            corpus, n_bytes = write_corpus(work, docs, count, docs_per_file)
            r = results[count] = run(corpus, work / f"out-{count}", pipeline)
            (parent_mb, parent_cpu), workers = r["parent"], r["workers"]
            print(f"{count:>7,} docs, {n_bytes / 1e6:5.1f} MB, {r['stats']['docs_written']:,} kept: wall {r['wall']:5.1f} s, "
                  f"CPU {r['cpu']:5.1f} s ({n_bytes / 1e6 / r['cpu']:.2f} MB/s per core); peak RSS parent {parent_mb:4.0f} MB "
                  f"(CPU {parent_cpu:4.1f} s), workers " + ", ".join(f"{mb:4.0f} MB (CPU {cpu:4.1f} s)" for mb, cpu in workers)
                  + f"; load {os.getloadavg()[0]:.1f}", flush=True)
            shutil.rmtree(work / f"out-{count}")
        attribution = subprocess.run([sys.executable, "-m", "bench.bench_memory", "--stage-memory", str(work / f"corpus-{sizes[0]}")],
                                     cwd=REPO, capture_output=True, text=True)
        print(attribution.stdout.rstrip() or f"stage memory failed: {attribution.stderr.strip()[-800:]}")
    print(f"\n{'stage CPU s':20} " + " ".join(f"{n:>8,}" for n in sizes) + "  (all workers)")
    for i, stage in enumerate(results[sizes[0]]["stats"]["stages"]):
        print(f"{stage['name']:20} " + " ".join(f"{results[n]['stats']['stages'][i]['cpu_seconds']:8.1f}" for n in sizes))
    small, large = sizes[0], sizes[-1]
    if large != small:
        a, b = results[small], results[large]
        print(f"{large // small}x documents ({large:,} / {small:,}): largest worker peak RSS {b['workers'][0][0] / a['workers'][0][0]:.2f}x, "
              f"parent {b['parent'][0] / a['parent'][0]:.2f}x, CPU {b['cpu'] / a['cpu']:.2f}x, wall {b['wall'] / a['wall']:.2f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
