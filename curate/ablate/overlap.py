"""How much of each evaluation domain's n-grams a run's training text holds (`curate.ngrams`, as `decontaminate`
counts them), to show that no variant trains on the evaluation text."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..evalsets import domain_texts
from ..ngrams import contains, ngram_hashes, ngram_set
from ..sinks.data import FOLDER as KEPT
from ..sinks.removed import FOLDER as REMOVED


class OverlapIndex:
    """Which evaluation n-grams (`curate.ngrams`, as `decontaminate` counts them) documents contain, per domain.

    `index_run` hashes the pool once (its kept documents and those an eval-fed stage removed); a variant
    taken from the pool is then a set of ids whose matches are unions of indexed ones."""

    def __init__(self, paths: list[str], names: list[str]) -> None:
        self.names = names
        self.sets = [ngram_set(domain_texts(path)) for path in paths]
        self.matches: dict[str, list[np.ndarray]] = {}  # document id -> per domain, indices of the n-grams it holds
        self.removed_ids: set[str] = set()

    def _match(self, text: str) -> list[np.ndarray] | None:
        hashes = ngram_hashes(text)
        found = [np.searchsorted(s, hashes[contains(s, hashes)]) for s in self.sets]
        return found if any(len(f) for f in found) else None

    def index_run(self, run: Path, removed_by: list[str]) -> None:
        for doc_id, text in _run_texts(run, removed_by):
            found = self._match(text)
            if found is not None:
                self.matches[doc_id] = found

    def _shares(self, matched: list[list[np.ndarray]]) -> dict[str, float]:
        shares = {}
        for k, (name, reference) in enumerate(zip(self.names, self.sets)):
            hit = np.unique(np.concatenate([m[k] for m in matched])) if matched else np.zeros(0)
            shares[name] = len(hit) / len(reference) if len(reference) else 0.0
        return shares

    def before(self) -> dict[str, float]:
        """The pool before decontamination: its kept documents and those an eval-fed stage removed."""
        return self._shares(list(self.matches.values()))

    def after(self, run: Path) -> dict[str, float]:
        """A variant taken from the pool: the indexed matches of the documents it kept."""
        ids = {i for path in sorted((run / KEPT).glob("*.parquet")) for i in pq.read_table(path, columns=["id"])["id"].to_pylist()}
        return self._shares([m for doc_id, m in self.matches.items() if doc_id in ids])

    def of_run(self, run: Path) -> dict[str, float]:
        """A variant run on its own: its kept documents, hashed."""
        return self._shares([m for _, text in _run_texts(run, []) if (m := self._match(text)) is not None])


def _run_texts(run: Path, removed_by: list[str]) -> Iterator[tuple[str, str]]:
    """(id, text) of a run's kept documents, and of those the `removed_by` stages removed."""
    for path in sorted((run / KEPT).glob("*.parquet")):
        table = pq.read_table(path, columns=["id", "text"])
        yield from zip(table["id"].to_pylist(), table["text"].to_pylist())
    for path in sorted((run / REMOVED).glob("*.parquet")) if removed_by else []:
        table = pq.read_table(path, columns=["id", "text", "stage"])
        table = table.filter(pc.is_in(table["stage"], pa.array(removed_by)))
        yield from zip(table["id"].to_pylist(), table["text"].to_pylist())
