"""language stage vs a bare lid.176 `model.predict` on the same texts, one batch call, same run;
then macro accuracy and CPU cost with and without the lingua second opinion (`--accuracy`, `--tune`), and
web.yaml's setting's CPU and memory on the register corpus beside bare lid.176 (`--cost`: a fresh process with
lingua's models preloaded at setup, then another loading them lazily).

Accuracy sets: the lingua test sentences split by a hash of each line (the `tune` half chose
`unsure_below`, the groups and the second opinion's rules, only the `report` half is reported; lingua's
own test set flatters lingua), the register corpus (web-text-turku-register, `lang_label` from the
corpus, `no` read as `nb`, languages with at least `MIN_REGISTER_DOCS` pages; split the same way by a
hash of the document id, the `report` half reported, the whole corpus timed), and a set of our own: the first
`COMMENTS_PER_SET` texts of each toxicity-train set (informal comments and tweets in 10 languages, the
language from the set). Baselines beside: raw lid.176 (top label,
newlines replaced) and the stage without the second opinion.

Texts: real Common Crawl pages (cc-text-jsonl-dolma, 697 pages, 3.6 KB on average, up to 127 KB)
and the lingua test sentences (75 languages, ~74k short texts). The baseline is what every
pipeline must do at least: newlines replaced, one `predict` call. Best of `REPEATS` runs each.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from functools import cache
from pathlib import Path

from bench.proc import rss_mb
from curate.document import Document
from curate.models import lid_model_path
from curate.stages import language as language_module
from curate.stages.language import Language
from curate.stats import StageStats

DATA = Path(os.environ.get("CURATE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
REPEATS = 2
MIN_REGISTER_DOCS = 50
COMMENTS_PER_SET = 300
UNSURE_GRID = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def _best_seconds(run) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def _corpora() -> dict[str, list[str]]:
    pages_path = DATA / "cc-text-jsonl-dolma" / "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
    with gzip.open(pages_path, "rt", encoding="utf-8") as lines:
        pages = [json.loads(line)["text"] for line in lines]
    sentences = []
    for path in sorted((DATA / "lingua-langid-testdata" / "language-testdata" / "sentences").glob("*.txt")):
        sentences += [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {"cc pages": pages, "sentences": sentences}


def main() -> None:
    stage = Language()
    stage.ensure_setup()
    whole = Language(max_chars=None)
    whole.ensure_setup()
    model = bare_lid_model()
    print(f"{'texts':<10} {'n':>6} {'bare predict docs/s':>20} {'stage docs/s':>13} {'ratio':>6}   identify() alone, ratio")
    for name, texts in _corpora().items():
        docs = [Document(id=str(i), text=text) for i, text in enumerate(texts)]
        bare = _best_seconds(lambda: model.predict([text.replace("\n", " ") for text in texts], k=1))
        staged = _best_seconds(lambda: stage(docs, StageStats("language")))
        identify = _best_seconds(lambda: stage.identify(texts))
        n = len(texts)
        print(f"{name:<10} {n:>6} {n / bare:>20,.0f} {n / staged:>13,.0f} {bare / staged:>6.2f}   {bare / identify:.2f}")
        if name == "cc pages":
            print(f"{'':<10} identify() on whole texts (max_chars: null), ratio {bare / _best_seconds(lambda: whole.identify(texts)):.2f}")


def sentence_split(half: str) -> tuple[list[str], list[str]]:
    """Lingua test sentences and their language, the `tune` or `report` half by a hash of the line."""
    texts, labels = [], []
    for path in sorted((DATA / "lingua-langid-testdata" / "language-testdata" / "sentences").glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and in_half(line, half):
                texts.append(line)
                labels.append(path.stem)
    return texts, labels


def in_half(key: str, half: str | None) -> bool:
    """Whether a line or document id falls in the `tune` half (even hash) or the `report` half; None: both."""
    return half is None or (hashlib.md5(key.encode()).digest()[0] % 2 == 0) == (half == "tune")


@cache
def _register_rows() -> list[dict]:
    """The register corpus, read once however many halves are asked for."""
    with gzip.open(DATA / "web-text-turku-register" / "docs.jsonl.gz", "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def register_pages(half: str | None = None) -> tuple[list[str], list[str]]:
    """Register corpus pages and their corpus language (`no` as `nb`), languages with enough pages."""
    rows = _register_rows()
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        counts[row["lang_label"]] += 1
    kept = [row for row in rows if counts[row["lang_label"]] >= MIN_REGISTER_DOCS and in_half(row["id"], half)]
    return [row["text"] for row in kept], [{"no": "nb"}.get(row["lang_label"], row["lang_label"]) for row in kept]


def toxicity_comments() -> tuple[list[str], list[str]]:
    """The first `COMMENTS_PER_SET` texts of each toxicity-train set and the set's language."""
    texts, labels = [], []
    for path in sorted((DATA / "toxicity-train").glob("*/data.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for _, line in zip(range(COMMENTS_PER_SET), lines):
                row = json.loads(line)
                texts.append(row["text"])
                labels.append(row["lang"])
    return texts, labels


def macro_accuracy(predicted: list[str], labels: list[str]) -> tuple[float, dict[str, float]]:
    right: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    for guess, label in zip(predicted, labels):
        total[label] += 1
        right[label] += guess == label
    per_language = {label: right[label] / total[label] for label in sorted(total)}
    return sum(per_language.values()) / len(per_language), per_language


def _raw_lid(stage: Language, texts: list[str]) -> list[str]:
    labels, _ = stage._predict([text[: stage.max_chars].replace("\n", " ") for text in texts], k=1)
    return [label[0].removeprefix("__label__") for label in labels]


def accuracy() -> None:
    """Macro accuracy and CPU seconds: raw lid.176, the stage without and with the second opinion.
    lingua's models load on first use: the whole register corpus goes first, so its CPU seconds are a fresh
    worker's, loading included."""
    before, after = Language(second_opinion=False), Language()
    before.ensure_setup()
    after.ensure_setup()
    sets = {
        "register corpus, all (timed)": register_pages(),
        "register corpus, report half": register_pages("report"),
        "lingua sentences, report half": sentence_split("report"),
        "toxicity-train comments": toxicity_comments(),
    }
    for name, (texts, labels) in sets.items():
        raw = macro_accuracy(_raw_lid(before, texts), labels)[0]
        cpu_before = time.process_time()
        without, _ = before.identify(texts)
        cpu_middle = time.process_time()
        with_lingua, _ = after.identify(texts)
        cpu_after = time.process_time()
        old, new = macro_accuracy(without, labels), macro_accuracy(with_lingua, labels)
        print(f"{name}: {len(texts)} texts, {len(new[1])} languages; macro accuracy raw lid.176 {raw:.3f}, "
              f"stage before {old[0]:.3f}, after {new[0]:.3f}; CPU s before {cpu_middle - cpu_before:.1f}, "
              f"after {cpu_after - cpu_middle:.1f} (second opinion on {sum(a != b for a, b in zip(without, with_lingua))} changed labels)")
        print("  " + ", ".join(f"{lang} {old[1][lang]:.2f}->{new[1][lang]:.2f}" for lang in new[1]))


def bare_lid_model():
    """lid.176 as the `fasttext` package loads it: the bare library (curate's stage answers through
    curate.fasttext_quantized)."""
    import fasttext

    return fasttext.load_model(str(lid_model_path()))


def cost(lazy: bool = False) -> None:
    """CPU and memory of web.yaml's setting (`short_text_chars: 0`) on every register page, in this (fresh)
    process: setup (lid.176 and every lingua model the stage can ask), then `identify` in batches of 1,000,
    beside bare lid.176 `predict` (k=1, newlines replaced, first 10,000 characters) on the same texts; then the
    same in a second fresh process with the preload off (`lazy`: lingua loads a language's models on first use)."""
    if lazy:
        language_module.preload_lingua_models = lambda: None  # setup looks it up in the module
    texts, _ = register_pages()
    started, rss = time.process_time(), rss_mb()
    stage = Language(short_text_chars=0)
    stage.ensure_setup()
    set_up, set_up_rss = time.process_time(), rss_mb()
    for i in range(0, len(texts), 1000):
        stage.identify(texts[i : i + 1000])
    done, done_rss = time.process_time(), rss_mb()
    model = bare_lid_model()
    bare_started = time.process_time()
    for i in range(0, len(texts), 1000):
        model.predict([text[:10_000].replace("\n", " ") for text in texts[i : i + 1000]], k=1)
    bare = time.process_time() - bare_started
    print(f"{len(texts):,} register pages, short_text_chars 0, {'lazily loaded' if lazy else 'preloaded'}: "
          f"setup {set_up - started:.2f} CPU s, +{set_up_rss - rss:.0f} MB; identify {done - set_up:.2f} CPU s, "
          f"+{done_rss - set_up_rss:.0f} MB after setup; bare lid.176 predict {bare:.2f} CPU s", flush=True)
    if not lazy:
        subprocess.run([sys.executable, "-m", "bench.bench_language", "--cost-lazy"], cwd=Path(__file__).resolve().parents[1], check=True)


def tune() -> None:
    """Macro accuracy on the tune half only, for each `unsure_below`."""
    texts, labels = sentence_split("tune")
    for unsure_below in UNSURE_GRID:
        stage = Language(unsure_below=unsure_below)
        stage.ensure_setup()
        print(f"unsure_below {unsure_below}: tune-half macro accuracy {macro_accuracy(stage.identify(texts)[0], labels)[0]:.4f}")


if __name__ == "__main__":
    {"--accuracy": accuracy, "--tune": tune, "--cost": cost, "--cost-lazy": lambda: cost(lazy=True)}.get(sys.argv[1] if len(sys.argv) > 1 else "", main)()
