"""lingua-language-detector as the language stage asks it: detectors built once per process, models
loaded ahead where asked, and lingua's thread pool kept to one thread.

lingua keeps each language's models in one table per process that all detectors share, and keeps them
when a detector goes: building a detector is cheap once its languages' models are loaded, and loading
them is what `preload` does ahead of the first text."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import Any

SCRIPTS = {  # lingua's language lists for the scripts it shares between languages ("any": every language)
    "any": "all",
    "Latn": "all_with_latin_script",
    "Cyrl": "all_with_cyrillic_script",
    "Arab": "all_with_arabic_script",
    "Deva": "all_with_devanagari_script",
}
DETECTORS_KEPT = 256  # the most recently used detectors a process keeps (each a few KB beside the shared models)
RAYON_THREADS_ENV = "RAYON_NUM_THREADS"  # the size of lingua's thread pool, read when the pool starts


@functools.cache
def codes(script: str = "Latn") -> frozenset[str]:
    """lingua's languages written in a script, as ISO 639-1 codes."""
    from lingua import Language

    return frozenset(language.iso_code_639_1.name.lower() for language in getattr(Language, SCRIPTS[script])())


def builder(languages: frozenset[str], low_accuracy: bool) -> Any:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    built = LanguageDetectorBuilder.from_iso_codes_639_1(*(getattr(IsoCode639_1, code.upper()) for code in sorted(languages)))
    return built.with_low_accuracy_mode() if low_accuracy else built


@functools.lru_cache(maxsize=DETECTORS_KEPT)
def detector(languages: frozenset[str], low_accuracy: bool) -> Any:
    """A detector for these languages (trigram models only at `low_accuracy`); their models load on first use
    unless `preload` loaded them."""
    return builder(languages, low_accuracy).build()


def preload(detectors: Iterable[tuple[frozenset[str], bool]]) -> None:
    """Load now the models these (languages, low accuracy) detectors read, so a worker's memory does not grow
    with the languages its input happens to hold."""
    with _ONE_THREAD:
        for languages, low_accuracy in detectors:
            builder(languages, low_accuracy).with_preloaded_language_models().build()


def confidence(sample: str, languages: frozenset[str], low_accuracy: bool = False) -> dict[str, float]:
    """lingua's confidence in each of `languages` for `sample` (they sum to 1, or are all 0 when none fits)."""
    with _ONE_THREAD:
        values = detector(languages, low_accuracy).compute_language_confidence_values(sample)
    return {value.language.iso_code_639_1.name.lower(): value.value for value in values}


class _OneThread:
    """lingua spreads its work (loading models, n-gram orders) over a rayon thread pool, one thread per core,
    started on its first use with the size `RAYON_NUM_THREADS` says then. A worker is already one process
    per core, and the pool's threads spin while they wait: one thread gives the same answers for less CPU
    (the preload ~0.3 s less on 2 busy cores). As it is not known which call starts the pool, the variable
    is set while any lingua call runs, from the first thread to enter to the last to leave (counted under a
    lock, so threads calling lingua at once neither unset it under each other nor fail to), and unset
    after; a value already in the environment stands, and other libraries' pools are left alone."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.inside = 0  # lingua calls running now
        self.set_here = False  # whether the variable now in the environment was set by this object

    def __enter__(self) -> None:
        with self.lock:
            if self.inside == 0 and RAYON_THREADS_ENV not in os.environ:
                os.environ[RAYON_THREADS_ENV] = "1"
                self.set_here = True
            self.inside += 1

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        with self.lock:
            self.inside -= 1
            if self.inside == 0 and self.set_here:
                os.environ.pop(RAYON_THREADS_ENV, None)
                self.set_here = False


_ONE_THREAD = _OneThread()
