"""Scale: the full pipeline on 10k and 100k documents, local executor against Ray, same 2 CPUs.

The corpus is built from real text (Common Crawl documents, Gutenberg books, WikiText) cut into
paragraphs and recombined into ~1 KB documents, with 4% exact and 4% near duplicates planted,
written as 8 JSONL files under bench/.work/. Each run is `curate run` in a subprocess (normalize,
language, gopher_quality, exact_dedup, minhash_dedup, tokenize), polled through /proc for the peak
RSS (VmHWM) of the driver and of its largest worker: pool processes for the local executor, `ray::`
processes (children of the raylet) for Ray. Time should grow about linearly with documents; a
worker's memory should not, since a task streams its shard in batches.

CURATE_BENCH_SCALE_MAX caps the largest corpus (e.g. 10000 for a quick run).
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

from bench.proc import PeakMemory

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CURATE_SHARED_DATA", REPO.parent / "shared" / "data"))
WORK = REPO / "bench" / ".work" / "scale"
SIZES = (10_000, 100_000)
FILES = 8
WORKERS = 2
STAGES = [
    {"normalize": {}},
    {"language": {"keep": ["en"]}},
    {"gopher_quality": {}},
    {"exact_dedup": {}},
    {"minhash_dedup": {}},
    {"tokenize": {"threads": 1}},
]


def paragraphs() -> list[str]:
    """Real English paragraphs of 20+ words."""
    found = []
    books = sorted((DATA / "gutenberg-nltk").glob("*.txt")) + [DATA / "wikitext2-valid-test" / "valid.txt"]
    for book in books:
        for block in re.split(r"\n\s*\n", book.read_text(encoding="latin-1")):
            block = " ".join(block.split())
            if len(block.split()) >= 20 and not block.startswith("="):
                found.append(block)
    with gzip.open(DATA / "cc-text-jsonl-dolma" / "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz", "rt") as stream:
        for line in stream:
            found += [p.strip() for p in json.loads(line)["text"].split("\n") if len(p.split()) >= 20]
    return found


def write_corpus(count: int, paras: list[str]) -> Path:
    """`count` documents of 2-4 random paragraphs; every 25th an exact copy, every 25th (offset) a near copy."""
    folder = WORK / f"corpus-{count}"
    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(count)
    outs = [open(folder / f"part-{i:02d}.jsonl", "w") for i in range(FILES)]
    texts: list[str] = []
    for n in range(count):
        if n % 25 == 24 and texts:
            text = rng.choice(texts)  # exact duplicate, usually in another file
        elif n % 25 == 12 and texts:
            words = rng.choice(texts).split(" ")
            for i in rng.sample(range(len(words)), max(1, len(words) // 50)):
                words[i] = rng.choice(words)
            text = " ".join(words)  # near duplicate: 2% of words swapped
        else:
            text = "\n".join(rng.sample(paras, rng.randint(2, 4)))
            texts.append(text)
        outs[n % FILES].write(json.dumps({"id": f"doc-{n}", "text": text}) + "\n")
    for out in outs:
        out.close()
    (folder / "done").write_text("")
    return folder


def run(corpus: Path, executor: str) -> dict:
    out = WORK / f"out-{corpus.name}-{executor}"
    pipeline = WORK / "pipeline.yaml"
    pipeline.write_text(json.dumps({"input": {"paths": [str(corpus)]}, "stages": STAGES}))  # JSON is YAML
    command = [sys.executable, "-m", "curate", "run", str(pipeline), "--output", str(out), "--overwrite", "--quiet",
               "--workers", str(WORKERS), "--executor", executor]
    env = os.environ | {"RAY_ADDRESS": ""}  # always a fresh local Ray with WORKERS CPUs
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    memory = PeakMemory(process.pid)
    _, stderr = process.communicate()
    seconds = time.perf_counter() - started
    memory.stop()
    if process.returncode != 0:
        raise RuntimeError(f"curate run --executor {executor} failed: {stderr.strip().splitlines()[-1:]}")
    stats = json.loads((out / "stats.json").read_text())
    return {
        "seconds": seconds,
        "docs": stats["docs_read"],
        "written": stats["docs_written"],
        "driver_mb": memory.driver_mb(),
        "worker_mb": memory.largest_worker_mb(executor),
    }


def main() -> None:
    cap = int(os.environ.get("CURATE_BENCH_SCALE_MAX", SIZES[-1]))
    sizes = [n for n in SIZES if n <= cap] or [cap]
    paras = paragraphs()
    print(f"corpus: {len(paras)} real paragraphs recombined; {FILES} JSONL files; {WORKERS} workers / CPUs; stages: "
          + ", ".join(next(iter(s)) for s in STAGES))
    results: dict[tuple[str, int], dict] = {}
    for count in sizes:
        corpus = write_corpus(count, paras)
        for executor in ("local", "ray"):
            r = results[executor, count] = run(corpus, executor)
            print(f"{executor:5s} {count:>7,} docs: {r['seconds']:7.1f} s  {r['docs'] / r['seconds']:7.0f} docs/s  "
                  f"kept {r['written']:,}  peak RSS driver {r['driver_mb']:6.0f} MB, largest worker {r['worker_mb']:6.0f} MB",
                  flush=True)
    small, large = sizes[0], sizes[-1]
    for executor in ("local", "ray"):
        a, b = results[executor, small], results[executor, large]
        if large != small:
            print(f"{executor}: {large // small}x documents -> {b['seconds'] / a['seconds']:.1f}x time, "
                  f"{b['worker_mb'] / a['worker_mb']:.2f}x largest-worker memory, {b['driver_mb'] / a['driver_mb']:.2f}x driver memory")
    for count in sizes:
        ratio = results["ray", count]["seconds"] / results["local", count]["seconds"]
        print(f"ray / local time at {count:,} docs: {ratio:.2f}x (Ray's start-up included)")


if __name__ == "__main__":
    main()
