"""bench/proc.py: what the benches count as a child's CPU and a process tree's peak memory (Linux /proc)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.proc import PeakMemory, children_cpu, children_cpu_seconds

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")

BUSY = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"


def test_a_child_not_yet_reaped_counts_until_it_is_reaped_then_rusage_does():
    reaped_before = children_cpu()
    unreaped_before = children_cpu_seconds(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", BUSY])
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, still a zombie: not in RUSAGE_CHILDREN yet
    assert children_cpu_seconds(os.getpid()) - unreaped_before >= 0.25
    child.wait()
    assert children_cpu_seconds(os.getpid()) - unreaped_before < 0.05  # gone from /proc ...
    assert children_cpu() - reaped_before >= 0.25  # ... and counted here


def test_peak_memory_sees_a_grandchild_and_keeps_its_peak():
    script = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'b = bytearray(200 << 20); import time; time.sleep(0.6)'])"
    parent = subprocess.Popen([sys.executable, "-c", script])
    memory = PeakMemory(parent.pid)
    parent.wait()
    memory.stop()
    assert max(rss for pid, (_, rss) in memory.peaks.items() if pid != parent.pid) >= 200 << 20
    assert memory.driver_mb() < 200


@pytest.mark.parametrize("corpus", [[], ["--html"]])
def test_the_whole_pipeline_bench_runs_on_a_few_pages(tmp_path, monkeypatch, capsys, corpus):
    """bench_pipeline end to end on 24 pages (datatrove aside): the register corpus, then the HTML pool."""
    from bench import bench_pipeline

    monkeypatch.setattr(bench_pipeline, "WORK", tmp_path)
    bench_pipeline.main(["--limit", "24", "--no-datatrove", *corpus])
    printed = capsys.readouterr().out
    assert "corpus: 24 " in printed and "\ncurate " in printed and "\nbare " in printed
    assert ("resiliparse extract" in printed) == bool(corpus) and ("extract " in printed) == bool(corpus)
