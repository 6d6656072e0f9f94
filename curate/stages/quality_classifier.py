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

from typing import Any

import numpy as np
import pyarrow as pa

from .. import classifier
from ..document import Document
from ..errors import ConfigError, CurateError
from ..models import quality_calibration_path, quality_model_path
from .base import Mode, Signal, Stage, Verdict

DEFAULT_THRESHOLD = 0.5


class QualityClassifier(Stage):
    name = "quality_classifier"
    signals = {"quality_score": Signal(pa.float32(), bins=(0.0, 1.0, 20))}

    def __init__(
        self,
        model: str | None = None,
        positive_label: str = "hq",
        threshold: float | None = None,
        keep_top: float | None = None,
        calibration: str | None = None,
        tokenize: bool = True,
        mode: Mode = "filter",
    ) -> None:
        """`calibration` is the quantile table `keep_top` cuts by (default: the shipped model's)."""
        super().__init__(mode)
        if threshold is not None and keep_top is not None:
            raise ConfigError("quality_classifier: give `threshold` or `keep_top`, not both")
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"quality_classifier.threshold: expected a number between 0 and 1, got {threshold}")
        if keep_top is not None and not 0.0 < keep_top <= 1.0:
            raise ConfigError(f"quality_classifier.keep_top: expected a fraction in (0, 1], got {keep_top}")
        try:
            self.model_path = quality_model_path(model)
        except CurateError as exc:
            raise ConfigError(f"quality_classifier.model: {exc}") from None
        try:
            self.calibration_path = quality_calibration_path(calibration, model) if keep_top is not None else None
        except CurateError as exc:
            raise ConfigError(f"quality_classifier.calibration: {exc}") from None
        self.positive_label = positive_label
        self.keep_top = keep_top
        self.cut = DEFAULT_THRESHOLD if threshold is None and keep_top is None else threshold
        self.tokenize = tokenize
        self.model: Any = None

    def setup(self) -> None:
        self.model = classifier.load_model(self.model_path, self.positive_label)
        if self.calibration_path is not None:
            self.cut = classifier.load_calibration(self.calibration_path).cut(self.keep_top)

    def thresholds(self) -> dict[str, float]:
        return {"quality_score": self.cut} if self.cut is not None else {}

    def process(self, docs: list[Document]) -> list[Verdict]:
        if self.model is None:
            self.setup()
        prepared = [classifier.prepare_text(doc.text, self.tokenize) for doc in docs]
        scores = classifier.positive_probability(self.model, prepared, self.positive_label).tolist()
        reason = "quality_score_below_top_fraction" if self.keep_top is not None else "quality_score_below_threshold"
        verdicts: list[Verdict] = []
        for doc, score in zip(docs, scores):
            doc.signals["quality_score"] = score
            verdicts.append(reason if score < self.cut else None)
        return verdicts
