"""Writes the training files of the shipped quality model (`make quality-model`) from ../shared/data.

Positives, clean reference text:
- Reuters-21578 newswire articles (`news-reuters21578`), without the `Reuter` sign-off;
- the human-cleaned gold texts of `html-cleaning-gold` whose gold is text (Dragnet, CleanEval,
  CleanPortalEval; the page-signal and readability golds are HTML), without CleanEval's `URL:` line,
  its `<p>`/`<h>`/`<l>` paragraph marks and HTML entities;
- the Wikipedia articles of WikiText-2 valid + test (`wikitext2-valid-test`), an article a document,
  headings, `<unk>` and the `@-@` number/hyphen marks removed (its word spacing is undone by
  `prepare_text` like any tokenisation);
- the seven NLTK Gutenberg books (poems, plays, a novel) that are not the ablation's six eval books
  (`bench.ablation_data.BOOKS`).
Negatives, raw web text:
- every page of `html-cleaning-gold` as all its visible text, boilerplate included (resiliparse,
  `main_content=False`): the same pages as the gold positives before a person cleaned them, so
  topic and period are alike on both sides and what differs is the cleaning;
- the English pages of `web-text-turku-register`;
- the English documents of `cc-text-jsonl-dolma` (lid.176).
Decontamination, with the n-grams `decontaminate` uses (curate.ngrams, 13 words): a record sharing one
with an evaluation domain of pipelines/ablation.yaml (its held-out Reuters articles and Dragnet gold
texts and six books; written by `python -m bench.ablation_data`) is dropped from either side, and a
register page sharing one with `line-quality-turku`, the human judgement the model is measured
against, is dropped from the negatives. Records keep their ids: `curate classifier train --id-split train` trains on the `train` part of
`curate.classifier.id_split` and leaves the held-out 20% for the model's own evaluation.
Run from the repository root: `.venv/bin/python scripts/quality_data.py ../shared/data out/quality-data`.
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import yaml

from curate.evalsets import domain_texts
from curate.io.texts import read_records
from curate.ngrams import contains, ngram_hashes, ngram_set

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for bench/ when run as a script
from bench.ablation_data import BOOKS as EVAL_BOOKS  # noqa: E402 - the ablation's six eval books

REPO = Path(__file__).resolve().parents[1]
TEXT_GOLD_SOURCES = ("dragnet_data", "cleaneval-final", "cleaneval-dev", "CleanPortalEval-master")
_REUTER_SIGN_OFF = re.compile(r"\s*\bREUTER\b\s*$", re.IGNORECASE)
_CLEANEVAL_MARKS = re.compile(r"^\s*URL:.*$|<[phl]>", re.MULTILINE)
_WIKITEXT_ARTICLE = re.compile(r"^ = [^=].* = $", re.MULTILINE)  # a top-level heading starts an article
_WIKITEXT_MARKS = re.compile(r"^ =+ .* =+ $|<unk>|@(?=[-,.]@)|(?<=[-,.])@", re.MULTILINE)


def wikitext_articles(folder: Path) -> list[dict[str, Any]]:
    articles = []
    for split in ("valid", "test"):
        raw = (folder / f"{split}.txt").read_text(encoding="utf-8")
        starts = [m.start() for m in _WIKITEXT_ARTICLE.finditer(raw)] + [len(raw)]
        for number, (start, end) in enumerate(zip(starts, starts[1:])):
            text = " ".join(_WIKITEXT_MARKS.sub("", raw[start:end]).split())
            articles.append({"id": f"wikitext-{split}-{number}", "text": text})
    return articles


def ablation_eval_texts() -> list[str]:
    """Every document of pipelines/ablation.yaml's evaluation domains (paths relative to the repository)."""
    paths = yaml.safe_load((REPO / "pipelines" / "ablation.yaml").read_text(encoding="utf-8"))["eval"]["paths"]
    return [text for path in paths for text in domain_texts(str(REPO / path))]


def decontaminated(rows: Iterable[dict[str, Any]], against: np.ndarray, what: str) -> list[dict[str, Any]]:
    rows = list(rows)
    kept = [row for row in rows if not contains(against, ngram_hashes(row["text"])).any()]
    print(f"  {len(rows) - len(kept):,} of {len(rows):,} share a 13-gram with {what}: dropped")
    return kept


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
    evaluation = ngram_set(ablation_eval_texts())
    gold = list(read_records(data / "html-cleaning-gold" / "docs.jsonl.gz"))
    dolma = [{"id": str(r["id"]), "text": r["text"]} for path in sorted((data / "cc-text-jsonl-dolma").glob("*.jsonl*")) for r in read_records(path)]
    judged = ngram_set(r["text"] for r in read_records(data / "line-quality-turku" / "docs.jsonl.gz"))
    register = [{"id": r["id"], "text": r["text"]} for r in read_records(data / "web-text-turku-register" / "docs.jsonl.gz") if r["lang"] == "en"]
    files = {
        "positives-reuters": [{"id": r["id"], "text": _REUTER_SIGN_OFF.sub("", r["text"])}
                              for r in read_records(data / "news-reuters21578" / "docs.jsonl.gz")],
        "positives-gold": [{"id": r["id"], "text": html.unescape(_CLEANEVAL_MARKS.sub("", r["gold_text"])).strip()}
                           for r in gold if r["source"] in TEXT_GOLD_SOURCES and (r.get("gold_text") or "").strip()],
        "positives-wikipedia": wikitext_articles(data / "wikitext2-valid-test"),
        "positives-books": [{"text": path.read_bytes().decode("utf-8", "replace")}
                            for path in sorted((data / "gutenberg-nltk").glob("*.txt")) if path.stem not in EVAL_BOOKS],
        "negatives-pages": [{"id": r["id"], "text": text} for r in gold if (text := page_text(r["html"]))],
        "negatives-register": decontaminated(register, judged, "line-quality-turku"),
        "negatives-dolma": [r for r, keep in zip(dolma, english([r["text"] for r in dolma])) if keep],
    }
    for name, rows in files.items():
        write(out / f"{name}.jsonl", decontaminated(rows, evaluation, "the ablation's eval"))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python scripts/quality_data.py SHARED_DATA_DIR OUT_DIR")
    main(Path(sys.argv[1]), Path(sys.argv[2]))
