"""curate.fasttext_quantized against the `fasttext` package: the same labels and bit-identical probabilities."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from curate import fasttext_quantized
from curate.fasttext_quantized import QuantizedFastText, UnsupportedModel, load, read_model
from curate.models import lid_model_path, load_lid_model, toxicity_model_path

fasttext = pytest.importorskip("fasttext")


@pytest.fixture(scope="module")
def models() -> tuple[QuantizedFastText, object]:
    path = lid_model_path()
    return QuantizedFastText(path), fasttext.load_model(str(path))


def _assert_same(ours: tuple, reference: tuple) -> None:
    assert len(ours[0]) == len(reference[0])
    for labels, probabilities, want_labels, want_probabilities in zip(*ours, *reference):
        assert labels == want_labels
        assert probabilities.dtype == want_probabilities.dtype and np.array_equal(probabilities, want_probabilities)


def _compare(models, lines: list[str], k: int, threshold: float = 0.0, batch: int = 500) -> None:
    ours, reference = models
    for i in range(0, len(lines), batch):
        _assert_same(ours.predict(lines[i : i + batch], k, threshold), reference.predict(lines[i : i + batch], k, threshold))


SMALL_CASES = [
    "hello world this is a test", "bonjour le monde", "Привет мир", "日本語のテキスト", "", "x",
    "a b </s> c d", "</s>", "hello </s> bonjour le monde",  # reading stops after a `</s>` token
    "__label__en hello", "__label__nope bonjour",  # label-prefixed tokens are not words
    "a\tb\x00c\rd\x0be\x0cf  g\u00a0h",  # fastText's blanks (a no-break space is not one)
    "été " * 40 + "der Kühlschrank", "averyveryverylongwordthatnocacheslotholds" * 3, "ab" * 5000,
]


def test_small_cases_every_k_and_threshold(models):
    for k in (1, 2, 6, 176, -1):
        for threshold in (0.0, 0.001, 0.3):
            _compare(models, SMALL_CASES, k, threshold)
    ours, reference = models
    for text in SMALL_CASES:  # one string: a tuple of labels and float64 probabilities
        mine, theirs = ours.predict(text, k=3), reference.predict(text, k=3)
        assert mine[0] == theirs[0] and mine[1].dtype == theirs[1].dtype and np.array_equal(mine[1], theirs[1])


def test_same_answers_on_the_lingua_test_set(models, shared_data):
    folder = shared_data / "lingua-langid-testdata" / "language-testdata"
    sentences = [line for path in sorted((folder / "sentences").glob("*.txt"))
                 for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    words = [line for path in sorted((folder / "single-words").glob("*.txt"))
             for line in path.read_text(encoding="utf-8").splitlines()[::5] if line.strip()]
    assert len(sentences) > 70_000 and len(words) > 10_000
    _compare(models, sentences, 6)
    _compare(models, words, -1)  # every label, as the script check asks


def test_same_answers_on_register_pages(models, shared_data):
    """Every fourth page as the language stage reads it (10,000 characters, one line), and whole pages."""
    with gzip.open(shared_data / "web-text-turku-register" / "docs.jsonl.gz", "rt", encoding="utf-8") as pages:
        texts = [json.loads(page)["text"] for page in pages][::4]
    assert len(texts) > 4000
    lines = [text[:10_000].replace("\n", " ").encode("utf-8", "replace").decode("utf-8") for text in texts]
    _compare(models, lines, 6)
    _compare(models, [text.replace("\n", " ").encode("utf-8", "replace").decode("utf-8") for text in texts[::8]], 1)


def test_repeated_tokens_read_the_same_from_the_cache(models):
    ours, _ = models
    first = ours.predict(SMALL_CASES, k=6)
    _assert_same(ours.predict(SMALL_CASES, k=6), first)
    assert ours.cache.shape[0] == fasttext_quantized.CACHE_SLOTS  # fixed, however many tokens came


def test_ties_are_answered_by_fasttext(models, monkeypatch):
    ours, reference = models
    kernel = fasttext_quantized._predict_lines

    def every_line_tied(*args):
        found, probabilities, counts = kernel(*args)
        return np.full_like(found, 0), np.zeros_like(probabilities), np.full_like(counts, -1)

    monkeypatch.setattr(fasttext_quantized, "_predict_lines", every_line_tied)
    _assert_same(ours.predict(SMALL_CASES[:4], k=3), reference.predict(SMALL_CASES[:4], k=3))


def test_a_real_tie_is_answered_by_fasttext(models, monkeypatch):
    """"bé" at k=-1 has two labels of equal score: fastText's heap decides their order, so fastText answers."""
    ours, reference = models
    asked = []
    monkeypatch.setattr(ours, "_reference_model", lambda: asked.append(1) or reference)
    _assert_same(ours.predict(["bé", "bonjour"], k=-1), reference.predict(["bé", "bonjour"], k=-1))
    assert len(asked) == 1


def test_a_k_past_the_labels_costs_no_more_than_every_label(models):
    ours, reference = models
    _assert_same(ours.predict(SMALL_CASES, k=10**9), reference.predict(SMALL_CASES, k=-1))


def test_bad_input_fails_as_fasttext_fails(models):
    ours, reference = models
    for model in models:
        with pytest.raises(ValueError):
            model.predict(["two\nlines"])
        with pytest.raises(ValueError):
            model.predict(["text"], k=0)
    with pytest.raises(TypeError):  # the language stage catches it and replaces the surrogate
        ours.predict(["lone \ud800 surrogate"])
    with pytest.raises(TypeError):
        reference.predict(["lone \ud800 surrogate"])
    assert ours.get_labels() == reference.get_labels()


def test_other_models_load_through_fasttext(tmp_path):
    toxicity = toxicity_model_path()  # softmax, word bigrams
    with pytest.raises(UnsupportedModel):
        read_model(toxicity)
    assert not isinstance(load(toxicity), QuantizedFastText)
    garbage = tmp_path / "garbage.ftz"
    garbage.write_bytes(b"\0" * 100)
    with pytest.raises(UnsupportedModel):
        read_model(garbage)
    assert isinstance(load_lid_model(), QuantizedFastText)


def test_models_it_cannot_answer_for_load_through_fasttext(tmp_path):
    """A vocabulary without `</s>` (fastText stops reading a line at one) or a header with minn > maxn."""
    original = lid_model_path().read_bytes()
    no_end = tmp_path / "no-end.ftz"
    no_end.write_bytes(original.replace(b"</s>\0", b"</x>\0", 1))
    minn_at = 8 + 9 * 4  # magic, version, then dim ws epoch minCount neg wordNgrams loss model bucket
    crossed = tmp_path / "crossed.ftz"
    crossed.write_bytes(original[:minn_at] + (5).to_bytes(4, "little") + (3).to_bytes(4, "little") + original[minn_at + 8 :])
    for path in (no_end, crossed):
        with pytest.raises(UnsupportedModel):
            read_model(path)
        model = load(path)
        assert not isinstance(model, QuantizedFastText)
        assert model.predict(["hello </s> bonjour le monde"])[0]  # fasttext reads it


def test_model_file_is_read_whole(models):
    ours, reference = models
    model = read_model(lid_model_path())
    words = reference.get_words()
    assert [word.decode() for word in model.words] == words and model.labels == reference.get_labels()
    assert model.rows.shape == (len(words) + len(model.pruned), reference.get_dimension())
    assert json.loads(json.dumps(model.label_counts)) == reference.get_labels(include_freq=True)[1].tolist()
