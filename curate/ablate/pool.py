"""Which variants come from the shared pool, and their documents.

The pool runs the per-document stages before the first dedup stage once: those every derived variant has as
configured, the others in annotate mode. A derived variant keeps the pool's documents none of its own filters
marked (`select_documents`); the shared tokenizer learns from a seeded sample of the pool (`pool_sample`).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import CurateError
from ..io.writers import write_parquet_atomic
from ..options import docs
from ..sinks.data import FOLDER as KEPT
from ..stages import stage_class, stage_key
from .config import Stages, Variant

SELECTION_COLUMNS = ["id", "text", "url", "source"]


@dataclass
class PoolPlan:
    """The shared run's stages, and for each variant taken from it: the stages whose `<name>_reason` must be
    empty for a document to stay, and the stages it runs itself afterwards (dedup onwards)."""

    stages: Stages
    derived: dict[str, tuple[list[str], Stages]]


def plan_pool(base_stages: Stages, variants: list[Variant]) -> PoolPlan:
    prefix = base_stages[: _first_global(base_stages)]
    heads = {v.name: v.stages[: _first_global(v.stages)] for v in variants}
    candidates = {name for name, head in heads.items() if head and _in_order(head, prefix)}
    while True:
        used = [s for s in prefix if any(s in heads[c] for c in candidates)]
        common = [s for s in used if all(s in heads[c] for c in candidates)]
        unfit = {c for c in candidates if any(s not in common and not _can_annotate(s[0]) for s in heads[c])}
        if not unfit:
            break
        candidates -= unfit
    if not candidates:  # nothing to share: the pool is the base's first stages as they are, for the tokenizer
        used = common = prefix or base_stages[:1]
    stages = [s if s in common else (s[0], {**s[1], "mode": "annotate"}) for s in used]
    derived = {
        v.name: ([stage_key(n, o) for n, o in heads[v.name] if (n, o) not in common and o.get("mode", "filter") != "annotate"],
                 v.stages[len(heads[v.name]):])
        for v in variants if v.name in candidates
    }
    return PoolPlan(stages, derived)


def _first_global(stages: Stages) -> int:
    return next((i for i, (name, _) in enumerate(stages) if stage_class(name).is_global), len(stages))


def _in_order(head: Stages, prefix: Stages) -> bool:
    """Whether `head` is `prefix` with some stages left out (same options, same order, each key once)."""
    names = [stage_key(n, o) for n, o in head]
    if len(set(names)) != len(names):
        return False
    remaining = iter(prefix)
    return all(any(stage == candidate for candidate in remaining) for stage in head)


def _can_annotate(name: str) -> bool:
    return "mode" in docs(stage_class(name).Options)


def pool_sample(pool: Path, sample_bytes: int, seed: int = 0) -> list[str]:
    """Documents of the pool in a seeded random order until `sample_bytes` of text."""
    texts = [t for path in sorted((pool / KEPT).glob("*.parquet"))
             for t in pq.read_table(path, columns=["text"])["text"].to_pylist() if t]
    if not texts:
        raise CurateError(f"{pool}: the pool kept no documents; there is nothing to train a tokenizer on")
    order = np.random.default_rng(seed).permutation(len(texts))
    sizes = np.array([len(texts[i].encode("utf-8", "surrogatepass")) for i in order])
    count = max(1, int(np.searchsorted(np.cumsum(sizes), sample_bytes)) + 1)
    return [texts[i] for i in order[:count]]


@dataclass
class Selection:
    """What `select_documents` took from the pool: documents kept, the pool's, and how many each filter marked."""

    kept: int
    pool: int
    marked: dict[str, int]

    def why_empty(self) -> str:
        """What left the selection empty, for the error that says so."""
        if not self.pool:
            return "the pool kept no documents"
        marked = ", ".join(f"{name} marked {count:,}" for name, count in self.marked.items() if count)
        return f"{marked} of the pool's {self.pool:,}"


def select_documents(pool: Path, filters: list[str], folder: Path) -> Selection:
    """The pool's documents that none of `filters` marked for removal, one Parquet file per pool file."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    selection = Selection(0, 0, dict.fromkeys(filters, 0))
    for path in sorted((pool / KEPT).glob("*.parquet")):
        table = pq.read_table(path, columns=SELECTION_COLUMNS + [f"{name}_reason" for name in filters])
        keep = pa.array(np.ones(table.num_rows, dtype=bool))
        for name in filters:
            unmarked = pc.is_null(table[f"{name}_reason"])
            selection.marked[name] += table.num_rows - pc.sum(unmarked).as_py()
            keep = pc.and_(keep, unmarked)
        kept = table.filter(keep).select(SELECTION_COLUMNS)
        write_parquet_atomic(folder / path.name, kept)
        selection.kept += kept.num_rows
        selection.pool += table.num_rows
    return selection
