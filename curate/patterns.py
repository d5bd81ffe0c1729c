"""Rule patterns that cannot hang a run, with exactly Python re's meaning.

A rule's pattern is written in Python ``re`` syntax and means what Python ``re`` says it
means, but Python's backtracking engine can take exponential time (``^(a+)+$`` on forty
``a`` and a ``!``). So a pattern is parsed with Python's own parser (``re._parser``), and
the parse tree is written out again:

- in RE2 syntax, when every construct has an exact RE2 equivalent. RE2 (google-re2)
  runs in time linear in the line, whatever the pattern. Its Unicode tables and case
  folding are not Python's, so no class, no ``\\w`` and no IGNORECASE is left to it:
  every character class is written out as the exact code points Python's engine
  accepts for it under the pattern's flags (worked out by running Python's engine
  over the code points), and ``$`` becomes ``\\z`` (texts ending in a newline, where
  Python's ``$`` differs, go to the other engine; lines never end in one).
- otherwise (lookarounds, a ``\\b`` with Unicode words where it is not worked out below,
  ``\\B``, backreferences, conditionals, atomic groups, possessive and over-1000 repeats)
  in the ``regex`` module's syntax,
  with the same written-out classes, ``\\b`` written as lookarounds over them, and a
  time budget per call (BUDGET_SECONDS). Before it runs, a relaxed RE2 form (every
  assertion dropped, a backreference read as any text) rules out most lines in linear
  time: a line it does not match cannot match the pattern.

Lookarounds and ``\\b`` at the edges of a yes/no line search (the phrase rules'
``(?<!\\w)...(?!\\w)``) have an exact RE2 form: ``(?<!\\w)`` at the start is "start of
text or one non-word character", and so on (``edges`` below). A ``\\b`` in the middle
of one, beside characters that may or may not be word characters, is rewritten as the
choice of what stands on its two sides (pattern_bounds.py).

The one known difference left: a backreference under IGNORECASE compares with the regex
module's case folding rather than Python's lower-casing (they differ for a few letters
such as 'ſ' and 'İ' repeated in a different case).
"""  # noqa: RUF002 - the long s is the point here

from __future__ import annotations

import _sre
import itertools
import re
import warnings
from dataclasses import dataclass
from functools import cache, lru_cache
from re import _compiler as sre_compile  # type: ignore[attr-defined]  # private: typeshed has no stub
from re import _constants as C  # type: ignore[attr-defined]  # private: typeshed has no stub
from re import _parser as sre_parse  # type: ignore[attr-defined]  # private: typeshed has no stub
from typing import Any

import numpy as np

from curate import pattern_bounds
from curate.common_alphabet import common_form, in_common

# Per call of the backtracking engine. A rule over budget on a line leaves that line to
# the other rules and is reported; its verdict there depends on the machine's speed.
BUDGET_SECONDS = 0.5
MEMO_CHARS = 400  # longer texts are searched afresh each time: boilerplate is short, memory is not free
MAX_NESTING = 100  # groups and repeats inside one another; Python's own parser recurses
RE2_MAX_REPEAT = 1000  # RE2 refuses larger repeat counts
# RE2's budget per pattern (its default is 8 MiB), most of it the DFA's cache. The keyword
# rules in eight languages are alternations of ~200 branches: under 8 MiB their DFA ran out
# of cache and RE2 fell back to its NFA, 190x slower (69 s against 0.37 s for 60,000 lines).
# The cache grows only as far as a pattern needs: a run's resident memory grew by ~20 MB.
RE2_MAX_MEM = 64 << 20
MAX_CODE_POINT = 0x110000
SURROGATES = (0xD800, 0xE000)
ASCII_LAST = 0x7F
CASED_BELOW = 0x20000  # no code point above has a case mapping (a test checks every one)

# re's flags as plain ints: enum arithmetic was a tenth of the load time
_I, _A, _S, _M, _U = (int(f) for f in (re.IGNORECASE, re.ASCII, re.DOTALL, re.MULTILINE, re.UNICODE))
UNICODE_FLAGS = _I | _A | _S  # what changes the meaning of one character
ENGINE_RE2, ENGINE_BACKTRACKING = "re2", "backtracking"


class PatternError(ValueError):
    """A pattern that cannot be used; the message says why and what to do."""


class PatternTimeout(Exception):
    """The backtracking engine ran over its budget on this text."""


class _NoRE2(Exception):
    """A construct RE2 has no exact form for."""


@dataclass(frozen=True)
class CompiledPattern:
    """A rule pattern, ready for either engine. Plain data, so it pickles to workers and
    fingerprints itself; the compiled engine objects are cached per process."""

    pattern: str  # as the rule file wrote it (Python re syntax)
    flags: int  # the re flags it runs with
    engine: str  # "re2" or "backtracking"
    re2: str | None  # the exact RE2 form, when there is one
    backtracking: str | None  # the exact regex-module form; for an RE2 pattern, made when first needed
    prefilter: str | None  # RE2 form matching a superset, tried before the backtracking engine
    # A pattern with no exact RE2 form (a Unicode \b beside characters not known, in most
    # built-in ones) may still have one for texts of ASCII characters alone: there Python's
    # \b is RE2's, and each class is its ASCII part. The backtracking form took 0.5-40 ms
    # a line (its written-out classes are called as subroutines); this takes microseconds.
    ascii_re2: str | None = None
    # The forms of re2 and prefilter for texts of the common alphabet (common_alphabet.py):
    # derived from them, so not in the fingerprint; kept in the built-in rules' table, as
    # deriving them took 0.09 s of every process's start; None: derived when first needed.
    common_re2: str | None = None
    common_prefilter: str | None = None

    def fingerprint(self) -> dict:
        return {"pattern": self.pattern, "flags": self.flags, "engine": self.engine,
                "re2": self.re2, "backtracking": self.backtracking, "prefilter": self.prefilter,
                "ascii_re2": self.ascii_re2}

    def common_forms(self) -> dict:
        """The common forms as the built-in rules' table keeps them (pattern_table.py)."""
        return {name: value for name, value in (("common_re2", self.common_re2),
                                                 ("common_prefilter", self.common_prefilter)) if value is not None}

    def re2_source(self, common: bool) -> str | None:
        """The exact RE2 form, or its form for texts of the common alphabet alone."""
        return _form_for(self.re2, self.common_re2, common)

    def prefilter_source(self, common: bool) -> str | None:
        """The prefilter, or its form for texts of the common alphabet alone."""
        return _form_for(self.prefilter, self.common_prefilter, common)

    def re2_program(self, common: bool = False):
        """The compiled RE2 program, for callers that run it on many lines themselves
        (``Match(anchor, utf8, start, end)``); None if the pattern is not on RE2.
        ``common``: the program for texts of the common alphabet alone (common_alphabet.py),
        smaller, and the same answers on them."""
        source = self.re2_source(common)
        return _re2_program(source) if source is not None else None

    def compile_re2_forms(self) -> None:
        """Compile now the RE2 programs a text of the common alphabet runs (once per
        process: a worker forked after this has them); the full ones are compiled when a
        text outside it first needs them."""
        for source in (self.re2_source(True), self.prefilter_source(True), self.ascii_re2):
            if source is not None:  # the ASCII form's classes are their ASCII parts: small already
                _re2_program(source)

    def fallback(self) -> str:
        """The regex-module form (an RE2 pattern needs it only for rare texts)."""
        return self.backtracking if self.backtracking is not None else _regex_form(self.pattern, self.flags)

    def search(self, text: str, encoded: bytes | None = None, common: bool | None = None) -> bool:
        """Does the pattern match anywhere in text? ``encoded``: text as UTF-8, if the caller
        has it; ``common``: whether text is all of the common alphabet, if the caller knows
        (common_alphabet.in_common). Raises PatternTimeout when the backtracking engine runs
        over budget."""
        # Python's `$` also matches before a final "\n" and RE2's `\z` does not: such a
        # text (never a line, never a block window) goes to the backtracking form.
        if self.re2 is not None and not text.endswith("\n"):
            data = _utf8(text, encoded)
            if data is not None:
                program = self.re2_program(in_common(text) if common is None else common)
                return program.Match(_UNANCHORED, data, 0, len(data))[0][0] >= 0
        if self.ascii_re2 is not None and text.isascii() and not text.endswith("\n"):
            data = encoded if encoded is not None else text.encode("ascii")
            return _re2_program(self.ascii_re2).Match(_UNANCHORED, data, 0, len(data))[0][0] >= 0
        if self.prefilter is not None and self._ruled_out(text, encoded, common):
            return False
        # Remembered only here, past the checks that take a microsecond: a memo ahead of
        # them filled with lines the prefilter rules out and pushed out the costly searches.
        source = self.fallback()
        return _remembered_search(source, text) if len(text) <= MEMO_CHARS else _backtracking_search(source, text)

    def spans(self, text: str, common: bool | None = None) -> list[tuple[int, int]]:
        """(start, end) of every match, as Python's finditer finds them. ``common``: as
        `search` takes it."""
        if not text.endswith("\n"):
            common = in_common(text) if common is None else common
            source = self.re2_source(common)
            if source is not None:
                found = _re2_spans(source, text)
                if found is not None:
                    return found
            if self.ascii_re2 is not None and text.isascii():
                found = _re2_spans(self.ascii_re2, text)
                if found is not None:
                    return found
        # No match anywhere, no spans: the prefilter rules out most block windows (88-99%
        # for the built-in teaser rules) before the backtracking engine (the guard: as above).
        if self.prefilter is not None and not text.endswith("\n") and self._ruled_out(text, None, common):
            return []
        try:
            return [m.span() for m in _regex_program(self.fallback()).finditer(text, timeout=BUDGET_SECONDS)]
        except TimeoutError as err:
            raise PatternTimeout() from err

    def _ruled_out(self, text: str, encoded: bytes | None, common: bool | None) -> bool:
        """Does the relaxed RE2 form (``prefilter``), which matches a superset of the
        pattern's texts, not match this one? ``common``: as `search` takes it."""
        assert self.prefilter is not None
        data = _utf8(text, encoded)
        prefilter = self.prefilter_source(in_common(text) if common is None else common)
        assert prefilter is not None
        return data is not None and _re2_program(prefilter).Match(_UNANCHORED, data, 0, len(data))[0][0] < 0


def compile_pattern(pattern: str, flags: int, boolean: bool = True) -> CompiledPattern:
    """Parse and translate a rule pattern. ``boolean``: only ever asked whether it matches
    (line rules), which allows exact RE2 forms for edge lookarounds. Raises PatternError."""
    try:
        with warnings.catch_warnings():
            # Python warns of a set it may one day read otherwise ("Possible nested set" for
            # [[:digit:]]): a raw warning on the terminal named no file or rule, and the
            # pattern meant something else than it seemed to. Refused, saying what to write.
            warnings.simplefilter("error", FutureWarning)
            re.compile(pattern, flags)  # the reference: whatever it refuses, we refuse
            tree = sre_parse.parse(pattern, flags)  # warns too when re.compile took it from its cache
    except FutureWarning as warning:
        raise PatternError(_future_set_syntax(pattern, str(warning))) from None
    except re.error as err:
        raise PatternError(f"bad regex: {err}") from err
    except OverflowError as err:
        raise PatternError(f"bad regex: {err}; use a smaller repeat count") from err
    except RecursionError as err:
        raise PatternError(f"bad regex: groups nested too deeply; keep nesting under {MAX_NESTING} levels") from err
    if _depth(tree) > MAX_NESTING:
        raise PatternError(f"bad regex: groups and repeats nested more than {MAX_NESTING} levels deep; simplify it")
    lookalike = _posix_lookalike(tree, pattern)
    if lookalike is not None:
        raise PatternError(_posix_set_message(*lookalike))
    flags = int(tree.state.flags)  # with inline flags such as (?x) or (?i) folded in
    re2 = prefilter = backtracking = None
    try:
        re2 = _Writer(flags, re2=True, boolean=boolean).re2(tree)
        if not _re2_compiles(re2):
            re2 = None
    except _NoRE2:
        pass
    ascii_re2 = None
    if re2 is None:
        backtracking = _regex_form(pattern, flags)
        _check_regex(backtracking)
        prefilter = _Writer(flags, re2=True, relaxed=True).re2(tree)
        if not _re2_compiles(prefilter):
            prefilter = None
        try:
            ascii_re2 = _Writer(flags, re2=True, boolean=boolean, ascii_text=True).re2(tree)
            if not _re2_compiles(ascii_re2):
                ascii_re2 = None
        except _NoRE2:  # a lookbehind, a back-reference: nothing to do with the characters
            pass
    return CompiledPattern(pattern=pattern, flags=flags, engine=ENGINE_RE2 if re2 is not None else ENGINE_BACKTRACKING,
                           re2=re2, backtracking=backtracking, prefilter=prefilter, ascii_re2=ascii_re2,
                           common_re2=_changed(re2), common_prefilter=_changed(prefilter))


def _form_for(source: str | None, stored: str | None, common: bool) -> str | None:
    """``source``, or its common form (``stored``, else derived) when ``common``."""
    if source is None or not common:
        return source
    return stored if stored is not None else common_form(source)


def _changed(source: str | None) -> str | None:
    """The common form of ``source`` where it differs from it; else None (derived again
    when first needed, which costs little: such a source's classes are small)."""
    if source is None:
        return None
    cut = common_form(source)
    return cut if cut != source else None


# What to write in Python's syntax for the POSIX classes people reach for.
_POSIX_CLASSES = {
    "digit": "\\d (any digit) or [0-9]", "alpha": "[^\\W\\d_] (any letter) or [a-z]",
    "alnum": "[^\\W_] (any letter or digit) or [a-z0-9]", "space": "\\s", "blank": "[ \\t]",
    "upper": "[A-Z] (with case_sensitive = true)", "lower": "[a-z] (with case_sensitive = true)",
    "punct": "[^\\w\\s]", "xdigit": "[0-9a-f]", "word": "\\w",
}
_POSIX_CLASS = re.compile(r"\[:\^?(\w+):\]")


def _future_set_syntax(pattern: str, warning: str) -> str:
    """Why a pattern Python warns about is refused, and what to write instead."""
    posix = _POSIX_CLASS.search(pattern)
    if posix:
        written, name = f"[{posix.group(0)}]", posix.group(1)
        chars = ", ".join(repr(c) for c in dict.fromkeys(posix.group(0)[:-1]))
        instead = _POSIX_CLASSES.get(name, "the characters themselves in a set, e.g. [0-9]")
        return (f"{written} is not a POSIX class in a rule's pattern: patterns are Python's regular expressions, "
                f"which have no POSIX classes, and Python reads it as a set of the characters {chars} followed "
                f"by a ']'; write {instead} instead")
    return (f"bad regex: {warning} (Python warns that a future version may read this part of a set "
            "otherwise): escape a '[' or a doubled '-', '&', '~' or '|' in a set to mean the character itself "
            "(\\[, \\-, \\&, \\~, \\|)")


@lru_cache(maxsize=1024)
def _regex_form(pattern: str, flags: int) -> str:
    return _Writer(flags).regex(sre_parse.parse(pattern, flags))


# --- engines ---------------------------------------------------------------------------

def _utf8(text: str, encoded: bytes | None) -> bytes | None:
    if encoded is not None:
        return encoded
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: RE2 reads UTF-8 only
        return None


@cache
def _re2_module():
    import re2
    from re2 import _re2

    return re2, _re2


_UNANCHORED = None  # set on first use: importing re2 costs a little, and `curate dedup` never needs it


def unanchored():
    """RE2's anchor value for a search anywhere in the text."""
    return _re2_module()[1].RE2.Anchor.UNANCHORED


# Programs compiled elsewhere with _re2_program's options, by source: a FilteredRE2 compiles
# its own copy of each rule's pattern (`rule_filter.LineRuleFilter`), and compiling it again
# for the rule cost every process 0.12 s of its start for the built-in rules.
# At most as many as _re2_program keeps: each holds its whole filter alive, and a program
# that loads rule set after rule set (the API, the tests) would otherwise keep them all.
_ADOPTED: dict[str, Any] = {}
MAX_ADOPTED = 4096


def adopt_re2_program(source: str, program: Any) -> None:
    """``program``, compiled from ``source`` with the options `_re2_program` uses, is what
    `_re2_program` hands out for that source from now on (unless it compiled one first)."""
    if source not in _ADOPTED and len(_ADOPTED) >= MAX_ADOPTED:
        del _ADOPTED[next(iter(_ADOPTED))]  # the oldest: compiled again if it is asked for
    _ADOPTED.setdefault(source, program)


@lru_cache(maxsize=MAX_ADOPTED)
def _re2_program(source: str):
    global _UNANCHORED
    re2, _re2 = _re2_module()
    _UNANCHORED = _re2.RE2.Anchor.UNANCHORED
    adopted = _ADOPTED.get(source)
    if adopted is not None:
        return adopted
    options = re2.Options()
    options.max_mem = RE2_MAX_MEM
    options.never_capture = True
    options.log_errors = False
    program = _re2.RE2(source.encode("utf-8"), options)
    if not program.ok():
        raise re2.error(program.error())
    return program


def _re2_compiles(source: str) -> bool:
    try:
        _re2_program(source)
    except _re2_module()[0].error:  # too big for RE2's memory budget, or a construct it rejects
        return False
    return True


def _re2_spans(source: str, text: str) -> list[tuple[int, int]] | None:
    """Python finditer's matches, from RE2; None when a match is empty (Python then tries
    other alternatives at the same place, which RE2 cannot: the caller falls back)."""
    data = _utf8(text, None)
    if data is None:
        return None
    program = _re2_program(source)
    found, pos, end = [], 0, len(data)
    while pos <= end:
        start, stop = program.Match(_UNANCHORED, data, pos, end)[0]
        if start < 0:
            break
        if start == stop:
            return None
        found.append((start, stop))
        pos = stop
    if not found or data.isascii():
        return found
    return [(len(data[:s].decode("utf-8")), len(data[:e].decode("utf-8"))) for s, e in found]


def _backtracking_search(source: str, text: str) -> bool:
    try:
        return _regex_program(source).search(text, timeout=BUDGET_SECONDS) is not None
    except TimeoutError as err:
        raise PatternTimeout() from err


@lru_cache(maxsize=1 << 13)  # at most ~13 MB of lines, ~1 MB for typical ones
def _remembered_search(source: str, text: str) -> bool:
    """_backtracking_search, remembered per pattern and text: the backtracking engine costs
    0.1-40 ms a line, and the lines these rules look at (a cookie banner, "Share this:", a
    byline) come back page after page. A text over the time budget raises, and is not
    remembered."""
    return _backtracking_search(source, text)


@lru_cache(maxsize=4096)
def _regex_program(source: str):
    import regex

    return regex.compile(source, regex.VERSION0)


def regex_programs_compiled() -> int:
    """How many patterns this process has compiled with the regex module (whose parse trees
    are left in reference cycles with finalisers: rules.load_rules collects them)."""
    return _regex_program.cache_info().misses


def _check_regex(source: str) -> None:
    try:
        _regex_program(source)
    except Exception as err:  # the regex module refuses something Python accepts
        raise PatternError(f"this pattern cannot be run with a time limit ({err}); simplify it") from err


# --- character sets --------------------------------------------------------------------

@cache
def _universe() -> str:
    """Every code point but the surrogates, in order: Python's engine run over it tells
    which characters a class accepts."""
    low = np.arange(0, SURROGATES[0], dtype="<u4").tobytes().decode("utf-32-le")
    high = np.arange(SURROGATES[1], MAX_CODE_POINT, dtype="<u4").tobytes().decode("utf-32-le")
    return low + high


def _position(index: int) -> int:
    """Code point of the character at this index of the universe."""
    return index if index < SURROGATES[0] else index + (SURROGATES[1] - SURROGATES[0])


@cache
def _cased() -> tuple[np.ndarray, str]:
    """The characters IGNORECASE can change the verdict on: those with a case mapping in
    Python's engine, and what they map to."""
    marks = np.zeros(MAX_CODE_POINT, dtype=bool)
    for cp in range(CASED_BELOW):
        if _sre.unicode_iscased(cp):
            marks[cp] = True
            marks[_sre.unicode_tolower(cp)] = True
            upper = chr(cp).upper()
            if len(upper) == 1:
                marks[ord(upper)] = True
    marks[SURROGATES[0]:SURROGATES[1]] = False
    points = np.flatnonzero(marks)
    return points, "".join(map(chr, points))


def _python_set(items: list, flags: int) -> np.ndarray:
    """Characters Python's engine accepts for a one-character node, over the whole universe."""
    pattern = _single(items, flags)
    marks = np.zeros(MAX_CODE_POINT, dtype=bool)
    for m in pattern.finditer(_universe()):
        start, end = m.span()
        lo, hi = _position(start), _position(end - 1) + 1
        if start < SURROGATES[0] <= end - 1:  # a run cannot cross the gap: the universe skips it
            marks[lo:SURROGATES[0]] = True
            marks[SURROGATES[1]:hi] = True
        else:
            marks[lo:hi] = True
    return marks


def _single(items: list, flags: int, repeat: bool = True):
    state = sre_parse.State()
    state.flags = flags if flags & _A else flags | _U  # str patterns are Unicode unless ASCII
    body = sre_parse.SubPattern(state, items)
    data = [(C.MAX_REPEAT, (1, C.MAXREPEAT, body))] if repeat else items
    return sre_compile.compile(sre_parse.SubPattern(state, data), state.flags)


NEGATED_CATEGORIES = {C.CATEGORY_NOT_WORD: C.CATEGORY_WORD, C.CATEGORY_NOT_DIGIT: C.CATEGORY_DIGIT,
                      C.CATEGORY_NOT_SPACE: C.CATEGORY_SPACE}


@cache
def _category(category, flags: int) -> np.ndarray:
    if category in NEGATED_CATEGORIES:
        return ~_category(NEGATED_CATEGORIES[category], flags)
    return _python_set([(C.IN, [(C.CATEGORY, category)])], flags & _A)


def _sensitive_set(op, av, flags: int) -> np.ndarray:
    """The node's characters, before IGNORECASE."""
    marks = np.zeros(MAX_CODE_POINT, dtype=bool)
    if op is C.LITERAL:
        marks[av] = True
    elif op is C.NOT_LITERAL:
        marks[:] = True
        marks[av] = False
    elif op is C.ANY:
        marks[:] = True
        if not flags & _S:
            marks[ord("\n")] = False
    else:  # IN
        negate = False
        for item_op, item_av in av:
            if item_op is C.NEGATE:
                negate = True
            elif item_op is C.LITERAL:
                marks[item_av] = True
            elif item_op is C.RANGE:
                marks[item_av[0]:item_av[1] + 1] = True
            elif item_op is C.CATEGORY:
                marks |= _category(item_av, flags)
            else:
                raise AssertionError(f"unexpected set item {item_op}")
        if negate:
            marks = ~marks
    return marks


@lru_cache(maxsize=4096)
def _node_set(op, av, flags: int) -> tuple[tuple[int, int], ...]:
    """Ranges of the characters Python's engine accepts for this one-character node."""
    if op == pattern_bounds.RANGES:  # a set the \\b rewrite cut down (pattern_bounds): as it is
        return av
    if op is C.LITERAL and not (flags & _I and _sre.unicode_iscased(av)):
        return ((av, av),) if not SURROGATES[0] <= av < SURROGATES[1] else ()
    if op is C.LITERAL:  # a cased letter: itself and whatever Python folds it with
        folded = sorted({av} | set(_python_verdicts(op, av, flags)))
        return tuple((cp, cp) for cp in folded)
    marks = _sensitive_set(op, av, flags)
    if flags & _I and op is not C.ANY:
        points, _ = _cased()
        marks[points] = False
        marks[_python_verdicts(op, av, flags)] = True
    marks[SURROGATES[0]:SURROGATES[1]] = False
    return _ranges(marks)


def _python_verdicts(op, av, flags: int) -> list[int]:
    """Which of the characters with a case mapping Python's engine accepts for the node."""
    _, text = _cased()
    return [ord(m.group()) for m in _single([(op, av)], flags, repeat=False).finditer(text)]


def _ranges(marks: np.ndarray) -> tuple[tuple[int, int], ...]:
    bounds = np.concatenate(([0], np.flatnonzero(marks[1:] != marks[:-1]) + 1, [len(marks)])).tolist()
    return tuple((lo, hi - 1) for lo, hi in itertools.pairwise(bounds) if marks[lo])


def _complement(ranges) -> tuple[tuple[int, int], ...]:
    out, pos = [], 0
    for lo, hi in ranges:
        if lo > pos:
            out.append((pos, lo - 1))
        pos = hi + 1
    if pos < MAX_CODE_POINT:
        out.append((pos, MAX_CODE_POINT - 1))
    # the surrogates are never in a set, so never in its written complement either
    return tuple(r for r in _cut(out, SURROGATES) if r)


def _cut(ranges, gap):
    for lo, hi in ranges:
        if hi < gap[0] or lo >= gap[1]:
            yield (lo, hi)
        else:
            if lo < gap[0]:
                yield (lo, gap[0] - 1)
            if hi >= gap[1]:
                yield (gap[1], hi)


def _mask(ranges) -> np.ndarray:
    marks = np.zeros(MAX_CODE_POINT, dtype=bool)
    for lo, hi in ranges:
        marks[lo:hi + 1] = True
    return marks


# --- writing the tree out ----------------------------------------------------------------

CHAR_NODES = pattern_bounds.CHAR_NODES
NEVER = "[^\\x00-\\x{10FFFF}]"
LARGE_CLASS = 80  # characters of regex syntax above which a class is defined once and called
DEFINED_PREFIX = "_curate_class_"  # RE2 for "no character": an empty class
# A \b rewritten (pattern_bounds) copies what follows it into each choice, so k of them in
# a row can cost 3^k: the built-in rules need at most 15 rewrites a pattern; past this many,
# the pattern keeps the backtracking engine (`a(.{0,5}\b){7}` took 13 s and 59 MB of RE2).
MAX_BOUND_REWRITES = 32


@lru_cache(maxsize=4096)
def _class_text(ranges: tuple[tuple[int, int], ...], re2: bool) -> str:
    """A set of code points in RE2 or regex syntax, negated when that is shorter."""
    if not ranges:
        return NEVER if re2 else "(?!)"
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return _code_point(ranges[0][0], re2)
    other = _complement(ranges)
    if not other:
        return "[\\x00-\\x{10FFFF}]" if re2 else "[\\x00-\\U0010FFFF]"
    negate = len(other) < len(ranges)
    body = "".join(_code_point(lo, re2) if lo == hi else f"{_code_point(lo, re2)}-{_code_point(hi, re2)}"
                   for lo, hi in (other if negate else ranges))
    return f"[{'^' if negate else ''}{body}]"


def _code_point(cp: int, re2: bool) -> str:
    if re2:
        return f"\\x{{{cp:X}}}"
    ch = chr(cp)
    if ch.isalnum() and ch.isprintable():  # the regex module parses its escapes slowly, in Python
        return ch
    return f"\\u{cp:04X}" if cp <= 0xFFFF else f"\\U{cp:08X}"


class _Writer:
    """Writes a parse tree in RE2 or regex syntax. ``relaxed``: RE2 that matches a superset
    (for a prefilter). ``boolean``: the RE2 form may rewrite edge assertions, which keeps
    whether a line matches but not where. ``ascii_text``: RE2 exact on texts of ASCII
    characters only (each class written as its ASCII part; a Unicode \\b as RE2's)."""

    def __init__(self, flags: int, re2: bool = False, relaxed: bool = False, boolean: bool = False,
                 ascii_text: bool = False):
        self.flags = flags
        self.is_re2 = re2
        self.relaxed = relaxed
        self.boolean = boolean
        self.ascii_text = ascii_text
        self.defined: dict[str, str] = {}  # regex syntax: large class -> its group name
        self.behind = 0  # how many lookbehinds the writer is inside
        self.bound_rewrites = 0  # \b rewritten by split_boundary, capped at MAX_BOUND_REWRITES

    # entry points

    def regex(self, tree) -> str:
        body = self.sequence(list(tree.data), self.flags)
        if not self.defined:
            return body
        # Large classes are written once, at the end (so user groups keep their numbers),
        # and called by name: the regex module parses a class in Python, and \w written
        # out in every lookaround of every \b took seconds to compile.
        definitions = "".join(f"(?P<{name}>{text})" for text, name in self.defined.items())
        return f"{body}(?(DEFINE){definitions})"

    def re2(self, tree) -> str:
        items = list(tree.data)
        if self.boolean and not self.relaxed:
            return self.edges(items, self.flags)
        return self.sequence(items, self.flags)

    # character classes

    def char_class(self, op, av, flags: int) -> str:
        ranges = _node_set(op, _freeze(av), flags & UNICODE_FLAGS)
        return self.write_ranges(ranges)

    def write_ranges(self, ranges) -> str:
        if self.ascii_text:  # no other character is in the text
            ranges = [(lo, min(hi, ASCII_LAST)) for lo, hi in ranges if lo <= ASCII_LAST]
        text = _class_text(tuple(ranges), self.is_re2)
        if self.is_re2 or len(text) <= LARGE_CLASS:
            return text
        negated = text.startswith("[^")
        positive = "[" + text[2:] if negated else text  # \w and \W share one definition
        name = self.defined.setdefault(positive, f"{DEFINED_PREFIX}{len(self.defined)}")
        if negated:
            return f"(?:(?!(?&{name}))[\\s\\S])"
        if self.behind:
            # The regex module matches a lookbehind backwards, and a call made there does
            # not see the character before; a lookahead inside it looks forwards again.
            return f"(?:(?=(?&{name}))[\\s\\S])"
        return f"(?&{name})"

    def word_class(self, flags: int, negate: bool = False) -> str:
        category = C.CATEGORY_NOT_WORD if negate else C.CATEGORY_WORD
        return self.char_class(C.IN, [(C.CATEGORY, category)], flags & _A)

    # structure

    def sequence(self, items: list, flags: int, at_start: bool = False, at_end: bool = False) -> str:
        """The items in order. ``at_start``, ``at_end``: the sequence begins (ends) a yes/no
        search, so a \\b there may consume the character beyond it (``edges``)."""
        if self.is_re2 and self.boolean and not self.relaxed:
            items = pattern_bounds.inline_bounded_groups(items)
        out = []
        for k, (op, av) in enumerate(items):
            if op is C.AT and av in (C.AT_BOUNDARY, C.AT_NON_BOUNDARY) and self.is_re2 and not self.relaxed:
                try:
                    out.append(self.boundary_between(items[:k], items[k + 1:], av, flags))
                except _NoRE2:
                    if not (self.boolean and av is C.AT_BOUNDARY):
                        raise
                    return self.split_boundary(items, k, flags, at_start, at_end)
            else:
                out.append(self.node(op, av, flags, at_start and k == 0, at_end and k == len(items) - 1))
        return "".join(out)

    def node(self, op, av, flags: int, at_start: bool = False, at_end: bool = False) -> str:
        if op in CHAR_NODES:
            return self.char_class(op, av, flags)
        if op is C.BRANCH:
            return "(?:" + "|".join(self.sequence(list(b.data), flags, at_start, at_end) for b in av[1]) + ")"
        if op is C.SUBPATTERN:
            group, add, remove, body = av
            inner = self.sequence(list(body.data), (flags | add) & ~remove, at_start, at_end)
            return f"({inner})" if group is not None else f"(?:{inner})"
        if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            return self.repeat(op, av, flags)
        if op is C.ATOMIC_GROUP:
            inner = self.sequence(list(av.data), flags)
            if self.is_re2:
                return self.unsupported(f"(?:{inner})")
            return f"(?>{inner})"
        if op is C.AT:
            return self.anchor(av, flags)
        if op in (C.ASSERT, C.ASSERT_NOT):
            direction, body = av
            if self.is_re2:
                return self.unsupported("")
            self.behind += direction == -1
            inner = self.sequence(list(body.data), flags)
            self.behind -= direction == -1
            kind = ("=" if op is C.ASSERT else "!") if direction == 1 else ("<=" if op is C.ASSERT else "<!")
            return f"(?{kind}{inner})"
        if op is C.GROUPREF:
            if self.is_re2:
                return self.unsupported("(?s:.)*")
            return f"(?i:\\g<{av}>)" if flags & _I else f"(?-i:\\g<{av}>)"
        if op is C.GROUPREF_EXISTS:
            group, yes, no = av
            yes_s = self.sequence(list(yes.data), flags)
            no_s = self.sequence(list(no.data), flags) if no is not None else ""
            if self.is_re2:
                return self.unsupported(f"(?:{yes_s}|{no_s})")
            return f"(?({group}){yes_s}|{no_s})"
        raise _NoRE2() if self.is_re2 else PatternError(f"bad regex: unsupported construct {op}")

    def unsupported(self, relaxed_form: str) -> str:
        if self.relaxed:
            return relaxed_form
        raise _NoRE2()

    def repeat(self, op, av, flags: int) -> str:
        lo, hi, body = av
        inner = self.sequence(list(body.data), flags)
        if self.is_re2 and (lo > RE2_MAX_REPEAT or (hi != C.MAXREPEAT and hi > RE2_MAX_REPEAT)):
            if not self.relaxed:
                raise _NoRE2()
            lo, hi = min(lo, RE2_MAX_REPEAT), C.MAXREPEAT
        if self.is_re2 and op is C.POSSESSIVE_REPEAT:
            self.unsupported("")
            op = C.MAX_REPEAT
        if (lo, hi) == (0, C.MAXREPEAT):
            q = "*"
        elif (lo, hi) == (1, C.MAXREPEAT):
            q = "+"
        elif (lo, hi) == (0, 1):
            q = "?"
        elif hi == C.MAXREPEAT:
            q = f"{{{lo},}}"
        elif lo == hi:
            q = f"{{{lo}}}"
        else:
            q = f"{{{lo},{hi}}}"
        q += {C.MAX_REPEAT: "", C.MIN_REPEAT: "?", C.POSSESSIVE_REPEAT: "+"}[op]
        return f"(?:{inner}){q}"

    def anchor(self, at, flags: int) -> str:
        multiline = bool(flags & _M)
        if at is C.AT_BEGINNING:
            if multiline:  # in both (as in Python): at the start, or after "\n"
                return "(?m:^)"
            return "\\A"
        if at is C.AT_BEGINNING_STRING:
            return "\\A"
        if at is C.AT_END:
            if multiline:  # in both (as in Python): at the end, or before "\n"
                return "(?m:$)"
            # Python's `$` also matches before a final "\n"; search() sends such texts to
            # the regex form, which says exactly that.
            return "\\z" if self.is_re2 else "(?=\\n?\\Z)"
        if at is C.AT_END_STRING:
            return "\\z" if self.is_re2 else "\\Z"
        if at in (C.AT_BOUNDARY, C.AT_NON_BOUNDARY):
            if self.is_re2:
                # RE2's \b is ASCII-only, as Python's is here (or as the text is)
                if (flags & _A or self.ascii_text) and at is C.AT_BOUNDARY:
                    return "\\b"
                return self.unsupported("")
            w = self.word_class(flags)
            self.behind += 1
            wb = self.word_class(flags)  # the same class, written to work inside a lookbehind
            self.behind -= 1
            if at is C.AT_BOUNDARY:
                return f"(?:(?<={wb})(?!{w})|(?<!{wb})(?={w}))"
            # Python 3.11's \B does not match in an empty string
            return f"(?:(?<={wb})(?={w})|(?<!{wb})(?!{w})(?=[\\s\\S]|(?<=[\\s\\S])))"
        raise _NoRE2() if self.is_re2 else PatternError(f"bad regex: unsupported anchor {at}")

    # \b and lookarounds RE2 can still say exactly

    def split_boundary(self, items: list, k: int, flags: int, at_start: bool, at_end: bool) -> str:
        """A \\b whose neighbours' characters are not known, in a yes/no search: the
        sequence as the choice of what stands on each side of it (pattern_bounds)."""
        self.bound_rewrites += 1
        if self.bound_rewrites > MAX_BOUND_REWRITES:
            raise _NoRE2()
        sets = pattern_bounds.Sets(_char_mask, _nullable_item, _ranges, _mask(_word_ranges(flags)))
        try:
            alternatives = pattern_bounds.split_boundary(items, k, flags, sets, at_start, at_end)
        except pattern_bounds.NoRE2 as err:
            raise _NoRE2() from err
        if not alternatives:
            return NEVER
        return "(?:" + "|".join(self.sequence(a, flags, at_start, at_end) for a in alternatives) + ")"

    def boundary_between(self, before: list, after: list, at, flags: int) -> str:
        """\\b between two neighbours whose characters are known: always or never true."""
        if (flags & _A or self.ascii_text) and at is C.AT_BOUNDARY:
            return "\\b"
        left, right = _last_set(before, flags), _first_set(after, flags)
        if left is None or right is None:
            raise _NoRE2()
        word = _mask(_word_ranges(flags))
        left_word, right_word = _side(left, word), _side(right, word)
        if left_word is None or right_word is None:
            raise _NoRE2()
        holds = left_word != right_word
        return "" if holds == (at is C.AT_BOUNDARY) else NEVER

    def edges(self, items: list, flags: int) -> str:
        """A yes/no search: an assertion on the character before the first or after the
        last thing matched can consume that character instead (or the text's edge)."""
        return "".join(self.edge_parts(items, flags))

    def edge_parts(self, items: list, flags: int, start: bool = True, end: bool = True) -> tuple[str, str, str]:
        """``edges`` as (what stands for the edge before, the middle, the edge after);
        ``start``, ``end``: the items begin (end) the search.

        The branches of an alternation that share both edges are written as one edge
        pair around the choice of their middles: (?:HAT|HBT) and H(?:A|B)T match the same
        texts, and a Unicode edge class is ~12k characters that RE2 compiles into a byte
        automaton of its own each time it is written. The keyword rules' phrases, each
        with a \\b at its end, wrote it 90 times in one rule (1.1 MB of RE2 text; with
        the other rules, a third of a process's start-up went to compiling it again and
        again). tests/test_patterns_equal_re.py holds the meaning."""
        if len(items) == 1 and items[0][0] is C.SUBPATTERN:
            _, add, remove, body = items[0][1]
            return self.edge_parts(list(body.data), (flags | add) & ~remove, start, end)
        if len(items) == 1 and items[0][0] is C.BRANCH:
            shared: dict[tuple[str, str], list[str]] = {}
            for branch in items[0][1][1]:
                head, middle, tail = self.edge_parts(list(branch.data), flags, start, end)
                shared.setdefault((head, tail), []).append(middle)
            if len(shared) == 1:
                (head, tail), middles = next(iter(shared.items()))
                return head, _choice(middles), tail
            return "", _choice([head + _choice(middles) + tail for (head, tail), middles in shared.items()]), ""
        head = tail = ""
        if start and items:
            lead = self.edge(items[0], items[1:], flags, start=True)
            if lead is not None:
                head, items = lead, items[1:]
        if end and items:
            trail = self.edge(items[-1], items[:-1], flags, start=False)
            if trail is not None:
                tail, items = trail, items[:-1]
        if (head or tail) and len(items) == 1 and items[0][0] in (C.SUBPATTERN, C.BRANCH):
            # (Python's parser takes a \b every branch begins with out of the alternation.)
            inner_head, middle, inner_tail = self.edge_parts(items, flags, start and not head, end and not tail)
            return head + inner_head, middle, inner_tail + tail
        return head, self.sequence(items, flags, at_start=start and not head, at_end=end and not tail), tail

    def edge(self, item, rest: list, flags: int, start: bool) -> str | None:
        """The exact RE2 form of a one-character lookaround or a \\b at the start (or the
        end) of a line rule: a search for a boolean may consume the character it looks at,
        or match at the edge of the text instead. None when the item is no such thing."""
        op, av = item
        edge_of_text = "\\A" if start else "\\z"

        def either(ranges) -> str:
            written = self.write_ranges(ranges)
            return f"(?:{edge_of_text}|{written})" if start else f"(?:{written}|{edge_of_text})"

        if op in (C.ASSERT, C.ASSERT_NOT) and av[0] == (-1 if start else 1) and _one_char(av[1]):
            ranges = _node_set(av[1].data[0][0], _freeze(av[1].data[0][1]), flags & UNICODE_FLAGS)
            if op is C.ASSERT:
                return self.write_ranges(ranges)
            return either(_complement(ranges))
        if op is C.AT and av is C.AT_BOUNDARY and not flags & _A:
            neighbour = _first_set(rest, flags) if start else _last_set(rest, flags)
            word = _word_ranges(flags)
            side = _side(neighbour, _mask(word)) if neighbour is not None else None
            if side is True:
                return either(_complement(word))
            if side is False:
                return self.write_ranges(word)
        return None


def _choice(alternatives: list[str]) -> str:
    """RE2 text that matches what any of the alternatives matches (one needs no group:
    it is written inside a group or alone)."""
    return alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"


def _word_ranges(flags: int):
    items = [(C.CATEGORY, C.CATEGORY_WORD)]
    return _node_set(C.IN, _freeze(items), flags & UNICODE_FLAGS)


def _side(marks: np.ndarray, word: np.ndarray) -> bool | None:
    """True if every character is a word character, False if none is, None if mixed."""
    if not marks.any():
        return None
    inside = bool((marks & word).any())
    outside = bool((marks & ~word).any())
    if inside and outside:
        return None
    return inside


def _one_char(body) -> bool:
    return len(body.data) == 1 and body.data[0][0] in CHAR_NODES


def _freeze(av):
    """Set items as a hashable value (for the cache)."""
    if isinstance(av, list):
        return tuple(_freeze(x) for x in av)
    if isinstance(av, tuple):
        return tuple(_freeze(x) for x in av)
    return av


def _char_mask(op, av, flags: int) -> np.ndarray:
    return _mask(_node_set(op, _freeze(av), flags & UNICODE_FLAGS))


def _first_set(items: list, flags: int) -> np.ndarray | None:
    """Every character the sequence can start with; None if it can match empty or holds
    something (an assertion, a backreference) whose characters are not worked out here."""
    marks, nullable = _edge(items, flags, first=True)
    return None if nullable is not False else marks


def _last_set(items: list, flags: int) -> np.ndarray | None:
    marks, nullable = _edge(items, flags, first=False)
    return None if nullable is not False else marks


def _edge(items: list, flags: int, first: bool) -> tuple[np.ndarray | None, bool | None]:
    """(characters the sequence can start (or end) with, whether it can match empty)."""
    marks = np.zeros(MAX_CODE_POINT, dtype=bool)
    for op, av in (items if first else reversed(items)):
        sub, nullable = _item_edge(op, av, flags, first)
        if sub is None or nullable is None:
            return None, None
        marks |= sub
        if not nullable:
            return marks, False
    return marks, True


def _nullable_item(op, av, flags: int) -> bool | None:
    return _item_edge(op, av, flags, True)[1]


def _item_edge(op, av, flags: int, first: bool) -> tuple[np.ndarray | None, bool | None]:
    if op in CHAR_NODES:
        return _char_mask(op, av, flags), False
    if op is C.SUBPATTERN:
        return _edge(list(av[3].data), (flags | av[1]) & ~av[2], first)
    if op is C.BRANCH:
        marks, nullable = np.zeros(MAX_CODE_POINT, dtype=bool), False
        for branch in av[1]:
            sub, empty = _edge(list(branch.data), flags, first)
            if sub is None or empty is None:
                return None, None
            marks |= sub
            nullable = nullable or empty
        return marks, nullable
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
        sub, empty = _edge(list(av[2].data), flags, first)
        if sub is None:
            return None, None
        return sub, empty or av[0] == 0
    return None, None


def _posix_lookalike(tree, pattern: str) -> tuple[str, bool] | None:
    """(name, negated) of a set written as a POSIX class without its outer brackets
    (`[:digit:]`, `[^:space:]`), if the pattern has one. Python takes it silently as the
    set of its characters (`[:digit:]` matches ':', 'd', 'i', 'g' or 't'): nobody means
    that, and a rule with it fired on every line holding a 'd' or a ':'."""
    stack = [tree]
    while stack:
        node = stack.pop()
        for op, av in node.data:
            if op is C.IN:
                negated = bool(av) and av[0][0] is C.NEGATE
                items = av[1:] if negated else av
                if items and all(item_op is C.LITERAL for item_op, _ in items):
                    spelled = "".join(chr(code) for _, code in items)
                    for name in _POSIX_CLASSES:
                        written = f"[{'^' if negated else ''}:{name}:]"  # not `[:digit]`: a set after all
                        if spelled == "".join(dict.fromkeys(f":{name}:")) and written in pattern:
                            return name, negated
            stack.extend(_children(op, av))
    return None


def _posix_set_message(name: str, negated: bool) -> str:
    """Why a set spelled as a POSIX class is refused, and what to write instead."""
    written = f"[{'^' if negated else ''}:{name}:]"
    chars = ", ".join(repr(c) for c in dict.fromkeys(f":{name}:"))
    reading = "any character but" if negated else "one of"
    instead = _POSIX_CLASSES[name]
    if negated:
        instead = f"the opposite of {instead} (e.g. \\D or [^0-9] for any character but a digit)"
    return (f"{written} is not a POSIX class in a rule's pattern: patterns are Python's regular expressions, which "
            f"read it as {reading} the characters {chars}; write {instead} instead")


def _depth(tree) -> int:
    """How deeply groups, branches and repeats nest (walked without recursion)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        for op, av in node.data:
            for child in _children(op, av):
                stack.append((child, level + 1))
    return deepest


def _children(op, av) -> list:
    if op is C.SUBPATTERN:
        return [av[3]]
    if op is C.BRANCH:
        return list(av[1])
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
        return [av[2]]
    if op in (C.ASSERT, C.ASSERT_NOT):
        return [av[1]]
    if op is C.ATOMIC_GROUP:
        return [av]
    if op is C.GROUPREF_EXISTS:
        return [av[1]] + ([av[2]] if av[2] is not None else [])
    return []


# --- the static check `curate rules test` runs ------------------------------------------

# RE2 instructions of a pattern's programs past which `curate rules test` says what they
# cost: compiling takes ~0.4 ms per thousand on this project's test machine (README,
# "Patterns that cannot hang a run"), in every process of every run (and as much again
# backwards at the first match of a pattern not anchored at the line's start). The
# largest built-in program has 128,383.
COSTLY_PROGRAM = 150_000
SECONDS_PER_INSTRUCTION = 0.4e-6


def compile_cost(compiled: CompiledPattern) -> str | None:
    """What a pattern's RE2 programs cost each process to compile, when they are large,
    and the usual cause: a bounded repeat of a large class, which RE2 writes out as that
    many copies of it (Python's \\w is about 600 ranges of code points written out). None
    for a pattern of ordinary size. Counted in RE2's instructions, so the answer is the
    same on every machine."""
    size = 0
    for form in (compiled.re2, compiled.ascii_re2, compiled.prefilter):
        if form is not None:
            size += _re2_program(form).ProgramSize()
    if size <= COSTLY_PROGRAM:
        return None
    return (f"its RE2 program has {size:,} instructions, compiled at the start of every curate process (about "
            f"{size * SECONDS_PER_INSTRUCTION:.2f} s, at the 0.4 ms per thousand the README measured). A repeat "
            "with a bound, like [\\w -]{1,30}, is written out that many times, each copy of \\w some 600 ranges of "
            "code points: bound it by words (\\w+(\\ \\w+){0,3}) or drop the bound (\\w+); a long list of "
            "phrases is fine as it is")


def backtracking_risk(compiled: CompiledPattern) -> str | None:
    """Why a pattern on the backtracking engine can take exponential time, or None.

    Looks for the two shapes behind catastrophic backtracking: a repeat inside a repeat
    (``(a+)+``, ``(\\d+\\s*){2,}``: a run can be split between the iterations in
    exponentially many ways), and a repeated alternation whose branches can start with
    the same character (``(a|ab)*``). Conservative: a flagged pattern may be harmless,
    an unflagged one on RE2 always is."""
    if compiled.engine == ENGINE_RE2:
        return None
    tree = sre_parse.parse(compiled.pattern, compiled.flags)
    return _risk(list(tree.data), int(tree.state.flags), inside_repeat=False)


def _risk(items: list, flags: int, inside_repeat: bool) -> str | None:
    for op, av in items:
        if op in (C.MAX_REPEAT, C.MIN_REPEAT):
            _, hi, body = av
            if hi > 1 and _ambiguous_iterations(list(body.data), flags):
                return "a repeat whose iterations vary in length and can run into each other (like (a+)+ " \
                       "or (a|aa)+): a long run of what they accept, then a character that fails the " \
                       "rest, takes exponential time; make each stretch of text match one way only"
            if hi > 1:
                overlap = _overlapping_branches(list(body.data), flags)
                if overlap:
                    return overlap
            found = _risk(list(body.data), flags, inside_repeat or hi > 1)
        elif op is C.SUBPATTERN:
            found = _risk(list(av[3].data), (flags | av[1]) & ~av[2], inside_repeat)
        elif op is C.BRANCH:
            found = next((r for r in (_risk(list(b.data), flags, inside_repeat) for b in av[1]) if r), None)
        elif op in (C.ASSERT, C.ASSERT_NOT):
            found = _risk(list(av[1].data), flags, inside_repeat)
        elif op is C.GROUPREF_EXISTS:
            found = _risk(list(av[1].data), flags, inside_repeat) or (
                _risk(list(av[2].data), flags, inside_repeat) if av[2] is not None else None)
        else:
            found = None
        if found:
            return found
    return None


def _ambiguous_iterations(body: list, flags: int) -> bool:
    r"""Can a repeated body split one run of text between its iterations in more than one
    way? Only if iterations vary in length (an inner repeat, an optional part, branches
    of different lengths) and one can end with a character another can start with:
    (a|aa)+, (\d+\s*)+. Not (?:\ [A-Z]\w*)*, where each name starts after a space."""
    state = sre_parse.State()
    state.flags = flags
    low, high = sre_parse.SubPattern(state, body).getwidth()
    if low == high:
        return False
    first, last = _first_set(body, flags), _last_set(body, flags)
    return first is None or last is None or bool((first & last).any())


def _overlapping_branches(items: list, flags: int) -> str | None:
    """A repeated alternation whose branches can start with the same character: each
    iteration can be read two ways, so n iterations 2**n ways. (Branches inside a longer
    body are left to _ambiguous_iterations: a delimiter before them settles the reading.)"""
    while len(items) == 1 and items[0][0] is C.SUBPATTERN:
        _, add, remove, body = items[0][1]
        items, flags = list(body.data), (flags | add) & ~remove
    if len(items) != 1 or items[0][0] is not C.BRANCH:
        return None
    seen = np.zeros(MAX_CODE_POINT, dtype=bool)
    for branch in items[0][1][1]:
        first = _first_set(list(branch.data), flags)
        if first is None or (seen & first).any():
            return "a repeated alternation whose branches can start alike (like (a|ab)*): a line " \
                   "of what several branches accept can take exponential time; make the " \
                   "branches start differently"
        seen |= first
    return None
