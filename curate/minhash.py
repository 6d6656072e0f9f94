"""MinHash signatures in bulk, LSH band keys, and the disk-backed grouping that turns keys into clusters.

Signatures equal `datasketch.MinHash(num_perm, seed, hashfunc=shingle_hash, scheme="affine32")` fed
with `shingles(text)` (datasketch 2.0's default scheme), so sketches load into `LeanMinHash` and
`MinHashLSH`. Here they are computed for a whole batch at once: the texts are lowered, joined and
turned into one array of code points (C-speed str and numpy calls), then one numba-compiled pass
walks it: tokens, their hashes, the shingle hashes and the min over all permutations, text after
text, with no intermediate arrays. Compiled because the work is a sequential scan with a few
operations per character and token, which numpy can only express as many full-size passes
(about 5x slower). The kernel is cached under `curate/__pycache__`; `make setup` compiles it.

Grouping (`SortedRuns`) collects (key, check, index) records under a memory budget, spills sorted
runs to a scratch folder when the budget is reached, and merges them back block by block, so
resolving a corpus never needs all records in memory. `UnionFind` is a vectorized union-find
whose root is the smallest index of each component: the survivor of a cluster is the document
seen first in input order.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
from numba import njit

from .stages.base import DECISIONS_SCHEMA, KeyTables
from .stats import Histogram, StageStats
from .text import PUNCT_TABLE, NO_SPACE_SCRIPTS, simplify

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
            codes = np.frombuffer("".join(lowered).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
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
    every = "".join(map(chr, range(0xD800))) + "\0" * 0x800 + "".join(map(chr, range(0xE000, 0x110000)))
    classes = np.zeros(0x110000, dtype=np.uint8)
    for match in re.finditer(rf"[{NO_SPACE_SCRIPTS}]+", every):
        classes[match.start() : match.end()] = _SINGLE
    for match in re.finditer(r"\s+", every):
        classes[match.start() : match.end()] = _SEPARATOR
    for match in re.finditer(r"\d+", every):
        classes[match.start() : match.end()] = _DIGIT
    classes[np.fromiter(PUNCT_TABLE, dtype=np.int64)] = _SEPARATOR  # what `simplify` blanks, computed once there
    classes[0xD800:0xE000] = _KEEP  # lone surrogates: kept as characters, as `simplify` keeps them
    return classes


@njit(cache=True)
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


@njit(cache=True, inline="always")
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


_fmix64_compiled = njit(cache=True, inline="always")(_fmix64)


# --- LSH ------------------------------------------------------------------------------------------


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) from datasketch's optimiser, equal weights on false positives and negatives."""
    from datasketch.lsh import _optimal_param

    return _optimal_param(threshold, num_perm, 0.5, 0.5)


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


# --- grouping with a memory budget ----------------------------------------------------------------

RECORD = np.dtype([("key", np.uint64), ("check", np.uint64), ("index", np.int64)])
_BYTES_PER_RECORD = 3 * RECORD.itemsize  # the records, a sorted copy, and the sort's permutation


class SortedRuns:
    """Records (key, check, index) grouped by equal (key, check), within a memory budget.

    Records are buffered; a full buffer is sorted and written to `scratch` as a run. `edges` merges
    the runs (or sorts the buffer when nothing spilled) and yields, block by block, the edges that
    connect every record of a group to the group's first record.
    """

    def __init__(self, scratch: Path, memory_bytes: int) -> None:
        self.scratch = scratch
        self.capacity = max(256, memory_bytes // _BYTES_PER_RECORD)
        self.buffer: list[np.ndarray] = []
        self.buffered = 0
        self.runs: list[Path] = []
        self.records = 0

    def add(self, keys: np.ndarray, indexes: np.ndarray, checks: np.ndarray | None = None) -> None:
        for lo in range(0, len(keys), self.capacity):
            hi = lo + self.capacity
            records = np.empty(len(keys[lo:hi]), dtype=RECORD)
            records["key"], records["index"] = keys[lo:hi], indexes[lo:hi]
            records["check"] = 0 if checks is None else checks[lo:hi]
            self.buffer.append(records)
            self.buffered += len(records)
            self.records += len(records)
            if self.buffered >= self.capacity:
                self._spill()

    def _spill(self) -> None:
        path = self.scratch / f"run-{len(self.runs):05d}.npy"
        np.save(path, _sorted(np.concatenate(self.buffer)))
        self.runs.append(path)
        self.buffer, self.buffered = [], 0

    def blocks(self) -> Iterator[np.ndarray]:
        """All records sorted by (key, check, index), in blocks that fit the budget."""
        if not self.runs:
            if self.buffer:
                yield _sorted(np.concatenate(self.buffer))
            return
        if self.buffer:
            self._spill()
        runs = [np.load(path, mmap_mode="r") for path in self.runs]
        positions = [0] * len(runs)
        step = max(1, self.capacity // (len(runs) + 1))
        while True:
            live = [r for r in range(len(runs)) if positions[r] < len(runs[r])]
            if not live:
                return
            chunks = {r: runs[r][positions[r] : positions[r] + step] for r in live}
            unfinished = [chunks[r]["key"][-1] for r in live if positions[r] + len(chunks[r]) < len(runs[r])]
            pieces = []
            for r in live:
                cut = len(chunks[r]) if not unfinished else int(np.searchsorted(chunks[r]["key"], min(unfinished), side="right"))
                pieces.append(np.asarray(chunks[r][:cut]))
                positions[r] += cut
            yield _sorted(np.concatenate(pieces))

    def edges(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(hub, member) index pairs joining each group of equal (key, check) to its first record.

        Blocks end on a key, but runs still holding that key continue it in the next block, so
        the hubs of the groups at a block's last key carry over.
        """
        carried_key, carried_hubs = None, {}  # the last key of the previous block: check -> hub
        for block in self.blocks():
            keys, checks, indexes = block["key"], block["check"], block["index"]
            new_group = np.ones(len(block), dtype=bool)
            new_group[1:] = (keys[1:] != keys[:-1]) | (checks[1:] != checks[:-1])
            hubs = indexes[np.maximum.accumulate(np.where(new_group, np.arange(len(block)), 0))]
            continued = np.flatnonzero(keys == carried_key) if carried_key is not None else []
            for check, hub in carried_hubs.items():
                hubs[continued[checks[continued] == check]] = hub
            member = hubs != indexes
            at_last_key = np.flatnonzero((keys == keys[-1]) & new_group)
            found = {int(c): int(h) for c, h in zip(checks[at_last_key], hubs[at_last_key])}
            carried_hubs = carried_hubs | found if keys[-1] == carried_key else found
            carried_key = keys[-1]
            yield hubs[member], indexes[member]


def _sorted(records: np.ndarray) -> np.ndarray:
    return records[np.lexsort((records["index"], records["check"], records["key"]))]


# --- union-find -----------------------------------------------------------------------------------


class UnionFind:
    """Components over indexes 0..n-1, joined edge block by edge block; a root is its component's
    smallest index, so the survivor of a cluster is the earliest document."""

    def __init__(self, n: int) -> None:
        self.parent = np.arange(n, dtype=np.int64)

    def union(self, first: np.ndarray, second: np.ndarray) -> None:
        while len(first):
            a, b = self._find(first), self._find(second)
            apart = a != b
            a, b = a[apart], b[apart]
            if not len(a):
                return
            low, high = np.minimum(a, b), np.maximum(a, b)
            np.minimum.at(self.parent, high, low)
            first, second = low, high

    def _find(self, nodes: np.ndarray) -> np.ndarray:
        roots = self.parent[nodes]
        while True:
            up = self.parent[roots]
            if np.array_equal(up, roots):
                break
            roots = up
        self.parent[nodes] = roots
        return roots

    def roots(self) -> np.ndarray:
        parent = self.parent
        while True:
            up = parent[parent]
            if np.array_equal(up, parent):
                return parent
            parent = up
            self.parent = parent


def join(edges: Iterable[tuple[np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    """The root (smallest index) of each of `n` indexes' component, after joining every edge."""
    components = UnionFind(n)
    for first, second in edges:
        components.union(first, second)
    return components.roots()


def unique_edges(edges: Iterable[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """All edges, each pair once as (smaller, larger), sorted."""
    parts = [np.stack((np.minimum(a, b), np.maximum(a, b)), axis=1) for a, b in edges if len(a)]
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pairs = np.unique(np.concatenate(parts), axis=0)
    return pairs[:, 0], pairs[:, 1]


# --- from components to decisions -----------------------------------------------------------------

CLUSTER_SIZE_BINS = (2.0, 1e6, 30)  # log-spaced histogram of cluster sizes in the stage's stats


def list_values(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A fixed-size-list column as a 2-D numpy array."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return np.asarray(column.flatten()).reshape(len(column), column.type.list_size)


def fixed_size_list(values: np.ndarray) -> pa.FixedSizeListArray:
    return pa.FixedSizeListArray.from_arrays(pa.array(values.ravel()), values.shape[1])


def gather(key_tables: KeyTables, indexes: np.ndarray, column: str) -> list[pa.Array]:
    """Rows `indexes` (sorted, global over all key tables in order) of one column, in one more pass."""
    pieces, offset = [], 0
    for table in key_tables([column]):
        lo, hi = np.searchsorted(indexes, [offset, offset + len(table)])
        if hi > lo:
            pieces.append(table.column(column).take(pa.array(indexes[lo:hi] - offset)).combine_chunks())
        offset += len(table)
    return pieces


def decisions_for(roots: np.ndarray, key_tables: KeyTables, stats: StageStats) -> pa.Table:
    """The decisions table: every document in a cluster of two or more, with its survivor's id (null
    for the survivor itself), a dense cluster number and its shard, in input order. The clusters'
    count and sizes go to `stats`."""
    sizes = np.bincount(roots, minlength=len(roots))
    members = np.flatnonzero(sizes[roots] > 1)
    member_roots = roots[members]
    cluster_roots = np.unique(member_roots)
    columns = {}
    for name in ("id", "shard"):
        pieces = gather(key_tables, members, name) if len(members) else []
        columns[name] = pa.concat_arrays(pieces) if pieces else pa.array([], pa.string())
    survivor_ids = columns["id"].take(pa.array(np.searchsorted(members, member_roots)))
    is_survivor = pa.array(members == member_roots)
    table = pa.table(
        {
            "id": columns["id"],
            "survivor": pa.compute.if_else(is_survivor, pa.scalar(None, pa.string()), survivor_ids),
            "cluster": pa.array(np.searchsorted(cluster_roots, member_roots), pa.int64()),
            "shard": columns["shard"],
        },
        schema=DECISIONS_SCHEMA,
    )
    cluster_sizes = sizes[cluster_roots]
    stats.counters.update({"clusters": len(cluster_sizes), "documents_in_clusters": int(cluster_sizes.sum())})
    histogram = Histogram.empty(*CLUSTER_SIZE_BINS, log=True)
    histogram.add(cluster_sizes.tolist())
    stats.histograms["cluster_size"] = histogram
    return table


def edge_table(first: np.ndarray, second: np.ndarray) -> pa.Table:
    """Index pairs as a table: what a resolve part hands to the decision."""
    return pa.table({"first": pa.array(first, pa.int64()), "second": pa.array(second, pa.int64())})


def table_edges(tables: Iterable[pa.Table]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for table in tables:
        yield table.column("first").to_numpy(), table.column("second").to_numpy()
