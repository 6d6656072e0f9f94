"""language: accuracy on the lingua test set (75 languages) and the register corpus, the fixes around
lid.176 (aliases, script check, lingua's second opinion), and the verdicts."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections import defaultdict

import pytest

from curate import lingua_detectors
from curate.config import parse_config
from curate.document import Document
from curate.errors import ConfigError
from curate.stages import language as language_module
from curate.stages.language import (
    GROUP_OF,
    LONG_TEXT_CHARS,
    Language,
    consulted_detectors,
    lingua_script_answer,
    misplaced_script,
    preload_lingua_models,
    script_counts,
)
from curate.stats import StageStats

# Measured with this stage (README, "language") on the first SENTENCES_PER_LANGUAGE sentences of each
# language (the test reads a sample to stay fast); floors sit a little below.
SENTENCES_PER_LANGUAGE = 100
MEAN_SENTENCE_ACCURACY_FLOOR = 0.95  # 0.961 on 100 per language (0.798 without lingua's second opinion)
SENTENCE_FLOORS = {
    "en": 0.98, "de": 0.98, "fr": 0.98, "es": 0.98, "zh": 0.98, "ru": 0.98,  # measured 0.988-0.999
    "ja": 0.98, "ko": 0.98,  # 0.990 / 0.995 from the model alone, 1.000 / 0.999 with the script check
    "nb": 0.84,  # 0.000 from the model alone (it says `no`), 0.785 with the alias, 0.89 with lingua
    # lid.176's evidence weighs in within a group: hr 0.98, id 0.87, nn 0.90
    "hr": 0.93, "id": 0.82, "nn": 0.85,
    # lingua's Cyrillic detector where lid.176 is unsure: sr 0.92 -> 1.00 (0.85 when lingua's Latin-script
    # detector was asked and said `und`), be 0.94 -> 0.98, bg 0.97 -> 1.00, mn 0.96 -> 1.00
    "sr": 0.95, "be": 0.95, "bg": 0.97, "mn": 0.95,
    "uk": 0.97, "pt": 0.97, "it": 0.97, "pl": 0.97, "nl": 0.95, "ar": 0.97, "hi": 0.95, "vi": 0.97,
    # lid.176 lacks or misses these (0.00-0.86 alone); lingua's answer where lid.176 is unsure: 0.93-0.99
    "af": 0.88, "so": 0.9, "sw": 0.9, "yo": 0.85, "lg": 0.9, "mi": 0.85, "sn": 0.9, "st": 0.88,
    "tn": 0.88, "ts": 0.9, "xh": 0.88, "zu": 0.88,
}  # fmt: skip
REGISTER_PAGES_PER_LANGUAGE = 40
REGISTER_MACRO_FLOOR = 0.96  # measured 0.991 on the first 40 pages of each of the 16 languages
# Two-word texts: the script check lifts Chinese from 0.41 to 0.99 and Japanese from 0.81 to 0.99.
WORD_PAIR_FLOORS = {"zh": 0.95, "ja": 0.95, "ko": 0.98}


@pytest.fixture(scope="module")
def stage() -> Language:
    stage = Language()
    stage.ensure_setup()
    return stage


def _lines(path, limit: int | None = None) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()][:limit]


def _accuracy(stage: Language, path, limit: int | None = None) -> float:
    lines = _lines(path, limit)
    languages, _ = stage.identify(lines)
    return sum(language == path.stem for language in languages) / len(lines)


def test_sentence_accuracy_per_language(stage, shared_data):
    folder = shared_data / "lingua-langid-testdata" / "language-testdata" / "sentences"
    accuracy = {path.stem: _accuracy(stage, path, SENTENCES_PER_LANGUAGE) for path in sorted(folder.glob("*.txt"))}
    assert len(accuracy) == 75
    assert sum(accuracy.values()) / len(accuracy) >= MEAN_SENTENCE_ACCURACY_FLOOR
    below = {lang: round(accuracy[lang], 3) for lang, floor in SENTENCE_FLOORS.items() if accuracy[lang] < floor}
    assert not below, f"below their floors: {below}"


def test_register_corpus_macro_accuracy(stage, shared_data):
    """Real web pages whose language comes from the corpus, not a model (`no` read as `nb`)."""
    pages: dict[str, list[str]] = defaultdict(list)
    with gzip.open(shared_data / "web-text-turku-register" / "docs.jsonl.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            label = {"no": "nb"}.get(row["lang_label"], row["lang_label"])
            if len(pages[label]) < REGISTER_PAGES_PER_LANGUAGE:
                pages[label].append(row["text"])
    accuracy = {label: sum(lang == label for lang in stage.identify(texts)[0]) / len(texts) for label, texts in pages.items()}
    assert len(accuracy) == 16
    assert sum(accuracy.values()) / len(accuracy) >= REGISTER_MACRO_FLOOR, accuracy


def test_second_opinion_small_cases(stage):
    bare = Language(second_opinion=False)
    bare.ensure_setup()
    texts = [
        "Ovaj tekst je napisan na bosanskom jeziku, u Sarajevu.",
        "Ovo je rečenica na hrvatskom jeziku, a ne na srpskom.",
        "Овај текст је написан на српском језику ћирилицом.",
        "Kerajaan Malaysia akan mengumumkan bajet baharu minggu hadapan, kata Perdana Menteri.",
        "Pemerintah Indonesia akan mengumumkan anggaran baru minggu depan, kata Presiden.",
        "Mo fẹ́ràn láti jẹ oúnjẹ ní ilé mi.",  # Yoruba: lid.176 says ca
        "ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ ᏣᎳᎩ ᎠᏕᎶᏆᏍᏗ",  # Cherokee: neither model knows the script
        "ⵜⴰⵎⴰⵣⵉⵖⵜ ⵜⴰⵏⴰⵡⴰⵢⵜ",  # Tifinagh
    ]
    languages, scores = stage.identify(texts)
    assert languages == ["bs", "hr", "sr", "ms", "id", "yo", "und", "und"]
    assert scores[-2:] == [0.0, 0.0]
    bare_languages, _ = bare.identify(texts)
    assert bare_languages[5] != "yo" and bare_languages[6] != "und"  # what the second opinion changes


def test_second_opinion_on_long_text(stage, shared_data):
    """On long text lid.176's reading stands within a group (lingua reads only the first 1,000
    characters), but lingua still names the languages lid.176 lacks."""
    folder = shared_data / "lingua-langid-testdata" / "language-testdata" / "sentences"
    for lang in ("id", "nb", "nn", "zu", "xh"):
        lines = _lines(folder / f"{lang}.txt", 45)
        paragraphs = [" ".join(lines[i : i + 15]) for i in range(0, 45, 15)]
        assert all(len(paragraph) >= LONG_TEXT_CHARS for paragraph in paragraphs)
        assert stage.identify(paragraphs)[0] == [lang] * 3, lang  # lid.176 alone: zu and xh are `en`
    with gzip.open(shared_data / "web-text-turku-register" / "docs.jsonl.gz", "rt", encoding="utf-8") as lines:
        pages = [row["text"] for row in map(json.loads, lines) if row["lang_label"] == "id"][:200]
    # lingua called 7% of these Indonesian pages `ms` when it decided alone; lid.176 alone gets 0.99
    assert stage.identify(pages)[0].count("id") >= 0.98 * len(pages)


def test_cyrillic_answer_is_never_surer_than_lid():
    """lingua's Cyrillic detector cannot name Tatar: its answer scores at most lid.176's probability of
    the languages it knows."""
    tatar = "Бу китап татар телендә язылган, ул бик кызыклы."
    assert lingua_script_answer(tatar, "Cyrl", {"tt": 0.8, "ru": 0.1})[1] <= 0.1
    macedonian = "Ова книга е напишана на македонски јазик."
    assert lingua_script_answer(macedonian, "Cyrl", {"mk": 0.5, "sr": 0.3, "ru": 0.1}) == ("mk", pytest.approx(0.9))


def test_languages_lingua_cannot_name_are_never_confident(stage):
    """lid.176 knows Quechua and Javanese, lingua does not: where lid.176 is unsure, lingua's answer (sw, id)
    scores at most 1 - lid.176's probability of such languages, below the default threshold."""
    texts = ["Runasimi nisqa simiqa Antikunapi rimasqa simi.", "Bahasa Jawa iku basa kang dienggo wong Jawa ing tlatah Jawa Tengah."]
    languages, scores = stage.identify(texts)
    assert all(language in {"qu", "jv"} or score < stage.threshold for language, score in zip(languages, scores))


def test_restricted_detectors_are_built_once():
    assert lingua_detectors.detector(frozenset({"ms", "id"}), False) is lingua_detectors.detector(frozenset({"id", "ms"}), False)
    assert lingua_detectors.detector(lingua_detectors.codes(), True) is not lingua_detectors.detector(lingua_detectors.codes(), False)


def _in_fresh_process(script: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return result.stdout.split()


def test_preload_loads_every_model_the_second_opinion_asks():
    """After the preload, a detector for each of `consulted_detectors` loads nothing more when asked (lingua shares
    its models between detectors and keeps them when a detector goes): a fresh process's memory grows by under
    10 MB over all of them, where asking them without the preload loads ~300 MB."""
    rss = "int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1]) // 1024"
    ask_all = (f"before = {rss}\n"
               "for codes, low in language.consulted_detectors():\n"
               "    lingua_detectors.confidence('Dobar dan, kako ste danas? Ово је текст.', codes, low)\n"
               f"print({rss} - before)\n")
    script = "from curate import lingua_detectors\nfrom curate.stages import language\n"
    preloaded, lazy = (int(_in_fresh_process(script + first + ask_all)[0]) for first in ("language.preload_lingua_models()\n", ""))
    assert preloaded < 10 and lazy > 100, (preloaded, lazy)


def test_lingua_runs_one_thread_unless_told_otherwise(monkeypatch):
    """lingua's thread pool starts with one thread (its spare threads spin for nothing in a worker process),
    the variable is gone again after each call, and a value already set stands."""
    monkeypatch.delenv(lingua_detectors.RAYON_THREADS_ENV, raising=False)
    seen = []
    with lingua_detectors._ONE_THREAD:
        seen.append(os.environ.get(lingua_detectors.RAYON_THREADS_ENV))
    monkeypatch.setenv(lingua_detectors.RAYON_THREADS_ENV, "3")
    with lingua_detectors._ONE_THREAD:
        seen.append(os.environ.get(lingua_detectors.RAYON_THREADS_ENV))
    assert seen == ["1", "3"] and os.environ[lingua_detectors.RAYON_THREADS_ENV] == "3"
    monkeypatch.delenv(lingua_detectors.RAYON_THREADS_ENV)
    # In a fresh process the preload starts lingua's pool with one thread beside the ones there before.
    count = "int(next(l for l in open('/proc/self/status') if l.startswith('Threads')).split()[1])"
    script = (f"from curate.stages import language\nbefore = {count}\nlanguage.preload_lingua_models()\n"
              f"import os\nprint({count} - before, os.environ.get('{lingua_detectors.RAYON_THREADS_ENV}'))")
    assert _in_fresh_process(script) == ["1", "None"]


def test_lingua_calls_from_threads_at_once_keep_the_one_thread_setting(monkeypatch):
    """Threads asking lingua at once: the variable stays set while any of them is inside and is gone once
    all have left (set and deleted per call, it went with the first call to end, or failed with KeyError)."""
    import threading

    monkeypatch.delenv(lingua_detectors.RAYON_THREADS_ENV, raising=False)
    first_inside, second_inside, first_left = threading.Event(), threading.Event(), threading.Event()
    seen = []

    def first():
        with lingua_detectors._ONE_THREAD:
            first_inside.set()
            second_inside.wait(60)
        first_left.set()

    def second():
        first_inside.wait(60)
        with lingua_detectors._ONE_THREAD:
            second_inside.set()
            first_left.wait(60)  # the first call is over, this one is not
            seen.append(os.environ.get(lingua_detectors.RAYON_THREADS_ENV))

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert seen == ["1"] and lingua_detectors.RAYON_THREADS_ENV not in os.environ
    pairs = [frozenset(pair) for pair in (("ms", "id"), ("af", "nl"), ("da", "nb"), ("cs", "sk"), ("bs", "hr"))]
    workers = [threading.Thread(target=lingua_detectors.confidence, args=("Dobar dan, kako ste danas?", pair)) for pair in pairs * 2]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(60)
    assert lingua_detectors.RAYON_THREADS_ENV not in os.environ


def test_short_text_chars_chooses_lingua_models(stage, monkeypatch):
    """Below `short_text_chars` lingua's shortlist reads all its n-gram models; at 0 there is no shortlist, whatever
    the length: trigrams (low accuracy) but for the confusable groups' members. Real short pages of the register
    corpus that lid.176 is unsure of."""
    pages = ["15cl de vin blanc sec", "Sveriges radio | Mårten Schultz.", "Vertex Silikon Bone (Silikon Bone)"]
    asked: list[tuple[frozenset[str], bool]] = []
    ask = lingua_detectors.confidence

    def recording(sample, codes, low_accuracy=False):
        asked.append((codes, low_accuracy))
        return ask(sample, codes, low_accuracy)

    monkeypatch.setattr(lingua_detectors, "confidence", recording)
    groups = {group - {"sh"} for group in GROUP_OF.values()}  # what pick_member asks about
    stage.identify(pages)
    assert any(not low and codes not in groups for codes, low in asked)  # a high-accuracy shortlist
    no_shortlist = Language(short_text_chars=0)
    no_shortlist.ensure_setup()
    asked.clear()
    no_shortlist.identify(pages)
    assert asked and all(low or codes in groups for codes, low in asked)  # groups settle as before


def test_short_text_chars_0_asks_only_the_preloaded_detectors(shared_data, monkeypatch):
    """At `short_text_chars: 0` setup loads the models of `consulted_detectors` up front, so a worker's memory
    cannot grow with the languages it meets: every detector asked on real text of 75 languages (sentences, word
    pairs, register pages) is one of them, and each kind is asked."""
    asked: set[tuple[frozenset[str], bool]] = set()
    ask = lingua_detectors.confidence

    def recording(sample, codes, low_accuracy=False):
        asked.add((codes, low_accuracy))
        return ask(sample, codes, low_accuracy)

    monkeypatch.setattr(lingua_detectors, "confidence", recording)
    no_shortlist = Language(short_text_chars=0)
    no_shortlist.ensure_setup()
    folder = shared_data / "lingua-langid-testdata" / "language-testdata"
    for kind in ("sentences", "word-pairs"):
        for path in sorted((folder / kind).glob("*.txt")):
            no_shortlist.identify(_lines(path, 20))
    with gzip.open(shared_data / "web-text-turku-register" / "docs.jsonl.gz", "rt", encoding="utf-8") as lines:
        no_shortlist.identify([json.loads(line)["text"] for _, line in zip(range(2000), lines)])
    assert asked == set(consulted_detectors())


def test_setup_preloads_only_at_zero_and_after_the_checks(monkeypatch):
    """Setup preloads lingua's models at `short_text_chars: 0` only (above 0 the shortlists may ask any Latin-script
    language, and without the second opinion lingua is never asked), and only once the options are known good."""
    calls: list[int] = []
    monkeypatch.setattr(language_module, "preload_lingua_models", lambda: calls.append(1))  # the real one runs once a process
    Language(short_text_chars=0).setup()
    assert calls == [1]
    Language().setup()
    Language(short_text_chars=120).setup()
    Language(short_text_chars=0, second_opinion=False).setup()
    with pytest.raises(ConfigError, match="keep.*english"):
        Language(short_text_chars=0, keep=["english"]).setup()
    assert calls == [1]


def test_letterless_text_is_und_without_asking_lingua(stage, monkeypatch):
    """lid.176 is unsure of digits and punctuation; they are `und` before the second opinion, not after it."""
    def refuse(*args, **kwargs):
        raise AssertionError("lingua asked about a text without letters")

    monkeypatch.setattr(lingua_detectors, "confidence", refuse)
    assert stage.identify(["12 345 — 67", "!!! ??? ...", "٣٤٥ ١٢", "", "\n"]) == (["und"] * 5, [0.0] * 5)


def test_script_check_fixes_short_cjk_text(stage, shared_data):
    folder = shared_data / "lingua-langid-testdata" / "language-testdata" / "word-pairs"
    bare = Language(script_check=False)
    bare.ensure_setup()
    for lang, floor in WORD_PAIR_FLOORS.items():
        assert _accuracy(stage, folder / f"{lang}.txt") >= floor
    assert _accuracy(bare, folder / "zh.txt") < 0.6  # the model alone: the check is what fixes it


def test_script_rules():
    assert misplaced_script("贴身衣物要以吸汗透气的棉质为主。", "ja") == "Hani"  # Han without kana is Chinese
    assert misplaced_script("届出者数は26％増の51万5168人。", "zh") == "Jpan"
    assert misplaced_script("Hello there, how are you?", "en") is None
    assert misplaced_script("Привет, как дела?", "en") == "Cyrl"
    # A Chinese page full of English (links, code) keeps its label: Han still holds a fair share.
    assert misplaced_script("金門 Kinmen 水頭村 photo gallery 葡萄 grapes", "zh") is None
    # Korean with an English paragraph: Hangul syllables weigh like three letters.
    assert misplaced_script("알림: 귀하는 선행 작업 안내서를 편집하고 계십니다. Remove six TR6 Torx screws", "ko") is None
    assert script_counts("Ελληνικά") == {"Latn": 0, "Grek": 8}


def test_aliases_empty_text_and_long_documents(stage):
    languages, scores = stage.identify(
        [
            "Regjeringen foreslår å øke bevilgningene til politiet og domstolene i statsbudsjettet for neste år.",
            "",
            "12 345 — 67",
            "line one\nline two " * 5000,
            "a lone surrogate \ud800 from a bad JSON escape must not stop the batch",
        ]
    )
    assert languages[0] == "nb"  # lid.176 says `no`
    assert languages[1:3] == ["und", "und"] and scores[1:3] == [0.0, 0.0]
    assert languages[3:] == ["en", "en"]


def test_verdicts_signals_and_accounting(stage):
    stage = Language(keep=["en", "no"])  # `no` is read as `nb`
    stage.ensure_setup()
    docs = [
        Document(id="en", text="The quick brown fox jumps over the lazy dog near the river bank."),
        Document(id="de", text="Der schnelle braune Fuchs springt über den faulen Hund am Flussufer."),
        Document(id="nb", text="Regjeringen foreslår å øke bevilgningene til politiet og domstolene i statsbudsjettet for neste år."),
        Document(id="empty", text=""),
    ]
    stats = StageStats("language")
    kept, removed = stage(docs, stats)
    assert [d.id for d in kept] == ["en", "nb"]
    assert {d.id: reason for d, reason in removed} == {
        "de": "language_not_kept:de",
        "empty": "score_below_threshold:und",
    }
    assert stats.removed == {"language:language_not_kept": 1, "language:score_below_threshold": 1}
    assert stats.docs_in == stats.docs_out + sum(stats.removed.values())
    assert isinstance(docs[0].signals["language_score"], float) and docs[0].signals["language_score"] > 0.9
    assert sum(stats.histograms["language_score"].counts) == 4
    assert stats.counters["language=en"] == 1


def test_annotate_mode_keeps_everything(stage):
    stage = Language(keep=["fr"], mode="annotate")
    stage.ensure_setup()
    docs = [Document(id="en", text="The quick brown fox jumps over the lazy dog near the river bank.")]
    kept, removed = stage(docs, StageStats("language"))
    assert kept == docs and not removed
    assert docs[0].signals["language_reason"] == "language_not_kept:en"
    assert "language_reason" in stage.output_signals()


def test_options_are_validated():
    config = parse_config({"stages": [{"language": {"keep": ["en", "de"], "threshold": 0.65}}]})
    assert config.stages == [("language", {"keep": ["en", "de"], "threshold": 0.65})]
    with pytest.raises(ConfigError, match="threshold"):
        parse_config({"stages": [{"language": {"threshold": "high"}}]})
    with pytest.raises(ConfigError, match="threshold"):
        Language(threshold=1.5)
    with pytest.raises(ConfigError, match="keep"):
        Language(keep=["english"]).setup()
    Language(keep=["sw", "zu"]).setup()  # zu: lingua knows it, lid.176 does not
    with pytest.raises(ConfigError, match="keep.*zu"):
        Language(keep=["zu"], second_opinion=False).setup()
    with pytest.raises(Exception, match="not found"):
        Language(model="/nonexistent/lid.bin").setup()  # never falls back to another model
