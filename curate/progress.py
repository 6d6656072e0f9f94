"""Progress bars for a run: shards done per phase, documents and megabytes per second."""

from __future__ import annotations

import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .stats import RunStats


class RichProgress:
    def __init__(self, disabled: bool = False) -> None:
        self._bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(), disable=disabled, transient=False,
        )
        self._task = None
        self._docs = 0
        self._bytes = 0
        self._started = time.perf_counter()

    def __enter__(self) -> "RichProgress":
        self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(*exc)

    def phase_started(self, phase: int, total: int, already_done: int) -> None:
        self._docs = self._bytes = 0
        self._started = time.perf_counter()
        self._task = self._bar.add_task(f"phase {phase} shards", total=total, completed=already_done, rate="")

    def task_done(self, stats: RunStats) -> None:
        first = next((s for s in stats.stages if s.docs_in), None)
        self._docs += first.docs_in if first else 0
        self._bytes += first.bytes_in if first else 0
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        rate = f"{self._docs / elapsed:,.0f} docs/s {self._bytes / elapsed / 1e6:,.1f} MB/s"
        self._bar.update(self._task, advance=1, rate=rate)
