"""decontaminate and the n-gram definition it shares with `curate ablate`: small cases written here, and real
Reuters articles and register pages from ../shared/data."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from curate.config import parse_config
from curate.document import Document
from curate.errors import ConfigError, CurateError
from curate.evalsets import domain_names, domain_texts
from curate.ngrams import contains, ngram_hashes, ngram_set
from curate.stages.decontaminate import Decontaminate
from curate.stats import StageStats

SENTENCE = "the quick brown fox jumps over the lazy dog while the cat sleeps on a warm mat"  # 17 words


def _stage(tmp_path: Path, texts: list[str], **options) -> Decontaminate:
    (tmp_path / "eval.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    stage = Decontaminate(against=str(tmp_path / "eval.jsonl"), **options)
    stage.ensure_setup()
    return stage


def test_ngrams_ignore_case_punctuation_spacing_and_wrapping() -> None:
    variants = [SENTENCE, SENTENCE.upper(), SENTENCE.replace(" ", "\n  "), SENTENCE.replace("fox", "fox,").replace("dog", "dog ;")]
    hashes = [ngram_hashes(v, 13) for v in variants]
    assert len(hashes[0]) == 17 - 13 + 1
    assert all((h == hashes[0]).all() for h in hashes)
    assert (ngram_hashes("O'Reilly 's book is on the shelf", 3) == ngram_hashes("O'Reilly's book is on the shelf", 3)).all()
    assert len(ngram_hashes("too short to hold one", 13)) == 0
    reference = ngram_set([SENTENCE], 13)
    assert contains(reference, ngram_hashes("I saw that " + SENTENCE + " today", 13)).sum() == 5
    assert not contains(reference, ngram_hashes(SENTENCE.replace("lazy", "sleepy"), 13)).any()  # every window holds the change


def test_stage_removes_only_documents_sharing_an_ngram(tmp_path: Path) -> None:
    stage = _stage(tmp_path, [SENTENCE])
    twelve_words = " ".join(SENTENCE.split()[:12])
    docs = [Document("copy", "Intro. " + SENTENCE.title() + "!"), Document("twelve", twelve_words + " and more words here"),
            Document("other", "an unrelated page about the weather in spring and autumn in the north")]
    kept, removed = stage(docs, StageStats("decontaminate"))
    assert [d.id for d in kept] == ["twelve", "other"]
    assert [(d.id, reason) for d, reason in removed] == [("copy", "eval_overlap")]
    assert [d.signals["eval_overlaps"] for d in docs] == [5, 0, 0]


def test_min_overlaps_ngram_size_and_annotate(tmp_path: Path) -> None:
    doc = lambda: [Document("copy", SENTENCE)]  # noqa: E731 - a fresh document per call
    assert _stage(tmp_path, [SENTENCE], min_overlaps=6)(doc(), StageStats("d"))[1] == []  # 5 shared < 6
    assert len(_stage(tmp_path, [SENTENCE], ngram=8)(doc(), StageStats("d"))[1]) == 1
    kept, removed = _stage(tmp_path, [SENTENCE], mode="annotate")(doc(), StageStats("d"))
    assert not removed and kept[0].signals["decontaminate_reason"] == "eval_overlap"


def test_a_pickled_stage_rebuilds_its_reference(tmp_path: Path) -> None:
    import pickle

    stage = pickle.loads(pickle.dumps(_stage(tmp_path, [SENTENCE])))
    assert stage.reference is None
    assert [reason for _, reason in stage([Document("copy", SENTENCE)], StageStats("d"))[1]] == ["eval_overlap"]


def test_options_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="decontaminate.ngram: expected an integer >= 1, got 0"):
        Decontaminate(against="x", ngram=0)
    with pytest.raises(ConfigError, match="decontaminate.min_overlaps: expected an integer >= 1"):
        Decontaminate(against="x", min_overlaps=0)
    with pytest.raises(ConfigError, match="decontaminate.against: give the evaluation texts"):
        Decontaminate()
    with pytest.raises(ConfigError, match="against: expected a string or a list of a string"):
        parse_config({"input": {"paths": ["x"]}, "stages": [{"decontaminate": {"against": 3}}]})
    with pytest.raises(CurateError, match="evaluation text not found: .*missing"):
        Decontaminate(against=str(tmp_path / "missing")).setup()


def test_domains_of_every_kind(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text("a whole book")
    (tmp_path / "folder").mkdir()
    for name in ("b", "a"):
        (tmp_path / "folder" / f"{name}.txt").write_text(f"document {name}")
    (tmp_path / "news").mkdir()
    with gzip.open(tmp_path / "news" / "docs.jsonl.gz", "wt") as file:
        file.write('{"text": "first"}\n\n{"text": "second", "id": 2}\n')
    paths = [str(tmp_path / "one.txt"), str(tmp_path / "folder"), str(tmp_path / "news" / "docs.jsonl.gz")]
    assert [list(domain_texts(p)) for p in paths] == [["a whole book"], ["document a", "document b"], ["first", "second"]]
    assert domain_names(paths) == ["one", "folder", "news"]
    (tmp_path / "bad.jsonl").write_text('{"body": "x"}\n')
    with pytest.raises(CurateError, match="bad.jsonl: record 1 has no field 'text'; fields: body"):
        list(domain_texts(str(tmp_path / "bad.jsonl")))


def test_real_articles_copied_into_web_pages_are_found(shared_data: Path, tmp_path: Path) -> None:
    """Five Reuters articles as the evaluation set; register pages never match them, and each article pasted into a
    register page, re-wrapped and lowercased, is removed."""
    with gzip.open(shared_data / "news-reuters21578" / "docs.jsonl.gz", "rt") as lines:
        articles = [json.loads(next(lines))["text"] for _ in range(40)]
    articles = [a for a in articles if len(a.split()) > 60][:5]
    with gzip.open(shared_data / "web-text-turku-register" / "docs.jsonl.gz", "rt") as lines:
        pages = [json.loads(next(lines))["text"] for _ in range(300)]
    stage = _stage(tmp_path, articles)
    clean = [Document(f"page{i}", text) for i, text in enumerate(pages)]
    pasted = [Document(f"pasted{i}", pages[i] + " " + " ".join(a.lower().split())) for i, a in enumerate(articles)]
    kept, removed = stage(clean + pasted, StageStats("decontaminate"))
    assert sorted(d.id for d, _ in removed) == [f"pasted{i}" for i in range(len(articles))]
    assert len(kept) == len(pages)
