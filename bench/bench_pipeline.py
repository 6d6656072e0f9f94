"""The whole text pipeline on real multilingual text: curate against the bare library calls and datatrove.

Corpus: every page of ../shared/data/web-text-turku-register (16,921 pages, 88.8 MB, 19+ languages), none
repeated, in 8 JSONL files; `--limit N` (or `CURATE_BENCH_DOCS`) takes N pages evenly spaced. Everything
is measured in one run as total CPU (user + system from `getrusage` of the child processes, workers
included), so a busy machine changes the wall times but not the ratios. Each run has one worker process
(`--workers`; datatrove's pool processes escape `getrusage`, so its CPU counts only at 1):

- curate: `curate run` of pipelines/web.yaml's text stages (all but `extract`). Stages added
  since (decontaminate, quality_classifier) run on their own after normalize, on every page, and are
  reported apart.
- bare: the calls any such pipeline makes, pinned: `ftfy.fix_text` on every text, lid.176 `predict` on
  each fixed text's first 10,000 characters with newlines replaced by spaces, tiktoken cl100k
  `encode_ordinary_batch` on every fixed text in batches of 500, one thread. One process; its
  start-up (imports, model loading) is counted in the total, as curate's is.
- datatrove: its closest pipeline (ftfy, lid.176 at 0.65 keeping every language, Gopher repetition and
  quality, C4 quality without the terminal-punctuation rule, FineWeb quality, PII, Parquet), once with
  a whitespace word tokenizer and once with its default (spaCy). It has no URL filter for pages without
  URLs, no toxicity stage, and its dedup and tokenizer are separate pipelines: curate does more work.

`--html`: the HTML pool instead, every raw page of ../shared/data/html-cleaning-gold (2,987 pages, news,
blogs and portals in several languages) in an `html` field, and the whole of web.yaml, `extract` first.
The bare calls extract each page with resiliparse (`extract_plain_text`, main content) before the pinned
three; datatrove extracts with its default extractor (trafilatura, favouring precision). MB/s counts HTML.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import time

import yaml

from bench.bench_filters import (
    REPO,
    SHARED_DATA,
    DatatroveUnavailable,
    datatrove_python,
    run_curate,
    run_datatrove,
    write_corpus,
)
from bench.proc import children_cpu

WORK = REPO / "bench" / ".work" / "pipeline"
DATASET = "web-text-turku-register"
HTML_DATASET = "html-cleaning-gold"
BARE_BATCH = 500
LID_CHARS = 10_000


def web_stages(extract: bool = False) -> list[dict]:
    """pipelines/web.yaml's stages, without `extract` unless asked."""
    stages = yaml.safe_load((REPO / "pipelines" / "web.yaml").read_text())["stages"]
    return [stage for stage in stages if extract or next(iter(stage)) != "extract"]


def html_pages(dataset: str) -> list[str]:
    """Every raw page of a shared data set with an `html` field (the HTML pool)."""
    with gzip.open(SHARED_DATA / dataset / "docs.jsonl.gz", "rt", encoding="utf-8") as lines:
        return [json.loads(line)["html"] for line in lines]


def added_stages() -> list[dict]:
    """Stages that are not in web.yaml, after normalize as in pipelines/ablation.yaml."""
    eval_texts = REPO.parent / "shared" / "data" / "wikitext2-valid-test" / "test.txt"
    return [{"normalize": {}}, {"decontaminate": {"against": str(eval_texts)}}, {"quality_classifier": {}}]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.bench_pipeline", description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=int(os.environ.get("CURATE_BENCH_DOCS", 0)) or None)
    parser.add_argument("--workers", type=int, default=1, help="worker processes of each run (datatrove's CPU counts only at 1)")
    parser.add_argument("--no-datatrove", action="store_true", help="skip the datatrove runs")
    parser.add_argument("--datatrove-tokenizers", default="whitespace,spacy", help="datatrove's word tokenizers to run, comma-separated")
    parser.add_argument("--html", action="store_true", help=f"the raw pages of {HTML_DATASET}, web.yaml with extract")
    parser.add_argument("--bare", metavar="CORPUS", help=argparse.SUPPRESS)  # the bare calls' own process
    args = parser.parse_args(argv if argv is not None else [])
    if args.bare:
        print(json.dumps(bare_calls(args.bare, args.html)))
        return

    if args.html:
        corpus, n_docs, n_bytes = write_corpus(WORK, [HTML_DATASET], args.limit, "html", html_pages)
        print(f"corpus: {n_docs} raw pages of {HTML_DATASET}, {n_bytes / 1e6:.1f} MB of HTML, not repeated; load: {os.getloadavg()[0]:.1f}")
    else:
        corpus, n_docs, n_bytes = write_corpus(WORK, [DATASET], args.limit)
        print(f"corpus: {n_docs} pages of {DATASET}, {n_bytes / 1e6:.1f} MB of text, not repeated; load: {os.getloadavg()[0]:.1f}")
    mb = n_bytes / 1e6
    out = WORK / f"out-{corpus.name}"

    totals: dict[str, float] = {}
    html_field = "html" if args.html else None
    _, stats, totals["curate"] = run_curate(web_stages(args.html), corpus, out / "curate", args.workers, html_field)
    print_stages(f"curate run, web.yaml {'stages' if args.html else 'text stages'}", stats, totals["curate"])
    if not args.html:
        _, added, added_cpu = run_curate(added_stages(), corpus, out / "curate-added", args.workers)
        print_stages("stages added since, after normalize, on every page (apart)", added, added_cpu)

    started = children_cpu()
    result = subprocess.run(
        [sys.executable, "-m", "bench.bench_pipeline", "--bare", str(corpus), *(["--html"] if args.html else [])],
        cwd=REPO, capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the bare calls failed: {result.stderr.strip()[-800:]}")
    totals["bare"] = children_cpu() - started
    calls = json.loads(result.stdout.strip().splitlines()[-1])
    print("\nbare calls, one process, CPU s: " + ", ".join(f"{name} {s:.1f}" for name, s in calls.items()))

    if not args.no_datatrove:
        try:
            python = datatrove_python()
            for tokenizer in args.datatrove_tokenizers.split(","):
                steps = "web-html" if args.html else "web"
                run = run_datatrove(python, corpus, out / f"datatrove-{tokenizer}", tokenizer, steps, args.workers)
                totals[run.label] = run.cpu
                print(f"\n{run.label}: {run.cpu:.1f} CPU s, kept {run.kept}; per step wall s (its own timing): "
                      + ", ".join(f"{name} {seconds:.1f}" for name, _, seconds in run.steps))
        except DatatroveUnavailable as exc:
            print(f"\ndatatrove skipped: {exc}")

    print(f"\n{'whole run (total CPU)':24} {'cpu s':>8} {'MB/s/core':>10} {'curate cpu / this':>18}")
    for label, cpu in totals.items():
        print(f"{label:24} {cpu:8.1f} {mb / cpu:10.2f} {totals['curate'] / cpu:18.2f}")
    print("(curate / bare: the goal is <= 0.55; curate / datatrove: the goal is <= 0.25)")


def print_stages(title: str, stats: dict, cpu: float) -> None:
    print(f"\n{title}: {cpu:.1f} CPU s in all processes, {stats['docs_written']} docs written")
    print(f"{'stage':20} {'docs in':>8} {'docs out':>8} {'cpu s':>7} {'MB/s':>6}")
    for stage in stats["stages"]:
        seconds = stage["cpu_seconds"] or float("nan")
        print(f"{stage['name']:20} {stage['docs_in']:8d} {stage['docs_out']:8d} {seconds:7.2f} {stage['bytes_in'] / 1e6 / seconds:6.2f}")
    stage_total = sum(stage["cpu_seconds"] for stage in stats["stages"])
    print(f"{'(stages)':20} {'':17} {stage_total:8.2f}; outside stages (start-up, reading, writing): {cpu - stage_total:.1f}")


def bare_calls(corpus: str, html: bool = False) -> dict[str, float]:
    """The pinned bare calls on the corpus, CPU seconds each (start-up not included here); for HTML,
    resiliparse's main-content extraction first."""
    clock = time.process_time
    started = clock()
    import fasttext
    import ftfy

    from curate.models import lid_model_path
    from curate.tokens.encodings import load_encoding  # tiktoken's cl100k_base, offline

    model = fasttext.load_model(str(lid_model_path()))
    encoding = load_encoding("cl100k_base")
    field = "html" if html else "text"
    texts = [json.loads(line)[field] for path in sorted(os.listdir(corpus)) if path.endswith(".jsonl")
             for line in open(os.path.join(corpus, path), encoding="utf-8")]
    seconds = {"start-up": clock() - started}
    if html:
        from resiliparse.extract.html2text import extract_plain_text

        started = clock()
        texts = [extract_plain_text(page, main_content=True) for page in texts]
        seconds["resiliparse extract"] = clock() - started
    started = clock()
    fixed = [ftfy.fix_text(text) for text in texts]
    seconds["ftfy.fix_text"] = clock() - started
    started = clock()
    for i in range(0, len(fixed), BARE_BATCH):
        lines = [text[:LID_CHARS].replace("\n", " ") for text in fixed[i : i + BARE_BATCH]]
        try:
            model.predict(lines, k=1)
        except TypeError:  # a lone surrogate cannot cross into C++ (curate's language stage does the same)
            model.predict([line.encode("utf-8", "replace").decode("utf-8") for line in lines], k=1)
    seconds["lid.176 predict"] = clock() - started
    started = clock()
    for i in range(0, len(fixed), BARE_BATCH):
        encoding.encode_ordinary_batch(fixed[i : i + BARE_BATCH], num_threads=1)
    seconds["tiktoken cl100k"] = clock() - started
    return seconds


if __name__ == "__main__":
    main(sys.argv[1:])
