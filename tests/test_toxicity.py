"""The toxicity stage: word-list matching on crafted text, and measured figures on real data.

Measured on the Davidson tweets (seeded 80/20 split, dev part), on clean English prose cut into
50-300-word paragraphs (Gutenberg books, WikiText-2, tinyshakespeare) and on clean lingua sentences
(de, fr, es, ru) grouped into paragraphs. The floors and ceilings sit a little outside what was
measured (see the README's toxicity section) so that they catch regressions, not noise.
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml

from curate import classifier, models
from curate.config import validate_options
from curate.document import Document
from curate.errors import ConfigError
from curate.stages.base import split_verdict
from curate.profanity import ProfanityModel
from curate.stages import toxicity as toxicity_module
from curate.stages.toxicity import TermTable, Toxicity, WordLists, combine_scores, read_list
from curate.text import words
from curate.stats import StageStats

FOREIGN = ("de", "fr", "es", "ru")
REPO = Path(__file__).resolve().parents[1]


def docs_of(texts: list[str], language: str | None = None) -> list[Document]:
    return [Document(id=str(i), text=t, signals={"language": language} if language else {}) for i, t in enumerate(texts)]


def set_up(**options) -> Toxicity:
    """A stage ready for `process`, as calling it (or the pipeline) makes it."""
    stage = Toxicity(**options)
    stage.ensure_setup()
    return stage


def annotate(texts: list[str], language: str | None = None, **options) -> dict[str, np.ndarray]:
    """Run the stage in annotate mode; every signal as an array, NaN where a document has none."""
    stage = Toxicity(mode="annotate", **options)
    stage.ensure_setup()
    docs = docs_of(texts, language)
    stage.process(docs)
    return {name: np.array([d.signals.get(name, np.nan) for d in docs], dtype=np.float64) for name in stage.signals}


@pytest.fixture(scope="module")
def wordlists() -> WordLists:
    return WordLists.load()


# ---- word lists on crafted text -------------------------------------------------------------


def test_wordlist_matches_whole_words_and_prefixes_case_insensitively(wordlists: WordLists) -> None:
    assert wordlists.score("You are a FUCKING idiot", "en") > 0.99
    assert wordlists.score("what a motherfucker", "en") > 0.99
    # Word boundaries: a term inside a longer word is no hit (the Scunthorpe problem).
    for clean in ("Scunthorpe United won", "the class will assess the passage", "a fickle, shitake-free cocktail"):
        assert wordlists.score(clean, "en") == 0.0, clean


def test_wordlist_phrases_and_weights(wordlists: WordLists) -> None:
    assert wordlists.score("go and kill yourself now", "en") > 0.99
    assert wordlists.score("kill the process yourself", "en") == 0.0
    # Light words (also ordinary words) weigh less than strong ones at the same density.
    strong = wordlists.score("cunt " + "word " * 99, "en")
    light = wordlists.score("cock " + "word " * 99, "en")
    assert strong == pytest.approx(0.5, abs=1e-9)  # one full-weight hit per 100 words scores 0.5
    assert 0.0 < light < 0.2


def test_wordlist_score_falls_with_length(wordlists: WordLists) -> None:
    short = wordlists.score("shut up bitch", "en")
    long = wordlists.score("shut up bitch " + "and then the meeting went on as planned " * 30, "en")
    assert short > 0.99 > 0.5 > long > 0.0


def test_wordlist_uses_the_document_language(wordlists: WordLists) -> None:
    assert wordlists.score("Das ist doch Scheiße, du Arschloch", "de") > 0.99
    assert wordlists.score("Иди нахуй, сука", "ru") > 0.99
    assert wordlists.score("Ta gueule, connard", "fr") > 0.99
    assert wordlists.score("Eres un pendejo, hijo de puta", "es") > 0.99
    # Dutch `hoe` (how) is an English slur; Dutch text is matched with the Dutch list only.
    assert wordlists.score("hoe gaat het met je", "nl") == 0.0
    assert wordlists.score("hoe gaat het met je", None) > 0.5  # unknown language: every list applies
    # French `con` alone is Spanish "with": the French list has it only in phrases.
    assert wordlists.score("café con leche", "es") == 0.0
    assert wordlists.score("café con leche", None) == 0.0
    assert wordlists.score("text in a language without a list", "sv") is None


def test_list_file_format(tmp_path: Path) -> None:
    path = tmp_path / "xx.txt"
    path.write_text("# comment\nbadword\nlight 0.25\nbad prefix*\nstem*  # trailing comment\n", encoding="utf-8")
    table = read_list(path)
    assert table.exact == {"badword": 1.0, "light": 0.25}
    assert table.prefixes == {"stem": 1.0}
    assert table.weighted_hits("a bad prefixes stemming light x".split()) == pytest.approx(2.25)
    path.write_text("word 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="weight"):
        read_list(path)


# ---- the stage --------------------------------------------------------------------------------


def test_stage_filters_and_names_the_scorer() -> None:
    stage = Toxicity(scorer="wordlist")
    stats = StageStats(name="toxicity")
    kept, removed = stage(docs_of(["have a lovely day", "fuck off you bitch", "Hallo zusammen"]), stats)
    assert [d.text for d in kept] == ["have a lovely day", "Hallo zusammen"]
    assert removed[0][1] == "toxicity_score_above_threshold:wordlist"
    assert stats.removed[split_verdict("toxicity", removed[0][1])[0]] == 1
    assert kept[0].signals["toxicity_score"] == 0.0
    assert sum(stats.histograms["toxicity_score"].counts) == 3


def test_stage_combines_scorers_and_records_each() -> None:
    texts = ["fuck you, you stupid bitch", "the weather is fine today", "Du bist ein Arschloch"]
    docs = docs_of(texts)
    docs[2].signals["language"] = "de"
    stage = set_up()  # default: the shipped fastText model + wordlist + profanity_check, mean
    verdicts = stage.process(docs)
    assert verdicts[0] is not None and verdicts[1] is None and verdicts[2] is not None
    first = docs[0].signals
    parts = [first[f"toxicity_{name}"] for name in ("fasttext", "wordlist", "profanity_check")]
    assert first["toxicity_score"] == pytest.approx(sum(parts) / 3)
    # profanity_check is English only: the German document is scored by fastText and the word list.
    assert "toxicity_profanity_check" not in docs[2].signals
    german = docs[2].signals
    assert german["toxicity_score"] == pytest.approx((german["toxicity_fasttext"] + german["toxicity_wordlist"]) / 2)
    assert set(stage.output_signals()) == {"toxicity_score", "toxicity_fasttext", "toxicity_wordlist", "toxicity_profanity_check"}


def test_combine_scores_merges_only_the_scorers_that_apply() -> None:
    nan = np.nan
    scores = np.array([[0.2, nan, nan, 0.9], [0.6, 0.4, nan, nan]])  # scorers x documents
    mean, top = combine_scores(scores, "mean"), combine_scores(scores, "max")
    assert mean[:2] == pytest.approx([0.4, 0.4]) and top[:2] == pytest.approx([0.6, 0.4])
    assert np.isnan(mean[2]) and np.isnan(top[2]) and mean[3] == top[3] == pytest.approx(0.9)


def test_shipped_model_scores_only_its_languages() -> None:
    """The shipped model is trained on English and German; elsewhere the other scorers decide."""
    texts = {"en": "shut up you stupid idiot", "de": "halt die fresse du dummer idiot", "fr": "ferme ta gueule espèce d'idiot",
             "ru": "заткнись, тупой идиот", "zh": "闭嘴你这个白痴"}
    docs = [Document(id=lang, text=text, signals={"language": lang}) for lang, text in texts.items()]
    # No language stage, or an undecided one: every scorer that can apply does.
    docs += [Document(id="none", text=texts["en"]), Document(id="und", text=texts["de"], signals={"language": "und"})]
    set_up(mode="annotate").process(docs)
    scored = {d.id for d in docs if "toxicity_fasttext" in d.signals}
    assert scored == {"en", "de", "none", "und"}
    assert all(d.signals["toxicity_fasttext"] > 0.5 for d in docs if d.id in scored)
    assert "toxicity_wordlist" in docs[2].signals and "toxicity_wordlist" in docs[3].signals  # fr, ru: word lists
    assert "toxicity_score" not in docs[4].signals  # zh: no scorer applies
    # A configured model is applied to every language unless `model_languages` says otherwise.
    model = str(models.toxicity_model_path())
    assert Toxicity(scorer="fasttext", model=model).model_languages is None
    assert Toxicity(scorer="fasttext", model=model, model_languages=["fr"]).model_languages == {"fr"}


def test_documents_no_scorer_applies_to_are_kept_unscored() -> None:
    docs = docs_of(["Det här är en svensk text", ""], language="sv")
    assert set_up(scorer="wordlist").process(docs) == [None, None]
    assert "toxicity_score" not in docs[0].signals
    empty = docs_of([""], language="en")
    assert set_up(scorer="wordlist").process(empty) == [None] and empty[0].signals["toxicity_score"] == 0.0


def test_annotate_mode_keeps_and_says_why() -> None:
    stage = Toxicity(scorer="wordlist", mode="annotate")
    kept, removed = stage(docs_of(["fuck this shit"]), StageStats(name="toxicity"))
    assert not removed and kept[0].signals["toxicity_reason"] == "toxicity_score_above_threshold:wordlist"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scorer": "perspective"}, "toxicity.scorer"),
        ({"scorer": ["wordlist", "wordlist"]}, "distinct"),
        ({"scorer": []}, "distinct"),
        ({"threshold": 1.5}, ">= 0 and <= 1"),
        ({"scorer": "wordlist", "model": str(models.toxicity_model_path())}, "only used by scorer 'fasttext'"),
        ({"wordlist_languages": ["xx"]}, "no list for xx"),
        ({"level": "paragraph"}, "level"),
    ],
)
def test_bad_options_name_the_key(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        validate_options("toxicity", options, where="toxicity")
        Toxicity(**options).setup()


def test_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="not found"):
        Toxicity(scorer="fasttext", model=str(tmp_path / "missing.bin")).setup()


# ---- measured on real data --------------------------------------------------------------------


def paragraphs(text: str, low: int = 50, high: int = 300) -> list[str]:
    """Blank-line blocks merged until they hold `low` words, cut into pieces of at most `high`."""
    out: list[str] = []
    pending: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        pending += block.split()
        if len(pending) >= low:
            out += [" ".join(pending[i : i + high]) for i in range(0, len(pending), high) if len(pending[i : i + high]) >= low]
            pending = []
    return out


@pytest.fixture(scope="module")
def clean_english(shared_data: Path) -> dict[str, list[str]]:
    books = {p.stem: p.read_bytes().decode("utf-8", "replace").replace("\r\n", "\n") for p in sorted((shared_data / "gutenberg-nltk").glob("*.txt"))}
    for split in ("valid", "test"):
        raw = (shared_data / "wikitext2-valid-test" / f"{split}.txt").read_text(encoding="utf-8")
        books[f"wikitext-{split}"] = "\n\n".join(line for line in raw.split("\n") if not line.strip().startswith("="))
    books["tinyshakespeare"] = (shared_data / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")
    return {name: paragraphs(text) for name, text in books.items()}


@pytest.fixture(scope="module")
def clean_foreign(shared_data: Path) -> dict[str, list[str]]:
    folder = shared_data / "lingua-langid-testdata" / "language-testdata" / "sentences"
    return {lang: paragraphs((folder / f"{lang}.txt").read_text(encoding="utf-8").replace("\n", "\n\n")) for lang in FOREIGN}


@pytest.fixture(scope="module")
def davidson(shared_data: Path) -> tuple[list[str], list[bool], list[int], list[int]]:
    texts, labels = classifier.read_labelled(shared_data / "hate-speech-davidson" / "labeled_data.csv", "tweet", "class", ["0", "1"])
    train, dev = classifier.split_indices(len(texts), dev_fraction=0.2, seed=0)
    return texts, labels, train, dev


@pytest.fixture(scope="module")
def default_scores(davidson, clean_english, clean_foreign) -> dict[str, dict[str, np.ndarray]]:
    """The default stage (shipped fastText model + wordlist + profanity_check, mean) over every evaluation set, once."""
    texts, _, _, dev = davidson
    prose = [p for book in clean_english.values() for p in book]
    scores = {"davidson": annotate([texts[i] for i in dev]), "prose": annotate(prose)}
    for lang, paras in clean_foreign.items():
        scores[f"{lang}:tagged"] = annotate(paras, language=lang)
        scores[f"{lang}:untagged"] = annotate(paras)
    return scores


def dev_metrics(davidson, scores: np.ndarray, threshold: float = 0.5) -> classifier.Metrics:
    _, labels, _, dev = davidson
    return classifier.evaluate(np.nan_to_num(scores), [labels[i] for i in dev], threshold)


def flagged_share(scores: np.ndarray, threshold: float = 0.5) -> float:
    return float((np.nan_to_num(scores) >= threshold).mean())


def test_clean_data_is_what_the_figures_assume(clean_english, clean_foreign, davidson) -> None:
    assert sum(len(p) for p in clean_english.values()) > 14_000
    assert all(len(paras) > 150 for paras in clean_foreign.values())
    texts, labels, train, dev = davidson
    assert len(texts) == 24_783 and sum(labels) == 20_620 and len(dev) == 4957


def test_wordlist_on_davidson_and_clean_prose(davidson, default_scores) -> None:
    # measured: precision 0.985, recall 0.967, ROC-AUC 0.968; clean prose flagged 0.12%
    m = dev_metrics(davidson, default_scores["davidson"]["toxicity_wordlist"])
    assert m.precision >= 0.97 and m.recall >= 0.95 and m.roc_auc >= 0.95
    assert flagged_share(default_scores["prose"]["toxicity_wordlist"]) < 0.005


def test_profanity_check_on_davidson_and_clean_prose(davidson, default_scores) -> None:
    # measured: precision 0.987, recall 0.972, ROC-AUC 0.991 (its training data includes Davidson's
    # tweets, so this flatters it); clean prose flagged 4.0% at 0.5: alone it needs a higher threshold
    m = dev_metrics(davidson, default_scores["davidson"]["toxicity_profanity_check"])
    assert m.precision >= 0.97 and m.recall >= 0.95 and m.roc_auc >= 0.98
    assert 0.02 < flagged_share(default_scores["prose"]["toxicity_profanity_check"]) < 0.06
    assert flagged_share(default_scores["prose"]["toxicity_profanity_check"], 0.8) < 0.02


def test_default_combination_on_davidson_and_clean_prose(davidson, default_scores, clean_english) -> None:
    # measured: precision 0.990, recall 0.965, ROC-AUC 0.989; clean prose flagged 0.45%, worst book (Moby Dick) 1.49%
    m = dev_metrics(davidson, default_scores["davidson"]["toxicity_score"])
    assert m.precision >= 0.98 and m.recall >= 0.95 and m.roc_auc >= 0.985
    prose = default_scores["prose"]["toxicity_score"]
    assert flagged_share(prose) < 0.01  # the brief's bar is 2%
    start = 0
    for name, book in clean_english.items():
        assert flagged_share(prose[start : start + len(book)]) < 0.03, name
        start += len(book)


@pytest.mark.parametrize("lang", FOREIGN)
def test_default_combination_on_clean_foreign_text(lang: str, default_scores) -> None:
    # measured with the language known: de 0.4%, fr 0%, es 0%, ru 1.1% (two paragraphs with real swear
    # words); unknown (every list, profanity_check and fastText): 0% each
    assert flagged_share(default_scores[f"{lang}:tagged"]["toxicity_score"]) < 0.02
    assert flagged_share(default_scores[f"{lang}:untagged"]["toxicity_score"]) < 0.02


def test_default_removes_at_most_one_percent_of_clean_sentences(shared_data: Path) -> None:
    """The Leipzig sentences of lingua's test data, one document each, language known."""
    folder = shared_data / "lingua-langid-testdata" / "language-testdata" / "sentences"
    stage = set_up()
    removed = {}
    for lang in ("en", *FOREIGN):
        sentences = (folder / f"{lang}.txt").read_text(encoding="utf-8").splitlines()
        removed[lang] = sum(v is not None for v in stage.process(docs_of(sentences, lang))) / len(sentences)
    # measured: en 0%, de 0.1%, fr 0%, es 0%, ru 0.5% (five sentences, each with a real swear word)
    assert all(share <= 0.01 for share in removed.values()), removed


# ---- a fastText classifier trained here, loaded by the stage ------------------------------------


@pytest.fixture(scope="module")
def small_model(davidson, tmp_path_factory) -> Path:
    """Trained on 6,000 training tweets for 3 epochs (seconds); the full set and 5 epochs do a little better."""
    texts, labels, train, _ = davidson
    subset = train[:6000]
    model = classifier.train([texts[i] for i in subset], [labels[i] for i in subset], classifier.TrainOptions(epochs=3, dim=16))
    path = tmp_path_factory.mktemp("model") / "davidson.bin"
    model.save_model(str(path))
    return path


def test_trained_fasttext_model_in_the_stage(davidson, small_model, clean_english, default_scores) -> None:
    texts, _, _, dev = davidson
    prose = [p for book in clean_english.values() for p in book]
    on_dev = annotate([texts[i] for i in dev], scorer="fasttext", model=str(small_model))["toxicity_score"]
    on_prose = annotate(prose, scorer="fasttext", model=str(small_model))["toxicity_score"]
    # measured (6k tweets, 3 epochs): precision 0.983, recall 0.946, ROC-AUC 0.980; prose flagged 0.5%
    m = dev_metrics(davidson, on_dev)
    assert m.precision >= 0.97 and m.recall >= 0.92 and m.roc_auc >= 0.97
    assert flagged_share(on_prose) < 0.02
    # All three scorers, mean: the best ROC-AUC measured (0.992 with the full-data model).
    together = np.nanmean(np.vstack([on_dev, default_scores["davidson"]["toxicity_wordlist"], default_scores["davidson"]["toxicity_profanity_check"]]), axis=0)
    assert dev_metrics(davidson, together).roc_auc >= 0.985


def test_fasttext_sentence_level_scores_the_worst_sentence(small_model) -> None:
    text = "The committee met on Tuesday to review the budget.\nShut up you stupid bitch!"
    document = annotate([text], scorer="fasttext", model=str(small_model))["toxicity_score"][0]
    sentence = annotate([text], scorer="fasttext", model=str(small_model), level="sentence")["toxicity_score"][0]
    assert sentence > 0.9 and sentence >= document


def test_fasttext_label_must_exist(small_model) -> None:
    with pytest.raises(Exception, match="no label 'nsfw'"):
        Toxicity(scorer="fasttext", model=str(small_model), positive_label="nsfw").setup()


# ---- the shipped model (curate/data/toxicity.ftz, `make toxicity-model`) -----------------------


def read_set(shared_data: Path, name: str) -> list[dict]:
    with gzip.open(shared_data / "toxicity-train" / name / "data.jsonl.gz", "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def test_shipped_model_on_a_platform_it_never_saw(shared_data: Path) -> None:
    """Stormfront forum sentences (CC BY-SA, so never trained on): every 4th of 10,527, 298 hateful."""
    rows = read_set(shared_data, "stormfront_hate_speech18")[::4]
    texts, labels = [r["text"] for r in rows], np.array([r["label"] == 1 for r in rows])
    assert len(rows) == 2632 and labels.sum() == 298
    scores = annotate(texts, language="en")
    # measured on this sample: default 0.778, fastText alone 0.744, profanity_check alone 0.736, word lists 0.540
    assert classifier.roc_auc(scores["toxicity_score"], labels) >= 0.74
    assert classifier.roc_auc(scores["toxicity_fasttext"], labels) >= 0.70
    assert models.toxicity_model_path().stat().st_size <= 5_000_000


def test_make_toxicity_model_rebuilds_from_a_slice(shared_data: Path, tmp_path: Path) -> None:
    """The make target's own command on 100 toxic and 100 clean rows of each training set."""
    for name in models.TOXICITY_SETS:
        rows = read_set(shared_data, name)
        picked = [r for r in rows if r["label"] == 1][:100] + [r for r in rows if r["label"] == 0][:100]
        (tmp_path / name).mkdir()
        with gzip.open(tmp_path / name / "data.jsonl.gz", "wt", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r) + "\n" for r in picked)
    output = tmp_path / "toxicity.ftz"
    run = subprocess.run(
        ["make", "-s", "-C", str(REPO), "toxicity-model", f"VENV={sys.prefix}", f"TOXICITY_DATA={tmp_path}", f"TOXICITY_MODEL={output}"],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert f"of {200 * len(models.TOXICITY_SETS):,} records ({100 * len(models.TOXICITY_SETS):,} toxic)" in run.stdout
    stage = Toxicity(scorer="fasttext", model=str(output), mode="annotate")
    stage.ensure_setup()
    assert set(stage.model.get_labels()) == {"__label__toxic", "__label__non_toxic"}
    assert stage.model.is_quantized()
    missing = subprocess.run(["make", "-s", "-C", str(REPO), "toxicity-model", f"VENV={sys.prefix}", f"TOXICITY_DATA={tmp_path / 'none'}",
                              f"TOXICITY_MODEL={output}"], capture_output=True, text=True, timeout=300)
    assert missing.returncode != 0 and "toxicity training data not found" in missing.stderr


def test_profanity_model_scores_as_alt_profanity_check(shared_data: Path, davidson: tuple) -> None:
    """The numpy scorer gives alt-profanity-check's own scores on web pages in many scripts, toxic tweets and
    edge cases (stop words, one-letter words, casing that changes length, underscores, combining marks)."""
    from profanity_check import predict_prob

    with gzip.open(shared_data / "web-text-turku-register" / "docs.jsonl.gz", "rt", encoding="utf-8") as handle:
        pages = [json.loads(line)["text"] for line in handle][::8]
    tweets = davidson[0]
    edge = ["", "a", "the and of", "FUCK you", "İstanbul shit_head x2 ß", "fuck\u0301ing __ ab_cd", "日本語 fuck 123",
            "fuck " * 1000, "\n\t ", "ﬁsh FUCKİNG"]
    model = ProfanityModel.load()
    for texts in (pages, tweets[:3000], edge):
        ours, theirs = model.predict_prob(texts), predict_prob(texts)
        assert ours.shape == theirs.shape and np.abs(ours - theirs).max() <= 1e-9
    assert model.predict_prob([]).shape == (0,)


def test_profanity_model_is_rederived_from_the_installed_package(tmp_path: Path) -> None:
    """`make profanity-model`'s script writes the arrays that ship, from the installed alt-profanity-check."""
    output = tmp_path / "profanity-check.npz"
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "profanity_model.py"), "--output", str(output)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    derived, shipped = ProfanityModel.load(output), ProfanityModel.load()
    assert derived.words == shipped.words and len(derived.words) > 10_000
    for name in ("idf", "coef", "intercept", "slope", "offset"):
        assert np.array_equal(getattr(derived, name), getattr(shipped, name)), name


def test_text_pipeline_runs_without_sklearn(shared_data: Path, tmp_path: Path) -> None:
    """web.yaml's text stages on register pages, English ones scored by profanity_check, never import
    sklearn (nor the package's pickles: about a second a worker) or datasketch (minhash's LSH optimiser)."""
    pipeline = [stage for stage in yaml.safe_load((REPO / "pipelines" / "web.yaml").read_text())["stages"] if "extract" not in stage]
    corpus = tmp_path / "docs.jsonl"
    with gzip.open(shared_data / "web-text-turku-register" / "docs.jsonl.gz", "rt", encoding="utf-8") as handle:
        corpus.write_text("".join(line for i, line in enumerate(handle) if i % 60 == 0), encoding="utf-8")
    script = (
        "import json, sys; from curate.api import run; "
        f"run({{'stages': {pipeline!r}}}, inputs={str(corpus)!r}, output={str(tmp_path / 'out')!r}, workers=1); "  # in this process
        "print(json.dumps(sorted(m for m in ('sklearn', 'profanity_check', 'joblib', 'datasketch') if m in sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
    toxicity = next(s for s in json.loads((tmp_path / "out" / "stats.json").read_text())["stages"] if s["name"] == "toxicity")
    assert toxicity["histograms"]["toxicity_profanity_check"]["counts"] and sum(toxicity["histograms"]["toxicity_profanity_check"]["counts"]) >= 10


def _plain_word_hits(table, tokens: list[str]) -> float:
    """Every distinct word's weight (the highest of its exact entry and every prefix it starts with) times its
    count, summed in first-occurrence order: what `weighted_hits` computes for single words."""
    def weight(word: str) -> float:
        return max([table.exact.get(word, 0.0)] + [w for prefix, w in table.prefixes.items() if word.startswith(prefix)])

    return sum(weight(word) * count for word, count in Counter(tokens).items())


@pytest.mark.parametrize("cache_size", [1_000_000, 3])
def test_word_hits_equal_the_plain_sum(shared_data: Path, davidson, wordlists: WordLists, monkeypatch, cache_size: int) -> None:
    """The set-based lookup gives the plain per-word sum bit for bit, in every list and their union, on
    Davidson tweets (where listed words are common) and clean sentences, with the word cache full too."""
    monkeypatch.setattr(toxicity_module, "WORD_CACHE_SIZE", cache_size)
    texts = davidson[0]
    folder = shared_data / "lingua-langid-testdata" / "language-testdata" / "sentences"
    hit = 0
    for name, listed in [*wordlists.tables.items(), ("union", wordlists.union)]:
        table = TermTable()  # single words only: phrases are matched as before
        for word, weight in listed.exact.items():
            table.add(word, weight)
        for prefix, weight in listed.prefixes.items():
            table.add(prefix + "*", weight)
        sentences = (folder / f"{name}.txt").read_text(encoding="utf-8").splitlines()[:300] if name != "union" else []
        for text in texts[:3000] + sentences + ["Scunthorpe assassins", "fuckfuck fuckers", "a"]:
            tokens = words(text.lower())
            assert table.weighted_hits(tokens) == _plain_word_hits(table, tokens), (name, text)
            hit += table.weighted_hits(tokens) > 0
    assert hit > 1000  # the lists do match here


def test_prefix_index_follows_every_add() -> None:
    """The prefix lengths and heads kept up as prefixes are added (longer, then shorter, then between) are
    those computed from all the prefixes at once, and a word still matches its prefix after each add."""
    table = TermTable()
    for prefix, word in [("assho", "assholes"), ("fuck", "fucking"), ("fuckhea", "fuckheads"), ("wank", "wankers"), ("tw", "twat")]:
        table.add(prefix + "*", 1.0)
        shortest = min(map(len, table.prefixes))
        assert table._prefix_lengths == sorted({len(p) for p in table.prefixes})
        assert table._prefix_heads == {p[:shortest] for p in table.prefixes}
        assert table.word_weight(word) == 1.0 and table.word_weight("clean") == 0.0
