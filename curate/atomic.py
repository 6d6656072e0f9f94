"""Atomic writes: a file is written under a temporary name beside its final path and renamed onto
it when complete, so a reader (or a resumed run) never sees half a file.

A leaf module (standard library only): every layer may use it, the trainer included.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

SUFFIX = ".tmp"  # what a crash can leave behind; the next write of the same path replaces it


class AtomicFile:
    """`tmp` is where to write; `commit` renames it onto `path`, `discard` removes it.

    As a context manager it yields `tmp` and commits when the block ends cleanly, discards on error:
    `with AtomicFile(path) as tmp: tmp.write_bytes(data)`. Writers that stream over many calls keep
    the object and call `commit` when done.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(self.path.name + SUFFIX)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def commit(self) -> None:
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> Path:
        return self.tmp

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    with AtomicFile(path) as tmp:
        tmp.write_bytes(data)


def write_bytes_shared(path: str | Path, data: bytes) -> None:
    """`write_bytes_atomic` for a file several processes may write at once (a cache that spawned workers
    fill together): each writer has its own temporary file (`AtomicFile`'s single `<path>.tmp` would be
    written by two at once, and one could rename the other's half-written bytes onto `path`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=SUFFIX, dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
