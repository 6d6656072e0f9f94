"""Counters that merge across tasks: per-stage docs/bytes in and out, removals by reason, histograms."""

from __future__ import annotations

import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import numpy as np


@dataclass
class Histogram:
    """Fixed bins over [lo, hi); values outside land in the first or last bin, so merging is exact."""

    lo: float
    hi: float
    counts: list[int]
    log: bool = False

    @classmethod
    def empty(cls, lo: float, hi: float, bins: int, log: bool = False) -> "Histogram":
        return cls(lo, hi, [0] * bins, log)

    def add(self, values: Iterable[float]) -> None:
        arr = np.asarray([v for v in values if v is not None], dtype=np.float64)
        arr = arr[np.isfinite(arr)]
        if not len(arr):
            return
        lo, hi = self.lo, self.hi
        if self.log:
            arr, lo, hi = np.log10(np.maximum(arr, 1.0)), np.log10(max(lo, 1.0)), np.log10(hi)
        bins = len(self.counts)
        idx = np.clip(((arr - lo) / (hi - lo) * bins).astype(np.int64), 0, bins - 1)
        for i, n in enumerate(np.bincount(idx, minlength=bins)):
            self.counts[i] += int(n)

    def merge(self, other: "Histogram") -> None:
        if (self.lo, self.hi, len(self.counts), self.log) != (other.lo, other.hi, len(other.counts), other.log):
            raise ValueError("cannot merge histograms with different bins")
        self.counts = [a + b for a, b in zip(self.counts, other.counts)]

    def edges(self) -> list[float]:
        bins = len(self.counts)
        if self.log:
            lo, hi = np.log10(max(self.lo, 1.0)), np.log10(self.hi)
            return [float(10 ** (lo + (hi - lo) * i / bins)) for i in range(bins + 1)]
        return [self.lo + (self.hi - self.lo) * i / bins for i in range(bins + 1)]

    def to_dict(self) -> dict[str, Any]:
        return {"lo": self.lo, "hi": self.hi, "log": self.log, "counts": self.counts}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Histogram":
        return cls(d["lo"], d["hi"], list(d["counts"]), d.get("log", False))


@dataclass
class StageStats:
    """What one stage did; `merge` adds another task's numbers for the same stage. `name` is the
    stage's kind, `id` its key in the pipeline (the name unless it repeats)."""

    name: str
    docs_in: int = 0
    docs_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    cpu_seconds: float = 0.0  # CPU time in the stage (what throughput is computed from); a global
    # stage's counts its keys, its barrier and applying its decisions
    wall_seconds: float = 0.0  # elapsed time in the stage: also counts waiting for a busy machine
    removed: Counter = field(default_factory=Counter)
    counters: Counter = field(default_factory=Counter)  # stage-specific counts (e.g. pii:email)
    histograms: dict[str, Histogram] = field(default_factory=dict)
    id: str = ""

    def __post_init__(self) -> None:
        self.id = self.id or self.name

    def merge(self, other: "StageStats") -> None:
        self.docs_in += other.docs_in
        self.docs_out += other.docs_out
        self.bytes_in += other.bytes_in
        self.bytes_out += other.bytes_out
        self.cpu_seconds += other.cpu_seconds
        self.wall_seconds += other.wall_seconds
        self.removed.update(other.removed)
        self.counters.update(other.counters)
        for key, hist in other.histograms.items():
            if key in self.histograms:
                self.histograms[key].merge(hist)
            else:
                self.histograms[key] = Histogram.from_dict(hist.to_dict())

    @contextmanager
    def timed(self, threaded: bool = False) -> Iterator[None]:
        """Adds the block's CPU seconds (this thread's, or the process's when the work runs on threads)
        and wall seconds to the stage's."""
        cpu_clock = time.process_time if threaded else time.thread_time
        started, cpu_started = time.perf_counter(), cpu_clock()
        try:
            yield
        finally:
            self.cpu_seconds += cpu_clock() - cpu_started
            self.wall_seconds += time.perf_counter() - started

    @property
    def conserved(self) -> bool:
        return self.docs_in == self.docs_out + sum(self.removed.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.id,
            "docs_in": self.docs_in,
            "docs_out": self.docs_out,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "removed": dict(sorted(self.removed.items())),
            "counters": dict(sorted(self.counters.items())),
            "seconds": round(self.cpu_seconds, 4),  # CPU seconds, as `cpu_seconds`; kept for older readers
            "cpu_seconds": round(self.cpu_seconds, 4),
            "wall_seconds": round(self.wall_seconds, 4),
            "docs_per_s": round(self.docs_in / self.cpu_seconds, 1) if self.cpu_seconds else None,
            "mb_per_s": round(self.bytes_in / 1e6 / self.cpu_seconds, 2) if self.cpu_seconds else None,
            "histograms": {k: h.to_dict() for k, h in sorted(self.histograms.items())},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "StageStats":
        return cls(
            name=d["name"],
            id=d.get("id", d["name"]),
            docs_in=d["docs_in"],
            docs_out=d["docs_out"],
            bytes_in=d["bytes_in"],
            bytes_out=d["bytes_out"],
            cpu_seconds=d.get("cpu_seconds", d.get("seconds", 0.0)),  # stats written before CPU time: wall seconds
            wall_seconds=d.get("wall_seconds", d.get("seconds", 0.0)),
            removed=Counter(d.get("removed", {})),
            counters=Counter(d.get("counters", {})),
            histograms={k: Histogram.from_dict(h) for k, h in d.get("histograms", {}).items()},
        )


@dataclass
class RunStats:
    """A task's or a whole run's numbers: what the readers saw, then each stage in pipeline order."""

    stages: list[StageStats]
    docs_read: int = 0
    bytes_read: int = 0
    skipped: Counter = field(default_factory=Counter)  # records a reader could not turn into documents
    docs_written: int = 0

    @classmethod
    def for_stages(cls, names: list[str], ids: list[str] | None = None) -> "RunStats":
        """Empty stats for stages of these names (and ids, where a name repeats)."""
        return cls(stages=[StageStats(n, id=i) for n, i in zip(names, ids or names)])

    def stage(self, stage_id: str) -> StageStats:
        return next(s for s in self.stages if s.id == stage_id)

    def merge(self, other: "RunStats") -> None:
        if [s.id for s in self.stages] != [s.id for s in other.stages]:
            raise ValueError("cannot merge stats of different pipelines")
        for mine, theirs in zip(self.stages, other.stages):
            mine.merge(theirs)
        self.docs_read += other.docs_read
        self.bytes_read += other.bytes_read
        self.skipped.update(other.skipped)
        self.docs_written += other.docs_written

    def conservation_problems(self) -> list[str]:
        """Every way documents could have gone missing; empty when all are accounted for."""
        problems = [
            f"{s.id}: docs_in {s.docs_in} != docs_out {s.docs_out} + removed {sum(s.removed.values())}"
            for s in self.stages
            if not s.conserved
        ]
        expected_in = self.docs_read
        for s in self.stages:
            if s.docs_in != expected_in:
                problems.append(f"{s.id}: docs_in {s.docs_in} but the previous step passed on {expected_in}")
            expected_in = s.docs_out
        if self.docs_written != expected_in:
            problems.append(f"docs_written {self.docs_written} but the last step passed on {expected_in}")
        return problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "docs_read": self.docs_read,
            "bytes_read": self.bytes_read,
            "skipped": dict(sorted(self.skipped.items())),
            "docs_written": self.docs_written,
            "conservation": {"ok": not self.conservation_problems(), "problems": self.conservation_problems()},
            "stages": [s.to_dict() for s in self.stages],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunStats":
        return cls(
            stages=[StageStats.from_dict(s) for s in d["stages"]],
            docs_read=d["docs_read"],
            bytes_read=d.get("bytes_read", 0),
            skipped=Counter(d.get("skipped", {})),
            docs_written=d["docs_written"],
        )
