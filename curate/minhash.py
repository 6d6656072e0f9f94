"""MinHash signatures in bulk, LSH band keys, and the disk-backed grouping that turns keys into clusters.

Signatures equal `datasketch.MinHash(num_perm, seed, hashfunc=shingle_hash, scheme="affine32")` fed
with `shingles(text)` (datasketch 2.0's default scheme), so sketches load into `LeanMinHash` and
`MinHashLSH`. Here they are computed for a whole batch at once: the texts are lowered, joined and
turned into one array of code points; tokens, token hashes, shingle hashes and the permutations are
numpy operations over that array, with no Python loop per token or per shingle.

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
from typing import Callable, Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

from .text import PUNCT_TABLE, NO_SPACE_SCRIPTS, simplify

MASK64 = (1 << 64) - 1
MAX_HASH32 = np.uint32(0xFFFFFFFF)
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
        signatures = np.full((len(texts), self.num_perm), MAX_HASH32, dtype=np.uint32)
        counts = np.zeros(len(texts), dtype=np.int64)
        for lo, hi in _spans_by_size([len(t) for t in texts], CHARS_PER_BLOCK):
            hashes, counts[lo:hi] = self.shingle_hashes(texts[lo:hi])
            self._permute_min(_fmix32(hashes), counts[lo:hi], signatures[lo:hi])
        return signatures, counts

    def _permute_min(self, premixed: np.ndarray, counts: np.ndarray, out: np.ndarray) -> None:
        """out[doc] = min over the doc's shingles of a * h + b (mod 2^32), a block of rows at a time."""
        row_doc = np.repeat(np.arange(len(counts)), counts)
        for lo in range(0, len(premixed), ROWS_PER_BLOCK):
            hi = min(lo + ROWS_PER_BLOCK, len(premixed))
            permuted = self.a[:, None] * premixed[None, lo:hi] + self.b[:, None]  # [perm, shingle]: rows stay contiguous
            segment_starts = np.concatenate(([0], np.flatnonzero(np.diff(row_doc[lo:hi])) + 1))
            docs = row_doc[lo + segment_starts]
            out[docs] = np.minimum(out[docs], np.minimum.reduceat(permuted, segment_starts, axis=1).T)

    def shingle_hashes(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """All shingle hashes (uint32, text after text) and how many each text has."""
        lowered = [t.lower() for t in texts]  # may change lengths, so positions come from these
        joined = "\n".join(lowered) + "\n"  # a newline ends each text: no token crosses it
        codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        classes = _char_classes()[codes]
        values = codes.astype(np.uint64)
        values[classes == _DIGIT] = 0x30  # digits fold to "0"
        values[classes == _SEPARATOR] = 0  # separators add nothing to a token's hash
        starts = _token_starts(classes)
        token_hashes = _fmix64(_token_hashes(values, starts))
        lengths = np.fromiter((len(t) + 1 for t in lowered), dtype=np.int64, count=len(lowered))
        token_text = np.searchsorted(np.cumsum(lengths), np.flatnonzero(starts), side="right")
        token_counts = np.bincount(token_text, minlength=len(texts))
        return self._chain(token_hashes, token_counts.astype(np.int64))

    def _chain(self, token_hashes: np.ndarray, token_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Shingle hashes: Horner over `ngram` consecutive token hashes (fewer for a short text)."""
        n = self.ngram
        counts = np.where(token_counts > 0, np.maximum(token_counts - n + 1, 1), 0)
        shingle_text = np.repeat(np.arange(len(counts)), counts)
        within = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        first = (np.cumsum(token_counts) - token_counts)[shingle_text] + within
        length = np.minimum(token_counts, n)[shingle_text]
        chained = np.zeros(len(first), dtype=np.uint64)
        last = max(len(token_hashes) - 1, 0)
        for offset in range(n):
            step = chained * np.uint64(_TOKEN_BASE) + token_hashes[np.minimum(first + offset, last)]
            chained = np.where(offset < length, step, chained)
        return (_fmix64(chained) & np.uint64(0xFFFFFFFF)).astype(np.uint32), counts


CHARS_PER_BLOCK = 1 << 22  # texts are hashed in groups of about this many characters
ROWS_PER_BLOCK = 1 << 12  # shingles permuted at once: 2 MB of uint32 at 128 permutations, kept in cache


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


def _token_starts(classes: np.ndarray) -> np.ndarray:
    """Where tokens start: a kept character after a separator, and every no-space-script character
    together with the character after it."""
    keep = classes != _SEPARATOR
    single = classes == _SINGLE
    start = keep.copy()
    start[1:] &= ~keep[:-1] | single[1:] | single[:-1]
    return start


def _token_hashes(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """sum(value[k] * BASE^k) mod 2^64 over each token's characters, by prefix sums.

    Separators have value 0, so a token's span may run on to the next token's start. With P the
    running sum of value[j] * BASE^j over a chunk, a token spanning [f, e) hashes to
    (P[e] - P[f]) * BASE^-f: BASE is odd, so it has an inverse mod 2^64. Chunks end at token
    starts and hold about `CHARS_PER_CHUNK` characters, so the power tables stay small.
    """
    first = np.flatnonzero(starts)
    if not len(first):
        return np.zeros(0, dtype=np.uint64)
    end = np.append(first[1:], len(values))
    hashes = np.empty(len(first), dtype=np.uint64)
    lo = 0
    while lo < len(first):
        hi = max(int(np.searchsorted(first, first[lo] + CHARS_PER_CHUNK, side="right")) - 1, lo + 1)
        origin, stop = first[lo], end[hi - 1]
        powers, inverses = _powers(int(stop - origin))
        prefix = np.zeros(stop - origin + 1, dtype=np.uint64)
        np.cumsum(values[origin:stop] * powers[: stop - origin], out=prefix[1:])
        starts_here, ends_here = first[lo:hi] - origin, end[lo:hi] - origin
        hashes[lo:hi] = (prefix[ends_here] - prefix[starts_here]) * inverses[starts_here]
        lo = hi
    return hashes


CHARS_PER_CHUNK = 1 << 22
_POWERS = np.ones(1, dtype=np.uint64)
_INVERSE_POWERS = np.ones(1, dtype=np.uint64)
_INVERSE_BASE = pow(_CHAR_BASE, -1, 1 << 64)


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """BASE^i and BASE^-i mod 2^64 for i < n, grown as needed and kept for the process."""
    global _POWERS, _INVERSE_POWERS
    if len(_POWERS) < n:
        size = max(n, 2 * len(_POWERS), 256)
        steps = np.full(size - 1, _CHAR_BASE, dtype=np.uint64)
        _POWERS = np.concatenate(([np.uint64(1)], np.cumprod(steps, dtype=np.uint64)))
        steps[:] = _INVERSE_BASE
        _INVERSE_POWERS = np.concatenate(([np.uint64(1)], np.cumprod(steps, dtype=np.uint64)))
    return _POWERS, _INVERSE_POWERS


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


def _fmix64(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def _fmix32(h: np.ndarray) -> np.ndarray:
    """datasketch's pre-mix for `affine32` (the MurmurHash3 32-bit finalizer)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


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

DECISIONS_SCHEMA = pa.schema([("id", pa.string()), ("survivor", pa.string()), ("cluster", pa.int64())])


def list_values(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A fixed-size-list column as a 2-D numpy array."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return np.asarray(column.flatten()).reshape(len(column), column.type.list_size)


def fixed_size_list(values: np.ndarray) -> pa.FixedSizeListArray:
    return pa.FixedSizeListArray.from_arrays(pa.array(values.ravel()), values.shape[1])


def gather(key_tables: Callable[[], Iterator[pa.Table]], indexes: np.ndarray, column: str) -> list[pa.Array]:
    """Rows `indexes` (sorted, global over all key tables in order) of one column, in one more pass."""
    pieces, offset = [], 0
    for table in key_tables():
        lo, hi = np.searchsorted(indexes, [offset, offset + len(table)])
        if hi > lo:
            pieces.append(table.column(column).take(pa.array(indexes[lo:hi] - offset)).combine_chunks())
        offset += len(table)
    return pieces


def cluster_decisions(roots: np.ndarray, key_tables: Callable[[], Iterator[pa.Table]]) -> tuple[pa.Table, np.ndarray]:
    """The decisions table (every document in a cluster of two or more: its id, its survivor's id or
    null for the survivor itself, a dense cluster number) and the size of every cluster."""
    sizes = np.bincount(roots, minlength=len(roots))
    members = np.flatnonzero(sizes[roots] > 1)
    member_roots = roots[members]
    cluster_roots = np.unique(member_roots)
    ids = pa.concat_arrays(gather(key_tables, members, "id")) if len(members) else pa.array([], pa.string())
    survivor_ids = ids.take(pa.array(np.searchsorted(members, member_roots)))
    is_survivor = pa.array(members == member_roots)
    table = pa.table(
        {
            "id": ids,
            "survivor": pa.compute.if_else(is_survivor, pa.scalar(None, pa.string()), survivor_ids),
            "cluster": pa.array(np.searchsorted(cluster_roots, member_roots), pa.int64()),
        },
        schema=DECISIONS_SCHEMA,
    )
    return table, sizes[cluster_roots]


class ClusterDecisions:
    """A worker's view of the decisions: id -> (survivor id or None, cluster number)."""

    def __init__(self, table: pa.Table | None = None) -> None:
        self.by_id: dict[str, tuple[str | None, int]] = {}
        if table is None:
            return
        for doc_id, survivor, cluster in zip(*(table.column(n).to_pylist() for n in ("id", "survivor", "cluster"))):
            if survivor is None or doc_id not in self.by_id:  # a reused id that survives somewhere is kept
                self.by_id[doc_id] = (survivor, cluster)

    def get(self, doc_id: str) -> tuple[str | None, int] | None:
        return self.by_id.get(doc_id)
