"""Executors run a pipeline's tasks; `execute` claims the output folder, runs, and writes the results."""

from __future__ import annotations

import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import PipelineConfig
from ..errors import CurateError
from ..io.writers import write_json_atomic
from ..pipeline import OutputLayout, merge_task_stats
from ..stats import RunStats
from .local import Progress, run_local


@dataclass
class Outcome:
    layout: OutputLayout
    stats: RunStats
    seconds: float
    tasks_run: int
    tasks_resumed: int


def execute(
    config: PipelineConfig,
    output: str,
    workers: int = 1,
    executor: str = "local",
    overwrite: bool = False,
    progress: Progress | None = None,
) -> Outcome:
    layout = OutputLayout(output)
    _refuse_output_inside_input(layout.root, config.input.paths)
    layout.prepare(config, overwrite)
    if executor != "local":
        raise CurateError(f"executor {executor!r} is not available; use --executor local")
    started = time.perf_counter()
    result = run_local(config, layout, workers=workers, progress=progress)
    stats = merge_task_stats(result.pipeline.stage_names, layout, len(result.pipeline.phases))
    summary = stats.to_dict() | {
        "run": {
            "config": config.to_dict(),
            "config_file": config.source_file,
            "inputs": [s.path for s in result.shards],
            "executor": executor,
            "workers": workers,
            "seconds": round(time.perf_counter() - started, 3),
            "tasks_run": result.tasks_run,
            "tasks_resumed": result.tasks_resumed,
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        "thresholds": {s.name: s.thresholds() for s in result.pipeline.stages if s.thresholds()},
    }
    write_json_atomic(layout.stats, summary)
    from ..report.html import write_report

    write_report(layout.root)
    return Outcome(layout, stats, time.perf_counter() - started, result.tasks_run, result.tasks_resumed)


def _refuse_output_inside_input(output: Path, inputs: list[str]) -> None:
    out = output.resolve()
    for raw in inputs:
        src = Path(raw).resolve()
        if src.is_dir() and (out == src or src in out.parents):
            raise CurateError(f"output {output} is inside input folder {raw}; choose an output elsewhere")
