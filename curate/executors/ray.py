"""The Ray executor: the very tasks of the local executor, as Ray tasks on a cluster.

Every node must see the output folder at the same path (a shared filesystem). Ray retries tasks
whose worker died; an exception is retried `max_retries` times, then the run fails with its message.
"""

from __future__ import annotations

import os
from typing import Any, Iterator

from ..config import PipelineConfig
from ..errors import CurateError
from ..io.inputs import InputShard
from ..pipeline import OutputLayout, Pipeline
from ..stats import RunStats

MAX_RETRIES = 2
_pipelines: dict[str, Pipeline] = {}  # per Ray worker process, built once per config


def _pipeline(config: PipelineConfig) -> Pipeline:
    key = config.fingerprint()
    if key not in _pipelines:
        _pipelines[key] = Pipeline(config)
    return _pipelines[key]


def _run_task(config: PipelineConfig, phase: int, shard: InputShard, root: str) -> dict[str, Any]:
    return _pipeline(config).run_task(phase, shard, OutputLayout(root)).to_dict()


def _resolve(config: PipelineConfig, phase: int, shards: list[InputShard], root: str) -> None:
    _pipeline(config).resolve(phase, shards, OutputLayout(root))


class RayRunner:
    def __init__(self, config: PipelineConfig, layout: OutputLayout, workers: int, address: str | None) -> None:
        import ray

        self.ray = ray
        self.config = config
        self.root = str(layout.root.resolve())
        address = address or os.environ.get("RAY_ADDRESS")
        self._started_here = not ray.is_initialized()
        if self._started_here:
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        options = {"max_retries": MAX_RETRIES, "retry_exceptions": True}
        self.run_task = ray.remote(**options)(_run_task)
        self.resolve_task = ray.remote(**options)(_resolve)

    def map(self, phase: int, shards: list[InputShard]) -> Iterator[RunStats]:
        pending = [self.run_task.remote(self.config, phase, shard, self.root) for shard in shards]
        while pending:
            done, pending = self.ray.wait(pending, num_returns=1)
            yield RunStats.from_dict(self._get(done[0]))

    def resolve(self, phase: int, shards: list[InputShard]) -> None:
        self._get(self.resolve_task.remote(self.config, phase, shards, self.root))

    def close(self) -> None:
        if self._started_here:
            self.ray.shutdown()

    def _get(self, ref: Any) -> Any:
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as exc:
            cause = exc.cause if getattr(exc, "cause", None) is not None else exc
            if isinstance(cause, CurateError):
                raise cause from None
            raise CurateError(f"a Ray task failed after {MAX_RETRIES} retries: {type(cause).__name__}: {cause}") from None
