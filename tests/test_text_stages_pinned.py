"""What normalize, language, toxicity and tokenize decide on 200 real pages, pinned.

These four stages were made faster in issue 15's speed round (lid.176 shared with normalize, o200k
and lingua loaded once, toxicity's word lists by set operations, tiktoken's ranks stored, spaces
collapsed by a literal pattern). PINNED was computed at a7f36ac, the commit before that round, and
main after it gives the same digest: the round changed no text, label, score or token id here. If a
stage's output is changed on purpose, the new digest goes in with the change and its reason.
On these pages normalize changes 76 texts (29 encoding repairs), language names 17 languages, all
above its 0.65 threshold, and toxicity's 23 distinct scores are all below 0.5: the pin holds texts,
labels, scores (to 4 decimals) and token ids more than removals.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path

import numpy as np

from curate.document import Document
from curate.stages import stage_class

# web.yaml's order and options
STAGES = [
    ("normalize", {}),
    ("language", {"threshold": 0.65, "short_text_chars": 0}),
    ("toxicity", {"threshold": 0.5}),
    ("tokenize", {"encoding": "cl100k_base", "val_fraction": 0.05}),
]
PINNED = "48b31794e0a996d0eceaebb79f5bd8e80b08f7a9cebbf153ae82378d753cb1b9"
# pages that look like mojibake (UTF-8 read as Latin-1/Windows-1252, or U+FFFD where bytes were lost)
MOJIBAKE_LOOK = re.compile("[ÃÂâÐÑ][\x80-\xbf\u0152-\u2122]|\ufffd")


def real_pages(shared_data: Path) -> list[Document]:
    """Every 110th page of the register corpus (150, its languages spread through the file), and the
    first 50 others that look like mojibake (chosen by that look, not by what normalize does with them)."""
    spread, broken = [], []
    with gzip.open(shared_data / "web-text-turku-register" / "docs.jsonl.gz", "rt", encoding="utf-8") as f:
        for number, row in enumerate(map(json.loads, f)):
            if number % 110 == 0 and len(spread) < 150:
                spread.append(row)
            elif MOJIBAKE_LOOK.search(row["text"]) and len(broken) < 50:
                broken.append(row)
    return [Document(id=row["id"], text=row["text"]) for row in spread + broken]


def rounded(value: object) -> object:
    """Scores to 4 decimals: lingua's last bits differ between runs."""
    return round(float(value), 4) if isinstance(value, (float, np.floating)) else value


def decisions(docs: list[Document]) -> list[list]:
    """[id, then per stage: its verdict and signals] for every page, every stage run on every page in
    turn (as a pipeline would, without dropping the removed), and the sha1 of the normalized text and
    of the token ids."""
    rows: dict[str, list] = {doc.id: [doc.id] for doc in docs}
    for name, options in STAGES:
        stage = stage_class(name)(**options)
        stage.ensure_setup()
        for doc, verdict in zip(docs, stage.process(docs)):
            rows[doc.id].append([name, verdict, sorted((k, rounded(v)) for k, v in doc.signals.items())])
    for doc in docs:
        ids = np.asarray(doc.tokens, dtype=np.int64).tobytes()
        rows[doc.id] += [hashlib.sha1(doc.text.encode()).hexdigest()[:12], hashlib.sha1(ids).hexdigest()[:12]]
    return list(rows.values())


def test_text_stage_decisions_are_pinned(shared_data: Path) -> None:
    docs = real_pages(shared_data)
    originals = {doc.id: doc.text for doc in docs}
    pinned = decisions(docs)
    assert len(pinned) == 200
    changed = [doc for doc in docs if doc.text != originals[doc.id]]
    assert sum(doc.signals["mojibake_fixed"] for doc in docs) >= 10 and len(changed) >= 50  # normalize is tested
    assert len({doc.signals["language"] for doc in docs}) >= 10  # many languages
    assert len({doc.signals.get("toxicity_score") for doc in docs}) >= 20  # and toxicity many of them
    digest = hashlib.sha256(json.dumps(pinned).encode()).hexdigest()
    assert digest == PINNED
