"""Train a small byte-level BPE vocabulary with rustbpe and save it as a `.tiktoken` file.

A small vocabulary (about 8k) makes CPU ablation models much cheaper than cl100k's 100k. The file
loads with `curate.tokens.encodings.load_encoding(path)`: GPT-4's split pattern, and `<|endoftext|>`
as the last id, so `vocab_size` counts it and the embedding table is exactly that size.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import regex
import rustbpe

from ..errors import CurateError
from .encodings import GPT4_PATTERN, write_ranks

MIN_VOCAB = 257  # the 256 bytes and end-of-text
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".json.gz", ".ndjson")


@dataclass(frozen=True)
class TrainedTokenizer:
    path: Path
    vocab_size: int  # including <|endoftext|>
    texts: int
    bytes: int
    shortfall: str | None = None  # why there are fewer ids than asked for, when there are




def train_bpe(texts: Iterable[str], vocab_size: int) -> dict[bytes, int]:
    """Mergeable ranks for `vocab_size - 1` tokens (the last id is left for end-of-text). A corpus
    with too few distinct pairs yields fewer."""
    if vocab_size < MIN_VOCAB:
        raise CurateError(f"vocabulary size must be at least {MIN_VOCAB} (256 bytes and end-of-text), got {vocab_size}")
    if vocab_size > 2**31:
        raise CurateError(f"vocabulary size {vocab_size} does not fit the shard format's int32 ids")
    tokenizer = rustbpe.Tokenizer()
    tokenizer.train_from_iterator(iter(texts), vocab_size=vocab_size - 1, pattern=GPT4_PATTERN)
    return {bytes(token): rank for token, rank in tokenizer.get_mergeable_ranks()}


def train_to_file(inputs: list[str], vocab_size: int, output: Path, text_field: str = "text") -> TrainedTokenizer:
    """Train on the text of a run's kept documents, or of Parquet, JSONL (`text_field`) or plain `.txt` files."""
    counter = _Counter()
    ranks = train_bpe(counter.count(iter_texts(inputs, text_field)), vocab_size)
    if counter.texts == 0:
        jsonl = any(path.name.endswith(JSONL_SUFFIXES) for path in _input_files(inputs))
        raise CurateError(f"no text found in {', '.join(inputs)}"
                          + (f" (JSONL records are read from the field {text_field!r}; see --text-field)" if jsonl else ""))
    write_ranks(output, ranks)
    shortfall = None
    if len(ranks) + 1 < vocab_size:
        shortfall = _why_fewer(iter_texts(inputs, text_field), len(ranks) + 1, vocab_size)
    return TrainedTokenizer(output, len(ranks) + 1, counter.texts, counter.bytes, shortfall)


def _why_fewer(texts: Iterator[str], got: int, asked: int) -> str:
    """BPE only merges pairs of tokens that stand side by side inside one pre-tokenizer chunk (a word, a number, a
    run of punctuation): once every distinct chunk of the corpus is a single token, nothing is left to merge."""
    pattern = regex.compile(GPT4_PATTERN)
    chunks = {chunk for text in texts for chunk in pattern.findall(text)}
    return (f"{got:,} of {asked:,} ids: the corpus ran out of pairs to merge, since each of its {len(chunks):,} distinct "
            f"words (pre-tokenizer chunks) is already a single token; train on more text for a larger vocabulary")


def iter_texts(inputs: list[str], text_field: str = "text") -> Iterator[str]:
    for path in _input_files(inputs):
        if path.suffix == ".txt":
            yield path.read_text(encoding="utf-8", errors="replace")
            continue
        if path.name.endswith(JSONL_SUFFIXES):
            yield from _jsonl_texts(path, text_field)
            continue
        try:
            parquet = pq.ParquetFile(path)
            if "text" not in parquet.schema_arrow.names:
                raise CurateError(f"{path}: no `text` column")
            for batch in parquet.iter_batches(columns=["text"], batch_size=1024):
                yield from (t for t in batch.column(0).to_pylist() if t)
        except (OSError, pa.ArrowException) as exc:
            raise CurateError(f"{path}: not a readable Parquet file ({exc})") from None


def _jsonl_texts(path: Path, text_field: str) -> Iterator[str]:
    """The `text_field` of each JSON object line; other lines (not JSON, not objects, no such text) are passed over."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as lines:
            for line in lines:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                text = record.get(text_field) if isinstance(record, dict) else None
                if isinstance(text, str) and text:
                    yield text
    except (OSError, EOFError) as exc:
        raise CurateError(f"{path}: not a readable JSONL file ({exc})") from None


def _readable(path: Path) -> bool:
    return path.suffix in (".parquet", ".txt") or path.name.endswith(JSONL_SUFFIXES)


def _input_files(inputs: list[str]) -> list[Path]:
    """A run folder means its `data/`; a folder means the Parquet, JSONL and `.txt` files under it."""
    files: list[Path] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            root = path / "data" if (path / "data").is_dir() else path
            found = sorted(p for p in root.rglob("*") if _readable(p) and p.is_file())
            if not found:
                raise CurateError(f"{raw}: no .parquet, .jsonl or .txt files (expected a run folder or such files)")
            files += found
        elif path.is_file() and _readable(path):
            files.append(path)
        elif path.is_file():
            raise CurateError(f"{raw}: expected a run folder, a .parquet, .jsonl(.gz) or .txt file")
        else:
            raise CurateError(f"input not found: {raw}")
    return files


class _Counter:
    """Counts what passes through, for the summary line."""

    def __init__(self) -> None:
        self.texts = 0
        self.bytes = 0

    def count(self, texts: Iterator[str]) -> Iterator[str]:
        for text in texts:
            self.texts += 1
            self.bytes += len(text.encode("utf-8", "surrogatepass"))
            yield text
