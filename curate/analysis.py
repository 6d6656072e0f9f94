"""One per-document analysis (lines, paragraphs, words, word hashes) shared by the heuristic stages.

Gopher repetition, Gopher quality, C4 and FineWeb each need the same splits of the same text. The
first stage that asks computes a split; later stages on the same batch reuse it. `analysis_of`
keeps the analysis on the document (`Document.analysis`, never written to Parquet) and starts over
when the text changed (C4 rewrites it), so a stage never sees splits of a text it does not hold.

The words are `curate.text.spaced_words` (the regex is the reference), found by one numba pass over
the text's code points with a table of character classes built from the same regexes (`\\s`, `\\w`,
letters, scripts without spaces). The pass also hashes each word (as written and lowered one code
point at a time, for the stop words) and counts whitespace tokens with and without a letter (the
alpha rule): one scan instead of four regexes over the text.
"""

from __future__ import annotations

import re
from functools import cache, cached_property

import numpy as np

from .document import Document
from .jit import njit_cached
from .text import NO_SPACE_SCRIPTS, class_bits, code_points, every_character, lines, written_with_spaces

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SPACE, _WORD, _LETTER, _NO_SPACE = 1, 2, 4, 8  # character class bits
_HASH_BASE = np.uint64(0x100000001B3)  # odd: the polynomial base of word hashes (mod 2**64)
_LOWER_CHUNK = 4096  # code points lowered per `str.lower` call when building the table


@cache
def _tables() -> tuple[np.ndarray, np.ndarray]:
    """Class bits of every code point, from the regexes the reference uses, and each code point's
    lowercase where that is one code point (the stop words compare lowered words)."""
    every = every_character()
    flags = class_bits({_SPACE: r"\s", _WORD: r"\w", _LETTER: r"[^\W\d_]", _NO_SPACE: f"[{NO_SPACE_SCRIPTS}]"})
    lower = np.arange(0x110000, dtype=np.uint32)
    for start in range(0, 0x110000, _LOWER_CHUNK):
        chunk = every[start : start + _LOWER_CHUNK]
        lowered = chunk.lower()
        if len(lowered) == len(chunk):  # every character lowered to one: aligned with the chunk
            lower[start : start + len(chunk)] = code_points(lowered)
            continue
        for point, char in enumerate(chunk, start):  # the chunk holding U+0130 (lowers to two code points)
            lowered = char.lower()
            if len(lowered) == 1:
                lower[point] = ord(lowered)
    return flags, lower


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
    def _scan(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return _scan_text(code_points(self.text), *_tables())

    @property
    def word_count(self) -> int:
        return len(self._scan[0])

    @property
    def words(self) -> list[str]:
        """The words as strings (`curate.text.spaced_words`); the rules use their counts and hashes."""
        starts, lengths = self._scan[0], self._scan[1]
        return [self.text[s : s + n] for s, n in zip(starts.tolist(), lengths.tolist())]

    @property
    def word_lengths(self) -> np.ndarray:
        return self._scan[1]

    @property
    def word_ids(self) -> np.ndarray:
        """A 64-bit hash of each word: equal words get equal ids, the seed of n-gram keys."""
        return self._scan[2]

    @property
    def lowered_word_ids(self) -> np.ndarray:
        """The same hash of each word lowered code point by code point (`word_id("The".lower())`)."""
        return self._scan[3]

    @property
    def whitespace_tokens(self) -> int:
        """`len(text.split())`."""
        return int(self._scan[4][0])

    @property
    def tokens_with_letter(self) -> int:
        """Whitespace tokens holding at least one letter."""
        return int(self._scan[4][1])

    @property
    def no_space_chars(self) -> int:
        """Characters of scripts written without spaces (each is one word)."""
        return int(self._scan[4][2])

    @property
    def longest_token(self) -> int:
        """`max(map(len, text.split()), default=0)`."""
        return int(self._scan[4][3])

    @cached_property
    def written_with_spaces(self) -> bool:
        return self.text.isascii() or written_with_spaces(self.text, self.no_space_chars)  # ASCII: no scan needed

    def judged_by(self, languages: list[str] | None, language: str | None) -> bool:
        """Whether a rule meant for `languages` judges this text: by its `language` label when both are
        given, else (null `languages`: every language written with spaces; no label) by its script."""
        if languages is not None and language is not None:
            return language in languages
        return self.written_with_spaces


def lowered_word_id(word: str) -> int | None:
    """The id `TextAnalysis.lowered_word_ids` gives this word in any case; None when the string is
    not exactly one word (it can then equal no word of a text)."""
    starts, lengths, _, lowered, _ = _scan_text(code_points(word), *_tables())
    return int(lowered[0]) if len(starts) == 1 and lengths[0] == len(word) else None


def warm_up() -> None:
    """Build the tables and load (or compile, the first time) the kernel: a stage's `setup`."""
    TextAnalysis("warm up").word_count


def analysis_of(doc: Document) -> TextAnalysis:
    """The document's analysis, made (or remade, when its text changed) on first use."""
    analysis = doc.analysis
    if analysis is None or (analysis.text is not doc.text and analysis.text != doc.text):
        analysis = doc.analysis = TextAnalysis(doc.text)
    return analysis


@njit_cached
def _scan_text(
    points: np.ndarray, flags: np.ndarray, lower: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Word starts, lengths, hashes and lowered hashes, then [whitespace tokens, tokens with a
    letter, characters of scripts without spaces, the longest whitespace token's length].

    A word is a character of a script written without spaces, or, in a run of characters that are
    neither spaces nor such characters, the stretch from its first word character to its last.
    """
    n = len(points)
    starts = np.empty(n, np.int64)
    lengths = np.empty(n, np.int64)
    hashes = np.empty(n, np.uint64)
    lowered = np.empty(n, np.uint64)
    counts = np.zeros(4, np.int64)
    words = 0
    in_token = False
    token_letter = False
    token_start = 0
    run_first = -1
    run_last = -1
    plain = low = plain_at_last = low_at_last = np.uint64(0)  # the run's hashes, and as of its last word character
    for i in range(n + 1):
        bits = _SPACE if i == n else flags[points[i]]
        if bits & _SPACE:
            if in_token:
                counts[0] += 1
                if token_letter:
                    counts[1] += 1
                counts[3] = max(counts[3], i - token_start)
            in_token = False
            token_letter = False
        else:
            if not in_token:
                token_start = i
            in_token = True
            token_letter = token_letter or (bits & _LETTER) != 0
        if bits & (_SPACE | _NO_SPACE):
            if run_first >= 0:
                starts[words] = run_first
                lengths[words] = run_last + 1 - run_first
                hashes[words] = plain_at_last
                lowered[words] = low_at_last
                words += 1
                run_first = -1
            if i < n and bits & _NO_SPACE:
                counts[2] += 1
                starts[words] = i
                lengths[words] = 1
                hashes[words] = (np.uint64(points[i]) + np.uint64(1)) * _HASH_BASE
                lowered[words] = (np.uint64(lower[points[i]]) + np.uint64(1)) * _HASH_BASE
                words += 1
        elif run_first >= 0 or bits & _WORD:  # inside a run, from its first word character on
            if run_first < 0:
                run_first = i
                plain = low = np.uint64(0)
            plain = (plain + np.uint64(points[i]) + np.uint64(1)) * _HASH_BASE
            low = (low + np.uint64(lower[points[i]]) + np.uint64(1)) * _HASH_BASE
            if bits & _WORD:
                run_last = i
                plain_at_last, low_at_last = plain, low
    return starts[:words].copy(), lengths[:words].copy(), hashes[:words].copy(), lowered[:words].copy(), counts
