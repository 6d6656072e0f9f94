"""quality_classifier: a fastText model's probability that a document is like clean reference text.

Records `quality_score` = P(`positive_label`) in [0, 1], higher is better, and removes documents:
- `threshold: t` (default 0.5): those scoring below t, reason `quality_score_below_threshold`;
- `keep_top: f` (instead of a threshold; DCLM kept the best 10%, `keep_top: 0.1`): those below the
  score that the best fraction f of raw web documents reach, reason `quality_score_below_top_fraction`.
  A stage sees one batch at a time, so the cut cannot come from the data being filtered; it is read
  from a calibration table of the model's score quantiles on a sample of raw web text (written by
  `curate classifier calibrate`), cut = the (1 - f) quantile, interpolated between the table's 1,001
  points. The shipped model's table (held-out English web pages, see its card) is the default; the
  same cut therefore applies to every batch, shard and worker, and a pool unlike the calibration
  sample keeps more or less than f.
`model:` is any fastText classifier (default: the shipped English model, curate/data/quality-en.ftz,
or $CURATE_QUALITY_MODEL), such as DCLM's (`positive_label: hq`, `tokenize: false`, since it was
trained on raw text). Text is prepared as `curate classifier train` prepares it (`tokenize: true`):
one line, split clitics rejoined, lowercased, punctuation split off, so hard-wrapped books and
one-line web pages read alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from .. import classifier
from ..document import Document
from ..errors import ConfigError, CurateError
from ..models import quality_calibration_path, quality_model_path
from ..options import OptionError, option
from .base import Signal, Stage, StageOptions, Verdict

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True, kw_only=True)
class QualityClassifierOptions(StageOptions):
    model: str | None = option(None, "a fastText classifier; null: the shipped English model (or $CURATE_QUALITY_MODEL)", file=True)
    positive_label: str = option("hq", "the model's label for good text (hq for the shipped model and DCLM's)")
    threshold: float | None = option(None, f"remove documents scoring below this (default {DEFAULT_THRESHOLD} without keep_top)", ge=0, le=1)
    keep_top: float | None = option(None, "keep the best fraction instead, cut at the calibration table's 1 - f quantile", gt=0, le=1)
    calibration: str | None = option(None, "score quantiles for keep_top (curate classifier calibrate); null: the shipped model's", file=True)
    tokenize: bool = option(True, "prepare text as `curate classifier train` does; false for models trained on raw text (DCLM's)")

    def __post_init__(self) -> None:
        if self.threshold is not None and self.keep_top is not None:
            raise OptionError("keep_top", "give threshold or keep_top, not both")


class QualityClassifier(Stage):
    name = "quality_classifier"
    signals = {"quality_score": Signal(pa.float32(), bins=(0.0, 1.0, 20))}

    Options = QualityClassifierOptions
    options: QualityClassifierOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        o = self.options
        try:
            self.model_path = quality_model_path(o.model)
        except CurateError as exc:
            raise ConfigError(f"{self.name}.model: {exc}") from None
        try:
            self.calibration_path = quality_calibration_path(o.calibration, self.model_path) if o.keep_top is not None else None
        except CurateError as exc:
            raise ConfigError(f"{self.name}.calibration: {exc}") from None
        self.positive_label, self.keep_top, self.tokenize = o.positive_label, o.keep_top, o.tokenize
        self.cut = DEFAULT_THRESHOLD if o.threshold is None and o.keep_top is None else o.threshold
        self.model: Any = None

    def setup(self) -> None:
        self.model = classifier.load_model(self.model_path, self.positive_label)
        self.thresholds()

    def thresholds(self) -> dict[str, float]:
        """The cut; for `keep_top` read from the calibration table on first use (also in the driver,
        whose stage objects are never set up when workers run the batches)."""
        if self.cut is None:
            assert self.calibration_path is not None and self.keep_top is not None
            self.cut = classifier.load_calibration(self.calibration_path).cut(self.keep_top)
        return {"quality_score": self.cut}

    def process(self, docs: list[Document]) -> list[Verdict]:
        scores = classifier.score_texts(self.model, [doc.text for doc in docs], self.positive_label, self.tokenize).tolist()
        reason = "quality_score_below_top_fraction" if self.keep_top is not None else "quality_score_below_threshold"
        verdicts: list[Verdict] = []
        for doc, score in zip(docs, scores):
            doc.signals["quality_score"] = score
            verdicts.append(reason if score < self.cut else None)
        return verdicts
