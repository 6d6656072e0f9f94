"""gopher_quality: the document-level quality rules of Gopher's MassiveWeb (Rae et al. 2021, appendix A).

Defaults are the published ones, as in datatrove's `GopherQualityFilter`. Rules, in the order they
are checked, each with its own reason:

| reason | removes a document when | languages |
| --- | --- | --- |
| `word_count` | fewer than 50 or more than 100,000 words | all |
| `mean_word_length` | mean word length outside 3..10 characters | `languages` |
| `symbol_word_ratio` | more than 0.1 `#` per word, or 0.1 ellipses (`...`, `…`) per word | all |
| `bullet_lines` | more than 90% of lines start with a bullet | all |
| `ellipsis_lines` | more than 30% of lines end with an ellipsis | all |
| `alpha_words` | fewer than 80% of words contain a letter | written with spaces |
| `stop_words` | fewer than 2 occurrences of the, be, to, of, and, that, have, with | `languages` |

Words are `curate.text.words()`: each CJK/Thai character counts as a word, so the word count means
something in scripts written without spaces. Two rules only make sense for English-like text, so
they judge only documents whose `language` signal is in `languages` (default English); a document
without that signal is judged when it is written with spaces (`curate.text.rule_applies`). The mean
word length leaves out CJK/Thai characters, so an English page quoting a little Chinese is still
measured on its English words. For the alphabetic-words rule a word is a whitespace-separated
token, as in the paper: a symbol or a number standing alone counts against the document. That only
means something where words are separated by spaces: in Thai a token is a whole phrase, so its few
numbers and symbols weigh far too much (real Thai sentences lose 60% of documents), and the rule
judges any language written with spaces, whatever `languages` says. Blank lines are layout, not
lines, for the line rules. Stop words are matched case-insensitively (datatrove: case-sensitively).
"""

from __future__ import annotations

import re
from typing import Literal

import pyarrow as pa

from ..document import Document
from ..text import lines, no_space_chars, rule_applies, words, written_with_spaces
from .base import Signal, Stage, Verdict

STOP_WORDS = ["the", "be", "to", "of", "and", "that", "have", "with"]
BULLETS = ("•", "-", "*", "·", "◦", "▪", "‣", "●")
ELLIPSES = ("...", "…")
# A whitespace-separated token holding at least one letter; linear even on long letterless tokens.
_TOKEN_WITH_LETTER = re.compile(r"(?<!\S)(?=\S*?[^\W\d_])\S+")


class GopherQuality(Stage):
    name = "gopher_quality"
    signals = {
        "gopher_words": Signal(pa.int32(), bins=(1, 1e6, 60), log=True),
        "gopher_mean_word_length": Signal(pa.float32(), bins=(0, 15, 60)),
        "gopher_symbol_word_ratio": Signal(pa.float32(), bins=(0, 0.5, 50)),
        "gopher_bullet_lines": Signal(pa.float32(), bins=(0, 1, 50)),
        "gopher_ellipsis_lines": Signal(pa.float32(), bins=(0, 1, 50)),
        "gopher_alpha_words": Signal(pa.float32(), bins=(0, 1, 50)),
        "gopher_stop_words": Signal(pa.int32(), bins=(1, 1e4, 40), log=True),
    }

    def __init__(
        self,
        min_words: int | None = 50,
        max_words: int | None = 100_000,
        min_mean_word_length: float | None = 3,
        max_mean_word_length: float | None = 10,
        max_symbol_word_ratio: float | None = 0.1,
        max_bullet_lines: float | None = 0.9,
        max_ellipsis_lines: float | None = 0.3,
        min_alpha_words: float | None = 0.8,
        min_stop_words: int | None = 2,
        stop_words: list[str] | None = None,
        languages: list[str] | None = ["en"],  # noqa: B006 - never mutated; copied below
        mode: Literal["filter", "annotate"] = "filter",
    ) -> None:
        """Each threshold may be null to switch its rule off; `languages` null means every language
        written with spaces."""
        super().__init__(mode)
        self.min_words = min_words
        self.max_words = max_words
        self.min_mean_word_length = min_mean_word_length
        self.max_mean_word_length = max_mean_word_length
        self.max_symbol_word_ratio = max_symbol_word_ratio
        self.max_bullet_lines = max_bullet_lines
        self.max_ellipsis_lines = max_ellipsis_lines
        self.min_alpha_words = min_alpha_words
        self.min_stop_words = min_stop_words
        self.stop_words = frozenset(w.lower() for w in (STOP_WORDS if stop_words is None else stop_words))
        self.languages = None if languages is None else list(languages)

    def thresholds(self) -> dict[str, float]:
        cuts = {
            "gopher_words": self.min_words,
            "gopher_mean_word_length": self.min_mean_word_length,
            "gopher_symbol_word_ratio": self.max_symbol_word_ratio,
            "gopher_bullet_lines": self.max_bullet_lines,
            "gopher_ellipsis_lines": self.max_ellipsis_lines,
            "gopher_alpha_words": self.min_alpha_words,
            "gopher_stop_words": self.min_stop_words,
        }
        return {k: float(v) for k, v in cuts.items() if v is not None}

    def process(self, docs: list[Document]) -> list[Verdict]:
        return [self.judge(doc) for doc in docs]

    def judge(self, doc: Document) -> Verdict:
        """Record the signals of every rule that judges this document, then name the first it breaks."""
        text = doc.text
        tokens = words(text)
        n_words = len(tokens)
        text_lines = lines(text)
        n_lines = len(text_lines) or 1
        signals = doc.signals
        signals["gopher_words"] = n_words
        signals["gopher_symbol_word_ratio"] = symbols = (
            max(text.count("#"), text.count("...") + text.count("…")) / n_words if n_words else 0.0
        )
        signals["gopher_bullet_lines"] = bullets = sum(1 for ln in text_lines if ln.startswith(BULLETS)) / n_lines
        signals["gopher_ellipsis_lines"] = ellipses = sum(1 for ln in text_lines if ln.endswith(ELLIPSES)) / n_lines
        alpha = mean_length = stop_words = None
        if written_with_spaces(text):
            n_chunks = len(text.split())
            with_letter = len(_TOKEN_WITH_LETTER.findall(text))
            signals["gopher_alpha_words"] = alpha = with_letter / n_chunks if n_chunks else 0.0
        if rule_applies(self.languages, signals.get("language"), text):
            no_space = no_space_chars(text)
            spaced_words = n_words - no_space
            signals["gopher_mean_word_length"] = mean_length = (
                (sum(map(len, tokens)) - no_space) / spaced_words if spaced_words else 0.0
            )
            signals["gopher_stop_words"] = stop_words = sum(map(self.stop_words.__contains__, map(str.lower, tokens)))

        if _outside(n_words, self.min_words, self.max_words):
            return "word_count"
        if mean_length is not None and _outside(mean_length, self.min_mean_word_length, self.max_mean_word_length):
            return "mean_word_length"
        if _outside(symbols, None, self.max_symbol_word_ratio):
            return "symbol_word_ratio"
        if _outside(bullets, None, self.max_bullet_lines):
            return "bullet_lines"
        if _outside(ellipses, None, self.max_ellipsis_lines):
            return "ellipsis_lines"
        if alpha is not None and _outside(alpha, self.min_alpha_words, None):
            return "alpha_words"
        if stop_words is not None and _outside(stop_words, self.min_stop_words, None):
            return "stop_words"
        return None


def _outside(value: float, low: float | None, high: float | None) -> bool:
    """Below `low` or above `high`; a null bound is no bound."""
    return (low is not None and value < low) or (high is not None and value > high)
