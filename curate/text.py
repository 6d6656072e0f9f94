"""Shared text helpers: language-aware word splitting, lines, and the simplified form used for matching."""

from __future__ import annotations

import array
import functools
import re
import sys
import unicodedata

import numpy as np

# Scripts written without spaces between words: each character counts as a word.
NO_SPACE_SCRIPTS = (
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
    "\U00020000-\U0002fa1f"
)
_WORDS = re.compile(rf"[{NO_SPACE_SCRIPTS}]|[^\W{NO_SPACE_SCRIPTS}]+")
_NO_SPACE_CHAR = re.compile(rf"[{NO_SPACE_SCRIPTS}]")
_DIGITS = re.compile(r"\d")
_SPACE = re.compile(r"\s+")


def words(text: str) -> list[str]:
    """Word tokens: runs of letters/digits, and single characters in scripts without spaces."""
    return _WORDS.findall(text)


# A whitespace-separated token from its first to its last letter or digit, or one character of a
# script written without spaces.
_SPACED_WORDS = re.compile(
    rf"[{NO_SPACE_SCRIPTS}]|[^\W{NO_SPACE_SCRIPTS}](?:[^\s{NO_SPACE_SCRIPTS}]*[^\W{NO_SPACE_SCRIPTS}])?"
)


def spaced_words(text: str) -> list[str]:
    """The words the heuristic rules count: whitespace-separated tokens with the punctuation around
    them stripped (`(word),` -> `word`; a URL, `don't` or `3.5` stays one word), tokens without a
    letter or digit left out, and each character of a script written without spaces a word."""
    return _SPACED_WORDS.findall(text)


def no_space_share(text: str, no_space: int | None = None) -> float:
    """Share of non-space characters that belong to scripts written without spaces (CJK, Thai...);
    `no_space` is their count where the caller knows it."""
    chars = len(text) - text.count(" ") - text.count("\n")
    return (no_space_chars(text) if no_space is None else no_space) / chars if chars > 0 else 0.0


_NATIVE_UTF32 = "utf-32-le" if sys.byteorder == "little" else "utf-32-be"  # the byte order np.uint32 reads


@functools.cache
def every_character() -> str:
    """Every code point, lone surrogates included, in order: what the per-code-point tables are built from
    (decoded in one call, ~30x faster than joining 1.1M `chr`s)."""
    return array.array("I", range(0x110000)).tobytes().decode(_NATIVE_UTF32, "surrogatepass")


def code_points(text: str) -> np.ndarray:
    """The text's code points (lone surrogates included) as native uint32: what the numba kernels read."""
    return np.frombuffer(text.encode(_NATIVE_UTF32, "surrogatepass"), np.uint32)


def class_bits(patterns: dict[int, str]) -> np.ndarray:
    """Each code point's class bits: `bit` set where the regex for one character `patterns[bit]` matches it
    (found as runs over `every_character`: a few hundred matches, not one per character)."""
    every = every_character()
    bits = np.zeros(len(every), np.uint8)
    for bit, pattern in patterns.items():
        for run in re.finditer(f"(?:{pattern})+", every):
            bits[run.start() : run.end()] |= bit
    return bits


@functools.cache
def punct_table() -> dict[int, str]:
    """Every punctuation and symbol code point -> a space (made on first use: 1.1M category lookups, ~0.1 s)."""
    categories = map(unicodedata.category, every_character())
    return {point: " " for point, category in enumerate(categories) if category[0] in "PS"}


def simplify(text: str) -> str:
    """Lowercase, punctuation and symbols removed, digits folded to 0, whitespace collapsed."""
    text = text.lower().translate(punct_table())
    return _SPACE.sub(" ", _DIGITS.sub("0", text)).strip()


def lines(text: str) -> list[str]:
    """Non-empty lines, stripped."""
    return [line.strip() for line in text.split("\n") if line.strip()]


# Sentence-final marks across scripts (Latin, CJK full-width, Devanagari danda, Arabic, Ethiopic),
# and closing quotes, which often end a quoted sentence.
TERMINAL_PUNCTUATION = (".", "!", "?", '"', "'", "”", "’", "»", "。", "！", "？", "」", "』", "।", "؟", "۔", "።")
_ASCII_ENDS, _WIDE_ENDS, _CLOSERS = ".!?", "。！？।؟۔።", "\"'”’»)\\]"
# Counts as `[.!?]+[<closers>]*(?=\s|$)|[<wide ends>]+` does, one match per run of marks, but matched
# at a run's last mark: a pattern that opens with one character class lets `re` skip to candidates
# (5x faster on web text).
_SENTENCE_END = re.compile(
    f"[{_ASCII_ENDS}{_WIDE_ENDS}](?:(?<=[{_ASCII_ENDS}])[{_CLOSERS}]*(?=\\s|$)|(?<=[{_WIDE_ENDS}])(?![{_WIDE_ENDS}]))"
)
MOSTLY_NO_SPACE = 0.5  # a text with at least this share of CJK/Thai... characters is not "written with spaces"


def no_space_chars(text: str) -> int:
    """How many characters belong to scripts written without spaces (each is one of `words()`)."""
    return 0 if text.isascii() else len(_NO_SPACE_CHAR.findall(text))


def written_with_spaces(text: str, no_space: int | None = None) -> bool:
    """Whether word-based rules made for languages like English can judge this text at all."""
    return text.isascii() or no_space_share(text, no_space) < MOSTLY_NO_SPACE


def count_sentences(text: str) -> int:
    """Sentence ends: . ! ? (with closing quotes) before a space or the end, and full-width 。！？."""
    return len(_SENTENCE_END.findall(text))
