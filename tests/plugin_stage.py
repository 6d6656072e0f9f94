"""A user's own stage, loaded by `stages: [{plugin_stage:ShortDocs: {...}}]` (tests of plugin stages)."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from curate.document import Document
from curate.options import option
from curate.stages import Signal, Stage, StageOptions


@dataclass(frozen=True, kw_only=True)
class ShortDocsOptions(StageOptions):
    min_words: int = option(50, "documents with fewer words are removed", ge=1)


class ShortDocs(Stage):
    """Removes documents of fewer than `min_words` words, recording each one's word count."""

    name = "short_docs"
    signals = {"word_count": Signal(pa.int32())}
    Options = ShortDocsOptions
    options: ShortDocsOptions

    def process(self, docs: list[Document]) -> list[str | None]:
        verdicts = []
        for doc in docs:
            doc.signals["word_count"] = words = len(doc.text.split())
            verdicts.append(None if words >= self.options.min_words else f"too_few_words:{words}")
        return verdicts


class NotAStage:
    name = "not_a_stage"
