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


def test_extract_counts_its_helper_processes_cpu(shared_data) -> None:
    """Pages are extracted in a helper process: its CPU is the stage's, as if extracted in place."""
    from bench.bench_extract_quality import trafilatura_eval_pages
    from curate.stages.extract import Extract

    pages = [html for html, _ in trafilatura_eval_pages(shared_data / "html-trafilatura-eval")][:120]
    seconds = {}
    for name, stage in (("in place", Extract(timeout_s=None)), ("helper", Extract())):
        stage([Document(id="warm", text="", html=pages[0])], StageStats("extract"))  # loading is once a process
        stats = StageStats("extract")
        stage([Document(id=str(i), text="", html=html) for i, html in enumerate(pages)], stats)
        seconds[name] = stats.cpu_seconds
    assert seconds["in place"] > 0.05
    assert 0.7 * seconds["in place"] < seconds["helper"] < 2 * seconds["in place"] + 0.05


def test_the_extract_helper_is_reaped_so_its_cpu_counts_in_the_run(tmp_path) -> None:
    """A process that used `extract` and exits has reaped its helper: the helper's CPU shows in what the
    process's parent sees of its children (getrusage), as benchmarks and schedulers read a run's cost."""
    import json
    import resource
    import subprocess
    import sys

    script = tmp_path / "run_extract.py"
    script.write_text(
        "import json, time\n"
        "from curate.document import Document\n"
        "from curate.stages.extract import Extract\n"
        "from curate.stats import StageStats\n"
        "page = '<html><body>' + '<p>Some words in a paragraph of the article.</p>' * 3000 + '</body></html>'\n"
        "stats = StageStats('extract')\n"
        "Extract()([Document(id=str(i), text='', html=page) for i in range(40)], stats)\n"
        "print(json.dumps({'own': time.process_time(), 'stage': stats.cpu_seconds}))\n"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    seen = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    reported = json.loads(result.stdout)
    assert reported["stage"] > 0.3
    assert seen >= reported["own"] + 0.8 * reported["stage"]


def test_extract_counts_the_cpu_of_pages_that_ran_past_their_deadline() -> None:
    """A page that times out kills its helper: the CPU it burnt until then is the stage's too."""
    from curate.stages.extract import Extract

    stage = Extract(timeout_s=0.3)
    stage([Document(id="warm", text="", html="<p>a short page</p>")], StageStats("extract"))
    huge = "<html><body>" + "<p>Some words in a paragraph of the article.</p>" * 150_000 + "</body></html>"
    stats = StageStats("extract")
    _, removed = stage([Document(id=str(i), text="", html=huge) for i in range(2)], stats)
    assert [reason for _, reason in removed] == ["timeout", "timeout"]
    assert stats.cpu_seconds >= 0.4  # about 0.3 s of each page's deadline, spent in its helper
