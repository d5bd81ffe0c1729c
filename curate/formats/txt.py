"""``.txt``: a file is one document. Its payload is the file's bytes; they are decoded
in the workers (a byte order mark, ``--encoding``, UTF-8, UTF-16 told by its NULs, or a
detected legacy encoding) and every span indexes the raw file. A compressed one
(``.txt.gz``, ``.zst``, ``.bz2``, ``.xz``) is read the same way once decompressed: its
spans index the decompressed bytes, what ``zcat`` (``zstdcat``, ...) prints."""

from __future__ import annotations

import codecs
import io
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from curate.document import Line, Origin, Problem, RawDocument
from curate.errors import UsageError
from curate.formats.base import (
    SKIP_CHUNK,
    NotRegularFile,
    ReadOptions,
    empty_file_problem,
    open_input,
    unreadable_problem,
)
from curate.formats.compressed import compression_of, fault_wording, open_stream
from curate.formats.lines import (
    BYTES_BREAK,
    TEXT_BREAK,
    UTF16,
    line_bounds,
    split_decoded,
    too_long,
)

if TYPE_CHECKING:
    from curate.discover import InputFile

# A NUL in the first block of a file that is not UTF-16 means it is binary, whatever
# its extension says (the same test git and grep use).
BINARY_SNIFF_BYTES = 8192
UTF16_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}


class TxtReader:
    name = "txt"
    suffixes: tuple[str, ...] = (".txt",)
    compressed = True  # a compressed file's spans index its decompressed bytes

    def read(self, file: InputFile, options: ReadOptions) -> Iterator[RawDocument | Problem]:
        compressed = compression_of(file.path) is not None
        found = (_decompressed if compressed else _file_bytes)(file, options.max_doc_bytes)
        if isinstance(found, Problem):
            yield found
        elif not found:
            yield empty_file_problem(file.source)
        else:
            yield RawDocument(id=file.source, source=file.source, record_line=None, payload=found, size=len(found))


def _file_bytes(file: InputFile, limit: int) -> bytes | Problem:
    """A plain file's bytes, or why they are not read."""
    try:
        with open_input(file.path) as handle:
            # By seeking, which a file and an object in a store both answer (no descriptor there).
            size = handle.seek(0, os.SEEK_END)
            handle.seek(0)
            data = b"" if size > limit else handle.read(limit + 1)
            if size > limit or len(data) > limit:  # checked before reading, and again if it grew
                return _too_big_problem(file.source, limit, count_nonblank_lines(handle, data))
            return data
    except (NotRegularFile, OSError) as err:
        return unreadable_problem(file.source, err)


def _decompressed(file: InputFile, limit: int) -> bytes | Problem:
    """A compressed file's bytes, decompressed up to ``limit`` (its size is known only once
    read: a larger one is counted, in bounded memory, and skipped as a plain one is)."""
    try:
        with open_stream(file.path) as stream:
            pieces: list[bytes] = []
            size = 0
            # read1: what one decompressed buffer holds; read() would drop what it gathered on a fault.
            read = getattr(stream, "read1", stream.read)
            try:
                while size <= limit:  # in pieces: what came before a fault is counted
                    piece = read(min(SKIP_CHUNK, limit + 1 - size))
                    if not piece:
                        return b"".join(pieces)
                    pieces.append(piece)
                    size += len(piece)
                data = b"".join(pieces)
                return _too_big_problem(file.source, limit, count_nonblank_lines(stream, data))
            except Exception as err:  # noqa: BLE001 - EOFError, zlib.error, ZstdError, LZMAError, OSError: all faults of the stream
                # One document: its text cut off where the data is would pass for the whole page.
                problem, fix = fault_wording(file.path, str(err) or type(err).__name__)
                return Problem(file.source, None, problem, f"skipped; {fix}",
                               lines=_lines_before_a_break(b"".join(pieces)))
    except (NotRegularFile, OSError) as err:
        return unreadable_problem(file.source, err)


def _lines_before_a_break(head: bytes) -> int:
    """The lines a stream that broke off after ``head`` counts: its whole non-blank lines,
    and one for the line the break cut (docs/bad-input.md: a stream that breaks off
    counts as one line)."""
    ends = max(head.rfind(b"\n"), head.rfind(b"\r")) + 1
    return count_nonblank_lines(io.BytesIO(), head[:ends]) + 1


def _too_big_problem(source: str, limit: int, lines: int) -> Problem:
    return Problem(source, None, f"file larger than --max-doc-bytes ({limit:,} bytes)",
                   "skipped; raise --max-doc-bytes to read it, or split the file", lines=lines)


def count_nonblank_lines(handle: BinaryIO, head: bytes = b"") -> int:
    """Non-blank lines of a file too big to read, counted in bounded memory from ``head``
    (what was read already) and the rest of ``handle``."""
    count = 0
    content = False  # the current, unfinished line has something other than whitespace
    chunk = head
    while True:
        parts = BYTES_BREAK.split(chunk)
        for part in parts[:-1]:
            if content or part.strip():
                count += 1
            content = False
        content = content or bool(parts[-1].strip())
        chunk = handle.read(SKIP_CHUNK)
        if not chunk:
            return count + content


# -- encodings -------------------------------------------------------------------------------


def check_encoding(name: str) -> str:
    """The canonical name of an encoding --encoding may name, or UsageError."""
    if name == "auto":
        return name
    try:
        codec = codecs.lookup(name)
    except LookupError:
        raise UsageError(f"--encoding {name}: unknown encoding; use auto, or a name such as cp1252, "
                         "iso8859-1, shift_jis or utf-16-le") from None
    if codec.name in UTF16 or _ascii_compatible(codec.name):
        return codec.name
    raise UsageError(f"--encoding {name}: curate splits lines on ASCII line breaks, which {codec.name} does not "
                     "use; convert the files to UTF-8 (utf-16-le and utf-16-be are read too)")


def _ascii_compatible(encoding: str) -> bool:
    """Line breaks and ASCII letters are the same bytes as in ASCII, so a file can be cut
    into lines before it is decoded (UTF-7 spells some ASCII differently)."""
    sample = "\r\n azAZ09.,;:!?'\"()[]{}<>/\\-_+=*&%$#@~^`|"
    try:
        return encoding != "utf-7" and sample.encode(encoding) == sample.encode("ascii")
    except (UnicodeError, LookupError):
        return False


def utf16_by_nuls(data: bytes) -> str | None:
    """UTF-16 without a byte order mark, told by its NULs: text in Latin script puts a NUL
    in every other byte, the odd ones for little-endian, the even ones for big-endian."""
    head = data[:BINARY_SNIFF_BYTES]
    pairs = len(head) // 2
    if pairs == 0 or len(data) % 2:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if odd >= pairs * 0.3 and even <= pairs * 0.02:
        encoding = "utf-16-le"
    elif even >= pairs * 0.3 and odd <= pairs * 0.02:
        encoding = "utf-16-be"
    else:
        return None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    visible = [ch for ch in text[:BINARY_SNIFF_BYTES] if not ch.isspace()]
    # Text, not a binary that happens to decode: no NUL, and nearly every character printable.
    if "\x00" in text or len(visible) < 2 or sum(map(str.isprintable, visible)) < 0.95 * len(visible):
        return None
    return encoding


def detect_legacy_encoding(data: bytes) -> str | None:
    """The encoding of a file that is not UTF-8 and holds no UTF-8 at all, or None.

    charset-normalizer ranks the encodings that decode the bytes with the fewest
    oddities; among those about as good as the best, windows-1252 (the commonest legacy
    encoding of the web, and what browsers assume) wins, since on short Western text
    the ranking cannot tell it from its Central European and Baltic cousins."""
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        return None
    best = matches[0]
    for match in matches:
        if match.chaos <= best.chaos + 0.1 and "cp1252" in (match.encoding, *match.could_be_from_charset):
            return "cp1252"
    name = codecs.lookup(best.encoding).name
    return name if name != "utf-8" and _ascii_compatible(name) else None


# -- lines -----------------------------------------------------------------------------------


def split_file(doc: RawDocument, data: bytes, encoding: str, limit: int) -> tuple[list[Line], list[Problem], int, str]:
    """A file's bytes: a byte order mark decides their encoding; else --encoding, or with
    ``auto``: UTF-8 if it is, UTF-16 if its NULs say so, a detected legacy encoding if no
    line is UTF-8, and per-line UTF-8 (invalid lines quarantined) for a mix."""
    bom = UTF16_BOMS.get(data[:2])
    if bom is not None:
        return (*_split_utf16(doc, data, bom, 2, limit), bom)
    if encoding in UTF16:
        return (*_split_utf16(doc, data, encoding, 0, limit), encoding)
    if b"\x00" in data[:BINARY_SNIFF_BYTES]:
        wide = utf16_by_nuls(data) if encoding == "auto" else None
        if wide is not None:
            return (*_split_utf16(doc, data, wide, 0, limit), wide)
        count = sum(1 for part in BYTES_BREAK.split(data) if part.strip())
        return [], [Problem(doc.source, None, "binary file (NUL bytes in its first 8 KiB)",
                            "skipped; it is not text", lines=count)], count, "utf-8"
    if encoding != "auto":
        lines, problems, read, _, _ = _split_bytes(doc, data, encoding, limit)
        return lines, problems, read, encoding
    lines, problems, read, saw_utf8, undecodable = _split_bytes(doc, data, "utf-8", limit)
    if saw_utf8 or not undecodable:
        return lines, problems, read, "utf-8"
    legacy = detect_legacy_encoding(data)
    if legacy is None:
        return lines, problems, read, "utf-8"
    lines, problems, read, _, _ = _split_bytes(doc, data, legacy, limit)
    return lines, problems, read, legacy


def _split_utf16(doc: RawDocument, data: bytes, encoding: str, first_byte: int,
                 limit: int) -> tuple[list[Line], list[Problem], int]:
    """Spans count bytes of the UTF-16 file (2 per code unit, after the 2-byte mark if
    there is one), so they still cut the original bytes."""
    try:
        text = data[first_byte:].decode(encoding)
    except UnicodeDecodeError as err:
        # Counted as a valid file's lines are, on the text with the bad units replaced.
        text = data[first_byte:].decode(encoding, errors="replace")
        count = max(1, sum(1 for part in TEXT_BREAK.split(text) if part.strip()))
        return [], [Problem(doc.source, None,
                            f"invalid {encoding.upper()} ({err.reason} at byte {first_byte + err.start})",
                            "skipped; convert the file to UTF-8 (e.g. iconv -f utf-16 -t utf-8)", lines=count)], count
    return split_decoded(doc, text, encoding, first_byte=first_byte, record_line=None, limit=limit)


def _split_bytes(doc: RawDocument, data: bytes, encoding: str,
                 limit: int) -> tuple[list[Line], list[Problem], int, bool, int]:
    """Lines cut on byte line breaks, each decoded on its own (``encoding`` is ASCII
    compatible, so a break is a break in any of them): a line that does not decode is
    quarantined and the rest of the file is read. Also says whether any line decoded
    that is not plain ASCII (for UTF-8: the file holds real UTF-8), and how many lines
    did not decode."""
    lines: list[Line] = []
    problems: list[Problem] = []
    utf8 = encoding == "utf-8"
    start = 3 if utf8 and data.startswith(b"\xef\xbb\xbf") else 0  # the UTF-8 byte order mark is not text
    lineno = 1
    gap = False
    read = 0
    saw_non_ascii = False
    undecodable = 0
    for end, next_start in line_bounds(BYTES_BREAK, data, start):
        chunk = data[start:end]
        if limit and end - start > limit and chunk.strip():
            read += 1
            problems.append(too_long(doc, limit, lineno, start, end, chunk[:120].decode(encoding, "replace")))
            gap = False
        elif chunk.strip():
            try:
                raw = chunk.decode(encoding)
            except UnicodeDecodeError as err:
                read += 1
                undecodable += 1
                problems.append(_undecodable(doc, encoding, lineno, start, end, err, chunk))
                gap = False
            else:
                if raw.strip():
                    read += 1
                    saw_non_ascii = saw_non_ascii or not chunk.isascii()
                    lines.append(Line(len(lines), raw, raw, Origin(lineno, start, end), gap and bool(lines)))
                    gap = False
                else:
                    gap = True
        else:
            gap = True
        start = next_start
        lineno += 1
    return lines, problems, read, saw_non_ascii, undecodable


def _undecodable(doc: RawDocument, encoding: str, lineno: int, start: int, end: int,
                 err: UnicodeDecodeError, chunk: bytes) -> Problem:
    where = f"{err.reason} at byte {start + err.start}"
    if encoding == "utf-8":
        return Problem(doc.source, lineno, f"not valid UTF-8 ({where})",
                       "line skipped; convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)",
                       byte_start=start, byte_end=end, preview=chunk[:120].decode("utf-8", "replace"))
    return Problem(doc.source, lineno, f"not valid {encoding} ({where})",
                   "line skipped; convert the file to UTF-8, or name its encoding with --encoding",
                   byte_start=start, byte_end=end, preview=chunk[:120].decode(encoding, "replace"))
