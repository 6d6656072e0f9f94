"""Find input files, tell their format (from the reader registry), and cut them into shards."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from ..errors import CurateError
from .base import InputOptions, InputShard, Skipped
from .check import check_inputs
from .readers import detect_format, format_of_name, is_splittable, read_shard
from .remote import is_url, list_files


def plan_shards(options: InputOptions) -> list[InputShard]:
    """The shards a run reads: every input file (or byte range), checked for config mistakes in its
    first records, and cut to the first `options.limit` documents."""
    shards = list_shards(options)
    check_inputs(shards, options)
    return shards if options.limit is None else first_documents(shards, options, options.limit)


def input_files(shards: list[InputShard]) -> list[dict]:
    """Each input file once, with its size: a run resumes only over the files it started on (its shards are
    positions in this list). Not the modification time: a file written again with the same bytes (an
    ablation's selections, a copy) is the same input."""
    return list({shard.path: {"path": shard.path, "size": shard.size} for shard in shards}.values())


def input_differences(recorded: list[dict], current: list[dict], most: int = 3) -> list[str]:
    """What changed between two `input_files` lists, a few files named."""
    before, now = ({f["path"]: f for f in files} for files in (recorded, current))
    changes = [f"{path} added" for path in now if path not in before]
    changes += [f"{path} gone" for path in before if path not in now]
    changes += [f"{path} changed" for path in now if path in before and now[path] != before[path]]
    return changes[:most] + ([f"{len(changes) - most} more"] if len(changes) > most else [])


def first_documents(shards: list[InputShard], options: InputOptions, limit: int) -> list[InputShard]:
    """The shards holding the first `limit` documents in shard order, the last one read only up to
    them (counted by reading, so shards before it are read twice: `--limit` is for trying a sample)."""
    kept: list[InputShard] = []
    for shard in shards:
        documents = sum(1 for item in read_shard(replace(shard, limit=limit), options) if not isinstance(item, Skipped))
        if documents >= limit:
            return kept + [replace(shard, limit=limit)]
        kept.append(shard)
        limit -= documents
    return kept


def list_shards(options: InputOptions) -> list[InputShard]:
    """All input shards in a fixed order, so shard numbers and ids are the same on every run."""
    if not options.paths:
        raise CurateError("no input: give input.paths in the pipeline or --input on the command line")
    found: list[tuple[str, str, str, int]] = []  # path or URL, format, source (see `_source_prefixes`), size
    listed: list[tuple[str, list[tuple[str, str, str, int]]]] = []  # per input: its base, its files
    for raw in options.paths:
        if is_url(raw):
            files = _remote_files(raw, options.format)
            listed.append((_remote_base(raw, files), files))
            continue
        root = Path(raw)
        if not root.exists():
            raise CurateError(f"input not found: {raw}")
        files = []
        for path in _walk(root, options.format):
            fmt = options.format if options.format != "auto" else detect_format(path)
            rel = path.name if path == root else str(path.relative_to(root))
            files.append((str(path), fmt, rel, path.stat().st_size if path.is_file() else 0))
        base = root.parent if files and files[0][0] == str(root) else root  # what `rel` is relative to
        listed.append((os.path.abspath(base), files))
    for prefix, (_, files) in zip(_source_prefixes([base for base, _ in listed]), listed):
        found += [(path, fmt, f"{prefix}/{rel}" if prefix else rel, size) for path, fmt, rel, size in files]
    if not found:
        raise CurateError(f"no input files of a known format under: {', '.join(options.paths)}")
    shards: list[InputShard] = []
    for path, fmt, rel, size in sorted(found, key=lambda f: f[0]):
        shards += split_file(path, fmt, rel, size, options.shard_bytes, first_index=len(shards))
    return shards


def _source_prefixes(bases: list[str]) -> list[str]:
    """What goes before each input's relative paths in `source` (and so in the ids of records without
    one). A single input, or several in one folder, as ever: nothing (sources are paths relative to the
    input, or to its folder for a file). Inputs in different folders: the folder's name, or as many of
    its last path parts as tell the folders apart, so `--input a b` reads `a/x.jsonl` and `b/x.jsonl`
    as two sources with two sets of ids. A source then depends on the other inputs (a third `data` folder
    makes `data/x.jsonl` `a/data/x.jsonl`) and, where names clash, on their parent folders: with several
    inputs and records without ids, name the same inputs the same way to get the same ids."""
    folders = sorted({base.rstrip("/") for base in bases})
    if len(folders) < 2:
        return [""] * len(bases)
    parts = {folder: folder.split("/") for folder in folders}
    for last in range(1, max(map(len, parts.values())) + 1):
        named = {folder: "/".join(part for part in split[-last:] if part) for folder, split in parts.items()}
        if _apart(list(named.values())):
            return [named[base.rstrip("/")] for base in bases]
    return [base.rstrip("/") for base in bases]  # whole paths: a source is then its file's own path


def _apart(prefixes: list[str]) -> bool:
    """No prefix is empty, equal to another or a folder above another, so no two files get one source."""
    return all(a and not (a == b or b.startswith(a + "/")) for n, a in enumerate(prefixes) for b in prefixes[:n] + prefixes[n + 1 :])


def _remote_base(url: str, files: list[tuple[str, str, str, int]]) -> str:
    """The prefix a remote input's relative paths are relative to (its files' URLs without them)."""
    for file_url, _, relative, _ in files:
        if file_url.endswith("/" + relative):
            return file_url[: -len(relative) - 1]
    return url.rstrip("/")


def split_file(path: str, fmt: str, source: str, size: int, shard_bytes: int, first_index: int) -> list[InputShard]:
    """One shard per file, or byte ranges of `shard_bytes` for a large file that can be read from an offset."""
    if not is_splittable(fmt, path) or size <= shard_bytes:
        return [InputShard(first_index, path, fmt, source=source, size=size)]
    return [
        InputShard(first_index + n, path, fmt, start, min(start + shard_bytes, size), source, size=size)
        for n, start in enumerate(range(0, size, shard_bytes))
    ]


def _remote_files(url: str, fmt: str) -> list[tuple[str, str, str, int]]:
    if fmt == "hf":
        raise CurateError(f"{url}: format hf reads a local folder saved by `datasets`; give its files (jsonl, parquet) instead")
    files = [(f.url, fmt if fmt != "auto" else format_of_name(f.relative), f.relative, f.size) for f in list_files(url)]
    return [f for f in files if f[1] is not None]


def _walk(root: Path, fmt: str) -> Iterator[Path]:
    if root.is_file() or detect_format(root) == "hf" or fmt == "hf":
        yield root
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        here = Path(dirpath)
        if detect_format(here) == "hf" and here != root:
            dirnames.clear()
            yield here
            continue
        for name in sorted(filenames):
            path = here / name
            if name.startswith(".") or name.startswith("_"):
                continue
            if fmt == "auto" and detect_format(path) is None:
                continue
            yield path
