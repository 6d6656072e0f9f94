"""The MinHash dedup barrier alone at 1M (and 10M) documents: time and peak memory of each part.

What `docs/scale.md` extrapolates from. Making real 1 KB documents and their signatures costs more
than the barrier itself (bench_dedup's scale runs do that at 1M), so the key tables here are made
directly: random 128-value signatures in shards of 250k documents, every 20th document a copy of an
earlier one in its shard with 8 values changed (estimated Jaccard 0.94, above the 0.8 threshold),
cut into web.yaml's band keys by `curate.minhash.band_keys`, with ids like a real run's, written as
the Parquet key tables a run writes. Then, in a fresh process, each band part (`pairs`: group one
band's keys, spilling sorted runs past `memory_mb`) and the decision (`decide`: verify candidates,
union-find, decisions table) run one after another, as `GlobalStage.resolve` does; executors run
the parts in parallel. CPU seconds and the process's peak RSS are reported for each.

`CURATE_BENCH_BARRIER_DOCS` gives the sizes (comma-separated; default 1000000).
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.bench_dedup import own_peak_rss_mb

SHARD_SIZE = 250_000
COPY_EVERY = 20
CHANGED_VALUES = 8


def write_key_tables(folder: Path, documents: int, seed: int = 0) -> list[tuple[str, Path]]:
    from curate.minhash import band_keys, fixed_size_list
    from curate.stages.minhash_dedup import MinhashDedup, _band_column

    stage = MinhashDedup()
    rng = np.random.default_rng(seed)
    paths = []
    for shard in range(-(-documents // SHARD_SIZE)):
        size = min(SHARD_SIZE, documents - shard * SHARD_SIZE)
        signatures = rng.integers(0, 2**32, size=(size, stage.hasher.num_perm), dtype=np.uint32)
        copies = np.arange(COPY_EVERY - 1, size, COPY_EVERY)
        signatures[copies] = signatures[(rng.random(len(copies)) * copies).astype(np.int64)]
        changed = rng.integers(0, stage.hasher.num_perm, size=(len(copies), CHANGED_VALUES))
        signatures[copies[:, None], changed] = rng.integers(0, 2**32, size=changed.shape, dtype=np.uint32)
        keys = band_keys(signatures, stage.bands, stage.rows)
        columns = {
            "id": pa.array([f"shard-{shard:05d}/doc-{i:07d}" for i in range(size)]),
            "row": pa.array(np.arange(size, dtype=np.int64)),
            **{_band_column(band): pa.array(keys[:, band]) for band in range(stage.bands)},
            "signature": fixed_size_list(signatures),
        }
        paths.append((f"shard-{shard:05d}", folder / f"keys-{shard:05d}.parquet"))
        pq.write_table(pa.table(columns), paths[-1][1])
    return paths


def resolve(paths: list[tuple[str, Path]], scratch: str, queue) -> None:
    """Every band part, then the decision, timed one by one (in a fresh process, for its peak RSS)."""
    from curate.pipeline import parquet_key_tables
    from curate.stages.minhash_dedup import MinhashDedup
    from curate.stats import StageStats

    stage, key_tables, stats = MinhashDedup(), parquet_key_tables(paths), StageStats("minhash_dedup")
    parts, pair_tables = [], []
    for part in range(stage.parts()):
        folder = Path(scratch) / f"part-{part}"
        folder.mkdir()
        started = time.process_time()
        pair_tables.append(stage.pairs(key_tables, part, folder, stats))
        parts.append((time.process_time() - started, own_peak_rss_mb(), stats.counters["spilled_runs"]))
    started = time.process_time()
    decisions = stage.decide(lambda: iter(pair_tables), key_tables, stats)
    decide = (time.process_time() - started, own_peak_rss_mb())
    queue.put({"parts": parts, "decide": decide, "removed": decisions.filter(decisions.column("survivor").is_valid()).num_rows})


def main() -> None:
    sizes = [int(n) for n in os.environ.get("CURATE_BENCH_BARRIER_DOCS", "1000000").split(",")]
    print(f"minhash_dedup barrier, synthetic key tables (1 in {COPY_EVERY} a near copy), memory_mb 1024, one process")
    context = multiprocessing.get_context("spawn")
    for documents in sizes:
        with tempfile.TemporaryDirectory(dir=os.environ.get("CURATE_BENCH_TMP")) as folder:
            started = time.perf_counter()
            paths = write_key_tables(Path(folder), documents)
            table_mb = sum(path.stat().st_size for _, path in paths) / 1e6
            print(f"  {documents:>11,d} docs: key tables {table_mb:,.0f} MB on disk (made in {time.perf_counter() - started:.0f} s)")
            queue = context.Queue()
            process = context.Process(target=resolve, args=(paths, folder, queue))
            process.start()
            result = queue.get()
            process.join()
            part_cpu = [cpu for cpu, _, _ in result["parts"]]
            print(
                f"    {len(part_cpu)} band parts: {sum(part_cpu):.1f} CPU s in all (largest {max(part_cpu):.1f}), "
                f"peak RSS {max(rss for _, rss, _ in result['parts']):,.0f} MB, spilled runs {result['parts'][-1][2]}"
            )
            print(
                f"    decide: {result['decide'][0]:.1f} CPU s, peak RSS {result['decide'][1]:,.0f} MB; "
                f"removed {result['removed']:,d} of {documents // COPY_EVERY:,d} planted copies"
            )


if __name__ == "__main__":
    main()
