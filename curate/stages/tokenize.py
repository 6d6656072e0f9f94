"""tokenize: turn each kept document's text into token ids (tiktoken, a whole batch per call).

The stage only computes: it sets `doc.tokens` and the `num_tokens` and `split` columns, and asks
for the `tokens` sink (`curate.sinks.tokens`) with its encoding, which writes the kept documents'
shards and `tokens/manifest.json`; `shard_tokens` and `shuffle_seed` are passed on to it.
"""

from __future__ import annotations

import array
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import tiktoken
import xxhash

from ..document import Document
from ..errors import CurateError
from ..options import OptionError, option
from ..tokens import encodings
from ..tokens.shards import ShardWritingOptions, token_dtype
from .base import Signal, Stage, StageOptions, Verdict


SPLIT_SEED = 0x5EED  # fixed: the split must not change between runs


@dataclass(frozen=True, kw_only=True)
class TokenizeOptions(StageOptions, ShardWritingOptions):
    """The stage's own options, and how the `tokens` sink writes its shards (passed on to it)."""

    encoding: str = option(encodings.DEFAULT_ENCODING, "a tiktoken name (cl100k_base, o200k_base, gpt2, ...) or a .tiktoken path")
    val_fraction: float = option(0.01, "share of documents in the val split, by a hash of their id", ge=0, le=1)
    threads: int | None = option(1, "tiktoken's batch threads; null: all cores (more than 1 costs about a third more CPU, and saves wall time only where cores sit idle)", ge=1)

    def __post_init__(self) -> None:
        try:
            encodings.check_spec(self.encoding)
        except CurateError as exc:
            raise OptionError("encoding", str(exc)) from None


class Tokenize(Stage):
    name = "tokenize"
    signals = {
        "num_tokens": Signal(pa.int32(), bins=(1, 1e6, 30), log=True),
        "split": Signal(pa.string()),  # train or val: which token shards hold the document
    }

    Options = TokenizeOptions
    options: TokenizeOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.threads = self.options.threads or os.cpu_count() or 1
        self.threaded = self.threads > 1  # then tiktoken encodes a batch on that many threads

    def setup(self) -> None:
        encodings.load_encoding(self.options.encoding)  # loaded once per worker, before the first batch

    @property
    def encoding(self) -> tiktoken.Encoding:
        return encodings.load_encoding(self.options.encoding)  # cached there, once per process

    def process(self, docs: list[Document]) -> list[Verdict]:
        dtype = token_dtype(self.encoding.n_vocab)
        texts = [d.text for d in docs]
        if not self.threaded:  # the batch call would start a thread pool and hand it one text at a time
            batch = [self._encode(text) for text in texts]
        else:
            # list -> numpy through array.array: twice as fast as np.array on a list of ints
            lists = self.encoding.encode_ordinary_batch(texts, num_threads=self.threads)
            batch = [np.frombuffer(array.array("I", ids), dtype=np.uint32) for ids in lists]
        verdicts: list[Verdict] = []
        for doc, ids in zip(docs, batch):
            doc.tokens = ids.astype(dtype, copy=False)
            doc.signals["num_tokens"] = len(ids)
            doc.signals["split"] = self.split_of(doc.id)
            verdicts.append(None if len(ids) else "empty")
        return verdicts

    def _encode(self, text: str) -> np.ndarray:
        """`encode_ordinary(text)` as uint32: what tiktoken documents as its equal (no special tokens
        allowed, none refused), written straight into numpy instead of a list of ints. The array is a
        read-only view of tiktoken's buffer, and so is `doc.tokens` where the vocabulary needs uint32
        (`astype` copies nothing then): nothing in curate writes into it; copy it to change it."""
        try:
            return self.encoding.encode_to_numpy(text, disallowed_special=())
        except UnicodeEncodeError:  # a lone surrogate: encode_ordinary replaces it
            return np.array(self.encoding.encode_ordinary(text), dtype=np.uint32)

    def split_of(self, doc_id: str) -> str:
        """val for a fixed, id-determined share of documents: stable across runs and worker counts."""
        digest = xxhash.xxh3_64_intdigest(doc_id.encode("utf-8", "surrogatepass"), seed=SPLIT_SEED)
        return "val" if digest < self.options.val_fraction * 2**64 else "train"

    def sink_requests(self) -> dict[str, dict[str, Any]]:
        return {"tokens": {"encoding": self.options.encoding, **self.options.shard_writing()}}
