"""The numba passes behind a page's line features, each over code points instead of a dozen str calls
or regexes mapped over the lines (0.7 ms a page before):
- `line_counts`, over the text lines: whitespace words, characters of scripts written without spaces,
  commas, terminal punctuation, and, for short lines, which lists their words come from (furniture,
  legal, months) once punctuation is blanked and case lowered, a copyright sign, and whether a clock
  time may be there;
- `rendering_lines`, over the minimal HTML: characters inside links, heading / paragraph / list markup;
- `hint_columns`, over the minimal HTML with its hint marks: the groups each line starts or follows.
Each result is the one the str calls and regexes they replaced define (kept as the reference in
tests/test_extract_lines.py, which pins them). The kernels are compiled once and cached where numba
can write (`curate.jit`: in NUMBA_CACHE_DIR when set, else beside the code or under HOME; `make setup` compiles them)."""

from __future__ import annotations

from functools import cache

import numpy as np

from ..jit import njit_cached
from ..text import class_bits

SPACE, BLANK, UNSPACED, TERMINAL, WORD = 1, 2, 4, 8, 16  # character class bits: \s, blanked, unspaced, terminal, \w
# columns of `line_counts`' result
WORDS, UNSPACED_CHARS, COMMAS, ENDS_TERMINAL, TOKENS, LISTED, COPYRIGHT_SIGN, MAYBE_CLOCK = range(8)
# columns of `rendering_lines`' result
LINK_CHARS, HEADING, PARAGRAPH, LIST_ITEM = range(4)
# listed words are written in letters below U+0250 (Latin); no code point from U+2C80 up lowers to one of
# those, so lowering needs a table only below it (U+0130, which lowers to two code points, stays itself)
LOWERED_BELOW = 0x2C80


@cache
def tables(blanked: str, unspaced: str, terminal: str, lists: tuple[frozenset[str], ...]) -> tuple[np.ndarray, ...]:
    """The class bits of every code point; each code point below LOWERED_BELOW lowered (where its
    lowercase is one code point); and the listed words (lowercase Latin), sorted by length, as a
    padded array of code points, where each length's rows start (words of length n: rows
    `length_rows[n]` to `length_rows[n + 1]`) and their lists' bits (list i: bit 1 << i)."""
    classes = class_bits({SPACE: r"\s", UNSPACED: unspaced, WORD: r"\w"})
    for bit, chars in ((BLANK, blanked), (TERMINAL, terminal)):
        classes[[ord(c) for c in chars]] |= bit
    bits: dict[str, int] = {}
    for i, words in enumerate(lists):
        for word in words:
            if word != word.lower() or max(map(ord, word)) >= 0x250:
                raise ValueError(f"listed words must be lowercase Latin (below U+0250): {word!r}")
            bits[word] = bits.get(word, 0) | 1 << i
    words = sorted(bits, key=lambda word: (len(word), word))
    codes = np.zeros((len(words), max(map(len, words))), np.uint32)
    for row, word in enumerate(words):
        codes[row, : len(word)] = [ord(c) for c in word]
    lowered = np.array([ord(char.lower()) if len(char.lower()) == 1 else point
                        for point, char in enumerate(map(chr, range(LOWERED_BELOW)))], np.uint32)
    length_rows = np.searchsorted([len(word) for word in words], np.arange(codes.shape[1] + 2)).astype(np.int64)
    return classes, lowered, codes, length_rows, np.array([bits[w] for w in words], np.int64)


@njit_cached
def line_counts(points: np.ndarray, starts: np.ndarray, ends: np.ndarray, classes: np.ndarray, lowered: np.ndarray,
                word_codes: np.ndarray, length_rows: np.ndarray, word_bits: np.ndarray, short_words: int) -> np.ndarray:
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
            bits = classes[point]
            space = (bits & SPACE) != 0
            if after_space and not space:
                words += 1
            after_space = space
            unspaced += (bits & UNSPACED) != 0
            commas += point == 44
        last = points[end - 1]
        row = out[line]
        row[WORDS], row[UNSPACED_CHARS], row[COMMAS] = words, unspaced, commas
        row[ENDS_TERMINAL] = (classes[last] & TERMINAL) != 0
        if words + unspaced // 2 > short_words:
            continue
        i = start
        while i < end:
            point = points[i]
            if point == 0xA9:
                row[COPYRIGHT_SIGN] = 1
            if classes[point] & (SPACE | BLANK):  # ":" and "." are blanked: a clock's middle
                if (point == 58 or point == 46) and start < i < end - 2 and _digitish(points[i - 1]) and _digitish(points[i + 1]) and _digitish(points[i + 2]):
                    row[MAYBE_CLOCK] = 1
                i += 1
                continue
            token_end = i + 1
            while token_end < end and not classes[points[token_end]] & (SPACE | BLANK):
                token_end += 1
            row[TOKENS] += 1
            row[LISTED] |= _listed(points, i, token_end, lowered, word_codes, length_rows, word_bits)
            i = token_end
    return out


@njit_cached(inline="always")
def _digitish(point: int) -> bool:
    """Could be what `\\d` matches: an ASCII digit, or any non-ASCII character (all other decimal digits are)."""
    return 48 <= point <= 57 or point >= 128


@njit_cached
def _listed(points: np.ndarray, start: int, end: int, lowered: np.ndarray, word_codes: np.ndarray, length_rows: np.ndarray,
            word_bits: np.ndarray) -> int:
    """The list bits of the word `points[start:end]` lowered (0 when it is in no list): compared
    with the listed words of its length only."""
    length = end - start
    if length + 1 >= len(length_rows):
        return 0
    found = 0
    for row in range(length_rows[length], length_rows[length + 1]):
        same = True
        for k in range(length):
            point = points[start + k]
            if point < LOWERED_BELOW:
                point = lowered[point]
            if point != word_codes[row, k]:
                same = False
                break
        if same:
            found |= word_bits[row]
    return found


@njit_cached
def rendering_lines(points: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """One row per line of a rendering (minimal HTML), columns as named above: the characters of
    its links' contents as `<a\\b[^>\\n]*>([^\\n]*?)</a>` finds them (left to right, each search going
    on after the last match), whether it starts with `<h` or `<p>`, and whether it holds `<li`."""
    n = len(points)
    out = np.zeros((1 + np.sum(points == 10), 4), np.int64)
    line = line_start = searched_to = 0
    for i in range(n):
        point = points[i]
        if point == 10:
            line += 1
            line_start = i + 1
            continue
        if point != 60 or i + 1 == n:  # "<"
            continue
        after = points[i + 1]
        if i == line_start and after == 104:  # "h"
            out[line, HEADING] = 1
        if i == line_start and after == 112 and i + 2 < n and points[i + 2] == 62:  # "p>"
            out[line, PARAGRAPH] = 1
        if after == 108 and i + 2 < n and points[i + 2] == 105:  # "li"
            out[line, LIST_ITEM] = 1
        if after != 97 or i < searched_to or (i + 2 < n and classes[points[i + 2]] & WORD):  # "a", then a word boundary
            continue
        close = i + 2
        while close < n and points[close] != 62 and points[close] != 10:  # the start tag's ">" on this line
            close += 1
        if close == n or points[close] != 62:
            continue
        end = close + 1
        while end + 3 < n and points[end] != 10 and not (points[end] == 60 and points[end + 1] == 47 and points[end + 2] == 97 and points[end + 3] == 62):
            end += 1  # to the first "</a>" on this line
        if end + 3 < n and points[end] == 60:
            out[line, LINK_CHARS] += end - close - 1
            searched_to = end + 4
    return out


@njit_cached
def hint_columns(points: np.ndarray, worded: np.ndarray, mark: int, first_group: int, groups: int) -> np.ndarray:
    """starts_ and after_ per worded line (`worded`: their indexes among the lines of `points`, a
    rendering holding marks, each `mark` then its group's code point): the groups marked on the line
    or on lines without words just before it; the group of the last mark at or before it. A `mark`
    without a group's code point after it (the page's own) marks nothing."""
    n, count = len(points), len(worded)
    out = np.zeros((count, 2 * groups))
    last_group = np.full(count, -1)
    line = target = 0
    for i in range(n):
        if points[i] == 10:
            line += 1
        elif points[i] == mark and i + 1 < n and 0 <= np.int64(points[i + 1]) - first_group < groups:
            while target < count and worded[target] < line:
                target += 1
            if target == count:  # marks after the last worded line mark nothing
                break
            group = np.int64(points[i + 1]) - first_group
            out[target, group] = 1.0
            last_group[target] = group
    current = -1
    for target in range(count):
        if last_group[target] >= 0:
            current = last_group[target]
        if current >= 0:
            out[target, groups + current] = 1.0
    return out
