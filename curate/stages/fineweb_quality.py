"""fineweb_quality: FineWeb's extra line rules (Penedo et al. 2024), which catch lists, menus and repeated lines.

Defaults are the published ones, as in datatrove's `FineWebQualityFilter`. Rules, in the order
they are checked, each with its own reason:

| reason | removes a document when | languages |
| --- | --- | --- |
| `line_punct_ratio` | at most 12% of lines end in terminal punctuation | `languages` |
| `short_line_ratio` | at least 67% of lines are at most 30 characters long | `languages` |
| `dup_line_chars` | lines that repeat an earlier line hold at least 1% of the characters (newlines left out) | all |
| `newline_ratio` | more than 0.3 line breaks per word (a list, not prose) | all |

Lines are the non-empty lines: blank lines are paragraph layout, and counting them (as datatrove
does on text with single newlines) would make every paragraph break a "short line without
punctuation". Terminal punctuation includes full-width and other scripts' sentence ends; words are
`curate.text.words()`, so a CJK or Thai line has as many words as characters. Lines in scripts
written without spaces hold a sentence in under 30 characters, and Thai does not end sentences
with punctuation, so the punctuation and short-line rules judge only documents in `languages`
(default: every language written with spaces; see `curate.text.rule_applies`).
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa

from ..document import Document
from ..text import TERMINAL_PUNCTUATION, lines, rule_applies, words
from .base import Signal, Stage, Verdict


class FinewebQuality(Stage):
    name = "fineweb_quality"
    signals = {
        "fineweb_line_punct_ratio": Signal(pa.float32(), bins=(0, 1, 50)),
        "fineweb_short_line_ratio": Signal(pa.float32(), bins=(0, 1, 50)),
        "fineweb_dup_line_chars": Signal(pa.float32(), bins=(0, 0.2, 50)),
        "fineweb_newline_ratio": Signal(pa.float32(), bins=(0, 1, 50)),
    }

    def __init__(
        self,
        min_line_punct_ratio: float | None = 0.12,
        max_short_line_ratio: float | None = 0.67,
        short_line_length: int = 30,
        max_dup_line_chars: float | None = 0.01,
        max_newline_ratio: float | None = 0.3,
        languages: list[str] | None = None,
        mode: Literal["filter", "annotate"] = "filter",
    ) -> None:
        """Thresholds keep datatrove's comparisons: removed when the punctuated share is <= its
        minimum, the short-line share or duplicated characters >= their maximum, and the newline
        ratio > its maximum. Null switches a rule off."""
        super().__init__(mode)
        self.min_line_punct_ratio = min_line_punct_ratio
        self.max_short_line_ratio = max_short_line_ratio
        self.short_line_length = short_line_length
        self.max_dup_line_chars = max_dup_line_chars
        self.max_newline_ratio = max_newline_ratio
        self.languages = None if languages is None else list(languages)

    def thresholds(self) -> dict[str, float]:
        cuts = {
            "fineweb_line_punct_ratio": self.min_line_punct_ratio,
            "fineweb_short_line_ratio": self.max_short_line_ratio,
            "fineweb_dup_line_chars": self.max_dup_line_chars,
            "fineweb_newline_ratio": self.max_newline_ratio,
        }
        return {k: float(v) for k, v in cuts.items() if v is not None}

    def process(self, docs: list[Document]) -> list[Verdict]:
        return [self.judge(doc) for doc in docs]

    def judge(self, doc: Document) -> Verdict:
        """Record every signal, then name the first rule the document breaks."""
        text = doc.text
        text_lines = lines(text)
        n_lines = len(text_lines) or 1
        line_chars = sum(map(len, text_lines)) or 1
        dup_line_chars = (sum(map(len, text_lines)) - sum(map(len, set(text_lines)))) / line_chars
        n_words = len(words(text))
        newline_ratio = max(len(text_lines) - 1, 0) / n_words if n_words else 0.0
        signals = doc.signals
        signals["fineweb_dup_line_chars"] = dup_line_chars
        signals["fineweb_newline_ratio"] = newline_ratio
        prose_rules = rule_applies(self.languages, signals.get("language"), text)
        if prose_rules:
            punct = sum(1 for line in text_lines if line.endswith(TERMINAL_PUNCTUATION)) / n_lines
            short = sum(1 for line in text_lines if len(line) <= self.short_line_length) / n_lines
            signals["fineweb_line_punct_ratio"] = punct
            signals["fineweb_short_line_ratio"] = short
            if self.min_line_punct_ratio is not None and punct <= self.min_line_punct_ratio:
                return "line_punct_ratio"
            if self.max_short_line_ratio is not None and short >= self.max_short_line_ratio:
                return "short_line_ratio"
        if self.max_dup_line_chars is not None and dup_line_chars >= self.max_dup_line_chars:
            return "dup_line_chars"
        if self.max_newline_ratio is not None and newline_ratio > self.max_newline_ratio:
            return "newline_ratio"
        return None
