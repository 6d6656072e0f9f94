"""The per-line counts of a page's lines in one numba pass over their code points, instead of a
dozen str calls mapped over the lines (0.5 ms a page): whitespace words, characters of scripts
written without spaces, commas, terminal punctuation, and, for short lines, which lists their
words come from (furniture, legal, months) once punctuation is blanked and case lowered, a
copyright sign, and whether a clock time may be there. Each count is the one the str calls in
curate/extraction/lines.py define; the kernel is cached under `curate/extraction/__pycache__`
(`make setup` compiles it)."""

from __future__ import annotations

import re
from functools import cache

import numpy as np
from numba import njit

from ..text import every_character

SPACE, BLANK, UNSPACED, TERMINAL = 1, 2, 4, 8  # character class bits
TABLE_SIZE = 0xFB00  # code points from here on are in no class
# columns of `scan`'s result
WORDS, UNSPACED_CHARS, COMMAS, ENDS_TERMINAL, TOKENS, LISTED, COPYRIGHT_SIGN, MAYBE_CLOCK = range(8)
_KELVIN = 0x212A  # the one non-ASCII character whose lowercase is ASCII ("k"); U+0130's holds a combining dot


@cache
def tables(blanked: str, unspaced: str, terminal: str, lists: tuple[frozenset[str], ...]) -> tuple[np.ndarray, ...]:
    """The class bits of every code point below TABLE_SIZE; and the listed words (ASCII) as a padded
    array of code points, their lengths and their lists' bits (list i: bit 1 << i), sorted by length."""
    every = every_character()
    classes = np.zeros(TABLE_SIZE, np.uint8)
    for bit, pattern in ((SPACE, r"\s+"), (UNSPACED, f"{unspaced}+")):
        for run in re.finditer(pattern, every):
            assert run.end() <= TABLE_SIZE, "a character class reaches past the table"
            classes[run.start() : run.end()] |= bit
    for bit, chars in ((BLANK, blanked), (TERMINAL, terminal)):
        classes[[ord(c) for c in chars]] |= bit
    bits: dict[str, int] = {}
    for i, words in enumerate(lists):
        for word in words:
            assert word.isascii() and word == word.lower()
            bits[word] = bits.get(word, 0) | 1 << i
    words = sorted(bits, key=len)
    codes = np.zeros((len(words), max(map(len, words))), np.uint32)
    for row, word in enumerate(words):
        codes[row, : len(word)] = [ord(c) for c in word]
    return classes, codes, np.array([len(w) for w in words], np.int64), np.array([bits[w] for w in words], np.int64)


@njit(cache=True)
def scan(points: np.ndarray, starts: np.ndarray, ends: np.ndarray, classes: np.ndarray, word_codes: np.ndarray,
         word_lengths: np.ndarray, word_bits: np.ndarray, short_words: int) -> np.ndarray:
    """One row per line `points[starts[i]:ends[i]]` (stripped, not empty), columns as named above.
    A line is short when its words plus half its unspaced characters are at most `short_words`;
    only short lines get the last four columns."""
    out = np.zeros((len(starts), 8), np.int64)
    for line in range(len(starts)):
        start, end = starts[line], ends[line]
        words = unspaced = commas = 0
        after_space = True
        for i in range(start, end):
            point = points[i]
            bits = classes[point] if point < TABLE_SIZE else 0
            space = (bits & SPACE) != 0
            if after_space and not space:
                words += 1
            after_space = space
            unspaced += (bits & UNSPACED) != 0
            commas += point == 44
        last = points[end - 1]
        row = out[line]
        row[WORDS], row[UNSPACED_CHARS], row[COMMAS] = words, unspaced, commas
        row[ENDS_TERMINAL] = last < TABLE_SIZE and (classes[last] & TERMINAL) != 0
        if words + unspaced // 2 > short_words:
            continue
        i = start
        while i < end:
            point = points[i]
            if point == 0xA9:
                row[COPYRIGHT_SIGN] = 1
            if point < TABLE_SIZE and classes[point] & (SPACE | BLANK):  # ":" and "." are blanked: a clock's middle
                if (point == 58 or point == 46) and start < i < end - 2 and _digitish(points[i - 1]) and _digitish(points[i + 1]) and _digitish(points[i + 2]):
                    row[MAYBE_CLOCK] = 1
                i += 1
                continue
            token_end = i + 1
            while token_end < end and not (points[token_end] < TABLE_SIZE and classes[points[token_end]] & (SPACE | BLANK)):
                token_end += 1
            row[TOKENS] += 1
            row[LISTED] |= _listed(points, i, token_end, word_codes, word_lengths, word_bits)
            i = token_end
    return out


@njit(cache=True, inline="always")
def _digitish(point: int) -> bool:
    """Could be what `\\d` matches: an ASCII digit, or any non-ASCII character (all other decimal digits are)."""
    return 48 <= point <= 57 or point >= 128


@njit(cache=True)
def _listed(points: np.ndarray, start: int, end: int, word_codes: np.ndarray, word_lengths: np.ndarray, word_bits: np.ndarray) -> int:
    """The list bits of the word `points[start:end]` lowered (0 when it is in no list)."""
    length = end - start
    found = 0
    for row in range(len(word_lengths)):
        if word_lengths[row] > length:
            break  # sorted by length
        if word_lengths[row] < length:
            continue
        same = True
        for k in range(length):
            point = points[start + k]
            if 65 <= point <= 90:
                point += 32
            elif point == _KELVIN:
                point = 107
            if point != word_codes[row, k]:
                same = False
                break
        if same:
            found |= word_bits[row]
    return found
