"""What the line model sees of each line: its own shape, its neighbours' shape, where it
sits in the page, and which rules and detectors hit it or its neighbours.

Every feature is a number computed from the page's lines alone, the same way at training
(tools/train_line_model.py) and at run time, so a model file is a pure function of the
page. The names in FEATURES are written into the model file: a model trained on other
features is refused at load rather than silently misread.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np

from curate import writing
from curate.codepoints import look_up
from curate.document import Line
from curate.rules import BUILTIN_PREFIX

# Built-in rule files, each one feature: "was this line hit by a rule of this file". A
# rule from any other file counts under "other" (a user's own rules are final and never
# reach the model, but a rule file can still be turned into evidence by name).
RULE_GROUPS = (
    "accounts", "ads", "breadcrumbs", "bylines", "comments", "cookies", "credits", "disclaimers", "endmarks",
    "feedback", "keywords", "legal", "menus", "navigation", "newsletter", "pagination", "region", "related",
    "share", "stamps", "tags", "other",
)
_GROUP_INDEX = {name: k for k, name in enumerate(RULE_GROUPS)}

# The commonest function words of the languages the rule packs cover: the share of a
# line's words among them tells running prose from names, labels and menus in any of
# them. Lists written for this model: articles, pronouns, prepositions, conjunctions.
_STOPWORDS = {
    "en": "the a an and or but of to in on at for with from by as is are was were be been it its this that these "
          "those he she they we you i his her their our your not no have has had will would can could which who "
          "what when there than then so if into about after over also more",
    "de": "der die das den dem des ein eine einen einem einer und oder aber von zu im in am an auf für mit aus bei "
          "als ist sind war waren sein es er sie wir ihr ich nicht kein hat haben wird werden kann auch noch nach "
          "über wie wenn dass sich so nur schon vor um durch",
    "es": "el la los las un una unos y o pero de del al a en con por para como es son fue era ser lo le les se que "
          "su sus no más ya muy también sobre entre",
    "fr": "le la les un une des et ou mais de du au aux à en dans sur pour par avec est sont était être il elle ils "
          "nous vous je ne pas que qui se sa son ses plus ce cette aussi",
    "it": "il lo la gli le un una e o ma di del della dei al a in con per da su è sono era essere che non si più "
          "anche come questo questa",
    "pt": "o a os as um uma e ou mas de do da dos das ao em no na com por para é são foi ser que não se mais também "
          "como seu sua",
    "nl": "de het een en of maar van in op aan voor met uit bij als is zijn was waren hij zij wij ik niet geen heeft "
          "hebben wordt ook nog naar over dat die dit er",
    "pl": "i w z na do nie się że to jest są był była od po dla przez jak ale lub oraz przy jego jej ich tak już",
    # and of Russian, Arabic and Hindi
    "ru": "и в во не что он она они на с со как а но по к у из за от до для о об это этот эта его её ее их был была "  # noqa: RUF001
          "были будет также уже только который которая которые при после или же бы то",
    "ar": "في من على إلى الى عن مع هذا هذه ذلك التي الذي الذين كان كانت أن إن لا ما هو هي قد كما بعد بين عند حتى "
          "لم لن أو ثم كل",
    "hi": "का की के है हैं में से को और पर ने भी यह वह ये वे एक था थी थे तो कि लिए नहीं हो इस उस जो कर गया गई",
}
STOPWORDS = frozenset(word for words in _STOPWORDS.values() for word in words.split())

# Each pattern runs once over the whole page's UTF-8 bytes (lines joined by newlines) in
# RE2, and its matches are counted per line: one linear scan per page and pattern, where
# Python's re, called per line, cost ~9 µs a line. The second field: run on the page
# lowercased. No pattern may match the empty string or a newline: then the matches of
# one line never depend on another's, which _first_match_per_line relies on.
_PAGE_PATTERNS = {
    "terminal": (f"(?m)[{writing.SENTENCE_MARKS}][\"'”’»)\\]]*$", False),
    "colon_end": (r"(?m):$", False),
    "sentence_breaks": (f"[{writing.SENTENCE_MARKS}][\"»”')]?[ \\t]+[\"„«“(]?[{writing.SENTENCE_OPENERS}]"
                        f"|[{writing.IDEOGRAPHIC_BREAKS}][^\\n]|{writing.UNSPACED_BREAK}", False),
    "bullet": (r"(?m)^(?:[-–•*·▪►✓✔]|\d{1,2}[.)]|[a-z][.)])[ \t]", False),
    "separator": (r"(?m)[|/»\x{203A}>·•](?:[ \t]|$)", False),  # 203A: a single right angle quote
    "date": (r"\d{1,2}[./-] ?\d{1,2}[./-] ?\d{2,4}\b|\d{4}-\d{2}-\d{2}\b|(?:19|20)\d\d\b", False),
    "time": (r"\d:\d\d\b", False),
    "urlish": (r"https?://|www\.|@\w+\.\w|\.(?:com|org|net|de|html?)\b", True),
    "copyright": (r"©|\(c\)|copyright", True),
    "price": (r"[$€£¥] ?\d|\d ?(?:€|eur|usd|zł)", True),
}
_COUNTED = ("sentence_breaks",)  # the rest are 0/1: does the line have a match
# Two patterns only ask how a line ends: terminal, one of _MARKS then any of _CLOSERS;
# colon_end, a colon. _line_ends reads that off the characters of all lines at once, with
# no scan of the page (tests/reference/line_features.py runs the patterns themselves).
_READ_OFF = ("terminal", "colon_end")
_MARKS, _CLOSERS = writing.SENTENCE_MARKS, "\"'”’»)]"
_CLOSER_STEPS = 4
_compiled: dict[str, tuple[Any, bool]] = {}
_UNANCHORED: Any = None  # RE2's "search anywhere", set with the patterns


def _patterns() -> dict[str, tuple[Any, bool]]:
    """The RE2 programs themselves (what re2.compile wraps, with its default options): their
    Match is called directly, as the module's finditer would, without its Match objects."""
    global _UNANCHORED
    if not _compiled:
        import re2
        from re2 import _re2

        _UNANCHORED = _re2.RE2.Anchor.UNANCHORED
        for name, (source, lowered) in _PAGE_PATTERNS.items():
            if name not in _READ_OFF:
                _compiled[name] = (_re2.RE2(source.encode("utf-8"), re2.Options()), lowered)
    return _compiled


def _every_match(program: Any, data: bytes) -> list[int]:
    """Where each match starts, as the re2 module's finditer steps through ``data``."""
    match, anchor, end = program.Match, _UNANCHORED, len(data)
    found: list[int] = []
    pos = 0
    while True:
        start, stop = match(anchor, data, pos, end)[0]
        if start < 0:
            return found
        found.append(start)
        if pos == end:
            return found
        pos = pos + 1 if stop == pos else stop


def _first_match_per_line(program: Any, data: bytes) -> list[int]:
    """Where the first match of each line that has one starts: all that a 0/1 feature reads.
    The search goes on from the next line, so a line of many dates costs one call, and a
    line has a match here exactly when finditer finds one in it (see _PAGE_PATTERNS)."""
    match, anchor, end = program.Match, _UNANCHORED, len(data)
    found: list[int] = []
    pos = 0
    while True:
        start = match(anchor, data, pos, end)[0][0]
        if start < 0:
            return found
        found.append(start)
        pos = data.find(b"\n", start) + 1
        if not pos:
            return found


# Character classes of the Basic Multilingual Plane, built on first use: bit flags per
# code point, read with one numpy gather per page.
_TOKEN = writing.WORD  # \w and the combining marks \w leaves out
_LETTER, _UPPER, _DIGIT, _PUNCT, _CJK_FLAG, _COMMA, _MARK, _CLOSER = 1, 2, 4, 8, 16, 32, 64, 128
_classes: np.ndarray | None = None
# The scripts of CJK_FLAG: Chinese and Japanese, Thai, Lao, Myanmar and Khmer (written
# without spaces between words), and Korean's syllables, as the shipped model was fitted.
_UNSPACED_RANGES = writing.CJK_RANGES + writing.HANGUL_RANGE + writing.UNSPACED_RANGES


def _range_mask(ranges: str) -> np.ndarray:
    """The code points of the BMP in ``ranges`` (a character class's body: "a-z0-9_"), as
    a mask. Combining marks that belong to a word (writing.MARK_RANGES; not an emoji's
    variation selector) are letters in the table."""
    mask = np.zeros(0x10000, dtype=bool)
    k = 0
    while k < len(ranges):
        if k + 2 < len(ranges) and ranges[k + 1] == "-":
            mask[ord(ranges[k]):ord(ranges[k + 2]) + 1] = True
            k += 3
        else:
            mask[ord(ranges[k])] = True
            k += 1
    return mask


def _class_table() -> np.ndarray:
    global _classes
    if _classes is None:
        import unicodedata

        table = np.zeros(0x10000 + 1, dtype=np.uint8)  # the last slot: any code point above the BMP
        script_mark = _range_mask(writing.MARK_RANGES)
        for code in range(0x10000):
            cat = unicodedata.category(chr(code))
            flags = 0
            if cat[0] == "L":
                flags |= _LETTER | (_UPPER if cat == "Lu" else 0)
            elif cat in ("Mn", "Mc") and script_mark[code]:
                flags |= _LETTER  # a vowel sign of Hindi or Thai is as much of the word as its consonant
            elif cat == "Nd":
                flags |= _DIGIT
            elif cat[0] in "PS":
                flags |= _PUNCT
            table[code] = flags
        table[:0x10000][_range_mask(_UNSPACED_RANGES)] |= _CJK_FLAG
        table[ord(",")] |= _COMMA
        table[[ord(char) for char in _MARKS]] |= _MARK
        table[[ord(char) for char in _CLOSERS]] |= _CLOSER
        table[0x10000] = _LETTER
        _classes = table
    return _classes


# Which code points are word characters to _TOKEN (Python's \w): a table of the BMP,
# built on first use by _TOKEN itself; _TOKEN's answer, kept, for the rare code point above.
_word_table: np.ndarray | None = None


@cache
def _is_word_char(code: int) -> bool:
    return _TOKEN.fullmatch(chr(code)) is not None


def _word_chars(codes: np.ndarray) -> np.ndarray:
    global _word_table
    if _word_table is None:
        _word_table = np.zeros(0x10000, dtype=bool)
        for run in _TOKEN.finditer("".join(map(chr, range(0x10000)))):
            _word_table[run.start():run.end()] = True
    return look_up(_word_table, codes, _is_word_char)


def _line_words(folded: str, n: int) -> tuple[list[str], list[int]]:
    """_TOKEN's words of each of the ``n`` newline-joined lines of ``folded``, found for all
    lines at once: every word, in order, and where each line's words begin (line r's are
    words[bounds[r]:bounds[r + 1]]). Every non-word character becomes a space, so one
    str.split cuts where _TOKEN's words end (no word character is whitespace)."""
    codes = np.frombuffer(folded.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    word = _word_chars(codes)
    words = np.where(word, codes, 32).astype(np.uint32).tobytes().decode("utf-32-le").split()
    starts = np.flatnonzero(word & ~np.concatenate([[False], word[:-1]]))
    per_line = np.bincount(np.searchsorted(np.flatnonzero(codes == 10), starts), minlength=n)
    return words, np.concatenate([[0], np.cumsum(per_line)]).tolist()


# Own shape of a line, then the same few shapes averaged over windows around it.
OWN = (
    "log_chars", "log_words", "terminal", "colon_end", "sentence_breaks", "comma_rate", "mean_word_len",
    "upper_initial", "caps_share", "digit_share", "punct_share", "stopword_share", "bullet", "separator",
    "date", "time", "urlish", "copyright", "price", "cjk_share", "title_case_share", "gap_before",
    "repeated_on_page", "prose",
)
_CONTEXT_OF = ("log_chars", "terminal", "prose", "stopword_share", "any_rule")
_WINDOWS = (1, 3, 8)
POSITION = ("title_overlap", "position", "log_from_start", "log_from_end", "first_line", "log_lines",
            "page_prose_share", "in_prose_block", "log_to_prose", "after_last_prose", "before_first_prose")
RULES = (*(f"rule_{name}" for name in RULE_GROUPS), "any_rule", "rule_near_2")
FEATURES = (OWN + tuple(f"{name}_w{w}" for w in _WINDOWS for name in _CONTEXT_OF)
            + tuple(f"{name}_prev" for name in ("log_chars", "terminal", "prose"))
            + tuple(f"{name}_next" for name in ("log_chars", "terminal", "prose"))
            + POSITION + RULES)
_INDEX = {name: k for k, name in enumerate(FEATURES)}
# A whole page's shape, for the model that tells an article from the pages that are not
# one (a listing, a shop's grid, a forum thread, docs): every line feature's mean over the
# page, and how much the lines' own shapes vary.
PAGE_FEATURES = tuple(f"page_mean_{name}" for name in FEATURES) + tuple(f"page_std_{name}" for name in OWN)


@cache  # a few files, asked for each line they hit
def rule_group(file: str) -> str:
    """The feature a rule's hits count under: the stem of a built-in file, else "other"."""
    if file.startswith(BUILTIN_PREFIX):
        stem = file.removeprefix(BUILTIN_PREFIX).removesuffix(".toml")
        if stem in _GROUP_INDEX:
            return stem
    return "other"


# Lines whose per-character arrays are made at once (code points, classes, masks, the text
# lowered and encoded: ~17 bytes a character) and whose words are listed at once (for
# title_overlap, ~0.6 kB a short line): a page of a million short lines all at once took
# ~1.5 kB a line of them. Every feature but repeated_on_page is the line's own (no pattern
# matches across a newline), so how the lines are grouped changes no bit.
LINES_AT_ONCE = 1 << 14


def _own_lines(texts: list[str], gap_before: list[bool], page_of: np.ndarray) -> np.ndarray:
    """The OWN features of every line, computed LINES_AT_ONCE lines at a time; ``page_of``:
    each line's page (a line is repeated when its page has it twice)."""
    n = len(texts)
    own = np.zeros((n, len(OWN)), dtype=np.float64)
    col = {name: k for k, name in enumerate(OWN)}
    for first in range(0, n, LINES_AT_ONCE):
        _own_part(texts[first:first + LINES_AT_ONCE], own[first:first + LINES_AT_ONCE], col)
    own[:, col["gap_before"]] = np.array(gap_before, dtype=np.float64)
    keys = list(zip(page_of.tolist(), texts, strict=True))
    counts_on_page = Counter(keys)
    own[:, col["repeated_on_page"]] = np.fromiter((counts_on_page[key] > 1 for key in keys), dtype=np.float64,
                                                  count=n)
    return own


def _own_part(texts: list[str], own: np.ndarray, col: dict[str, int]) -> None:
    """The OWN features of these lines that are each line's own, written into ``own``
    (one row per line): all of them but gap_before and repeated_on_page."""
    n = len(texts)
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
    own[:, col["terminal"]], own[:, col["colon_end"]] = _line_ends(codes, flags, starts, lengths)
    lowered = page.lower()  # the same lines: lowercasing never makes or removes a newline
    for name, values in _pattern_columns(texts, page, lowered).items():
        own[:, col[name]] = values
    stop = np.fromiter((sum(map(STOPWORDS.__contains__, low.split())) for low in lowered.split("\n")),
                       dtype=np.float64, count=n)
    own[:, col["stopword_share"]] = stop / safe_words
    own[:, col["title_case_share"]] = titled / safe_words
    terminal = own[:, col["terminal"]]
    own[:, col["prose"]] = ((terminal > 0) & ((n_words >= 10) | (cjk >= 25))).astype(np.float64)


def _line_ends(codes: np.ndarray, flags: np.ndarray, starts: np.ndarray, lengths: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """terminal and colon_end of each line (``starts``, ``lengths``: where it is in
    ``codes``, the page's code points, whose classes are ``flags``): does it end with a
    mark and closers, with a colon. Each line's last character that is not a closer is
    found by stepping back over closers, all lines at once; the few lines still on a
    closer after a few steps take a running maximum over the page (a step per closer
    would let a line of a million brackets cost a million steps)."""
    if not len(codes):
        return np.zeros(len(starts)), np.zeros(len(starts))
    nonempty = lengths > 0
    last = np.where(nonempty, starts + lengths - 1, 0)
    at = last.copy()  # ends as the last character that is not a closer, or before the line
    steps = np.flatnonzero(nonempty)
    for _ in range(_CLOSER_STEPS):
        steps = steps[(at[steps] >= starts[steps]) & ((flags[at[steps]] & _CLOSER) != 0)]
        if not len(steps):
            break
        at[steps] -= 1
    else:
        steps = steps[(at[steps] >= starts[steps]) & ((flags[at[steps]] & _CLOSER) != 0)]
        if len(steps):
            no_closer = np.maximum.accumulate(np.where(flags & _CLOSER, -1, np.arange(len(codes))))
            at[steps] = no_closer[at[steps]]
    terminal = nonempty & (at >= starts) & ((flags[np.maximum(at, 0)] & _MARK) != 0)
    colon = nonempty & (codes[last] == ord(":"))
    return terminal.astype(np.float64), colon.astype(np.float64)


def _pattern_columns(texts: list[str], page: str, lowered: str) -> dict[str, np.ndarray]:
    """The _PAGE_PATTERNS features (but _READ_OFF) of every line of ``page`` (``texts``
    joined by newlines)."""
    n = len(texts)
    columns: dict[str, np.ndarray] = {}
    encoded = {False: page.encode("utf-8", "surrogatepass"), True: lowered.encode("utf-8", "surrogatepass")}
    line_starts = {}
    for key, data in encoded.items():
        newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
        line_starts[key] = np.concatenate([[0], newlines + 1])
    for name, (program, on_lowered) in _patterns().items():
        counted = name in _COUNTED
        hits = (_every_match if counted else _first_match_per_line)(program, encoded[on_lowered])
        where = np.searchsorted(line_starts[on_lowered], np.array(hits, dtype=np.int64), side="right") - 1
        counts = np.bincount(where, minlength=n).astype(np.float64)
        columns[name] = counts if counted else np.minimum(counts, 1.0)
    return columns


def _window_mean(columns: np.ndarray, width: int, start: np.ndarray | None = None,
                 end: np.ndarray | None = None) -> np.ndarray:
    """Mean of each column of ``columns`` (n or n x k) over the lines within ``width`` of
    each line, itself left out, within its page (lines ``start[i]`` to ``end[i]``,
    exclusive; default: one page). The neighbours are added one offset at a time, in the
    same order for every line, so a line's mean does not depend on what else is in the
    batch (a running sum would round differently after other pages' values); several
    columns at once add the same numbers in the same order as one at a time."""
    n = len(columns)
    idx = np.arange(n)
    start = np.zeros(n, dtype=np.int64) if start is None else start
    end = np.full(n, n, dtype=np.int64) if end is None else end
    per_row = (slice(None),) + (None,) * (columns.ndim - 1)  # a row's flag or count, for each of its columns
    total = np.zeros(columns.shape)
    count = np.zeros(n, dtype=np.int64)
    for offset in (*range(-width, 0), *range(1, width + 1)):
        other = idx + offset
        inside = (other >= start) & (other < end)
        total += np.where(inside[per_row], columns[np.clip(other, 0, n - 1)], 0.0)
        count += inside
    return np.divide(total, count[per_row], out=np.zeros(columns.shape), where=count[per_row] > 0)


def title_overlap(texts: list[str]) -> np.ndarray:
    """Per line, the share of the page title's words (its first line's) that it has: the
    headline repeats the title, teasers and menus rarely do."""
    return _title_overlaps(texts, np.zeros(1, dtype=np.int64), np.array([len(texts)]))


def _title_overlaps(texts: list[str], first: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """title_overlap of each page of a batch (rows ``first[p]`` on, ``sizes[p]`` of them),
    with one casefold and one tokenisation for the batch: line by line, those calls cost
    more than the work."""
    out = np.zeros(len(texts))
    if not len(sizes) or sizes.max() < 2:  # one-line pages (paragraph records): no line but the title
        return out
    # The words of each page's title, then of LINES_AT_ONCE lines at a time: a line's words
    # are its own (casefolding never makes a newline).
    pages = [(start, size) for start, size in zip(first.tolist(), sizes.tolist(), strict=True) if size > 1]
    words, bounds = _line_words("\n".join(texts[start] for start, _ in pages).casefold(), len(pages))
    titles = [({w for w in words[a:b] if len(w) > 2}, start, start + size)
              for (start, size), a, b in zip(pages, bounds[:-1], bounds[1:], strict=True)]
    titles = [title for title in titles if title[0]]
    page = 0
    for at in range(0, len(texts), LINES_AT_ONCE):
        end_at = min(at + LINES_AT_ONCE, len(texts))
        while page < len(titles) and titles[page][2] <= at:
            page += 1
        if page == len(titles):
            break
        if titles[page][1] >= end_at:
            continue
        words, bounds = _line_words("\n".join(texts[at:end_at]).casefold(), end_at - at)
        for title, start, end in titles[page:]:
            if start >= end_at:
                break
            for row in range(max(start + 1, at), min(end, end_at)):
                k = row - at
                if bounds[k + 1] - bounds[k] >= 3:
                    out[row] = len(title.intersection(words[bounds[k]:bounds[k + 1]])) / len(title)
    return out


def line_features(lines: Sequence[Line], hits: Mapping[int, set[str]]) -> np.ndarray:
    """One row of FEATURES per line of one page. ``hits``: line index -> the rule groups
    (RULE_GROUPS) whose rules hit it."""
    return pages_features([(lines, hits)])


def _rule_columns(pages: Sequence[tuple[Sequence[Line], Mapping[int, set[str]]]], n: int) -> np.ndarray:
    """Per line of the pages, 1 in the column of each rule group that hit it."""
    rows: list[int] = []
    columns: list[int] = []
    first = 0
    for page, hits in pages:
        if hits:
            row_of = {line.index: first + k for k, line in enumerate(page)}
            for index, groups in hits.items():
                row = row_of.get(index)  # None: not a line of the page
                if row is not None:
                    rows.extend([row] * len(groups))
                    columns.extend([_GROUP_INDEX[group] for group in groups])
        first += len(page)
    rules = np.zeros((n, len(RULE_GROUPS)), dtype=np.float64)
    rules[rows, columns] = 1.0
    return rules


def pages_features(pages: Sequence[tuple[Sequence[Line], Mapping[int, set[str]]]]) -> np.ndarray:
    """The rows of every page's lines, pages one after another, computed for all of them at
    once: a document has ~15 lines, so numpy calls made per page, not per line, cost most
    of the time. Each page's rows equal what it would get alone (the reference computes
    one page at a time: tests/reference/line_features.py)."""
    lines = [line for page, _ in pages for line in page]
    n = len(lines)
    out = np.zeros((n, len(FEATURES)), dtype=np.float64)
    if not n:
        return out
    sizes = np.array([len(page) for page, _ in pages], dtype=np.int64)
    page_of = np.repeat(np.arange(len(pages)), sizes)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    start, end = first[page_of], (first + sizes)[page_of]  # each line's page bounds [start, end)
    size = sizes[page_of]
    texts = [line.text for line in lines]
    # The own and rule columns are read back from ``out`` once written there: holding them
    # apart too cost ~370 bytes a line through the rest (a page of a million lines).
    out[:, :len(OWN)] = _own_lines(texts, [line.gap_before for line in lines], page_of)
    first_rule = len(FEATURES) - len(RULES)
    rules = out[:, first_rule:first_rule + len(RULE_GROUPS)]
    rules[:] = _rule_columns(pages, n)
    any_rule = rules.max(axis=1)
    column = {name: out[:, k] for k, name in enumerate(OWN)}
    column["any_rule"] = any_rule
    idx = np.arange(n)

    def window_mean(values: np.ndarray, width: int) -> np.ndarray:
        return _window_mean(values, width, start, end)

    context = np.column_stack([column[name] for name in _CONTEXT_OF])
    for w in _WINDOWS:
        means = window_mean(context, w)
        for k, name in enumerate(_CONTEXT_OF):
            out[:, _INDEX[f"{name}_w{w}"]] = means[:, k]
    has_prev, has_next = idx > start, idx < end - 1
    for name in ("log_chars", "terminal", "prose"):
        out[1:, _INDEX[f"{name}_prev"]] = np.where(has_prev[1:], column[name][:-1], 0.0)
        out[:-1, _INDEX[f"{name}_next"]] = np.where(has_next[:-1], column[name][1:], 0.0)
    out[:, _INDEX["title_overlap"]] = _title_overlaps(texts, first, sizes)
    at = (idx - start).astype(np.float64)
    out[:, _INDEX["position"]] = at / np.maximum(size - 1, 1)
    out[:, _INDEX["log_from_start"]] = np.log1p(at)
    out[:, _INDEX["log_from_end"]] = np.log1p((end - 1 - idx).astype(np.float64))
    out[:, _INDEX["first_line"]] = idx == start
    out[:, _INDEX["log_lines"]] = np.log1p(size.astype(np.float64))
    prose = column["prose"]
    sums = np.concatenate([[0.0], np.cumsum(prose)])
    page_prose = sums[first + sizes] - sums[first]
    out[:, _INDEX["page_prose_share"]] = (page_prose / np.maximum(sizes, 1))[page_of]
    # Inside a block: prose both somewhere before and somewhere after within 8 lines.
    near_before = (sums[idx] - sums[np.maximum(idx - 8, start)]) > 0
    near_after = (sums[np.minimum(idx + 9, end)] - sums[np.minimum(idx + 1, end)]) > 0
    out[:, _INDEX["in_prose_block"]] = near_before & near_after
    where = np.flatnonzero(prose)
    pos = np.searchsorted(where, idx)
    left_at = where[np.maximum(pos - 1, 0)] if len(where) else idx
    right_at = where[np.minimum(pos, len(where) - 1)] if len(where) else idx
    left_ok = (pos > 0) & (left_at >= start) if len(where) else np.zeros(n, dtype=bool)
    right_ok = (pos < len(where)) & (right_at < end) if len(where) else np.zeros(n, dtype=bool)
    left = np.where(left_ok, idx - left_at, size)
    right = np.where(right_ok, right_at - idx, size)
    out[:, _INDEX["log_to_prose"]] = np.log1p(np.minimum(np.abs(left), np.abs(right)).astype(np.float64))
    has_prose = page_prose[page_of] > 0
    out[:, _INDEX["after_last_prose"]] = has_prose & ~right_ok & (idx > left_at)
    out[:, _INDEX["before_first_prose"]] = has_prose & ~left_ok & (idx < right_at)
    out[:, _INDEX["any_rule"]] = any_rule
    out[:, _INDEX["rule_near_2"]] = window_mean(any_rule, 2)
    return out


def page_vectors(features: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """One row of PAGE_FEATURES per page, the pages' lines one after another in
    ``features`` (pages of ``sizes`` lines; a page without lines gets zeros). Each page's
    sums run over its own rows in order, so a page gets the same row alone or in a batch."""
    counts = np.asarray(sizes, dtype=np.int64)
    out = np.zeros((len(counts), len(PAGE_FEATURES)), dtype=np.float64)
    full = counts > 0
    if not full.any():
        return out
    starts = (np.cumsum(counts) - counts)[full]
    n = counts[full][:, None].astype(np.float64)
    mean = np.add.reduceat(features, starts, axis=0) / n
    own = features[:, :len(OWN)]
    spread = np.maximum(np.add.reduceat(own * own, starts, axis=0) / n - mean[:, :len(OWN)] ** 2, 0.0)
    out[full] = np.hstack([mean, np.sqrt(spread)])
    return out
