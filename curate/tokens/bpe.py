"""Train a small byte-level BPE vocabulary with rustbpe and save it as a `.tiktoken` file.

A small vocabulary (about 8k) makes CPU ablation models much cheaper than cl100k's 100k. The file
loads with `curate.tokens.encodings.load_encoding(path)`: GPT-4's split pattern, and `<|endoftext|>`
as the last id, so `vocab_size` counts it and the embedding table is exactly that size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import rustbpe

from ..errors import CurateError
from .encodings import GPT4_PATTERN, write_ranks

MIN_VOCAB = 257  # the 256 bytes and end-of-text


@dataclass(frozen=True)
class TrainedTokenizer:
    path: Path
    vocab_size: int  # including <|endoftext|>
    texts: int
    bytes: int


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


def train_to_file(inputs: list[str], vocab_size: int, output: Path) -> TrainedTokenizer:
    """Train on the `text` of a run's kept documents (or Parquet files, or plain `.txt` files)."""
    counter = _Counter()
    ranks = train_bpe(counter.count(iter_texts(inputs)), vocab_size)
    if counter.texts == 0:
        raise CurateError(f"no text found in {', '.join(inputs)}")
    write_ranks(output, ranks)
    return TrainedTokenizer(output, len(ranks) + 1, counter.texts, counter.bytes)


def iter_texts(inputs: list[str]) -> Iterator[str]:
    for path in _input_files(inputs):
        if path.suffix == ".txt":
            yield path.read_text(encoding="utf-8", errors="replace")
            continue
        try:
            parquet = pq.ParquetFile(path)
            if "text" not in parquet.schema_arrow.names:
                raise CurateError(f"{path}: no `text` column")
            for batch in parquet.iter_batches(columns=["text"], batch_size=1024):
                yield from (t for t in batch.column(0).to_pylist() if t)
        except (OSError, pa.ArrowException) as exc:
            raise CurateError(f"{path}: not a readable Parquet file ({exc})") from None


def _input_files(inputs: list[str]) -> list[Path]:
    """A run folder means its `data/`; a folder means the Parquet and `.txt` files under it."""
    files: list[Path] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            root = path / "data" if (path / "data").is_dir() else path
            found = sorted(p for p in root.rglob("*") if p.suffix in (".parquet", ".txt") and p.is_file())
            if not found:
                raise CurateError(f"{raw}: no .parquet or .txt files (expected a run folder or Parquet files)")
            files += found
        elif path.is_file() and path.suffix in (".parquet", ".txt"):
            files.append(path)
        elif path.is_file():
            raise CurateError(f"{raw}: expected a run folder, a .parquet or a .txt file")
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
