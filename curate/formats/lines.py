"""Cut decoded text into non-blank lines, each with its line number and byte span: the
part of splitting every format shares (a .txt file's own decoding is in ``txt.py``)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from curate.document import Line, Origin, Problem, RawDocument

BYTES_BREAK = re.compile(rb"\r\n|\n|\r")
TEXT_BREAK = re.compile(r"\r\n|\n|\r")
UTF16 = ("utf-16-le", "utf-16-be")


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
