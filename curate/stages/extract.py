"""extract: HTML -> main text, with resiliparse (fast, default) or trafilatura (slower, often cleaner)."""

from __future__ import annotations

from typing import Literal

from ..document import Document
from .base import Signal, Stage, Verdict

import pyarrow as pa


class Extract(Stage):
    name = "extract"
    signals = {"extracted_chars": Signal(pa.int64(), bins=(1, 1_000_000, 30), log=True)}

    def __init__(
        self,
        extractor: Literal["resiliparse", "trafilatura"] = "resiliparse",
        main_content: bool = True,
        min_chars: int = 1,
        mode: Literal["filter", "annotate"] = "filter",
    ) -> None:
        super().__init__(mode)
        self.extractor = extractor
        self.main_content = main_content
        self.min_chars = min_chars

    def process(self, docs: list[Document]) -> list[Verdict]:
        verdicts: list[Verdict] = []
        for doc in docs:
            if doc.html is None:  # already text (WET, JSONL): nothing to extract
                verdicts.append(None)
                continue
            try:
                text = self._extract(doc.html)
            except Exception:  # noqa: BLE001 - the extractors raise many types on broken markup
                text = None
            doc.html = None
            if text is None:
                verdicts.append("extraction_failed")
                continue
            doc.text = text
            doc.signals["extracted_chars"] = len(text)
            verdicts.append(None if len(text.strip()) >= self.min_chars else "no_text")
        return verdicts

    def _extract(self, html: str) -> str | None:
        if self.extractor == "trafilatura":
            import trafilatura

            return trafilatura.extract(html, include_comments=False, favor_precision=True) or ""
        from resiliparse.extract.html2text import extract_plain_text

        return extract_plain_text(html, main_content=self.main_content, alt_texts=False, noscript=False)
