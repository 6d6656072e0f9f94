"""gopher_quality: the document-level quality rules of Gopher's MassiveWeb (Rae et al. 2021, appendix A).

Defaults are the published ones. Rules, in the order they are checked (`curate.stages.rules`):

| reason | removes when | judges |
| --- | --- | --- |
| `word_count` | `gopher_words` < 50 | every document |
| `word_count` | `gopher_words` > 100000 | every document |
| `mean_word_length` | `gopher_mean_word_length` < 3 | documents in `languages` (unlabelled ones: written with spaces) |
| `mean_word_length` | `gopher_mean_word_length` > 10 | documents in `languages` (unlabelled ones: written with spaces) |
| `symbol_word_ratio` | `gopher_symbol_word_ratio` > 0.1 | every document |
| `bullet_lines` | `gopher_bullet_lines` > 0.9 | every document |
| `ellipsis_lines` | `gopher_ellipsis_lines` > 0.3 | every document |
| `alpha_words` | `gopher_alpha_words` < 0.8 | documents written with spaces |
| `stop_words` | `gopher_stop_words` < 2 | documents in `languages` (unlabelled ones: written with spaces) |

What each signal counts. The paper names the quantities but not a tokenizer; where it is silent,
curate takes whitespace-separated words, the reading the alpha rule needs:

| signal | paper | curate | datatrove 0.10.1 |
| --- | --- | --- | --- |
| words | "between 50 and 100,000 words" | `text.spaced_words`: whitespace tokens, outer punctuation stripped, tokens without a letter or digit left out; a URL is one word; each CJK/Thai character one word | spaCy/NLTK tokens that are not all punctuation (a URL is 2-5 tokens) |
| mean word length | "mean word length ... 3 to 10 characters" | characters of those words over their number, CJK/Thai characters left out | the same over its tokens |
| symbol-word ratio | "for either the hash symbol or the ellipsis" | max(count of `#`, count of `...` and `…`) / words | the two ratios checked one after the other |
| bullet lines | "lines starting with a bullet point" | non-empty lines starting with • - * · ◦ ▪ ‣ ● | all lines (blank ones too) starting with • or - |
| ellipsis lines | "ending with an ellipsis" | non-empty lines ending with `...` or `…` | all lines (blank ones too) |
| alpha words | "80% of words ... contain at least one alphabetic character" | whitespace tokens: a number or a symbol standing alone counts against | tokens holding a letter over non-punctuation tokens (punctuation tokens are ignored) |
| stop words | "at least two of the following English words" | distinct stop words among the words, case-insensitive (lowered a code point at a time) | distinct stop words among the tokens, case-sensitive (its PR 329) |

The mean word length and stop words only make sense for English-like text, so they judge documents
whose `language` signal is in `languages` (default English); a document without that signal is
judged when it is written with spaces. In Thai a whitespace token is a whole phrase, so its few
numbers and symbols would weigh far too much: the alpha rule judges every language written with
spaces, whatever `languages` says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..analysis import TextAnalysis, lowered_word_id
from ..jit import njit_cached
from ..options import option
from .base import Signal
from .rules import Rule, RuleOptions, RuleStage, Scope

STOP_WORDS = ["the", "be", "to", "of", "and", "that", "have", "with"]
BULLETS = ("•", "-", "*", "·", "◦", "▪", "‣", "●")
ELLIPSES = ("...", "…")


@dataclass(frozen=True, kw_only=True)
class GopherQualityOptions(RuleOptions):
    """Null switches a rule off."""

    min_words: int | None = option(50, "fewer words remove a document (word_count)", ge=0)
    max_words: int | None = option(100_000, "more words remove it (word_count)", ge=0)
    min_mean_word_length: float | None = option(3, "a shorter mean word length removes it", ge=0)
    max_mean_word_length: float | None = option(10, "a longer mean word length removes it", ge=0)
    max_symbol_word_ratio: float | None = option(0.1, "more `#`, or more ellipses, per word remove it", ge=0)
    max_bullet_lines: float | None = option(0.9, "a larger share of lines starting with a bullet removes it", ge=0, le=1)
    max_ellipsis_lines: float | None = option(0.3, "a larger share of lines ending with an ellipsis removes it", ge=0, le=1)
    min_alpha_words: float | None = option(0.8, "a smaller share of whitespace tokens holding a letter removes it", ge=0, le=1)
    min_stop_words: int | None = option(2, "fewer distinct stop words remove it", ge=0)
    stop_words: list[str] | None = option(None, "the stop words; null: the, be, to, of, and, that, have, with")
    languages: list[str] | None = option(
        ["en"], "languages the mean-word-length and stop-word rules judge; null: every language written with spaces"
    )


class GopherQuality(RuleStage):
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
    rules = (
        Rule("word_count", "gopher_words", "min_words", "<", "all"),
        Rule("word_count", "gopher_words", "max_words", ">", "all"),
        Rule("mean_word_length", "gopher_mean_word_length", "min_mean_word_length", "<", "languages"),
        Rule("mean_word_length", "gopher_mean_word_length", "max_mean_word_length", ">", "languages"),
        Rule("symbol_word_ratio", "gopher_symbol_word_ratio", "max_symbol_word_ratio", ">", "all"),
        Rule("bullet_lines", "gopher_bullet_lines", "max_bullet_lines", ">", "all"),
        Rule("ellipsis_lines", "gopher_ellipsis_lines", "max_ellipsis_lines", ">", "all"),
        Rule("alpha_words", "gopher_alpha_words", "min_alpha_words", "<", "spaced"),
        Rule("stop_words", "gopher_stop_words", "min_stop_words", "<", "languages"),
    )

    Options = GopherQualityOptions
    options: GopherQualityOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        words = STOP_WORDS if self.options.stop_words is None else self.options.stop_words
        self.stop_words = frozenset(w.lower() for w in words)
        ids = {lowered_word_id(word) for word in self.stop_words} - {None}
        self.stop_word_ids = np.array(sorted(ids), np.uint64)

    def measure(self, analysis: TextAnalysis, scopes: dict[Scope, bool]) -> dict[str, float]:
        text = analysis.text
        n_words = analysis.word_count
        text_lines = analysis.lines
        n_lines = len(text_lines) or 1
        values: dict[str, float] = {
            "gopher_words": n_words,
            "gopher_symbol_word_ratio": (
                max(text.count("#"), text.count("...") + text.count("…")) / n_words if n_words else 0.0
            ),
            "gopher_bullet_lines": sum(1 for ln in text_lines if ln.startswith(BULLETS)) / n_lines,
            "gopher_ellipsis_lines": sum(1 for ln in text_lines if ln.endswith(ELLIPSES)) / n_lines,
        }
        if scopes["spaced"]:
            tokens = analysis.whitespace_tokens
            values["gopher_alpha_words"] = analysis.tokens_with_letter / tokens if tokens else 0.0
        if scopes["languages"]:
            no_space = analysis.no_space_chars
            spaced = n_words - no_space
            values["gopher_mean_word_length"] = (
                (int(analysis.word_lengths.sum()) - no_space) / spaced if spaced else 0.0
            )
            values["gopher_stop_words"] = _present(self.stop_word_ids, analysis.lowered_word_ids)
        return values

    def setup(self) -> None:
        """Load (or compile, the first time) the kernels before the first batch is timed."""
        super().setup()
        _present(self.stop_word_ids, TextAnalysis("warm the kernel up").lowered_word_ids)


@njit_cached
def _present(ids: np.ndarray, words: np.ndarray) -> int:
    """How many of the sorted `ids` occur among `words` (`np.isin(ids, words).sum()`, without sorting the words)."""
    found = np.zeros(len(ids), np.bool_)
    for word in words:
        k = np.searchsorted(ids, word)
        if k < len(ids) and ids[k] == word:
            found[k] = True
    return int(found.sum())
