"""Clustering for deduplication, shared by every global stage: the key tables a barrier reads, grouping
of equal keys under a memory budget, union-find, and the decisions table each task applies.

Grouping (`SortedRuns`) collects (key, check, index) records under a memory budget, spills sorted
runs to a scratch folder when the budget is reached, and merges them back block by block, so
resolving a corpus never needs all records in memory. `UnionFind` is a vectorized union-find
whose root is the smallest index of each component: the survivor of a cluster is the document
seen first in input order. A leaf: it knows no stage, only Arrow tables of keys and indexes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

from .errors import CurateError
from .stats import Histogram, StageStats

KeyTables = Callable[[list[str]], Iterator[pa.Table]]
"""`key_tables(columns)` yields those columns of every shard's key table, in shard order, as often as
it is called; the column `shard` holds each row's shard name, the column `row` each row's document's
position in its shard (see `GlobalStage.keys`). A document's index is its row number over all tables
in that order, so the first index of a cluster is its earliest document."""


# What `GlobalStage.decide` returns: every document in a cluster of two or more, its id, its survivor's
# id (null for the survivor itself), the cluster's number, its shard (tasks read their shard's rows) and
# its position in the shard. A document is known by (shard, row), never by id: ids may repeat (user
# JSONL, crawls' WARC-Record-IDs), and a decision must apply to its own document only. The ids are
# for people (the removed documents' `detail`).
DECISIONS_SCHEMA = pa.schema(
    [("id", pa.string()), ("survivor", pa.string()), ("cluster", pa.int64()), ("shard", pa.string()), ("row", pa.int64())]
)


class ClusterDecisions:
    """A task's view of the decisions for its shard: row (a document's position among those the
    shard's task reads, from 0) -> (survivor id or None, cluster number)."""

    def __init__(self, table: pa.Table | None = None, shard: str | None = None) -> None:
        self.by_row: dict[int, tuple[str | None, int]] = {}
        if table is None:
            return
        if "row" not in table.column_names:
            raise CurateError("these dedup decisions were written by an older curate (no `row` column); rerun with --overwrite")
        if shard is not None:
            table = table.filter(pa.compute.equal(table.column("shard"), shard))
        if len(table.column("shard").unique()) > 1:
            raise ValueError("decisions for one shard only: give `shard`")
        for row, survivor, cluster in zip(*(table.column(n).to_pylist() for n in ("row", "survivor", "cluster"))):
            self.by_row[row] = (survivor, cluster)

    def get(self, row: int) -> tuple[str | None, int] | None:
        return self.by_row.get(row)


def in_memory(tables: list[pa.Table]) -> KeyTables:
    """Key tables held in memory (tests, benchmarks); shard names are their positions."""

    def read(columns: list[str]) -> Iterator[pa.Table]:
        for n, table in enumerate(tables):
            yield with_shard(table, str(n)).select(columns)

    return read


def with_shard(table: pa.Table, shard: str) -> pa.Table:
    return table.append_column("shard", pa.array([shard] * table.num_rows, pa.string()))


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
    for the survivor itself), a dense cluster number, its shard and row, in input order. The clusters'
    count and sizes go to `stats`."""
    sizes = np.bincount(roots, minlength=len(roots))
    members = np.flatnonzero(sizes[roots] > 1)
    member_roots = roots[members]
    cluster_roots = np.unique(member_roots)
    columns = {}
    for name, dtype in (("id", pa.string()), ("shard", pa.string()), ("row", pa.int64())):
        pieces = gather(key_tables, members, name) if len(members) else []
        columns[name] = pa.concat_arrays(pieces).cast(dtype) if pieces else pa.array([], dtype)
    survivor_ids = columns["id"].take(pa.array(np.searchsorted(members, member_roots)))
    is_survivor = pa.array(members == member_roots)
    table = pa.table(
        {
            "id": columns["id"],
            "survivor": pa.compute.if_else(is_survivor, pa.scalar(None, pa.string()), survivor_ids),
            "cluster": pa.array(np.searchsorted(cluster_roots, member_roots), pa.int64()),
            "shard": columns["shard"],
            "row": columns["row"],
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
