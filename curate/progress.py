"""Progress bars for a run: shards done per phase, documents and megabytes per second.

Inside a shard, the reading tasks (in this process, in worker processes or on Ray nodes) report what
they have read in small files under the run's work folder (`OutputLayout.reading`, in `OutputLayout.readings`); a thread here sums
them about twice a second, so one large file shows documents and MB/s long before its task ends.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .stats import RunStats

POLL_SECONDS = 0.5


class RichProgress:
    def __init__(self, disabled: bool = False, readings: Path | None = None) -> None:
        """`readings`: the folder of the run's reading reports (`OutputLayout.readings`), if known."""
        self._bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(), disable=disabled, transient=False,
        )
        self._reports = None if disabled else readings
        self._task = None
        self._phase = 0
        self._docs = 0
        self._bytes = 0
        self._started = time.perf_counter()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._poller = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> "RichProgress":
        self._bar.__enter__()
        if self._reports is not None:
            self._poller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._poller.is_alive():
            self._poller.join()
        self._bar.__exit__(*exc)

    def phase_started(self, phase: int, total: int, already_done: int) -> None:
        with self._lock:
            self._phase, self._docs, self._bytes = phase, 0, 0
            self._started = time.perf_counter()
            self._task = self._bar.add_task(f"phase {phase} shards", total=total, completed=already_done, rate="")

    def task_done(self, stats: RunStats) -> None:
        first = next((s for s in stats.stages if s.docs_in), None)
        with self._lock:
            self._docs += first.docs_in if first else 0
            self._bytes += first.bytes_in if first else 0
            self._bar.update(self._task, advance=1, rate=self._rate(0, 0))

    def _poll(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            docs, nbytes = reading_so_far(self._reports)
            with self._lock:
                if self._task is not None and self._phase == 0:
                    self._bar.update(self._task, rate=self._rate(docs, nbytes))

    def _rate(self, docs: int, nbytes: int) -> str:
        """Documents so far and the rate, counting tasks done plus what running tasks have read."""
        docs, nbytes = self._docs + docs, self._bytes + nbytes
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        return f"{docs:,} docs, {docs / elapsed:,.0f} docs/s {nbytes / elapsed / 1e6:,.1f} MB/s"


def reading_so_far(folder: Path | None) -> tuple[int, int]:
    """Documents and bytes the running tasks have reported reading (a report being replaced is skipped)."""
    docs = nbytes = 0
    for report in folder.glob("reading-*.json") if folder is not None and folder.is_dir() else ():
        try:
            read = json.loads(report.read_text())
        except (OSError, ValueError):
            continue
        docs, nbytes = docs + read["docs"], nbytes + read["bytes"]
    return docs, nbytes
