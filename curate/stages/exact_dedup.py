"""exact_dedup: documents with the same (normalized) text, and optionally the same URL, across all shards.

Per shard (`keys`): the xxh3-128 hash of each text after the chosen normalization, and of its URL
when `match_url` is on. Per hash range (`pairs`, parts that executors run in parallel): documents
sharing a hash are paired. Once (`decide`): the pairs are joined (through either hash, so a chain
of same-text and same-URL pairs is one cluster); each cluster keeps its earliest document in input
order (first shard, first position) and removes the others as `exact_duplicate_of:<survivor id>`.
Only 128-bit hashes, ids and positions leave a shard, never text; decisions follow positions, so
documents sharing an id are decided each on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Literal

import numpy as np
import pyarrow as pa
import xxhash

from ..document import Document
from ..clusters import KeyTables, SortedRuns, decisions_for, edge_table, join, table_edges, unique_edges
from ..options import option
from ..stats import StageStats
from ..text import simplify
from .base import GlobalStage, StageOptions, Verdict

Normalization = Literal["none", "whitespace", "simplify"]
HASH_RANGES = 4  # resolve parts: each groups the hashes that are equal to its number mod 4
_URL_SALT = b"url\0"  # keeps URL hashes apart from text hashes in the shared key space


@dataclass(frozen=True, kw_only=True)
class ExactDedupOptions(StageOptions):
    normalize: Normalization = option(
        "whitespace", "none: byte for byte; whitespace: runs of blanks as one; simplify: also case, punctuation, digits"
    )
    match_url: bool = option(False, "documents with the same URL are duplicates too")
    memory_mb: int = option(1024, "memory for grouping hashes; beyond it, sorted runs spill to disk", ge=1)


class ExactDedup(GlobalStage):
    name = "exact_dedup"

    Options = ExactDedupOptions
    options: ExactDedupOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        o = self.options
        self.normalize, self.match_url, self.memory_bytes = o.normalize, o.match_url, o.memory_mb * 2**20

    def _normalized(self, text: str) -> str:
        if self.normalize == "whitespace":  # `\s+` -> " ", stripped: str.split splits on the same blanks
            return _collapse_whitespace(text)
        if self.normalize == "simplify":
            return simplify(text)
        return text

    def keys(self, docs: list[Document], first_row: int = 0) -> pa.Table:
        text_hashes = [_hash128(self._normalized(d.text).encode("utf-8", "surrogatepass")) for d in docs]
        columns = {
            "id": pa.array([d.id for d in docs], pa.string()),
            "row": pa.array(np.arange(first_row, first_row + len(docs), dtype=np.int64)),
            **_split(text_hashes, "text"),
        }
        if self.match_url:
            url_hashes = [_hash128(_URL_SALT + d.url.encode("utf-8", "surrogatepass")) if d.url else None for d in docs]
            columns |= _split(url_hashes, "url")
        return pa.table(columns)

    def parts(self) -> int:
        return HASH_RANGES

    def pairs(self, key_tables: KeyTables, part: int, scratch: Path, stats: StageStats) -> pa.Table:
        """The documents whose hash falls in this part's range (hash mod parts), grouped by hash."""
        runs = SortedRuns(scratch, self.memory_bytes)
        documents = 0
        kinds = ["text", "url"] if self.match_url else ["text"]
        for table in key_tables([f"{kind}_{half}" for kind in kinds for half in ("hi", "lo")]):
            indexes = np.arange(documents, documents + len(table))
            for kind in kinds:
                high, low = _column(table, f"{kind}_hi"), _column(table, f"{kind}_lo")
                mine = (high % HASH_RANGES == part) & np.asarray(table.column(f"{kind}_hi").is_valid())
                runs.add(high[mine], indexes[mine], low[mine])
            documents += len(table)
        stats.counters["spilled_runs"] += len(runs.runs)
        return edge_table(*unique_edges(runs.edges()))

    def decide(self, pair_tables: Callable[[], Iterator[pa.Table]], key_tables: KeyTables, stats: StageStats) -> pa.Table:
        """Documents sharing a hash (through either hash) are one cluster."""
        documents = sum(len(table) for table in key_tables([]))  # row counts: no column is read
        return decisions_for(join(table_edges(pair_tables()), documents), key_tables, stats)

    def process(self, docs: list[Document]) -> list[Verdict]:
        verdicts: list[Verdict] = []
        for decision in self.decided(docs):
            survivor = decision[0] if decision else None
            verdicts.append(None if survivor is None else f"exact_duplicate_of:{survivor}")
        return verdicts


_OTHER_BLANK = re.compile(r"[^\S ]")  # what str.split splits on, but a space


def _collapse_whitespace(text: str) -> str:
    """`" ".join(text.split())`; without splitting where line breaks and single spaces are the only
    blanks (text after normalize, nearly always), which is a third faster. Every blank but the space is
    unprintable, so a printable text needs no search for one (`isprintable` ~2.4x faster than the regex)."""
    spaced = text.replace("\n", " ")
    if "  " in spaced or spaced[:1] == " " or spaced[-1:] == " " or not spaced.isprintable() and _OTHER_BLANK.search(spaced):
        return " ".join(text.split())
    return spaced


def _hash128(data: bytes) -> int:
    return xxhash.xxh3_128_intdigest(data)


def _split(hashes: list[int | None], prefix: str) -> dict[str, pa.Array]:
    """128-bit hashes as two uint64 columns (`<prefix>_hi`, `<prefix>_lo`); None stays null."""
    return {
        f"{prefix}_hi": pa.array([None if h is None else h >> 64 for h in hashes], pa.uint64()),
        f"{prefix}_lo": pa.array([None if h is None else h & 0xFFFFFFFFFFFFFFFF for h in hashes], pa.uint64()),
    }


def _column(table: pa.Table, name: str) -> np.ndarray:
    return np.asarray(table.column(name).fill_null(0).combine_chunks())
