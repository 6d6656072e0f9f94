"""Train a small byte-level BPE vocabulary with rustbpe and save it as a `.tiktoken` file.

A small vocabulary (about 8k) makes CPU ablation models much cheaper than cl100k's 100k. The file
loads with `curate.tokens.encodings.load_encoding(path)`: GPT-4's split pattern, and `<|endoftext|>`
as the last id, so `vocab_size` counts it and the embedding table is exactly that size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import regex
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


def train_to_file(texts: Iterable[str], vocab_size: int, output: Path) -> TrainedTokenizer:
    """Train on `texts` (the caller reads them: `curate.io.texts`) and write the `.tiktoken` file; on a corpus
    too small for `vocab_size`, say why there are fewer ids."""
    corpus = _Corpus(vocab_size)
    ranks = train_bpe(corpus.read(texts), vocab_size)
    write_ranks(output, ranks)
    got = len(ranks) + 1
    shortfall = corpus.why_fewer(got, vocab_size) if got < vocab_size else None
    return TrainedTokenizer(output, got, corpus.texts, corpus.bytes, shortfall)


class _Corpus:
    """Counts the texts that pass through, for the summary line, and keeps their distinct pre-tokenizer chunks
    while there are fewer than the ids asked for: only then can training run short (see `why_fewer`), so the
    corpus is never read twice and a large one costs the chunking only until the set outgrows the vocabulary."""

    def __init__(self, vocab_size: int) -> None:
        self.texts = 0
        self.bytes = 0
        self.chunks: set[str] | None = set()  # None once larger than the vocabulary
        self.vocab_size = vocab_size
        self.pattern = regex.compile(GPT4_PATTERN)

    def read(self, texts: Iterable[str]) -> Iterator[str]:
        for text in texts:
            self.texts += 1
            self.bytes += len(text.encode("utf-8", "surrogatepass"))
            if self.chunks is not None:
                self.chunks.update(self.pattern.findall(text))
                if len(self.chunks) >= self.vocab_size:
                    self.chunks = None
            yield text

    def why_fewer(self, got: int, asked: int) -> str:
        """BPE only merges pairs of tokens that stand side by side inside one pre-tokenizer chunk (a word, a number,
        a run of punctuation): once every distinct chunk of the corpus is a single token, nothing is left to merge.
        Each distinct chunk is then a distinct id, so a corpus that ran short has fewer chunks than ids asked for
        (and `chunks` holds them all; were it not so, the count is left out rather than guessed)."""
        counted = f" {len(self.chunks):,}" if self.chunks is not None else ""
        return (f"{got:,} of {asked:,} ids: the corpus ran out of pairs to merge, since each of its{counted} distinct "
                "words (pre-tokenizer chunks) is already a single token; train on more text for a larger vocabulary")
