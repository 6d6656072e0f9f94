"""fineweb_quality: FineWeb's extra line rules (Penedo et al. 2024), which catch lists, menus and repeated lines.

Defaults and comparisons are FineWeb's (the datatrove code that made FineWeb). Rules, in the order
they are checked (`curate.stages.rules`):

| reason | removes when | judges |
| --- | --- | --- |
| `line_punct_ratio` | `fineweb_line_punct_ratio` <= 0.12 | documents in `languages` (unlabelled ones: written with spaces) |
| `short_line_ratio` | `fineweb_short_line_ratio` >= 0.67 | documents in `languages` (unlabelled ones: written with spaces) |
| `dup_line_chars` | `fineweb_dup_line_chars` >= 0.01 | every document |
| `newline_ratio` | `fineweb_newline_ratio` > 0.3 | every document |

What each signal counts:

| signal | paper / FineWeb's code | curate | datatrove 0.10.1 |
| --- | --- | --- | --- |
| lines | `text.split("\\n")` (blank lines too) | non-empty lines, stripped: counting blank ones would make every paragraph break a "short line without punctuation" | non-empty lines, not stripped (a trailing space hides the line's end) |
| line ends in punctuation | `. ' " ! ?` | `. ' " ! ?` as FineWeb, and other scripts' sentence ends `。！？।؟۔።` (FineWeb-2's list holds them); no closing curly quotes or `»`, which neither counts | a 159-mark multilingual list without `'` or `"`; compared with `<` |
| short lines | at most 30 characters | the same | the same; compared with `>` |
| duplicated line characters | characters of lines repeating an earlier one, over the text's characters without newlines | the same over non-empty stripped lines | the same; compared with `>` |
| newline ratio | newlines / words (NLTK tokens) | line breaks between non-empty lines / `text.spaced_words` | newlines / its tokens |

Lines in scripts written without spaces hold a sentence in under 30 characters, and Thai does not
end sentences with punctuation, so the punctuation and short-line rules judge only documents in
`languages` (default: every language written with spaces).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from ..analysis import TextAnalysis
from .base import Signal
from ..options import option
from .rules import Rule, RuleOptions, RuleStage, Scope

# FineWeb's line ends (datatrove's original `stop_chars`), and the sentence ends of other scripts.
LINE_ENDS = (".", "'", '"', "!", "?", "。", "！", "？", "।", "؟", "۔", "።")


@dataclass(frozen=True, kw_only=True)
class FinewebQualityOptions(RuleOptions):
    """Null switches a rule off; the comparisons are FineWeb's (see the table above)."""

    min_line_punct_ratio: float | None = option(0.12, "a share of punctuated lines at or below this removes a document", ge=0, le=1)
    max_short_line_ratio: float | None = option(0.67, "a share of short lines at or above this removes it", ge=0, le=1)
    short_line_length: int = option(30, "a line of at most this many characters is short", ge=0)
    max_dup_line_chars: float | None = option(0.01, "a share of characters in repeated lines at or above this removes it", ge=0, le=1)
    max_newline_ratio: float | None = option(0.3, "more line breaks per word remove it", ge=0)


class FinewebQuality(RuleStage):
    name = "fineweb_quality"
    signals = {
        "fineweb_line_punct_ratio": Signal(pa.float32(), bins=(0, 1, 50)),
        "fineweb_short_line_ratio": Signal(pa.float32(), bins=(0, 1, 50)),
        "fineweb_dup_line_chars": Signal(pa.float32(), bins=(0, 0.2, 50)),
        "fineweb_newline_ratio": Signal(pa.float32(), bins=(0, 1, 50)),
    }
    rules = (
        Rule("line_punct_ratio", "fineweb_line_punct_ratio", "min_line_punct_ratio", "<=", "languages"),
        Rule("short_line_ratio", "fineweb_short_line_ratio", "max_short_line_ratio", ">=", "languages"),
        Rule("dup_line_chars", "fineweb_dup_line_chars", "max_dup_line_chars", ">=", "all"),
        Rule("newline_ratio", "fineweb_newline_ratio", "max_newline_ratio", ">", "all"),
    )

    Options = FinewebQualityOptions
    options: FinewebQualityOptions

    def measure(self, analysis: TextAnalysis, scopes: dict[Scope, bool]) -> dict[str, float]:
        text_lines = analysis.lines
        n_lines = len(text_lines) or 1
        line_chars = sum(map(len, text_lines))
        n_words = analysis.word_count
        values = {
            "fineweb_dup_line_chars": (line_chars - sum(map(len, set(text_lines)))) / (line_chars or 1),
            "fineweb_newline_ratio": max(len(text_lines) - 1, 0) / n_words if n_words else 0.0,
        }
        if scopes["languages"]:
            values["fineweb_line_punct_ratio"] = sum(1 for line in text_lines if line.endswith(LINE_ENDS)) / n_lines
            short = sum(1 for line in text_lines if len(line) <= self.options.short_line_length)
            values["fineweb_short_line_ratio"] = short / n_lines
        return values
