"""Sinks: where a run's documents go. A new output is one module here plus one `SINKS` line.

A sink is built once per process from its options. Each task (one phase on one shard) `open`s it,
`add`s every batch to what `open` returned, and `close`s that, which puts the task's files in place
(written under temporary names until then, so a task that dies leaves nothing a resumed run reads).
After every task, `finalize` runs once in the driver for what spans the run (the token manifest).

A batch carries the documents kept by the pipeline's last phase (earlier phases pass none on: their
survivors are the run's own intermediates) and every document removed in this phase with its reason.
Each sink takes what it writes from the batch and ignores the rest.

A stage whose output needs a sink asks for it in `Stage.sink_requests` (tokenize: the token shards,
with its encoding); with no `outputs:` in the YAML, a run writes `DEFAULT_SINKS` plus those.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Protocol

import pyarrow as pa

from ..document import Document
from ..errors import ConfigError
from ..options import parse, unknown_key

SINKS: dict[str, str] = {
    "data": "curate.sinks.data:KeptParquet",
    "removed": "curate.sinks.removed:RemovedParquet",
    "tokens": "curate.sinks.tokens:TokenShards",
    "dolma": "curate.sinks.dolma:DolmaJsonl",
}
DEFAULT_SINKS = ("data", "removed")


@dataclass(frozen=True, kw_only=True)
class SinkOptions:
    """What a sink takes; a sink's own options subclass this (fields made with `curate.options.option`)."""


@dataclass(frozen=True)
class Removal:
    """A document a stage removed: `reason` is the stats key `stage:reason`, `detail` what follows it."""

    doc: Document
    stage: str
    reason: str
    detail: str | None


@dataclass
class Batch:
    kept: list[Document] = field(default_factory=list)
    removed: list[Removal] = field(default_factory=list)


@dataclass(frozen=True)
class SinkTask:
    """What a sink is opened for: one phase of one shard of the run in `root`."""

    root: Path  # the run's output folder
    shard: str  # the shard's name: part of every file name, so any worker count writes the same files
    phase: int
    signals: dict[str, pa.DataType]  # the columns the pipeline's stages record, with their types
    # When the run was first started (ISO 8601, UTC; the same in a resumed run): a call, since it reads
    # the run file and only the sinks that record it (dolma) need it.
    started: Callable[[], str]


class TaskOutput(Protocol):
    def add(self, batch: Batch) -> None: ...

    def close(self) -> None:
        """Put the task's files in place (nothing for a task that wrote nothing)."""
        ...


class Sink:
    """Subclasses set `name` and their `Options` (validated before anything runs; `__init__` gets the
    parsed instance), and implement `open`."""

    name: ClassVar[str]
    Options: ClassVar[type[SinkOptions]] = SinkOptions
    # What the YAML names to get it without a stage asking; a sink that writes what a stage
    # produces says which stage here, and refuses to run without one.
    needs_stage: ClassVar[str | None] = None

    def __init__(self, options: SinkOptions) -> None:
        self.options = options

    def open(self, task: SinkTask) -> TaskOutput:
        raise NotImplementedError

    def finalize(self, root: Path) -> None:
        """After every task of the run: what spans all of them."""


def sink_class(name: str, where: str = "outputs") -> type[Sink]:
    if name not in SINKS:
        raise ConfigError(unknown_key(where, name, SINKS, "output"))
    module, cls = SINKS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def build_sinks(
    outputs: list[tuple[str, dict[str, Any]]] | None, requests: dict[str, tuple[str, dict[str, Any]]]
) -> list[Sink]:
    """The run's sinks: `outputs` from the YAML (None: the defaults and every requested one), each with
    the options of the stage that asked for it (`requests`: sink name -> (stage, options)) under the
    YAML's own. An option both set differently is an error, as is a stage-fed sink no stage asks for."""
    if outputs is None:
        outputs = [(name, {}) for name in DEFAULT_SINKS] + [(name, {}) for name in requests]
    sinks = []
    for i, (name, options) in enumerate(outputs):
        where = f"outputs[{i}].{name}"
        cls = sink_class(name, where)
        stage, asked = requests.get(name, (None, {}))
        if cls.needs_stage and stage is None:
            raise ConfigError(f"{where}: no stage in the pipeline produces what this output writes; add a {cls.needs_stage} stage")
        for key, value in options.items():
            if key in asked and asked[key] != value:
                raise ConfigError(f"{where}.{key}: the {stage} stage sets it ({asked[key]!r}); set it there, not here")
        sinks.append(cls(parse(cls.Options, {**asked, **options}, where)))
    return sinks


__all__ = ["DEFAULT_SINKS", "SINKS", "Batch", "Removal", "Sink", "SinkOptions", "SinkTask", "TaskOutput", "build_sinks", "sink_class"]
