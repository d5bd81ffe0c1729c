"""Markdown's inline marks as a reader sees the line: a link as its text, an image as its
alt text, a heading without its #s, bold without its asterisks. Scrapers that write
Markdown wrap a page's chrome in link syntax ("- [Sign in](/login)", "[Skip to main
content](#main)"), which no rule written for a page's text matches; the rules, the model,
language and dedup read the line so rendered, and the output keeps the Markdown as it
was. (Fenced code blocks are fences.py's.)"""

from __future__ import annotations

import re

# A link's or an image's target: not empty ("[Symbol.iterator]()" is code), no spaces, one
# level of parentheses ("/wiki/Tide_(film)"), and an optional title. (Not reference links:
# "[ 2 ][ 'user' ]" is code too.)
_TARGET = r'\((?:[^()\s]|\([^()\s]*\))+(?:\s+"[^"]*")?\)'
_IMAGE = re.compile(r"!\[([^\]\[]*)\]" + _TARGET)
_LINK = re.compile(r"\[([^\]\[]*)\]" + _TARGET)
# A heading's mark, before a word that does not start in lower case: "# include <stdio.h>"
# and "# 10" (a forum post's number) are not headings.
_HEADING = re.compile(r"#{1,6}\s+(?=[^\W\d_])(?![a-z])")
# Bold text holds no asterisk: each "**" is then looked past only up to the next "*", so a
# line of many unclosed "**a " takes linear time, not quadratic.
_BOLD = re.compile(r"\*\*(?=[^\s*])([^*]*?[^\s*])?\*\*")


def may_have_marks(text: str) -> bool:
    """Whether ``text`` may hold a mark rendered_marks removes (cheap: substring tests)."""
    return "](" in text or text[:1] == "#" or "**" in text


def rendered_marks(text: str) -> str:
    """``text`` with Markdown's links, images, heading mark and bold rendered; ``text``
    itself when nothing is left of it once rendered (a bare image: its mark is all the
    rules can judge)."""
    out = text
    if "](" in out:
        out = _LINK.sub(r"\1", _IMAGE.sub(r"\1", out))
    if out[:1] == "#" and (heading := _HEADING.match(out)) is not None:
        out = out[heading.end():]
    if "**" in out:
        out = _BOLD.sub(r"\1", out)
    out = " ".join(out.split())
    return out if out else text
