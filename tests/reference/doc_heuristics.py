"""The published document heuristics, written plainly from the papers' text, for documents
given as their tokens: what curate/docstats.py is tested equal to on generated documents.

A document here is a list of paragraphs, each a list of lines, each a list of tokens, so
the words are known by construction instead of found by a tokenizer; ``text`` joins them
as curate's corpus record does (tokens by a space, a punctuation token glued to the token
before it; lines by "\\n", paragraphs by "\\n\\n"). Where a paper leaves a reading open,
the reading is the one curate documents (README, "Document rules"), said beside each.

Sources: Gopher = Rae et al. 2021, appendix A1.1 and table A1; C4 = Raffel et al. 2020,
section 2.2; FineWeb = Penedo et al. 2024, section 3.3.
"""

from __future__ import annotations

Doc = list[list[list[str]]]  # paragraphs -> lines -> tokens

GLUED = {",", ".", "!", "?", "...", "…", ";", ":"}  # written without a space before them


def line_text(tokens: list[str]) -> str:
    out = ""
    for k, token in enumerate(tokens):
        out += token if k == 0 or token in GLUED else " " + token
    return out


def lines(doc: Doc) -> list[str]:
    return [line_text(line) for para in doc for line in para]


def paragraphs(doc: Doc) -> list[str]:
    return ["\n".join(line_text(line) for line in para) for para in doc]


def text(doc: Doc) -> str:
    return "\n\n".join(paragraphs(doc))


def tokens(doc: Doc) -> list[str]:
    return [t for para in doc for line in para for t in line]


def words(doc: Doc) -> list[str]:
    """A word is a token with a letter or a digit in it (punctuation marks are not words)."""
    return [t for t in tokens(doc) if any(ch.isalnum() for ch in t)]


# -- Gopher, quality filters ("Quality filters", appendix A1.1) --

def word_count(doc: Doc) -> float:
    return len(words(doc))


def mean_word_length(doc: Doc) -> float:
    ws = words(doc)
    return sum(map(len, ws)) / len(ws) if ws else 0.0


def symbol_to_word_ratio(doc: Doc, symbol: str) -> float:
    """Occurrences of the symbol per token (curate's reading: per token, as datatrove counts)."""
    n = len(tokens(doc))
    count = text(doc).count(symbol) + (text(doc).count("…") if symbol == "..." else 0)
    return count / n if n else 0.0


def share_of_lines(doc: Doc, test) -> float:
    ls = lines(doc)
    return sum(1 for line in ls if test(line)) / len(ls) if ls else 0.0


def bullet_lines(doc: Doc) -> float:
    return share_of_lines(doc, lambda line: line.lstrip()[:1] in ("•", "-"))


def ellipsis_lines(doc: Doc) -> float:
    return share_of_lines(doc, lambda line: line.rstrip().endswith("...") or line.rstrip().endswith("…"))


def alphabetic_words(doc: Doc) -> float:
    """"80% of words in a document contain at least one alphabetic character"."""
    ws = words(doc)
    return sum(1 for w in ws if any(ch.isalpha() for ch in w)) / len(ws) if ws else 0.0


def alphabetic_tokens(doc: Doc) -> float:
    """The same share over every token, punctuation marks included (datatrove's reading)."""
    ts = tokens(doc)
    return sum(1 for t in ts if any(ch.isalpha() for ch in t)) / len(ts) if ts else 0.0


def stop_words(doc: Doc) -> float:
    """How many of "the, be, to, of, and, that, have, with" the document contains."""
    present = {w.lower() for w in words(doc)}
    return sum(1 for w in ("the", "be", "to", "of", "and", "that", "have", "with") if w in present)


# -- Gopher, repetition removal (table A1) --

def _repeats(items: list[str]) -> list[str]:
    """The items that equal an earlier item (each occurrence after the first)."""
    out, seen = [], []
    for item in items:
        if item in seen:
            out.append(item)
        else:
            seen.append(item)
    return out


def duplicate_fraction(items: list[str]) -> float:
    return len(_repeats(items)) / len(items) if items else 0.0


def duplicate_char_fraction(items: list[str], doc: Doc) -> float:
    return sum(len(x) for x in _repeats(items)) / len(text(doc)) if text(doc) else 0.0


def top_ngram_char_fraction(doc: Doc, n: int) -> float:
    """Characters of the most frequent n-gram (words joined by spaces) times its frequency;
    a tie goes to the n-gram that occurs first."""
    ws = words(doc)
    grams = [" ".join(ws[i:i + n]) for i in range(len(ws) - n + 1)]
    if not grams:
        return 0.0
    best = max(grams, key=lambda g: (grams.count(g), -grams.index(g)))
    return len(best) * grams.count(best) / len(text(doc))


def duplicate_ngram_char_fraction(doc: Doc, n: int) -> float:
    """Characters (of the words, without spaces) of the n-grams that repeat an earlier
    n-gram, reading left to right and moving past a repeat's n words, so that no character
    counts twice (datatrove's reading of Gopher's definition)."""
    ws = words(doc)
    earlier: list[list[str]] = []
    chars, i = 0, 0
    while i + n <= len(ws):
        gram = ws[i:i + n]
        if gram in earlier:
            chars += sum(len(w) for w in gram)
            i += n
        else:
            earlier.append(gram)
            i += 1
    return chars / len(text(doc)) if text(doc) else 0.0


# -- FineWeb (section 3.3) and C4 (section 2.2) --

def punctuated_lines(doc: Doc) -> float:
    return share_of_lines(doc, lambda line: line[-1:] in (".", "!", "?"))


def short_lines(doc: Doc, chars: int = 30) -> float:
    return share_of_lines(doc, lambda line: len(line) <= chars)


def duplicate_line_chars_of_lines(doc: Doc) -> float:
    ls = lines(doc)
    total = sum(map(len, ls))
    return sum(len(x) for x in _repeats(ls)) / total if total else 0.0


def newlines_per_token(doc: Doc) -> float:
    n = len(tokens(doc))
    return text(doc).count("\n") / n if n else 0.0


def curly_brackets(doc: Doc) -> float:
    return text(doc).count("{")


def lorem_ipsum(doc: Doc) -> float:
    return text(doc).lower().count("lorem ipsum")
