"""The run's driver: claims the output folder, runs every phase through a `Runner`, then writes
what spans the run (the sinks' finalize, stats.json, report.html) and publishes to a URL output.

The CLI, the Python API and `ablate` all run pipelines through `execute`."""

from __future__ import annotations

import hashlib
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .atomic import write_json_atomic
from .config import PipelineConfig
from .errors import CurateError
from .executors import Runner, RunnerSettings, runner_class
from .io.base import InputShard
from .io.check import no_documents_message
from .io.inputs import input_files, plan_shards
from .io.reshard import reshard
from .io.remote import holds_files, is_url, publish
from .pipeline import OutputLayout, Pipeline, merge_task_stats
from .report.provenance import source_text, versions
from .stats import RunStats


class Progress(Protocol):
    def phase_started(self, phase: int, total: int, already_done: int) -> None: ...
    def task_done(self, stats: RunStats) -> None: ...


@dataclass
class Outcome:
    layout: OutputLayout
    stats: RunStats
    seconds: float
    tasks_run: int
    tasks_resumed: int
    output: str  # the folder or URL the results went to
    summary: dict[str, Any]  # the content of stats.json

    @property
    def report(self) -> str:
        return f"{self.output.rstrip('/')}/report.html" if is_url(self.output) else str(self.layout.report)


def execute(
    config: PipelineConfig,
    output: str,
    workers: int | None = None,
    executor: str = "local",
    overwrite: bool = False,
    progress: Progress | None = None,
    ray_address: str | None = None,
    work_dir: str | None = None,
) -> Outcome:
    """Run every phase's tasks (skipping those an earlier run finished), then write stats and report.

    An `output` URL gets the finished run uploaded; the run works in `work_folder(output, work_dir)`,
    where a rerun resumes. `workers` defaults to the pipeline's."""
    workers = config.workers if workers is None else workers
    if workers < 1:
        raise CurateError(f"workers must be at least 1, got {workers}")
    runner_type = runner_class(executor)
    remote = output if is_url(output) else None
    layout = OutputLayout(work_folder(output, work_dir) if remote else output)
    _refuse_output_inside_input(layout.root, config.input.paths)
    started = time.perf_counter()
    pipeline = Pipeline(config)
    planned = plan_shards(config.input)
    if remote and not overwrite and not layout.run_file.exists() and holds_files(remote):
        raise CurateError(f"{remote} already holds files; use --overwrite to replace them, or another --output")
    layout.prepare(config, overwrite, input_files(planned))
    try:
        shards = reshard(planned, layout.work / "input", config.input)
        runner = runner_type(RunnerSettings(pipeline, layout, workers, ray_address))
        ran, resumed = _run_phases(runner, pipeline, shards, layout, progress)
        pipeline.finalize(layout)
        stats = merge_task_stats(pipeline, layout)
        summary = stats.to_dict() | {
            "run": {
                "config": config.to_dict(),
                "config_file": config.source_file,
                "config_text": source_text(config.source_file),
                "inputs": list(dict.fromkeys(s.path for s in planned)),
                "executor": executor,
                "workers": workers,
                "seconds": round(time.perf_counter() - started, 3),
                "tasks_run": ran,
                "tasks_resumed": resumed,
                "python": sys.version.split()[0],
                "versions": versions(),
                "platform": platform.platform(),
            },
            "thresholds": {s.key: s.thresholds() for s in pipeline.stages if s.thresholds()},
        }
        write_json_atomic(layout.stats, summary)
        from .report.html import write_report

        write_report(layout.root)
        if not stats.docs_read:
            raise CurateError(no_documents_message(stats.skipped, config.input.paths))
        if remote:
            publish(layout.root, remote, replace=overwrite)
    finally:
        layout.release()
    return Outcome(layout, stats, time.perf_counter() - started, ran, resumed, output, summary)


def output_of(config: PipelineConfig, output: str | Path | None) -> str:
    """The folder or URL a run writes: the one given (--output, `output=`), else the pipeline's `output:`."""
    target = output or config.output
    if not target:
        raise CurateError("no output folder: give --output (output= in Python) or set `output:` in the pipeline")
    return str(target)


def _run_phases(
    runner: Runner, pipeline: Pipeline, shards: list[InputShard], layout: OutputLayout, progress: Progress | None
) -> tuple[int, int]:
    """Every phase's unfinished tasks, resolving global stages in between; returns (run, resumed)."""
    ran = resumed = 0
    try:
        for phase in pipeline.phases:
            if phase.index > 0 and not layout.resolve_marker(phase.index).exists():
                parts = range(pipeline.global_stage(phase.index).parts())
                todo_parts = [part for part in parts if not layout.pairs_marker(phase.index, part).exists()]
                for _ in runner.find_pairs(phase.index, todo_parts, shards):
                    pass
                runner.resolve(phase.index, shards)
            todo = [s for s in shards if not layout.done_marker(phase.index, s).exists()]
            resumed += len(shards) - len(todo)
            if progress:
                progress.phase_started(phase.index, len(shards), len(shards) - len(todo))
            for task_stats in runner.map(phase.index, todo):
                if progress:
                    progress.task_done(task_stats)
            ran += len(todo)
    finally:
        runner.close()
    return ran, resumed


def work_folder(url: str, work_dir: str | None) -> Path:
    """Where a run whose output is a URL works: `work_dir` (on a cluster, a folder every node sees),
    else $CURATE_WORK_DIR, else ~/.cache/curate/runs; one subfolder per output URL."""
    base = work_dir or os.environ.get("CURATE_WORK_DIR") or Path.home() / ".cache" / "curate" / "runs"
    return Path(base) / hashlib.sha1(url.rstrip("/").encode()).hexdigest()[:16]


def _refuse_output_inside_input(output: Path, inputs: list[str]) -> None:
    out = output.resolve()
    for raw in inputs:
        if is_url(raw):
            continue
        src = Path(raw).resolve()
        if src.is_dir() and (out == src or src in out.parents):
            raise CurateError(f"output {output} is inside input folder {raw}; choose an output elsewhere")
