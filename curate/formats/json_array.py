"""The elements of a JSON array read from a byte stream, one at a time, in bounded memory.

A ``.json`` file that is one array of records is what many scrapers write (Scrapy's
``-o items.json`` feed, ``json.dump(items, f)``), and it can be as large as any JSON lines
dump: parsing it whole would hold the file several times over as Python objects. So the
array is cut into its elements here without parsing them: only strings and brackets are
tracked, each element's bytes are handed out to be parsed on their own
(``jsonl.parse_record``), and an element larger than the limit is counted as it streams
by, never held. Parsing each cut element checks it fully, so the cut need not: a bracket
that closes the wrong kind of bracket ends up inside an element that does not parse.

tests/test_json_array.py checks the cut against ``json.loads`` of whole arrays.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

from curate.formats.compressed import UpToAFault

CHUNK = 1 << 20  # bytes read at a time
_WHITESPACE = b" \t\r\n"
_WHITESPACE_RUN = re.compile(rb"[ \t\r\n]*")
# A run of whitespace longer than this is passed in blocks of _BLOCK bytes by C calls:
# the regex alone takes about 3 ms per MB (a gigabyte of spaces between two elements
# took minutes a byte at a time).
_SHORT = 64
_BLOCK = 1 << 16
_OUTSIDE_STRINGS = re.compile(rb'[\[\]{}",]')  # what matters between strings
_INSIDE_STRING = re.compile(rb'[\\"]')  # what ends a string, or escapes its next byte
_BOM = b"\xef\xbb\xbf"


class ArrayBroken(Exception):
    """The bytes stop being the array: it breaks off (a truncated file), or something
    other than whitespace follows its end. ``element``: the element being read (1-based)."""

    def __init__(self, element: int, problem: str):
        super().__init__(problem)
        self.element = element
        self.problem = problem


class TrailingComma:
    """A comma after the last element (``[{...}, {...},]``), as JavaScript allows and JSON
    does not: said, though nothing is lost."""


class Gap(NamedTuple):
    """A run of whitespace before an element, of more bytes than the limit: passed over
    without being held, and said, as any other bomb is."""

    size: int


class _Bytes:
    """A stream read ahead into a buffer that forgets what was consumed."""

    def __init__(self, stream: BinaryIO):
        # UpToAFault: a stream cut off still gives the elements it decompressed before the cut.
        self.stream = UpToAFault(stream)
        self.buf = bytearray()
        self.at = 0  # next unread byte of buf
        self.gap = 0  # whitespace bytes the last next_token passed over

    def more(self) -> bool:
        """Read another chunk; False at the stream's end. Drops the consumed bytes first."""
        if self.at:
            del self.buf[:self.at]
            self.at = 0
        chunk = self.stream.read(CHUNK)
        self.buf += chunk
        return bool(chunk)

    def next_token(self) -> int | None:
        """The first byte that is not whitespace, consumed; None at the end. Counts the
        whitespace before it in ``gap``."""
        self.gap = 0
        while True:
            end = _whitespace_end(self.buf, self.at)
            self.gap += end - self.at
            self.at = end
            if self.at < len(self.buf):
                self.at += 1
                return self.buf[self.at - 1]
            if not self.more():
                return None


def _whitespace_end(buf: bytearray, at: int) -> int:
    """Where the run of JSON whitespace that starts at ``at`` ends (``len(buf)`` if it
    goes on past the buffer)."""
    end = _WHITESPACE_RUN.match(buf, at, at + _SHORT).end()  # type: ignore[union-attr]  # * always matches
    if end < at + _SHORT:
        return end  # nearly always: a space or a line break and an indent between elements
    while (block := buf[end:end + _BLOCK]) and _all_whitespace(block):
        end += len(block)
    return _WHITESPACE_RUN.match(buf, end).end()  # type: ignore[union-attr]  # within one block


def _all_whitespace(block: bytearray) -> bool:
    # isspace also takes vertical tab and form feed, which JSON does not.
    return block.isspace() and b"\x0b" not in block and b"\x0c" not in block


def starts_an_array(head: bytes) -> bool:
    """Does a stream beginning with these bytes hold a JSON array (after a BOM and
    whitespace)?"""
    return head.removeprefix(_BOM).lstrip(_WHITESPACE)[:1] == b"["


def array_elements(stream: BinaryIO, limit: int) -> Iterator[tuple[int, bytes | int | Gap | TrailingComma]]:
    """(element number, its bytes) for every element of the array the stream holds, or
    (element number, its size) for one of more than ``limit`` bytes, which is skipped (the
    size counts up to the ',' or ']' after it, whitespace before that included). Before
    an element preceded by more than ``limit`` bytes of whitespace: (its number, Gap).
    After the last element, if a comma follows it: (its number, TrailingComma()).
    Raises ArrayBroken where the bytes stop being an array, after the elements before it;
    read errors of the stream propagate as they are."""
    data = _Bytes(stream)
    data.more()
    if data.buf.startswith(_BOM):
        data.at = len(_BOM)
    if data.next_token() != ord("["):
        raise ArrayBroken(1, "not a JSON array")
    number = 0
    token = data.next_token()
    if token == ord("]"):
        return _only_whitespace_after(data, 1)
    while True:
        number += 1
        if token is None:
            raise ArrayBroken(number, "the array breaks off before its end (a truncated file?)")
        if data.gap > limit:
            yield number, Gap(data.gap)
        data.at -= 1  # the token is the element's first byte
        yield number, _element(data, limit, number)
        if data.next_token() == ord("]"):  # else the ',' the element ended at
            return _only_whitespace_after(data, number + 1)
        token = data.next_token()
        if token == ord("]"):
            yield number, TrailingComma()
            return _only_whitespace_after(data, number + 1)


def _element(data: _Bytes, limit: int, number: int) -> bytes | int:
    """The bytes of the element that starts at ``data.at``, up to the ',' or ']' that ends
    it (left unread), or its size if that is over ``limit``."""
    start = scan = data.at
    depth = 0
    in_string = False
    dropped = 0  # bytes of an over-long element already let go
    while True:
        found = (_INSIDE_STRING if in_string else _OUTSIDE_STRINGS).search(data.buf, scan)
        if found is None:
            scan = len(data.buf)
        else:
            at = found.start()
            byte = data.buf[at]
            scan = at + 1
            if in_string:
                if byte == 0x5C:  # backslash: the next byte is escaped, whatever it is
                    scan += 1
                else:
                    in_string = False
            elif byte == 0x22:
                in_string = True
            elif byte in b"[{":
                depth += 1
            elif depth:
                if byte in b"]}":
                    depth -= 1
            elif byte in b",]":  # the element ends before it
                size = dropped + at - start
                data.at = at
                return size if size > limit else bytes(data.buf[start:at]).rstrip(_WHITESPACE)
            if scan <= len(data.buf):
                continue
        # The buffer ends inside the element: past the limit, let its bytes go.
        if dropped + scan - start > limit:
            keep_from = min(scan, len(data.buf))
            dropped += keep_from - start
            data.at = start = keep_from
        else:
            data.at = start
        offset = data.at
        if not data.more():
            raise ArrayBroken(number, "the array breaks off inside this element (a truncated file?)")
        # more() dropped the bytes before data.at: every position moves down by that much.
        start -= offset
        scan -= offset


def _only_whitespace_after(data: _Bytes, number: int) -> None:
    if data.next_token() is not None:
        raise ArrayBroken(number, "text after the end of the array")
