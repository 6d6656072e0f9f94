"""Each heuristic rule against its paper and datatrove: datatrove's own filter test cases as fixtures,
and small cases for every place where curate's definition is chosen (see each stage's docstring table).

The live side-by-side run with datatrove on real pages is `bench/bench_parity.py`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curate.document import Document
from curate.stages import stage_class
from curate.stages.c4_quality import C4Quality
from curate.stages.fineweb_quality import FinewebQuality
from curate.stages.gopher_quality import GopherQuality
from curate.stages.gopher_repetition import GopherRepetition
from curate.stages.rules import RuleStage, rule_table

CASES = json.loads((Path(__file__).parent / "fixtures" / "datatrove_filter_cases.json").read_text())["cases"]
PROSE = (
    "The old lighthouse keeper walked along the shore every morning before dawn. He had lived there with "
    "his daughter for nearly thirty years. Ships that passed the rocky point at night relied on the lamp. "
    "In the winter storms the waves rose higher than the roof of the cottage, and she kept a record of it. "
    "One autumn evening a small fishing boat lost its way in the thick fog. "
)


def judge(stage: RuleStage, text: str, language: str | None = None) -> tuple[str | None, Document]:
    doc = Document(id="0", text=text, signals={"language": language} if language else {})
    return stage.process([doc])[0], doc


@pytest.mark.parametrize("case", CASES, ids=[f"{c['filter']}-{i}" for i, c in enumerate(CASES)])
def test_datatrove_filter_cases(case: dict) -> None:
    verdict, doc = judge(stage_class(case["stage"])(**case["options"]), case["text"])
    assert verdict == case["curate"]
    removed_by_datatrove = case["datatrove"] is not True
    if (verdict is not None) != removed_by_datatrove:
        assert "note" in case, "a different keep/remove decision must say why"
    if case["test"].endswith("test_removes_policy_lines_from_text"):
        assert doc.text == "Another valid line here today."


def test_the_fixtures_agree_with_datatrove_on_nearly_every_decision() -> None:
    same = [(c["curate"] is None) == (c["datatrove"] is True) for c in CASES]
    assert len(CASES) == 27 and sum(same) == 26  # the one difference: an empty text in gopher_repetition


@pytest.mark.parametrize("stage_class_", [GopherQuality, GopherRepetition, C4Quality, FinewebQuality])
def test_the_docstring_shows_the_rule_table(stage_class_: type[RuleStage]) -> None:
    """The table in each stage's docstring is the one the stage applies, bounds included."""
    import sys

    stage = stage_class_()
    assert rule_table(stage) in sys.modules[stage_class_.__module__].__doc__
    assert set(stage.thresholds()) == {rule.signal for rule in stage.rules}


def test_thresholds_come_from_the_rules() -> None:
    assert GopherQuality().thresholds()["gopher_words"] == 50
    assert GopherQuality(min_words=None).thresholds()["gopher_words"] == 100_000
    assert "gopher_words" not in GopherQuality(min_words=None, max_words=None).thresholds()
    assert GopherRepetition(max_top_ngram_chars={2: 0.3}).thresholds()["gopher_top_2gram"] == 0.3
    assert "gopher_top_3gram" not in GopherRepetition(max_top_ngram_chars={2: 0.3}).thresholds()


# --- Gopher quality --------------------------------------------------------------------------------


def test_stop_words_must_be_two_distinct_ones() -> None:
    """Paper: "at least two of the following English words"; datatrove PR 329 made it distinct."""
    only_the = " ".join(f"the word{i} stands here" for i in range(13)) + "."
    assert judge(GopherQuality(), only_the)[0] == "stop_words"
    assert judge(GopherQuality(), only_the + " And so on.")[0] is None


def test_a_url_is_one_word() -> None:
    """text.words() split a URL into 8 words: counts and mean lengths follow whitespace words now."""
    _, doc = judge(GopherQuality(), "See http://journal.um.ac.id/index.php/jip for the paper, (and) more.")
    assert doc.signals["gopher_words"] == 7
    assert doc.signals["gopher_mean_word_length"] == pytest.approx(sum(map(len, ["See", "http://journal.um.ac.id/index.php/jip", "for", "the", "paper", "and", "more"])) / 7)


def test_a_symbol_standing_alone_counts_against_the_alpha_share() -> None:
    """Paper: 80% of words hold a letter. datatrove leaves punctuation tokens out of the count; curate does not."""
    _, doc = judge(GopherQuality(), "Home | About | Contact | Shop | Blog")
    assert doc.signals["gopher_alpha_words"] == pytest.approx(5 / 9)


# --- Gopher repetition -------------------------------------------------------------------------------


def test_top_ngram_ties_go_to_the_first_one() -> None:
    """`I am` and `am Frank` both occur 3 times: the first (`I am`, 3 characters) is scored, as in datatrove."""
    text = "I am Frank, you are Jhon. I am Frank. I am Frank you are Jhon"
    _, doc = judge(GopherRepetition(), text)
    assert doc.signals["gopher_top_2gram"] == pytest.approx(3 * 3 / len(text))


def test_an_ngram_seen_once_is_no_repetition() -> None:
    _, doc = judge(GopherRepetition(), "Short unique words here")
    assert doc.signals["gopher_top_2gram"] == 0.0  # datatrove scores the single 2-gram: 10/23


# --- C4 --------------------------------------------------------------------------------------------


def test_c4_counts_words_per_line_by_whitespace() -> None:
    """The bug of issue 14: with require_terminal_punctuation false (web.yaml), a JSON-ish line of two
    whitespace words is a short line C4 drops, not a curly bracket that removes the page."""
    lines = [s.strip() + "." for s in PROSE.split(".") if s.strip()]
    text = "\n".join([*lines, "{'DOVER': 'https://example.com/a/b/c?d=1'}"])
    verdict, doc = judge(C4Quality(require_terminal_punctuation=False), text)
    assert verdict is None and "DOVER" not in doc.text and doc.signals["c4_lines_removed"] == 1
    assert judge(C4Quality(require_terminal_punctuation=False), text + " and three more words")[0] == "curly_bracket"


# --- FineWeb ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("end", "punctuated"), [(".", True), ("'", True), ('"', True), ("”", False), ("»", False), ("。", True)]
)
def test_fineweb_line_ends_are_finewebs(end: str, punctuated: bool) -> None:
    """FineWeb's code counts . ' " ! ? (and FineWeb-2 other scripts' sentence ends), not curly quotes or »."""
    _, doc = judge(FinewebQuality(), f"She said it was over{end}")
    assert doc.signals["fineweb_line_punct_ratio"] == (1.0 if punctuated else 0.0)
