"""The quality_classifier stage on small cases, and the shipped model on held-out real data."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from curate import classifier
from curate.cli import main
from curate.document import Document
from curate.errors import ConfigError
from curate.models import QUALITY_CALIBRATION, QUALITY_MODEL
from curate.stages.quality_classifier import QualityClassifier
from curate.stats import StageStats
from test_classifier import PROSE, SPAM  # tests/ is on the path (pytest rootdir)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def toy_model(tmp_path_factory) -> Path:
    """Labels `good` / `bad`, so the stage must be told its positive label."""
    options = classifier.TrainOptions(epochs=30, dim=8, labels=("good", "bad"))
    path = tmp_path_factory.mktemp("model") / "toy.bin"
    classifier.train(PROSE * 10 + SPAM * 10, [True] * 40 + [False] * 40, options).save_model(str(path))
    return path


def run(stage: QualityClassifier, texts: list[str]) -> tuple[list[Document], list[tuple[Document, str]]]:
    docs = [Document(id=str(i), text=text) for i, text in enumerate(texts)]
    return stage(docs, StageStats(name=stage.name))


def test_annotate_records_scores_and_removes_nothing(toy_model: Path) -> None:
    kept, removed = run(QualityClassifier(model=str(toy_model), positive_label="good", mode="annotate"), PROSE + SPAM)
    scores = [doc.signals["quality_score"] for doc in kept]
    assert not removed and len(kept) == 8
    assert min(scores[:4]) > 0.5 > max(scores[4:])  # higher is better
    assert [doc.signals.get("quality_classifier_reason") for doc in kept] == [None] * 4 + ["quality_score_below_threshold"] * 4


def test_threshold_filters(toy_model: Path) -> None:
    stage = QualityClassifier(model=str(toy_model), positive_label="good", threshold=0.5)
    kept, removed = run(stage, SPAM + PROSE)
    assert [d.text for d in kept] == PROSE and {reason for _, reason in removed} == {"quality_score_below_threshold"}
    assert stage.thresholds() == {"quality_score": 0.5}
    kept, removed = run(QualityClassifier(model=str(toy_model), positive_label="good", threshold=0.0), SPAM)
    assert len(kept) == 4 and not removed


def test_keep_top_cuts_at_the_calibration_quantile(toy_model: Path, tmp_path: Path) -> None:
    sample = SPAM * 3 + PROSE  # a raw pool where a quarter is good
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps({"text": text}) + "\n" for text in sample), encoding="utf-8")
    path = tmp_path / "calibration.json"
    assert main(["classifier", "calibrate", str(toy_model), "--label", "good", "--texts", str(pool), "--output", str(path)]) == 0
    table = classifier.load_calibration(path)
    assert len(table.quantiles) == 1001 and table.documents == 16
    stage = QualityClassifier(model=str(toy_model), positive_label="good", keep_top=0.25, calibration=str(path))
    assert stage.thresholds()["quality_score"] == pytest.approx(table.cut(0.25))  # before setup too: the report's line
    kept, removed = run(stage, sample)
    assert sorted(d.text for d in kept) == sorted(PROSE) and {r for _, r in removed} == {"quality_score_below_top_fraction"}
    assert stage.thresholds()["quality_score"] == pytest.approx(table.cut(0.25))
    # The cut does not depend on the batch: a batch of spam alone is all removed, not its best quarter kept.
    assert run(stage, SPAM)[0] == []
    assert table.cut(1.0) == table.quantiles[0] and table.cut(0.0) == table.quantiles[-1]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"model": "missing.bin"}, "quality_classifier.model: file not found: missing.bin"),
        ({"threshold": 0.5, "keep_top": 0.1}, "quality_classifier.keep_top: give threshold or keep_top, not both"),
        ({"keep_top": 1.5}, "quality_classifier.keep_top: expected"),
        ({"threshold": 2}, "quality_classifier.threshold: expected"),
        ({"model": "TOY", "keep_top": 0.1}, "quality_classifier.calibration: keep_top with your own model needs `calibration:`"),
        ({"keep_top": 0.1, "calibration": "nowhere.json"}, "quality_classifier.calibration: file not found: nowhere.json"),
        ({"positive_labl": "hq"}, "did you mean 'positive_label'"),
    ],
)
def test_bad_options_are_one_clear_error(toy_model: Path, options: dict, message: str) -> None:
    options = {key: str(toy_model) if value == "TOY" else value for key, value in options.items()}
    with pytest.raises(ConfigError) as caught:
        QualityClassifier(**options)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_default_model_from_the_environment(toy_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURATE_QUALITY_MODEL", str(toy_model))
    assert QualityClassifier(positive_label="good").model_path == toy_model
    monkeypatch.setenv("CURATE_QUALITY_MODEL", str(tmp_path / "gone.bin"))
    with pytest.raises(ConfigError, match="quality_classifier.model: quality model not found: .*gone.bin"):
        QualityClassifier()


def test_keep_top_takes_the_shipped_table_only_for_the_shipped_model(toy_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The table follows the model file resolved, however it was named; any other model must bring its own."""
    assert QualityClassifier(keep_top=0.1).calibration_path == QUALITY_CALIBRATION
    monkeypatch.setenv("CURATE_QUALITY_MODEL", str(QUALITY_MODEL))
    assert QualityClassifier(keep_top=0.1).calibration_path == QUALITY_CALIBRATION
    monkeypatch.setenv("CURATE_QUALITY_MODEL", str(toy_model))
    with pytest.raises(ConfigError, match="keep_top with your own model needs `calibration:`"):
        QualityClassifier(positive_label="good", keep_top=0.1)


def test_wrong_label_and_missing_model_from_the_command_line(toy_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(PROSE)), encoding="utf-8")
    for stage, message in (({"model": str(tmp_path / "none.bin")}, "quality_classifier.model: file not found"),
                           ({"model": str(toy_model)}, "the model has no label 'hq'; its labels: ")):
        pipeline = tmp_path / "p.yaml"
        pipeline.write_text(yaml.safe_dump({"input": {"format": "jsonl", "paths": [str(data)]}, "output": str(tmp_path / "out"),
                                            "stages": [{"quality_classifier": stage}]}), encoding="utf-8")
        assert main(["run", str(pipeline), "--overwrite"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err


# ---- the shipped model ------------------------------------------------------------------------


def test_shipped_model_is_small_and_calibrated() -> None:
    assert QUALITY_MODEL.stat().st_size <= 5_000_000
    assert classifier.load_model(QUALITY_MODEL, "hq").is_quantized()
    table = classifier.load_calibration(QUALITY_CALIBRATION)
    assert len(table.quantiles) == 1001 and table.documents > 500
    assert 0.0 < table.cut(0.1) < 1.0


def held_out(path: Path, field: str = "text", english_only: bool = False, sources: tuple[str, ...] = ()) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    return [r[field] for r in records if classifier.id_split(str(r["id"])) == "held_out" and r.get(field)
            and (not english_only or r.get("lang") == "en") and (not sources or r["source"] in sources)]


def test_shipped_model_on_held_out_sources(shared_data: Path) -> None:
    """Held-out Reuters articles, Dragnet/CleanEval gold texts and passages of the ablation's six novels (which
    never train the model) against held-out raw English web pages: ids the model never saw."""
    model = classifier.load_model(QUALITY_MODEL, "hq")
    web = held_out(shared_data / "web-text-turku-register" / "docs.jsonl.gz", english_only=True)
    reuters = held_out(shared_data / "news-reuters21578" / "docs.jsonl.gz")[:1000]
    gold = held_out(shared_data / "html-cleaning-gold" / "docs.jsonl.gz", "gold_text",
                    sources=("dragnet_data", "cleaneval-final", "cleaneval-dev", "CleanPortalEval-master"))
    books = [(shared_data / "gutenberg-nltk" / f"{name}.txt").read_bytes().decode("utf-8", "replace") for name in
             ("austen-emma", "austen-persuasion", "austen-sense", "chesterton-brown", "chesterton-thursday", "melville-moby_dick")]
    books = [" ".join(book.split()[i : i + 300]) for book in books for i in range(0, 60_000, 3_000)]  # 20 passages a book
    web_scores = classifier.score_texts(model, web, "hq")
    # measured: reuters 0.995, gold 0.753, books 0.864 (document length alone: 0.090, 0.602, 0.243)
    for name, texts, least in (("reuters", reuters, 0.95), ("gold", gold, 0.68), ("books", books, 0.78)):
        scores = classifier.score_texts(model, texts, "hq")
        auc = classifier.roc_auc(np.concatenate([scores, web_scores]), np.array([True] * len(texts) + [False] * len(web)))
        assert auc >= least, (name, auc)


def test_shipped_model_against_human_line_judgements(shared_data: Path) -> None:
    """line-quality-turku, English pages: the page's share of lines people judged good."""
    with gzip.open(shared_data / "line-quality-turku" / "docs.jsonl.gz", "rt", encoding="utf-8") as handle:
        pages = [p for p in map(json.loads, handle) if p["lang"] == "en"]
    good = np.array([np.mean([label == "1" for label in p["line_labels"]]) for p in pages]) > 0.5
    scores = classifier.score_texts(classifier.load_model(QUALITY_MODEL, "hq"), [p["text"] for p in pages], "hq")
    length = np.array([len(p["text"]) for p in pages], dtype=float)
    auc, length_auc = classifier.roc_auc(scores, good), classifier.roc_auc(length, good)
    assert auc >= 0.69 and auc > length_auc + 0.04, (auc, length_auc)  # measured: 0.743 vs length 0.657


def test_training_data_is_decontaminated_against_evaluation_text() -> None:
    """scripts/quality_data.py drops a training record that shares 13 words with an eval text, whatever
    its case, spacing or punctuation (curate.ngrams, as the decontaminate stage)."""
    sys.path.insert(0, str(REPO / "scripts"))
    from quality_data import decontaminated

    from curate.ngrams import ngram_set

    evaluation = "The quick brown fox jumps over the lazy dog while the farmer sleeps under an old oak tree."
    rows = [{"text": "Elsewhere: THE QUICK BROWN FOX jumps over the lazy dog , while the farmer sleeps under an old oak"},
            {"text": "The quick brown fox jumps over the lazy cat while the farmer sleeps under an old oak tree."}]
    assert decontaminated(rows, ngram_set([evaluation]), "eval") == rows[1:]  # one word apart in every 13-gram
