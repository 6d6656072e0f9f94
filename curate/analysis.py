"""One per-document analysis (lines, paragraphs, words, word ids) shared by the heuristic stages.

Gopher repetition, Gopher quality, C4 and FineWeb each need the same splits of the same text. The
first stage that asks computes a split; later stages on the same batch reuse it. `analysis_of`
keeps the analysis on the document (`Document.analysis`, never written to Parquet) and starts over
when the text changed (C4 rewrites it), so a stage never sees splits of a text it does not hold.
"""

from __future__ import annotations

import re
from functools import cached_property

import numpy as np

from .document import Document
from .text import lines, no_space_chars, spaced_words, written_with_spaces

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


class TextAnalysis:
    """Splits and counts of one text, each computed on first use."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def lines(self) -> list[str]:
        """Non-empty lines, stripped."""
        return lines(self.text)

    @cached_property
    def paragraphs(self) -> list[str]:
        """Blocks separated by blank lines, stripped; empty ones left out."""
        return [p.strip() for p in _PARAGRAPH_BREAK.split(self.text) if p.strip()]

    @cached_property
    def words(self) -> list[str]:
        """`curate.text.spaced_words`: the words every word-based heuristic counts."""
        return spaced_words(self.text)

    @cached_property
    def written_with_spaces(self) -> bool:
        return written_with_spaces(self.text, self.no_space_chars)

    @cached_property
    def no_space_chars(self) -> int:
        """Characters of scripts written without spaces (each is one word)."""
        return no_space_chars(self.text)

    def judged_by(self, languages: list[str] | None, language: str | None) -> bool:
        """`curate.text.rule_applies` with this text's script share computed once."""
        if languages is not None and language is not None:
            return language in languages
        return self.written_with_spaces

    @cached_property
    def word_lengths(self) -> np.ndarray:
        return np.fromiter(map(len, self.words), np.int64, len(self.words))

    @cached_property
    def word_ids(self) -> np.ndarray:
        """Each word's first position plus one: equal words get equal ids, the seed of n-gram keys."""
        first_seen: dict[str, int] = {}
        n = len(self.words)
        return np.fromiter(map(first_seen.setdefault, self.words, range(n)), np.uint64, n) + np.uint64(1)


def analysis_of(doc: Document) -> TextAnalysis:
    """The document's analysis, made (or remade, when its text changed) on first use."""
    analysis = doc.analysis
    if analysis is None or (analysis.text is not doc.text and analysis.text != doc.text):
        analysis = doc.analysis = TextAnalysis(doc.text)
    return analysis

