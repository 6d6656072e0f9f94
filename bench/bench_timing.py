"""Stage timings on a busy machine: per-stage CPU seconds (what stats.json and the report use) against
wall seconds, for the same run alone and beside two busy-loop processes, alternated over two rounds.

The text stages of pipelines/web.yaml (no extract, no dedup) on the first CURATE_BENCH_DOCS pages of
the register corpus, one worker. Target: CPU seconds per stage agree within 15% between the two
conditions, while wall seconds move with the load.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import curate

SHARED_DATA = Path(os.environ.get("CURATE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
CORPUS = SHARED_DATA / "web-text-turku-register" / "docs.jsonl.gz"
STAGES = ["normalize", "language", "gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality", "pii"]
HOGS = 2
ROUNDS = 2


def timings(docs: int, output: Path) -> dict[str, tuple[float, float]]:
    pipeline = {"input": {"paths": [str(CORPUS)], "format": "jsonl", "limit": docs}, "stages": STAGES}
    stats = curate.run(pipeline, output=output, overwrite=True)
    return {s["name"]: (s["cpu_seconds"], s["wall_seconds"]) for s in stats["stages"]}


def main() -> None:
    docs = int(os.environ.get("CURATE_BENCH_DOCS", 1500))
    totals = {condition: {stage: [0.0, 0.0] for stage in STAGES} for condition in ("alone", "busy")}
    with tempfile.TemporaryDirectory() as scratch:
        timings(docs, Path(scratch) / "warm")  # models loaded and compiled before anything is timed
        for _ in range(ROUNDS):
            for condition in ("alone", "busy"):
                hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(HOGS if condition == "busy" else 0)]
                try:
                    time.sleep(0.5 if hogs else 0)
                    for stage, (cpu, wall) in timings(docs, Path(scratch) / condition).items():
                        totals[condition][stage][0] += cpu
                        totals[condition][stage][1] += wall
                finally:
                    for hog in hogs:
                        hog.kill()
                        hog.wait()
    print(f"{docs} register pages, {ROUNDS} rounds, busy = {HOGS} busy loops beside the run; load average {os.getloadavg()[0]:.1f}")
    print(f"{'stage':18} {'CPU alone':>9} {'CPU busy':>9} {'ratio':>6} {'wall alone':>10} {'wall busy':>10} {'ratio':>6}")
    for stage in [*STAGES, "all"]:
        rows = STAGES if stage == "all" else [stage]
        cpu_alone, cpu_busy = (sum(totals[c][s][0] for s in rows) for c in ("alone", "busy"))
        wall_alone, wall_busy = (sum(totals[c][s][1] for s in rows) for c in ("alone", "busy"))
        print(
            f"{stage:18} {cpu_alone:9.2f} {cpu_busy:9.2f} {cpu_busy / cpu_alone:6.2f} "
            f"{wall_alone:10.2f} {wall_busy:10.2f} {wall_busy / wall_alone:6.2f}"
        )


if __name__ == "__main__":
    main()
