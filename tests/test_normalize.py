"""normalize: ftfy's own cases, lossy mojibake repair measured on real text, clean text untouched, idempotence,
and the fast paths giving the same bytes as the slow ones."""

from __future__ import annotations

import difflib
import gzip
import hashlib
import json
import re
import tarfile
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import ftfy
import ftfy.badness
import ftfy.fixes
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from curate import mojibake
from curate.config import validate_options
from curate.document import Document
from curate.errors import ConfigError, CurateError
from curate.mojibake import CHAR_TO_BYTE, FTFY_CONFIG, is_bad, repair_lossy
from curate.stages.normalize import Normalize, _tidy
from curate.stats import StageStats
from curate.tokens import encodings

FTFY_CASE_FILES = ("in-the-wild", "synthetic", "negative", "language-names")  # known-failures excluded

# Share of the non-ASCII characters of real sentences that come back after lossy damage, with this
# stage (measured on these 5 documents of 10 sentences per language: 0.965 zh to 1.0 pl; floors
# about 0.01 under). ftfy alone restores 0.15 (ja) to 0.95 (tr) of the same characters.
RESTORED_FLOORS = {
    "ar": 0.99,
    "cs": 0.96,
    "el": 0.985,
    "he": 0.98,
    "hi": 0.975,
    "ja": 0.96,
    "ko": 0.955,
    "pl": 0.99,
    "ru": 0.975,
    "th": 0.965,
    "tr": 0.98,
    "vi": 0.985,
    "zh": 0.955,
}


@pytest.fixture(scope="module")
def stage() -> Normalize:
    normalize = Normalize()
    normalize.ensure_setup()
    return normalize


def _sentences(shared_data: Path, lang: str) -> list[str]:
    path = shared_data / "lingua-langid-testdata" / "language-testdata" / "sentences" / f"{lang}.txt"
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def _documents(shared_data: Path, lang: str, count: int, size: int = 10) -> list[str]:
    sentences = _sentences(shared_data, lang)
    return [" ".join(sentences[i : i + size]) for i in range(0, count * size, size)]


def damage(text: str) -> str:
    """The damage seen in the wild: UTF-8 bytes decoded as Windows-1252, undefined bytes dropped."""
    return text.encode("utf-8").decode("cp1252", errors="ignore")


def restored_share(original: str, output: str) -> tuple[int, int]:
    """(non-ASCII characters of `original` found in place in `output`, non-ASCII characters in all)."""
    matcher = difflib.SequenceMatcher(None, original, output, autojunk=False)
    blocks = matcher.get_matching_blocks()
    found = sum(sum(1 for c in original[b.a : b.a + b.size] if ord(c) > 127) for b in blocks)
    return found, sum(1 for c in original if ord(c) > 127)


def canonical(text: str) -> str:
    """What the stage does besides repairing encodings."""
    return unicodedata.normalize("NFC", _tidy(re.sub("[\x80-\x9f]", "", text)))


# --- ftfy's labelled cases --------------------------------------------------------------------------


@pytest.mark.parametrize("name", FTFY_CASE_FILES)
def test_ftfy_cases(shared_data: Path, stage: Normalize, name: str) -> None:
    """Every passing case of ftfy's suite: the encoding fix the suite expects, then this stage's other
    fixes (it keeps curly quotes, so ftfy's full `fixed` differs only there); negative cases may also
    come back as they went in."""
    cases = json.loads((shared_data / "ftfy-test-cases" / f"{name}.json").read_text(encoding="utf-8"))
    cases = [case for case in cases if case["expect"] == "pass"]
    assert len(cases) >= 20
    failures = []
    for case in cases:
        output, _ = stage.normalize(case["original"])
        encoding_fixed = case.get("fixed-encoding", case["fixed"])
        accepted = {canonical(ftfy.fix_text(encoding_fixed, FTFY_CONFIG._replace(fix_encoding=False)))}
        accepted.add(canonical(case["fixed"]))
        if name == "negative":
            accepted.add(canonical(case["original"]))
        if output not in accepted:
            failures.append((case["label"], output))
    assert failures == []


def test_negative_cases_are_not_touched_by_lossy_repair(shared_data: Path, stage: Normalize) -> None:
    cases = json.loads((shared_data / "ftfy-test-cases" / "negative.json").read_text(encoding="utf-8"))
    for case in cases:
        assert repair_lossy(case["original"], stage.scorer) == case["original"], case["label"]


# --- lossy mojibake -----------------------------------------------------------------------------------


def test_seed_page_is_repaired(shared_data: Path, stage: Normalize) -> None:
    """The real Vietnamese page: ftfy leaves `Äiá»u`; the stage restores the dropped bytes."""
    page = (shared_data / "seed" / "vietnamese-pretraining-lecture-mojibake.md").read_text(encoding="utf-8")
    ftfy_only = ftfy.fix_text(page, FTFY_CONFIG)
    [doc] = [Document(id="seed", text=page)]
    kept, removed = stage([doc], StageStats(name="normalize"))
    assert removed == [] and kept[0].signals["mojibake_fixed"] is True
    text = kept[0].text
    assert "Äiá»u" in ftfy_only and "Äiá»u" not in text
    assert "Điều hướng nhanh" in text
    assert "Vai Trò Của Pre-training Trong Mô Hình Ngôn Ngữ Lớn" in text
    for word in ("của", "người", "học", "lớn", "thực"):
        assert text.count(word) > ftfy_only.count(word), word
    residue = sum(text.count(c) for c in "Ã»º")
    assert residue < sum(ftfy_only.count(c) for c in "Ã»º") / 4


@pytest.mark.parametrize("lang", sorted(RESTORED_FLOORS))
def test_lossy_repair_restores_real_text(shared_data: Path, stage: Normalize, lang: str) -> None:
    by_ftfy = by_stage = total = 0
    for original in _documents(shared_data, lang, count=5):
        damaged = damage(original)
        assert damaged != original
        found, count = restored_share(original, ftfy.fix_text(damaged, FTFY_CONFIG))
        by_ftfy += found
        by_stage += restored_share(original, stage.normalize(damaged)[0])[0]
        total += count
    assert by_stage / total >= RESTORED_FLOORS[lang]
    assert by_stage - by_ftfy >= 0.75 * (total - by_ftfy)  # most of what ftfy leaves broken


def test_lossy_repair_can_be_turned_off(shared_data: Path) -> None:
    [original] = _documents(shared_data, "ru", count=1)
    damaged = damage(original)
    without = Normalize(repair_lossy=False)
    without.ensure_setup()
    assert without.scorer is None
    assert without.normalize(damaged)[0] == canonical(ftfy.fix_text(damaged, FTFY_CONFIG))
    assert Normalize(fix_mojibake=False).normalize(damaged)[0] == canonical(damaged)


def test_lossy_repair_loads_its_models_at_setup_sharing_lid176() -> None:
    """Setup loads o200k (a worker's memory does not grow at its first broken page), and lid.176 is the
    language stage's copy, not a second one."""
    from curate.stages.language import Language

    normalize = Normalize()
    normalize.ensure_setup()
    language = Language()
    language.ensure_setup()
    assert normalize.scorer is not None and normalize.scorer.encoding.name == "o200k_base"
    assert normalize.scorer.lid is language.model


def test_missing_models_fail_at_setup(monkeypatch) -> None:
    monkeypatch.setattr(encodings, "cache_dir", lambda: Path("/nonexistent"))
    encodings.load_encoding.cache_clear()  # o200k may be loaded already in this process
    with pytest.raises(CurateError, match="o200k_base"):
        Normalize().setup()
    Normalize(repair_lossy=False).setup()  # needs neither


# --- correct text stays as it is -------------------------------------------------------------------


def test_clean_text_in_many_languages_is_unchanged(shared_data: Path, stage: Normalize) -> None:
    """Every language of the set: lossy repair never fires, and skipping ftfy on text that needs nothing
    gives what running ftfy would."""
    folder = shared_data / "lingua-langid-testdata" / "language-testdata" / "sentences"
    languages = sorted(p.stem for p in folder.glob("*.txt"))
    assert len(languages) >= 70
    untouched = 0
    for lang in languages:
        for text in _documents(shared_data, lang, count=2):
            assert repair_lossy(text, stage.scorer) == text, lang
            output, fixed = stage.normalize(text)
            assert output == canonical(ftfy.fix_text(text, FTFY_CONFIG)), lang
            untouched += output == canonical(text) and not fixed
    assert untouched >= 0.95 * 2 * len(languages)  # the rest: C1 controls, ligatures such as ŉ


def test_correct_latin_text_with_lone_capitals_is_unchanged(stage: Normalize) -> None:
    """Capital Ä, Ö, Ü, Ã are UTF-8 lead bytes; followed by ASCII they look like a dropped byte."""
    for text in ("Ärger in Österreich, Übermut tut selten gut.", "Ça va. Élan, Ãgua? straße, À bientôt", "Æsir Ðe ÞÝ"):
        assert stage.normalize(text) == (text, False)


# --- control characters, whitespace, verdicts --------------------------------------------------------


def test_whitespace_and_control_characters() -> None:
    stage = Normalize()
    text = "  Hello\x00 \t world\r\n\r\n\r\n\r\nsecond\u00a0 line\x07  \n\u200bthird\ufeff  "
    assert stage.normalize(text)[0] == "Hello world\n\nsecond line\nthird"
    assert stage.normalize("e\u0301t\u00e9")[0] == "\u00e9t\u00e9"  # NFC
    assert stage.normalize("ﬁne\u3000日本")[0] == "fine\u3000日本"  # ligature undone, ideographic space kept


def test_empty_documents_are_removed_with_a_reason() -> None:
    stage = Normalize()
    docs = [Document(id="a", text=" \x00\n\t "), Document(id="b", text="kept")]
    stats = StageStats(name="normalize")
    kept, removed = stage(docs, stats)
    assert [d.id for d in kept] == ["b"] and [(d.id, r) for d, r in removed] == [("a", "empty")]
    assert stats.removed == {"normalize:empty": 1}
    assert kept[0].signals == {"mojibake_fixed": False}


def test_options_are_validated() -> None:
    validate_options("normalize", {"fix_mojibake": True, "repair_lossy": False, "mode": "annotate"}, "stages[0]")
    with pytest.raises(ConfigError, match="repair_loss"):
        validate_options("normalize", {"repair_loss": True}, "stages[0]")


# --- idempotence -------------------------------------------------------------------------------------

_MOJIBAKE_ALPHABET = "".join(CHAR_TO_BYTE) + "aeiou tnhĐđềọờưƠ\n\r\t\x00\u00a0\u200b–“”’é日本語ру"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_MOJIBAKE_ALPHABET, max_size=60) | st.text(max_size=60))
def test_normalize_is_idempotent(stage: Normalize, text: str) -> None:
    once, _ = stage.normalize(text)
    assert stage.normalize(once)[0] == once


def test_normalize_is_idempotent_on_damaged_real_text(shared_data: Path, stage: Normalize) -> None:
    for lang in ("vi", "ru", "ja", "el"):
        for original in _documents(shared_data, lang, count=2):
            once, fixed = stage.normalize(damage(original))
            assert fixed
            assert stage.normalize(once) == (once, False)


# --- the fast paths give the same bytes as the slow ones -----------------------------------------------

# sha256 of the stage's output (text, `mojibake_fixed`, verdict of every document) on each set of
# `_identity_sets`, recorded with the stage as it was before its fast paths (ftfy's own `is_bad`, each
# tidying pattern over the whole text, no caches). A change here is a change of output, not of speed.
OUTPUT_DIGESTS = {
    "web": "63c2ecb043c395abf11d2e7de96be6ed9b30e7150136efc0e59ceab9ffecfda6",
    "languages": "de8bb6f3a33f484cc8099a7342c369137ac5b450fb63b25063d4a2c44ad15792",
    "lossy": "bf6e10f81ee08524636356320648387a879562b87a81c829023a2df7e4338627",
    "code pages": "2e1f035223c9aa6247ab6c19d2c36a3a823bc04f5fc51fd640d17d30e4d653c4",
    "ftfy cases": "793e1f18b95a9f4c070d95abe1292e5031b3fcb8421825fd5873a91898ab846b",
}


def _identity_sets(shared_data: Path) -> dict[str, list[str]]:
    """Real documents that take every path of the stage: Common Crawl text (mostly skips ftfy), clean
    text in 75 languages, lossy mojibake (ftfy and the repair), the chardet test files read with the
    wrong code page (mojibake that is no UTF-8: every check fires, the repair proves nothing) and
    ftfy's own cases."""
    web = []
    for path in sorted((shared_data / "cc-text-jsonl-dolma").glob("*.jsonl*")):
        with (gzip.open if path.suffix == ".gz" else open)(path, "rt", encoding="utf-8") as lines:
            web += [json.loads(line)["text"] for line in lines if line.strip()]
    folder = shared_data / "lingua-langid-testdata" / "language-testdata" / "sentences"
    languages = [doc for path in sorted(folder.glob("*.txt")) for doc in _documents(shared_data, path.stem, count=8)]
    with tarfile.open(shared_data / "encoding-detection-corpus" / "chardet-tests-by-encoding.tar.gz") as tar:
        files = {member.name: tar.extractfile(member).read()[:3000] for member in tar if member.isfile()}  # type: ignore[union-attr]
    code_pages = [files[name].decode("cp1252", errors="ignore") for name in sorted(files)[::3]]
    cases = []
    for name in (*FTFY_CASE_FILES, "known-failures"):
        cases += [case["original"] for case in json.loads((shared_data / "ftfy-test-cases" / f"{name}.json").read_text(encoding="utf-8"))]
    lossy = [damage(doc) for doc in languages[::6]]
    return {"web": web, "languages": languages, "lossy": lossy, "code pages": code_pages, "ftfy cases": cases}


def _output_digest(stage: Normalize, texts: list[str]) -> str:
    docs = [Document(id=str(i), text=text) for i, text in enumerate(texts)]
    verdicts = stage.process(docs)
    digest = hashlib.sha256()
    for doc, verdict in zip(docs, verdicts):
        fixed = doc.signals["mojibake_fixed"]
        digest.update(f"{doc.text}\0{fixed}\0{verdict}\1".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


@pytest.fixture(scope="module")
def identity_sets(shared_data: Path) -> dict[str, list[str]]:
    sets = _identity_sets(shared_data)
    assert {name: len(texts) >= 100 for name, texts in sets.items()} == dict.fromkeys(sets, True)
    return sets


def test_outputs_are_those_of_the_slow_stage(identity_sets: dict[str, list[str]], stage: Normalize) -> None:
    digests = {name: _output_digest(stage, texts) for name, texts in identity_sets.items()}
    assert digests == OUTPUT_DIGESTS


def test_is_bad_is_ftfys_is_bad_on_real_text(identity_sets: dict[str, list[str]]) -> None:
    """Whole documents, tidied ones (what the stage asks about) and lines (what ftfy asks about); both
    answers common among the documents."""
    assert mojibake._NEEDLES is not None  # the installed ftfy's regex has the shape the fast search needs
    documents = [text for texts in identity_sets.values() for text in texts]
    texts = documents + [_tidy(text) for text in documents[::4]]
    texts += [line for text in documents for line in text.split("\n")]
    disagreements = [text for text in texts if is_bad(text) != ftfy.badness.is_bad(text)]
    assert disagreements == []
    bad = sum(map(is_bad, documents))
    assert min(bad, len(documents) - bad) > 200


def test_is_bad_is_ftfys_is_bad_at_the_edges() -> None:
    """Matches at the start of a text (`^` in ftfy's regex), across the window around a needle, the
    longest match, needles far apart and close together."""
    texts = ["Ã foo", "ab.\nÃ foo", "x Ã foo", "ÃƒÂ", "a" * 40 + "ГўВЂВ™s", "ГўВЂВ™" + "b" * 40, "вЂ” and вЂ", "ā€", "xβ€™"]
    texts += ["é" + " " * n + "€" for n in range(20)] + ["A" * n + "Ã©" + "z" * n for n in range(0, 30, 7)]
    texts += ["Ärger in Österreich", "naïve café", "Привет, мир", "Γειά σου", "日本語のテキスト", "“quoted” — text…"]
    for text in texts:
        assert is_bad(text) == ftfy.badness.is_bad(text), text


_BADNESS_ALPHABET = "".join(sorted(set(ftfy.badness.BADNESS_RE.pattern) | set("\n\xa0aZ.,"))) + "ГўВЂВвЂā€β€"


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=_BADNESS_ALPHABET, max_size=40))
def test_is_bad_is_ftfys_is_bad_on_made_up_text(text: str) -> None:
    assert is_bad(text) == ftfy.badness.is_bad(text)


def test_fix_text_is_ftfys_fix_text_on_real_text(identity_sets: dict[str, list[str]]) -> None:
    """The documents as they come (line breaks, controls, mojibake) and tidied; many that ftfy changes."""
    documents = [text for texts in identity_sets.values() for text in texts]
    texts = documents + [_tidy(text) for text in documents]
    expected = [ftfy.fix_text(text, FTFY_CONFIG) for text in texts]
    assert [text for text, fixed in zip(texts, expected) if mojibake.fix_text(text) != fixed] == []
    assert sum(fixed != text for text, fixed in zip(texts, expected)) > 500


# What each of ftfy's steps acts on: mojibake, C1 controls, a ligature, line breaks, lone high and low
# surrogates and a whole pair, an ANSI escape, invisible controls, a letter that NFC composes, and lines
# longer than `max_decode_length`.
_FIX_TEXT_PIECES = [*"ÃÂ©€œ™\x81\x85\x9d\ufb01\r\n\u2028\u2029\ud83d\ude00\x1b[31m\x00\ufeff\u206ae\u0301 ab", "\ud83d\ude00"]


@settings(max_examples=500, deadline=None)
@example("ab\ude00c", FTFY_CONFIG.max_decode_length)
@given(st.lists(st.sampled_from(_FIX_TEXT_PIECES), max_size=40).map("".join), st.sampled_from([FTFY_CONFIG.max_decode_length, 7]))
def test_fix_text_is_ftfys_fix_text_on_made_up_text(text: str, max_decode_length: int) -> None:
    config = FTFY_CONFIG._replace(max_decode_length=max_decode_length)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mojibake, "FTFY_CONFIG", config)
        assert mojibake.fix_text(text) == ftfy.fix_text(text, config)


def test_lone_surrogates_are_replaced_and_pairs_joined() -> None:
    assert mojibake.fix_text("ab\ude00c") == "ab\ufffdc"
    assert mojibake.fix_text("ab\ud83d\ude00c") == "ab\U0001f600c"


def test_fix_text_puts_ftfys_is_bad_back_when_threads_overlap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two threads inside `fix_text` at once, the first in leaving first: afterwards ftfy asks its own `is_bad`."""
    own = ftfy.is_bad, ftfy.fixes.is_bad
    both_inside, first_left = threading.Barrier(2, timeout=10), threading.Event()
    fix_segment = mojibake._fix_segment

    def overlapping(text: str) -> str:
        both_inside.wait()
        if text.startswith("second"):
            assert first_left.wait(10)
        return fix_segment(text)

    monkeypatch.setattr(mojibake, "_fix_segment", overlapping)
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.submit(mojibake.fix_text, "first Ã©tÃ©"), pool.submit(mojibake.fix_text, "second Ã©tÃ©")
        assert first.result() == "first été"
        assert ftfy.is_bad is mojibake.is_bad  # the second is still fixing
        first_left.set()
        assert second.result() == "second été"
    assert (ftfy.is_bad, ftfy.fixes.is_bad) == own == (ftfy.badness.is_bad, ftfy.badness.is_bad)


def _tidy_whole_text(text: str) -> str:
    """`_tidy` the simple way: every pattern over the whole text, every match replaced."""
    text = re.sub("\r\n?|[\u2028\u2029]", "\n", text)
    text = re.sub("[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f]+", " ", re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]", "", text))
    return re.sub("\n{3,}", "\n\n", re.sub(" ?\n ?", "\n", text)).strip()


def test_tidy_is_the_whole_text_tidy_on_real_text(identity_sets: dict[str, list[str]]) -> None:
    texts = [text for texts in identity_sets.values() for text in texts]
    assert [text for text in texts if _tidy(text) != _tidy_whole_text(text)] == []


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=" \t\u00a0\u1680\u2000\u200a\u202f\u205f\n\r\u2028\u2029\x00\x0b\u200b\ufeffab", max_size=40))
def test_tidy_is_the_whole_text_tidy_on_made_up_text(text: str) -> None:
    assert _tidy(text) == _tidy_whole_text(text)
