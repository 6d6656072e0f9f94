"""minhash_dedup: near-duplicates across all shards, by MinHash signatures, LSH bands and union-find.

Per shard (`keys`): each document's signature over word 5-grams of its simplified text (character
n-grams in scripts written without spaces; see `curate.minhash`), cut into LSH band keys. Per band
(`pairs`, one part each, so executors run bands in parallel): documents sharing the band's key are
candidates. Once (`decide`): candidate pairs are verified by the Jaccard similarity their
signatures estimate (option `verify`), joined by union-find, and every cluster keeps its earliest
document in input order (first shard, first position). The others are removed as
`duplicate_of:<survivor id>`; every member of a cluster gets `minhash_cluster` (the cluster's
number, the same for the survivor and its duplicates); documents in no cluster get null.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pyarrow as pa

from ..document import Document
from ..clusters import KeyTables, SortedRuns, decisions_for, edge_table, gather, join, table_edges, unique_edges
from ..minhash import MinHasher, band_keys, estimated_jaccard, fixed_size_list, list_values, lsh_params
from ..options import OptionError, option
from ..stats import StageStats
from .base import GlobalStage, Signal, StageOptions, Verdict


@dataclass(frozen=True, kw_only=True)
class MinhashDedupOptions(StageOptions):
    threshold: float = option(0.8, "the Jaccard similarity from which two documents are duplicates", gt=0, le=1)
    num_perm: int = option(128, "permutations in each signature", ge=2)
    ngram: int = option(5, "words per shingle (characters in scripts written without spaces)", ge=1)
    seed: int = option(1, "seed of the permutations (datasketch's)")
    bands: int | None = option(None, "LSH bands; with rows, or both null to follow threshold", ge=1)
    rows: int | None = option(None, "rows per LSH band; with bands, or both null", ge=1)
    verify: bool = option(True, "keep only candidate pairs whose signatures estimate >= threshold")
    memory_mb: int = option(1024, "memory for grouping band keys and verifying; beyond it, runs spill to disk", ge=1)

    def __post_init__(self) -> None:
        if (self.bands is None) != (self.rows is None):
            raise OptionError("bands" if self.bands is None else "rows", "give both bands and rows, or neither")
        if self.bands is not None and self.rows is not None and self.bands * self.rows > self.num_perm:
            raise OptionError("bands", f"bands x rows ({self.bands} x {self.rows}) must fit in num_perm {self.num_perm}")

    def lsh(self) -> tuple[int, int]:
        """(bands, rows): as given, or datasketch's optimum for the threshold."""
        if self.bands is not None and self.rows is not None:
            return self.bands, self.rows
        return lsh_params(self.threshold, self.num_perm)


class MinhashDedup(GlobalStage):
    name = "minhash_dedup"
    signals = {"minhash_cluster": Signal(pa.int64())}

    Options = MinhashDedupOptions
    options: MinhashDedupOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        o = self.options
        self.bands, self.rows = o.lsh()
        self.threshold, self.verify, self.memory_bytes = o.threshold, o.verify, o.memory_mb * 2**20
        self.hasher = MinHasher(num_perm=o.num_perm, seed=o.seed, ngram=o.ngram)

    def thresholds(self) -> dict[str, float]:
        return {"minhash_jaccard": self.threshold}

    def keys(self, docs: list[Document], first_row: int = 0) -> pa.Table:
        """Band keys (and, to verify candidates, the signature) of every document with a shingle."""
        signatures, counts = self.hasher.signatures([d.text for d in docs])
        has_shingles = counts > 0
        signatures = signatures[has_shingles]
        keys = band_keys(signatures, self.bands, self.rows)
        columns = {
            "id": pa.array([d.id for d, keep in zip(docs, has_shingles) if keep], pa.string()),
            "row": pa.array(first_row + np.flatnonzero(has_shingles).astype(np.int64)),
            **{_band_column(band): pa.array(keys[:, band]) for band in range(self.bands)},  # a part reads its band only
        }
        if self.verify:
            columns["signature"] = fixed_size_list(signatures)
        return pa.table(columns)

    def parts(self) -> int:
        return self.bands

    def pairs(self, key_tables: KeyTables, part: int, scratch: Path, stats: StageStats) -> pa.Table:
        """One band: the pairs of documents sharing its key (every group's members joined to its
        first document), each pair once."""
        runs = SortedRuns(scratch, self.memory_bytes)
        documents = 0
        for table in key_tables([_band_column(part)]):
            runs.add(table.column(0).to_numpy(), np.arange(documents, documents + len(table)))
            documents += len(table)
        stats.counters.update({"band_records": runs.records, "spilled_runs": len(runs.runs)})
        return edge_table(*unique_edges(runs.edges()))

    def decide(self, pair_tables: Callable[[], Iterator[pa.Table]], key_tables: KeyTables, stats: StageStats) -> pa.Table:
        """Every band's pairs -> (verified) edges -> clusters by union-find -> decisions; never text."""
        documents = sum(len(table) for table in key_tables([]))  # row counts: no column is read
        if self.verify:
            first, second = unique_edges(table_edges(pair_tables()))
            stats.counters["candidate_pairs"] += len(first)
            similar = self._similar(key_tables, first, second)
            first, second = first[similar], second[similar]
            stats.counters["verified_pairs"] += len(first)
            roots = join([(first, second)], documents)
        else:
            roots = join(table_edges(pair_tables()), documents)
        stats.counters["documents_with_shingles"] += documents
        return decisions_for(roots, key_tables, stats)

    def _similar(self, key_tables: KeyTables, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Which candidate pairs' signatures estimate a Jaccard similarity >= threshold; signatures
        are fetched in as many passes as the memory budget needs."""
        similar = np.zeros(len(first), dtype=bool)
        per_pass = max(1, self.memory_bytes // (2 * 4 * self.hasher.num_perm))  # two signatures per pair
        for lo in range(0, len(first), per_pass):
            a, b = first[lo : lo + per_pass], second[lo : lo + per_pass]
            needed = np.unique(np.concatenate((a, b)))
            signatures = np.concatenate([list_values(piece) for piece in gather(key_tables, needed, "signature")])
            pair_signatures = signatures[np.searchsorted(needed, a)], signatures[np.searchsorted(needed, b)]
            similar[lo : lo + per_pass] = estimated_jaccard(*pair_signatures) >= self.threshold
        return similar

    def process(self, docs: list[Document]) -> list[Verdict]:
        verdicts: list[Verdict] = []
        for doc, decision in zip(docs, self.decided(docs)):
            if decision is None:
                verdicts.append(None)
                continue
            survivor, cluster = decision
            doc.signals["minhash_cluster"] = cluster
            verdicts.append(None if survivor is None else f"duplicate_of:{survivor}")
        return verdicts


def _band_column(band: int) -> str:
    return f"band_{band:03d}"
