"""Repair and tidy one line at a time, so every line keeps its origin in the source bytes."""

from __future__ import annotations

import re
import unicodedata

import ftfy
from ftfy.chardata import HTML_ENTITY_RE

from curate.document import Document, Line, Reason
from curate.stages.base import Batch, Stage
from curate.stages.fences import code_positions
from curate.stages.markdown import may_have_marks, rendered_marks

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

# ftfy costs ~50 us a line; it only changes a line that holds mojibake (a UTF-8 lead
# byte read as Latin-1/cp1252, followed by a continuation byte so read, or by a space where
# the continuation was a no-break space: ftfy's ALTERED_UTF8_RE, decoded), C1 controls, the
# replacement character, a Latin ligature, the control characters ftfy removes that are not
# C0 (bidi shaping controls, interlinear annotation and the object replacement character)
# or an HTML entity (ftfy's own pattern for one: "&" alone, as in "AT&T" or "Fish & chips",
# was half the lines sent to ftfy on the benchmark corpus, 0.17 s of it, and ftfy changed
# none of them). Other lines need only the NFC normalisation ftfy would have applied.
# Output is the same (tested on the seeds and samples of noise-dev and noise-train; all
# 288k of their lines checked once by hand); 7x faster.
_CONTINUATION = ("[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
                 "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]")
# One class for the lead characters, then which lead it was, looked back at: the same
# matches as an alternative per lead, at half its cost (0.23 s against 0.47 s over the
# benchmark corpus's 111k lines).
_MAY_NEED_FTFY = re.compile(
    "[\u00c2-\u00f4](?:" + _CONTINUATION
    + "|(?<=[\u00c2\u00c3\u00c5\u00ce\u00d0\u00d9]) "
    + "|(?<=[\u00e2\u00e3]) " + _CONTINUATION
    + "|(?<=[\u00e0-\u00e3])" + _CONTINUATION + " "
    + "|(?<=\u00f0)(?: " + _CONTINUATION + "{2}|" + _CONTINUATION + " " + _CONTINUATION + "|" + _CONTINUATION + "{2} ))"
    + "|[\u0080-\u009f\ufffd\ufb00-\ufb06\u206a-\u206f\ufff9-\ufffc]|" + HTML_ENTITY_RE.pattern
)

# Characters that are spacing but not " ": NBSP, the Unicode spaces, tabs, line and
# paragraph separators, form feeds. Each run becomes one space.
_SPACING = r"[\s\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u180e]"


def collapse_spacing(text: str) -> str:
    r"""Every run of _SPACING characters as one " ", and none at either end. str.split()
    splits on exactly the characters Python's ``\s`` matches, which _SPACING lists but for
    the Mongolian vowel separator; it took a third of the time of the equivalent regex
    substitution (tests/test_normalise.py holds them equal)."""
    if "\u180e" in text:
        text = text.replace("\u180e", " ")
    return " ".join(text.split())
# Invisible format characters that scrapers leave behind and that only split words.
_INVISIBLE = re.compile(r"[\u200b\u2060\ufeff\u00ad]")


def _strip_controls(text: str, keep: str = "") -> str:
    # Cc covers C0 and C1 controls and DEL; whitespace controls were already turned into
    # spaces (but those in ``keep``: a line of code's tabs).
    return "".join(ch for ch in text if ch in keep or unicodedata.category(ch) != "Cc")


def _repaired(text: str) -> str:
    """``text`` with ftfy's repairs where it may need them, else in NFC."""
    if text.isascii():  # of the gate, only an HTML entity can be ASCII
        return ftfy.fix_text(text, FIXER) if "&" in text and HTML_ENTITY_RE.search(text) else text
    if _MAY_NEED_FTFY.search(text):
        return ftfy.fix_text(text, FIXER)
    return unicodedata.normalize("NFC", text)


def normalise_text(raw: str) -> str:
    """The cleaned form of one line; empty if nothing but spacing and controls is left."""
    text = _repaired(raw)
    if not text.isascii():
        # The invisible characters go first: "a \u200b b" is "a b", not "a  b".
        text = collapse_spacing(_INVISIBLE.sub("", text))
    elif "  " in text or not text.isprintable():  # ASCII spacing other than single spaces
        text = collapse_spacing(text)
    if not text.isprintable():
        # Controls that are not spacing (spacing ones are spaces now) go, and so does the
        # space either side of them would leave twice ("a \x07 b").
        text = collapse_spacing(_strip_controls(text))
    return text.strip()


CELL_WORDS = 12  # words of a table's cell at most: a longer piece is prose that a stray tab cut


def tab_cells(raw: str) -> list[str] | None:
    """The cells of a table's row that tabs part ("Alice\t30\tParis", as text extractors
    write a row), or None: a line with no tab between two pieces of text, or with a piece
    too long to be a cell (a tab inside a sentence)."""
    if "\t" not in raw:
        return None
    cells = raw.strip().split("\t")
    if sum(1 for cell in cells if cell.strip()) < 2 or any(len(cell.split()) > CELL_WORDS for cell in cells):
        return None
    return cells


def with_cells(raw: str, text: str) -> str:
    """``text``, the normalised form of ``raw``, with the tabs back that part the cells of
    a table's row (tab_cells): as spaces its columns run together ("New York 30 San
    Francisco"). The rules see ``text``; the output keeps the tabs. ``text`` itself for any
    other line, and when the cells, normalised one by one, do not make it up again (ftfy
    can judge a cell alone otherwise than the line)."""
    cells = tab_cells(raw) if raw != text else None
    if cells is None:
        return text
    joined = "\t".join(normalise_text(cell) for cell in cells).strip("\t")  # an end cell may clean to nothing
    return joined if collapse_spacing(joined) == text else text


def page_may_have_marks(page: str) -> bool:
    """Whether a page (its raw lines joined by newlines) may hold a Markdown mark that
    rendered_marks removes: substring tests, so that most pages skip the lines' own test.
    (A character first: one is a memchr, two are a slower search.)"""
    return (("]" in page and "](" in page) or ("*" in page and "**" in page)
            or ("#" in page and ("\n#" in page or page[:1] == "#")))


def as_read(text: str, marks: bool) -> str:
    """``text``, a normalised line outside a code block, as the later stages read it: its
    Markdown marks rendered when its page may hold some (``marks``, page_may_have_marks).
    Rule examples are read through it too (noise.text_lines), so that a rule proves itself
    on what a run's rules see."""
    return rendered_marks(text) if text and marks and may_have_marks(text) else text


EMPTIED = Reason("normalise", "empty-after-normalise", "only spaces, control or invisible characters")


def code_text(raw: str) -> str:
    """The cleaned form of a line of code (a fenced block's, fences.py): repaired as any
    line is, but its spacing is the code's (indentation, tabs, alignment), so only its
    end loses spaces, and an NBSP (an HTML page's indentation) is a space."""
    text = _repaired(raw.rstrip())
    if not text.isascii():
        text = _INVISIBLE.sub("", text.replace("\u00a0", " "))
    if not text.isprintable():
        text = _strip_controls(text, keep="\t")
    return text.rstrip() if text.strip() else ""


def normalise(doc: Document) -> Document:
    """Normalise every line (a fenced code block's as code); a line that is empty once
    cleaned goes to the audit."""
    kept: list[Line] = []
    empty: set[int] = set()
    # Which kinds of layout the page may hold, asked of all its lines at once: most pages
    # hold none, and their lines take the plain loop.
    page = "\n".join([line.raw for line in doc.lines])
    # (A character first: one is a memchr, two are a slower search.)
    code = code_positions(doc.lines) if ("`" in page and "```" in page) or ("~" in page and "~~~" in page) else set()
    tabs = "\t" in page
    marks = page_may_have_marks(page)
    indented = False  # a line starts with spacing: a list's items may be nested
    if not (code or tabs or marks):
        for line in doc.lines:
            text = normalise_text(line.raw)
            if text == line.text:
                kept.append(line)
            elif text:
                # Only a line normalising changed can have started with spacing.
                indented = indented or line.raw[:1].isspace()
                kept.append(_with_text(line, text, None))
            else:
                kept.append(line)
                empty.add(line.index)
    else:
        for k, line in enumerate(doc.lines):
            shown = None
            if k in code:
                text = code_text(line.raw)
            else:
                text = normalise_text(line.raw)
                # The stages read a row's cells as words and a Markdown link as its text;
                # the output writes the tabs and the Markdown (Line.shown).
                written = with_cells(line.raw, text) if "\t" in line.raw else text
                text = as_read(text, marks)
                if written != text:
                    shown = written
            if text:
                indented = indented or line.raw[:1].isspace()
                kept.append(line if text == line.text and shown is None else _with_text(line, text, shown))
            else:
                kept.append(line)
                empty.add(line.index)
    if indented:
        kept = _nested_items(kept, empty)
    doc.lines = kept
    doc.drop(dict.fromkeys(empty, EMPTIED))
    return doc


# A list's item: "- salt", "* step", "+ note", "1. Heat", "2) Stir" (as the stages read it).
_LIST_ITEM = re.compile(r"(?:[-*+•]|\d{1,3}[.)])\s")


def _nested_items(lines: list[Line], empty: set[int]) -> list[Line]:
    """``lines`` with each list item of a run of them indented, in the output, by as much
    as its raw line is indented past the run's least indented item: a nested list keeps
    its nesting (the stages read every item flush left), and the indentation an HTML
    template put before every item of the list is not the text's."""
    out = list(lines)
    k = 0
    while k < len(out):
        j = k
        while j < len(out) and out[j].index not in empty and _LIST_ITEM.match(out[j].text):
            j += 1
        if j - k >= 2:
            indents = [line.raw[:len(line.raw) - len(line.raw.lstrip())] for line in out[k:j]]
            lo, hi = min(indents), max(indents)  # the common prefix of all is theirs
            common = next((n for n, (a, b) in enumerate(zip(lo, hi, strict=False)) if a != b), len(lo))
            for m in range(k, j):
                extra = "".join("\t" if ch == "\t" else " " for ch in indents[m - k][common:])
                if extra:
                    line = out[m]
                    out[m] = _with_text(line, line.text, extra + (line.shown if line.shown is not None else line.text))
        k = max(j, k + 1)
    return out


def _with_text(line: Line, text: str, shown: str | None) -> Line:
    return Line(line.index, line.raw, text, line.origin, line.gap_before, shown)


class Normalise(Stage):
    """ftfy, spacing and control characters, line by line."""

    name = "normalise"

    def __call__(self, batch: Batch) -> Batch:
        for doc in batch.documents():
            normalise(doc)
        return batch
