"""alt-profanity-check's English profanity model, evaluated with numpy alone.

The package is a TF-IDF vectorizer and a `CalibratedClassifierCV` of five `LinearSVC` folds, each with a
sigmoid calibrator, pickled for scikit-learn, whose import costs each worker about a second. Its fitted
arrays ship in curate/data/profanity-check.npz (card and MIT licence: profanity-check.md; `make
profanity-model` re-derives them from the installed package), and `ProfanityModel.predict_prob` repeats
sklearn's arithmetic in sklearn's order, so the scores are the package's own.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np

SHIPPED_PROFANITY_MODEL = Path(str(resources.files("curate") / "data" / "profanity-check.npz"))
# sklearn's `(?u)\b\w\w+\b`: a greedy run of word characters ends at a boundary, so `\w\w+` finds the same
# words, ~20% faster.
_WORDS = re.compile(r"\w\w+").findall


@dataclass(frozen=True)
class ProfanityModel:
    """A lowercased word-count TF-IDF (l2-normalised rows) scored by calibrated linear folds, averaged."""

    words: list[str]  # the vocabulary, by column
    idf: np.ndarray  # (n_words,) the TfidfTransformer's idf_
    coef: np.ndarray  # (n_folds, n_words) each fold's LinearSVC coef_
    intercept: np.ndarray  # (n_folds,) each fold's LinearSVC intercept_
    slope: np.ndarray  # (n_folds,) each fold's sigmoid calibrator a_
    offset: np.ndarray  # (n_folds,) each fold's sigmoid calibrator b_

    @cached_property
    def columns(self) -> dict[str, int]:
        """Each vocabulary word's column (cached_property writes the instance dict, so frozen allows it)."""
        return {word: column for column, word in enumerate(self.words)}

    @classmethod
    def load(cls, path: str | Path = SHIPPED_PROFANITY_MODEL) -> ProfanityModel:
        with np.load(path, allow_pickle=False) as arrays:
            return cls(
                words=arrays["words"].tolist(), idf=arrays["idf"], coef=arrays["coef"], intercept=arrays["intercept"],
                slope=arrays["slope"], offset=arrays["offset"],
            )

    def save(self, path: str | Path) -> None:
        np.savez_compressed(
            path, words=np.array(self.words), idf=self.idf, coef=self.coef, intercept=self.intercept,
            slope=self.slope, offset=self.offset,
        )

    def predict_prob(self, texts: list[str]) -> np.ndarray:
        """P(profane) per text: the package's `predict_prob`."""
        columns_of = self.columns
        columns: list[int] = []
        counts: list[int] = []
        lengths: list[int] = []
        for text in texts:  # counted per distinct word; stop words are not in the vocabulary
            found = Counter(_WORDS(text.lower()))
            known = columns_of.keys() & found.keys()
            columns.extend(map(columns_of.__getitem__, known))
            counts.extend(map(found.__getitem__, known))
            lengths.append(len(known))
        rows = np.repeat(np.arange(len(texts)), lengths)
        order = np.lexsort((columns, rows))  # sklearn's CSR rows hold sorted columns: sum in its order
        column = np.asarray(columns, dtype=np.intp)[order]
        tfidf = np.asarray(counts, dtype=np.float64)[order] * self.idf[column]
        norm = np.sqrt(np.bincount(rows, tfidf * tfidf, minlength=len(texts)))  # bincount adds in order
        tfidf /= norm[rows]
        profane = np.zeros(len(texts))
        for coef, intercept, slope, offset in zip(self.coef, self.intercept, self.slope, self.offset):
            decision = np.bincount(rows, tfidf * coef[column], minlength=len(texts)) + intercept
            # scipy's expit(-(a * f + b)), through libm's exp as scipy's is: numpy's SIMD exp differs in the last bit
            exp = np.fromiter(map(math.exp, (slope * decision + offset).tolist()), dtype=np.float64, count=len(texts))
            profane += 1.0 / (1.0 + exp)
        profane /= len(self.coef)
        return profane
