"""A pipeline: reader -> stages -> sinks, cut into phases at global stages.

Phase 0 starts at the reader; every later phase starts with a global stage, whose keys the phase
before it wrote and whose decisions were resolved in between: first its independent parts
(`find_pairs`, run in parallel), then one `resolve` over their pairs. A task is (phase, shard); the
local and the Ray executor run the same tasks through `run_task`, `find_pairs` and `resolve`.
"""

from __future__ import annotations

import ctypes
import fcntl
import functools
import gc
import json
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator, ParamSpec, TextIO, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from .atomic import write_json_atomic
from .clusters import KeyTables, with_shard
from .config import PipelineConfig
from .document import Document, from_table, schema_for
from .errors import CurateError
from .io.base import InputShard, Skipped
from .io.inputs import input_differences
from .io.readers import read_shard
from .io.writers import AtomicParquetWriter, write_parquet_atomic
from .sinks import Batch, Removal, Sink, SinkTask, build_sinks
from .sinks.data import FOLDER as DATA_FOLDER
from .stages import GlobalStage, Stage, build_stages
from .stages.base import split_verdict
from .stats import RunStats, StageStats

PROGRESS_SECONDS = 1.0  # how often a task reports what it has read
BATCH_BYTES = 64 * 2**20  # a batch is also cut at this many bytes, so huge documents stay bounded
DECISION_ROWS_PER_GROUP = 1 << 16  # small row groups: a task reads only those holding its shard
# The run's own documents between phases, read once: lz4 writes them 2x and reads them 4x faster than
# zstd, for files about 1.4x larger. Without dictionaries and statistics (a task reads the whole file, and
# its text columns are nearly all distinct) a phase's write and read of the register pages' survivors take
# 0.23 -> 0.16 CPU s, the file the same size.
INTERMEDIATE_COMPRESSION = "lz4"
INTERMEDIATE_OPTIONS = {"use_dictionary": False, "write_statistics": False}


@dataclass
class Phase:
    index: int
    stages: list[Stage]
    next_global: GlobalStage | None  # the global stage whose keys this phase's tasks write


class OutputLayout:
    """Where a run keeps what: the fixed user-facing layout plus `.curate/` for its own work."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.data = self.root / DATA_FOLDER  # the default `data` sink's folder
        self.work = self.root / ".curate"
        self.stats = self.root / "stats.json"
        self.report = self.root / "report.html"
        self.run_file = self.work / "run.json"
        self._lock_file: TextIO | None = None

    def phase_dir(self, phase: int) -> Path:
        return self.work / f"phase{phase}"

    def done_marker(self, phase: int, shard: InputShard) -> Path:
        return self.phase_dir(phase) / f"done-{shard.name}.json"

    @property
    def readings(self) -> Path:
        """The folder of the reading reports: the first phase's, the one that reads the input."""
        return self.phase_dir(0)

    def reading(self, shard: InputShard) -> Path:
        """What a task has read of its shard so far (see `Pipeline._read`)."""
        return self.readings / f"reading-{shard.name}.json"

    def intermediate(self, phase: int, shard: InputShard) -> Path:
        return self.phase_dir(phase) / f"docs-{shard.name}.parquet"

    def keys(self, phase: int, shard: InputShard) -> Path:
        return self.phase_dir(phase) / f"keys-{shard.name}.parquet"

    def pairs(self, phase: int, part: int) -> Path:
        return self.phase_dir(phase) / f"pairs-{part:04d}.parquet"

    def pairs_marker(self, phase: int, part: int) -> Path:
        return self.phase_dir(phase) / f"pairs-{part:04d}.json"

    def decisions(self, phase: int) -> Path:
        return self.phase_dir(phase) / "decisions.parquet"

    def resolve_marker(self, phase: int) -> Path:
        return self.phase_dir(phase) / "resolve.json"

    def prepare(self, config: PipelineConfig, overwrite: bool, inputs: list[dict]) -> None:
        """Claim the output folder: fresh, or a resumable earlier run of the same config over the same input
        files (`input_files`). An earlier run that finished no task holds nothing to resume: a changed config
        or input replaces it (a config mistake found when a stage set itself up, then fixed, runs).

        The claim is an exclusive lock held until the process ends (the kernel drops it even on
        SIGKILL), so two runs never write one folder. A local lock: it does not span Ray nodes.
        """
        if self.root.exists() and not self.root.is_dir():
            raise CurateError(f"{self.root} is a file; the output is the folder a run writes")
        if self.root.exists() and any(self.root.iterdir()):
            if not self.run_file.exists():
                raise CurateError(f"{self.root} exists and is not a curate output; refusing to write into it")
            self._lock()
            changed = self._changes(json.loads(self.run_file.read_text()), config, inputs)
            if overwrite or changed and not any(self.work.glob("phase*/done-*.json")):
                self._unlock()
                shutil.rmtree(self.root)
            elif changed:
                raise CurateError(f"{self.root} holds a run of a different {changed}; use --overwrite to replace it, or another --output")
        self.work.mkdir(parents=True, exist_ok=True)
        self._lock()
        if not self.run_file.exists():
            started = datetime.now(timezone.utc).isoformat(timespec="seconds")
            record = {"fingerprint": config.fingerprint(), "started": started, "config": config.to_dict(), "inputs": inputs}
            write_json_atomic(self.run_file, record)

    @staticmethod
    def _changes(previous: dict, config: PipelineConfig, inputs: list[dict]) -> str | None:
        """What differs from the run recorded in `previous`: its config, or its input files (a run file
        from before inputs were recorded is taken to match them)."""
        if previous.get("fingerprint") != config.fingerprint():
            return f"config (changed: {', '.join(config_differences(previous.get('config') or {}, config.to_dict())) or 'fingerprint'})"
        if "inputs" in previous and previous["inputs"] != inputs:
            return f"input (files: {', '.join(input_differences(previous['inputs'], inputs))})"
        return None

    def started(self) -> str:
        """When the run was first started (ISO 8601, UTC); older runs: their run file's time."""
        run = json.loads(self.run_file.read_text())
        return run.get("started") or datetime.fromtimestamp(self.run_file.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")

    def release(self) -> None:
        """Give up the claim taken by `prepare` (the end of the process does too)."""
        self._unlock()

    def _lock(self) -> None:
        if self._lock_file is not None:
            return
        lock = open(self.work / "lock", "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise CurateError(f"{self.root} is being written by another curate run") from None
        self._lock_file = lock

    def _unlock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _releasing_freed_memory(task: Callable[_P, _R]) -> Callable[_P, _R]:
    """A task, then `_release_freed_memory` once it has returned (its locals, the last batch and tables
    among them, are gone by then)."""

    @functools.wraps(task)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return task(*args, **kwargs)
        finally:
            _release_freed_memory()

    return run


class Pipeline:
    def __init__(self, config: PipelineConfig) -> None:
        self.config = config
        self.stages: list[Stage] = build_stages(config.stages)
        self.phases = _cut_into_phases(self.stages)
        self.sinks: list[Sink] = build_sinks(config.outputs, _sink_requests(self.phases))
        self.signals: dict[str, pa.DataType] = {}
        for stage in self.stages:
            self.signals.update({k: s.dtype for k, s in stage.columns().items()})
        self.intermediate_schema = schema_for(self.signals, intermediate=True)

    def empty_stats(self) -> RunStats:
        """Stats with a zero entry per stage, keyed by each stage's key."""
        return RunStats.for_stages([s.name for s in self.stages], [s.key for s in self.stages])

    def setup(self) -> None:
        for stage in self.stages:
            stage.ensure_setup()

    @_releasing_freed_memory
    def run_task(self, phase_index: int, shard: InputShard, layout: OutputLayout) -> RunStats:
        """Run one phase on one shard; outputs are renamed into place, the done marker last.
        Removed documents go to the sinks in every phase, kept ones in the last (before it, to the
        next phase's intermediate)."""
        self.setup()
        phase = self.phases[phase_index]
        stats = self.empty_stats()
        last = phase_index == len(self.phases) - 1
        if phase_index == 0:
            docs: Iterable[Document] = self._read(shard, stats, layout.reading(shard))
        else:
            docs = self._read_intermediate(layout.intermediate(phase_index - 1, shard))
            with stats.stage(phase.stages[0].key).timed(threaded=True):  # Arrow reads on its own threads
                decisions = pq.read_table(layout.decisions(phase_index), filters=[("shard", "=", shard.name)])
                phase.stages[0].load_decisions(decisions)  # this shard's rows only: read filtered
        task = SinkTask(layout.root, shard.name, phase_index, self.signals, layout.started)
        outputs = [sink.open(task) for sink in self.sinks]
        survivors = None if last else AtomicParquetWriter(
            layout.intermediate(phase_index, shard), self.intermediate_schema, INTERMEDIATE_COMPRESSION, **INTERMEDIATE_OPTIONS
        )
        keys_out = layout.keys(phase_index, shard)
        key_tables: list[pa.Table] = []
        passed_on = 0  # documents this task has passed on: the next phase reads them in this order
        for batch in _batches(docs, self.config.batch_size):
            removals: list[Removal] = []
            for stage in phase.stages:
                batch, removed = stage(batch, stats.stage(stage.key))
                removals += [Removal(doc, stage.key, *split_verdict(stage.key, verdict)) for doc, verdict in removed]
            if phase.next_global is not None and batch:
                with stats.stage(phase.next_global.key).timed():
                    key_tables.append(phase.next_global.keys(batch, first_row=passed_on))
            passed_on += len(batch)
            if survivors is not None:
                survivors.write(batch)
            else:
                stats.docs_written += len(batch)
            for output in outputs:
                output.add(Batch(kept=batch if survivors is None else [], removed=removals))
        for output in outputs:
            output.close()
        if survivors is not None:
            survivors.close()
        if phase.next_global is not None:
            if key_tables:
                write_parquet_atomic(keys_out, pa.concat_tables(key_tables))
        write_json_atomic(layout.done_marker(phase_index, shard), stats.to_dict())
        return stats

    def global_stage(self, phase_index: int) -> GlobalStage:
        """The global stage that opens phase `phase_index` (> 0)."""
        stage = self.phases[phase_index].stages[0]
        assert isinstance(stage, GlobalStage)
        return stage

    @_releasing_freed_memory
    def find_pairs(self, phase_index: int, part: int, shards: list[InputShard], layout: OutputLayout) -> StageStats:
        """One part of the barrier before `phase_index`: its pairs, then a marker with its stats.
        (No `setup`: a global stage loads nothing, and the map stages' models are not needed.)"""
        stage = self.global_stage(phase_index)
        stats = StageStats(stage.name, id=stage.key)
        scratch = layout.phase_dir(phase_index) / f"scratch-{part:04d}"
        scratch.mkdir(parents=True, exist_ok=True)
        with stats.timed(threaded=True):  # alone in its task; Arrow reads the key tables on its own threads
            pairs = stage.pairs(self._key_tables(phase_index, shards, layout), part, scratch, stats)
        write_parquet_atomic(layout.pairs(phase_index, part), pairs)
        shutil.rmtree(scratch, ignore_errors=True)
        write_json_atomic(layout.pairs_marker(phase_index, part), stats.to_dict())
        return stats

    @_releasing_freed_memory
    def resolve(self, phase_index: int, shards: list[InputShard], layout: OutputLayout) -> StageStats:
        """The barrier before `phase_index`, after every part: its global stage decides over all pairs."""
        stage = self.global_stage(phase_index)
        stats = StageStats(stage.name, id=stage.key)
        parts = range(stage.parts())
        for part in parts:
            stats.merge(StageStats.from_dict(json.loads(layout.pairs_marker(phase_index, part).read_text())))

        def pair_tables() -> Iterator[pa.Table]:
            for part in parts:
                yield pq.read_table(layout.pairs(phase_index, part))

        with stats.timed(threaded=True):
            decisions = stage.decide(pair_tables, self._key_tables(phase_index, shards, layout), stats)
        write_parquet_atomic(layout.decisions(phase_index), decisions, row_group_size=DECISION_ROWS_PER_GROUP)
        write_json_atomic(layout.resolve_marker(phase_index), stats.to_dict())
        return stats

    @staticmethod
    def _key_tables(phase_index: int, shards: list[InputShard], layout: OutputLayout) -> KeyTables:
        """What the previous phase's tasks wrote for the global stage, shard by shard."""
        return parquet_key_tables([(s.name, layout.keys(phase_index - 1, s)) for s in shards])

    def finalize(self, layout: OutputLayout) -> None:
        """After every task: what spans the whole run (the token manifest)."""
        for sink in self.sinks:
            sink.finalize(layout.root)

    def _read(self, shard: InputShard, stats: RunStats, progress_file: Path) -> Iterator[Document]:
        """The shard's documents, counted; what has been read so far is in `progress_file` (rewritten
        about every second, removed at the end) for a progress display in any process to sum."""
        reported = time.monotonic()
        for n, item in enumerate(read_shard(shard, self.config.input)):
            if n % 256 == 255 and time.monotonic() - reported > PROGRESS_SECONDS:
                write_json_atomic(progress_file, {"docs": stats.docs_read, "bytes": stats.bytes_read})
                reported = time.monotonic()
            if isinstance(item, Skipped):
                stats.skipped[item.reason] += 1
                continue
            stats.docs_read += 1
            stats.bytes_read += item.nbytes
            yield item
        progress_file.unlink(missing_ok=True)

    @staticmethod
    def _read_intermediate(path: Path) -> Iterator[Document]:
        if not path.exists():  # the previous phase kept nothing from this shard
            return
        for batch in pq.ParquetFile(path).iter_batches(batch_size=1000):
            yield from from_table(pa.Table.from_batches([batch]))


GC_YOUNG_THRESHOLD = 50_000  # new objects between the collector's first passes in a task process (Python's default: 700)


def prepare_task_process() -> None:
    """Settle a process that runs curate's tasks (`curate run` once its configuration is read, just before
    the executor starts; a local worker once its pipeline is built), where what is loaded so far lives as
    long as the process:
    - `gc.freeze` moves it out of the collector's full passes;
    - the collector's first pass waits for `GC_YOUNG_THRESHOLD` new objects: a batch makes hundreds of thousands,
      nearly all freed by reference counting (the collector's time on the register pages 0.14 -> 0.06 CPU s).
    Neither changes what any code computes."""
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


_MALLOC_TRIM = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc's; None elsewhere
if _MALLOC_TRIM is not None:  # int malloc_trim(size_t pad)
    _MALLOC_TRIM.argtypes, _MALLOC_TRIM.restype = [ctypes.c_size_t], ctypes.c_int


def _release_freed_memory() -> None:
    """Hand the pages a finished task (or barrier part, or decision) freed back to the system: Arrow's allocator and glibc's heap keep them
    for reuse, and a worker's resident memory ratcheted up task after task (large documents' buffers)."""
    pa.default_memory_pool().release_unused()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def config_differences(recorded: dict, current: dict, keys: tuple[str, ...] = ("input", "stages", "outputs")) -> list[str]:
    """The key paths (`input.limit`, `stages[2].language.threshold`) whose values differ between a run's
    recorded config and this one, among what decides the output."""
    current = json.loads(json.dumps(current, default=str))
    return [path for key in keys for path in _differences(recorded.get(key), current.get(key), key)]


def _differences(old: object, new: object, path: str) -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        return [p for k in sorted(old.keys() | new.keys()) for p in _differences(old.get(k), new.get(k), f"{path}.{k}")]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [p for i, (a, b) in enumerate(zip(old, new)) for p in _differences(a, b, f"{path}[{i}]")]
    return [] if old == new else [path]


def parquet_key_tables(paths: list[tuple[str, Path]]) -> KeyTables:
    """Key tables read from (shard name, Parquet file) pairs, only the columns asked for; a missing
    file is a shard that kept nothing."""

    def read(columns: list[str]) -> Iterator[pa.Table]:
        for name, path in paths:
            if path.exists():
                try:
                    table = pq.read_table(path, columns=[c for c in columns if c != "shard"])
                except pa.ArrowInvalid as error:  # a resumed run whose keys an older curate wrote (no `row`)
                    raise CurateError(f"{path}: {error}; if an older curate wrote it, rerun with --overwrite") from error
                yield with_shard(table, name).select(columns)

    return read


def _cut_into_phases(stages: list[Stage]) -> list[Phase]:
    starts = [0] + [i for i, s in enumerate(stages) if s.is_global]  # a global stage first: phase 0 only reads
    phases = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(stages)
        following = stages[end] if end < len(stages) else None
        phases.append(Phase(n, stages[start:end], following))  # type: ignore[arg-type]
    return phases


def _sink_requests(phases: list[Phase]) -> dict[str, tuple[str, dict]]:
    """Sink name -> (stage, options) for every sink a stage asks for. Such a stage's output is written
    with the kept documents, at the end, so it must be in the last phase; one stage per sink."""
    requests: dict[str, tuple[str, dict]] = {}
    for phase in phases:
        for stage in phase.stages:
            for sink, options in stage.sink_requests().items():
                if phase is not phases[-1]:
                    raise CurateError(
                        f"{stage.key} must come after the last deduplication stage (its output is written at the end)"
                    )
                if sink in requests:
                    raise CurateError(f"{requests[sink][0]} and {stage.key} both write the {sink} output; keep one")
                requests[sink] = (stage.key, options)
    return requests


def _batches(docs: Iterable[Document], size: int) -> Iterator[list[Document]]:
    batch: list[Document] = []
    nbytes = 0
    for doc in docs:
        batch.append(doc)
        nbytes += len(doc.text) + len(doc.html or "")
        if len(batch) >= size or nbytes >= BATCH_BYTES:
            yield batch
            batch, nbytes = [], 0
    if batch:
        yield batch


def merge_task_stats(pipeline: Pipeline, layout: OutputLayout) -> RunStats:
    """The run's stats, from every task's persisted marker (so a resumed run counts everything)."""
    total = pipeline.empty_stats()
    for phase in range(len(pipeline.phases)):
        directory = layout.phase_dir(phase)
        for marker in sorted(directory.glob("done-*.json")):
            total.merge(RunStats.from_dict(json.loads(marker.read_text())))
        resolve = layout.resolve_marker(phase)
        if resolve.exists():
            part = StageStats.from_dict(json.loads(resolve.read_text()))
            total.stage(part.id).merge(part)
    return total
