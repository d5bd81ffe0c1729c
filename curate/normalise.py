"""Repair and tidy one line at a time, so every line keeps its origin in the source bytes."""

from __future__ import annotations

import re
import unicodedata

import ftfy

from curate.document import Document, Line

# ftfy's defaults, except:
# - fix_character_width folds full-width CJK punctuation and letters; models want the originals;
# - uncurl_quotes rewrites typographic quotes that are part of the text, not damage to it;
# - fix_line_breaks would put line breaks inside a line and break its provenance;
# - explain=False: the log of fixes costs time and nobody reads it here.
FIXER = ftfy.TextFixerConfig(
    fix_character_width=False,
    uncurl_quotes=False,
    fix_line_breaks=False,
    explain=False,
)

# Characters that are spacing but not " ": NBSP, the Unicode spaces, tabs, line and
# paragraph separators, form feeds. Each run becomes one space.
_SPACES = re.compile(r"[\s\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u180e]+")
# Invisible format characters that scrapers leave behind and that only split words.
_INVISIBLE = re.compile(r"[\u200b\u2060\ufeff\u00ad]")


def _strip_controls(text: str) -> str:
    # Cc covers C0 and C1 controls and DEL; whitespace controls were already turned into spaces.
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cc")


def normalise_text(raw: str) -> str:
    """The cleaned form of one line; empty if nothing but spacing and controls is left."""
    text = raw
    # Pure-ASCII lines cannot hold mojibake; only HTML entities ('&amp;') need ftfy there.
    if not text.isascii() or "&" in text:
        text = ftfy.fix_text(text, FIXER)
    text = _SPACES.sub(" ", text)
    if not text.isascii():
        text = _INVISIBLE.sub("", text)
    if not text.isprintable():
        text = _strip_controls(text)
    return text.strip()


def normalise(doc: Document) -> Document:
    """Normalise every line; a line that is empty once cleaned goes to the audit."""
    kept: list[Line] = []
    empty: set[int] = set()
    for line in doc.lines:
        text = normalise_text(line.raw)
        if text:
            kept.append(line if text == line.text else _with_text(line, text))
        else:
            kept.append(line)
            empty.add(line.index)
    doc.lines = kept
    doc.drop(empty, stage="normalise", reason="empty-after-normalise",
             detail="only spaces, control or invisible characters")
    return doc


def _with_text(line: Line, text: str) -> Line:
    return Line(line.index, line.raw, text, line.origin, line.gap_before)
