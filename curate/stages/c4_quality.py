"""c4_quality: C4's cleaning rules (Raffel et al. 2020, section 2.2), which drop lines and whole pages.

Defaults are those of datatrove's `C4QualityFilter`, which FineWeb used. Each line is checked
against `LINE_RULES` in this order; the first that fires drops the line, or the whole page:

| reason | a line breaks it when | effect | judges |
| --- | --- | --- | --- |
| `long_word` | a whitespace token is longer than `max_word_length` (1,000) | line dropped | every document |
| (citations) | Wikipedia marks `[1]`, `[edit]`, `[citation needed]` are removed from the line first | | every document |
| `no_terminal_punctuation` | it does not end in terminal punctuation, or ends in `...` | line dropped | `languages` |
| `too_few_words` | fewer than `min_words_per_line` (3) whitespace tokens | line dropped | `languages` |
| `lorem_ipsum` | it contains "lorem ipsum" | page removed | every document |
| `javascript` | it contains "javascript" | line dropped | every document |
| `curly_bracket` | it contains `{` | page removed | every document |
| `policy` | it contains "terms of use", "privacy policy", a cookie notice | line dropped | every document |

Then the page rules of `rules` (`curate.stages.rules`):

| reason | removes when | judges |
| --- | --- | --- |
| `too_few_sentences` | `c4_sentences` < 5 | documents in `languages` (unlabelled ones: written with spaces) |

and a page left with no line (say, only citations) is removed as `no_lines`.

As in C4, a page rule only sees lines that survived the line rules before it: `{'DOVER': 'x'}`
has two words, so it is dropped as a short line before the curly bracket is seen.

| quantity | paper | curate | datatrove 0.10.1 |
| --- | --- | --- | --- |
| lines | "lines" (TFDS: `splitlines()`) | `text.split("\\n")`, stripped, and stripped again after citation removal | `splitlines()` (also `\\r`, `\\x85`, `\\u2028`...), stripped before citation removal only |
| words per line | "lines that contained at least 5 words" (TFDS `c4_utils`: 5 words, 3 sentences; datatrove swaps them to 3 and 5, FineWeb's setting, kept here) | `line.split()` after citation removal | `line.split()` before citation removal |
| terminal punctuation | "a period, exclamation mark, question mark, or end quotation mark" (TFDS: `. ? ! "`) | `. ! ? " '`, the closing quotes `” ’ »  」 』`, and other scripts' sentence ends `。！？।؟۔።` | `. ? ! " '` |
| sentences | "fewer than 5 sentences" (punkt) | sentence ends (`. ! ?` before a space or the end, `。！？...`) in kept lines, at least one a line | NLTK punkt over each kept line |

This stage REWRITES the text to its kept lines (a blank line stays between kept lines that had
one between them, so paragraphs survive). `c4_lines_removed` records how many non-empty lines went
(null when a page rule removed the whole document). In annotate mode the text is left as it was
and `c4_lines_removed` says what filter mode would drop. The stage's counters count the dropped
lines by rule (`lines_removed:javascript`, `lines_removed:too_few_words`, ...). Thai, Lao, Khmer...
do not end sentences with punctuation and CJK lines are short in words, so the punctuation,
words-per-line and sentence rules judge only documents in `languages` (default: every language
written with spaces).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

import pyarrow as pa

from ..analysis import analysis_of
from ..document import Document
from ..text import TERMINAL_PUNCTUATION, count_sentences
from ..options import option
from .base import Signal, Verdict
from .rules import Rule, RuleOptions, RuleStage, Scope

CITATION = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]", re.IGNORECASE)
POLICY_PHRASES = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")


@dataclass(frozen=True)
class LineRule:
    """A line breaks it when `breaks(line, lowered, bound)` and the stage's option `option` is set
    (null or false switches it off); `page` rules remove the whole document, the others the line.
    `needles`: a line breaks it only if its lowered form holds one of them, so a page without any
    skips the rule (the lowered page, citations removed, holds every lowered line)."""

    reason: str
    option: str
    scope: Scope
    page: bool
    breaks: Callable[[str, str, object], bool]
    needles: tuple[str, ...] = ()


# A whitespace token longer than n, found without splitting the line (`\s` is `str.split`'s whitespace).
LONG_WORD = LineRule(
    "long_word",
    "max_word_length",
    "all",
    False,
    lambda line, _, n: len(line) > n and re.search(rf"(?<!\S)\S{{{n + 1}}}", line) is not None,
)
# Checked in this order after the long-word rule and citation removal (the table above).
LINE_RULES = (
    LineRule(
        "no_terminal_punctuation",
        "require_terminal_punctuation",
        "languages",
        False,
        lambda line, _, __: not line.endswith(TERMINAL_PUNCTUATION) or line.endswith("..."),
    ),
    # fewer than n whitespace tokens: splitting off at most n of them says as much as splitting them all
    LineRule("too_few_words", "min_words_per_line", "languages", False, lambda line, _, n: len(line.split(None, n - 1)) < n),
    LineRule("lorem_ipsum", "remove_lorem_ipsum", "all", True, lambda _, lowered, __: "lorem ipsum" in lowered, ("lorem ipsum",)),
    LineRule("javascript", "drop_javascript_lines", "all", False, lambda _, lowered, __: "javascript" in lowered, ("javascript",)),
    LineRule("curly_bracket", "remove_curly_brackets", "all", True, lambda line, _, __: "{" in line, ("{",)),
    LineRule(
        "policy",
        "drop_policy_lines",
        "all",
        False,
        lambda _, lowered, __: any(p in lowered for p in POLICY_PHRASES),
        POLICY_PHRASES,
    ),
)


@dataclass(frozen=True, kw_only=True)
class C4QualityOptions(RuleOptions):
    """A null number or false switches its rule off; `languages` limits the punctuation,
    words-per-line and sentence rules."""

    max_word_length: int | None = option(1000, "a line with a longer whitespace token is dropped", ge=1)
    remove_citations: bool = option(True, "remove Wikipedia citation marks ([1], [edit], [citation needed])")
    require_terminal_punctuation: bool = option(True, "drop lines not ending in terminal punctuation (web.yaml: false)")
    min_words_per_line: int | None = option(3, "drop lines with fewer whitespace tokens", ge=0)
    min_sentences: int | None = option(5, "remove a document with fewer sentences in its kept lines", ge=0)
    remove_lorem_ipsum: bool = option(True, "remove a document with a line containing 'lorem ipsum'")
    drop_javascript_lines: bool = option(True, "drop lines containing 'javascript'")
    remove_curly_brackets: bool = option(True, "remove a document with a kept line containing '{'")
    drop_policy_lines: bool = option(True, "drop lines about terms of use, privacy or cookie policies")


class C4Quality(RuleStage):
    name = "c4_quality"
    signals = {
        "c4_lines_removed": Signal(pa.int32(), bins=(1, 1e4, 40), log=True),
        "c4_sentences": Signal(pa.int32(), bins=(1, 1e4, 40), log=True),
    }
    rules = (
        Rule("too_few_sentences", "c4_sentences", "min_sentences", "<", "languages"),
    )

    Options = C4QualityOptions
    options: C4QualityOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.line_rules = [
            (rule, getattr(self.options, rule.option))
            for rule in LINE_RULES
            if getattr(self.options, rule.option) not in (None, False)
        ]

    def judge(self, doc: Document) -> Verdict:
        """Keep the lines C4 keeps; remove the document when a page rule fires or too little is left."""
        analysis = analysis_of(doc)
        scopes = self.scopes(doc, analysis)
        line_rules = [(rule, bound) for rule, bound in self.line_rules if scopes[rule.scope]]
        if any(rule.needles for rule, _ in line_rules):
            page = self._cited(doc.text).lower()
            line_rules = [(rule, bound) for rule, bound in line_rules if not rule.needles or any(n in page for n in rule.needles)]
        lower = any(rule.needles for rule, _ in line_rules)
        long_words = self.options.max_word_length is not None and analysis.longest_token > self.options.max_word_length
        kept: list[str] = []  # kept lines, with "" where a paragraph break separated them
        dropped: Counter[str] = Counter()  # lines dropped, by rule
        sentences = 0
        paragraph_break = False
        for line in doc.text.split("\n"):
            line = line.strip()
            if not line:
                paragraph_break = True
                continue
            line, rule = self._check_line(line, line_rules, lower, long_words)
            if rule is not None and rule.page:
                return rule.reason
            if rule is not None:
                dropped[f"lines_removed:{rule.reason}"] += 1
                continue
            if not line:
                dropped["lines_removed:only_citations"] += 1
                continue
            if paragraph_break and kept:
                kept.append("")
            paragraph_break = False
            kept.append(line)
            sentences += max(1, count_sentences(line))
        doc.signals["c4_lines_removed"] = dropped.total()
        self.tally.update(dropped)
        values = {"c4_sentences": sentences} if scopes["languages"] else {}
        doc.signals.update(values)
        verdict = self.first_broken(values)
        if verdict is None and not kept:
            verdict = "no_lines"
        if verdict is None and self.mode == "filter":
            doc.text = "\n".join(kept)
        return verdict

    def line_verdict(self, line: str, judged: bool = True) -> str | None:
        """The rule that drops (or, for a page rule, removes the page over) one stripped line; None keeps
        it. `judged`: the document is one the `languages` rules judge. For measuring line rules alone."""
        rules = [(rule, bound) for rule, bound in self.line_rules if judged or rule.scope == "all"]
        line, rule = self._check_line(line, rules, any(rule.needles for rule, _ in rules))
        return rule.reason if rule is not None else None if line else "only_citations"

    def _cited(self, text: str) -> str:
        """The text without citation marks, when the stage removes them."""
        return CITATION.sub("", text) if self.options.remove_citations and "[" in text else text

    def _check_line(
        self, line: str, line_rules: list[tuple[LineRule, object]], lower: bool, long_words: bool = True
    ) -> tuple[str, LineRule | None]:
        """The stripped line after citation removal, and the first rule that drops it (or removes the page).
        `lower`: some rule reads the lowered line (has needles); `long_words`: false where the page holds
        no whitespace token longer than `max_word_length`."""
        if long_words and self.options.max_word_length is not None and LONG_WORD.breaks(line, "", self.options.max_word_length):
            return line, LONG_WORD
        line = self._cited(line).strip()
        lowered = line.lower() if lower else ""
        for rule, bound in line_rules:
            if rule.breaks(line, lowered, bound):
                return line, rule
        return line, None
