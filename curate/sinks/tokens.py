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
from ..tokens.shards import ShardWritingOptions, TokenShardWriter, write_manifest
from . import Batch, Sink, SinkOptions, SinkTask

FOLDER = "tokens"


@dataclass(frozen=True, kw_only=True)
class TokenShardsOptions(SinkOptions, ShardWritingOptions):
    encoding: str | None = option(None, "the encoding the ids come from: set by the tokenize stage")


class TokenShards(Sink):
    name = "tokens"
    needs_stage = "tokenize"
    Options = TokenShardsOptions
    options: TokenShardsOptions

    def __init__(self, options: TokenShardsOptions) -> None:
        super().__init__(options)
        assert options.encoding is not None  # `build_sinks` gives it the tokenize stage's
        self.encoding_spec = options.encoding

    @property
    def encoding(self) -> tiktoken.Encoding:
        return encodings.load_encoding(self.encoding_spec)  # cached there, once per process

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
