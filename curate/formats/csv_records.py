"""The records of a CSV (or TSV) byte stream, one at a time, in bounded memory.

Python's ``csv`` module reads a file line by line and holds a record whole, however long:
one stray quote makes the rest of a file one field, and a line without a newline is read
whole before the module sees it. So records are cut here, where a record ends, without
splitting fields: the cut follows the ``csv`` module's own reading of quotes (its
default dialect: a quote opens a quoted field only as a field's first character, ``""``
inside one is a quote, a newline inside one is part of the field, and a record ends at
``\\n``, ``\\r\\n`` or a lone ``\\r`` outside quotes). Each cut record is then parsed by
``csv`` itself; a record longer than the limit is counted as it streams by, never held.

The bytes are UTF-8 (or ASCII), whose quote, delimiter and line-break bytes never occur
inside a multi-byte character. tests/test_csv_records.py checks the cut against
``csv.reader`` over whole texts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

CHUNK = 1 << 20  # bytes read at a time
_QUOTE, _CR, _LF = 0x22, 0x0D, 0x0A

# The cut's states: at a field's start, inside an unquoted field, inside a quoted one, and
# just after a quote inside a quoted one (a second quote, or the field's end).
_START, _FIELD, _QUOTED, _AFTER_QUOTE = range(4)


class CutOff(Exception):
    """The stream ends inside a quoted field: a truncated file, or a stray quote."""

    def __init__(self, size: int):
        super().__init__(size)
        self.size = size  # the bytes of the record it cut off


def csv_records(stream: BinaryIO, delimiter: bytes, limit: int) -> Iterator[bytes | int]:
    """Each record's bytes (without its line break), or its size when it is longer than
    ``limit``. Raises CutOff after the last whole record when the stream ends inside a
    quoted field; read errors of the stream propagate as they are."""
    stops = re.compile(b"[" + re.escape(delimiter) + rb"\r\n]")
    quote = re.compile(b'"')
    breaks = delimiter + b"\r\n"  # what ends a field
    buf = bytearray()
    start = at = 0  # the record's first byte and the next byte to look at, in buf
    dropped = 0  # bytes of an over-long record already let go
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
            continue
        if state == _QUOTED:
            found = quote.search(buf, at)
            if found is None:
                at = len(buf)
                continue
            at, state = found.end(), _AFTER_QUOTE
            continue
        byte = buf[at]
        if state in (_START, _AFTER_QUOTE) and byte == _QUOTE:
            at += 1
            state = _QUOTED
            continue
        if state == _FIELD or byte not in breaks:
            found = stops.search(buf, at)
            state = _FIELD
            if found is None:
                at = len(buf)
                continue
            at = found.start()
            byte = buf[at]
        if byte in delimiter:
            at += 1
            state = _START
            continue
        # A line break ends the record: \r\n is one break, so a \r waits for the next byte.
        end = at
        if byte == _CR:
            if at + 1 >= len(buf) and not eof:
                more = stream.read(CHUNK)
                eof = not more
                buf += more
            if at + 1 < len(buf) and buf[at + 1] == _LF:
                at += 1
        at += 1
        size = dropped + end - start
        yield size if size > limit else bytes(buf[start:end])
        start, dropped, state = at, 0, _START
    if state == _QUOTED or dropped or start < len(buf):
        size = dropped + len(buf) - start
        if state == _QUOTED:
            raise CutOff(size)
        yield size if size > limit else bytes(buf[start:])
