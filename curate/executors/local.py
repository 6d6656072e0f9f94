"""The embedded default executor: a process pool over shards, phase by phase, resumable."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol

from ..config import PipelineConfig
from ..io.inputs import InputShard, list_shards
from ..pipeline import OutputLayout, Pipeline
from ..stats import RunStats

class Progress(Protocol):
    def phase_started(self, phase: int, total: int, already_done: int) -> None: ...
    def task_done(self, stats: RunStats) -> None: ...

_worker_pipeline: Pipeline | None = None


@dataclass
class RunResult:
    layout: OutputLayout
    pipeline: Pipeline
    shards: list[InputShard]
    seconds: float
    tasks_run: int
    tasks_resumed: int


def run_local(
    config: PipelineConfig,
    layout: OutputLayout,
    workers: int = 1,
    progress: Progress | None = None,
) -> RunResult:
    started = time.perf_counter()
    pipeline = Pipeline(config)
    shards = list_shards(config.input)
    ran = resumed = 0
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker, initargs=(config,)) if workers > 1 else None
    try:
        for phase in pipeline.phases:
            if phase.index > 0 and not layout.resolve_marker(phase.index).exists():
                pipeline.resolve(phase.index, shards, layout)
            todo = [s for s in shards if not layout.done_marker(phase.index, s).exists()]
            resumed += len(shards) - len(todo)
            if progress:
                progress.phase_started(phase.index, len(shards), len(shards) - len(todo))
            if pool is None:
                for shard in todo:
                    stats = pipeline.run_task(phase.index, shard, layout)
                    if progress:
                        progress.task_done(stats)
            else:
                futures = [pool.submit(_run_in_worker, phase.index, shard, str(layout.root)) for shard in todo]
                pending = set(futures)
                while pending:
                    done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                    for future in done:
                        stats = future.result()  # re-raises a worker's error here
                        if progress:
                            progress.task_done(stats)
            ran += len(todo)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return RunResult(layout, pipeline, shards, time.perf_counter() - started, ran, resumed)


def _init_worker(config: PipelineConfig) -> None:
    global _worker_pipeline
    _worker_pipeline = Pipeline(config)


def _run_in_worker(phase: int, shard: InputShard, root: str) -> RunStats:
    assert _worker_pipeline is not None
    return _worker_pipeline.run_task(phase, shard, OutputLayout(root))
