"""Writes the training files of the shipped quality model (`make quality-model`) from ../shared/data.

Positives, clean reference text:
- Reuters-21578 newswire articles (`news-reuters21578`), without the `Reuter` sign-off;
- the human-cleaned gold texts of `html-cleaning-gold` whose gold is text (Dragnet, CleanEval,
  CleanPortalEval; the page-signal and readability golds are HTML), without CleanEval's `URL:` line,
  its `<p>`/`<h>`/`<l>` paragraph marks and HTML entities;
- the NLTK Gutenberg books that pipelines/ablation.yaml does not evaluate on (BOOKS).
Negatives, raw web text:
- every page of `html-cleaning-gold` as all its visible text, boilerplate included (resiliparse,
  `main_content=False`): the same pages as the gold positives before a person cleaned them, so
  topic and period are alike on both sides and what differs is the cleaning;
- the English pages of `web-text-turku-register`, less every page that shares a 13-gram with
  `line-quality-turku`, the human judgement the model is measured against;
- the English documents of `cc-text-jsonl-dolma` (lid.176).
Records keep their ids: `curate classifier train --id-split train` trains on the `train` part of
`curate.classifier.id_split` and leaves the held-out 20% of Reuters articles, gold texts and register
pages for evaluation (the books have no id: the held-out books are the ablation's six).
Run from the repository root: `.venv/bin/python scripts/quality_data.py ../shared/data out/quality-data`.
"""

from __future__ import annotations

import gzip
import html
import json
import re
import sys
from pathlib import Path
from typing import Any, Iterator

from curate.text import words

BOOKS = ("blake-poems", "chesterton-ball", "milton-paradise", "shakespeare-caesar", "shakespeare-hamlet",
         "shakespeare-macbeth", "whitman-leaves")  # the other six are pipelines/ablation.yaml's eval
TEXT_GOLD_SOURCES = ("dragnet_data", "cleaneval-final", "cleaneval-dev", "CleanPortalEval-master")
NGRAM = 13
_REUTER_SIGN_OFF = re.compile(r"\s*\bREUTER\b\s*$", re.IGNORECASE)
_CLEANEVAL_MARKS = re.compile(r"^\s*URL:.*$|<[phl]>", re.MULTILINE)


def records(path: Path) -> Iterator[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def ngrams(text: str) -> set[int]:
    """Hashes of the lowercased 13-word windows of a text."""
    tokens = words(text.lower())
    return {hash(tuple(tokens[i : i + NGRAM])) for i in range(len(tokens) - NGRAM + 1)}


def write(path: Path, rows: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    print(f"{path}: {len(rows):,} documents, {sum(len(r['text']) for r in rows) / 1e6:.1f} MB")


def page_text(page: str) -> str:
    """All the visible text of an HTML page, boilerplate included, a block per line."""
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(page, main_content=False).strip()


def english(texts: list[str]) -> list[bool]:
    import fasttext

    from curate.models import lid_model_path

    model = fasttext.load_model(str(lid_model_path()))
    labels, _ = model.predict([" ".join(text.split())[:2000] for text in texts])
    return [label[0] == "__label__en" for label in labels]


def main(data: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write(out / "positives-reuters.jsonl", [
        {"id": r["id"], "text": _REUTER_SIGN_OFF.sub("", r["text"])} for r in records(data / "news-reuters21578" / "docs.jsonl.gz")
    ])
    write(out / "positives-gold.jsonl", [
        {"id": r["id"], "text": html.unescape(_CLEANEVAL_MARKS.sub("", r["gold_text"])).strip()}
        for r in records(data / "html-cleaning-gold" / "docs.jsonl.gz")
        if r["source"] in TEXT_GOLD_SOURCES and (r.get("gold_text") or "").strip()
    ])
    write(out / "positives-books.jsonl", [
        {"text": (data / "gutenberg-nltk" / f"{name}.txt").read_bytes().decode("utf-8", "replace")} for name in BOOKS
    ])
    write(out / "negatives-pages.jsonl", [
        {"id": r["id"], "text": text} for r in records(data / "html-cleaning-gold" / "docs.jsonl.gz") if (text := page_text(r["html"]))
    ])
    judged = set().union(*(ngrams(r["text"]) for r in records(data / "line-quality-turku" / "docs.jsonl.gz")))
    pages = [r for r in records(data / "web-text-turku-register" / "docs.jsonl.gz") if r["lang"] == "en"]
    clean = [r for r in pages if judged.isdisjoint(ngrams(r["text"]))]
    print(f"register: {len(pages) - len(clean):,} of {len(pages):,} English pages share a {NGRAM}-gram with line-quality-turku: dropped")
    write(out / "negatives-register.jsonl", [{"id": r["id"], "text": r["text"]} for r in clean])
    dolma = [r for path in sorted((data / "cc-text-jsonl-dolma").glob("*.jsonl*")) for r in _dolma(path)]
    write(out / "negatives-dolma.jsonl", [r for r, keep in zip(dolma, english([r["text"] for r in dolma])) if keep])


def _dolma(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            yield {"id": str(record["id"]), "text": record["text"]}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python scripts/quality_data.py SHARED_DATA_DIR OUT_DIR")
    main(Path(sys.argv[1]), Path(sys.argv[2]))
