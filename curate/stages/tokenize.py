"""tokenize: turn each kept document's text into token ids (tiktoken, a whole batch per call).

The stage only computes: it sets `doc.tokens` and the `num_tokens` and `split` columns. The
pipeline's last phase hands the kept documents to the `TokenShardWriter` this stage configures, and
writes `tokens/manifest.json` at the end, so the stage itself never writes a file.
"""

from __future__ import annotations

import array
import os
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import tiktoken
import xxhash

from ..document import Document
from ..errors import ConfigError, CurateError
from ..tokens import encodings
from ..tokens.shards import DEFAULT_SHARD_TOKENS, MAX_SHARD_TOKENS, TokenShardWriter, token_dtype, write_manifest
from .base import Signal, Stage, Verdict


SPLIT_SEED = 0x5EED  # fixed: the split must not change between runs


class Tokenize(Stage):
    name = "tokenize"
    signals = {
        "num_tokens": Signal(pa.int32(), bins=(1, 1e6, 30), log=True),
        "split": Signal(pa.string()),  # train or val: which token shards hold the document
    }

    def __init__(
        self,
        encoding: str = encodings.DEFAULT_ENCODING,
        shard_tokens: int = DEFAULT_SHARD_TOKENS,
        val_fraction: float = 0.01,
        shuffle_seed: int | None = None,
        threads: int | None = None,
        mode: Literal["filter", "annotate"] = "filter",
    ) -> None:
        """`encoding`: a tiktoken name (cl100k_base, o200k_base, r50k_base/gpt2, p50k_base) or a `.tiktoken`
        path. `val_fraction`: share of documents for the val split, chosen by a hash of the document id (the
        same documents whatever the run). `shuffle_seed`: write each shard's documents in a seeded random
        order. `threads`: tiktoken's batch threads (default: all cores)."""
        super().__init__(mode)
        try:
            encodings.check_spec(encoding)
        except CurateError as exc:
            raise ConfigError(f"tokenize.encoding: {exc}") from None
        if not 1 <= shard_tokens <= MAX_SHARD_TOKENS:
            raise ConfigError(f"tokenize.shard_tokens: expected 1 to {MAX_SHARD_TOKENS:,} tokens, got {shard_tokens}")
        if not 0.0 <= val_fraction <= 1.0:
            raise ConfigError(f"tokenize.val_fraction: expected a number from 0 to 1, got {val_fraction}")
        if threads is not None and threads < 1:
            raise ConfigError(f"tokenize.threads: expected at least 1, got {threads}")
        self.encoding_spec = encoding
        self.shard_tokens = shard_tokens
        self.val_fraction = val_fraction
        self.shuffle_seed = shuffle_seed
        self.threads = threads or os.cpu_count() or 1
        self._encoding: tiktoken.Encoding | None = None

    def setup(self) -> None:
        if self._encoding is None:
            self._encoding = encodings.load_encoding(self.encoding_spec)

    @property
    def encoding(self) -> tiktoken.Encoding:
        self.setup()
        assert self._encoding is not None
        return self._encoding

    def process(self, docs: list[Document]) -> list[Verdict]:
        dtype = token_dtype(self.encoding.n_vocab)
        batch = self.encoding.encode_ordinary_batch([d.text for d in docs], num_threads=self.threads)
        verdicts: list[Verdict] = []
        for doc, ids in zip(docs, batch):
            # list -> numpy through array.array: twice as fast as np.array on a list of ints
            doc.tokens = np.frombuffer(array.array("I", ids), dtype=np.uint32).astype(dtype, copy=False)
            doc.signals["num_tokens"] = len(ids)
            doc.signals["split"] = self.split_of(doc.id)
            verdicts.append(None if ids else "empty")
        return verdicts

    def split_of(self, doc_id: str) -> str:
        """val for a fixed, id-determined share of documents: stable across runs and worker counts."""
        digest = xxhash.xxh3_64_intdigest(doc_id.encode("utf-8", "surrogatepass"), seed=SPLIT_SEED)
        return "val" if digest < self.val_fraction * 2**64 else "train"

    def shard_writer(self, directory: Path, task: str) -> TokenShardWriter:
        """The writer the pipeline feeds this task's kept documents to."""
        return TokenShardWriter(
            directory,
            task,
            vocab_size=self.encoding.n_vocab,
            eot_token=self.encoding.eot_token,
            shard_tokens=self.shard_tokens,
            shuffle_seed=self.shuffle_seed,
        )

    def write_manifest(self, directory: Path) -> None:
        write_manifest(directory, encodings.describe(self.encoding_spec), self.encoding.n_vocab, self.encoding.eot_token)
