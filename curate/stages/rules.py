"""The base of the heuristic stages: each rule is one row of a table, and the table alone decides.

A row names the reason a document is removed for, the signal it reads, the option holding its bound,
the comparison that removes, and which documents it judges. `RuleStage` checks the rows in order and
returns the first reason that fires; `thresholds()` (the cut lines drawn in the report and kept in
the stats) reads the same rows, so the report cannot show a threshold the stage does not apply.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Literal

from ..analysis import TextAnalysis, analysis_of, warm_up
from ..document import Document
from ..options import option
from .base import Stage, StageOptions, Verdict

Scope = Literal["all", "spaced", "languages"]
SCOPES: dict[Scope, str] = {
    "all": "every document",
    "spaced": "documents written with spaces",
    "languages": "documents in `languages` (unlabelled ones: written with spaces)",
}
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Rule:
    """Removes a document for `reason` when `signal <comparison> bound`, where `bound` is the
    stage's option `option` (null switches the rule off); it judges only documents in `scope`."""

    reason: str
    signal: str
    option: str
    comparison: Literal["<", "<=", ">", ">="]
    scope: Scope


@dataclass(frozen=True, kw_only=True)
class RuleOptions(StageOptions):
    languages: list[str] | None = option(
        None, "languages the rules marked `languages` judge; null: every language written with spaces"
    )


class RuleStage(Stage):
    """A stage whose removals are the rows of `rules`; subclasses compute the signals in `measure`.
    A rule's bound is the option its row names (`rule_bounds` for stages whose options map otherwise)."""

    rules: ClassVar[tuple[Rule, ...]]
    Options = RuleOptions
    options: RuleOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.bounds = self.rule_bounds()
        self.languages = self.options.languages
        # the rules switched on, as (reason, signal, comparison, bound): checked for every document
        self._checks = [
            (rule.reason, rule.signal, COMPARISONS[rule.comparison], bound)
            for rule in self.rules
            if (bound := self.bounds[rule.option]) is not None
        ]

    def rule_bounds(self) -> dict[str, float | None]:
        return {rule.option: getattr(self.options, rule.option) for rule in self.rules}

    def setup(self) -> None:
        warm_up()

    def thresholds(self) -> dict[str, float]:
        """Signal -> the bound of the first rule on it that is switched on."""
        cuts: dict[str, float] = {}
        for _, signal, _, bound in self._checks:
            cuts.setdefault(signal, float(bound))
        return cuts

    def scopes(self, doc: Document, analysis: TextAnalysis) -> dict[Scope, bool]:
        """Which scopes judge this document."""
        return {
            "all": True,
            "spaced": analysis.written_with_spaces,
            "languages": analysis.judged_by(self.languages, doc.signals.get("language")),
        }

    def measure(self, analysis: TextAnalysis, scopes: dict[Scope, bool]) -> dict[str, float]:
        """The signals of the rules whose scope judges this document."""
        raise NotImplementedError

    def process(self, docs: list[Document]) -> list[Verdict]:
        return [self.judge(doc) for doc in docs]

    def judge(self, doc: Document) -> Verdict:
        """Record the signals, then name the first rule the document breaks."""
        analysis = analysis_of(doc)
        values = self.measure(analysis, self.scopes(doc, analysis))
        doc.signals.update(values)
        return self.first_broken(values)

    def first_broken(self, values: dict[str, float]) -> str | None:
        for reason, signal, breaks, bound in self._checks:
            value = values.get(signal)
            if value is not None and breaks(value, bound):
                return reason
        return None


def rule_table(stage: RuleStage) -> str:
    """The stage's rules and bounds as Markdown table rows, as its module docstring shows them."""
    rows = []
    for rule in stage.rules:
        bound = stage.bounds[rule.option]
        bound_text = "off" if bound is None else f"{bound:g}"
        rows.append(f"| `{rule.reason}` | `{rule.signal}` {rule.comparison} {bound_text} | {SCOPES[rule.scope]} |")
    return "\n".join(rows)
