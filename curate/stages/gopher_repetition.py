"""gopher_repetition: Gopher's repetition rules (Rae et al. 2021, table A1), which catch boilerplate and spam.

Defaults are the published ones. Rules, in the order they are checked (`curate.stages.rules`);
shares are of the document's characters unless they count lines or paragraphs:

| reason | removes when | judges |
| --- | --- | --- |
| `dup_paragraphs` | `gopher_dup_paragraphs` > 0.3 | every document |
| `dup_paragraph_chars` | `gopher_dup_paragraph_chars` > 0.2 | every document |
| `dup_lines` | `gopher_dup_lines` > 0.3 | every document |
| `dup_line_chars` | `gopher_dup_line_chars` > 0.2 | every document |
| `top_2gram` | `gopher_top_2gram` > 0.2 | documents in `languages` (unlabelled ones: written with spaces) |
| `top_3gram` | `gopher_top_3gram` > 0.18 | documents in `languages` (unlabelled ones: written with spaces) |
| `top_4gram` | `gopher_top_4gram` > 0.16 | documents in `languages` (unlabelled ones: written with spaces) |
| `dup_5gram` | `gopher_dup_5gram` > 0.15 | documents in `languages` (unlabelled ones: written with spaces) |
| `dup_6gram` | `gopher_dup_6gram` > 0.14 | documents in `languages` (unlabelled ones: written with spaces) |
| `dup_7gram` | `gopher_dup_7gram` > 0.13 | documents in `languages` (unlabelled ones: written with spaces) |
| `dup_8gram` | `gopher_dup_8gram` > 0.12 | documents in `languages` (unlabelled ones: written with spaces) |
| `dup_9gram` | `gopher_dup_9gram` > 0.11 | documents in `languages` (unlabelled ones: written with spaces) |
| `dup_10gram` | `gopher_dup_10gram` > 0.1 | documents in `languages` (unlabelled ones: written with spaces) |

What each signal counts:

| signal | paper | curate | datatrove 0.10.1 |
| --- | --- | --- | --- |
| paragraphs | "duplicate paragraph fraction" | blocks between blank lines (whitespace-only lines count as blank) | split at `\n\n+` |
| lines | "duplicate line fraction" | non-empty lines, stripped | split at `\n+`, not stripped |
| words | word n-grams | `text.spaced_words` (a URL is one word, punctuation is not a word) | spaCy/NLTK tokens, punctuation included |
| n-gram characters | "characters contained within" the n-grams | characters of its words, separators left out | joined with spaces (top) or without (duplicates) |
| top n-gram | "the most frequently occurring n-gram" (ties not said) | the most frequent, the first to occur among equally frequent ones (as datatrove); one that occurs once is no repetition and scores 0 | the first seen among equally frequent; one that occurs once still scores |
| duplicated n-grams | characters "contained within" repeated n-grams | every word inside a repeat (not the first occurrence) of some n-gram, counted once | a greedy left-to-right scan that skips n words after each repeat |

The n-gram rules judge documents in `languages` (default: every language written with spaces): on
Thai, where a "word" is a single character or vowel mark, 10 characters are about two words, and
ordinary text shows 15-30% "duplicated 10-grams".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa

from ..analysis import TextAnalysis
from ..jit import njit_cached
from ..options import OptionError, option
from .base import Signal
from .rules import Rule, RuleOptions, RuleStage, Scope

TOP_NGRAMS = {2: 0.2, 3: 0.18, 4: 0.16}
DUP_NGRAMS = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
_KEY_BASE = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit multiplier of the n-gram key polynomial
_SLOT_MIX = np.uint64(0xBF58476D1CE4E5B9)  # spreads keys over the table's slots


def _share(bins: int = 50) -> Signal:
    return Signal(pa.float32(), bins=(0, 1, bins))


def _rule(reason: str, scope: Scope) -> Rule:
    return Rule(reason, f"gopher_{reason}", reason, ">", scope)


@dataclass(frozen=True, kw_only=True)
class GopherRepetitionOptions(RuleOptions):
    """Null switches a rule off; `languages` limits the n-gram rules."""

    max_dup_paragraphs: float | None = option(0.3, "a larger share of repeated paragraphs removes a document", ge=0, le=1)
    max_dup_paragraph_chars: float | None = option(0.2, "a larger share of characters in repeated paragraphs", ge=0, le=1)
    max_dup_lines: float | None = option(0.3, "a larger share of repeated lines removes it", ge=0, le=1)
    max_dup_line_chars: float | None = option(0.2, "a larger share of characters in repeated lines", ge=0, le=1)
    max_top_ngram_chars: dict[int, float] | None = option(
        None, "n (2-4) -> the share of characters the top n-gram may cover; null: the published table; an n left out is off"
    )
    max_dup_ngram_chars: dict[int, float] | None = option(
        None, "n (5-10) -> the share of characters repeated n-grams may cover; null: the published table"
    )

    def __post_init__(self) -> None:
        for key, given, published in (
            ("max_top_ngram_chars", self.max_top_ngram_chars, TOP_NGRAMS),
            ("max_dup_ngram_chars", self.max_dup_ngram_chars, DUP_NGRAMS),
        ):
            unknown = sorted(set(given or {}) - set(published))
            if unknown:
                raise OptionError(key, f"n must be among {sorted(published)}, got {unknown}")


class GopherRepetition(RuleStage):
    name = "gopher_repetition"
    signals = {
        "gopher_dup_paragraphs": _share(),
        "gopher_dup_paragraph_chars": _share(),
        "gopher_dup_lines": _share(),
        "gopher_dup_line_chars": _share(),
        **{f"gopher_top_{n}gram": _share() for n in TOP_NGRAMS},
        **{f"gopher_dup_{n}gram": _share() for n in DUP_NGRAMS},
    }
    rules = (
        *(_rule(reason, "all") for reason in ("dup_paragraphs", "dup_paragraph_chars", "dup_lines", "dup_line_chars")),
        *(_rule(f"top_{n}gram", "languages") for n in TOP_NGRAMS),
        *(_rule(f"dup_{n}gram", "languages") for n in DUP_NGRAMS),
    )

    Options = GopherRepetitionOptions
    options: GopherRepetitionOptions

    def rule_bounds(self) -> dict[str, float | None]:
        """A rule's bound is keyed by its reason; an n-gram size left out of its table is off."""
        o = self.options
        top = TOP_NGRAMS if o.max_top_ngram_chars is None else o.max_top_ngram_chars
        dup = DUP_NGRAMS if o.max_dup_ngram_chars is None else o.max_dup_ngram_chars
        return {
            "dup_paragraphs": o.max_dup_paragraphs,
            "dup_paragraph_chars": o.max_dup_paragraph_chars,
            "dup_lines": o.max_dup_lines,
            "dup_line_chars": o.max_dup_line_chars,
            **{f"top_{n}gram": top.get(n) for n in TOP_NGRAMS},
            **{f"dup_{n}gram": dup.get(n) for n in DUP_NGRAMS},
        }

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.top_sizes = [n for n in TOP_NGRAMS if self.bounds[f"top_{n}gram"] is not None]
        self.dup_sizes = [n for n in DUP_NGRAMS if self.bounds[f"dup_{n}gram"] is not None]

    def setup(self) -> None:
        """Load (or compile, the first time) the kernels before the first batch is timed."""
        super().setup()
        ngram_chars(TextAnalysis("warm the kernel up"), [2], [5])

    def measure(self, analysis: TextAnalysis, scopes: dict[Scope, bool]) -> dict[str, float]:
        n_chars = len(analysis.text) or 1
        paragraphs = analysis.paragraphs
        text_lines = analysis.lines
        shares = {
            "dup_paragraphs": _duplicates(paragraphs) / (len(paragraphs) or 1),
            "dup_paragraph_chars": _duplicate_chars(paragraphs) / n_chars,
            "dup_lines": _duplicates(text_lines) / (len(text_lines) or 1),
            "dup_line_chars": _duplicate_chars(text_lines) / n_chars,
        }
        if scopes["languages"]:
            found = ngram_chars(analysis, self.top_sizes, self.dup_sizes)
            shares.update({key: chars / n_chars for key, chars in found.items()})
        return {f"gopher_{key}": share for key, share in shares.items()}


def _duplicates(items: list[str]) -> int:
    """How many items repeat an earlier one."""
    return len(items) - len(set(items))


def _duplicate_chars(items: list[str]) -> int:
    """Characters of the items that repeat an earlier one."""
    return sum(map(len, items)) - sum(map(len, set(items)))


def ngram_chars(analysis: TextAnalysis, top_sizes: list[int], dup_sizes: list[int]) -> dict[str, int]:
    """Characters covered by the top n-grams (`top_<n>gram`) and by repeated n-grams (`dup_<n>gram`)."""
    if not (top_sizes or dup_sizes):
        return {}
    chars = _ngram_kernel(analysis.word_ids, analysis.word_lengths, *_size_masks(tuple(top_sizes), tuple(dup_sizes)))
    return {
        **{f"top_{n}gram": int(chars[0, n]) for n in top_sizes},
        **{f"dup_{n}gram": int(chars[1, n]) for n in dup_sizes},
    }


@cache
def _size_masks(top_sizes: tuple[int, ...], dup_sizes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's `top` and `dup`: for each n up to the largest asked for, whether it is asked for."""
    largest = max(top_sizes + dup_sizes)
    return np.array([n in top_sizes for n in range(largest + 1)]), np.array([n in dup_sizes for n in range(largest + 1)])


@njit_cached
def _ngram_kernel(word_ids: np.ndarray, lengths: np.ndarray, top: np.ndarray, dup: np.ndarray) -> np.ndarray:
    """Row 0: characters of the most frequent n-gram (the first to occur among equally frequent ones)
    times its count, 0 when none repeats. Row 1: characters of the words inside any repeat (not the
    first occurrence) of an n-gram, each word once. Column n, for the n that `top`/`dup` ask for.

    N-grams are 64-bit keys (a polynomial over word ids: collisions have odds of about 2**-64),
    counted in an open-addressing table. An (n+1)-gram can repeat only where its leading n-gram
    repeats, so each n looks only at the positions whose (n-1)-gram repeated: after the first few
    sizes, a small share of the text (and none once no n-gram repeats).
    """
    largest = len(top) - 1
    out = np.zeros((2, largest + 1), np.int64)
    n_words = len(word_ids)
    size = 1
    while size < 2 * n_words:
        size *= 2
    table_keys = np.zeros(size, np.uint64)
    table_count = np.zeros(size, np.int64)
    table_first = np.full(size, -1, np.int64)
    slot_of = np.zeros(n_words, np.int64)
    repeats = np.zeros(n_words, np.bool_)  # the n-gram at i repeats an earlier one
    keys = word_ids.copy()
    offsets = np.zeros(n_words + 1, np.int64)
    for i in range(n_words):
        offsets[i + 1] = offsets[i] + lengths[i]
    candidates = np.arange(n_words)  # in order: the positions whose n-gram may repeat
    n_candidates = n_words
    for n in range(2, largest + 1):
        n_grams = n_words - n + 1
        kept = 0
        for k in range(n_candidates):
            i = candidates[k]
            if i < n_grams:
                keys[i] = keys[i] * _KEY_BASE + word_ids[i + n - 1]
                candidates[kept] = i
                kept += 1
        n_candidates = kept
        if n_candidates == 0:
            break
        if not (top[n] or dup[n]):
            continue
        size = 1
        while size < 2 * n_candidates:
            size *= 2
        mask = np.uint64(size - 1)
        table_first[:size] = -1
        table_count[:size] = 0
        any_repeat = False
        for k in range(n_candidates):
            i = candidates[k]
            key = keys[i]
            slot = ((key * _SLOT_MIX) >> np.uint64(17)) & mask
            while table_first[slot] != -1 and table_keys[slot] != key:
                slot = (slot + np.uint64(1)) & mask
            repeats[i] = table_first[slot] != -1
            if repeats[i]:
                any_repeat = True
            else:
                table_keys[slot] = key
                table_first[slot] = i
            table_count[slot] += 1
            slot_of[i] = slot
        if top[n] and any_repeat:
            best = 1
            best_first = -1
            for k in range(n_candidates):
                i = candidates[k]
                count = table_count[slot_of[i]]
                if count > best:
                    best = count
                    best_first = i
            out[0, n] = (offsets[best_first + n] - offsets[best_first]) * best
        if dup[n] and any_repeat:  # the words of the union of the repeats' spans, left to right
            total = 0
            reach = 0
            for k in range(n_candidates):
                i = candidates[k]
                if repeats[i] and i + n > reach:
                    total += offsets[i + n] - offsets[max(i, reach)]
                    reach = i + n
            out[1, n] = total
        kept = 0
        for k in range(n_candidates):  # only an n-gram that repeats can start a repeated (n+1)-gram
            i = candidates[k]
            if table_count[slot_of[i]] > 1:
                candidates[kept] = i
                kept += 1
        n_candidates = kept
    return out
