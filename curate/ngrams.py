"""Word n-grams of a normalised text: the one definition of "shares text with the evaluation set".

The `decontaminate` stage removes documents by it and `curate ablate` measures the eval overlap by it, so the
figure in the report and the stage's decisions always agree. Text is lowercased and split into
`curate.text.words` (letter/digit runs, one word per CJK/Thai character), so punctuation, spacing
(`O'Reilly 's` vs `O'Reilly's`), line wrapping and case never hide a match. Each word gets a stable 64-bit
hash (the same in every process) and each window of `n` words a polynomial hash of those.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

from .text import words

DEFAULT_NGRAM = 13  # GPT-3's contamination check (Brown et al. 2020): 13 words in common
_MULTIPLIER = np.uint64(1_000_003)


def ngram_hashes(text: str, n: int = DEFAULT_NGRAM) -> np.ndarray:
    """The distinct n-gram hashes of `text`, sorted (uint64); empty when it has fewer than `n` words."""
    tokens = words(text.lower())
    if len(tokens) < n:
        return np.zeros(0, dtype=np.uint64)
    word_hashes = np.array([_WORD_HASHES.get(t) or _word_hash(t) for t in tokens], dtype=np.uint64)
    count = len(tokens) - n + 1
    hashes = np.zeros(count, dtype=np.uint64)
    for k in range(n):  # numpy's uint64 arithmetic wraps, as a polynomial hash wants
        hashes = hashes * _MULTIPLIER + word_hashes[k : k + count]
    return np.unique(hashes)


def ngram_set(texts: Iterable[str], n: int = DEFAULT_NGRAM) -> np.ndarray:
    """The distinct n-gram hashes of all `texts`, sorted: a set to test membership with `contains`."""
    parts = [ngram_hashes(text, n) for text in texts]
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)


def contains(reference: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    """For each of `hashes`, whether the sorted `reference` set holds it."""
    if not len(reference):
        return np.zeros(len(hashes), dtype=bool)
    return reference[np.minimum(np.searchsorted(reference, hashes), len(reference) - 1)] == hashes


_WORD_HASHES: dict[str, int] = {}  # a cache: most words recur, and hashing one is slower than looking it up
_CACHE_LIMIT = 2_000_000


def _word_hash(word: str) -> int:
    if len(_WORD_HASHES) >= _CACHE_LIMIT:
        _WORD_HASHES.clear()
    value = int.from_bytes(hashlib.blake2b(word.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
    _WORD_HASHES[word] = value or 1  # 0 would read as "not cached"
    return value or 1
