"""language: fastText lid.176 language identification, as in CCNet, RefinedWeb, FineWeb and DCLM.

Records `language` (an ISO 639 code, `und` when the text has no letters) and `language_score`
(the model's probability), and removes a document whose score is below `threshold`
(`score_below_threshold:<lang>`) or whose language is not in `keep` (`language_not_kept:<lang>`).

Around the model, two fixes measured on the lingua test set (75 languages, see the README):
- Label aliases: lid.176 says `no` for Norwegian Bokmål; the stage says `nb`.
- Script check: lid.176 knows nothing of scripts, so short Chinese text often comes out as `ja` or
  even `en`, Japanese as `zh`. When the label's script holds under a fifth of the text's letters and
  one script holds most of them, the stage takes the model's best label among the languages written
  in that script, with its probability renormalised over those languages (P(lang | text, script)).
  Counting is skipped for Latin-only text and for a label written in the text's first non-Latin
  script (Cyrillic text labelled `ru`), so the check costs little.

Second opinion (lingua-language-detector, only on the texts that need it): lid.176 cannot tell
bs/hr/sr, ms/id, nb/nn/da or af/nl apart reliably and lacks or misses yo, so, sw, zu, xh and others.
- lid.176 sure of one of those groups (its probabilities of the members sum to `unsure_below` or more):
  on a text of `LONG_TEXT_CHARS` or more its best member stays (on long text lid.176 is as good as
  lingua within a group, and lingua is not asked, unless lid.176 said `sh`, which names no member); on a
  shorter text a lingua detector built from the members only weighs in: the member maximising
  `LID_WEIGHT` * log P_lid + log P_lingua. The score is lid.176's probability of the group.
- A Latin-script (or unknown-script) text lid.176 is unsure of (score below `unsure_below`): lingua's
  trigram (low-accuracy) detector over its Latin-script languages answers; below `short_text_chars`
  characters (default 120) a high-accuracy detector built from lingua's best three and lid.176's best
  three (so only the models of languages that come up are loaded) weighs in with lid.176 as within a
  group. Its models cost: each language met loads all its n-gram models (~45 MB, ~0.15 CPU s, once per
  process), on the register corpus 30 languages for 21 short pages (~3 s, ~470 MB of a worker), where
  the trigram models of every Latin-script language take ~53 MB and ~0.27 CPU s. At `short_text_chars: 0` no
  shortlist is built: the Latin-script and script detectors read trigrams, the confusable groups' members all
  n-gram orders. lingua's confidence is the score, at most 1 - lid.176's probability of languages lingua
  cannot name (jv, qu...); an answer in a group is settled as above; text none of them fits (an
  unsupported script) is `und`, never a confident wrong label. On a text of `LONG_TEXT_CHARS` or more
  lid.176 read ten times more than lingua: lingua's answer counts only when it is `und` or a language
  lid.176 lacks or misses (zu, xh, yo...), else lid.176's label and low score stand.
- Unsure of a shorter text in Cyrillic, Arabic or Devanagari script labelled with one of lingua's
  languages of that script: lingua's detector for that script weighs in the same way
  (`lingua_script_answer`).
lingua reads at most `SECOND_OPINION_CHARS` characters, one text at a time (no thread pool of its own);
detectors are cached per process (`curate/lingua_detectors.py`) and reused. At `short_text_chars: 0` setup loads
every model the second opinion can ask (`consulted_detectors`: ~300 MB, ~1.7 CPU s per process; the groups'
all-n-gram models ~230 MB of it, the trigram detectors ~70 MB), so a worker's memory does not grow with the
languages its input holds; above 0 the short texts' shortlists may ask any Latin-script language, whose models
load on first use (up to ~860 MB more).

The whole batch goes to `model.predict` in one call, each text cut to `max_chars` (the label agrees
with the full text's for 99.9% of Common Crawl documents at 10,000 characters) with newlines
replaced by spaces (fastText reads one line).
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from .. import lingua_detectors as lingua
from ..document import Document
from ..errors import ConfigError
from ..models import load_lid_model
from ..options import option
from .base import Signal, Stage, StageOptions, Verdict

LABEL_ALIASES = {"no": "nb"}  # lid.176 label -> the code the stage reports
UNDETERMINED = "und"
SCRIPT_SAMPLE_CHARS = 1000
MIN_LABEL_SCRIPT_SHARE = 0.2  # below this share of letters the label's script is not the text's
MIN_DOMINANT_SHARE = 0.5  # and one script must hold most letters before the stage overrides the label
KANA_SHARE_FOR_JAPANESE = 0.1  # Han text with at least this share of kana is Japanese, without it Chinese
SYLLABLE_WEIGHT = 3  # a Han, kana or Hangul character carries about as much as three Latin letters

# Stage codes lid.176 confuses with each other (lid.176's `sh`, Serbo-Croatian, joins bs/hr/sr).
CONFUSABLE_GROUPS = [{"bs", "hr", "sr", "sh"}, {"ms", "id"}, {"nb", "nn", "da"}, {"af", "nl"}]
GROUP_OF = {label: frozenset(group) for group in CONFUSABLE_GROUPS for label in group}
SECOND_OPINION_CHARS = 1000  # lingua's answer on the first 1,000 characters
SHORT_TEXT_CHARS = 120  # the default below which lingua uses all its n-gram models (high-accuracy mode)
LONG_TEXT_CHARS = 1000  # from this length lid.176's choice within a group stands
LID_WEIGHT = 0.25  # within a group, lid.176's log-probability weighs a quarter of lingua's
PROBABILITY_FLOOR = 0.01  # added before the logarithm: neither model's zero is the last word
SHORTLIST = 3  # candidates from each model for the high-accuracy decision on short text
LID_MISSES = {"yo", "so"}  # lid.176 has them but names them for 4% and 10% of their tune-half sentences

# Unicode ranges of the scripts lid.176's non-Latin languages are written in.
SCRIPT_RANGES = {
    "Cyrl": "\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f",
    "Grek": "\u0370-\u03ff\u1f00-\u1fff",
    "Armn": "\u0530-\u058f",
    "Hebr": "\u0590-\u05ff",
    "Arab": "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff",
    "Thaa": "\u0780-\u07bf",
    "Deva": "\u0900-\u097f",
    "Beng": "\u0980-\u09ff",
    "Guru": "\u0a00-\u0a7f",
    "Gujr": "\u0a80-\u0aff",
    "Orya": "\u0b00-\u0b7f",
    "Taml": "\u0b80-\u0bff",
    "Telu": "\u0c00-\u0c7f",
    "Knda": "\u0c80-\u0cff",
    "Mlym": "\u0d00-\u0d7f",
    "Sinh": "\u0d80-\u0dff",
    "Thai": "\u0e00-\u0e7f",
    "Laoo": "\u0e80-\u0eff",
    "Tibt": "\u0f00-\u0fff",
    "Mymr": "\u1000-\u109f",
    "Geor": "\u10a0-\u10ff\u2d00-\u2d2f",
    "Hang": "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af",
    "Ethi": "\u1200-\u139f",
    "Khmr": "\u1780-\u17ff",
    "Kana": "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f",
    "Hani": "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f",
}
_NON_LATIN = re.compile(f"[{''.join(SCRIPT_RANGES.values())}]")
# (first code point, last code point, script), sorted, for looking up one character's script
_RANGE_TABLE = sorted(
    (ord(chars[i]), ord(chars[i + 2]), script) for script, chars in SCRIPT_RANGES.items() for i in range(0, len(chars), 3)
)
_RANGE_STARTS = [first for first, _, _ in _RANGE_TABLE]
_LETTER = re.compile(r"[^\W\d_]")
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff]")

# lid.176 labels not written in Latin script ("Jpan": Han with kana). Every other label is "Latn".
_LABELS_BY_SCRIPT = {
    "Cyrl": "ru uk be bg mk sr kk ky tg tt ba cv ce os sah bxr av krc kv lez mhr mrj myv rue tyv xal mn",
    "Arab": "ar arz azb ckb fa mzn lrc pnb ps sd ug ur",
    "Grek": "el",
    "Armn": "hy",
    "Hebr": "he yi",
    "Thaa": "dv",
    "Deva": "hi mr ne sa mai bh new gom dty",
    "Beng": "bn as bpy",
    "Guru": "pa",
    "Gujr": "gu",
    "Orya": "or",
    "Taml": "ta",
    "Telu": "te",
    "Knda": "kn",
    "Mlym": "ml",
    "Sinh": "si",
    "Thai": "th",
    "Laoo": "lo",
    "Tibt": "bo",
    "Mymr": "my",
    "Geor": "ka xmf",
    "Hang": "ko",
    "Ethi": "am",
    "Khmr": "km",
    "Hani": "zh wuu yue",
    "Jpan": "ja",
}
LABEL_SCRIPTS: dict[str, set[str]] = {}
for _script, _labels in _LABELS_BY_SCRIPT.items():
    for _label in _labels.split():
        LABEL_SCRIPTS.setdefault(_label, set()).add(_script)
LABEL_SCRIPTS["sr"].add("Latn")  # Serbian is written in both


def label_scripts(label: str) -> set[str]:
    return LABEL_SCRIPTS.get(label, {"Latn"})


@functools.lru_cache(maxsize=1 << 16)
def _char_script(char: str) -> str | None:
    i = bisect.bisect_right(_RANGE_STARTS, ord(char)) - 1
    return _RANGE_TABLE[i][2] if i >= 0 and ord(char) <= _RANGE_TABLE[i][1] else None


def _is_latin(sample: str) -> bool:
    return sample.isascii() or not _NON_LATIN.search(sample)


def script_counts(sample: str) -> dict[str, int]:
    """Letters per script, a Han, kana or Hangul character as `SYLLABLE_WEIGHT` letters; Han and kana
    count together as "Jpan" when kana is frequent, else as "Hani"."""
    if _is_latin(sample):
        return {"Latn": len(_LETTER.findall(sample))}
    counts: Counter[str] = Counter({"Latn": len(_LATIN_LETTER.findall(sample))})
    for char, n in Counter(_NON_LATIN.findall(sample)).items():
        counts[_char_script(char)] += n
    if "Hang" in counts:
        counts["Hang"] *= SYLLABLE_WEIGHT
    kana, han = counts.pop("Kana", 0), counts.pop("Hani", 0)
    if kana + han:
        counts["Jpan" if kana >= KANA_SHARE_FOR_JAPANESE * (kana + han) else "Hani"] = SYLLABLE_WEIGHT * (kana + han)
    return dict(counts)


def misplaced_script(sample: str, label: str) -> str | None:
    """The script that should decide the label instead, when the label's script barely occurs."""
    scripts = label_scripts(label)
    first_non_latin = None if sample.isascii() else _NON_LATIN.search(sample)
    if first_non_latin is None:  # the common case, decided without counting
        return None if "Latn" in scripts or not _LETTER.search(sample) else "Latn"
    first_script = _char_script(first_non_latin[0])
    if first_script in scripts and first_script != "Hani":  # Cyrillic text labelled ru, Korean labelled ko...
        return None
    counts = script_counts(sample)
    dominant = _leading(counts)
    own = sum(counts.get(script, 0) for script in scripts)
    return dominant if dominant and own < MIN_LABEL_SCRIPT_SHARE * sum(counts.values()) else None


def dominant_script(sample: str) -> str | None:
    """The non-Latin script lid.176 knows that holds most of the letters, or None (Latin or unknown)."""
    if _is_latin(sample):
        return None
    dominant = _leading(script_counts(sample))
    return None if dominant == "Latn" else dominant


def _leading(counts: dict[str, int]) -> str | None:
    """The script with the most letters, if it holds at least `MIN_DOMINANT_SHARE` of them."""
    if not counts:
        return None
    dominant = max(counts, key=counts.__getitem__)
    return dominant if counts[dominant] >= MIN_DOMINANT_SHARE * sum(counts.values()) else None


def lid_probabilities(labels: Any, probs: Any) -> dict[str, float]:
    """lid.176's top labels as stage codes; `sh` (Serbo-Croatian) shared out over bs/hr/sr."""
    lid: dict[str, float] = {}
    for label, prob in zip(labels, probs):
        label = label.removeprefix("__label__")
        members = ("bs", "hr", "sr") if label == "sh" else (LABEL_ALIASES.get(label, label),)
        for member in members:
            lid[member] = lid.get(member, 0.0) + float(prob) / len(members)
    return lid


def consulted_detectors() -> list[tuple[frozenset[str], bool]]:
    """The (codes, low accuracy) detectors the second opinion asks when `short_text_chars` is 0: the
    Latin-script trigram detector (`lingua_answer`), each group's members (`pick_member`) and the Cyrillic,
    Arabic and Devanagari trigram detectors (`lingua_script_answer`)."""
    scripts = [(lingua.codes(script), True) for script in ("Cyrl", "Arab", "Deva")]
    return [(lingua.codes(), True)] + [(frozenset(group - {"sh"}), False) for group in CONFUSABLE_GROUPS] + scripts


@functools.cache
def preload_lingua_models() -> None:
    """Load, once per process, the models of every detector of `consulted_detectors`."""
    lingua.preload(consulted_detectors())


def most_likely(labels: set[str], lid: dict[str, float], by_lingua: dict[str, float]) -> str:
    """The label both models' evidence favours: `LID_WEIGHT` * log P_lid + log P_lingua."""

    def evidence(label: str) -> float:
        return LID_WEIGHT * math.log(lid.get(label, 0.0) + PROBABILITY_FLOOR) + math.log(by_lingua.get(label, 0.0) + PROBABILITY_FLOOR)

    return max(sorted(labels), key=evidence)


def pick_member(sample: str, group: frozenset[str], lid: dict[str, float]) -> str:
    """The group member both models favour, lingua's detector knowing only the members."""
    members = group - {"sh"}
    return most_likely(members, lid, lingua.confidence(sample, members))


def lingua_answer(sample: str, lid: dict[str, float], short_text_chars: int = SHORT_TEXT_CHARS) -> tuple[str, float]:
    """lingua's label and confidence for a Latin-script text lid.176 is unsure of; `und` when no language fits."""
    latin = lingua.codes()
    confidence = lingua.confidence(sample, latin, low_accuracy=True)
    if max(confidence.values(), default=0.0) <= 0:
        return UNDETERMINED, 0.0
    if len(sample) < short_text_chars:
        shortlist = set(sorted(confidence, key=confidence.__getitem__, reverse=True)[:SHORTLIST])
        shortlist |= {label for label in sorted(lid, key=lid.__getitem__, reverse=True)[:SHORTLIST] if label in latin}
        shortlist |= {member for label in shortlist for member in GROUP_OF.get(label, ()) if member in latin}
        confidence = lingua.confidence(sample, frozenset(shortlist))
        best = most_likely(shortlist, lid, confidence)
    else:
        best = max(confidence, key=confidence.__getitem__)
    group = GROUP_OF.get(best)
    if group is None:
        return best, confidence.get(best, 0.0)
    return pick_member(sample, group, lid), sum(confidence.get(label, 0.0) for label in group)


def lingua_script_answer(sample: str, script: str, lid: dict[str, float], short_text_chars: int = SHORT_TEXT_CHARS) -> tuple[str, float]:
    """The label for a text in a non-Latin script that lingua shares between languages (Cyrillic: be, bg,
    kk, mk, mn, ru, sr, uk). lid.176 knows more of them (tt, ba, ky...): the score is at most lid.176's
    probability of the languages lingua can name, so a language neither names is never confidently wrong."""
    codes = lingua.codes(script)
    confidence = lingua.confidence(sample, codes, low_accuracy=len(sample) >= short_text_chars)
    best = most_likely(codes, lid, confidence)
    return best, min(confidence.get(best, 0.0), sum(lid.get(label, 0.0) for label in codes))


@dataclass(frozen=True, kw_only=True)
class LanguageOptions(StageOptions):
    keep: list[str] | None = option(None, "languages to keep (lid.176 or lingua codes); null keeps every language")
    threshold: float = option(0.65, "documents whose top language scores below this are removed", ge=0, le=1)
    model: str | None = option(None, "a fastText lid.176 model file; null: the shipped one", file=True)
    max_chars: int | None = option(10_000, "characters of each document the model reads; null: all", ge=1)
    script_check: bool = option(True, "overrule the model where the text's script contradicts it")
    second_opinion: bool = option(True, "ask lingua where lid.176 is unsure or confuses languages (bs/hr/sr, ms/id...)")
    unsure_below: float = option(0.7, "lid.176 scores below this on Latin-script text get lingua's answer", ge=0, le=1)
    short_text_chars: int = option(
        SHORT_TEXT_CHARS, "below this many characters a shortlist of languages answers with all of lingua's n-gram models, "
        "not trigrams only: better on short text, but each language met loads ~45 MB in ~0.15 CPU s; 0: no shortlist "
        "(Latin-script and script detectors: trigrams; confusable-group members: all n-gram orders)", ge=0)


class Language(Stage):
    name = "language"
    signals = {
        "language": Signal(pa.string(), categorical=True),
        "language_score": Signal(pa.float32(), bins=(0, 1, 20)),
    }

    Options = LanguageOptions
    options: LanguageOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        o = self.options
        self.keep = None if o.keep is None else {LABEL_ALIASES.get(lang, lang) for lang in o.keep}
        self.threshold, self.model_option, self.max_chars, self.script_check = o.threshold, o.model, o.max_chars, o.script_check
        self.model = None
        self.lid_cannot_name: set[str] = set()
        self.lingua_names: frozenset[str] = frozenset()

    def setup(self) -> None:
        self.model = load_lid_model(self.model_option)
        lid_names = {LABEL_ALIASES.get(label, label) for label in self.labels()}
        if not self.options.second_opinion:
            self._check_keep(lid_names)
            return
        self._check_keep(lid_names | lingua.codes())  # first: a bad config fails without ~1.7 CPU s of loading
        self.lid_cannot_name = (lingua.codes() - lid_names) | LID_MISSES | {UNDETERMINED}
        self.lingua_names = lingua.codes("any")
        if not self.options.short_text_chars:  # else any Latin-script language may come up
            preload_lingua_models()

    def _check_keep(self, known: set[str]) -> None:
        unknown = sorted((self.keep or set()) - known)
        if unknown:
            raise ConfigError(f"language.keep: neither lid.176 nor lingua knows {', '.join(unknown)}")

    def labels(self) -> list[str]:
        return [label.removeprefix("__label__") for label in self.model.get_labels()]

    def thresholds(self) -> dict[str, float]:
        return {"language_score": self.threshold}

    def process(self, docs: list[Document]) -> list[Verdict]:
        languages, scores = self.identify([doc.text for doc in docs])
        verdicts: list[Verdict] = []
        for doc, language, score in zip(docs, languages, scores):
            doc.signals["language"] = language
            doc.signals["language_score"] = score
            if score < self.threshold:
                verdicts.append(f"score_below_threshold:{language}")
            elif self.keep is not None and language not in self.keep:
                verdicts.append(f"language_not_kept:{language}")
            else:
                verdicts.append(None)
        return verdicts

    def identify(self, texts: list[str]) -> tuple[list[str], list[float]]:
        """Language and score of each text, one `predict` call for the batch (plus one for script fixes)."""
        lines = [(text[: self.max_chars] if self.max_chars else text).replace("\n", " ") for text in texts]
        # The second opinion reads lid.176's next labels too: asking for them now costs no more than k=1.
        labels, probs = self._predict(lines, k=2 * SHORTLIST if self.options.second_opinion else 1)
        languages = [label[0].removeprefix("__label__") for label in labels]
        scores = [float(p[0]) for p in probs]
        if self.script_check:
            self._fix_scripts(lines, languages, scores)
        languages = [LABEL_ALIASES.get(lang, lang) for lang in languages]
        for i, line in enumerate(lines):
            if not _LETTER.search(line):
                languages[i], scores[i] = UNDETERMINED, 0.0
        if self.options.second_opinion:
            self._second_opinion(lines, languages, scores, labels, probs)
        return languages, scores

    def _second_opinion(self, lines: list[str], languages: list[str], scores: list[float], labels: Any, probs: Any) -> None:
        """Re-decide, in place, the texts lid.176 is unsure of or labels within a confusable group (`labels`,
        `probs`: lid.176's best labels for each text); texts without letters are `und` already and stay so."""
        unsure_below = self.options.unsure_below
        for i, (line, language) in enumerate(zip(lines, languages)):
            group = GROUP_OF.get(language)
            unsure = scores[i] < unsure_below
            if language == UNDETERMINED or group is None and not unsure:
                continue
            sample, lid = line[:SECOND_OPINION_CHARS], lid_probabilities(labels[i], probs[i])
            group_probability = sum(lid.get(label, 0.0) for label in group) if group else 0.0
            if group_probability >= unsure_below:
                if len(line) < LONG_TEXT_CHARS or language == "sh":  # on long text lid.176's member stands
                    languages[i] = pick_member(sample, group, lid)
                scores[i] = min(group_probability, 1.0)
                continue
            script = dominant_script(sample)
            if script is None and "Latn" in label_scripts(language):
                answer, confidence = lingua_answer(sample, lid, self.options.short_text_chars)
                # lid.176's probability of languages lingua cannot name (jv, qu, br...) bounds lingua's certainty
                confidence = min(confidence, 1.0 - sum(p for label, p in lid.items() if label not in self.lingua_names))
                if len(line) < LONG_TEXT_CHARS or answer in self.lid_cannot_name:  # else lid.176's longer read stands
                    languages[i], scores[i] = answer, confidence
            elif script in lingua.SCRIPTS and language in lingua.codes(script) and len(line) < LONG_TEXT_CHARS:
                languages[i], scores[i] = lingua_script_answer(sample, script, lid, self.options.short_text_chars)

    def _predict(self, lines: list[str], k: int) -> tuple[list, list]:
        try:
            return self.model.predict(lines, k=k)
        except TypeError:  # a lone surrogate (a bad JSON escape) cannot cross into C++: replace it, retry
            return self.model.predict([line.encode("utf-8", "replace").decode("utf-8") for line in lines], k=k)

    def _fix_scripts(self, lines: list[str], languages: list[str], scores: list[float]) -> None:
        """Re-decide, in place, the texts whose label does not match their script."""
        misplaced = {}
        for i, (line, language) in enumerate(zip(lines, languages)):
            if script := misplaced_script(line[:SCRIPT_SAMPLE_CHARS], language):
                misplaced[i] = script
        if not misplaced:
            return
        labels, probs = self._predict([lines[i] for i in misplaced], k=-1)
        for (i, script), row_labels, row_probs in zip(misplaced.items(), labels, probs):
            row = [label.removeprefix("__label__") for label in row_labels]
            in_script = [j for j, label in enumerate(row) if script in label_scripts(label)]
            if in_script:
                total = float(np.sum(row_probs[in_script]))
                best = in_script[0]  # labels come sorted by probability
                languages[i], scores[i] = row[best], float(row_probs[best]) / total if total > 0 else 0.0
