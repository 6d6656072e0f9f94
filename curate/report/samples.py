"""What the report shows from the output Parquet: example documents per reason, the survivors of duplicates, and
kept and removed counts per URL domain. Reads are bounded (a fixed number of files, a few columns), so the report
costs seconds on any corpus."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ..sinks.data import FOLDER as KEPT
from ..sinks.removed import FOLDER as REMOVED

SAMPLES_PER_REASON = 3
FILES_SAMPLED = 16  # example documents come from at most this many Parquet files per folder
DOMAIN_FILES = 64  # domain counts read the url column of at most this many files per folder
SNIPPET_CHARS = 400
DUPLICATE_REASON_SUFFIX = "duplicate_of"  # exact_dedup:exact_duplicate_of, minhash_dedup:duplicate_of: detail = survivor id


def sample_docs(folder: Path, by_reason: bool) -> dict[str, list[dict]]:
    """A seeded sample of documents per reason (or overall, under ""), from a bounded number of files. The
    reservoir runs over row positions (the reason column only), then only the chosen rows are read whole."""
    chosen: dict[str, list[tuple[int, int]]] = defaultdict(list)  # key -> (file, row) positions
    rng = random.Random(0)
    seen: dict[str, int] = defaultdict(int)
    files = [pq.ParquetFile(path) for path in _bounded(sorted(folder.glob("*.parquet")), FILES_SAMPLED)]
    for f, parquet in enumerate(files):
        rows = parquet.metadata.num_rows
        keys = parquet.read(columns=["reason"]).column("reason").to_pylist() if by_reason else [""] * rows
        for row, key in enumerate(keys):
            key = key or ""
            seen[key] += 1
            pool = chosen[key]
            if len(pool) < SAMPLES_PER_REASON:  # reservoir sampling per key
                pool.append((f, row))
            else:
                j = rng.randrange(seen[key])
                if j < SAMPLES_PER_REASON:
                    pool[j] = (f, row)
    rows_read = _read_rows(files, {position for pool in chosen.values() for position in pool})
    return {key: [rows_read[position] for position in pool] for key, pool in chosen.items()}


def _read_rows(files: list[pq.ParquetFile], positions: set[tuple[int, int]]) -> dict[tuple[int, int], dict]:
    """The rows at (file, row) positions as dicts, text cut to a snippet, reading only their row groups."""
    found: dict[tuple[int, int], dict] = {}
    for f, parquet in enumerate(files):
        wanted = sorted(row for file, row in positions if file == f)
        start = 0
        for group in range(parquet.metadata.num_row_groups):
            end = start + parquet.metadata.row_group(group).num_rows
            inside = [row for row in wanted if start <= row < end]
            if inside:
                table = parquet.read_row_group(group).take([row - start for row in inside])
                for row, values in zip(inside, table.to_pylist()):
                    values["text"] = (values.get("text") or "")[:SNIPPET_CHARS]
                    found[(f, row)] = values
            start = end
    return found


def is_duplicate(row: dict[str, Any]) -> bool:
    return str(row.get("reason") or "").endswith(DUPLICATE_REASON_SUFFIX) and bool(row.get("detail"))


def find_survivors(run_dir: Path, samples: dict[str, list[dict]]) -> dict[str, dict]:
    """The documents the sampled duplicates were removed in favour of, by id, from the kept Parquet (or the removed
    one: a survivor of exact dedup may fall to a later stage). One filtered scan per folder: only the three columns
    are read, and row groups whose id statistics exclude every wanted id are skipped."""
    wanted = {str(row["detail"]) for rows in samples.values() for row in rows if is_duplicate(row)}
    found: dict[str, dict] = {}
    for folder in (KEPT, REMOVED):
        files = sorted(str(path) for path in (run_dir / folder).glob("*.parquet"))
        missing = sorted(wanted - found.keys())
        if not files or not missing:
            continue
        table = ds.dataset(files, format="parquet").to_table(columns=["id", "url", "text"], filter=pc.field("id").isin(missing))
        for row in table.to_pylist():
            row["text"] = (row.get("text") or "")[:SNIPPET_CHARS]
            row["folder"] = folder
            found[row["id"]] = row
    return found


@dataclass
class DomainCounts:
    kept: Counter = field(default_factory=Counter)
    removed: Counter = field(default_factory=Counter)
    reasons: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    files_read: int = 0
    files_total: int = 0


def domain_counts(run_dir: Path) -> DomainCounts:
    """Kept and removed documents per URL host (without `www.`), and each host's removal reasons."""
    counts = DomainCounts()
    for folder, columns in ((KEPT, ["url"]), (REMOVED, ["url", "reason"])):
        files = sorted((run_dir / folder).glob("*.parquet"))
        counts.files_total += len(files)
        for path in _bounded(files, DOMAIN_FILES):
            counts.files_read += 1
            table = pq.read_table(path, columns=columns).to_pydict()
            reasons = table.get("reason", [None] * len(table["url"]))
            for url, reason in zip(table["url"], reasons):
                domain = _domain(url)
                if folder == KEPT:
                    counts.kept[domain] += 1
                else:
                    counts.removed[domain] += 1
                    counts.reasons[domain][reason or "?"] += 1
    return counts


def _domain(url: str | None) -> str:
    """The URL's host without `www.`; a malformed URL (`http://[::1`) has none, and must not stop the report."""
    if not url:
        return "(no URL)"
    try:
        host = (urlsplit(url if "://" in url else "//" + url).hostname or "").lower()  # dumps often drop the scheme
    except ValueError:
        return "(no host)"
    return host.removeprefix("www.") or "(no host)"


def _bounded(files: list[Path], limit: int) -> list[Path]:
    return sorted(random.Random(0).sample(files, limit)) if len(files) > limit else files
