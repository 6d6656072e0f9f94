"""Normalization speed: the normalize stage against plain `ftfy.fix_text`, same texts, same run.

Five sets, then the first three mixed with some lossy mojibake: English prose (mostly ASCII, the
stage's fast path), clean text in 75 languages (non-ASCII that needs nothing: ftfy's badness check
instead of a full fix), Common Crawl text in many languages (what the filter benchmark feeds it), the
multilingual text with lossy mojibake (the stage runs ftfy, then its own repair) and the chardet test
files read with the wrong code page (mojibake that is no UTF-8: every check fires, the repair proves
nothing). The stage also tidies whitespace and control characters, which `fix_text` does not.
"""

from __future__ import annotations

import gzip
import json
import os
import tarfile
import time
from pathlib import Path

import ftfy

from curate.document import Document
from curate.stages.normalize import Normalize
from curate.stats import StageStats

SHARED_DATA = Path(os.environ.get("CURATE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
DOC_CHARS = 2000
SENTENCES_PER_DOC = 10
BATCH = 200


def english_docs() -> list[str]:
    text = (SHARED_DATA / "wikitext2-valid-test" / "valid.txt").read_text(encoding="utf-8")
    docs, current = [], ""
    for paragraph in text.split("\n"):
        current += paragraph + "\n"
        if len(current) >= DOC_CHARS:
            docs.append(current)
            current = ""
    return docs


def multilingual_docs(per_language: int) -> list[str]:
    folder = SHARED_DATA / "lingua-langid-testdata" / "language-testdata" / "sentences"
    docs = []
    for path in sorted(folder.glob("*.txt")):
        sentences = path.read_text(encoding="utf-8").split("\n")
        step = SENTENCES_PER_DOC
        docs += [" ".join(sentences[i : i + step]) for i in range(0, per_language * step, step)]
    return docs


def web_docs() -> list[str]:
    docs = []
    for path in sorted((SHARED_DATA / "cc-text-jsonl-dolma").glob("*.jsonl*")):
        with (gzip.open if path.suffix == ".gz" else open)(path, "rt", encoding="utf-8") as lines:
            docs += [json.loads(line)["text"] for line in lines if line.strip()]
    return docs


def wrong_code_page_docs(chars: int = DOC_CHARS) -> list[str]:
    """The chardet test files (many single-byte and multi-byte encodings) all read as Windows-1252."""
    with tarfile.open(SHARED_DATA / "encoding-detection-corpus" / "chardet-tests-by-encoding.tar.gz") as tar:
        files = {member.name: tar.extractfile(member).read() for member in tar if member.isfile()}  # type: ignore[union-attr]
    return [files[name].decode("cp1252", errors="ignore")[:chars] for name in sorted(files)]


def damaged(docs: list[str]) -> list[str]:
    """UTF-8 read as Windows-1252, undefined bytes dropped (ASCII-only documents left out)."""
    out = [doc.encode("utf-8").decode("cp1252", errors="ignore") for doc in docs]
    return [d for d, doc in zip(out, docs) if d != doc]


def time_stage(texts: list[str], stage: Normalize) -> float:
    docs = [Document(id=str(i), text=t) for i, t in enumerate(texts)]
    stats = StageStats(name="normalize")
    started = time.perf_counter()
    for start in range(0, len(docs), BATCH):
        stage(docs[start : start + BATCH], stats)
    return time.perf_counter() - started


def time_ftfy(texts: list[str]) -> float:
    started = time.perf_counter()
    for text in texts:
        ftfy.fix_text(text)
    return time.perf_counter() - started


def main() -> None:
    stage = Normalize()
    stage.ensure_setup()
    english = english_docs()
    multilingual = multilingual_docs(per_language=8)
    web = web_docs()
    broken = damaged(multilingual[::4])
    sets = {"english": english, "multilingual": multilingual, "web": web, "lossy mojibake": broken}
    sets["wrong code page"] = wrong_code_page_docs()
    clean = english + multilingual + web
    sets["mix (5% damaged)"] = clean + broken[: len(clean) // 20]
    print(f"{'set':<18} {'docs':>6} {'MB':>6} {'stage docs/s':>13} {'MB/s':>7} {'ftfy docs/s':>12} {'MB/s':>7} {'ratio':>6}")
    for name, texts in sets.items():
        megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
        stage_s = time_stage(texts, stage)
        ftfy_s = time_ftfy(texts)
        print(
            f"{name:<18} {len(texts):>6} {megabytes:>6.2f} {len(texts) / stage_s:>13.0f} {megabytes / stage_s:>7.2f} "
            f"{len(texts) / ftfy_s:>12.0f} {megabytes / ftfy_s:>7.2f} {ftfy_s / stage_s:>5.2f}x"
        )


if __name__ == "__main__":
    main()
