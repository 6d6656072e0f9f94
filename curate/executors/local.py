"""The embedded default executor: the tasks of a phase on a process pool (or in-process for 1 worker)."""

from __future__ import annotations

import multiprocessing
import signal
import sys
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Iterator

from ..config import PipelineConfig
from ..errors import CurateError
from ..io.base import InputShard
from ..pipeline import OutputLayout, Pipeline, prepare_task_process
from ..stats import RunStats, StageStats
from . import RunnerSettings

_worker_pipeline: Pipeline | None = None


class LocalRunner:
    def __init__(self, settings: RunnerSettings) -> None:
        self.pipeline = settings.pipeline
        self.layout = settings.layout
        self.pool = (
            ProcessPoolExecutor(
                settings.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(settings.pipeline.config,),
            )
            if settings.workers > 1
            else None
        )

    def map(self, phase: int, shards: list[InputShard]) -> Iterator[RunStats]:
        """Run the phase's task on each shard; yields each task's stats as it finishes."""
        if self.pool is None:
            for shard in shards:
                yield self.pipeline.run_task(phase, shard, self.layout)
            return
        yield from self._gather({self.pool.submit(_run_in_worker, phase, shard, str(self.layout.root)) for shard in shards})

    def find_pairs(self, phase: int, parts: list[int], shards: list[InputShard]) -> Iterator[StageStats]:
        """The parts of the barrier before `phase`, in parallel; yields each part's stats."""
        if self.pool is None:
            for part in parts:
                yield self.pipeline.find_pairs(phase, part, shards, self.layout)
            return
        root = str(self.layout.root)
        yield from self._gather({self.pool.submit(_find_pairs_in_worker, phase, part, shards, root) for part in parts})

    @staticmethod
    def _gather(pending: set[Future]) -> Iterator[Any]:
        """Each future's result as it finishes; the first error stops the rest."""
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for future in done:
                try:
                    yield future.result()  # re-raises a worker's error here
                except BrokenProcessPool:
                    raise CurateError(
                        "a worker process died (killed, or out of memory); run the same command again to resume"
                    ) from None

    def resolve(self, phase: int, shards: list[InputShard]) -> None:
        self.pipeline.resolve(phase, shards, self.layout)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


def _init_worker(config: PipelineConfig) -> None:
    global _worker_pipeline
    _die_with_parent()
    _worker_pipeline = Pipeline(config)
    prepare_task_process()


def _die_with_parent() -> None:
    """Linux: a worker dies with the run's process, even on SIGKILL; an orphan would go on writing
    into the output folder while the user reruns the command."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


def _run_in_worker(phase: int, shard: InputShard, root: str) -> RunStats:
    assert _worker_pipeline is not None
    return _worker_pipeline.run_task(phase, shard, OutputLayout(root))


def _find_pairs_in_worker(phase: int, part: int, shards: list[InputShard], root: str) -> StageStats:
    assert _worker_pipeline is not None
    return _worker_pipeline.find_pairs(phase, part, shards, OutputLayout(root))
