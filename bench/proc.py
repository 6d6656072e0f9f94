"""Process trees through /proc (Linux): peak RSS and CPU of a run and of its workers, for the benches."""

from __future__ import annotations

import os
import resource
import threading
from pathlib import Path
from typing import Iterator


class PeakMemory:
    """Polls /proc for a process tree; keeps the peak RSS of the root and of each descendant, and the CPU
    seconds each had used when last seen (short by at most one poll)."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peaks: dict[int, tuple[str, int]] = {}
        self.cpu_seconds: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        while not self._stop.is_set():
            for pid, fields in self._tree().items():
                peak = _read_peak_rss(pid)
                if peak is not None:  # a Ray worker renames itself (ray::IDLE) after start: keep the latest name
                    name = _cmdline(pid) or self.peaks.get(pid, ("", 0))[0]
                    self.peaks[pid] = (name, max(peak, self.peaks.get(pid, ("", 0))[1]))
                    self.cpu_seconds[pid] = _cpu(fields) or self.cpu_seconds.get(pid, 0.0)
            self._stop.wait(0.2)

    def _tree(self) -> dict[int, list[str]]:
        """The root and its descendants, each with its /proc stat fields as this poll read them."""
        stats = dict(_stats())
        parents: dict[int, list[int]] = {}
        for pid, fields in stats.items():
            parents.setdefault(int(fields[1]), []).append(pid)
        tree, todo = {}, [self.root]
        while todo:
            pid = todo.pop()
            if pid in stats:
                tree[pid] = stats[pid]
            todo += parents.get(pid, [])
        return tree

    def driver_mb(self) -> float:
        return self.peaks.get(self.root, ("", 0))[1] / 2**20

    def is_worker(self, pid: int, executor: str) -> bool:
        name = self.peaks[pid][0]
        if executor == "ray":
            return name.startswith("ray::")
        return pid != self.root and "multiprocessing" in name and "resource_tracker" not in name

    def workers(self, executor: str) -> list[tuple[float, float]]:
        """(peak RSS MB, CPU s) of each worker process, largest first."""
        found = [(rss / 2**20, self.cpu_seconds.get(pid, 0.0)) for pid, (_, rss) in self.peaks.items() if self.is_worker(pid, executor)]
        return sorted(found, reverse=True)

    def largest_worker_mb(self, executor: str) -> float:
        return max((mb for mb, _ in self.workers(executor)), default=0)


def _read_peak_rss(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def read_cpu_seconds(pid: int) -> float | None:
    fields = _stat(pid)
    return None if fields is None else _cpu(fields)


def children_cpu() -> float:
    """User + system CPU seconds of every finished child process (and theirs) so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def children_cpu_seconds(parent: int) -> float:
    """CPU seconds of `parent`'s children that were not waited for yet (running, or exited and not reaped)."""
    return sum(_cpu(fields) for _, fields in _stats() if int(fields[1]) == parent)


def _cpu(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state, ppid, ...), or None if it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _stats() -> Iterator[tuple[int, list[str]]]:
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) is not None:
            yield int(entry), fields


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def rss_mb() -> float:
    """This process's resident memory now (VmRSS), MB."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024
