"""Evaluation text, one domain per path: what an ablation scores on and what `decontaminate` removes.

A domain is a `.txt` file (one document), a folder of `.txt` files (one document each), a JSONL file
(one document per line, its `text` field) or a Parquet file (its `text` column), or a run folder (the Parquet
files of its `data/`): any path `curate.io.texts` reads. Documents come in a stable order: files sorted by
name, rows as stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .errors import CurateError
from .io.texts import iter_texts

TEXT_FIELD = "text"


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
    """Every non-blank document text of the domain at `path`; a record without a `text` field is an error."""
    if not Path(path).exists():
        raise CurateError(f"evaluation text not found: {path}")
    yield from iter_texts(path, TEXT_FIELD)
