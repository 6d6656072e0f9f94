"""normalize: repair mojibake (ftfy, plus lossy repair), Unicode NFC, control characters and whitespace.

ftfy runs with the settings that only undo damage: curly quotes, full-width forms and literal HTML
entities are correct text in many languages and stay as they are. Text that needs nothing skips
ftfy: ASCII, and text ftfy's own badness check passes with nothing else for ftfy to do (the check is
`mojibake.is_bad`: ftfy's answer, found by searching only where a match could be).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ..document import Document
from ..mojibake import FIXED_CHARS, ReadingScorer, fix_text, is_bad, may_hold_mojibake, repair_lossy
from ..options import option
from .base import Signal, Stage, StageOptions, Verdict

_MAX_ROUNDS = 3  # tidying can bring mojibake together that a control character kept apart
_LINE_BREAKS = re.compile("[\r\u2028\u2029]")  # after `\r\n` became `\n`
_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff"  # C1 controls are left to ftfy
_CONTROL = re.compile(f"[{_CONTROLS}]")
_C1_CONTROL = re.compile("[\x80-\x9f]")
# Runs of blanks, except a lone space (replacing it by itself took most of the time): a blank that
# is not a space or is followed by another. Starting with a class lets `re` skip to candidates fast.
_NON_SPACE_BLANKS = "\t\u00a0\u1680\u2000-\u200a\u202f\u205f"
_BLANK = f"[ {_NON_SPACE_BLANKS}]"
_SPACES = re.compile(f"{_BLANK}(?:(?<=[{_NON_SPACE_BLANKS}])|{_BLANK}){_BLANK}*")
_SPACE_RUNS = re.compile("  +")
# One scan for what `_CONTROL` removes and for blanks `_SPACES` may replace (with no "  " either, it has nothing to do).
_CONTROL_OR_BLANK = re.compile(f"[{_CONTROLS}{_NON_SPACE_BLANKS}]")
_LINE_EDGES = re.compile(" \n ?|\n ")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True, kw_only=True)
class NormalizeOptions(StageOptions):
    fix_mojibake: bool = option(True, "repair text decoded with the wrong encoding (ftfy)")
    repair_lossy: bool = option(True, "also restore bytes a Windows-1252 decode dropped (needs fix_mojibake)")
    lid_model: str | None = option(None, "the fastText lid.176 file that judges repair candidates; null: shipped", file=True)


class Normalize(Stage):
    name = "normalize"
    signals = {"mojibake_fixed": Signal(pa.bool_())}

    Options = NormalizeOptions
    options: NormalizeOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.fix_mojibake = self.options.fix_mojibake
        self.repair_lossy = self.options.repair_lossy and self.fix_mojibake
        self.lid_model = self.options.lid_model
        self.scorer: ReadingScorer | None = None  # the lossy repair's judge, loaded by `setup` where it is on

    def setup(self) -> None:
        if self.repair_lossy:
            self.scorer = ReadingScorer(self.lid_model)

    def process(self, docs: list[Document]) -> list[Verdict]:
        verdicts: list[Verdict] = []
        for doc in docs:
            doc.text, fixed = self.normalize(doc.text)
            doc.signals["mojibake_fixed"] = fixed
            verdicts.append(None if doc.text else "empty")
        return verdicts

    def normalize(self, text: str) -> tuple[str, bool]:
        """The normalized text, and whether its encoding was repaired (bytes a decode dropped only once
        `setup` has loaded the lossy repair's models)."""
        tidied = _tidy(text)
        if tidied.isascii():
            return tidied, False
        if not self.fix_mojibake:
            return unicodedata.normalize("NFC", _C1_CONTROL.sub("", tidied)), False
        tidied = unicodedata.normalize("NFC", tidied)
        # Collapsing spaces can hide mojibake (0xA0 is a UTF-8 continuation byte) or bring it together.
        if not (FIXED_CHARS.search(tidied) or is_bad(tidied) or ("\xa0" in text and is_bad(text))):
            return tidied, False
        unrepaired = tidied
        for _ in range(_MAX_ROUNDS):
            repaired = self._repair(text)
            if repaired == text:
                break
            text = repaired
            if not (FIXED_CHARS.search(text) or is_bad(text) or may_hold_mojibake(text)):
                break  # nothing left for ftfy or the lossy repair: another round would return it as it is
        return text, text != unrepaired

    def _repair(self, text: str) -> str:
        """One round: ftfy, and where it leaves mojibake (bytes may be missing), lossy repair first."""
        repaired = fix_text(text)
        if self.repair_lossy and (is_bad(repaired) or may_hold_mojibake(repaired)):
            assert self.scorer is not None, "normalize: setup has not run (call the stage, or ensure_setup)"
            restored = repair_lossy(text, self.scorer)
            if restored != text:  # else ftfy would only repeat itself
                repaired = fix_text(restored)
        return unicodedata.normalize("NFC", _tidy(_C1_CONTROL.sub("", repaired)))


def _tidy(text: str) -> str:
    """Line breaks as `\n`, no C0 control characters, runs of spaces as one, lines stripped, at most
    one blank line in a row."""
    # Each pattern runs only where a quick substring test finds something for it to change.
    if "\r" in text or "\u2028" in text or "\u2029" in text:
        text = _LINE_BREAKS.sub("\n", text.replace("\r\n", "\n"))
    if _CONTROL_OR_BLANK.search(text):
        text = _SPACES.sub(" ", _CONTROL.sub("", text))
    elif "  " in text:  # spaces are its only blanks: `_SPACES` would replace runs of them, found faster from a literal
        text = _SPACE_RUNS.sub(" ", text)
    if "\n" in text and (" \n" in text or "\n " in text):  # a lone character is found far faster
        text = _LINE_EDGES.sub("\n", text)
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()
