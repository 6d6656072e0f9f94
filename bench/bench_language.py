"""language stage vs a bare lid.176 `model.predict` on the same texts, one batch call, same run.

Texts: real Common Crawl pages (cc-text-jsonl-dolma, 697 pages, 3.6 KB on average, up to 127 KB)
and the lingua test sentences (75 languages, ~74k short texts). The baseline is what every
pipeline must do at least: newlines replaced, one `predict` call. Best of `REPEATS` runs each.
"""

from __future__ import annotations

import gzip
import json
import os
import time
from pathlib import Path

from curate.document import Document
from curate.stages.language import Language
from curate.stats import StageStats

DATA = Path(os.environ.get("CURATE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
REPEATS = 2


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
    stage.setup()
    whole = Language(max_chars=None)
    whole.setup()
    model = stage.model
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


if __name__ == "__main__":
    main()
