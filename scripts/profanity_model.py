"""Extracts alt-profanity-check's fitted arrays from the installed package into
curate/data/profanity-check.npz (card: profanity-check.md), which the toxicity stage scores with numpy
alone (curate/profanity.py). `make profanity-model`; stops with one line naming the setting when the
package's model is not the kind curate/profanity.py reproduces, and checks the written arrays give the
package's own scores.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from profanity_check import profanity_check as shipped

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curate.profanity import SHIPPED_PROFANITY_MODEL, ProfanityModel  # noqa: E402

# What ProfanityModel.predict_prob computes: lowercased word counts, idf, l2 rows, no n-grams.
VECTORIZER_SETTINGS = {
    "analyzer": "word", "lowercase": True, "ngram_range": (1, 1), "preprocessor": None, "tokenizer": None,
    "strip_accents": None, "binary": False, "token_pattern": r"(?u)\b\w\w+\b", "norm": "l2", "use_idf": True,
    "sublinear_tf": False, "dtype": np.float64,
}
CHECK_TEXTS = ["", "a", "the and of", "FUCK you", "what a lovely day", "İstanbul shit_head x2 ß", "日本語 fuck 123"]


def extract() -> ProfanityModel:
    vectorizer, model = shipped.vectorizer, shipped.model
    settings = vectorizer.get_params()
    for key, wanted in VECTORIZER_SETTINGS.items():
        if settings[key] != wanted:
            sys.exit(f"profanity-model: the package's vectorizer has {key}={settings[key]!r}, curate/profanity.py expects {wanted!r}")
    if not vectorizer.get_stop_words().isdisjoint(vectorizer.vocabulary_):
        sys.exit("profanity-model: the package's vocabulary holds stop words, which curate/profanity.py does not filter")
    if model.method != "sigmoid" or list(model.classes_) != [0, 1]:
        sys.exit(f"profanity-model: expected a sigmoid-calibrated binary classifier, got method={model.method!r}, classes={list(model.classes_)}")
    folds = model.calibrated_classifiers_
    words = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
    return ProfanityModel(
        words=words,
        idf=np.asarray(vectorizer.idf_, dtype=np.float64),
        coef=np.vstack([fold.estimator.coef_[0] for fold in folds]).astype(np.float64),
        intercept=np.array([fold.estimator.intercept_[0] for fold in folds], dtype=np.float64),
        slope=np.array([fold.calibrators[0].a_ for fold in folds], dtype=np.float64),
        offset=np.array([fold.calibrators[0].b_ for fold in folds], dtype=np.float64),
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=SHIPPED_PROFANITY_MODEL)
    args = parser.parse_args(argv)
    extract().save(args.output)
    written = ProfanityModel.load(args.output)
    difference = np.abs(written.predict_prob(CHECK_TEXTS) - shipped.predict_prob(CHECK_TEXTS)).max()
    if difference > 1e-12:
        sys.exit(f"profanity-model: {args.output} scores differ from the package's by up to {difference:.3g}")
    print(f"{args.output}: {len(written.words):,} words x {len(written.coef)} folds, {args.output.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
