"""CPU seconds of the four heuristic stages (web.yaml's order and options) on real multilingual web text.

Reads `web-text-turku-register` (16,921 pages, 88.8 MB, 19+ languages), sets each page's `language`
signal from the corpus's own `lang` field (so no model runs), and passes batches of 1,000 documents
through gopher_repetition -> gopher_quality -> c4_quality -> fineweb_quality, each stage on what the
previous one kept, as `curate run` does. Each stage's time is the process CPU time spent in its call.

`CURATE_BENCH_DOCS` limits the number of pages. Run it from another checkout's root (PYTHONPATH) to
time that checkout's stages on the same pages.
"""

from __future__ import annotations

import gzip
import json
import os
import time
from collections import Counter
from pathlib import Path

from curate.document import Document
from curate.stages import stage_class
from curate.stats import StageStats

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CURATE_SHARED_DATA", REPO.parent / "shared" / "data"))
STAGES = [
    ("gopher_repetition", {}),
    ("gopher_quality", {}),
    ("c4_quality", {"require_terminal_punctuation": False}),
    ("fineweb_quality", {}),
]
BATCH = 1000


def register_documents(limit: int | None = None) -> list[Document]:
    docs = []
    with gzip.open(SHARED_DATA / "web-text-turku-register" / "docs.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            docs.append(Document(id=row["id"], text=row["text"], signals={"language": row.get("lang")}))
            if limit and len(docs) >= limit:
                break
    return docs


def main() -> None:
    limit = int(os.environ.get("CURATE_BENCH_DOCS", 0)) or None
    docs = register_documents(limit)
    megabytes = sum(d.nbytes for d in docs) / 1e6
    stages = [stage_class(name)(**options) for name, options in STAGES]
    for stage in stages:
        stage.ensure_setup()  # as a worker does before its first batch
    cpu: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    for start in range(0, len(docs), BATCH):
        batch = docs[start : start + BATCH]
        for stage in stages:
            started = time.process_time()
            batch, gone = stage(batch, StageStats(stage.name))
            cpu[stage.name] += time.process_time() - started
            removed[stage.name] += len(gone)
    print(f"{len(docs)} pages, {megabytes:.1f} MB, batches of {BATCH}")
    print(f"{'stage':20} {'cpu s':>7} {'removed':>8}")
    for stage in stages:
        print(f"{stage.name:20} {cpu[stage.name]:7.2f} {removed[stage.name]:8d}")
    print(f"{'total':20} {sum(cpu.values()):7.2f}")


if __name__ == "__main__":
    main()
