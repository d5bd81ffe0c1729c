"""The line model's features computed one page at a time, as they were first written: the
reference that curate.linemodel.features.pages_features (every page of a batch at once,
~10x faster on short documents) must equal exactly (tests/test_line_model.py).

The parts that pages_features computes another way are kept here as they were (a line's
own shape, with every pattern's matches counted through the re2 module's finditer; the
title overlap, tokenised line by line; the window means, one column at a time), so the
reference does not lean on the code it checks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from curate.document import Line
from curate.linemodel.features import (
    _CJK_FLAG,
    _COMMA,
    _CONTEXT_OF,
    _COUNTED,
    _DIGIT,
    _GROUP_INDEX,
    _INDEX,
    _LETTER,
    _PAGE_PATTERNS,
    _PUNCT,
    _TOKEN,
    _UPPER,
    _WINDOWS,
    FEATURES,
    OWN,
    RULE_GROUPS,
    RULES,
    STOPWORDS,
    _class_table,
)

_compiled: dict[str, tuple[object, bool]] = {}


def _reference_patterns() -> dict[str, tuple[object, bool]]:
    if not _compiled:
        import re2

        for name, (source, lowered) in _PAGE_PATTERNS.items():
            _compiled[name] = (re2.compile(source.encode("utf-8")), lowered)
    return _compiled


def own_lines_reference(texts: list[str], gap_before: list[bool], page_of: np.ndarray) -> np.ndarray:
    """The OWN features of every line, computed for all at once; ``page_of``: each line's
    page (a line is repeated when its page has it twice)."""
    n = len(texts)
    own = np.zeros((n, len(OWN)), dtype=np.float64)
    col = {name: k for k, name in enumerate(OWN)}
    page = "\n".join(texts)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1] + 1, out=starts[1:])
    codes = np.frombuffer(page.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    flags = _class_table()[np.minimum(codes, 0x10000)]
    letter = (flags & _LETTER) != 0
    # A word starts at a letter after a non-letter; the newline between lines ends each.
    word_start = letter & ~np.concatenate([[False], letter[:-1]])

    # Per line counts of each character class, in one pass over the characters (the
    # newline after each line is in no class).
    def per_line(mask: np.ndarray) -> np.ndarray:
        return np.add.reduceat(mask.view(np.uint8), starts, dtype=np.int64).astype(np.float64)

    upper = (flags & _UPPER) != 0
    letters, n_words, cjk, commas = (per_line(letter), per_line(word_start), per_line((flags & _CJK_FLAG) != 0),
                                     per_line((flags & _COMMA) != 0))
    uppers, digits, puncts = per_line(upper), per_line((flags & _DIGIT) != 0), per_line((flags & _PUNCT) != 0)
    titled = per_line(word_start & upper)
    chars = lengths.astype(np.float64)
    safe_words, safe_chars = np.maximum(n_words, 1), np.maximum(chars, 1)
    own[:, col["log_chars"]] = np.log1p(chars)
    own[:, col["log_words"]] = np.log1p(n_words)
    own[:, col["comma_rate"]] = commas / safe_words
    own[:, col["mean_word_len"]] = letters / safe_words
    own[:, col["caps_share"]] = np.divide(uppers, letters, out=np.zeros(n), where=letters > 0)
    own[:, col["digit_share"]] = digits / safe_chars
    own[:, col["punct_share"]] = puncts / safe_chars
    own[:, col["cjk_share"]] = cjk / safe_chars
    own[:, col["upper_initial"]] = (flags[starts] & _UPPER) != 0
    lowered = page.lower()  # the same lines: lowercasing never makes or removes a newline
    encoded = {False: page.encode("utf-8", "surrogatepass"), True: lowered.encode("utf-8", "surrogatepass")}
    line_starts = {}
    for key, data in encoded.items():
        newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
        line_starts[key] = np.concatenate([[0], newlines + 1])
    for name, (pattern, on_lowered) in _reference_patterns().items():
        hits = np.fromiter((m.start() for m in pattern.finditer(encoded[on_lowered])), dtype=np.int64)  # type: ignore[attr-defined]
        where = np.searchsorted(line_starts[on_lowered], hits, side="right") - 1
        counts = np.bincount(where, minlength=n).astype(np.float64)
        own[:, col[name]] = counts if name in _COUNTED else np.minimum(counts, 1.0)
    stop = np.fromiter((sum(map(STOPWORDS.__contains__, low.split())) for low in lowered.split("\n")),
                       dtype=np.float64, count=n)
    own[:, col["stopword_share"]] = stop / safe_words
    own[:, col["title_case_share"]] = titled / safe_words
    own[:, col["gap_before"]] = np.array(gap_before, dtype=np.float64)
    keys = list(zip(page_of.tolist(), texts, strict=True))
    counts_on_page = Counter(keys)
    own[:, col["repeated_on_page"]] = np.fromiter((counts_on_page[key] > 1 for key in keys), dtype=np.float64,
                                                  count=n)
    terminal = own[:, col["terminal"]]
    own[:, col["prose"]] = ((terminal > 0) & ((n_words >= 10) | (cjk >= 25))).astype(np.float64)
    return own


def window_mean_reference(column: np.ndarray, width: int, start: np.ndarray | None = None,
                 end: np.ndarray | None = None) -> np.ndarray:
    """Mean of ``column`` over the lines within ``width`` of each line, itself left out,
    within its page (lines ``start[i]`` to ``end[i]``, exclusive; default: one page). The
    neighbours are added one offset at a time, in the same order for every line, so a
    line's mean does not depend on what else is in the batch (a running sum would round
    differently after other pages' values)."""
    n = len(column)
    idx = np.arange(n)
    start = np.zeros(n, dtype=np.int64) if start is None else start
    end = np.full(n, n, dtype=np.int64) if end is None else end
    total = np.zeros(n)
    count = np.zeros(n, dtype=np.int64)
    for offset in (*range(-width, 0), *range(1, width + 1)):
        other = idx + offset
        inside = (other >= start) & (other < end)
        total += np.where(inside, column[np.clip(other, 0, n - 1)], 0.0)
        count += inside
    return np.divide(total, count, out=np.zeros(n), where=count > 0)


def title_overlap_reference(texts: list[str]) -> np.ndarray:
    """Per line, the share of the page title's words (its first line's) that it has: the
    headline repeats the title, teasers and menus rarely do."""
    title = {w for w in _TOKEN.findall(texts[0].casefold()) if len(w) > 2}
    out = np.zeros(len(texts))
    if not title:
        return out
    for k, text in enumerate(texts[1:], start=1):
        words = _TOKEN.findall(text.casefold())
        if len(words) >= 3:
            out[k] = len(title.intersection(words)) / len(title)
    return out



def line_features_reference(lines: Sequence[Line], hits: Mapping[int, set[str]]) -> np.ndarray:
    """One row of FEATURES per line. ``hits``: line index -> the rule groups (RULE_GROUPS)
    whose rules hit it."""
    n = len(lines)
    out = np.zeros((n, len(FEATURES)), dtype=np.float64)
    if not n:
        return out
    own = own_lines_reference([line.text for line in lines], [line.gap_before for line in lines],
                     np.zeros(len(lines), dtype=np.int64))
    out[:, :len(OWN)] = own
    rules = np.zeros((n, len(RULE_GROUPS)), dtype=np.float64)
    for k, line in enumerate(lines):
        for group in hits.get(line.index, ()):
            rules[k, _GROUP_INDEX[group]] = 1.0
    any_rule = rules.max(axis=1)
    column = {name: own[:, OWN.index(name)] for name in OWN}
    column["any_rule"] = any_rule
    for w in _WINDOWS:
        for name in _CONTEXT_OF:
            out[:, _INDEX[f"{name}_w{w}"]] = window_mean_reference(column[name], w)
    for name in ("log_chars", "terminal", "prose"):
        out[1:, _INDEX[f"{name}_prev"]] = column[name][:-1]
        out[:-1, _INDEX[f"{name}_next"]] = column[name][1:]
    out[:, _INDEX["title_overlap"]] = title_overlap_reference([line.text for line in lines])
    idx = np.arange(n, dtype=np.float64)
    out[:, _INDEX["position"]] = idx / max(n - 1, 1)
    out[:, _INDEX["log_from_start"]] = np.log1p(idx)
    out[:, _INDEX["log_from_end"]] = np.log1p(n - 1 - idx)
    out[0, _INDEX["first_line"]] = 1.0
    out[:, _INDEX["log_lines"]] = np.log1p(float(n))
    prose = column["prose"]
    out[:, _INDEX["page_prose_share"]] = prose.mean()
    # Inside a block: prose both somewhere before and somewhere after within 8 lines.
    sums = np.concatenate([[0.0], np.cumsum(prose)])
    idx_int = np.arange(n)
    near_before = (sums[idx_int] - sums[np.maximum(idx_int - 8, 0)]) > 0
    near_after = (sums[np.minimum(idx_int + 9, n)] - sums[idx_int + 1]) > 0
    out[:, _INDEX["in_prose_block"]] = near_before & near_after
    where = np.flatnonzero(prose)
    if len(where):
        pos = np.searchsorted(where, np.arange(n))
        left = np.where(pos > 0, np.arange(n) - where[np.maximum(pos - 1, 0)], n)
        right = np.where(pos < len(where), where[np.minimum(pos, len(where) - 1)] - np.arange(n), n)
        out[:, _INDEX["log_to_prose"]] = np.log1p(np.minimum(np.abs(left), np.abs(right)))
        out[:, _INDEX["after_last_prose"]] = (np.arange(n) > where[-1]).astype(np.float64)
        out[:, _INDEX["before_first_prose"]] = (np.arange(n) < where[0]).astype(np.float64)
    else:
        # numpy's log1p, as pages_features: math.log1p(2) rounds to another last bit
        out[:, _INDEX["log_to_prose"]] = np.log1p(float(n))
    first_rule = len(FEATURES) - len(RULES)
    out[:, first_rule:first_rule + len(RULE_GROUPS)] = rules
    out[:, _INDEX["any_rule"]] = any_rule
    out[:, _INDEX["rule_near_2"]] = window_mean_reference(any_rule, 2)
    return out
