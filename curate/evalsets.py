"""Evaluation text, one domain per path: what an ablation scores on and what `decontaminate` removes.

A domain is a `.txt` file (one document), a folder of `.txt` files (one document each), a JSONL file
(`.jsonl`, `.jsonl.gz`, `.jsonl.zst`: one document per line, its `text` field) or a Parquet file (its `text`
column), or a run folder (the Parquet files of its `data/`). Documents come in a stable order: files sorted
by name, rows as stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .errors import CurateError
from .io.compressed import open_binary

TEXT_FIELD = "text"
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".json.gz")


def domain_name(path: str) -> str:
    """A short name for the domain at `path`: the file's stem, or its folder's name for a generic file name."""
    p = Path(path.rstrip("/"))
    stem = p.name.split(".")[0]
    return p.parent.name if stem in ("docs", "data", "part", "train", "test") and p.parent.name else stem


def domain_names(paths: list[str]) -> list[str]:
    """Distinct names, numbered where two paths would share one."""
    names = [domain_name(p) for p in paths]
    return [f"{name}-{names[:i].count(name) + 1}" if names.count(name) > 1 else name for i, name in enumerate(names)]


def domain_texts(path: str) -> Iterator[str]:
    """Every non-empty document text of the domain at `path`."""
    for file in _domain_files(path):
        if file.suffix == ".txt":
            text = file.read_text(encoding="utf-8", errors="replace")
            if text.strip():
                yield text
        elif file.name.endswith(JSONL_SUFFIXES):
            yield from _jsonl_texts(file)
        else:
            yield from _parquet_texts(file)


def _domain_files(path: str) -> list[Path]:
    p = Path(path)
    if p.is_dir():
        root = p / "data" if (p / "data").is_dir() else p
        files = sorted(f for f in root.rglob("*") if f.is_file() and _readable(f))
        if not files:
            raise CurateError(f"{path}: no .txt, JSONL or Parquet files in this folder")
        return files
    if p.is_file():
        if not _readable(p):
            raise CurateError(f"{path}: expected a .txt, JSONL (.jsonl, .jsonl.gz, .jsonl.zst) or .parquet file")
        return [p]
    raise CurateError(f"evaluation text not found: {path}")


def _readable(file: Path) -> bool:
    return file.suffix in (".txt", ".parquet") or file.name.endswith(JSONL_SUFFIXES)


def _jsonl_texts(file: Path) -> Iterator[str]:
    with open_binary(str(file)) as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                raise CurateError(f"{file}:{number}: not a JSON object") from None
            text = record.get(TEXT_FIELD) if isinstance(record, dict) else None
            if not isinstance(text, str):
                raise CurateError(f"{file}:{number}: no string {TEXT_FIELD!r} field")
            if text.strip():
                yield text


def _parquet_texts(file: Path) -> Iterator[str]:
    try:
        parquet = pq.ParquetFile(file)
        if TEXT_FIELD not in parquet.schema_arrow.names:
            raise CurateError(f"{file}: no {TEXT_FIELD!r} column")
        for batch in parquet.iter_batches(columns=[TEXT_FIELD], batch_size=1024):
            yield from (t for t in batch.column(0).to_pylist() if t and t.strip())
    except (OSError, pa.ArrowException) as exc:
        raise CurateError(f"{file}: not a readable Parquet file ({exc})") from None
