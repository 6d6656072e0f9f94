"""c4_quality: C4's cleaning rules (Raffel et al. 2020, section 2.2), which drop lines and whole pages.

Defaults are the published ones, as in datatrove's `C4QualityFilter` and TensorFlow Datasets'
`c4_utils.clean_page`. Each line is checked in this order:

| rule | effect | languages |
| --- | --- | --- |
| a word longer than 1,000 characters | line dropped | all |
| Wikipedia citation marks (`[1]`, `[edit]`, `[citation needed]`) | removed from the line | all |
| does not end in terminal punctuation, or ends in `...` | line dropped | `languages` |
| fewer than 3 words | line dropped | `languages` |
| contains "lorem ipsum" | document removed: `lorem_ipsum` | all |
| contains "javascript" | line dropped | all |
| contains a curly bracket `{` | document removed: `curly_bracket` | all |
| contains "terms of use", "privacy policy", cookie notices | line dropped | all |

Then a document with fewer than 5 sentences in its kept lines is removed (`too_few_sentences`,
for `languages`), and one left with no line at all is removed as `no_lines`. As in C4, the page
rules only look at lines that survived the line rules before them.

This stage REWRITES the text to its kept lines (a blank line stays between kept lines that had
one between them, so paragraphs survive). `c4_lines_removed` records how many non-empty lines went
(null when a page rule removed the whole document). In annotate mode the text is left as it was
and `c4_lines_removed` says what filter mode would drop. The stage's counters count the dropped
lines by rule (`lines_removed:javascript`, `lines_removed:too_few_words`, ...).

Terminal punctuation includes full-width and other scripts' sentence ends (`。！？।؟`) and closing
quotes; words are `curate.text.words()`; sentences are counted by their ends (C4 used NLTK's punkt,
which knows abbreviations). Thai, Lao, Khmer... do not end sentences with punctuation and CJK lines
are short in characters, so the punctuation, words-per-line and sentence rules judge only documents
in `languages` (default: every language written with spaces; see `curate.text.rule_applies`).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Literal

import pyarrow as pa

from ..document import Document
from ..text import TERMINAL_PUNCTUATION, count_sentences, rule_applies, words
from .base import Signal, Stage, Verdict

CITATION = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]", re.IGNORECASE)
PAGE_RULES = ("lorem_ipsum", "curly_bracket")  # a line that breaks these removes the whole document
POLICY_PHRASES = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")


class C4Quality(Stage):
    name = "c4_quality"
    signals = {
        "c4_lines_removed": Signal(pa.int32(), bins=(1, 1e4, 40), log=True),
        "c4_sentences": Signal(pa.int32(), bins=(1, 1e4, 40), log=True),
    }

    def __init__(
        self,
        max_word_length: int | None = 1000,
        remove_citations: bool = True,
        require_terminal_punctuation: bool = True,
        min_words_per_line: int | None = 3,
        min_sentences: int | None = 5,
        remove_lorem_ipsum: bool = True,
        drop_javascript_lines: bool = True,
        remove_curly_brackets: bool = True,
        drop_policy_lines: bool = True,
        languages: list[str] | None = None,
        mode: Literal["filter", "annotate"] = "filter",
    ) -> None:
        """A null number or false switches its rule off. `languages` limits the punctuation,
        words-per-line and sentence rules (null: every language written with spaces)."""
        super().__init__(mode)
        self.max_word_length = max_word_length
        self.remove_citations = remove_citations
        self.require_terminal_punctuation = require_terminal_punctuation
        self.min_words_per_line = min_words_per_line
        self.min_sentences = min_sentences
        self.remove_lorem_ipsum = remove_lorem_ipsum
        self.drop_javascript_lines = drop_javascript_lines
        self.remove_curly_brackets = remove_curly_brackets
        self.drop_policy_lines = drop_policy_lines
        self.languages = None if languages is None else list(languages)

    def thresholds(self) -> dict[str, float]:
        return {} if self.min_sentences is None else {"c4_sentences": float(self.min_sentences)}

    def process(self, docs: list[Document]) -> list[Verdict]:
        return [self.judge(doc) for doc in docs]

    def judge(self, doc: Document) -> Verdict:
        """Keep the lines C4 keeps; remove the document when a page rule fires or too little is left."""
        prose_rules = rule_applies(self.languages, doc.signals.get("language"), doc.text)
        kept: list[str] = []  # kept lines, with "" where a paragraph break separated them
        dropped: Counter[str] = Counter()  # lines dropped, by rule
        sentences = 0
        paragraph_break = False
        for line in doc.text.split("\n"):
            line = line.strip()
            if not line:
                paragraph_break = True
                continue
            line, rule = self._check_line(line, prose_rules)
            if rule in PAGE_RULES:
                return rule
            if rule is not None:
                dropped[f"lines_removed:{rule}"] += 1
                continue
            if paragraph_break and kept:
                kept.append("")
            paragraph_break = False
            kept.append(line)
            sentences += max(1, count_sentences(line))
        doc.signals["c4_lines_removed"] = dropped.total()
        self.tally.update(dropped)
        if prose_rules:
            doc.signals["c4_sentences"] = sentences
            if self.min_sentences is not None and sentences < self.min_sentences:
                return "too_few_sentences"
        if not kept:
            return "no_lines"
        if self.mode == "filter":
            doc.text = "\n".join(kept)
        return None

    def _check_line(self, line: str, prose_rules: bool) -> tuple[str, str | None]:
        """The line after citation removal, and the first rule that drops it (a page rule removes
        the whole document), in the order of the table above; None keeps it."""
        if self.max_word_length is not None and any(len(w) > self.max_word_length for w in line.split()):
            return line, "long_word"
        if self.remove_citations:
            line = CITATION.sub("", line).strip()
        if prose_rules and self.require_terminal_punctuation and (
            not line.endswith(TERMINAL_PUNCTUATION) or line.endswith("...")
        ):
            return line, "no_terminal_punctuation"
        if prose_rules and self.min_words_per_line is not None and len(words(line)) < self.min_words_per_line:
            return line, "too_few_words"
        lowered = line.lower()
        if self.remove_lorem_ipsum and "lorem ipsum" in lowered:
            return line, "lorem_ipsum"
        if self.drop_javascript_lines and "javascript" in lowered:
            return line, "javascript"
        if self.remove_curly_brackets and "{" in line:
            return line, "curly_bracket"
        if self.drop_policy_lines and any(phrase in lowered for phrase in POLICY_PHRASES):
            return line, "policy"
        if not line:
            return line, "only_citations"
        return line, None
