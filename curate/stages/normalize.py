"""normalize: fix mojibake (ftfy), Unicode NFC, control characters and whitespace."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

import ftfy

from ..document import Document
from .base import Stage, Verdict

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class Normalize(Stage):
    name = "normalize"

    def __init__(self, fix_mojibake: bool = True, mode: Literal["filter", "annotate"] = "filter") -> None:
        super().__init__(mode)
        self.fix_mojibake = fix_mojibake

    def process(self, docs: list[Document]) -> list[Verdict]:
        verdicts: list[Verdict] = []
        for doc in docs:
            doc.text = self.normalize(doc.text)
            verdicts.append(None if doc.text.strip() else "empty")
        return verdicts

    def normalize(self, text: str) -> str:
        if text.isascii():
            text = _CONTROL.sub("", text)
        else:
            if self.fix_mojibake:
                text = ftfy.fix_text(text)
            text = unicodedata.normalize("NFC", _CONTROL.sub("", text))
        text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n"))
        return _BLANK_LINES.sub("\n\n", text).strip()
