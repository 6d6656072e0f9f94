"""Quality filtering end to end: curate against datatrove on the same web text, 2 worker processes each.

Both sides read the same JSONL files (every distinct page of the register corpus, 16,921 pages in 19+
languages, and the 717 Common Crawl texts of cc-text-jsonl-dolma, none repeated: repeated texts would
flatter curate's caches), fix text with ftfy,
identify the language with lid.176 (English above 0.65 kept), apply the Gopher quality and
repetition rules with their published thresholds, and write Parquet. Throughput is input documents
and input megabytes over wall time, start-up included; beside it, each run's CPU seconds in every process
(user + system), which other work on a shared machine disturbs far less than wall time. curate's
per-stage numbers come from its stats.json (CPU seconds summed over workers).

datatrove lives in its own venv (bench/.work/datatrove-venv, made here on first use: it pulls
`fasttext-numpy2-wheel`, which would replace curate's fastText binding) and runs as a subprocess
script written here. Its English word tokenizer is spaCy's (its default); it is run a second time
with a plain whitespace tokenizer, the fastest setting it allows. Its LanguageFilter would download
lid.176.bin: the script points it at the lid.176.ftz curate uses, offline.

`CURATE_BENCH_DOCS` takes N of those texts, evenly spaced (never more: nothing is repeated). If toxicity
is available, curate also runs once with it appended, for its per-stage numbers (datatrove has no toxicity stage to compare with).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from bench.proc import PeakMemory, children_cpu

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "bench" / ".work" / "filters"
DATATROVE_VENV = REPO / "bench" / ".work" / "datatrove-venv"
DATATROVE_PACKAGES = ["datatrove[processing,io]==0.10.1", "spacy==3.8.18", "requests", "aiohttp", "lxml_html_clean"]  # the last: trafilatura's import
SHARED_DATA = Path(os.environ.get("CURATE_SHARED_DATA", REPO.parent / "shared" / "data"))
WORKERS = 2
FILES = 8
TIMEOUT_S = 1800
STAGES = [
    {"normalize": {}},
    {"language": {"keep": ["en"], "threshold": 0.65}},
    {"gopher_quality": {}},
    {"gopher_repetition": {}},
]


def main() -> None:
    limit = int(os.environ.get("CURATE_BENCH_DOCS", 0)) or None
    corpus, n_docs, n_bytes = write_corpus(WORK, ["web-text-turku-register", "cc-text-jsonl-dolma"], limit)
    print(f"corpus: {n_docs} docs, {n_bytes / 1e6:.1f} MB of text in {FILES} JSONL files, {WORKERS} workers each side")
    print("pipeline: normalize (ftfy) -> language (lid.176, en >= 0.65) -> gopher_quality -> gopher_repetition")

    curate_seconds, curate_stats, curate_cpu = run_curate(STAGES, corpus, WORK / "out-curate")
    curate_steps = [(s["name"], s["docs_in"], s["seconds"]) for s in curate_stats["stages"]]
    runs = [Run("curate", curate_seconds, curate_stats["docs_written"], curate_steps, curate_cpu)]
    try:
        python = datatrove_python()
        for tokenizer in ("spacy", "whitespace"):
            runs.append(run_datatrove(python, corpus, WORK / f"out-datatrove-{tokenizer}", tokenizer))
    except DatatroveUnavailable as exc:
        print(f"datatrove could not run: {exc}")

    print(f"\n{'end to end':20} {'wall s':>8} {'docs/s':>8} {'MB/s':>6} {'kept':>6} {'CPU s':>7}  curate is (wall; CPU of every process)")
    for run in runs:
        speedup = "" if run is runs[0] else f"{run.seconds / curate_seconds:.2f}x; {run.cpu / curate_cpu:.2f}x faster"
        print(
            f"{run.label:20} {run.seconds:8.1f} {n_docs / run.seconds:8.0f} {n_bytes / 1e6 / run.seconds:6.2f} "
            f"{run.kept:6d} {run.cpu:7.1f}  {speedup}"
        )
    print("\nper stage: documents in / CPU seconds summed over workers (curate's stats.json, datatrove's stats.json)")
    print(f"{'stage':18} " + " ".join(f"{run.label:>20}" for run in runs) + "  curate vs each")
    for i, (name, _, _) in enumerate(curate_steps):
        rates = [docs / seconds if seconds else float("nan") for _, docs, seconds in (run.steps[i] for run in runs)]
        ratios = " ".join(f"{rates[0] / rate:5.1f}x" for rate in rates[1:])
        print(f"{name:18} " + " ".join(f"{rate:20.0f}" for rate in rates) + f"  {ratios}")
    print_stage_table(curate_stats)

    if (REPO / "curate" / "stages" / "toxicity.py").exists():
        print("\ncurate with toxicity appended (no datatrove counterpart):")
        seconds, stats, _ = run_curate([*STAGES, {"toxicity": {}}], corpus, WORK / "out-curate-toxicity")
        print(f"wall {seconds:.1f} s, {n_docs / seconds:.0f} docs/s end to end")
        print_stage_table(stats)


def read_texts(dataset: str) -> list[str]:
    """The `text` of every JSONL(.gz) record of a shared data set, in file order."""
    source = SHARED_DATA / dataset
    if not source.is_dir():
        raise FileNotFoundError(f"shared data not found at {source}")
    texts: list[str] = []
    for path in sorted(source.glob("*.jsonl*")):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as f:
            texts += [json.loads(line)["text"] for line in f if line.strip()]
    return texts


def write_corpus(
    work: Path, datasets: list[str], limit: int | None, field: str = "text", read: Callable[[str], list[str]] | None = None
) -> tuple[Path, int, int]:
    """The texts of the shared data sets (`limit` of them evenly spaced, as the files are sorted by
    language) in FILES JSONL files as `{"id", field}`, written once; returns the folder, documents and
    bytes. `read` gives a data set's texts (default `read_texts`; another reader names its field)."""
    folder = work / f"corpus-{'+'.join(datasets)}-{limit or 'all'}{'' if field == 'text' else '-' + field}"
    done = folder / "done.json"
    if not done.exists():
        texts = [text for dataset in datasets for text in (read or read_texts)(dataset)]
        if limit and limit < len(texts):
            texts = [texts[i * len(texts) // limit] for i in range(limit)]
        folder.mkdir(parents=True, exist_ok=True)
        files = [open(folder / f"part-{i}.jsonl", "w", encoding="utf-8") for i in range(FILES)]
        for i, text in enumerate(texts):
            files[i % FILES].write(json.dumps({"id": f"doc-{i}", field: text}, ensure_ascii=False) + "\n")
        for f in files:
            f.close()
        done.write_text(json.dumps({"docs": len(texts), "bytes": sum(len(text.encode("utf-8")) for text in texts)}))
    counts = json.loads(done.read_text())
    return folder, counts["docs"], counts["bytes"]


@dataclass
class Run:
    label: str
    seconds: float  # wall time of the whole run, start-up included
    kept: int
    steps: list[tuple[str, int, float]]  # per stage: name, documents in, CPU seconds
    cpu: float = 0.0  # user + system CPU seconds of the whole run, its worker processes included


def run_curate(
    stages: list[dict], corpus: Path, output: Path, workers: int = WORKERS, html_field: str | None = None
) -> tuple[float, dict, float]:
    """Wall seconds, stats.json and CPU seconds (all processes) of a `curate run` of `stages`."""
    pipeline = output.parent / f"{output.name}.yaml"
    output.parent.mkdir(parents=True, exist_ok=True)
    source = {"format": "jsonl", "paths": [str(corpus)], **({"html_field": html_field} if html_field else {})}
    pipeline.write_text(yaml.safe_dump({"input": source, "stages": stages}))
    command = [sys.executable, "-m", "curate", "run", str(pipeline), "--output", str(output)]
    command += ["--workers", str(workers), "--overwrite", "--quiet"]
    started, cpu_started = time.perf_counter(), children_cpu()
    subprocess.run(command, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    return seconds, json.loads((output / "stats.json").read_text()), children_cpu() - cpu_started


def print_stage_table(stats: dict) -> None:
    print(f"\n{'curate stage':20} {'docs in':>8} {'docs out':>8} {'cpu s':>7} {'docs/s':>8} {'MB/s':>6}")
    for stage in stats["stages"]:
        seconds = stage.get("seconds") or float("nan")
        print(
            f"{stage['name']:20} {stage['docs_in']:8d} {stage['docs_out']:8d} {seconds:7.2f} "
            f"{stage['docs_in'] / seconds:8.0f} {stage['bytes_in'] / 1e6 / seconds:6.2f}"
        )


class DatatroveUnavailable(Exception):
    pass


def datatrove_python() -> Path:
    """The datatrove venv's python, made on first use; pip needs the package index, nothing else does."""
    python = DATATROVE_VENV / "bin" / "python"
    if not python.exists():
        print("making the datatrove venv (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(DATATROVE_VENV)], check=True)
    probe = subprocess.run([str(python), "-c", "import datatrove, spacy, aiohttp, requests, trafilatura"], capture_output=True)
    if probe.returncode != 0:
        install = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *DATATROVE_PACKAGES],
            capture_output=True,
            text=True,
        )
        if install.returncode != 0:
            raise DatatroveUnavailable(f"pip install failed: {install.stderr.strip().splitlines()[-1:]}")
    return python


def run_datatrove(
    python: Path, corpus: Path, output: Path, tokenizer: str, steps: str = "filters", workers: int = WORKERS
) -> Run:
    """datatrove's run of `steps` (this bench's filters; `web`: the closest to curate's web.yaml; `web-html`:
    the same after its trafilatura extractor, on the corpus's `html` field). Its
    pool's processes are not waited for, so its CPU is also read by polling its process tree through /proc
    (each process as last seen, short by at most one poll), and the larger of the two counts."""
    from curate.models import lid_model_path

    script = WORK / "datatrove_run.py"
    WORK.mkdir(parents=True, exist_ok=True)
    script.write_text(DATATROVE_SCRIPT)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(WORK / "hf-home")}
    args = [str(corpus), str(output), str(lid_model_path()), str(workers), str(FILES), tokenizer, steps]
    started, cpu_started = time.perf_counter(), children_cpu()
    process = subprocess.Popen([str(python), str(script), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env, cwd=WORK)
    tree = PeakMemory(process.pid)
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise DatatroveUnavailable(f"its run took over {TIMEOUT_S} s") from None
    finally:
        tree.stop()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise DatatroveUnavailable(f"its run failed: {stderr.strip()[-800:]}")
    report = json.loads(stdout.strip().splitlines()[-1])
    steps_run = [tuple(step) for step in report["steps"][1:-1]]
    cpu = max(children_cpu() - cpu_started, sum(tree.cpu_seconds.values()))
    return Run(f"datatrove/{tokenizer}", seconds, report["kept"], steps_run, cpu)


DATATROVE_SCRIPT = textwrap.dedent(
    '''
    """Written by bench/bench_filters.py: the datatrove side of the comparison."""
    import json
    import re
    import shutil
    import sys
    from pathlib import Path

    import pyarrow.parquet as pq
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
        LanguageFilter,
    )
    from datatrove.pipeline.formatters import FTFYFormatter, PIIFormatter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import ParquetWriter
    from datatrove.utils.lid import FT176LID
    from datatrove.utils.word_tokenizers import WordTokenizer

    corpus, output, lid_path, workers, tasks, tokenizer, kind = sys.argv[1:8]


    class LocalFT176(FT176LID):
        """lid.176 from a local file: datatrove copies MODEL_URL into its asset cache instead of downloading."""

        MODEL_URL = lid_path


    class LocalLanguageFilter(LanguageFilter):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.model = LocalFT176(self.languages)


    class WhitespaceTokenizer(WordTokenizer):
        def word_tokenize(self, text):
            return text.split()

        def sent_tokenize(self, text):
            return [line for line in text.splitlines() if line.strip()]

        def span_tokenize(self, text):  # sentences for C4's count: up to each run of . ! ?
            return [match.span() for match in re.finditer(r"[^.!?]+(?:[.!?]+|$)", text)]


    def main():
        words = "en" if tokenizer == "spacy" else WhitespaceTokenizer()
        shutil.rmtree(output, ignore_errors=True)
        if kind == "filters":
            filters = [
                LocalLanguageFilter(languages=["en"], language_threshold=0.65),
                GopherQualityFilter(language=words),
                GopherRepetitionFilter(language=words),
            ]
        else:  # web.yaml's stages that datatrove has (no URL filter for pages without URLs, no toxicity)
            filters = [
                LocalLanguageFilter(languages=None, language_threshold=0.65),
                GopherRepetitionFilter(language=words),
                GopherQualityFilter(language=words),
                C4QualityFilter(filter_no_terminal_punct=False, language=words),
                FineWebQualityFilter(language=words),
                PIIFormatter(),
            ]
        html = kind == "web-html"  # HTML in the `html` field, extracted by datatrove's default extractor
        reader = JsonlReader(corpus, glob_pattern="*.jsonl", text_key="html" if html else "text")
        extract = [Trafilatura(favour_precision=True)] if html else []
        pipeline = [reader, *extract, FTFYFormatter(), *filters, ParquetWriter(str(Path(output) / "data"))]
        logs = str(Path(output) / "logs")
        executor = LocalPipelineExecutor(
            pipeline, tasks=int(tasks), workers=int(workers), logging_dir=logs, skip_completed=False
        )
        executor.run()
        kept = sum(pq.ParquetFile(p).metadata.num_rows for p in (Path(output) / "data").glob("*.parquet"))
        steps = json.loads((Path(logs) / "stats.json").read_text())
        steps = [[s["name"], s["time_stats"]["n"], s["time_stats"]["total"]] for s in steps]
        print(json.dumps({"kept": kept, "steps": steps}))


    if __name__ == "__main__":  # its workers start by importing this file
        main()
    '''
)


if __name__ == "__main__":
    main()
