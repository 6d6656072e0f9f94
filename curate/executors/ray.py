"""The Ray executor: the very tasks of the local executor, as Ray tasks on a cluster.

Every node must see the output folder and local input files at the same path (a shared
filesystem; inputs may also be URLs, see `io.remote`). Workers start in another folder, so local
paths travel absolute. Ray retries a task whose worker died or that raised, `MAX_RETRIES` times;
then the run fails with the task's error on one line.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from pathlib import Path
from typing import Any, Iterator

from ..config import PipelineConfig
from ..errors import CurateError, one_line
from ..io.base import InputShard
from ..io.remote import is_url
from ..pipeline import OutputLayout, Pipeline
from ..stats import RunStats, StageStats
from . import RunnerSettings

MAX_RETRIES = 2
_pipelines: dict[str, Pipeline] = {}  # per Ray worker process, built once per config


def _pipeline(config: PipelineConfig) -> Pipeline:
    key = config.fingerprint()
    if key not in _pipelines:
        _pipelines[key] = Pipeline(config)
    return _pipelines[key]


def _run_task(config: PipelineConfig, phase: int, shard: InputShard, root: str) -> dict[str, Any]:
    return _pipeline(config).run_task(phase, shard, OutputLayout(root)).to_dict()


def _find_pairs(config: PipelineConfig, phase: int, part: int, shards: list[InputShard], root: str) -> dict[str, Any]:
    return _pipeline(config).find_pairs(phase, part, shards, OutputLayout(root)).to_dict()


def _resolve(config: PipelineConfig, phase: int, shards: list[InputShard], root: str) -> None:
    _pipeline(config).resolve(phase, shards, OutputLayout(root))


class RayRunner:
    def __init__(self, settings: RunnerSettings) -> None:
        import ray

        self.ray = ray
        self.config = settings.pipeline.config
        self.root = str(settings.layout.root.resolve())
        workers = settings.workers
        address = settings.address or os.environ.get("RAY_ADDRESS")
        self._started_here = not ray.is_initialized()
        if self._started_here:
            try:
                if address:
                    _check_reachable(address)  # Ray itself retries an unreachable address for minutes
                    ray.init(address=address, log_to_driver=False)
                else:
                    # "local": a fresh Ray of `workers` CPUs, never a cluster `ray start` left running here.
                    # Its workers run at nice 0 like the local executor's pool: Ray's default, nice 15,
                    # lets every other busy process on the machine starve them.
                    ray.init(
                        address="local",
                        num_cpus=workers,
                        include_dashboard=False,
                        log_to_driver=False,
                        _system_config={"worker_niceness": 0},
                    )
            except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as exc:
                where = f"the Ray cluster at {address}" if address else "a local Ray"
                raise CurateError(f"cannot start or join {where}: {one_line(exc)}") from None
        options = {"max_retries": MAX_RETRIES, "retry_exceptions": True}
        self.run_task = ray.remote(**options)(_run_task)
        self.find_pairs_task = ray.remote(**options)(_find_pairs)
        self.resolve_task = ray.remote(**options)(_resolve)

    def map(self, phase: int, shards: list[InputShard]) -> Iterator[RunStats]:
        pending = [self.run_task.remote(self.config, phase, _absolute(shard), self.root) for shard in shards]
        for result in self._as_completed(pending):
            yield RunStats.from_dict(result)

    def find_pairs(self, phase: int, parts: list[int], shards: list[InputShard]) -> Iterator[StageStats]:
        """The parts of the barrier before `phase`, one Ray task each; the key tables are read by
        every part from the shared output folder."""
        absolute = [_absolute(s) for s in shards]
        pending = [self.find_pairs_task.remote(self.config, phase, part, absolute, self.root) for part in parts]
        for result in self._as_completed(pending):
            yield StageStats.from_dict(result)

    def _as_completed(self, pending: list[Any]) -> Iterator[Any]:
        try:
            while pending:
                done, pending = self.ray.wait(pending, num_returns=1)
                yield self._get(done[0])
        finally:
            for ref in pending:  # a failed run stops its other tasks, also on a cluster that outlives it
                self.ray.cancel(ref)

    def resolve(self, phase: int, shards: list[InputShard]) -> None:
        self._get(self.resolve_task.remote(self.config, phase, [_absolute(s) for s in shards], self.root))

    def close(self) -> None:
        if self._started_here:
            self.ray.shutdown()

    def _get(self, ref: Any) -> Any:
        """A task's result; its error, after the retries, as one line (a worker's or node's death too)."""
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayError as exc:
            cause = exc.cause if getattr(exc, "cause", None) is not None else exc
            if isinstance(cause, CurateError):
                raise cause from None
            raise CurateError(f"a Ray task failed after {MAX_RETRIES} retries: {one_line(cause)}") from None


def _absolute(shard: InputShard) -> InputShard:
    return shard if is_url(shard.path) else dataclasses.replace(shard, path=str(Path(shard.path).resolve()))


def _check_reachable(address: str, seconds: float = 10) -> None:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or "://" in address:
        return  # "auto", or a ray:// client address: left to Ray
    try:
        socket.create_connection((host, int(port)), timeout=seconds).close()
    except OSError as exc:
        raise CurateError(f"cannot reach the Ray cluster at {address}: {exc}; is `ray start --head` running there?") from None
