"""Stage timings are CPU time: waiting (a busy machine, a sleep) does not count, work does."""

from __future__ import annotations

import time

from curate.document import Document
from curate.stages.base import Stage
from curate.stats import StageStats


class Sleeper(Stage):
    name = "sleeper"

    def process(self, docs: list[Document]) -> list[str | None]:
        time.sleep(0.2)
        return [None] * len(docs)


class Spinner(Stage):
    name = "spinner"

    def process(self, docs: list[Document]) -> list[str | None]:
        deadline = time.thread_time() + 0.1
        while time.thread_time() < deadline:
            pass
        return [None] * len(docs)


def docs(n: int) -> list[Document]:
    return [Document(id=str(i), text="x" * 100) for i in range(n)]


def test_waiting_counts_as_wall_time_only() -> None:
    stats = StageStats("sleeper")
    Sleeper()(docs(10), stats)
    assert stats.wall_seconds >= 0.2
    assert stats.cpu_seconds < 0.05


def test_work_counts_as_cpu_time_and_sets_throughput() -> None:
    stats = StageStats("spinner")
    Spinner()(docs(10), stats)
    assert stats.cpu_seconds >= 0.1
    record = stats.to_dict()
    assert record["seconds"] == record["cpu_seconds"]
    assert record["docs_per_s"] == round(10 / stats.cpu_seconds, 1)
    assert record["mb_per_s"] == round(1000 / 1e6 / stats.cpu_seconds, 2)


def test_timings_merge_and_old_stats_read_as_both() -> None:
    one, two = StageStats("s", cpu_seconds=1.0, wall_seconds=3.0), StageStats("s", cpu_seconds=0.5, wall_seconds=0.5)
    one.merge(two)
    assert (one.cpu_seconds, one.wall_seconds) == (1.5, 3.5)
    old = {"name": "s", "docs_in": 1, "docs_out": 1, "bytes_in": 1, "bytes_out": 1, "seconds": 2.0}
    assert (StageStats.from_dict(old).cpu_seconds, StageStats.from_dict(old).wall_seconds) == (2.0, 2.0)


def test_a_global_stage_counts_its_keys_and_its_barrier(tmp_path, monkeypatch) -> None:
    """exact_dedup's keys (in each task), parts and decision (the barrier) are its CPU time, not only
    applying the decisions: each spins 0.1 s here, in the run's own process (one worker)."""
    import json

    import curate
    from curate.stages.exact_dedup import ExactDedup

    def spinning(method):
        def spin_then(*args, **kwargs):
            deadline = time.thread_time() + 0.1
            while time.thread_time() < deadline:
                pass
            return method(*args, **kwargs)

        return spin_then

    for name in ("keys", "pairs", "decide"):
        monkeypatch.setattr(ExactDedup, name, spinning(getattr(ExactDedup, name)))
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"id": str(i), "text": f"text {i % 3}"}) + "\n" for i in range(9)))
    stats = curate.run({"stages": ["exact_dedup"]}, inputs=tmp_path / "in.jsonl", output=tmp_path / "out", workers=1)
    dedup = next(stage for stage in stats["stages"] if stage["name"] == "exact_dedup")
    assert dedup["docs_out"] == 3 and dedup["cpu_seconds"] >= 0.3 and dedup["wall_seconds"] >= 0.3
