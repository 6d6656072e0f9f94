"""toxicity: documents per second of each scorer in the stage, against the bare library call on the same texts.

Baselines, measured in the same run: for `wordlist`, one big regular expression over the same terms
(the usual C4-style implementation); for `profanity_check`, `predict_prob` on the whole list; for
`fasttext`, `model.predict` on the whole list (newlines flattened, nothing else). Two corpora:
the Davidson tweets and 50-300-word paragraphs of two Gutenberg novels.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import Callable

from curate import classifier
from curate.document import Document
from curate.stages.toxicity import Toxicity, WordLists

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BATCH = 1000  # the pipeline's default batch size


def corpora() -> dict[str, list[str]]:
    tweets, _ = classifier.read_labelled(DATA / "hate-speech-davidson" / "labeled_data.csv", "tweet", "class", ["0", "1"])
    paragraphs: list[str] = []
    for name in ("austen-emma.txt", "melville-moby_dick.txt"):
        text = (DATA / "gutenberg-nltk" / name).read_text(encoding="utf-8").replace("\r\n", "\n")
        pending: list[str] = []
        for block in text.split("\n\n"):
            pending += block.split()
            if len(pending) >= 50:
                paragraphs.append(" ".join(pending[:300]))
                pending = []
    return {"tweets": tweets, "paragraphs": paragraphs}


def wordlist_regex(lists: WordLists) -> re.Pattern[str]:
    """The same terms as one alternation: prefixes as `term\\w*`, phrases with `\\s+` between words."""
    table = lists.union
    terms = [re.escape(word) for word in table.exact]
    terms += [re.escape(prefix) + r"\w*" for prefix in table.prefixes]
    for first, entries in table.phrases.items():
        for rest, is_prefix, _ in entries:
            terms.append(r"\W+".join(re.escape(w) for w in (first, *rest)) + (r"\w*" if is_prefix else ""))
    return re.compile(r"(?<!\w)(?:" + "|".join(sorted(terms, key=len, reverse=True)) + r")(?!\w)")


def rate(run: Callable[[], object], count: int, repeats: int = 2) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return count / best


def stage_runner(stage: Toxicity, texts: list[str]) -> Callable[[], object]:
    stage.ensure_setup()
    docs = [Document(id=str(i), text=t) for i, t in enumerate(texts)]
    return lambda: [stage.process(docs[i : i + BATCH]) for i in range(0, len(docs), BATCH)]


def main() -> None:
    import fasttext
    from profanity_check import predict_prob

    texts_by_corpus = corpora()
    pattern = wordlist_regex(WordLists.load())
    with tempfile.TemporaryDirectory() as scratch:
        tweets, labels = classifier.read_labelled(DATA / "hate-speech-davidson" / "labeled_data.csv", "tweet", "class", ["0", "1"])
        model_path = Path(scratch) / "davidson.bin"
        classifier.train(tweets, labels, classifier.TrainOptions(epochs=1)).save_model(str(model_path))
        model = fasttext.load_model(str(model_path))
        for corpus, texts in texts_by_corpus.items():
            n = len(texts)
            size = sum(len(t) for t in texts) / n
            print(f"{corpus}: {n:,} texts, {size:.0f} characters on average")
            baselines = {
                "wordlist": ("one regex, findall", lambda: [pattern.findall(t.lower()) for t in texts]),
                "profanity_check": ("predict_prob(list)", lambda: predict_prob(texts)),
                "fasttext": ("model.predict(list)", lambda: model.predict([t.replace("\n", " ") for t in texts], k=-1)),
            }
            for scorer, (baseline_name, baseline) in baselines.items():
                options = {"model": str(model_path)} if scorer == "fasttext" else {}
                stage_rate = rate(stage_runner(Toxicity(scorer=scorer, **options), texts), n)
                base_rate = rate(baseline, n)
                print(f"  {scorer:16s} stage {stage_rate:10,.0f} docs/s | {baseline_name:20s} {base_rate:10,.0f} docs/s | ratio {stage_rate / base_rate:5.2f}")
            default_rate = rate(stage_runner(Toxicity(), texts), n)
            both = 1.0 / (1.0 / rate(baselines["wordlist"][1], n) + 1.0 / rate(baselines["profanity_check"][1], n))
            print(f"  {'default (wl+pc)':16s} stage {default_rate:10,.0f} docs/s | {'regex + predict_prob':20s} {both:10,.0f} docs/s | ratio {default_rate / both:5.2f}")


if __name__ == "__main__":
    main()
