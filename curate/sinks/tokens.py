"""tokens/: the kept documents' token ids as llm.c / modded-nanogpt `.bin` shards (the format is
`curate.tokens.shards`), one set per shard and split, and `manifest.json` over all of them.

Fed by a stage that sets `doc.tokens` and the `split` signal (tokenize), which asks for this sink
with its encoding, so the shards' header and the manifest name the vocabulary the ids come from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tiktoken

from ..errors import CurateError
from ..options import option
from ..tokens import encodings
from ..tokens.shards import DEFAULT_SHARD_TOKENS, MAX_SHARD_TOKENS, TokenShardWriter, write_manifest
from . import Batch, Sink, SinkOptions, SinkTask

FOLDER = "tokens"


@dataclass(frozen=True, kw_only=True)
class TokenShardsOptions(SinkOptions):
    encoding: str | None = option(None, "the encoding the ids come from: set by the tokenize stage")
    shard_tokens: int = option(DEFAULT_SHARD_TOKENS, "tokens per shard file", ge=1, le=MAX_SHARD_TOKENS)
    shuffle_seed: int | None = option(None, "write each shard's documents in this seed's random order; null: input order")


class TokenShards(Sink):
    name = "tokens"
    needs_stage = "tokenize"
    Options = TokenShardsOptions
    options: TokenShardsOptions

    def __init__(self, options: TokenShardsOptions) -> None:
        super().__init__(options)
        assert options.encoding is not None  # `build_sinks` gives it the tokenize stage's
        self.encoding_spec = options.encoding
        self._encoding: tiktoken.Encoding | None = None

    @property
    def encoding(self) -> tiktoken.Encoding:
        if self._encoding is None:
            self._encoding = encodings.load_encoding(self.encoding_spec)
        return self._encoding

    def open(self, task: SinkTask) -> _TaskShards:
        writer = TokenShardWriter(
            task.root / FOLDER,
            task.shard,
            vocab_size=self.encoding.n_vocab,
            eot_token=self.encoding.eot_token,
            shard_tokens=self.options.shard_tokens,
            shuffle_seed=self.options.shuffle_seed,
        )
        return _TaskShards(writer)

    def finalize(self, root: Path) -> None:
        write_manifest(root / FOLDER, encodings.describe(self.encoding_spec), self.encoding.n_vocab, self.encoding.eot_token)


class _TaskShards:
    def __init__(self, writer: TokenShardWriter) -> None:
        self.writer = writer

    def add(self, batch: Batch) -> None:
        for doc in batch.kept:
            if doc.tokens is None:
                raise CurateError(f"document {doc.id} reached the token shards without tokens (a stage after tokenize?)")
            self.writer.add(doc.signals["split"], doc.tokens)

    def close(self) -> None:
        self.writer.close()
