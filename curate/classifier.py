"""fastText text classifiers: reading training data, training, scoring whole batches, evaluation.

`curate classifier train` builds a model from labelled files (`--input`) or from files of positive
and negative text (`--positives` / `--negatives`); the `toxicity` stage (`scorer: fasttext`) and the
`quality_classifier` stage load such models. Stages and trainer share `prepare_text`, so a model sees
text at run time exactly as it saw it in training. Models from elsewhere (Dolma's Jigsaw models,
DCLM's `__label__hq` quality model) load the same way; only the positive label is configured.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal

import numpy as np

from .errors import CurateError, one_line
from .io.texts import field_of, iter_records, text_of

POSITIVE_LABEL = "toxic"
NEGATIVE_LABEL = "non_toxic"
DEFAULT_POSITIVE_VALUES = ("1", "1.0", "true", "toxic")  # label values read as positive when --positive is not given
QUANTIZE_OVER_BYTES = 10_000_000  # a trained model larger than this is quantized (.ftz format, same file name)
HELD_OUT_PERCENT = 20
SplitName = Literal["train", "held_out"]
_TOKENS = re.compile(r"\w+|[^\w\s]")  # words, and each punctuation mark on its own
# Light tokenisation, as in the English register pages: `do n't`, `O'Reilly 's` -> `don't`, `O'Reilly's`.
_SPLIT_CLITIC = re.compile(r"(?<=\w) +(?=(?:n['’]t|['’](?:s|re|ve|ll|d|m))\b)", re.IGNORECASE)


def prepare_text(text: str, tokenize: bool = True) -> str:
    """One line for fastText, which reads whitespace-separated tokens and takes a newline as the end
    of an example: line breaks and runs of spaces become one space, so hard-wrapped books and one-line
    web pages look alike.

    With `tokenize`, split clitics are rejoined (`do n't` -> `don't`), the text is lowercased and
    punctuation split from words (`bitch!!` -> `bitch ! !`, `O'Reilly 's` and `O'Reilly's` -> the same
    tokens): a model cannot learn a corpus's tokenisation. On the Davidson tweets tokenising lifts
    ROC-AUC from 0.973 to 0.983 and cuts false positives on clean prose several-fold. Lone
    surrogates, which fastText cannot encode, are replaced.
    """
    if tokenize:
        text = " ".join(_TOKENS.findall(_SPLIT_CLITIC.sub("", text).lower()))
    else:
        text = " ".join(text.split())
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def id_split(doc_id: str) -> SplitName:
    """The project's fixed split of documents by id: `held_out` for 20% of ids (by SHA-1 of the id),
    `train` for the rest. The shipped quality model trains only on `train` ids; an evaluation that
    uses the same sources (Reuters articles, html-cleaning-gold gold texts) must use `held_out` ids."""
    digest = hashlib.sha1(doc_id.encode("utf-8")).digest()
    return "held_out" if int.from_bytes(digest[:8], "big") % 100 < HELD_OUT_PERCENT else "train"


def label_name(label: str) -> str:
    """`toxic` and `__label__toxic` name the same label."""
    return label if label.startswith("__label__") else f"__label__{label}"


def positive_probability(model: Any, texts: list[str], positive_label: str = POSITIVE_LABEL) -> np.ndarray:
    """P(positive label) for each text, from one `predict` call over the whole batch (texts prepared)."""
    if not texts:
        return np.zeros(0, dtype=np.float32)
    wanted = label_name(positive_label)
    labels, probs = model.predict(texts, k=-1)
    return np.fromiter(
        (float(p[list(ls).index(wanted)]) if wanted in ls else 0.0 for ls, p in zip(labels, probs)),
        dtype=np.float32,
        count=len(texts),
    )


def load_model(path: str | Path, positive_label: str = POSITIVE_LABEL) -> Any:
    """Load a fastText model file, checking it knows the positive label."""
    import fasttext

    path = Path(path)
    if not path.is_file():
        raise CurateError(f"fastText model not found: {path}")
    try:
        model = fasttext.load_model(str(path))
    except ValueError as exc:
        raise CurateError(f"{path}: not a fastText model ({exc})") from None
    if label_name(positive_label) not in model.get_labels():
        known = ", ".join(label.removeprefix("__label__") for label in model.get_labels())
        raise CurateError(f"{path}: the model has no label {positive_label!r}; its labels: {known}")
    return model


def read_texts(path: str | Path, text_field: str = "text", split: SplitName | None = None) -> list[str]:
    """The non-empty texts of a file or folder; with `split`, only records whose `id` falls in that
    part of `id_split` (records without an id, such as .txt files, are all kept: choose those files)."""
    texts: list[str] = []
    for where, record in iter_records(path, text_field, [text_field, "id"]):
        text = text_of(record, text_field, where)
        if split and record.get("id") is not None and id_split(str(record["id"])) != split:
            continue
        if text is not None:
            texts.append(text)
    if not texts:
        raise CurateError(f"{path}: no texts in field {text_field!r}" + (f" among {split} ids" if split else ""))
    return texts


def read_labelled(
    path: str | Path, text_column: str, label_column: str, positive: Iterable[str] | None = None, split: SplitName | None = None
) -> tuple[list[str], list[bool]]:
    """Texts and is-positive flags from a labelled CSV, JSONL or Parquet file (optionally .gz).
    `positive` lists the label values that count as positive (for Davidson, classes `0` hate and `1`
    offensive); without it a column of two values is read as 1/true/toxic = positive, and a column of
    more values is refused, since guessing which are positive would train the wrong model quietly."""
    rows: list[tuple[str, str]] = []
    for where, record in iter_records(path, text_column, [text_column, label_column, "id"]):
        text, label = text_of(record, text_column, where), field_of(record, label_column, where)
        if split and record.get("id") is not None and id_split(str(record["id"])) != split:
            continue
        if text is not None and label is not None and str(label) != "":
            rows.append((text, str(label)))  # an empty or unlabelled record teaches nothing
    if not rows:
        raise CurateError(f"{path}: no labelled records")
    seen = sorted({label for _, label in rows})
    if positive is None:
        if len(seen) > 2:
            raise CurateError(
                f"{path}: column {label_column!r} has {len(seen)} values ({', '.join(seen[:12])}{', ...' if len(seen) > 12 else ''}); "
                "give --positive VALUE... to say which mean positive"
            )
        wanted = {value for value in seen if value.lower() in DEFAULT_POSITIVE_VALUES}
    else:
        wanted = {str(value) for value in positive}
    labels = [label in wanted for _, label in rows]
    if all(labels) or not any(labels):
        shown = " ".join(sorted(wanted)) if positive is not None else f"(default: {' '.join(DEFAULT_POSITIVE_VALUES)})"
        raise CurateError(
            f"{path}: every record is {'positive' if all(labels) else 'negative'} with --positive {shown}; "
            f"values seen in {label_column!r}: {', '.join(seen[:12])}; give the values that mean positive"
        )
    return [text for text, _ in rows], labels


def chunk_words(text: str, size: int) -> list[str]:
    """Pieces of at most `size` words (the last may be shorter); `size` 0 keeps the text whole.
    Training on pieces keeps a book from being one example and a tweet another."""
    if size <= 0:
        return [text]
    tokens = text.split()
    return [" ".join(tokens[i : i + size]) for i in range(0, len(tokens), size)] or [text]


def split_indices(count: int, dev_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """A seeded shuffle cut into (train, dev) index lists."""
    if not 0.0 < dev_fraction < 1.0:
        raise CurateError(f"dev fraction must be between 0 and 1, got {dev_fraction}")
    order = list(range(count))
    random.Random(seed).shuffle(order)
    cut = int(round(count * dev_fraction))
    return order[cut:], order[:cut]


@dataclass(frozen=True)
class TrainOptions:
    """fastText hyper-parameters; the defaults are what measured best on Davidson (see README). More
    epochs leave dev ROC-AUC flat (0.984-0.985) but make the model sure of itself on text unlike tweets:
    clean prose flagged at 0.5 goes from 0.2% (1 epoch) to 1.1% (2) and 6% (5)."""

    epochs: int = 2
    learning_rate: float = 0.5
    dim: int = 16
    word_ngrams: int = 2
    char_ngrams: tuple[int, int] = (3, 6)  # subwords carry spelling variants (`fuckin`, `f*cking`)
    balance: bool = True  # oversample the smaller class: a tweet-trained prior otherwise flags clean prose
    seed: int = 0
    labels: tuple[str, str] = (POSITIVE_LABEL, NEGATIVE_LABEL)  # (positive, negative) names in the model
    quantize_over: int = QUANTIZE_OVER_BYTES
    quantize_rows: int = 100_000  # embedding rows (words, n-gram buckets) a quantized model keeps


def train(texts: list[str], labels: list[bool], options: TrainOptions = TrainOptions()) -> Any:
    """Train a supervised fastText model on `texts` (prepared here). A model whose embeddings would
    take more than `quantize_over` bytes is quantized (pruned to the `quantize_rows` most important
    rows, product-quantized): a 130 MB model becomes about 1 MB."""
    import fasttext

    rows = list(zip(labels, texts))
    if options.balance:
        rows = _balanced(rows, random.Random(options.seed))
    positive, negative = (label_name(label) for label in options.labels)
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "train.txt"
        with open(data, "w", encoding="utf-8") as handle:
            for label, text in rows:
                handle.write(f"{positive if label else negative} {prepare_text(text)}\n")
        model = fasttext.train_supervised(
            input=str(data),
            epoch=options.epochs,
            lr=options.learning_rate,
            dim=options.dim,
            wordNgrams=options.word_ngrams,
            minn=options.char_ngrams[0],
            maxn=options.char_ngrams[1],
            seed=options.seed,
            thread=1,  # one thread keeps training reproducible for a given seed
            verbose=0,
        )
        embedding_bytes = (len(model.words) + model.bucket) * model.dim * 4
        if embedding_bytes > options.quantize_over:
            # Without retraining: retraining the pruned model (more epochs) made a 6k-tweet toxicity model
            # flag 4.5% of clean prose instead of 0.7%; pruned as trained, dev ROC-AUC 0.9795 vs 0.9800.
            model.quantize(cutoff=options.quantize_rows, retrain=False, qnorm=True, thread=1, verbose=0)
    return model


def _balanced(rows: list[tuple[bool, str]], rng: random.Random) -> list[tuple[bool, str]]:
    positives = [row for row in rows if row[0]]
    negatives = [row for row in rows if not row[0]]
    small, large = sorted((positives, negatives), key=len)
    repeats, rest = divmod(len(large), len(small))
    rows = large + small * repeats + rng.sample(small, rest)
    rng.shuffle(rows)
    return rows


@dataclass
class Corpus:
    """Texts, their is-positive flags, and the input each came from (to cap each input's share)."""

    texts: list[str] = field(default_factory=list)
    labels: list[bool] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)

    def add(self, texts: list[str], labels: list[bool]) -> None:
        """One input's texts, as its own source."""
        source = max(self.sources, default=-1) + 1
        self.texts += texts
        self.labels += labels
        self.sources += [source] * len(texts)

    def training_examples(self, indices: list[int], chunk: int, per_source: int, seed: int) -> tuple[list[str], list[bool]]:
        """The documents at `indices` cut into pieces of `chunk` words, at most `per_source` pieces
        (a seeded sample) from each input when `per_source` is positive."""
        pieces: dict[int, list[tuple[str, bool]]] = {}
        for i in indices:
            pieces.setdefault(self.sources[i], []).extend((piece, self.labels[i]) for piece in chunk_words(self.texts[i], chunk))
        rng = random.Random(seed)
        rows = [row for source in sorted(pieces) for row in _capped(pieces[source], per_source, rng)]
        return [text for text, _ in rows], [label for _, label in rows]


def _capped(rows: list[tuple[str, bool]], cap: int, rng: random.Random) -> list[tuple[str, bool]]:
    return rng.sample(rows, cap) if 0 < cap < len(rows) else rows


@dataclass(frozen=True)
class Metrics:
    count: int
    positives: int
    threshold: float
    precision: float
    recall: float
    f1: float
    roc_auc: float
    length_auc: float = float("nan")  # the same ROC-AUC with document length (characters) as the score

    def describe(self) -> str:
        """One line; where the set holds one class only, why there is no ROC-AUC instead of a bare nan."""
        negatives = self.count - self.positives
        auc = (
            f"roc_auc={self.roc_auc:.3f} (length baseline {self.length_auc:.3f})" if self.positives and negatives
            else f"roc_auc undefined: only one class ({self.positives} positives, {negatives} negatives)"
        )
        return (
            f"n={self.count} positives={self.positives} threshold={self.threshold:g}: precision={self.precision:.3f} "
            f"recall={self.recall:.3f} f1={self.f1:.3f} {auc}"
        )


def evaluate(scores: np.ndarray, labels: list[bool] | np.ndarray, threshold: float, texts: list[str] | None = None) -> Metrics:
    """Precision, recall and F1 at `threshold`, the threshold-free ROC-AUC and, given the texts, the
    ROC-AUC of their length: a model that does no better than length has learnt little."""
    scores = np.asarray(scores, dtype=np.float64)
    truth = np.asarray(labels, dtype=bool)
    flagged = scores >= threshold
    hits = int((flagged & truth).sum())
    precision = hits / max(int(flagged.sum()), 1)
    recall = hits / max(int(truth.sum()), 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    length_auc = roc_auc(np.array([len(t) for t in texts], dtype=np.float64), truth) if texts is not None else float("nan")
    return Metrics(len(truth), int(truth.sum()), threshold, precision, recall, f1, roc_auc(scores, truth), length_auc)


def roc_auc(scores: np.ndarray, truth: np.ndarray) -> float:
    """Probability that a random positive outscores a random negative (ties count half): the
    Mann-Whitney U statistic from average ranks."""
    positives, negatives = int(truth.sum()), int((~truth).sum())
    if not positives or not negatives:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    _, starts, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = starts + (counts + 1) / 2.0  # 1-based average rank of each run of ties
    ranks[order] = np.repeat(average, counts)
    return float((ranks[truth].sum() - positives * (positives + 1) / 2) / (positives * negatives))


@dataclass(frozen=True)
class Calibration:
    """A model's score quantiles on a sample of raw text, to turn "keep the best fraction" into a cut."""

    quantiles: list[float]  # scores at levels 0, 1/1000, ..., 1
    sample: str  # what was scored, for the record
    documents: int

    def cut(self, keep_top: float) -> float:
        """The score that the best `keep_top` of the sample reach."""
        levels = np.linspace(0.0, 1.0, len(self.quantiles))
        return float(np.interp(1.0 - keep_top, levels, self.quantiles))

    @classmethod
    def of(cls, scores: np.ndarray, sample: str) -> Calibration:
        return cls([round(float(q), 6) for q in np.quantile(scores, np.linspace(0.0, 1.0, 1001))], sample, len(scores))


def load_calibration(path: str | Path) -> Calibration:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        quantiles = [float(q) for q in data["quantiles"]]
        calibration = Calibration(quantiles, str(data.get("sample", "")), int(data.get("documents", 0)))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CurateError(f"{path}: not a calibration table ({one_line(exc)})") from None
    if len(quantiles) < 2 or quantiles != sorted(quantiles):
        raise CurateError(f"{path}: not a calibration table (quantiles must be at least two ascending numbers)")
    return calibration


def score_texts(model: Any, texts: list[str], positive_label: str = POSITIVE_LABEL, tokenize: bool = True) -> np.ndarray:
    """P(positive) of raw texts, prepared as in training."""
    return positive_probability(model, [prepare_text(text, tokenize) for text in texts], positive_label)


def train_and_evaluate(
    corpus: Corpus, options: TrainOptions, dev_fraction: float, threshold: float, chunk: int = 0, per_source: int = 0
) -> tuple[Any, int, Metrics]:
    """Train on a seeded split of the documents and measure on the held-out documents, scored whole
    as a stage scores them (pieces of one document never sit on both sides): (model, training
    examples, dev metrics)."""
    train_index, dev_index = split_indices(len(corpus.texts), dev_fraction, options.seed)
    train_texts, train_labels = corpus.training_examples(train_index, chunk, per_source, options.seed)
    if all(train_labels) or not any(train_labels):
        raise CurateError("the training split holds only one class; give more labelled records")
    model = train(train_texts, train_labels, options)
    dev_texts = [corpus.texts[i] for i in dev_index]
    dev_scores = score_texts(model, dev_texts, options.labels[0])
    return model, len(train_texts), evaluate(dev_scores, [corpus.labels[i] for i in dev_index], threshold, dev_texts)
