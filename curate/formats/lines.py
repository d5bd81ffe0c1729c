"""Cut decoded text into non-blank lines, each with its line number and byte span: the
part of splitting every format shares (a .txt file's own decoding is in ``txt.py``)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from curate.document import Line, Origin, Problem, RawDocument

BYTES_BREAK = re.compile(rb"\r\n|\n|\r")
TEXT_BREAK = re.compile(r"\r\n|\n|\r")
UTF16 = ("utf-16-le", "utf-16-be")

# What a blank line is, everywhere lines are counted: a line (between the breaks above) is
# blank when its decoded text is all whitespace as str.strip() sees it, Unicode's (a no-break
# space, an ideographic space, U+001C..U+001F are whitespace), never bytes.strip()'s ASCII.
# A line that does not decode is not blank: it is read, and quarantined. re's \s (for str)
# is exactly str.isspace(), which strip() removes (tests/test_line_counts.py checks every code point).
_CONTENT = re.compile(r"\S")
_NONBLANK_LINE = re.compile(r"\S[^\r\n]*")  # from a line's first non-space to its end: one match a line


_PIECE = 1 << 20  # characters counted at once: findall's list of one piece's lines is bounded


def count_nonblank(text: str) -> int:
    """The non-blank lines of decoded text, counted without splitting it into lines."""
    counter = LineCounter()
    for at in range(0, len(text), _PIECE):
        counter.feed(text[at:at + _PIECE])
    return counter.total()


class LineCounter:
    """Non-blank lines of text given in pieces (as an incremental decoder yields it), in
    bounded memory: ``lines`` the finished ones, ``open`` whether the unfinished last line
    has something other than whitespace so far. A piece may end anywhere, between the
    "\r" and "\n" of a break too: the empty line that seems to make is blank."""

    __slots__ = ("lines", "open")

    def __init__(self) -> None:
        self.lines = 0
        self.open = False

    def feed(self, text: str) -> None:
        cut = max(text.rfind("\n"), text.rfind("\r")) + 1
        if not cut:
            self.open = self.open or _CONTENT.search(text) is not None
            return
        # findall: a list of strings is made faster than an iterator of matches is walked
        # (twice as fast on two-byte lines), and a piece is at most a MiB or so of text.
        count = len(_NONBLANK_LINE.findall(text, 0, cut))
        if self.open:  # the line left open ends here: counted once, if the part here has not been
            first = TEXT_BREAK.search(text)
            assert first is not None
            count += _CONTENT.search(text, 0, first.start()) is None
        self.lines += count
        self.open = _CONTENT.search(text, cut) is not None

    def total(self) -> int:
        """Every non-blank line, the unfinished last one included."""
        return self.lines + self.open


def line_bounds(pattern: re.Pattern, data, start: int) -> Iterator[tuple[int, int]]:
    """Yield (end of line, start of next line) for every line from ``start``, the last one included."""
    for m in pattern.finditer(data, start):
        yield m.start(), m.end()
    yield len(data), len(data)


def too_long(doc: RawDocument, limit: int, lineno: int, start: int, end: int, preview: str) -> Problem:
    return Problem(doc.source, lineno, f"line of {end - start:,} bytes is longer than --max-line-bytes "
                   f"({limit:,} bytes)", "line skipped; raise --max-line-bytes to read it",
                   byte_start=start, byte_end=end, preview=preview[:120])


def split_decoded(doc: RawDocument, text: str, encoding: str, first_byte: int,
                  record_line: int | None, limit: int) -> tuple[list[Line], list[Problem], int]:
    """Lines of already decoded text, with spans in bytes of ``encoding`` from ``first_byte``.

    ``record_line``: the record every line belongs to, or None to number the lines."""
    one_byte_chars = encoding == "utf-8" and text.isascii()
    if "\n" not in text and "\r" not in text and not limit:
        # One line (a paragraph-per-record JSONL holds nothing else): no scan for breaks.
        if not text.strip():
            return [], [], 0
        end = first_byte + (len(text) if one_byte_chars else len(text.encode(encoding)))
        return [Line(0, text, text, Origin(1 if record_line is None else record_line, first_byte, end), False)], [], 1
    lines: list[Line] = []
    problems: list[Problem] = []
    unit = 2 if encoding in UTF16 else 1  # bytes per line-break character
    byte_pos, pos, lineno, gap = first_byte, 0, 1, False
    for end, next_start in line_bounds(TEXT_BREAK, text, 0):
        raw = text[pos:end]
        raw_len = len(raw) if one_byte_chars else len(raw.encode(encoding))
        if raw.strip():
            origin = Origin(lineno if record_line is None else record_line, byte_pos, byte_pos + raw_len)
            if limit and raw_len > limit:
                problems.append(too_long(doc, limit, origin.line, byte_pos, byte_pos + raw_len, raw[:120]))
            else:
                lines.append(Line(len(lines), raw, raw, origin, gap and bool(lines)))
            gap = False
        else:
            gap = True
        byte_pos += raw_len + unit * (next_start - end)
        pos = next_start
        lineno += 1
    return lines, problems, len(lines) + len(problems)
