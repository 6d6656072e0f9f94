"""The keep/remove decisions and reasons of the four heuristic stages, pinned on 400 real documents.

Pinned after the rules were made to match their papers (issue 14), so that work on their speed
(issue 15: the shared analysis, compiled kernels) cannot change a single decision unnoticed. If a
rule is changed on purpose, the new hash goes in with the change and its reason.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import re
from collections import Counter
from pathlib import Path

from curate.document import Document
from curate.stages import stage_class

# web.yaml's order and options
STAGES = [
    ("gopher_repetition", {}),
    ("gopher_quality", {}),
    ("c4_quality", {"require_terminal_punctuation": False}),
    ("fineweb_quality", {}),
]
PINNED = "ca29a352e3c3fa92f3c1b274556c4d6b3e93f5bef634dec7e60009536e01781b"


def real_documents(shared_data: Path) -> list[tuple[str, str, str | None]]:
    """(id, text, language): 200 human-cleaned articles with real line breaks (html-cleaning-gold, tags
    removed) and the first 200 pages of the multilingual register corpus (one line each)."""
    found = []
    with gzip.open(shared_data / "html-cleaning-gold" / "docs.jsonl.gz", "rt", encoding="utf-8") as f:
        for row in map(json.loads, f):
            if (row.get("gold_text") or "").strip():
                found.append((row["id"], html.unescape(re.sub(r"<[phl]>", "", row["gold_text"])).strip(), None))
            if len(found) == 200:
                break
    with gzip.open(shared_data / "web-text-turku-register" / "docs.jsonl.gz", "rt", encoding="utf-8") as f:
        for row, _ in zip(map(json.loads, f), range(200)):
            found.append((row["id"], row["text"], row.get("lang")))
    return found


def decisions(rows: list[tuple[str, str, str | None]], shared: bool) -> list[list]:
    """[stage, id, verdict, sha1 of the text after the stage] for every stage on every document; with
    `shared`, one Document goes through all four stages (their analysis cache in play)."""
    out = []
    docs = [Document(id=i, text=t, signals={"language": lang} if lang else {}) for i, t, lang in rows]
    for name, options in STAGES:
        stage = stage_class(name)(**options)
        if not shared:
            docs = [Document(id=d.id, text=d.text, signals=dict(d.signals)) for d in docs]
        for doc, verdict in zip(docs, stage.process(docs)):
            out.append([name, doc.id, verdict, hashlib.sha1(doc.text.encode()).hexdigest()[:12]])
    return out


def test_decisions_are_pinned(shared_data: Path) -> None:
    rows = real_documents(shared_data)
    assert len(rows) == 400
    pinned = decisions(rows, shared=True)
    assert decisions(rows, shared=False) == pinned  # the shared analysis changes nothing
    reasons = Counter((stage, verdict) for stage, _, verdict, _ in pinned)
    assert sum(n for (_, v), n in reasons.items() if v is None) > 400  # most documents pass most stages
    assert len([key for key in reasons if key[1] is not None]) >= 8  # and many rules fire
    digest = hashlib.sha256(json.dumps(pinned).encode()).hexdigest()
    assert digest == PINNED, sorted(reasons.items(), key=str)
