"""toxicity: scores each document in [0, 1] with one or more scorers and removes those above `threshold`.

Scorers (`scorer:` one name or a list):
- `wordlist`: C4-style lists of obscene words and slurs (curate/lists/toxicity/<lang>.txt: en, de, fr,
  es, ru, it, pt, nl, pl), matched case-insensitively on word boundaries, `*` marking a prefix. Each
  term has a weight (1 unless the list says less, for words that are also ordinary words: `ass`,
  `cock`, Italian `troia`). score = 1 - 2^-(weighted hits per 100 words): one full-weight hit in 100
  words scores 0.5, so a swear word in a tweet counts much more than the same word in a long article.
  A document's `language` signal picks its list; without one, all lists apply; a language without a
  list is not scored by this scorer.
- `fasttext`: a fastText classifier; the score is P(`positive_label`), per document or, with
  `level: sentence`, the highest over its sentences. Without `model:` it is the shipped model
  (curate/data/toxicity.md: permissively licensed comments, tweets and forum posts), applied to the
  languages it was trained and checked on (en, de); `model:` takes any other, such as one made by
  `curate classifier train` or Dolma's Jigsaw models. `model_languages` limits it to the languages
  it was trained on (default for a configured model: every language); a document without a
  `language` signal is scored by it, as by profanity_check.
- `profanity_check`: alt-profanity-check's linear SVM (English only: documents in other languages
  are not scored by it), scored with numpy from its arrays (curate/profanity.py), without sklearn.
The default is all three, averaged: of every subset, mean or max, it generalised best to training
platforms left out of training, and it beats each scorer alone on 18 sets from platforms neither the
model nor that choice saw (bench/bench_toxicity_platforms.py; figures in the model card).
With several scorers, `combine: mean` (default) or `max` merges the scores of the scorers that apply
to a document; each scorer's own score is also recorded as `toxicity_<scorer>`. A document no
scorer applies to gets no score and is kept. The removal reason names the highest-scoring scorer:
`toxicity_score_above_threshold:<scorer>`.
"""

from __future__ import annotations

import bisect
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pyarrow as pa

from .. import classifier, models
from ..profanity import ProfanityModel
from ..document import Document
from ..errors import ConfigError
from ..text import words
from ..options import OptionError, option
from .base import Signal, Stage, StageOptions, Verdict

ScorerName = Literal["wordlist", "fasttext", "profanity_check"]
SCORERS: tuple[str, ...] = get_args(ScorerName)
# The mean of all three generalised best to platforms left out of training (bench_toxicity_platforms).
DEFAULT_SCORERS = ("fasttext", "wordlist", "profanity_check")
SCORE_BINS = (0.0, 1.0, 20)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
WORD_CACHE_SIZE = 1_000_000  # words whose list weight is kept, per list: web text has a long tail of words


@dataclass(frozen=True, kw_only=True)
class ToxicityOptions(StageOptions):
    scorer: ScorerName | list[ScorerName] | None = option(None, "one scorer or a list; null: fasttext, wordlist and profanity_check")
    threshold: float = option(0.5, "documents whose combined score is at or above this are removed", ge=0, le=1)
    combine: Literal["max", "mean"] = option("mean", "how the scores of the scorers that apply are merged")
    model: str | None = option(None, "a fastText .bin or .ftz for scorer fasttext; null: the shipped model", file=True)
    positive_label: str = option(classifier.POSITIVE_LABEL, "the fastText label whose probability is the score")
    level: Literal["document", "sentence"] = option("document", "fastText scores the document, or its worst sentence")
    tokenize: bool = option(True, "lowercase and split punctuation before fastText, as `curate classifier train` does; "
                            "false for models trained on raw text (Dolma's)")
    model_languages: list[str] | None = option(None, "languages fastText scores; null: en and de for the shipped model, "
                                               "every language for a configured one")
    wordlist_languages: list[str] | None = option(None, "the word lists to load; null: every shipped list")
    wordlist_dir: str | None = option(None, "a folder of <language>.txt lists replacing the shipped ones")

    def __post_init__(self) -> None:
        scorers = self.scorers()
        if not scorers or len(set(scorers)) != len(scorers):
            raise OptionError("scorer", f"expected one or more distinct scorers of {', '.join(SCORERS)}, got {self.scorer!r}")
        if self.model and "fasttext" not in scorers:
            raise OptionError("model", "only used by scorer 'fasttext'; add it to `scorer:`")
        if "wordlist" in scorers:
            list_files(self.wordlist_dir, self.wordlist_languages)  # a wrong folder or language fails with the config

    def scorers(self) -> list[str]:
        return list(DEFAULT_SCORERS) if self.scorer is None else [self.scorer] if isinstance(self.scorer, str) else list(self.scorer)


class Toxicity(Stage):
    name = "toxicity"
    signals = {"toxicity_score": Signal(pa.float32(), bins=SCORE_BINS)}

    Options = ToxicityOptions
    options: ToxicityOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        o = self.options
        self.scorers = o.scorers()
        self.threshold, self.combine, self.model_path, self.positive_label = o.threshold, o.combine, o.model, o.positive_label
        self.level, self.tokenize = o.level, o.tokenize
        if o.model_languages:
            self.model_languages: set[str] | None = set(o.model_languages)
        else:  # the shipped model only where it was trained and checked; a configured one everywhere
            self.model_languages = None if o.model else set(models.TOXICITY_LANGUAGES)
        self.wordlist_languages, self.wordlist_dir = o.wordlist_languages, o.wordlist_dir
        self.model: Any = None
        self.wordlists: WordLists | None = None
        self.profanity: ProfanityModel | None = None
        if len(self.scorers) > 1:
            self.signals = {
                **Toxicity.signals,
                **{f"toxicity_{name}": Signal(pa.float32(), bins=SCORE_BINS) for name in self.scorers},
            }

    def setup(self) -> None:
        if "wordlist" in self.scorers:
            self.wordlists = WordLists.load(self.wordlist_dir, self.wordlist_languages)
        if "fasttext" in self.scorers:
            self.model = classifier.load_model(self.model_path or models.toxicity_model_path(), self.positive_label)
        if "profanity_check" in self.scorers:
            self.profanity = ProfanityModel.load()

    def thresholds(self) -> dict[str, float]:
        return {"toxicity_score": self.threshold}

    def process(self, docs: list[Document]) -> list[Verdict]:
        languages = [_language(doc) for doc in docs]
        # One row per scorer, NaN where the scorer does not apply to the document.
        scores = np.vstack([self._score(name, docs, languages) for name in self.scorers])
        applied = ~np.isnan(scores)
        scored = applied.any(axis=0).tolist()
        loudest = np.where(applied, scores, -1.0).argmax(axis=0).tolist()
        combined = combine_scores(scores, self.combine)
        per_scorer = {f"toxicity_{name}": row.tolist() for name, row in zip(self.scorers, scores)} if len(self.scorers) > 1 else {}
        verdicts: list[Verdict] = []
        for i, (doc, score) in enumerate(zip(docs, combined.tolist())):
            if not scored[i]:
                verdicts.append(None)
                continue
            doc.signals["toxicity_score"] = score
            for column, values in per_scorer.items():
                if values[i] == values[i]:  # not NaN: the scorer applied
                    doc.signals[column] = values[i]
            above = score >= self.threshold
            verdicts.append(f"toxicity_score_above_threshold:{self.scorers[loudest[i]]}" if above else None)
        return verdicts

    def _score(self, name: str, docs: list[Document], languages: list[str | None]) -> np.ndarray:
        scores = np.full(len(docs), np.nan, dtype=np.float64)
        if name == "wordlist":
            assert self.wordlists is not None
            for i, (doc, language) in enumerate(zip(docs, languages)):
                score = self.wordlists.score(doc.text, language)
                if score is not None:
                    scores[i] = score
            return scores
        if name == "fasttext":
            known = self.model_languages
            chosen = [i for i, language in enumerate(languages) if known is None or language is None or language in known]
            scores[chosen] = self._fasttext([docs[i].text for i in chosen])
            return scores
        chosen = [i for i, language in enumerate(languages) if language in (None, "en")]
        if chosen:
            assert self.profanity is not None
            scores[chosen] = self.profanity.predict_prob([docs[i].text for i in chosen])
        return scores

    def _fasttext(self, texts: list[str]) -> np.ndarray:
        """P(positive) per text from one batched predict call; at sentence level, the maximum over sentences."""
        if self.level == "document":
            prepared = [classifier.prepare_text(text, self.tokenize) for text in texts]
            return classifier.positive_probability(self.model, prepared, self.positive_label)
        sentences: list[str] = []
        counts: list[int] = []
        for text in texts:
            parts = [classifier.prepare_text(s, self.tokenize) for s in _SENTENCE_END.split(text)]
            parts = [p for p in parts if p] or [""]
            sentences.extend(parts)
            counts.append(len(parts))
        probabilities = classifier.positive_probability(self.model, sentences, self.positive_label)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        return np.maximum.reduceat(probabilities, starts) if len(texts) else probabilities


def combine_scores(scores: np.ndarray, how: str) -> np.ndarray:
    """One score per column of a scorers x documents array (NaN where a scorer does not apply): the
    mean or the max of the scores that apply, NaN where none does."""
    applied = ~np.isnan(scores)
    if how == "max":
        combined = np.where(applied, scores, -np.inf).max(axis=0)
    else:
        combined = np.where(applied, scores, 0.0).sum(axis=0) / np.maximum(applied.sum(axis=0), 1)
    return np.where(applied.any(axis=0), combined, np.nan)


def _language(doc: Document) -> str | None:
    language = doc.signals.get("language")
    return language if isinstance(language, str) and language != "und" else None


@dataclass
class TermTable:
    """One language's terms: exact words, word prefixes and multi-word phrases, each with a weight."""

    exact: dict[str, float] = field(default_factory=dict)
    prefixes: dict[str, float] = field(default_factory=dict)
    phrases: dict[str, list[tuple[tuple[str, ...], bool, float]]] = field(default_factory=dict)  # first word -> (rest, last is prefix, weight)
    _prefix_lengths: list[int] = field(default_factory=list)
    _prefix_heads: set[str] = field(default_factory=set)  # each prefix's first `_prefix_lengths[0]` characters
    _word_weights: dict[str, float] = field(default_factory=dict)  # cache: word -> weight, 0 for clean words
    _weighted_words: set[str] = field(default_factory=set)  # the cached words whose weight is not 0

    def add(self, term: str, weight: float) -> None:
        is_prefix = term.endswith("*")
        tokens = tuple(words(term.rstrip("*")))
        if not tokens:
            return
        if len(tokens) > 1:
            self.phrases.setdefault(tokens[0], []).append((tokens[1:], is_prefix, weight))
        else:
            table = self.prefixes if is_prefix else self.exact
            table[tokens[0]] = max(weight, table.get(tokens[0], 0.0))
            if is_prefix:
                self._index_prefix(tokens[0])
        self._word_weights.clear()
        self._weighted_words.clear()

    def _index_prefix(self, prefix: str) -> None:
        """Keep `_prefix_lengths` and `_prefix_heads` up to date as `prefix` is added: the heads are cut
        again only when it is the shortest prefix yet (rebuilding them on every add was quadratic)."""
        lengths = self._prefix_lengths
        if lengths and len(prefix) >= lengths[0]:
            self._prefix_heads.add(prefix[: lengths[0]])
        else:  # every head gets shorter
            self._prefix_heads = {p[: len(prefix)] for p in self.prefixes}
        if len(prefix) not in lengths:
            bisect.insort(lengths, len(prefix))

    def merge(self, other: TermTable) -> None:
        for word, weight in other.exact.items():
            self.add(word, weight)
        for prefix, weight in other.prefixes.items():
            self.add(prefix + "*", weight)
        for first, entries in other.phrases.items():
            known = self.phrases.setdefault(first, [])
            known.extend(entry for entry in entries if entry not in known)

    def word_weight(self, word: str) -> float:
        weight = self._word_weights.get(word)
        if weight is None:
            weight = self.exact.get(word, 0.0)
            if self._prefix_heads and word[: self._prefix_lengths[0]] in self._prefix_heads:  # else no prefix can match
                for length in self._prefix_lengths:
                    if length > len(word):
                        break
                    weight = max(weight, self.prefixes.get(word[:length], 0.0))
            if len(self._word_weights) < WORD_CACHE_SIZE:
                self._word_weights[word] = weight
                if weight:
                    self._weighted_words.add(word)
        return weight

    def weighted_hits(self, tokens: list[str]) -> float:
        counts = Counter(tokens)
        # Most documents hold no listed word: set operations find the few that weigh (and the words
        # not yet looked up) without a call per word. The sum runs in the same order as over every
        # word, its zero terms left out, so it is the same float.
        weights = {word: self._word_weights[word] for word in self._weighted_words.intersection(counts)}
        for word in set(counts).difference(self._word_weights):
            weight = self.word_weight(word)
            if weight:
                weights[word] = weight
        hits = sum(weights[word] * count for word, count in counts.items() if word in weights) if weights else 0.0
        if self.phrases and not self.phrases.keys().isdisjoint(tokens):
            for i, word in enumerate(tokens):
                for rest, is_prefix, weight in self.phrases.get(word, ()):
                    following = tokens[i + 1 : i + 1 + len(rest)]
                    if len(following) == len(rest) and _phrase_matches(following, rest, is_prefix):
                        hits += weight
        return hits


def _phrase_matches(following: list[str], rest: tuple[str, ...], last_is_prefix: bool) -> bool:
    if last_is_prefix:
        return list(rest[:-1]) == following[:-1] and following[-1].startswith(rest[-1])
    return list(rest) == following


class WordLists:
    """Per-language term tables plus their union, for documents whose language is unknown."""

    def __init__(self, tables: dict[str, TermTable]) -> None:
        self.tables = tables
        self.union = TermTable()
        for table in tables.values():
            self.union.merge(table)

    @classmethod
    def load(cls, folder: str | None = None, languages: list[str] | None = None) -> WordLists:
        return cls({language: read_list(path) for language, path in list_files(folder, languages).items()})

    def score(self, text: str, language: str | None) -> float | None:
        """1 - 2^-(weighted hits per 100 words), or None when the language has no list."""
        table = self.union if language is None else self.tables.get(language)
        if table is None:
            return None
        if not text.isascii():
            text = unicodedata.normalize("NFC", text)
        tokens = words(text.lower())
        if not tokens:
            return 0.0
        density = 100.0 * table.weighted_hits(tokens) / len(tokens)
        return 1.0 - math.pow(2.0, -density)


def list_files(folder: str | None, languages: list[str] | None) -> dict[str, Path]:
    """Each wanted language's list file in `folder` (null: the shipped lists); every list when `languages` is null."""
    root = Path(folder) if folder else Path(str(resources.files("curate.lists") / "toxicity"))
    if not root.is_dir():
        raise OptionError("wordlist_dir", f"not a folder: {root}")
    available = {path.stem: path for path in sorted(root.glob("*.txt"))}
    wanted = languages or sorted(available)
    missing = [language for language in wanted if language not in available]
    if missing:
        raise OptionError("wordlist_languages", f"no list for {', '.join(missing)} in {root}; lists: {', '.join(available)}")
    return {language: available[language] for language in wanted}


def read_list(path: Path) -> TermTable:
    """A list file: one term per line (`word`, `two words`, `prefix*`), an optional weight after it,
    `#` comments."""
    table = TermTable()
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        term, weight = line, 1.0
        head, _, tail = line.rpartition(" ")
        if head and re.fullmatch(r"\d*\.?\d+", tail):
            term, weight = head.strip(), float(tail)
        if not 0.0 < weight <= 1.0:
            raise ConfigError(f"{path}:{number}: weight must be in (0, 1], got {weight}")
        table.add(unicodedata.normalize("NFC", term.lower()), weight)
    return table
