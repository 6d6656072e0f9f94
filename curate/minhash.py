"""MinHash signatures in bulk and LSH band keys (`curate.clusters` turns keys into clusters).

Signatures equal `datasketch.MinHash(num_perm, seed, hashfunc=shingle_hash, scheme="affine32")` fed
with `shingles(text)` (datasketch 2.0's default scheme), so sketches load into `LeanMinHash` and
`MinHashLSH`. Here they are computed for a whole batch at once: the texts are lowered, joined and
turned into one array of code points (C-speed str and numpy calls), then one numba-compiled pass
walks it: tokens, their hashes, the shingle hashes and the min over all permutations, text after
text, with no intermediate arrays. Compiled because the work is a sequential scan with a few
operations per character and token, which numpy can only express as many full-size passes
(about 5x slower). The kernel is cached under `curate/__pycache__`; `make setup` compiles it.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Iterator

import numpy as np
import pyarrow as pa

from .jit import njit_cached
from .text import NO_SPACE_SCRIPTS, code_points, every_character, punct_table, simplify

MASK64 = (1 << 64) - 1
_CHAR_BASE = 0x100000001B3  # odd: the polynomial base of token hashes (mod 2^64)
_TOKEN_BASE = 0x9E3779B97F4A7C15  # odd: the Horner base that chains token hashes into a shingle hash
_TOKEN = re.compile(rf"[{NO_SPACE_SCRIPTS}]|[^\s{NO_SPACE_SCRIPTS}]+")

# Character classes on lowered text, matching `curate.text.simplify` then `_TOKEN`.
_KEEP, _SEPARATOR, _DIGIT, _SINGLE = 0, 1, 2, 3


# --- the reference (one document, plain Python): what the bulk path must equal --------------------


def tokens(text: str) -> list[str]:
    """Tokens of simplified text: words, and single characters of scripts written without spaces."""
    return _TOKEN.findall(simplify(text))


def shingles(text: str, ngram: int = 5) -> list[str]:
    """Token n-grams joined by a space; a text shorter than `ngram` tokens is one shingle.

    CJK, Thai and other no-space scripts give one token per character, so their shingles are
    character n-grams, while words of other scripts in the same text stay words.
    """
    toks = tokens(text)
    if len(toks) <= ngram:
        return [" ".join(toks)] if toks else []
    return [" ".join(toks[i : i + ngram]) for i in range(len(toks) - ngram + 1)]


def shingle_hash(shingle: str | bytes) -> int:
    """The 32-bit hash of one shingle: the `hashfunc` to give datasketch for equal signatures."""
    if isinstance(shingle, bytes):
        shingle = shingle.decode("utf-8", "surrogatepass")
    chained = 0
    for token in shingle.split(" "):
        value, power = 0, 1
        for char in token:
            value = (value + ord(char) * power) & MASK64
            power = (power * _CHAR_BASE) & MASK64
        chained = (chained * _TOKEN_BASE + _fmix64_int(value)) & MASK64
    return _fmix64_int(chained) & 0xFFFFFFFF


def _fmix64_int(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & MASK64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & MASK64
    return h ^ (h >> 33)


# --- the bulk path --------------------------------------------------------------------------------


class MinHasher:
    """Signatures of many texts at once, equal to datasketch's `affine32` MinHash of `shingles`."""

    def __init__(self, num_perm: int = 128, seed: int = 1, ngram: int = 5) -> None:
        if ngram < 1:
            raise ValueError(f"ngram must be >= 1, got {ngram}")  # the compiled kernel does not check bounds
        self.num_perm, self.seed, self.ngram = num_perm, seed, ngram
        # datasketch 2.0 MinHash._init_permutations for "affine32": a odd, b any, both uint32.
        generator = np.random.RandomState(seed)
        self.a = generator.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
        self.b = generator.randint(0, 1 << 32, num_perm, dtype=np.uint32)

    def datasketch(self, text: str):
        """The reference sketch of one text (tests and benchmarks compare against it)."""
        from datasketch import MinHash

        sketch = MinHash(num_perm=self.num_perm, seed=self.seed, hashfunc=shingle_hash, scheme="affine32")
        sketch.update_batch(shingles(text, self.ngram))
        return sketch

    def signatures(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(signatures `[len(texts), num_perm]` uint32, shingle counts); a text without tokens
        gets the empty sketch (all 0xFFFFFFFF) and a count of 0."""
        signatures = np.empty((len(texts), self.num_perm), dtype=np.uint32)
        counts = np.empty(len(texts), dtype=np.int64)
        for lo, hi in _spans_by_size([len(t) for t in texts], CHARS_PER_BLOCK):
            lowered = [t.lower() for t in texts[lo:hi]]  # may change lengths, so text ends come from these
            codes = code_points("".join(lowered))
            ends = np.cumsum([len(t) for t in lowered], dtype=np.int64)
            _signature_kernel(codes, ends, _char_classes(), self.a, self.b, self.ngram, signatures[lo:hi], counts[lo:hi])
        return signatures, counts


CHARS_PER_BLOCK = 1 << 22  # texts are joined into code points about this many characters at a time


def _spans_by_size(sizes: list[int], budget: int) -> Iterator[tuple[int, int]]:
    """Consecutive [lo, hi) ranges of items whose sizes add up to about `budget` (at least one item)."""
    lo, total = 0, 0
    for i, size in enumerate(sizes):
        if total and total + size > budget:
            yield lo, i
            lo, total = i, 0
        total += size
    if lo < len(sizes):
        yield lo, len(sizes)


@cache
def _char_classes() -> np.ndarray:
    """Class of every code point: separator (punctuation, symbols, space), digit, single, or kept."""
    every = every_character()
    classes = np.zeros(0x110000, dtype=np.uint8)
    for match in re.finditer(rf"[{NO_SPACE_SCRIPTS}]+", every):
        classes[match.start() : match.end()] = _SINGLE
    for match in re.finditer(r"\s+", every):
        classes[match.start() : match.end()] = _SEPARATOR
    for match in re.finditer(r"\d+", every):
        classes[match.start() : match.end()] = _DIGIT
    classes[np.fromiter(punct_table(), dtype=np.int64)] = _SEPARATOR  # what `simplify` blanks, computed once there
    classes[0xD800:0xE000] = _KEEP  # lone surrogates: kept as characters, as `simplify` keeps them
    return classes


@njit_cached
def _signature_kernel(codes, ends, classes, a, b, ngram, signatures, counts) -> None:
    """One pass over the code points of texts ending at `ends`: `shingle_hash` of every shingle,
    pre-mixed, then signatures[text, p] = min of a[p] * h + b[p] (mod 2^32) and counts[text].

    A token ends before a separator or a single (no-space-script) character, and after a single
    character. The hashes of the last `ngram` tokens are kept in a window that shifts by one per
    token (no modulo in the hot loop); every token from the `ngram`-th on completes one shingle,
    and a text of fewer tokens is one shingle of them all.
    """
    window = np.empty(ngram, dtype=np.uint64)  # the last `ngram` token hashes, the newest last
    longest = 0
    for t in range(len(ends)):
        longest = max(longest, ends[t] - (ends[t - 1] if t else 0))
    premixed = np.empty(longest + 1, dtype=np.uint32)  # a text has at most one shingle per character, or one
    start = 0
    for t in range(len(ends)):
        end = ends[t]
        tokens, shingles = 0, 0
        value, power = np.uint64(0), np.uint64(1)
        next_class = classes[codes[start]] if start < end else _SEPARATOR
        for i in range(start, end):
            char_class = next_class
            next_class = classes[codes[i + 1]] if i + 1 < end else _SEPARATOR
            if char_class == _SEPARATOR:
                continue
            code = np.uint64(0x30) if char_class == _DIGIT else np.uint64(codes[i])
            value += code * power
            power *= np.uint64(_CHAR_BASE)
            if char_class == _SINGLE or next_class == _SEPARATOR or next_class == _SINGLE:
                for k in range(ngram - 1):
                    window[k] = window[k + 1]
                window[ngram - 1] = _fmix64_compiled(value)
                tokens += 1
                value, power = np.uint64(0), np.uint64(1)
                if tokens >= ngram:
                    premixed[shingles] = _premixed_shingle(window, ngram)
                    shingles += 1
        if 0 < tokens < ngram:
            premixed[0] = _premixed_shingle(window, tokens)
            shingles = 1
        counts[t] = shingles
        for p in range(len(a)):  # a min-reduction over contiguous uint32: vectorized by LLVM
            a_p, b_p, low = a[p], b[p], np.uint32(0xFFFFFFFF)
            for s in range(shingles):
                low = min(low, np.uint32(a_p * premixed[s] + b_p))  # the uint32 cast is the mod 2^32
            signatures[t, p] = low
        start = end


@njit_cached(inline="always")
def _premixed_shingle(window, length) -> np.uint32:
    """`shingle_hash` of the last `length` token hashes in the window, with datasketch's
    `affine32` pre-mix (the MurmurHash3 32-bit finalizer) applied."""
    chained = np.uint64(0)
    for k in range(len(window) - length, len(window)):
        chained = chained * np.uint64(_TOKEN_BASE) + window[k]
    h = _fmix64_compiled(chained) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & np.uint64(0xFFFFFFFF)
    return np.uint32(h ^ (h >> np.uint64(16)))


def _fmix64(h: np.ndarray) -> np.ndarray:
    """The MurmurHash3 64-bit finalizer, on uint64 arrays (and, compiled, on uint64 scalars)."""
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


_fmix64_compiled = njit_cached(inline="always")(_fmix64)


# --- LSH ------------------------------------------------------------------------------------------


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) of datasketch's optimiser, equal weights on false positives and negatives: of every
    bands x rows <= num_perm, in its order, the first minimising the false-positive mass (the candidate
    probability 1 - (1 - s^rows)^bands integrated below the threshold) plus the false-negative mass
    (its complement above). The candidate probability is a polynomial of degree at most num_perm, so
    Gauss-Legendre with num_perm // 2 + 1 nodes integrates it exactly, with numpy in milliseconds where
    datasketch's scipy `quad` costs each process ~0.15 s of imports (tests/test_dedup.py checks the same
    choice on a grid of thresholds and sizes)."""
    nodes, weights = np.polynomial.legendre.leggauss(num_perm // 2 + 1)
    pairs = [(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)]
    bands, rows = (np.array(column, dtype=np.float64)[:, None] for column in zip(*pairs))

    def mass(low: float, high: float, missed: bool) -> np.ndarray:
        s = low + (high - low) / 2 * (nodes + 1)  # the nodes moved from [-1, 1] onto [low, high]
        candidate = 1 - (1 - s**rows) ** bands
        return (high - low) / 2 * (((1 - candidate) if missed else candidate) @ weights)

    error = mass(0.0, threshold, missed=False) * 0.5 + mass(threshold, 1.0, missed=True) * 0.5
    return pairs[int(np.argmin(error))]  # the first minimum, as datasketch's strict comparison keeps


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per (document, band): equal keys <=> equal band slices, as in MinHashLSH."""
    sliced = signatures[:, : bands * rows].reshape(len(signatures), bands, rows).astype(np.uint64)
    keys = np.broadcast_to(_fmix64(np.arange(1, bands + 1, dtype=np.uint64)), sliced.shape[:2]).copy()
    for row in range(rows):
        keys = _fmix64(keys ^ sliced[:, :, row]) * np.uint64(_TOKEN_BASE)
    return _fmix64(keys)


def estimated_jaccard(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Row-wise share of equal signature values (datasketch's `MinHash.jaccard`)."""
    return (first == second).mean(axis=1)


# --- signatures as Arrow columns ------------------------------------------------------------------


def list_values(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A fixed-size-list column as a 2-D numpy array."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return np.asarray(column.flatten()).reshape(len(column), column.type.list_size)


def fixed_size_list(values: np.ndarray) -> pa.FixedSizeListArray:
    return pa.FixedSizeListArray.from_arrays(pa.array(values.ravel()), values.shape[1])
