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

from pathlib import Path
from typing import Callable, Iterator, Literal

import numpy as np
import pyarrow as pa

from ..document import Document
from ..errors import ConfigError
from ..clusters import KeyTables, SortedRuns, decisions_for, edge_table, gather, join, table_edges, unique_edges
from ..minhash import MinHasher, band_keys, estimated_jaccard, fixed_size_list, list_values, lsh_params
from ..stats import StageStats
from .base import GlobalStage, Signal, Verdict


class MinhashDedup(GlobalStage):
    name = "minhash_dedup"
    signals = {"minhash_cluster": Signal(pa.int64())}

    def __init__(
        self,
        threshold: float = 0.8,
        num_perm: int = 128,
        ngram: int = 5,
        seed: int = 1,
        bands: int | None = None,
        rows: int | None = None,
        verify: bool = True,
        memory_mb: int = 1024,
        mode: Literal["filter", "annotate"] = "filter",
    ) -> None:
        super().__init__(mode)
        if not 0.0 < threshold <= 1.0:
            raise ConfigError(f"minhash_dedup.threshold: expected a number in (0, 1], got {threshold!r}")
        if num_perm < 2 or ngram < 1 or memory_mb < 1:
            raise ConfigError("minhash_dedup: num_perm must be >= 2, ngram >= 1 and memory_mb >= 1")
        if (bands is None) != (rows is None):
            raise ConfigError("minhash_dedup: give both bands and rows, or neither (then they follow threshold)")
        self.bands, self.rows = (bands, rows) if bands is not None and rows is not None else lsh_params(threshold, num_perm)
        if self.bands * self.rows > num_perm or self.bands < 1 or self.rows < 1:
            raise ConfigError(f"minhash_dedup: bands x rows ({self.bands} x {self.rows}) must fit in num_perm {num_perm}")
        self.threshold, self.verify, self.memory_bytes = threshold, verify, memory_mb * 2**20
        self.hasher = MinHasher(num_perm=num_perm, seed=seed, ngram=ngram)

    def thresholds(self) -> dict[str, float]:
        return {"minhash_jaccard": self.threshold}

    def keys(self, docs: list[Document]) -> pa.Table:
        """Band keys (and, to verify candidates, the signature) of every document with a shingle."""
        signatures, counts = self.hasher.signatures([d.text for d in docs])
        has_shingles = counts > 0
        signatures = signatures[has_shingles]
        keys = band_keys(signatures, self.bands, self.rows)
        columns = {
            "id": pa.array([d.id for d, keep in zip(docs, has_shingles) if keep], pa.string()),
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
        for doc in docs:
            decision = self.decisions.get(doc.id)
            if decision is None:
                verdicts.append(None)
                continue
            survivor, cluster = decision
            doc.signals["minhash_cluster"] = cluster
            verdicts.append(None if survivor is None else f"duplicate_of:{survivor}")
        return verdicts


def _band_column(band: int) -> str:
    return f"band_{band:03d}"
