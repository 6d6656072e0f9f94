"""The inputs of pipelines/ablation.yaml, cut at run time from ../shared/data into out/ablation-data/ (never into
the repository). `python -m bench.ablation_data [OUT]`; rerunning rewrites the same files.

The evaluation documents are taken only from the project's `held_out` ids (`curate.classifier.id_split`), which
the shipped quality classifier never trained on, and from the six books it holds out.
- register/part-*.jsonl: web-text-turku-register in 8 plain JSONL parts, so the pool run has 8 tasks for its
  workers instead of one 89 MB gzip file.
- html-train/part-*.jsonl: the html-cleaning-gold pages (raw HTML in `html`) that no evaluation uses.
- html-gold-eval.jsonl: the human-cleaned text (`text`) of the held-out Dragnet pages, whose HTML is left out
  of html-train: an evaluation domain of clean web articles. Dragnet's gold is plain text; the other sources'
  gold is HTML or tagged (CleanEval `<p>`), so they only train.
- reuters-eval.jsonl: 600 held-out Reuters-21578 articles (none is in any training input).
- books-eval/: the six novels the quality classifier holds out (Austen, Chesterton, Melville).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import sys
from pathlib import Path

from curate.classifier import id_split

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "out" / "ablation-data"
REGISTER_PARTS = 8
HTML_PARTS = 4
REUTERS_ARTICLES = 600
HELD_OUT_SOURCE = "dragnet_data"
BOOKS = ("austen-emma", "austen-persuasion", "austen-sense", "chesterton-brown", "chesterton-thursday", "melville-moby_dick")


def _hash_share(key: str) -> float:
    """A stable number in [0, 1) from a string: the same split on every machine and run."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little") / 2**64


def _records(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


def _write_parts(folder: Path, records, parts: int) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    files = [open(folder / f"part-{k:02d}.jsonl", "w", encoding="utf-8") for k in range(parts)]
    count = 0
    for count, record in enumerate(records, 1):
        files[count % parts].write(json.dumps(record, ensure_ascii=False) + "\n")
    for file in files:
        file.close()
    return count


def main(out: Path = DEFAULT_OUT) -> None:
    out.mkdir(parents=True, exist_ok=True)
    register = _write_parts(out / "register", _records(SHARED / "web-text-turku-register" / "docs.jsonl.gz"), REGISTER_PARTS)

    held_out, train = [], []
    for record in _records(SHARED / "html-cleaning-gold" / "docs.jsonl.gz"):
        gold = record.get("gold_text")
        if record["source"] == HELD_OUT_SOURCE and gold and gold.strip() and id_split(record["id"]) == "held_out":
            held_out.append({"id": record["id"], "text": gold.replace("\r\n", "\n").strip()})
        else:
            train.append({"id": record["id"], "source": record["source"], "html": record["html"]})
    _write_parts(out / "html-train", train, HTML_PARTS)
    with open(out / "html-gold-eval.jsonl", "w", encoding="utf-8") as file:
        file.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in held_out)

    articles = sorted((r for r in _records(SHARED / "news-reuters21578" / "docs.jsonl.gz") if id_split(r["id"]) == "held_out"),
                      key=lambda r: _hash_share("reuters" + r["id"]))
    with open(out / "reuters-eval.jsonl", "w", encoding="utf-8") as file:
        file.writelines(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in articles[:REUTERS_ARTICLES])
    (out / "books-eval").mkdir(exist_ok=True)
    for book in BOOKS:
        shutil.copyfile(SHARED / "gutenberg-nltk" / f"{book}.txt", out / "books-eval" / f"{book}.txt")
    print(f"{out}: register {register:,} pages in {REGISTER_PARTS} parts; html-train {len(train):,} pages; "
          f"html-gold-eval {len(held_out):,} gold texts; reuters-eval {REUTERS_ARTICLES} articles; books-eval {len(BOOKS)} books")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
