"""langdetect itself, and its n-gram extraction written out character by character: what
curate/stages/language.py's cleaning, word table and scoring are tested against."""

from __future__ import annotations

from functools import cache, lru_cache

import langdetect.detector_factory as df
from langdetect import DetectorFactory
from langdetect.detector import Detector
from langdetect.detector_factory import init_factory
from langdetect.lang_detect_exception import LangDetectException
from langdetect.utils.ngram import NGram

from curate.stages.language import (
    _NORMALISE,
    UNDETERMINED,
    LanguageModel,
    _cleaned,
    _word_grams,
)

DetectorFactory.seed = 0  # seeded, langdetect gives the same answer every time


def _factory():
    if df._factory is None:
        init_factory()
    return df._factory


@lru_cache(maxsize=1)
def reference_detector() -> Detector:
    return _factory().create()


def reference_cleaned(text: str) -> str:
    """langdetect's own cleaning (Detector.append, then cleaning_text)."""
    detector = reference_detector()
    detector.text = ""
    detector.append(text)
    detector.cleaning_text()
    return detector.text


@cache
def _normalise_char(ch: str) -> str:
    return NGram.normalize(ch)


def extract_ngrams(text: str) -> list[str]:
    """langdetect's n-grams of a text: the same cleaning and the same 1-, 2- and 3-grams
    its Detector extracts, position by position, with the per-character normalisation cached."""
    cleaned = reference_cleaned(text)
    grams: list[str] = []
    buffer = " "
    capital = False
    for raw in cleaned:
        ch = _normalise_char(raw)
        last = buffer[-1]
        if last == " ":
            buffer = " "
            capital = False
            if ch == " ":
                continue
        elif len(buffer) >= 3:
            buffer = buffer[1:]
        buffer += ch
        if ch.isupper():
            if last.isupper():
                capital = True
        else:
            capital = False
        if capital:
            continue
        for n in (1, 2, 3):
            if len(buffer) < n:
                break
            gram = buffer[-n:]
            if gram != " ":
                grams.append(gram)
    return grams


def extract_ngrams_fast(text: str) -> list[str]:
    """The same n-grams as extract_ngrams, computed word by word as the word table does."""
    words = _cleaned(text).translate(_NORMALISE).split(" ")
    last = len(words) - 1
    return [g for k, word in enumerate(words) if word for g in _word_grams(word + " " if k < last else word)]


def word_keys_reference(text: str) -> list[str]:
    """The word table's keys as the text split on " " gives them: each word, with a space
    when one follows it."""
    words = _cleaned(text).translate(_NORMALISE).split(" ")
    last = len(words) - 1
    return [word + " " if k < last else word for k, word in enumerate(words) if word]


def profile_rows(model: LanguageModel, text: str) -> list[int]:
    """Profile rows of all the text's n-grams: summed, the evidence the word table must give."""
    return [model.row[g] for g in extract_ngrams_fast(text) if g in model.row]


def langdetect_reference(text: str) -> str:
    """Seeded langdetect itself, for comparison."""
    detector = _factory().create()
    detector.append(text)
    try:
        return detector.detect()
    except LangDetectException:  # no features in the text
        return UNDETERMINED
