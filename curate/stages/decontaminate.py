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

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..document import Document
from ..evalsets import domain_texts
from ..ngrams import DEFAULT_NGRAM, contains, ngram_hashes, ngram_set
from ..errors import ConfigError
from ..options import option
from .base import Signal, Stage, StageOptions, Verdict


@dataclass(frozen=True, kw_only=True)
class DecontaminateOptions(StageOptions):
    against: str | list[str] | None = option(None, "evaluation domains (see curate.evalsets); `eval` in an ablation: its own")
    ngram: int = option(DEFAULT_NGRAM, "words per n-gram", ge=1)
    min_overlaps: int = option(1, "remove a document sharing at least this many distinct n-grams", ge=1)


class Decontaminate(Stage):
    name = "decontaminate"
    signals = {"eval_overlaps": Signal(pa.int32(), bins=(1, 1e5, 25), log=True)}

    Options = DecontaminateOptions
    options: DecontaminateOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        against = self.options.against
        if not against:
            raise ConfigError(f"{self.name}.against: give the evaluation texts to decontaminate against (paths)")
        self.against = [against] if isinstance(against, str) else list(against)
        self.ngram = self.options.ngram
        self.min_overlaps = self.options.min_overlaps
        self.reference: np.ndarray | None = None

    def setup(self) -> None:
        self.reference = ngram_set((text for path in self.against for text in domain_texts(path)), self.ngram)

    def __getstate__(self) -> dict:
        """The reference set is left behind: n-gram hashes hold only in the process that made them."""
        return {**super().__getstate__(), "reference": None}

    def process(self, docs: list[Document]) -> list[Verdict]:
        assert self.reference is not None
        verdicts: list[Verdict] = []
        for doc in docs:
            shared = int(contains(self.reference, ngram_hashes(doc.text, self.ngram)).sum())
            doc.signals["eval_overlaps"] = shared
            verdicts.append("eval_overlap" if shared >= self.min_overlaps else None)
        return verdicts

    def thresholds(self) -> dict[str, float]:
        return {"eval_overlaps": self.min_overlaps}
