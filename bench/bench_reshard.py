"""One large `.jsonl.gz` (the shared register corpus, 31.6 MB -> 92.8 MB): what splitting it costs, and
what it buys with `--workers 2`.

Three runs of the same pipeline, in one process each time, wall seconds (the point is parallelism, so
CPU time would hide it): the file as one shard (the baseline: `shard_bytes` above its size), split with
1 worker, split with 2 workers. The split run's time includes the one-off decompression into the run's
work folder. The speedup needs two free cores: the load average is printed beside it.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from curate.config import parse_config
from curate.driver import execute
from curate.io.base import InputOptions
from curate.io.inputs import list_shards
from curate.io.reshard import reshard

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CORPUS = SHARED / "web-text-turku-register" / "docs.jsonl.gz"
STAGES = ["normalize", "gopher_quality"]


def timed_run(shard_bytes: int, workers: int, output: Path) -> tuple[float, int, int]:
    config = parse_config({"input": {"paths": [str(CORPUS)], "shard_bytes": shard_bytes}, "stages": STAGES})
    started = time.perf_counter()
    outcome = execute(config, str(output), workers=workers)
    return time.perf_counter() - started, outcome.stats.docs_read, outcome.tasks_run


def main() -> None:
    split_bytes = InputOptions(paths=[]).shard_bytes
    with tempfile.TemporaryDirectory() as tmp:
        options = InputOptions(paths=[str(CORPUS)])
        started = time.perf_counter()
        shards = reshard(list_shards(options), Path(tmp) / "copy", options)
        copy_s = time.perf_counter() - started
        print(f"reshard {CORPUS.name}: {CORPUS.stat().st_size / 1e6:.1f} MB -> {Path(shards[0].path).stat().st_size / 1e6:.1f} MB "
              f"in {copy_s:.2f}s, {len(shards)} shards of {split_bytes >> 20} MiB")
        runs = {
            "one shard, 1 worker": timed_run(1 << 40, 1, Path(tmp) / "one"),
            "split, 1 worker": timed_run(split_bytes, 1, Path(tmp) / "split1"),
            "split, 2 workers": timed_run(split_bytes, 2, Path(tmp) / "split2"),
        }
    for name, (seconds, docs, tasks) in runs.items():
        print(f"{name}: {seconds:.1f}s wall, {docs:,} docs in {tasks} tasks, {docs / seconds:,.0f} docs/s")
    baseline = runs["one shard, 1 worker"][0]
    print(f"speedup with 2 workers over one shard: {baseline / runs['split, 2 workers'][0]:.2f}x; "
          f"cost of splitting at 1 worker: {runs['split, 1 worker'][0] / baseline:.2f}x "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
