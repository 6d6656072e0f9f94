"""decontaminate: remove documents that share word n-grams with evaluation texts (reason `eval_overlap`).

A model scored on text it trained on looks better than it is. `against` names the evaluation domains
(see `curate.evalsets`: .txt files, folders of them, JSONL or Parquet with a `text` field); in an ablation,
`against: eval` means the ablation's own evaluation set. A document is removed when at least
`min_overlaps` of its distinct `ngram`-word n-grams (13 by default, as GPT-3's check) occur in them, with
n-grams as `curate.ngrams` defines them (lowercased words, so punctuation and spacing never hide a match).
`eval_overlaps` records how many each document shares. The evaluation n-grams are built once per worker in
`setup`, as other stages load their models (and again after the stage is pickled to another process).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pyarrow as pa

from ..document import Document
from ..errors import ConfigError
from ..evalsets import domain_texts
from ..ngrams import DEFAULT_NGRAM, contains, ngram_hashes, ngram_set
from .base import Signal, Stage, Verdict


class Decontaminate(Stage):
    name = "decontaminate"
    signals = {"eval_overlaps": Signal(pa.int32(), bins=(1, 1e5, 25), log=True)}

    def __init__(
        self,
        against: str | list[str],
        ngram: int = DEFAULT_NGRAM,
        min_overlaps: int = 1,
        mode: Literal["filter", "annotate"] = "filter",
    ) -> None:
        super().__init__(mode)
        self.against = [against] if isinstance(against, str) else list(against)
        if not self.against:
            raise ConfigError("decontaminate.against: give at least one evaluation path")
        if ngram < 1:
            raise ConfigError(f"decontaminate.ngram: expected at least 1, got {ngram}")
        if min_overlaps < 1:
            raise ConfigError(f"decontaminate.min_overlaps: expected at least 1, got {min_overlaps}")
        self.ngram = ngram
        self.min_overlaps = min_overlaps
        self.reference: np.ndarray | None = None

    def setup(self) -> None:
        self.reference = ngram_set((text for path in self.against for text in domain_texts(path)), self.ngram)

    def __getstate__(self) -> dict:
        """The reference set is left behind: n-gram hashes hold only in the process that made them."""
        return {**self.__dict__, "reference": None}

    def process(self, docs: list[Document]) -> list[Verdict]:
        if self.reference is None:
            self.setup()
        assert self.reference is not None
        verdicts: list[Verdict] = []
        for doc in docs:
            hashes = ngram_hashes(doc.text, self.ngram, distinct=False)
            shared = len(np.unique(hashes[contains(self.reference, hashes)]))
            doc.signals["eval_overlaps"] = shared
            verdicts.append("eval_overlap" if shared >= self.min_overlaps else None)
        return verdicts

    def thresholds(self) -> dict[str, float]:
        return {"eval_overlaps": self.min_overlaps}
