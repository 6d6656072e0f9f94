"""Records and texts of a path, for what reads text beside a run: evaluation domains, BPE and classifier
training data, scripts. One definition, so every tool takes the same files and reads them the same way.

A path is a file, a folder (the readable files under it, sorted by path), or a run's folder (the Parquet of
its `data/`). A file is `.txt` (one record: its whole text), CSV with a header row, JSON Lines (the names the
`jsonl` reader takes: `.jsonl`, `.json`, `.ndjson`, plain, `.gz` or `.zst`) or Parquet; `.txt` and `.csv` may
be gzipped. Stray bytes that are not UTF-8 become U+FFFD, as in the run's readers, and a `.txt` file's line
ends read as `\n`. Records come in a stable order: files sorted, rows as stored.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import CurateError, one_line
from .compressed import DECOMPRESSION_ERRORS, open_binary
from .readers import format_of_name

PLAIN_FORMATS = {"txt": (".txt", ".txt.gz"), "csv": (".csv", ".csv.gz")}
REGISTRY_FORMATS = ("jsonl", "parquet")  # the reader registry's formats read here, by its file names
READABLE = ".csv, .jsonl (.json, .ndjson; plain, .gz or .zst), .parquet or .txt"
RUN_DATA = "data"  # a folder holding this folder is a run's output: its kept documents are the text


class MissingColumn(CurateError):
    """A CSV or Parquet file whose header lacks the text column; a tool with a text-field option points to it."""


def file_format(path: Path) -> str | None:
    """`txt`, `csv`, `jsonl` or `parquet` by the file's name; None for any other file."""
    name = path.name.lower()
    plain = next((fmt for fmt, suffixes in PLAIN_FORMATS.items() if name.endswith(suffixes)), None)
    registered = format_of_name(name)
    return plain or (registered if registered in REGISTRY_FORMATS else None)


def text_files(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """The readable files of each path in turn: the file, the files under a folder, or a run folder's `data/`."""
    files: list[Path] = []
    for path in [paths] if isinstance(paths, (str, Path)) else paths:
        path = Path(path)
        if path.is_dir():
            root = path / RUN_DATA if (path / RUN_DATA).is_dir() else path
            found = sorted(f for f in root.rglob("*") if f.is_file() and file_format(f))
            if not found:
                raise CurateError(f"{path}: no {READABLE} files in this folder (nor a run folder's data/)")
            files += found
        elif not path.is_file():
            raise CurateError(f"input not found: {path}")
        elif file_format(path) is None:
            raise CurateError(f"{path}: expected a {READABLE} file, or a folder of them")
        else:
            files.append(path)
    return files


def iter_records(
    paths: str | Path | Iterable[str | Path], text_field: str = "text", columns: list[str] | None = None,
    lenient: bool = False,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each record of `paths` with where it stands (`FILE: record N`), for messages. A `.txt` file is one record
    whose `text_field` is the whole file. `columns`: what to read of Parquet (those present; the text column must
    be, in CSV too). A line that is not a JSON object is an error naming it, or with `lenient` passed over."""
    for file in text_files(paths):
        for number, record in enumerate(read_records(file, text_field, columns, lenient), start=1):
            yield f"{file}: record {number}", record


def iter_texts(paths: str | Path | Iterable[str | Path], text_field: str = "text", lenient: bool = False) -> Iterator[str]:
    """Every non-blank text of `paths`, from each record's `text_field`. A record without that field is an error
    naming it, or with `lenient` passed over (with the lines that are not JSON): for corpora read in bulk."""
    for where, record in iter_records(paths, text_field, [text_field], lenient):
        if lenient and not isinstance(record.get(text_field), str):
            continue
        text = text_of(record, text_field, where)
        if text is not None:
            yield text


def field_of(record: dict[str, Any], name: str, where: str) -> Any:
    """The record's field `name`; its absence is one line naming the record and the fields it has."""
    if name not in record:
        raise CurateError(f"{where} has no field {name!r}; fields: {', '.join(map(str, record)) or 'none'}")
    return record[name]


def text_of(record: dict[str, Any], name: str, where: str) -> str | None:
    """The text in field `name`, None when it is null or blank; a value that is not a string is an error."""
    value = field_of(record, name, where)
    if value is not None and not isinstance(value, str):
        raise CurateError(f"{where}: field {name!r} holds {type(value).__name__}, not text")
    return value if value and value.strip() else None


def read_records(
    file: Path, text_field: str = "text", columns: list[str] | None = None, lenient: bool = False
) -> Iterator[dict[str, Any]]:
    """The records of one file (see `iter_records`). Unreadable input (binary data, a broken compressed
    stream, a table that is not Parquet) is one CurateError naming the file."""
    fmt = file_format(file)
    if fmt is None:
        raise CurateError(f"{file}: expected a {READABLE} file")
    if fmt == "parquet":
        yield from _parquet_records(file, text_field, columns)
        return
    try:
        with open_binary(str(file)) as stream:
            if fmt == "txt":
                text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace").read()  # line ends as \n
                if "\x00" in text:
                    raise CurateError(f"{file}: binary data, not text")
                yield {text_field: text}
            elif fmt == "csv":
                rows = csv.DictReader(io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline=""))
                for number, row in enumerate(rows):
                    if None in row:
                        raise CurateError(f"{file}: a row has more fields than the header; is this a CSV file?")
                    if number == 0:  # after the check above: the header of binary data names no columns worth listing
                        _require_text_column(file, text_field, columns, list(row))
                    yield row
            else:
                yield from _json_lines(stream, file, lenient)
    except (csv.Error, *DECOMPRESSION_ERRORS) as exc:
        raise CurateError(f"{file}: not readable ({one_line(exc)}); binary data or a damaged file?") from None


def _json_lines(stream: BinaryIO, file: Path, lenient: bool) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8", "replace").lstrip("\ufeff"))
        except (ValueError, RecursionError):
            record = None
        if isinstance(record, dict):
            yield record
        elif not lenient:
            raise CurateError(f"{file}: line {number} is not JSON (one object per line)")


def _parquet_records(file: Path, text_field: str, columns: list[str] | None) -> Iterator[dict[str, Any]]:
    try:
        parquet = pq.ParquetFile(file)
        names = parquet.schema_arrow.names
        _require_text_column(file, text_field, columns, names)
        wanted = None if columns is None else [c for c in columns if c in names]
        for batch in parquet.iter_batches(columns=wanted, batch_size=1024):
            yield from batch.to_pylist()
    except (OSError, pa.ArrowException) as exc:
        raise CurateError(f"{file}: not a readable Parquet file ({one_line(exc)})") from None


def _require_text_column(file: Path, text_field: str, columns: list[str] | None, names: list[str]) -> None:
    if columns is not None and text_field in columns and text_field not in names:
        raise MissingColumn(f"{file}: no column {text_field!r}; columns: {', '.join(names)}")
