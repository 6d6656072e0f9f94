"""Word n-grams of a normalised text: the one definition of "shares text with the evaluation set".

The `decontaminate` stage removes documents by it and `curate ablate` measures the eval overlap by it, so the
figure in the report and the stage's decisions always agree. Text is lowercased and split into
`curate.text.words` (letter/digit runs, one word per CJK/Thai character), so punctuation, spacing
(`O'Reilly 's` vs `O'Reilly's`), line wrapping and case never hide a match. Each window of `n` words gets a
polynomial hash of its words' hashes. Python's string hash is salted per process, so hashes are compared
only within the process that made them (a stage builds its reference set in `setup`), never stored.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .text import words

DEFAULT_NGRAM = 13  # GPT-3's contamination check (Brown et al. 2020): 13 words in common
_MULTIPLIER = np.uint64(1_000_003)


def ngram_hashes(text: str, n: int = DEFAULT_NGRAM) -> np.ndarray:
    """The distinct n-gram hashes of `text` (uint64), sorted; empty when it has fewer than `n` words."""
    tokens = words(text.lower())
    if len(tokens) < n:
        return np.zeros(0, dtype=np.uint64)
    word_hashes = np.fromiter(map(hash, tokens), dtype=np.int64, count=len(tokens)).view(np.uint64)
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
