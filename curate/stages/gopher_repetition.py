"""gopher_repetition: Gopher's repetition rules (Rae et al. 2021, table A1), which catch boilerplate and spam.

Defaults are the published ones, as in datatrove's `GopherRepetitionFilter`. Rules, in the order
they are checked, each with its own reason (fractions are of the document's characters unless
they count lines or paragraphs):

| reason | removes a document when | languages |
| --- | --- | --- |
| `dup_paragraphs` | over 30% of paragraphs repeat an earlier one | all |
| `dup_paragraph_chars` | repeated paragraphs hold over 20% of the characters | all |
| `dup_lines` | over 30% of lines repeat an earlier one | all |
| `dup_line_chars` | repeated lines hold over 20% of the characters | all |
| `top_2gram` .. `top_4gram` | the most frequent word 2/3/4-gram covers over 20/18/16% | `languages` |
| `dup_5gram` .. `dup_10gram` | repeats of word 5..10-grams cover over 15/14/13/12/11/10% | `languages` |

Paragraphs are separated by blank lines; lines are the non-empty lines. Words are
`curate.text.words()`, and an n-gram's characters are those of its words (separators left out, so
a CJK character n-gram is not inflated by spaces it does not have). The top n-gram is the most
frequent one (the longest among equally frequent ones, where datatrove takes the first seen), and
only counts when it occurs more than once. For the duplicated n-grams, the characters of every word that
lies in a repeat (not the first occurrence) of some n-gram are counted once, which is what the
paper describes; datatrove approximates it with a greedy scan.

The n-gram rules judge documents in `languages` (default: every language written with spaces; see
`curate.text.rule_applies`): on Thai, where a "word" is a single character or vowel mark, 10
characters are about two words, and ordinary text shows 15-30% "duplicated 10-grams".
"""

from __future__ import annotations

import re
from typing import Literal

import numpy as np
import pyarrow as pa

from ..document import Document
from ..errors import ConfigError
from ..text import lines, rule_applies, words
from .base import Signal, Stage, Verdict

TOP_NGRAMS = {2: 0.2, 3: 0.18, 4: 0.16}
DUP_NGRAMS = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_KEY_BASE = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit multiplier: n-gram keys collide with odds of about 2**-64


def _share(bins: int = 50) -> Signal:
    return Signal(pa.float32(), bins=(0, 1, bins))


class GopherRepetition(Stage):
    name = "gopher_repetition"
    signals = {
        "gopher_dup_paragraphs": _share(),
        "gopher_dup_paragraph_chars": _share(),
        "gopher_dup_lines": _share(),
        "gopher_dup_line_chars": _share(),
        **{f"gopher_top_{n}gram": _share() for n in TOP_NGRAMS},
        **{f"gopher_dup_{n}gram": _share() for n in DUP_NGRAMS},
    }

    def __init__(
        self,
        max_dup_paragraphs: float | None = 0.3,
        max_dup_paragraph_chars: float | None = 0.2,
        max_dup_lines: float | None = 0.3,
        max_dup_line_chars: float | None = 0.2,
        max_top_ngram_chars: dict[int, float] | None = None,
        max_dup_ngram_chars: dict[int, float] | None = None,
        languages: list[str] | None = None,
        mode: Literal["filter", "annotate"] = "filter",
    ) -> None:
        """The n-gram thresholds map n to a share (null: the published table); leaving an n out
        switches its rule off. `languages` limits the n-gram rules (null: languages written with spaces)."""
        super().__init__(mode)
        self.top_ngrams = _ngram_thresholds("max_top_ngram_chars", max_top_ngram_chars, TOP_NGRAMS)
        self.dup_ngrams = _ngram_thresholds("max_dup_ngram_chars", max_dup_ngram_chars, DUP_NGRAMS)
        self.languages = None if languages is None else list(languages)
        limits = {
            "dup_paragraphs": max_dup_paragraphs,
            "dup_paragraph_chars": max_dup_paragraph_chars,
            "dup_lines": max_dup_lines,
            "dup_line_chars": max_dup_line_chars,
            **{f"top_{n}gram": share for n, share in self.top_ngrams.items()},
            **{f"dup_{n}gram": share for n, share in self.dup_ngrams.items()},
        }
        self.limits = {reason: limit for reason, limit in limits.items() if limit is not None}  # in checking order

    def thresholds(self) -> dict[str, float]:
        return {f"gopher_{reason}": float(limit) for reason, limit in self.limits.items()}

    def process(self, docs: list[Document]) -> list[Verdict]:
        return [self.judge(doc) for doc in docs]

    def judge(self, doc: Document) -> Verdict:
        """Record every signal, then name the first rule the document breaks."""
        text = doc.text
        n_chars = len(text) or 1
        paragraphs = [p.strip() for p in _PARAGRAPH_BREAK.split(text) if p.strip()]
        text_lines = lines(text)
        shares = {
            "dup_paragraphs": _duplicates(paragraphs) / (len(paragraphs) or 1),
            "dup_paragraph_chars": _duplicate_chars(paragraphs) / n_chars,
            "dup_lines": _duplicates(text_lines) / (len(text_lines) or 1),
            "dup_line_chars": _duplicate_chars(text_lines) / n_chars,
        }
        if rule_applies(self.languages, doc.signals.get("language"), text):
            found = _ngram_chars(words(text), list(self.top_ngrams), list(self.dup_ngrams))
            shares.update({key: chars / n_chars for key, chars in found.items()})
        for key, share in shares.items():
            doc.signals[f"gopher_{key}"] = share

        for reason, limit in self.limits.items():
            if shares.get(reason, 0.0) > limit:
                return reason
        return None


def _ngram_thresholds(option: str, given: dict[int, float] | None, published: dict[int, float]) -> dict[int, float]:
    thresholds = dict(published if given is None else given)
    unknown = sorted(set(thresholds) - set(published))
    if unknown:
        raise ConfigError(f"gopher_repetition.{option}: n must be among {sorted(published)}, got {unknown}")
    return dict(sorted(thresholds.items()))


def _duplicates(items: list[str]) -> int:
    """How many items repeat an earlier one."""
    return len(items) - len(set(items))


def _duplicate_chars(items: list[str]) -> int:
    """Characters of the items that repeat an earlier one."""
    return sum(map(len, items)) - sum(map(len, set(items)))


def _ngram_chars(tokens: list[str], top_sizes: list[int], dup_sizes: list[int]) -> dict[str, int]:
    """Characters covered by the top n-grams (`top_<n>gram`) and by repeated n-grams (`dup_<n>gram`).

    Word n-grams become 64-bit keys (a polynomial over first-occurrence word ids; sorting keys
    is much faster than hashing tuples of strings). A repeated (n+1)-gram implies a repeated
    n-gram, so once an n has no repeat the larger ones are 0 without looking.
    """
    found: dict[str, int] = {}
    n_tokens = len(tokens)
    first_seen: dict[str, int] = {}
    word_ids = np.fromiter(map(first_seen.setdefault, tokens, range(n_tokens)), np.uint64, n_tokens) + np.uint64(1)
    lengths = np.fromiter(map(len, tokens), np.int64, n_tokens)
    char_offsets = np.concatenate(([0], np.cumsum(lengths)))
    keys = word_ids
    repeats_possible = True
    for n in range(2, max([*top_sizes, *dup_sizes], default=1) + 1):
        keys = keys[:-1] * _KEY_BASE + word_ids[n - 1 :]
        if n in top_sizes:
            found[f"top_{n}gram"] = _top_chars(keys, char_offsets, n)
        if n in dup_sizes:
            found[f"dup_{n}gram"] = _repeat_chars(keys, lengths, n) if repeats_possible else 0
            repeats_possible = found[f"dup_{n}gram"] > 0
    return found


def _top_chars(keys: np.ndarray, char_offsets: np.ndarray, n: int) -> int:
    """Characters of the most frequent n-gram (the longest among equally frequent) times its count."""
    if len(keys) == 0:
        return 0
    distinct, counts = np.unique(keys, return_counts=True)
    top = int(counts.max())
    if top < 2:
        return 0
    top_keys = distinct[counts == top]
    at = np.minimum(np.searchsorted(top_keys, keys), len(top_keys) - 1)
    starts = np.flatnonzero(top_keys[at] == keys)
    return int((char_offsets[starts + n] - char_offsets[starts]).max()) * top


def _repeat_chars(keys: np.ndarray, lengths: np.ndarray, n: int) -> int:
    """Characters of the words inside any repeat (not the first occurrence) of an n-gram, each once."""
    _, first_at = np.unique(keys, return_index=True)
    if len(first_at) == len(keys):
        return 0
    repeat = np.ones(len(keys), bool)
    repeat[first_at] = False
    starts = np.flatnonzero(repeat)
    edges = np.bincount(starts, minlength=len(lengths) + 1) - np.bincount(starts + n, minlength=len(lengths) + 1)
    return int(lengths[np.cumsum(edges[:-1]) > 0].sum())
