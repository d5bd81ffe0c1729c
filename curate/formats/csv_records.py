"""The records of a CSV (or TSV) byte stream, one at a time, in bounded memory.

Python's ``csv`` module reads a file line by line and holds a record whole, however long:
one stray quote makes the rest of a file one field, and a line without a newline is read
whole before the module sees it. So records are cut here, where a record ends, without
splitting fields: the cut follows the ``csv`` module's own reading of quotes (its
default dialect: a quote opens a quoted field only as a field's first character, ``""``
inside one is a quote, a newline inside one is part of the field, and a record ends at
``\\n``, ``\\r\\n`` or a lone ``\\r`` outside quotes). Each cut record is then parsed by
``csv`` itself; a record longer than the limit is counted as it streams by, never held.
The cut also counts a record's fields (``Record.fields``), so that a row of millions of
tiny fields is refused before ``csv`` splits it; it steps from one line break, opening
quote or closing quote to the next with ``bytes.find``, never byte by byte, and from a
record's 64th field on takes a run of fields in one regex match, not a step per field.

The bytes are UTF-8 (or ASCII), whose quote, delimiter and line-break bytes never occur
inside a multi-byte character. tests/test_csv.py checks the cut against
``csv.reader`` over whole texts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

CHUNK = 1 << 20  # bytes read at a time
# Fields of a record before short fields are looked for in runs: a table's rows have
# fewer, and would pay for a match that fails at each of their quoted fields.
RUN_AFTER = 64
_QUOTE, _CR, _LF = 0x22, 0x0D, 0x0A

# The cut's states: at a field's start, inside an unquoted field, inside a quoted one, and
# just after a quote inside a quoted one (a second quote, or the field's end).
_START, _FIELD, _QUOTED, _AFTER_QUOTE = range(4)


class CutOff(Exception):
    """The stream ends inside a quoted field: a truncated file, or a stray quote."""

    def __init__(self, size: int):
        super().__init__(size)
        self.size = size  # the bytes of the record it cut off


class Record(bytes):
    """A record's bytes, and how many fields ``csv`` will split it into: known from the
    cut, so a row of millions of tiny fields can be refused before it is split into as
    many Python strings (20 million of them took 1.75 GB)."""

    fields: int


def _record(data: bytes | bytearray, fields: int) -> Record:
    record = Record(data)
    record.fields = fields
    return record


def _find(buf: bytearray, needle: bytes, start: int) -> int:
    """Where ``needle`` next occurs in ``buf`` from ``start`` on, or the buffer's length."""
    at = buf.find(needle, start)
    return len(buf) if at < 0 else at


def _field_patterns(delimiter: bytes) -> tuple[bytes, bytes]:
    """Regexes of one whole field and the delimiter after it (as ``csv`` reads it: a quoted
    field, ``""`` a quote inside it, closed right before the delimiter; or an unquoted one,
    not starting with a quote), and of such a field whose quotes hold no delimiter or line
    break. Possessive throughout: a run of millions of them keeps no backtracking state."""
    d = re.escape(delimiter)
    unquoted = b'[^"' + d + rb"\r\n][^" + d + rb"\r\n]*+"
    field = b'(?:"[^"]*+(?:""[^"]*+)*+"|' + unquoted + b")?" + d
    plain = b'(?:"[^"' + d + rb'\r\n]*+(?:""[^"' + d + rb'\r\n]*+)*+"|' + unquoted + b")?" + d
    return field, plain


def csv_records(stream: BinaryIO, delimiter: bytes, limit: int) -> Iterator[Record | int]:
    """Each record's bytes (without its line break), or its size when it is longer than
    ``limit``. Raises CutOff after the last whole record when the stream ends inside a
    quoted field; read errors of the stream propagate as they are."""
    # Outside quotes only a line break, or a quote that opens a field (right after a
    # delimiter), changes the state: the delimiters before either are skipped and counted
    # in C (bytes.find, bytes.count), not a Python step each, so a row of 100 MB of commas
    # takes a second, not 30. Where the next \n, \r and opening quote are stays true until
    # the cut passes it, so each is searched for again only then (or once the buffer
    # changes: -1): a row of many quoted fields is scanned once, not once per field.
    opens = delimiter + b'"'
    field, plain = _field_patterns(delimiter)
    runs, plain_runs = re.compile(b"(?:" + field + b")++"), re.compile(b"(?:" + plain + b")++")
    one_field = re.compile(field)
    next_lf = next_cr = next_open = -1
    buf = bytearray()
    start = at = 0  # the record's first byte and the next byte to look at, in buf
    dropped = 0  # bytes of an over-long record already let go
    delimiters = 0  # of the record so far, outside quotes: it has one field more
    state = _START
    eof = False
    while True:
        if at >= len(buf):
            if eof:
                break
            # Past the limit, the record's bytes are let go; before it, they are kept.
            cut_from = at if dropped + at - start > limit else start
            dropped += cut_from - start
            del buf[:cut_from]
            at -= cut_from
            start = 0
            chunk = stream.read(CHUNK)
            eof = not chunk
            buf += chunk
            next_lf = next_cr = next_open = -1
            continue
        if state == _QUOTED:
            found = buf.find(b'"', at)
            if found < 0:
                at = len(buf)
                continue
            at, state = found + 1, _AFTER_QUOTE
            continue
        if state in (_START, _AFTER_QUOTE) and buf[at] == _QUOTE:
            run = runs.match(buf, at) if state == _START and delimiters >= RUN_AFTER else None
            if run is not None:
                # Where no quoted field holds a delimiter, each delimiter ends a field: counted
                # in C; else the fields are counted one match each (0.3 µs, not a few steps).
                end = run.end()
                simple = plain_runs.fullmatch(buf, at, end) is not None
                delimiters += buf.count(delimiter, at, end) if simple else sum(
                    1 for _ in one_field.finditer(buf, at, end))
                at = end
                continue
            at += 1
            state = _QUOTED
            continue
        if next_lf < at:
            next_lf = _find(buf, b"\n", at)
        if next_cr < at:
            next_cr = _find(buf, b"\r", at)
        if next_open < at:
            next_open = _find(buf, opens, at)
        end = min(next_lf, next_cr, next_open)
        delimiters += buf.count(delimiter, at, end)
        if end == len(buf):
            # The buffer ends outside quotes: at a field's start if its last byte is a delimiter.
            state = _START if buf[-1:] == delimiter else _FIELD
            at = end
            continue
        if buf[end] not in b"\r\n":  # a delimiter, then a quote that opens the next field (or a run)
            delimiters += 1
            at, state = end + 1, _START
            continue
        # A line break ends the record: \r\n is one break, so a \r waits for the next byte.
        at = end
        if buf[at] == _CR:
            if at + 1 >= len(buf) and not eof:
                more = stream.read(CHUNK)
                eof = not more
                buf += more
                next_lf = next_cr = next_open = -1
            if at + 1 < len(buf) and buf[at + 1] == _LF:
                at += 1
        at += 1
        size = dropped + end - start
        yield size if size > limit else _record(buf[start:end], delimiters + 1)
        start, dropped, delimiters, state = at, 0, 0, _START
    if state == _QUOTED or dropped or start < len(buf):
        size = dropped + len(buf) - start
        if state == _QUOTED:
            raise CutOff(size)
        yield size if size > limit else _record(buf[start:], delimiters + 1)
