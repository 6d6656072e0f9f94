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

from typing import Literal

import numpy as np
import pyarrow as pa

from ..analysis import TextAnalysis, lowered_word_id
from .base import Signal
from .rules import Rule, RuleStage, Scope

STOP_WORDS = ["the", "be", "to", "of", "and", "that", "have", "with"]
BULLETS = ("•", "-", "*", "·", "◦", "▪", "‣", "●")
ELLIPSES = ("...", "…")


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
        languages: list[str] | None = ["en"],  # noqa: B006 - never mutated; copied by RuleStage
        mode: Literal["filter", "annotate"] = "filter",
    ) -> None:
        """Each threshold may be null to switch its rule off; `languages` null means every language
        written with spaces."""
        bounds = {
            "min_words": min_words,
            "max_words": max_words,
            "min_mean_word_length": min_mean_word_length,
            "max_mean_word_length": max_mean_word_length,
            "max_symbol_word_ratio": max_symbol_word_ratio,
            "max_bullet_lines": max_bullet_lines,
            "max_ellipsis_lines": max_ellipsis_lines,
            "min_alpha_words": min_alpha_words,
            "min_stop_words": min_stop_words,
        }
        super().__init__(bounds, languages, mode)
        self.stop_words = frozenset(w.lower() for w in (STOP_WORDS if stop_words is None else stop_words))
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
            values["gopher_stop_words"] = int(np.isin(self.stop_word_ids, analysis.lowered_word_ids).sum())
        return values
