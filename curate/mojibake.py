"""Repair lossy mojibake: UTF-8 read as Windows-1252 with the bytes that code page leaves undefined dropped.

ftfy undoes mojibake when every byte survived. When UTF-8 text was decoded as Windows-1252 (or its
Turkish twin, Windows-1254) by a tool that drops the bytes the code page leaves undefined (0x81,
0x8D, 0x8F, 0x90, 0x9D; some also strip the soft hyphen 0xAD), sequences such as `Äiá»u` (`Điều`)
lose a byte and no longer decode, so ftfy leaves them. Here the text's runs of such characters are
mapped back to bytes and decoded as UTF-8; where a sequence is short, the dropped bytes are tried
at each place, and among the readings that decode, the most ordinary one in context wins (see
`ReadingScorer`).

The repair only changes a text that proves it is this kind of mojibake: at least two sequences
decode whole, broken ones are not many more than whole ones, and few runs are not UTF-8 at all.
Correct text (German `Ärger`, French `été`) has no sequences that decode whole, so it never
qualifies.

`is_bad` gives ftfy's answer to whether a text looks like mojibake at a fraction of the cost: the
normalize stage asks it of every non-ASCII document. `fix_text` is `ftfy.fix_text` with the
normalize stage's settings (`FTFY_CONFIG`), the same string at about half the cost.
"""

from __future__ import annotations

import functools
import math
import re
import re._constants as sre_constants
import re._parser as sre_parse
import threading
import unicodedata
from contextlib import contextmanager
from typing import Any, Iterator

import ftfy
import ftfy.fixes
from ftfy.badness import BADNESS_RE
from ftfy.chardata import CONTROL_CHARS, LIGATURES

# ftfy with the settings that only undo damage (see curate.stages.normalize).
FTFY_CONFIG = ftfy.TextFixerConfig(uncurl_quotes=False, fix_character_width=False, unescape_html=False, explain=False)
# The character fixers FTFY_CONFIG switches on, in `ftfy.fix_and_explain`'s order, and every character
# one of them changes (C1 controls, ligatures, line breaks, surrogates, ftfy's invisible controls, among
# them the escape that starts an ANSI sequence): a text with none of them comes back from each as it is.
# Named here, not read from FTFY_CONFIG's flags: a fixer turned on there needs its characters added here.
_FIXERS = [
    ftfy.FIXERS[name]
    for name in ("fix_c1_controls", "fix_latin_ligatures", "fix_line_breaks", "fix_surrogates",
                 "remove_terminal_escapes", "remove_control_chars")
]
FIXED_CHARS = re.compile(
    "[\x80-\x9f\r\u2028\u2029\ud800-\udfff"
    + "".join(re.escape(chr(c)) for c in sorted(set(CONTROL_CHARS) | set(LIGATURES)))
    + "]"
)

DROPPED_BYTES = (0x81, 0x8D, 0x8F, 0x90, 0x9D, 0xAD)
_CONTEXT = 16  # characters either side of a candidate in which its word is found
_RANK_WEIGHT = 3e-6  # per token id: among equal counts, earlier (more frequent) merges win
# Lossy mojibake keeps most multi-byte sequences whole: at most about 2 broken per whole one even in
# Japanese (hiragana's second byte is 0x81), far fewer elsewhere; leetspeak or garbles have more.
_MAX_BROKEN_PER_WHOLE = 2.5
_LANGUAGE_WEIGHT = 0.5  # per nat of the word's probability of being in the document's language
_LANGUAGES_CONSIDERED = 5  # below the top five, a language's probability counts as nil


def _char_to_byte() -> dict[str, int]:
    """Characters a single-byte decode can produce for each byte 0x80-0xFF (cp1252, latin-1 C1, cp1254)."""
    table = {chr(b): b for b in range(0x80, 0xA0)}  # C1 controls: latin-1 or "sloppy" cp1252
    for codec in ("cp1254", "cp1252"):  # cp1252 last: it wins where both define a byte
        for b in range(0x80, 0x100):
            try:
                table[bytes([b]).decode(codec)] = b
            except UnicodeDecodeError:
                continue
    return table


CHAR_TO_BYTE = _char_to_byte()
_RUN = re.compile("[" + "".join(re.escape(c) for c in sorted(CHAR_TO_BYTE)) + "]+")
_AS_LATIN_1 = str.maketrans({c: chr(b) for c, b in CHAR_TO_BYTE.items()})  # `.encode("latin-1")` then gives the bytes
# A cheap test that a text may hold UTF-8 mojibake: a lead byte's character then a continuation byte's.
_LEADS = "".join(c for c, b in CHAR_TO_BYTE.items() if 0xC2 <= b <= 0xF4)
_CONTINUATIONS = "".join(c for c, b in CHAR_TO_BYTE.items() if 0x80 <= b <= 0xBF)
_MOJIBAKE_HINT = re.compile(f"[{re.escape(_LEADS)}][{re.escape(_CONTINUATIONS)}]")


def _sequence_length(lead: int) -> int | None:
    """Continuation bytes a UTF-8 lead byte needs, or None for a byte that cannot start a character."""
    if 0xC2 <= lead <= 0xDF:
        return 1
    if 0xE0 <= lead <= 0xEF:
        return 2
    if 0xF0 <= lead <= 0xF4:
        return 3
    return None


def _decode_run(data: bytes, space_follows: bool) -> list[tuple[int, tuple[str, ...]]]:
    """A run's bytes split into UTF-8 sequences: (bytes used, readings). One reading when it decodes,
    several when continuation bytes were dropped (one, or two in a 3-4 byte sequence), none when
    it cannot be read as UTF-8 at all.

    Tools that drop bytes often also merge a no-break space (0xA0, the last byte of `à`, `Ơ`, many
    CJK characters) into the space after it: when a space follows a short last sequence, the
    readings include those ending in 0xA0.
    """
    chars: list[tuple[int, tuple[str, ...]]] = []
    i = 0
    while i < len(data):
        need = _sequence_length(data[i])
        j = i + 1
        while need and j < len(data) and j - i - 1 < need and 0x80 <= data[j] <= 0xBF:
            j += 1
        present = data[i:j]
        readings: tuple[str, ...] = ()
        if need and len(present) == need + 1:
            char = _valid(present)
            readings = (char,) if char else ()
        elif need:
            readings = _restored_readings(present, need, j == len(data) and space_follows)
        chars.append((len(present), readings))
        i = j
    return chars


@functools.lru_cache(maxsize=1 << 14)
def _restored_readings(present: bytes, need: int, space_follows: bool) -> tuple[str, ...]:
    """The characters a sequence short of the `need` continuation bytes its lead byte announces may
    have been (cached: trying every dropped byte at every place is the costly part of the repair, and
    the same broken sequences recur)."""
    missing = need + 1 - len(present)
    readings: list[str] = []
    if missing <= (2 if need > 1 else 1):
        readings = list(dict.fromkeys(c for c in map(_valid, _with_restored(present, missing)) if c))
    if space_follows:
        with_a0 = [_valid(r) for r in _with_restored(present + b"\xa0", missing - 1)]
        readings += [r for r in dict.fromkeys(with_a0) if r and r not in readings]
    return tuple(readings)


def _with_restored(present: bytes, missing: int) -> list[bytes]:
    """Every byte string made by inserting `missing` dropped bytes after the lead byte of `present`."""
    if missing == 0:
        return [present]
    shorter = _with_restored(present, missing - 1)
    return [s[:k] + bytes([m]) + s[k:] for s in shorter for k in range(1, len(s) + 1) for m in DROPPED_BYTES]


def _valid(data: bytes) -> str | None:
    """The character these bytes encode, if it is one a text would plausibly contain."""
    try:
        char = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    code = ord(char)
    if 0x80 <= code < 0xA0 or 0xE000 <= code <= 0xF8FF or code >= 0xF0000 or 0xFDD0 <= code <= 0xFDEF:
        return None
    return char


class ReadingScorer:
    """Says how ordinary a candidate reading looks in its context; lower is better.

    Two offline models: the o200k BPE vocabulary (fewer tokens, and earlier merges, mean letter
    sequences seen often: its 200k tokens hold whole common words of many languages, `về`, `часов`,
    `Điều`) and fastText lid.176 (how firmly the word still reads as the document's language). Both load
    when the scorer is made, at the normalize stage's setup, so a worker's memory does not grow when its
    first broken page comes (o200k: ~80 MB, ~0.15 CPU s); lid.176 is the process's one copy
    (`load_lid_model`), which the language stage reads too.
    """

    def __init__(self, lid_model: str | None = None) -> None:
        from .models import load_lid_model
        from .tokens.encodings import load_encoding

        self.encoding = load_encoding("o200k_base")
        self.lid = load_lid_model(lid_model)

    def language(self, text: str) -> str:
        labels, _ = self.lid.predict(text.replace("\n", " "), k=1)
        return labels[0] if labels else ""

    def scores(self, words: list[str], language: str) -> list[float]:
        """One score per candidate word (with its leading space, if any): lower is more ordinary."""
        # A handful of short words: encode_ordinary_batch would start a thread pool for each call.
        tokens = [self.encoding.encode_ordinary(word) for word in words]
        labels, probabilities = self.lid.predict([w.strip() for w in words], k=_LANGUAGES_CONSIDERED)
        scores = []
        for token_ids, word_labels, word_probabilities in zip(tokens, labels, probabilities):
            probability = dict(zip(word_labels, word_probabilities)).get(language, 0.0)
            scores.append(
                len(token_ids)
                + _RANK_WEIGHT * sum(token_ids)
                - _LANGUAGE_WEIGHT * math.log(max(probability, 1e-4))
            )
        return scores


def _commonness(chars: set[str]) -> int:
    """Roughly how often these characters turn up in ordinary text: letters (lowercase most) and the
    no-break space far more than symbols."""
    total = 0
    for char in chars:
        category = unicodedata.category(char) if char >= "\xc0" else "Zs" if char == "\xa0" else "S"
        total += {"Ll": 30, "Lo": 30, "Zs": 30, "Lu": 10}.get(category, 1)
    return total


def _non_ascii_class(op: Any, argument: Any) -> set[str] | None:
    """The characters a parsed regex element matches, if it matches one character and never an ASCII one."""
    chars: set[str] = set()
    for item_op, item in argument if op is sre_constants.IN else [(op, argument)]:
        if item_op is sre_constants.LITERAL:
            chars.add(chr(item))
        elif item_op is sre_constants.RANGE:
            chars.update(map(chr, range(item[0], item[1] + 1)))
        else:
            return None
    return chars if chars and min(chars) > "\x7f" else None


def _badness_needles() -> tuple[re.Pattern[str], int] | None:
    """ftfy's badness regex is tried at every position of a text, yet its matches are a few characters
    long and each holds one of a few hundred non-ASCII characters, the needles (from each alternative,
    the rarest set it requires). Returns a regex for runs of needles whose neighbourhoods touch and
    how far a match reaches from its needle; None where an alternative requires no needle or matches
    have no length limit (then `is_bad` searches whole texts)."""
    tree = sre_parse.parse(BADNESS_RE.pattern, BADNESS_RE.flags)
    longest = tree.getwidth()[1]
    if BADNESS_RE.flags & re.IGNORECASE or longest >= sre_constants.MAXREPEAT:
        return None
    top = tree.data
    alternatives = top[0][1][1] if len(top) == 1 and top[0][0] is sre_constants.BRANCH else [tree]
    needles: set[str] = set()
    for alternative in alternatives:
        required = [chars for op, argument in alternative.data if (chars := _non_ascii_class(op, argument))]
        if not required:
            return None
        needles |= min(required, key=_commonness)
    reach = longest - 1
    needle = "[" + "".join(sorted(needles)) + "]"
    return re.compile(f"{needle}(?:[^{needle[1:]}{{0,{2 * reach}}}+{needle})*+"), reach


_NEEDLES = _badness_needles()


def is_bad(text: str) -> bool:
    """ftfy's `is_bad` (does the text look like it holds mojibake?), same answer, but its regex only
    searches around the needles, which most text has few of (see `_badness_needles`)."""
    if _NEEDLES is None:
        return BADNESS_RE.search(text) is not None
    clusters, reach = _NEEDLES
    return any(
        BADNESS_RE.search(text, max(cluster.start() - reach, 0), cluster.end() + reach)
        for cluster in clusters.finditer(text)
    )


def fix_text(text: str) -> str:
    """`ftfy.fix_text(text, FTFY_CONFIG)`, the same string: the same segments (lines, at most
    `max_decode_length` long), each fixed until nothing changes, but a step runs only where it can
    change something: the encoding fix where `is_bad` (ftfy's own test, found faster), the character
    fixers where one of their characters is. Most of ftfy's time went to checks that find nothing."""
    fixed = []
    start = 0
    with _ftfy_asking_is_bad():
        while start < len(text):
            end = min(text.find("\n", start) + 1 or len(text), start + FTFY_CONFIG.max_decode_length)
            fixed.append(_fix_segment(text[start:end]))
            start = end
    return "".join(fixed)


_PATCH_LOCK = threading.Lock()
_patch_depth = 0  # fix_text calls now inside `_ftfy_asking_is_bad`, over all threads
_unpatched = (ftfy.is_bad, ftfy.fixes.is_bad)  # what they were when the first of those calls came in


@contextmanager
def _ftfy_asking_is_bad() -> Iterator[None]:
    """ftfy's encoding fixer asks its `is_bad` of each text and of each piece it tries to decode (the
    name ftfy/__init__.py and ftfy/fixes.py import); while fixing, that name is this module's `is_bad`:
    the same answers, found faster (a quarter off `fix_text`). The first caller in patches it and the
    last one out puts ftfy's own back (a count under a lock, so overlapping threads cannot save the
    patched one); meanwhile other callers of ftfy get the same answers from either."""
    global _patch_depth, _unpatched
    with _PATCH_LOCK:
        if _patch_depth == 0:
            _unpatched = ftfy.is_bad, ftfy.fixes.is_bad
            ftfy.is_bad = ftfy.fixes.is_bad = is_bad
        _patch_depth += 1
    try:
        yield
    finally:
        with _PATCH_LOCK:
            _patch_depth -= 1
            if _patch_depth == 0:
                ftfy.is_bad, ftfy.fixes.is_bad = _unpatched


def _fix_segment(text: str) -> str:
    """`ftfy.fix_and_explain(text, FTFY_CONFIG).text`: its steps in its order, until a round changes nothing."""
    while True:
        original = text
        # ftfy.fix_encoding returns ASCII text, and text its `is_bad` passes, as it is
        if not text.isascii() and is_bad(text):
            text = ftfy.fix_encoding(text)
        if FIXED_CHARS.search(text):
            for fixer in _FIXERS:
                text = fixer(text)
        text = unicodedata.normalize(FTFY_CONFIG.normalization, text)
        if text == original:
            return text


def may_hold_mojibake(text: str) -> bool:
    """A cheap test: a UTF-8 lead byte's character followed by a continuation byte's (`Ã©`, `á»`)."""
    return _MOJIBAKE_HINT.search(text) is not None


def repair_lossy(text: str, scorer: ReadingScorer) -> str:
    """The text with lossy UTF-8/Windows-1252 mojibake decoded and dropped bytes restored, else unchanged."""
    if not may_hold_mojibake(text) or "\ufffd" in text:  # U+FFFD: bytes were replaced, not dropped
        return text
    parts: list[str] = []  # the output: kept text and decoded characters
    options: dict[int, tuple[str, ...]] = {}  # part index -> readings of a character that lost bytes
    multibyte = undecodable = 0
    last = 0
    for match in _RUN.finditer(text):
        run = match.group()
        parts.append(text[last : match.start()])
        position = 0
        data = run.translate(_AS_LATIN_1).encode("latin-1")
        sequences = _decode_run(data, space_follows=text.startswith(" ", match.end()))
        for used, readings in sequences:
            if not readings:  # not UTF-8: keep these characters as they are
                undecodable += 1
                readings = (run[position : position + used],)
            elif len(readings) > 1:
                options[len(parts)] = readings
            elif len(readings[0].encode()) > 1:
                multibyte += 1
            parts.append(readings[0])
            position += used
        last = match.end()
    parts.append(text[last:])
    proven = multibyte >= 2 and len(options) <= _MAX_BROKEN_PER_WHOLE * multibyte and undecodable * 2 < multibyte
    if not options or not proven:
        return text
    language = scorer.language("".join(p for i, p in enumerate(parts) if i not in options))
    choices: dict[tuple[str, tuple[str, ...], str], str] = {}  # the same broken word recurs
    for resolved_right in (False, True):  # first pass: context up to the next open choice; second: all chosen
        for index, readings in options.items():
            left = _context(parts, range(index - 1, -1, -1), options, True)[::-1]
            right = _context(parts, range(index + 1, len(parts)), options, resolved_right)
            word_left = left.split()[-1] if left[-1:].strip() else ""
            if len(word_left) < len(left) or not left:
                word_left = " " + word_left  # BPE vocabularies hold words with their leading space
            word_right = right.split(maxsplit=1)[0] if right[:1].strip() else ""
            key = (word_left, readings, word_right)
            if key not in choices:
                scores = scorer.scores([key[0] + reading + key[2] for reading in readings], language)
                scores = [score + _implausibility(reading, left[-1:]) for score, reading in zip(scores, readings)]
                choices[key] = readings[min(range(len(readings)), key=lambda k: (scores[k], k))]
            parts[index] = choices[key]
    return "".join(parts)


def _implausibility(char: str, previous: str) -> float:
    """What no model here sees: a capital inside a word, a combining mark after no letter, and a
    character outside the planes text uses (emoji aside)."""
    penalty = 0.0
    if char.isupper() and previous.isalpha():
        penalty += 2.0
    if unicodedata.category(char).startswith("M") and not previous.isalpha():
        penalty += 2.0
    if ord(char) >= 0x10000 and not (0x1F300 <= ord(char) <= 0x1F6FF or 0x1F900 <= ord(char) <= 0x1FAFF):
        penalty += 1.0
    return penalty


def _context(parts: list[str], order: range, options: dict[int, tuple[str, ...]], resolved: bool) -> str:
    """Up to _CONTEXT characters of the parts in `order` (reversed when walking left), stopping at an
    unresolved choice."""
    collected: list[str] = []
    size = 0
    for index in order:
        if index in options and not resolved:
            break
        piece = parts[index] if order.step > 0 else parts[index][::-1]
        collected.append(piece[: _CONTEXT - size])
        size += len(collected[-1])
        if size >= _CONTEXT:
            break
    return "".join(collected)
