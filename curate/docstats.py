"""Statistics of a whole document, for document rules (scope = "document" in a rule file).

A document rule names one statistic of this registry and bounds it (min, max); the
document is measured as it would be written: its kept lines, joined as the corpus record
joins them (write.document_record). Each statistic is a small pure function of a
DocView, so that a test can compare it with an independent reference of the published
definition (tests/reference/doc_heuristics.py).

Words. The published heuristics count "words" without defining them; datatrove splits
with spaCy's English tokenizer, which makes each punctuation mark a token. curate does not
ship spaCy: TOKEN and CONTRACTION below are close to it (punctuation marks, "...", "--",
hyphens between letters and "n't", "'s" are tokens of their own; URLs, decimals, "1,000"
and snake_case stay whole), and a *word* is a token with a letter or digit in it. bench/document_rules.py
counts where this makes a decision differ from datatrove's.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from curate.ignorecase import fold

# A word's inner marks keep it whole ("3.14", "1,000", "CVE-2025", "snake_case"), but a
# hyphen between two letters is a token of its own, as in spaCy ("well", "-", "known").
TOKEN = re.compile(r"https?://\S+|www\.\S+|\.\.+|…|--+"
                   r"|\w+(?:(?:[.,'’:/@&#\u2011]|(?<![^\W\d_])-|-(?![^\W\d_]))\w+)*|\S")
# spaCy's English contractions: "don't" is "do" + "n't", "it's" is "it" + "'s".
CONTRACTION = re.compile(r"(?i)^(\w+?)(n['’]t|['’](?:s|re|ve|m|ll|d))$")
# Gopher's stop words (Rae et al. 2021, appendix A1.1: "the, be, to, of, and, that, have, with").
GOPHER_STOPWORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
# Sentence-ending marks: the commonest characters of Unicode's Sentence_Terminal property
# (UAX #29); datatrove's TERMINAL_PUNCTUATION is the whole property (159 characters).
# Escaped where a letter-alike would trip a reader: full-width ! ? . and the Arabic full stop.
TERMINAL = (".", "!", "?", "。", "\uff01", "\uff1f", "\uff0e", "؟", "\u06d4", "।", "॥", "။", "።",
            "‼", "‽", "⁇", "⁈", "⁉")
BULLETS = ("•", "-")  # line starts Gopher counts as bullet points (as datatrove reads it)
ELLIPSES = ("...", "…")
SENTENCE_END = re.compile("[.!?。\uff01\uff1f\uff0e؟।]+[\"'”’)\\]]*(?=\\s|$)")


@dataclass(frozen=True)
class DocView:
    """A document as document rules see it: its kept lines (non-blank, normalised) and
    where a paragraph ends after each (a blank or removed line before the next)."""

    lines: tuple[str, ...]
    breaks: tuple[bool, ...]  # breaks[k]: a paragraph ends after lines[k]
    language: str | None = None
    language_score: float = 0.0

    @cached_property
    def text(self) -> str:
        parts = []
        for k, line in enumerate(self.lines):
            if k:
                parts.append("\n\n" if self.breaks[k - 1] else "\n")
            parts.append(line)
        return "".join(parts)

    @cached_property
    def paragraphs(self) -> list[str]:
        out, current = [], []
        for line, ends in zip(self.lines, self.breaks, strict=True):
            current.append(line)
            if ends:
                out.append("\n".join(current))
                current = []
        if current:
            out.append("\n".join(current))
        return out

    @cached_property
    def tokens(self) -> list[str]:
        tokens = TOKEN.findall(self.text)
        if "'" not in self.text and "’" not in self.text:
            return tokens
        out: list[str] = []
        for token in tokens:
            parts = CONTRACTION.match(token) if "'" in token or "’" in token else None
            out.extend(parts.groups() if parts else (token,))
        return out

    @cached_property
    def words(self) -> list[str]:
        return list(filter(_HAS_ALNUM, self.tokens))

    def grams(self, n: int) -> tuple[list[tuple[str, ...]], Counter]:
        """The word n-grams in order, and how often each occurs (zip and Counter run in C)."""
        cache = self.__dict__.setdefault("_grams", {})
        if n not in cache:
            grams = list(zip(*(self.words[k:] for k in range(n)), strict=False))
            cache[n] = (grams, Counter(grams))
        found: tuple[list[tuple[str, ...]], Counter] = cache[n]
        return found


def view_of(texts: list[str], breaks: list[bool], language: str | None = None, score: float = 0.0) -> DocView:
    return DocView(tuple(texts), tuple(breaks), language, score)


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _duplicates(items: list[str]) -> tuple[int, int]:
    """(items that repeat an earlier one, their characters): Gopher's duplicate count."""
    seen: set[str] = set()
    count = chars = 0
    for item in items:
        if item in seen:
            count += 1
            chars += len(item)
        else:
            seen.add(item)
    return count, chars


_HAS_ALNUM = re.compile(r"[^\W_]").search
_HAS_ALPHA = re.compile(r"[^\W\d_]").search


def words(doc: DocView, p: Mapping[str, Any]) -> float:
    return len(doc.words)


def mean_word_length(doc: DocView, p: Mapping[str, Any]) -> float:
    return _ratio(sum(map(len, doc.words)), len(doc.words))


def hash_ratio(doc: DocView, p: Mapping[str, Any]) -> float:
    return _ratio(doc.text.count("#"), len(doc.tokens))


def ellipsis_ratio(doc: DocView, p: Mapping[str, Any]) -> float:
    return _ratio(doc.text.count("...") + doc.text.count("…"), len(doc.tokens))


def bullet_lines(doc: DocView, p: Mapping[str, Any]) -> float:
    return _ratio(sum(line.lstrip().startswith(BULLETS) for line in doc.lines), len(doc.lines))


def ellipsis_lines(doc: DocView, p: Mapping[str, Any]) -> float:
    return _ratio(sum(line.rstrip().endswith(ELLIPSES) for line in doc.lines), len(doc.lines))


def alpha_words(doc: DocView, p: Mapping[str, Any]) -> float:
    return _ratio(len(list(filter(_HAS_ALPHA, doc.words))), len(doc.words))


def alpha_tokens(doc: DocView, p: Mapping[str, Any]) -> float:
    """Share of tokens with a letter: punctuation marks count against it (datatrove's
    reading of Gopher's 80% rule; the gopher-alpha-words rule reads "words", as the paper)."""
    return _ratio(len(list(filter(_HAS_ALPHA, doc.tokens))), len(doc.tokens))


def stopwords(doc: DocView, p: Mapping[str, Any]) -> float:
    """Distinct stop words present, in any case: the stop words and the document's words
    folded as the rules compare letters (curate/ignorecase.py). str.lower made "İÇİN"
    "i̇çi̇n", with a combining dot, so a Turkish stop word in capitals never counted."""
    wanted = set(map(fold, p.get("words", GOPHER_STOPWORDS)))
    return len(wanted.intersection(map(fold, doc.words)))


def dup_line_fraction(doc: DocView, p: Mapping[str, Any]) -> float:
    return _ratio(_duplicates(list(doc.lines))[0], len(doc.lines))


def dup_line_char_fraction(doc: DocView, p: Mapping[str, Any]) -> float:
    return _ratio(_duplicates(list(doc.lines))[1], len(doc.text))


def dup_paragraph_fraction(doc: DocView, p: Mapping[str, Any]) -> float:
    return _ratio(_duplicates(doc.paragraphs)[0], len(doc.paragraphs))


def dup_paragraph_char_fraction(doc: DocView, p: Mapping[str, Any]) -> float:
    return _ratio(_duplicates(doc.paragraphs)[1], len(doc.text))


def top_ngram_char_fraction(doc: DocView, p: Mapping[str, Any]) -> float:
    """Characters of the commonest word n-gram (with its inner spaces) times its count,
    over the document's characters (Gopher's "top n-gram character fraction")."""
    n = p["n"]
    grams, counts = doc.grams(n)
    if not grams:
        return 0.0
    # most_common(1) is max(): a tie goes to the n-gram seen first, as in datatrove.
    gram, count = counts.most_common(1)[0]
    return _ratio((sum(map(len, gram)) + n - 1) * count, len(doc.text))


def dup_ngram_char_fraction(doc: DocView, p: Mapping[str, Any]) -> float:
    """Characters of the word n-grams that repeat an earlier one, over the document's
    characters; an n-gram counted skips the n words it covers, so no character counts
    twice (Gopher's "duplicate n-gram character fraction", read as datatrove reads it).

    Only n-grams that occur twice or more can repeat, so the walk stops only at them: one
    that occurs once changes nothing whether the walk remembers it or jumps over it."""
    n = p["n"]
    # No m-gram occurring twice means no longer one does: most documents stop at the
    # 4-grams the top-4-gram rule counted already.
    known = doc.__dict__.get("_grams", {})
    if any(m <= n and len(c) == len(g) for m, (g, c) in known.items()):
        return 0.0
    grams, counts = doc.grams(n)
    if len(counts) == len(grams):  # no n-gram occurs twice: decided in C
        return 0.0
    repeated = {gram for gram, count in counts.items() if count > 1}
    seen: set[tuple[str, ...]] = set()
    chars = cursor = 0
    for i, gram in enumerate(grams):
        if i < cursor or gram not in repeated:
            continue
        if gram in seen:
            chars += sum(map(len, gram))
            cursor = i + n
        else:
            seen.add(gram)
            cursor = i + 1
    return _ratio(chars, len(doc.text))


def punct_lines(doc: DocView, p: Mapping[str, Any]) -> float:
    return _ratio(sum(line.endswith(TERMINAL) for line in doc.lines), len(doc.lines))


def short_lines(doc: DocView, p: Mapping[str, Any]) -> float:
    limit = p.get("chars", 30)
    return _ratio(sum(len(line) <= limit for line in doc.lines), len(doc.lines))


def char_duplicate_ratio(doc: DocView, p: Mapping[str, Any]) -> float:
    """Characters of lines that repeat an earlier line over the characters of all lines
    (FineWeb's char_dup_ratio: newlines not counted)."""
    return _ratio(_duplicates(list(doc.lines))[1], sum(len(line) for line in doc.lines))


def newline_ratio(doc: DocView, p: Mapping[str, Any]) -> float:
    """Line breaks (a paragraph break counts two) per token: FineWeb's list_ratio."""
    return _ratio(doc.text.count("\n"), len(doc.tokens))


def lorem_ipsum(doc: DocView, p: Mapping[str, Any]) -> float:
    return doc.text.lower().count("lorem ipsum")


def curly_brackets(doc: DocView, p: Mapping[str, Any]) -> float:
    return doc.text.count("{")


def sentences(doc: DocView, p: Mapping[str, Any]) -> float:
    return len(SENTENCE_END.findall(doc.text))


def language_score(doc: DocView, p: Mapping[str, Any]) -> float:
    return doc.language_score


@dataclass(frozen=True)
class Range:
    """The values a statistic can take, declared beside it so that a rule's bound outside
    them is refused at load (rules._parse_document_rule): a rule with max = 7 on a share,
    or min = -3 on a count, never fired and said nothing, and one with min = 2 on a share
    dropped every document."""

    what: str  # "a share", "a count", ... as a refusal says it
    low: float
    high: float | None  # None: no upper bound
    example: float  # a bound worth writing (the built-in packs' where they have one), for the refusal's "e.g."

    def __str__(self) -> str:
        return f"{self.what} of 0 or more" if self.high is None else f"{self.what} from {self.low:g} to {self.high:g}"

    def holds(self, value: float) -> bool:
        return self.low <= value and (self.high is None or value <= self.high)


def share(example: float) -> Range:
    """Part of a whole: _ratio of a count of items to the count they are drawn from."""
    return Range("a share", 0.0, 1.0, example)


def count(example: float) -> Range:
    return Range("a count", 0.0, None, example)


def ratio(what: str, example: float) -> Range:
    """A quotient with no upper bound: '#' per token ("a#b#c" is one token), a mean length."""
    return Range(what, 0.0, None, example)


def score(example: float) -> Range:
    return Range("a score", 0.0, 1.0, example)


@dataclass(frozen=True)
class Statistic:
    measure: Callable[[DocView, Mapping[str, Any]], float]
    about: str  # one line for `curate rules list` and the README
    range: Range  # no default: a new statistic must say what its bounds may be (tests/test_document_rules.py)
    params: tuple[str, ...] = ()  # the params it reads
    required: tuple[str, ...] = ()  # ... of which these must be given


STATISTICS: dict[str, Statistic] = {
    "words": Statistic(words, "words (tokens with a letter or digit)", count(50)),
    "mean_word_length": Statistic(mean_word_length, "mean characters per word", ratio("a length in characters", 3)),
    "hash_ratio": Statistic(hash_ratio, "'#' characters per token", ratio("a number per token", 0.1)),
    "ellipsis_ratio": Statistic(ellipsis_ratio, "'...' and '…' per token", ratio("a number per token", 0.1)),
    "bullet_lines": Statistic(bullet_lines, "share of lines that start with '•' or '-'", share(0.9)),
    "ellipsis_lines": Statistic(ellipsis_lines, "share of lines that end with '...' or '…'", share(0.3)),
    "alpha_words": Statistic(alpha_words, "share of words with a letter", share(0.8)),
    "alpha_tokens": Statistic(alpha_tokens, "share of tokens (words and punctuation marks) with a letter",
                              share(0.8)),
    "stopwords": Statistic(stopwords, "distinct stop words present (params.words; Gopher's 8 by default)",
                           count(2), ("words",)),
    "dup_line_fraction": Statistic(dup_line_fraction, "share of lines that repeat an earlier line", share(0.3)),
    "dup_line_char_fraction": Statistic(dup_line_char_fraction, "characters in repeated lines / all characters",
                                        share(0.2)),
    "dup_paragraph_fraction": Statistic(dup_paragraph_fraction, "share of paragraphs that repeat an earlier one",
                                        share(0.3)),
    "dup_paragraph_char_fraction": Statistic(dup_paragraph_char_fraction,
                                             "characters in repeated paragraphs / all characters", share(0.2)),
    # Not a share: the commonest n-gram's occurrences may overlap ("a a a a" holds "a a"
    # three times), so its characters times its count can pass the document's.
    "top_ngram_char_fraction": Statistic(top_ngram_char_fraction,
                                         "characters of the commonest word n-gram x its count / all (params.n)",
                                         ratio("a fraction of characters", 0.2), ("n",), ("n",)),
    # A share: a repeated n-gram counted skips the words it covers, so no character counts twice.
    "dup_ngram_char_fraction": Statistic(dup_ngram_char_fraction,
                                         "characters in repeated word n-grams / all characters (params.n)",
                                         share(0.15), ("n",), ("n",)),
    "punct_lines": Statistic(punct_lines, "share of lines that end in terminal punctuation", share(0.12)),
    "short_lines": Statistic(short_lines, "share of lines of at most params.chars (30) characters", share(0.67),
                             ("chars",)),
    "char_duplicate_ratio": Statistic(char_duplicate_ratio, "characters in repeated lines / characters of lines",
                                      share(0.1)),
    # A paragraph break counts two, and a line may be one token: below 2, yet past 1.
    "newline_ratio": Statistic(newline_ratio, "line breaks per token", ratio("a number per token", 0.3)),
    "lorem_ipsum": Statistic(lorem_ipsum, "occurrences of 'lorem ipsum'", count(0)),
    "curly_brackets": Statistic(curly_brackets, "'{' characters", count(0)),
    "sentences": Statistic(sentences, "sentence ends (. ! ? and the like before a space or the end)", count(5)),
    # The language stage's calibrated confidence, in [0, 1] (docs/output.md); 0.65 is FineWeb's.
    "language_score": Statistic(language_score, "the language stage's score for the document's language",
                                score(0.65)),
}
LANGUAGE = "language"  # the statistic a keep-list tests: the document's language label, in a set


def measure(stat: str, doc: DocView, params: Mapping[str, Any]) -> float:
    return STATISTICS[stat].measure(doc, params)
