"""curate.classifier and `curate classifier train`: reading labelled data, metrics, training, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from curate import classifier
from curate.cli import main
from curate.errors import CurateError

TOXIC = ["you stupid bitch", "fuck off loser", "shut up you idiot", "what a dumb slut", "go to hell asshole"]
CLEAN = ["have a nice day", "the train leaves at noon", "thanks for the recipe", "lovely weather today", "see you at lunch"]


def test_roc_auc_matches_sklearn_with_ties() -> None:
    rng = np.random.default_rng(0)
    truth = rng.random(500) < 0.3
    scores = np.round(rng.random(500) + truth * 0.4, 1)  # rounding makes many ties
    assert classifier.roc_auc(scores, truth) == pytest.approx(roc_auc_score(truth, scores), abs=1e-12)
    assert np.isnan(classifier.roc_auc(scores, np.ones(500, dtype=bool)))


def test_a_one_class_set_says_why_it_has_no_roc_auc() -> None:
    line = classifier.evaluate(np.array([0.9, 0.2, 0.7]), [True, True, True], 0.5, ["a", "bb", "ccc"]).describe()
    assert line.endswith("roc_auc undefined: only one class (3 positives, 0 negatives)") and "nan" not in line


def test_evaluate_counts() -> None:
    m = classifier.evaluate(np.array([0.9, 0.8, 0.2, 0.7, 0.1]), [True, False, True, False, False], threshold=0.5)
    assert (m.precision, m.recall) == (pytest.approx(1 / 3), 0.5)
    assert m.f1 == pytest.approx(2 * (1 / 3) * 0.5 / (1 / 3 + 0.5))
    assert m.count == 5 and m.positives == 2


def test_prepare_text_makes_one_clean_line() -> None:
    assert classifier.prepare_text("Shut UP,\nbitch!!") == "shut up , bitch ! !"
    assert classifier.prepare_text("Raw\ttext\n", tokenize=False) == "Raw text"
    assert classifier.prepare_text("bad \ud800 surrogate") == "bad ? surrogate"


def test_split_is_seeded_and_disjoint() -> None:
    train, dev = classifier.split_indices(100, 0.2, seed=3)
    assert len(dev) == 20 and not set(train) & set(dev) and sorted(train + dev) == list(range(100))
    assert classifier.split_indices(100, 0.2, seed=3) == (train, dev)
    assert classifier.split_indices(100, 0.2, seed=4) != (train, dev)
    with pytest.raises(CurateError, match="between 0 and 1"):
        classifier.split_indices(100, 1.0, seed=0)


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "label"])
        writer.writerows((i, text, label) for i, (text, label) in enumerate(rows))
    return path


def test_read_labelled_csv_and_jsonl(tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path / "d.csv", [("bad words", "0"), ("nice words", "2"), ("", "1"), ("rude", "1")])
    texts, labels = classifier.read_labelled(csv_path, "text", "label", ["0", "1"])
    assert texts == ["bad words", "nice words", "rude"] and labels == [True, False, True]  # the empty text is skipped
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text("\n".join(json.dumps({"t": t, "y": y}) for t, y in [("a", True), ("b", False)]) + "\n", encoding="utf-8")
    assert classifier.read_labelled(jsonl, "t", "y", ["True"]) == (["a", "b"], [True, False])


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("id,text\n1,hello\n", "d.csv", "no field 'label'"),
        ("id,text,label\n1,a,1\n2,b,1\n", "d.csv", "every record is positive"),
        ('{"text": "a", "label": 1}\nnot json\n', "d.jsonl", "line 2 is not JSON"),
        ("text\tlabel\n", "d.tsv", "expected a .csv, .jsonl"),
    ],
)
def test_read_labelled_errors(tmp_path: Path, content: str, name: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CurateError, match=message):
        classifier.read_labelled(path, "text", "label", ["1"])


def test_trained_model_separates_the_classes_and_reloads(tmp_path: Path) -> None:
    texts, labels = TOXIC * 20 + CLEAN * 5, [True] * 100 + [False] * 25  # unbalanced, as Davidson is
    model = classifier.train(texts, labels, classifier.TrainOptions(epochs=20, dim=8))
    path = tmp_path / "m.bin"
    model.save_model(str(path))
    loaded = classifier.load_model(path)
    scores = classifier.positive_probability(loaded, [classifier.prepare_text(t) for t in TOXIC + CLEAN])
    assert scores.dtype == np.float32 and scores[:5].min() > scores[5:].max()
    assert classifier.positive_probability(loaded, []).shape == (0,)
    with pytest.raises(CurateError, match="no label 'nsfw'"):
        classifier.load_model(path, "nsfw")
    (tmp_path / "junk.bin").write_bytes(b"not a model")
    with pytest.raises(CurateError, match="not a fastText model"):
        classifier.load_model(tmp_path / "junk.bin")


def test_cli_trains_reports_and_saves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_csv(tmp_path / "d.csv", [(t, "1") for t in TOXIC * 10] + [(t, "2") for t in CLEAN * 10])
    model = tmp_path / "out" / "model.bin"
    rc = main(["classifier", "train", "--input", str(data), "--positive", "1", "--output", str(model), "--epochs", "20", "--seed", "1"])
    out = capsys.readouterr().out
    assert rc == 0 and model.is_file()
    assert "trained on 80 of 100 records (50 toxic)" in out and "roc_auc=" in out and "precision=" in out
    saved = classifier.load_model(model)
    assert sorted(saved.get_labels()) == ["__label__non_toxic", "__label__toxic"]
    toxic, clean = classifier.positive_probability(saved, [classifier.prepare_text(TOXIC[0]), classifier.prepare_text(CLEAN[0])])
    assert toxic > 0.5 > clean  # the saved model is the trained one, not just a loadable file


def test_cli_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_csv(tmp_path / "d.csv", [("a", "1"), ("b", "0")])
    rc = main(["classifier", "train", "--input", str(data), "--text-column", "tweet", "--output", str(tmp_path / "m.bin")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "no column 'tweet'; columns: id, text, label" in err
    rc = main(["classifier", "train", "--input", str(tmp_path / "missing.csv"), "--output", str(tmp_path / "m.bin")])
    assert rc == 2 and "input not found" in capsys.readouterr().err


def test_cli_on_davidson(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The full command on the real data, with one epoch to stay quick."""
    model = tmp_path / "davidson.bin"
    argv = ["classifier", "train", "--input", str(shared_data / "hate-speech-davidson" / "labeled_data.csv"),
            "--text-column", "tweet", "--label-column", "class", "--positive", "0", "1", "--output", str(model), "--epochs", "1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "of 24,783 records (20,620 toxic)" in out
    auc = float(out.split("roc_auc=")[1].split()[0])
    assert auc >= 0.975  # measured: 0.984 after one epoch, 0.985 after two (the default)


# ---- positives/negatives files, refusals, quantization, `classifier eval` ---------------------------

PROSE = ["The committee agreed on the budget after a long debate about schools.",
         "She walked along the river and thought about the letter her brother had sent.",
         "Prices of coffee rose sharply in the second quarter, traders said on Monday.",
         "The museum opened a new wing devoted to the history of printing in Europe."]
SPAM = ["click here buy now cheap pills free shipping best price click here",
        "home | about | contact | login | register | cart | sitemap | privacy",
        "casino bonus free spins win big casino bonus jackpot online casino now",
        "share tweet pin email print share tweet pin email print share tweet"]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    opener = __import__("gzip").open if path.name.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(record) + "\n" for record in records)
    return path


def test_train_from_positive_and_negative_files_then_eval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    books = tmp_path / "books"
    books.mkdir()
    for i, text in enumerate(PROSE):
        (books / f"book{i}.txt").write_text("\n".join(text.split(" ")) * 10, encoding="utf-8")  # hard-wrapped
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"body": PROSE * 10}), tmp_path / "news.parquet")
    web = write_jsonl(tmp_path / "web.jsonl.gz", [{"id": str(i), "body": SPAM[i % 4]} for i in range(60)])
    model = tmp_path / "q.bin"
    argv = ["classifier", "train", "--positives", str(books), str(tmp_path / "news.parquet"), "--negatives", str(web),
            "--text-field", "body", "--labels", "hq", "lq", "--chunk-words", "12", "--epochs", "20", "--output", str(model)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "of 104 records (44 hq), as" in out and "positive label 'hq'" in out
    assert set(classifier.load_model(model, "hq").get_labels()) == {"__label__hq", "__label__lq"}
    assert main(["classifier", "eval", str(model), "--label", "hq", "--positives", str(tmp_path / "news.parquet"),
                 "--negatives", str(web), "--text-field", "body"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["test", "set", "docs", "positive", "roc_auc"] and "length_auc" in lines[0]
    rows = {line.split()[0]: line.split() for line in lines[1:-1]}
    assert set(rows) == {str(tmp_path / "news.parquet"), str(web), "all"}
    assert rows["all"][1:3] == ["100", "40"] and float(rows["all"][3]) > 0.95  # separable toy classes


def test_id_split_is_fixed_and_filters_records(tmp_path: Path) -> None:
    parts = [classifier.id_split(str(i)) for i in range(10_000)]
    assert 0.18 < parts.count("held_out") / len(parts) < 0.22
    assert classifier.id_split("reuters-1") == classifier.id_split("reuters-1")
    data = write_jsonl(tmp_path / "d.jsonl", [{"id": str(i), "text": f"doc {i}"} for i in range(200)])
    train = classifier.read_texts(data, split="train")
    held = classifier.read_texts(data, split="held_out")
    assert len(train) + len(held) == 200 and not set(train) & set(held)
    assert held == [f"doc {i}" for i in range(200) if classifier.id_split(str(i)) == "held_out"]


def test_more_than_two_label_values_need_positive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_csv(tmp_path / "d.csv", [("a", "0"), ("b", "1"), ("c", "2")] * 5)
    rc = main(["classifier", "train", "--input", str(data), "--output", str(tmp_path / "m.bin")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "has 3 values (0, 1, 2)" in err and "--positive" in err
    texts, labels = classifier.read_labelled(data, "text", "label", ["2"])
    assert sum(labels) == 5
    two = write_jsonl(tmp_path / "d.jsonl", [{"text": "x", "label": True}, {"text": "y", "label": False}])
    assert classifier.read_labelled(two, "text", "label")[1] == [True, False]  # two values: 1/true/toxic is positive


@pytest.mark.parametrize("name", ["junk.jsonl", "junk.csv", "junk.txt", "junk.jsonl.gz", "junk.parquet"])
def test_binary_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    junk = tmp_path / name
    junk.write_bytes(bytes(range(256)) * 40)
    good = write_jsonl(tmp_path / "good.jsonl", [{"text": t} for t in PROSE])
    flag = ["--input", str(junk)] if name.endswith(".csv") else ["--positives", str(good), "--negatives", str(junk)]
    rc = main(["classifier", "train", *flag, "--output", str(tmp_path / "m.bin")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and str(junk) in err and "internal error" not in err


def test_cli_refuses_mixed_or_one_sided_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", [{"text": t, "label": 1} for t in PROSE])
    for argv in (["--positives", str(good)], ["--input", str(good), "--negatives", str(good)], []):
        assert main(["classifier", "train", *argv, "--output", str(tmp_path / "m.bin")]) == 2
        assert capsys.readouterr().err.startswith("curate: error: give --input")
    assert main(["classifier", "eval", str(tmp_path / "none.bin"), "--test", str(good)]) == 2
    assert "model not found" in capsys.readouterr().err


def test_large_models_are_quantized(tmp_path: Path) -> None:
    # a low learning rate: fastText now and then meets NaN on a few identical toy lines at 0.5
    options = classifier.TrainOptions(epochs=5, dim=8, learning_rate=0.1, quantize_over=1_000, quantize_rows=500)
    model = classifier.train(TOXIC * 4 + CLEAN * 4, [True] * 20 + [False] * 20, options)
    assert model.is_quantized()
    model.save_model(str(tmp_path / "m.bin"))
    assert (tmp_path / "m.bin").stat().st_size < 100_000
    unquantized = classifier.TrainOptions(epochs=5, dim=8, learning_rate=0.1, quantize_over=10**12)
    assert not classifier.train(TOXIC * 4 + CLEAN * 4, [True] * 20 + [False] * 20, unquantized).is_quantized()


def test_prepare_text_undoes_formatting() -> None:
    """Hard wrapping and light tokenisation give the same tokens as the plain text."""
    plain = "O'Reilly's book isn't out; she'd said so."
    assert classifier.prepare_text("O'Reilly 's book is n't out ;\nshe 'd said\nso .") == classifier.prepare_text(plain)
    assert classifier.prepare_text("do n't") == classifier.prepare_text("don't") == "don ' t"


def test_eval_labelled_test_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--test` scores each labelled file on its own row, beside the length baseline."""
    train = write_csv(tmp_path / "train.csv", [(t, "1") for t in TOXIC * 10] + [(t, "0") for t in CLEAN * 10])
    model = tmp_path / "m.bin"
    assert main(["classifier", "train", "--input", str(train), "--epochs", "20", "--output", str(model)]) == 0
    long_clean = [f"{text}, and the rest of a much longer and calmer sentence" for text in CLEAN]
    test = write_csv(tmp_path / "test.csv", [(t, "1") for t in TOXIC] + [(t, "0") for t in long_clean])
    capsys.readouterr()
    assert main(["classifier", "eval", str(model), "--test", str(test), str(train)]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:-1]]
    assert [row[0] for row in rows] == [str(test), str(train)]
    assert rows[0][1:3] == ["10", "5"] and float(rows[0][3]) == 1.0 and float(rows[0][4]) == 0.0  # shorter = toxic here
