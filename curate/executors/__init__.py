"""Executors: a `Runner` runs a pipeline's tasks somewhere (a process pool, a Ray cluster).

The run's driver (`curate.driver`) owns the phase loop, the output folder and what is written at the
end; a runner only runs the tasks it is handed. A new executor is one module plus one `RUNNERS` line.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Protocol

from ..errors import CurateError

if TYPE_CHECKING:  # types only: the CLI reads RUNNERS without loading the pipeline
    from ..io.base import InputShard
    from ..pipeline import OutputLayout, Pipeline
    from ..stats import RunStats, StageStats

RUNNERS: dict[str, str] = {
    "local": "curate.executors.local:LocalRunner",
    "ray": "curate.executors.ray:RayRunner",
}


@dataclass(frozen=True)
class RunnerSettings:
    """What every runner is built from; a runner uses what applies to it (`address`: Ray's)."""

    pipeline: Pipeline  # the driver's own (its config goes to the workers), for tasks run in-process
    layout: OutputLayout
    workers: int
    address: str | None = None


class Runner(Protocol):
    """Runs the tasks of one run; every result comes back as the stats the task persisted."""

    def __init__(self, settings: RunnerSettings) -> None: ...

    def map(self, phase: int, shards: list[InputShard]) -> Iterator[RunStats]:
        """The phase's task on each shard; yields each task's stats as it finishes."""
        ...

    def find_pairs(self, phase: int, parts: list[int], shards: list[InputShard]) -> Iterator[StageStats]:
        """The independent parts of the barrier before `phase`; yields each part's stats."""
        ...

    def resolve(self, phase: int, shards: list[InputShard]) -> None:
        """The barrier's decision over every part's pairs."""
        ...

    def close(self) -> None: ...


def runner_class(name: str) -> type[Runner]:
    """The runner registered as `name` (imported only when used: Ray is heavy)."""
    if name not in RUNNERS:
        raise CurateError(f"unknown executor {name!r}; use {' or '.join(RUNNERS)}")
    module, cls = RUNNERS[name].split(":")
    return getattr(importlib.import_module(module), cls)
