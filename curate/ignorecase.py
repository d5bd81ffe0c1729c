"""Text folded as Python's ``re`` compares letters under IGNORECASE, one character for one.

A rule's literal prefilter (``Rule.literals``: its phrases, or its ``requires``) skips a
line that holds none of them before the pattern runs, so it must never skip a line the
pattern matches. It compared lowercased text, and ``str.lower`` is not how ``re`` ignores
case: ``"İ".lower()`` is two characters ("i" and a combining dot), so "İndir" did not hold
"indir"; and ``re`` also pairs letters that lowercase apart ("I" and "ı", "s" and "ſ", "µ"
and "μ", "σ" and "ς", "θ" and "ϑ"...). So a phrase "uygulamamızı indir" left "UYGULAMAMIZI
İNDİR" in place, though its pattern matches it.

``fold`` maps every character to one representative of its class: the characters ``re``
takes for one another under IGNORECASE, as sre's own tables define them (a character, its
simple lowercase, and the lowercase letters ``re._casefix`` pairs). So a text that ``re``
matches, letter for letter, to a literal holds the literal once both are folded: a sound
prefilter. The literals are folded when the rule loads (rules.py); the lines are not
folded at all: ``re2_literal`` spells each letter of a literal as the class of letters
that fold alike, and RE2 searches the lines' UTF-8 as they are (noise.literal_program),
which answers ``fold(literal) in fold(line)`` and spares every line a lowercasing (the
line rules took 6-10% less CPU time). ``fold`` itself reads a line only where RE2 cannot
(a lone surrogate). tests/test_ignorecase.py asks ``re`` itself about every pair of
cased characters, and checks the pattern engines (RE2, regex, the line filter) agree.

Most characters fold as ``str.lower`` lowers them; ``fold`` is ``str.lower`` but on the
few that do not ("İ", "ı", "ſ", "µ", "ς", "Σ" whose lowercase depends on the next
letter, ...), which are replaced first. A text of ASCII is lowercased and nothing else.
"""  # noqa: RUF002 - the letters that look alike are the point here

from __future__ import annotations

import re
from functools import cache

import numpy as np

CASED_BELOW = 0x20000  # no code point above has a case mapping (patterns.CASED_BELOW; a test checks)
CAPITAL_SIGMA = 0x3A3  # str.lower makes it "ς" at the end of a word and "σ" elsewhere  # noqa: RUF003


@cache
def _tables() -> tuple[dict[str, str], re.Pattern[str], dict[str, str]]:
    """(the special characters -> their class's representative, a pattern finding them,
    each character of a class of two or more -> the class's characters). A few
    milliseconds, once per process."""
    import _sre
    from re import _casefix  # type: ignore[attr-defined]  # private: typeshed has no stub

    # The characters with a lowercase of their own, found by str.lower in one call (asking
    # sre of each of 131,072 code points took 3x as long). Its full lowercase is the
    # simple one sre uses but for U+0130 (two characters), left out and added back.
    points = np.concatenate((np.arange(0, 0x130), np.arange(0x131, 0xD800),
                             np.arange(0xE000, CASED_BELOW))).astype("<u4")
    lowered = np.frombuffer(points.tobytes().decode("utf-32-le").lower().encode("utf-32-le"), dtype="<u4")
    changed = [*points[lowered != points].tolist(), 0x130]
    lower = {cp: _sre.unicode_tolower(cp) for cp in changed}  # sre's own answer, for those
    # A pattern's letter matches a text's letter whose lowercase is the pattern letter's
    # lowercase, or one of the lowercase letters _casefix pairs with it (sre's compiler):
    # classes of lowercase letters, joined where _casefix joins them.
    parent: dict[int, int] = {}

    def root(cp: int) -> int:
        while parent.get(cp, cp) != cp:
            cp = parent[cp]
        return cp

    for low, extras in _casefix._EXTRA_CASES.items():
        for other in extras:
            a, b = root(low), root(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    nodes = {*changed, *lower.values(), *_casefix._EXTRA_CASES}
    nodes.update(cp for extras in _casefix._EXTRA_CASES.values() for cp in extras)
    classes: dict[int, list[int]] = {}
    for cp in sorted(nodes):
        classes.setdefault(root(lower.get(cp, cp)), []).append(cp)
    special: dict[str, str] = {}
    alike: dict[str, str] = {}
    for members in classes.values():
        # The representative: the lowercase most of the class lowers to (ties: the lowest),
        # so that str.lower folds all but a few of them.
        counts: dict[int, int] = {}
        for cp in members:
            counts[lower.get(cp, cp)] = counts.get(lower.get(cp, cp), 0) + 1
        rep = chr(min(counts, key=lambda cp: (-counts[cp], cp)))
        special.update((chr(cp), rep) for cp in members if chr(cp).lower() != rep)
        if len(members) > 1:
            alike.update((chr(cp), "".join(map(chr, members))) for cp in members)
    special[chr(CAPITAL_SIGMA)] = chr(lower[CAPITAL_SIGMA])
    finder = re.compile("[" + "".join(re.escape(char) for char in sorted(special)) + "]")
    return special, finder, alike


def fold(text: str) -> str:
    """The text with each character replaced by its IGNORECASE class's representative."""
    if text.isascii():
        return text.lower()
    special, finder, _ = _tables()
    found = finder.findall(text)
    if not found:
        return text.lower()
    # A few kinds of them in a line (dotless and dotted i in Turkish, capital and final
    # sigma in Greek): one replace each took a third of the time of str.translate.
    for char in set(found):
        text = text.replace(char, special[char])
    return text.lower()


def re2_literal(literal: str) -> str:
    """RE2 syntax for the texts whose fold is the literal's: each letter written as the
    class of letters that fold alike. Searched in a line's UTF-8 bytes, it answers
    ``fold(literal) in fold(line)`` without folding the line."""
    alike = _tables()[2]
    parts = []
    for char in literal:
        members = alike.get(char)
        parts.append(_re2_char(char) if members is None else "[" + "".join(map(_re2_char, members)) + "]")
    return "".join(parts)


def _re2_char(char: str) -> str:
    return char if char.isascii() and char.isalnum() else f"\\x{{{ord(char):x}}}"

