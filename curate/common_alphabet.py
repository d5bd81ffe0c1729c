"""RE2 programs cut down to the characters most text is written in, for a fast start.

A rule's RE2 form spells every class out as the code points Python accepts for it
(patterns.py): Python's \\w is some 600 ranges across every script, and RE2 compiles each
written class into a UTF-8 byte automaton of its own. Compiling the built-in rules' programs
was 0.33 s of a 0.8 s one-line run, in every curate process (bench/startup.py), most of it
the ranges of scripts the text never holds.

So each RE2 source has a second form, ``common_form``: every class intersected with COMMON
(Latin, Greek and Cyrillic with their extensions and combining marks, punctuation, symbols,
arrows, shapes, dingbats, emoji). On a text whose characters are all in COMMON
(``in_common``) the two programs give the same answer, match for match: RE2 runs the same
program structure, and every class test it makes on such a character has the same result,
since the character is in the class exactly when it is in the class's part within COMMON.
Everything but the classes is left as written. A process compiles the common forms at its
start (the built-in rules' in 0.17 s, against 0.35 s whole, their line filter included) and
a full form only when a text outside COMMON meets it.

The transform reads the RE2 syntax patterns.py and ignorecase.py write (code points as
``\\x{HEX}``, classes as lists of them and of ranges); a source with anything else inside a
class, with a case-folding flag (which would fold the cut class's members) or a quoted
literal (``\\Q...\\E``), is left whole: its common form is itself, exact as ever.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Code point ranges (inclusive). Each range of letters added costs compile time, as \w has
# members in it; blocks of symbols cost next to nothing (no \w member: one range of \W).
COMMON: tuple[tuple[int, int], ...] = (
    (0x0000, 0x052F),  # ASCII, Latin-1, Latin Extended-A and -B, IPA, modifiers, combining marks, Greek, Cyrillic
    (0x1E00, 0x1FFF),  # Latin Extended Additional (Vietnamese), Greek Extended
    (0x2000, 0x2BFF),  # punctuation, super- and subscripts, currency, letterlike, arrows, math, shapes, dingbats
    (0xFE00, 0xFE0F),  # variation selectors (an emoji's text or picture presentation)
    (0x1F000, 0x1FAFF),  # emoji and other pictographs
)
MAX_CODE_POINT = 0x10FFFF
NEVER = "[^\\x00-\\x{10FFFF}]"  # RE2 for a class no character is in

_OUTSIDE = re.compile("[^" + "".join(f"{chr(lo)}-{chr(hi)}" if lo != hi else chr(lo) for lo, hi in COMMON) + "]")


def in_common(text: str) -> bool:
    """Is every character of ``text`` in COMMON? (A lone surrogate is not.)"""
    return text.isascii() or _OUTSIDE.search(text) is None


class _Unknown(Exception):
    """Syntax inside a class that the transform does not read: the source stays whole."""


_FOLDING = re.compile(r"\(\?[a-zA-Z]*i")
# The fast way, for sources whose only escapes are code points and \\A, \\z, \\b, \\B (all the
# translated rules'): there no "[" or "]" is part of an escape, so each "[" opens a class,
# which the next "]" closes.
_OTHER_ESCAPE = re.compile(r"\\[^xAzbB]")
# A code point as patterns.py and ignorecase.py write it: its hex in the first group or the second.
_POINT = r"\\x(?:\{([0-9A-Fa-f]{1,6})\}|([0-9A-Fa-f]{2}))"
_HEX = re.compile(_POINT)
_ITEM = re.compile(rf"{_POINT}(?:-{_POINT})?")  # a code point or a range of them
_CLASS_BODY = re.compile(rf"\^?(?:{_ITEM.pattern})+")


@lru_cache(maxsize=4096)
def common_form(source: str) -> str:
    """``source`` with every class cut to its part within COMMON (see the module's doc);
    ``source`` itself when it has no class, or syntax the transform does not read."""
    if "[" not in source or _FOLDING.search(source) or "\\Q" in source:
        return source
    if _OTHER_ESCAPE.search(source) is None:
        pieces = source.split("[")
        out = [pieces[0]]
        try:
            for piece in pieces[1:]:
                end = piece.find("]")
                if end < 0:
                    raise _Unknown
                out.append(_cut_class(piece[:end]))
                out.append(piece[end + 1:])
        except _Unknown:
            return source
        return "".join(out)
    return _tokenized(source)


@lru_cache(maxsize=4096)
def _cut_class(body: str) -> str:
    """The class ``[body]``, cut to COMMON. Remembered: most of a rule's bytes are a few
    classes (Python's \\w and \\W written out) over and over."""
    if _CLASS_BODY.fullmatch(body) is None:
        raise _Unknown
    negated = body.startswith("^")
    ranges = [(int(a or b, 16), int(c or d or a or b, 16)) for a, b, c, d in _ITEM.findall(body)]
    if any(hi < lo for lo, hi in ranges):
        raise _Unknown
    return _smaller(f"[{body}]", _complement(ranges) if negated else sorted(ranges))


def _smaller(written: str, ranges: list[tuple[int, int]]) -> str:
    """The class cut to COMMON, or as ``written`` when the cut has as many ranges (a class
    of a few wide ranges, such as [^\\n], is cheap as it is; cut, it would be more)."""
    cut = _within_common(ranges)
    return _class_text(cut) if len(cut) < len(ranges) else written


def _tokenized(source: str) -> str:
    """common_form read a character at a time: for sources with other escapes, where a
    "[" may be escaped (about 1 s for the built-in rules' 4.8 MB; never needed for them)."""
    out: list[str] = []
    pos, end = 0, len(source)
    try:
        while pos < end:
            char = source[pos]
            if char == "\\":
                escape = _HEX.match(source, pos)
                step = escape.end() - pos if escape is not None else 2
                out.append(source[pos:pos + step])
                pos += step
            elif char == "[":  # inside a class only code points, "-" and "^" are read: no "]" but its end
                close = source.find("]", pos + 1)
                if close < 0:
                    raise _Unknown
                out.append(_cut_class(source[pos + 1:close]))
                pos = close + 1
            else:
                out.append(char)
                pos += 1
    except _Unknown:
        return source
    return "".join(out)


def _complement(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out, low = [], 0
    for lo, hi in sorted(ranges):
        if lo > low:
            out.append((low, lo - 1))
        low = max(low, hi + 1)
    if low <= MAX_CODE_POINT:
        out.append((low, MAX_CODE_POINT))
    return out


def _within_common(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(max(lo, c_lo), min(hi, c_hi)) for lo, hi in ranges for c_lo, c_hi in COMMON
            if max(lo, c_lo) <= min(hi, c_hi)]


def _class_text(ranges: list[tuple[int, int]]) -> str:
    if not ranges:
        return NEVER
    return "[" + "".join(f"\\x{{{lo:X}}}" if lo == hi else f"\\x{{{lo:X}}}-\\x{{{hi:X}}}" for lo, hi in ranges) + "]"
