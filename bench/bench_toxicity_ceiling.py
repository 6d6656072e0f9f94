"""toxicity: what else was tried to generalise across platforms, and where the ceiling lies.

Beside bench_toxicity_platforms (same sets, same split by licence, same rule: choose on the training
platforms only, report on test platforms the choice never saw):

1. Inner loop, leave-one-platform-out over the six training platforms, each alternative beside the
   stage's default (fastText as shipped + word lists + profanity_check, mean), with the per-platform
   differences (a mean gain smaller than their standard error is noise):
   - `social`: platform artefacts removed identically in training and scoring (@mentions, URLs, RT,
     HTML entities, GermEval's |LBR|; hashtags split into words);
   - `cap 8k`: at most 8,000 rows per training platform (ParaDetox is 62% of the rows);
   - `dim 32 2 epochs`: a larger fastText model trained longer (the shipped one: dim 16, 1 epoch; both
     with word bigrams and character 3-6-grams);
   - `char LR`: a second learned scorer, hashed character 2-5-gram logistic regression (sklearn), alone
     in place of fastText and beside it;
   - other ways to merge the scorers: the mean of logits, the mean of ranks (each score's quantile
     among the non-toxic texts of the training platforms), and a logistic stacker fitted on the other
     training platforms' held-out scores.
   The same alternatives trained on all six are then scored on the English test platforms.
2. Ceilings on the five English test platforms: fastText trained on the test platform itself (5-fold
   cross-validation with random folds, 5 epochs: flattering, since folds share users and topics), and
   fastText trained on every other English set whatever its licence (such a model could not ship).
"""

from __future__ import annotations

import html
import random
import re
import time
from typing import Callable

import numpy as np

from curate import classifier, models
from curate.stages.toxicity import combine_scores

from .bench_toxicity_platforms import LabelledSet, auc, load_sets, normalized, stage_scores

Scorer = Callable[[list[str]], np.ndarray]
Learner = Callable[[list[str], list[bool], list[str]], Scorer]  # texts, labels, platforms -> scorer
ENGLISH_TESTS = ["stormfront_hate_speech18", "stance_hof_en", "tweeteval_hate", "unintended_offense_en", "av_twitter_racist_sexist"]
OTHER_TESTS = ["davidson", "iwg_refugees_de"]
FIXED = ("wordlist", "profanity_check")
_MENTION = re.compile(r"(?<!\w)@\w+")
_URL = re.compile(r"(?:https?://|www\.)\S+|(?<!\w)(?:<url>|url)(?!\w)", re.IGNORECASE)
_HASHTAG = re.compile(r"#(\w+)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_RETWEET = re.compile(r"^\s*RT\b:?", re.IGNORECASE)


def social(text: str) -> str:
    """Tweets' and forums' artefacts out: `RT @user: #JoeBidenIsARacist https://t.co/x` -> `Joe Biden Is A Racist`."""
    text = _RETWEET.sub(" ", html.unescape(text).replace("|LBR|", " "))
    text = _MENTION.sub(" ", _URL.sub(" ", text))
    return _HASHTAG.sub(lambda m: " " + _CAMEL.sub(" ", m.group(1)) + " ", text)


def fasttext_learner(options: classifier.TrainOptions, prepare: Callable[[str], str] = str, cap: int = 0) -> Learner:
    def learn(texts: list[str], labels: list[bool], platforms: list[str]) -> Scorer:
        keep = capped(platforms, cap)
        model = classifier.train([prepare(texts[i]) for i in keep], [labels[i] for i in keep], options)
        return lambda xs: classifier.score_texts(model, [prepare(x) for x in xs]).astype(np.float64)
    return learn


def capped(platforms: list[str], cap: int) -> list[int]:
    """Row indices, at most `cap` (a seeded sample) from each platform; all rows when `cap` is 0."""
    rows: dict[str, list[int]] = {}
    for i, platform in enumerate(platforms):
        rows.setdefault(platform, []).append(i)
    rng = random.Random(0)
    return [i for _, idx in sorted(rows.items()) for i in (rng.sample(idx, cap) if 0 < cap < len(idx) else idx)]


def char_lr_learner(texts: list[str], labels: list[bool], platforms: list[str]) -> Scorer:
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = HashingVectorizer(analyzer="char_wb", ngram_range=(2, 5), n_features=2**20, alternate_sign=False)
    model = LogisticRegression(class_weight="balanced", solver="liblinear", max_iter=200)
    model.fit(vectorizer.transform([social(t) for t in texts]), np.array(labels))
    return lambda xs: model.predict_proba(vectorizer.transform([social(x) for x in xs]))[:, 1]


LEARNERS: dict[str, Learner] = {
    "fastText": fasttext_learner(classifier.TrainOptions(epochs=1)),
    "fastText social": fasttext_learner(classifier.TrainOptions(epochs=1), social),
    "fastText cap 8k": fasttext_learner(classifier.TrainOptions(epochs=1), cap=8000),
    "fastText dim 32 2 epochs": fasttext_learner(classifier.TrainOptions(epochs=2, dim=32)),
    "char LR social": char_lr_learner,
}
# (learned scorers, how): each with the word lists and profanity_check. The first is the stage's default.
CANDIDATES = [(("fastText",), "mean"), (("fastText",), "logit mean"), (("fastText",), "rank mean"), (("fastText",), "stacker"),
              (("fastText social",), "mean"), (("fastText cap 8k",), "mean"), (("fastText dim 32 2 epochs",), "mean"),
              (("char LR social",), "mean"),
              (("fastText social", "char LR social"), "mean"), (("fastText social", "char LR social"), "logit mean")]


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def merged(scores: np.ndarray, how: str, fitted: object) -> np.ndarray:
    """One score per document from a scorers x documents array (NaN: the scorer does not apply)."""
    if how == "mean":
        return combine_scores(scores, "mean")
    if how == "logit mean":
        return combine_scores(logit(scores), "mean")
    if how == "rank mean":  # `fitted`: per scorer, its sorted scores on non-toxic training texts
        ranks = np.vstack([np.searchsorted(negatives, row, side="right") / len(negatives) for negatives, row in zip(fitted, scores)])
        return combine_scores(np.where(np.isnan(scores), np.nan, ranks), "mean")
    return fitted.predict_proba(logit(np.nan_to_num(scores, nan=0.5)).T)[:, 1]  # stacker


def fit_merge(how: str, rows: list[tuple[np.ndarray, np.ndarray]]) -> object:
    """What `rank mean` and `stacker` learn from (scores, labels) of training platforms; each platform
    and each class weighs the same in the stacker."""
    if how == "rank mean":
        return [np.sort(np.concatenate([s[i][~y & ~np.isnan(s[i])] for s, y in rows])) for i in range(len(rows[0][0]))]
    if how != "stacker":
        return None
    from sklearn.linear_model import LogisticRegression

    weights = [np.where(y, 0.5 / y.mean(), 0.5 / (1 - y.mean())) / len(y) for _, y in rows]
    features = np.vstack([logit(np.nan_to_num(s, nan=0.5)).T for s, _ in rows])
    return LogisticRegression().fit(features, np.concatenate([y for _, y in rows]), sample_weight=np.concatenate(weights))


def training_rows(sets: dict[str, LabelledSet], names: list[str]) -> tuple[list[str], list[bool], list[str]]:
    return [t for n in names for t in sets[n].texts], [bool(v) for n in names for v in sets[n].labels], [n for n in names for _ in sets[n].texts]


def inner_and_outer(sets: dict[str, LabelledSet], fixed: dict[str, dict[str, np.ndarray]]) -> None:
    train_names = list(models.TOXICITY_SETS)
    training_texts = {normalized(t) for n in train_names for t in sets[n].texts}
    tests = {n: sets[n].without(training_texts) for n in ENGLISH_TESTS + OTHER_TESTS}
    test_fixed = {n: {k: v for k, v in stage_scores(d.texts, d.language).items() if k in FIXED} for n, d in tests.items()}
    inner: dict[str, dict[str, np.ndarray]] = {name: {} for name in LEARNERS}
    outer: dict[str, dict[str, np.ndarray]] = {name: {} for name in LEARNERS}
    for name, learn in LEARNERS.items():
        started = time.perf_counter()
        for held_out in train_names:
            drop = {normalized(t) for t in sets[held_out].texts}
            others = {n: sets[n].without(drop) for n in train_names if n != held_out}
            inner[name][held_out] = learn(*training_rows(others, list(others)))(sets[held_out].texts)
        score = learn(*training_rows(sets, train_names))
        outer[name] = {n: score(d.texts) for n, d in tests.items()}
        print(f"  {name}: 7 models trained and scored ({time.perf_counter() - started:.0f}s)", flush=True)

    def stacked(learned: tuple[str, ...], where: str, name: str) -> np.ndarray:
        source, own = (inner, fixed[name]) if where == "inner" else (outer, test_fixed[name])
        return np.vstack([source[k][name] for k in learned] + [own[k] for k in FIXED])

    print(f"\n  {'learned scorer(s) + word lists + profanity_check':52s} {'inner':>6s} {'gain':>13s} " + " ".join(f"{n[:10]:>10s}" for n in tests) + "  mean en5")
    baseline: list[float] = []
    for learned, how in CANDIDATES:
        per_platform = []
        for held_out in train_names:
            rest = [(stacked(learned, "inner", n), sets[n].labels) for n in train_names if n != held_out]
            per_platform.append(auc(merged(stacked(learned, "inner", held_out), how, fit_merge(how, rest)), sets[held_out].labels))
        fitted = fit_merge(how, [(stacked(learned, "inner", n), sets[n].labels) for n in train_names])
        tested = [auc(merged(stacked(learned, "outer", n), how, fitted), tests[n].labels) for n in tests]
        baseline = baseline or per_platform
        gain = np.subtract(per_platform, baseline)
        print(f"  {' + '.join(learned) + f' ({how})':52s} {np.mean(per_platform):6.3f} {gain.mean():+.3f}±{gain.std(ddof=1) / np.sqrt(len(gain)):.3f} "
              + " ".join(f"{v:10.3f}" for v in tested) + f"  {np.mean(tested[:len(ENGLISH_TESTS)]):.3f}", flush=True)


def ceilings(sets: dict[str, LabelledSet], fixed: dict[str, dict[str, np.ndarray]]) -> None:
    english = [n for n, s in sets.items() if s.language == "en"]
    print("\n  test platform              trained on itself (5-fold)   on every other English set: fastText / + lists + pc (mean)")
    results = []
    for name in ENGLISH_TESTS:
        data = sets[name]
        folds = np.array_split(np.random.RandomState(0).permutation(len(data.texts)), 5)
        own = np.zeros(len(data.texts))
        for fold in folds:
            rest = np.setdiff1d(np.arange(len(data.texts)), fold)
            model = classifier.train([data.texts[i] for i in rest], [bool(data.labels[i]) for i in rest], classifier.TrainOptions(epochs=5))
            own[fold] = classifier.score_texts(model, [data.texts[i] for i in fold])
        drop = {normalized(t) for t in data.texts}
        others = {n: sets[n].without(drop) for n in english if n != name}
        texts, labels, _ = training_rows(others, list(others))
        alone = classifier.score_texts(classifier.train(texts, labels, classifier.TrainOptions(epochs=1)), data.texts).astype(np.float64)
        with_fixed = combine_scores(np.vstack([alone] + [fixed[name][k] for k in FIXED]), "mean")
        results.append([auc(own, data.labels), auc(alone, data.labels), auc(with_fixed, data.labels)])
        print(f"  {name:26s} {results[-1][0]:28.3f}   {results[-1][1]:.3f} / {results[-1][2]:.3f}", flush=True)
    means = np.mean(results, axis=0)
    print(f"  {'mean':26s} {means[0]:28.3f}   {means[1]:.3f} / {means[2]:.3f}")


def main() -> None:
    started = time.perf_counter()
    sets = load_sets()
    fixed = {n: {k: v for k, v in stage_scores(s.texts, s.language).items() if k in FIXED} for n, s in sets.items()}
    print("inner loop (6 training platforms, leave one out; gain: mean difference to the default ± its standard error) "
          "and the same choice scored on test platforms (ROC-AUC):")
    inner_and_outer(sets, fixed)
    print("\nceilings on the English test platforms (ROC-AUC; models that could not ship):")
    ceilings(sets, fixed)
    print(f"({time.perf_counter() - started:.0f}s)")


if __name__ == "__main__":
    main()
