"""The optional language model of `--language-model py3langid`: py3langid (a fork of
langid.py, BSD-3-Clause; pip install 'curate-corpus[py3langid]'), whose model ships in the
wheel (4.5 MB) and covers 97+ languages, among them several langdetect's profiles lack
(Icelandic, Malay, Basque, Galician, Irish, Georgian, Armenian, Hausa, Yoruba, ...).

Documents and lines are labelled as with the default model (same samples, same `und`
rules for short text, same share of agreeing lines in the document's score); the
confidence is py3langid's own normalised probability, whose softmax temperature (the
square root of the text's bytes) its authors chose to keep it calibrated across lengths.
Codes are ISO 639-1 where one exists and ISO 639-3 otherwise, as py3langid gives them;
its "zxx" (no linguistic content) is "und".
"""

from __future__ import annotations

from typing import Any

from curate.document import Document
from curate.errors import UsageError
from curate.stages.language import (
    DOCUMENT_SAMPLE_CHARS,
    MIN_LETTERS_DOCUMENT,
    MIN_LETTERS_PARAGRAPH,
    PARAGRAPH_SAMPLE_CHARS,
    UNDETERMINED,
    _letters,
)

# Under this probability a label is "und": chosen on the fit half of the labelled set
# (bench/language.py --model py3langid --fit; 0.0 was best there, where py3langid covers
# every language, so this keeps only what costs it under 1% there: see
# bench/results/language-py3langid.txt).
UND_BELOW = 0.3
_NO_LANGUAGE = {"zxx"}

_identifier: Any = None


def identifier() -> Any:
    """py3langid's identifier with normalised probabilities, loaded once per process."""
    global _identifier
    if _identifier is None:
        try:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier
        except ImportError as error:
            raise UsageError("--language-model py3langid needs py3langid: pip install "
                             "'curate-corpus[py3langid]' (or choose --language-model langdetect)") from error
        _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _identifier


def classify(text: str) -> tuple[str, float]:
    code, probability = identifier().classify(text)
    if code in _NO_LANGUAGE or probability < UND_BELOW:
        return UNDETERMINED, 0.0
    return code, float(probability)


def detect_languages(docs: list[Document]) -> None:
    """Label each document and each of its kept lines, as language.detect_languages does."""
    for doc in docs:
        per_line: dict[int, tuple[str, float]] = {}
        judged: list[tuple[int, str]] = []  # (letters, code) of lines long enough to judge alone
        sample: list[str] = []
        budget = DOCUMENT_SAMPLE_CHARS
        letters = 0
        for line in doc.lines:
            text = line.text[:PARAGRAPH_SAMPLE_CHARS]
            n_letters = _letters(text)
            if n_letters >= MIN_LETTERS_PARAGRAPH:
                label = classify(text)
                judged.append((n_letters, label[0]))
            else:
                label = (UNDETERMINED, 0.0)
            per_line[line.index] = (label[0], round(label[1], 4))
            if n_letters and budget > 0:
                sample.append(text)
                budget -= len(text)
                letters += n_letters
        if letters < MIN_LETTERS_DOCUMENT:
            doc.language, doc.language_score = UNDETERMINED, 0.0
        else:
            code, probability = classify("\n".join(sample))
            total = sum(n for n, _ in judged)
            share = sum(n for n, c in judged if c == code) / total if total else 1.0
            doc.language, doc.language_score = code, round(probability * share, 4)
        doc.line_languages = {i: label for i, label in per_line.items() if label[0] != doc.language}
