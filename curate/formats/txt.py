"""``.txt``: a file is one document. Its payload is the file's bytes; they are decoded
in the workers (a byte order mark, ``--encoding``, UTF-8, UTF-16 told by its NULs, or a
detected legacy encoding) and every span indexes the raw file. A compressed one
(``.txt.gz``, ``.zst``, ``.bz2``, ``.xz``) is read the same way once decompressed: its
spans index the decompressed bytes, what ``zcat`` (``zstdcat``, ...) prints."""

from __future__ import annotations

import codecs
import functools
import itertools
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from curate.document import Line, Origin, Problem, RawDocument
from curate.errors import UsageError
from curate.formats import legacy_encoding
from curate.formats.base import (
    SKIP_CHUNK,
    NotRegularFile,
    ReadOptions,
    empty_file_problem,
    open_input,
    stop_on_machine_limit,
    unreadable_problem,
)
from curate.formats.compressed import compression_of, fault_wording, open_stream
from curate.formats.lines import (
    BYTES_BREAK,
    UTF16,
    LineCounter,
    count_nonblank,
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
        found = (_decompressed if compressed else _file_bytes)(file, options.max_doc_bytes, options.encoding)
        if isinstance(found, Problem):
            yield found
        elif not found:
            yield empty_file_problem(file.source)
        else:
            yield RawDocument(id=file.source, source=file.source, record_line=None, payload=found, size=len(found))


def _file_bytes(file: InputFile, limit: int, encoding: str) -> bytes | Problem:
    """A plain file's bytes, or why they are not read."""
    try:
        with open_input(file.path) as handle:
            # By seeking, which a file and an object in a store both answer (no descriptor there).
            size = handle.seek(0, os.SEEK_END)
            handle.seek(0)
            data = b"" if size > limit else handle.read(limit + 1)
            if size > limit or len(data) > limit:  # checked before reading, and again if it grew
                return _too_big_problem(file.source, limit, count_nonblank_lines(data, handle, encoding))
            return data
    except (NotRegularFile, OSError) as err:
        return unreadable_problem(file.source, err)


def _decompressed(file: InputFile, limit: int, encoding: str) -> bytes | Problem:
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
                return _too_big_problem(file.source, limit, count_nonblank_lines(data, stream, encoding))
            except Exception as err:  # noqa: BLE001 - EOFError, zlib.error, ZstdError, LZMAError, OSError: all faults of the stream
                stop_on_machine_limit(file.source, err)
                # One document: its text cut off where the data is would pass for the whole page.
                problem, fix = fault_wording(file.path, str(err) or type(err).__name__)
                return Problem(file.source, None, problem, f"skipped; {fix}",
                               lines=_lines_before_a_break(b"".join(pieces), encoding))
    except (NotRegularFile, OSError) as err:
        return unreadable_problem(file.source, err)


def _lines_before_a_break(head: bytes, encoding: str) -> int:
    """The lines a stream that broke off after ``head`` counts: its whole non-blank lines,
    and one for the line the break cut (docs/bad-input.md: a stream that breaks off
    counts as one line)."""
    return _counted(head, None, encoding, whole=False).lines + 1


def _too_big_problem(source: str, limit: int, lines: int) -> Problem:
    return Problem(source, None, f"file larger than --max-doc-bytes ({limit:,} bytes)",
                   "skipped; raise --max-doc-bytes to read it, or split the file", lines=lines)


def count_nonblank_lines(head: bytes, rest: BinaryIO | None, encoding: str) -> int:
    """The non-blank lines (curate.formats.lines: blank is decided on the decoded text) a
    read of the whole file would count (split_file: ``read``), for a file that is not
    split into lines: ``head`` (the bytes read already) and the rest of ``rest``, decoded
    a piece at a time in bounded memory. ``encoding``: --encoding.

    The encoding is chosen as split_file chooses it, from the head (its first MiB at
    least): exactly, when that is the whole file. A longer one is told by its head: a
    file whose NULs say UTF-16 and that turns out not to be (a unit that does not decode,
    a NUL, an odd length) is counted as a binary file, as split_file would count it; but
    whether a file is UTF-8 or a legacy encoding is told by its head alone."""
    return _counted(head, rest, encoding).total()


HEAD_BYTES = 1 << 20  # at least this much of a file tells its encoding when it is counted


def _counted(head: bytes, rest: BinaryIO | None, encoding: str, whole: bool = True) -> LineCounter:
    """``whole``: the file ends where ``rest`` does (False: a stream that broke off, whose
    last bytes may be part of a character)."""
    if rest is not None and len(head) < HEAD_BYTES:
        head += rest.read(HEAD_BYTES - len(head))
    after = rest.read(SKIP_CHUNK) if rest is not None else b""
    complete = whole and not after
    more = itertools.chain([after] if after else [],
                           iter(functools.partial(rest.read, SKIP_CHUNK), b"") if after and rest is not None else [])
    # A head is sniffed in its first MiB: the count that follows decodes all of it anyway.
    how = _wide_or_binary(head if complete else head[:HEAD_BYTES], encoding, complete)
    if how is None:  # ASCII-compatible text, each line decoded on its own by a read (_split_bytes)
        if encoding == "auto":
            return _utf8_or_legacy_count(head, more, complete, whole)
        how = ("bytes", encoding, _utf8_bom(head, encoding))
    kind, name, first = how
    # A UTF-16 told by its NULs is read as one only if it all decodes, to the end, with no
    # NUL: else split_file quarantines it as binary, counted as such. Both are counted
    # until it is known (in one pass: the file may be a stream).
    counts = [_DecodedLines(name, strict=kind == "sniffed", nul_fails=kind == "sniffed")]
    if kind == "sniffed":
        counts.append(_DecodedLines(_BINARY_LINES))
    for piece in itertools.chain(_pieces(head, first), more):
        for count in counts:
            count.feed(piece)
        counts = [count for count in counts if not count.failed]
    for count in counts:
        count.feed(b"", final=whole)
    return next(count for count in counts if not count.failed).counter


def _utf8_or_legacy_count(head: bytes, more: Iterator[bytes], complete: bool, whole: bool) -> LineCounter:
    """The count of an ASCII-compatible file read with --encoding auto. UTF-8 is tried
    first, strictly, so that a file of UTF-8 is decoded once: only a head that is not
    UTF-8 asks how split_file would read it (_legacy_or_utf8), and is counted again."""
    count = _DecodedLines("utf-8", strict=True)
    for piece in itertools.chain(_pieces(head, _utf8_bom(head, "utf-8")), [b""]):
        count.feed(piece, final=complete and not piece)
        if count.failed:
            count = _DecodedLines(_legacy_or_utf8(head, complete))
            more = itertools.chain(_pieces(head, _utf8_bom(head, count.encoding)), more)
            break
    else:
        # The head is UTF-8, so the file is read as UTF-8: a line past it that does not
        # decode is not blank, as the read would quarantine it.
        count.decoder.errors = "replace"
    for piece in more:
        count.feed(piece)
    count.feed(b"", final=whole)
    return count.counter


def _pieces(head: bytes, first: int) -> Iterator[bytes]:
    return (head[at:at + SKIP_CHUNK] for at in range(first, len(head), SKIP_CHUNK))


def _utf8_bom(head: bytes, encoding: str) -> int:
    """Where the text starts: after a UTF-8 byte order mark, which a UTF-8 read leaves out."""
    return 3 if encoding == "utf-8" and head.startswith(codecs.BOM_UTF8) else 0


_BINARY_LINES = "utf-8"  # a binary file's lines are told blank or not as UTF-8 text's (or --encoding's)


class _DecodedLines:
    """Lines of bytes decoded as they come: leniently (a unit that does not decode is a
    replacement character, not blank), or ``strict``ly, ``failed`` once a unit does not
    decode, or with ``nul_fails`` a NUL shows (the test utf16_by_nuls makes of a whole file)."""

    def __init__(self, encoding: str, strict: bool = False, nul_fails: bool = False):
        self.encoding = encoding
        self.decoder = codecs.getincrementaldecoder(encoding)("strict" if strict else "replace")
        self.nul_fails = nul_fails
        self.counter = LineCounter()
        self.failed = False

    def feed(self, data: bytes, final: bool = False) -> None:
        try:
            text = self.decoder.decode(data, final)
        except UnicodeDecodeError:
            self.failed = True
            return
        if self.nul_fails and "\x00" in text:
            self.failed = True
            return
        self.counter.feed(text)


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
    if codec.name in UTF16 or legacy_encoding.ascii_compatible(codec.name):
        return codec.name
    raise UsageError(f"--encoding {name}: curate splits lines on ASCII line breaks, which {codec.name} does not "
                     "use; convert the files to UTF-8 (utf-16-le and utf-16-be are read too)")


def utf16_by_nuls(data: bytes, complete: bool = True) -> str | None:
    """UTF-16 without a byte order mark, told by its NULs: text in Latin script puts a NUL
    in every other byte, the odd ones for little-endian, the even ones for big-endian.
    ``complete`` False: ``data`` is a file's head, which may end in a cut unit."""
    head = data[:BINARY_SNIFF_BYTES]
    pairs = len(head) // 2
    if pairs == 0 or (complete and len(data) % 2):
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if odd >= pairs * 0.3 and even <= pairs * 0.02:
        encoding = "utf-16-le"
    elif even >= pairs * 0.3 and odd <= pairs * 0.02:
        encoding = "utf-16-be"
    else:
        return None
    try:
        text = codecs.getincrementaldecoder(encoding)().decode(data, final=complete)
    except UnicodeDecodeError:
        return None
    visible = [ch for ch in text[:BINARY_SNIFF_BYTES] if not ch.isspace()]
    # Text, not a binary that happens to decode: no NUL, and nearly every character printable.
    if "\x00" in text or len(visible) < 2 or sum(map(str.isprintable, visible)) < 0.95 * len(visible):
        return None
    return encoding


def detect_legacy_encoding(data: bytes) -> str | None:
    """The encoding of a file that is not UTF-8 and holds no UTF-8 at all, or None
    (curate.formats.legacy_encoding: charset-normalizer's candidates and the web's common
    code pages, judged on the whole file by the characters a real text would hardly hold;
    windows-1252, what browsers assume, wins a tie)."""
    return legacy_encoding.detect(data)


# -- lines -----------------------------------------------------------------------------------


def split_file(doc: RawDocument, data: bytes, encoding: str, limit: int) -> tuple[list[Line], list[Problem], int, str]:
    """A file's bytes: a byte order mark decides their encoding; else --encoding, or with
    ``auto``: UTF-8 if it is, UTF-16 if its NULs say so, a detected legacy encoding if no
    line is UTF-8, and per-line UTF-8 (invalid lines quarantined) for a mix."""
    how = _wide_or_binary(data, encoding)
    if how is not None:
        kind, name, first = how
        if kind != "binary":
            return (*_split_utf16(doc, data, name, first, limit), name)
        count = count_nonblank_lines(data, None, encoding)
        return [], [Problem(doc.source, None, "binary file (NUL bytes in its first 8 KiB)",
                            "skipped; it is not text", lines=count)], count, "utf-8"
    if encoding != "auto":
        lines, problems, read, _, _ = _split_bytes(doc, data, encoding, limit, named=True)
        return lines, problems, read, encoding
    lines, problems, read, saw_utf8, undecodable = _split_bytes(doc, data, "utf-8", limit)
    if saw_utf8 or not undecodable:
        return lines, problems, read, "utf-8"
    legacy = detect_legacy_encoding(data)
    if legacy is None:
        return lines, problems, read, "utf-8"
    lines, problems, read, _, _ = _split_bytes(doc, data, legacy, limit)
    return lines, problems, read, legacy


def _wide_or_binary(data: bytes, encoding: str, complete: bool = True) -> tuple[str, str, int] | None:
    """How split_file reads a file that is not read line by line in an ASCII-compatible
    encoding, told from its first bytes (``data``: all of them, or with ``complete`` False
    a head): ("utf16", encoding, first byte) for a byte order mark or --encoding utf-16-*,
    ("sniffed", encoding, 0) for UTF-16 told by its NULs, ("binary", the encoding its lines
    are decoded in to count them, 0) for NULs that are not UTF-16; else None."""
    bom = UTF16_BOMS.get(data[:2])
    if bom is not None:
        return "utf16", bom, 2
    if encoding in UTF16:
        return "utf16", encoding, 0
    if b"\x00" not in data[:BINARY_SNIFF_BYTES]:
        return None
    wide = utf16_by_nuls(data, complete) if encoding == "auto" else None
    if wide is not None:
        return "sniffed", wide, 0
    return "binary", _BINARY_LINES if encoding == "auto" else encoding, 0


def _legacy_or_utf8(head: bytes, complete: bool) -> str:
    """The encoding split_file reads an ASCII-compatible file in with --encoding auto,
    from its first bytes (all of them, or a head) when they are not all UTF-8: UTF-8
    still, unless no line is UTF-8 beyond ASCII and some line does not decode, and a
    legacy encoding is detected (as split_file decides from _split_bytes' answers)."""
    if not complete:  # whole lines only: the last may be cut in a character
        head = head[:max(head.rfind(b"\n"), head.rfind(b"\r")) + 1]
    undecodable = False
    for line in BYTES_BREAK.split(head[3:] if head.startswith(codecs.BOM_UTF8) else head):
        if line.isascii():
            continue
        try:
            if line.decode("utf-8").strip():  # as _split_bytes's saw_non_ascii
                return "utf-8"
        except UnicodeDecodeError:
            undecodable = True
    return (detect_legacy_encoding(head) if undecodable else None) or "utf-8"


def _split_utf16(doc: RawDocument, data: bytes, encoding: str, first_byte: int,
                 limit: int) -> tuple[list[Line], list[Problem], int]:
    """Spans count bytes of the UTF-16 file (2 per code unit, after the 2-byte mark if
    there is one), so they still cut the original bytes."""
    try:
        text = data[first_byte:].decode(encoding)
    except UnicodeDecodeError as err:
        # Counted as a valid file's lines are, on the text with the bad units replaced.
        text = data[first_byte:].decode(encoding, errors="replace")
        count = max(1, count_nonblank(text))
        return [], [Problem(doc.source, None,
                            f"invalid {encoding.upper()} ({err.reason} at byte {first_byte + err.start})",
                            "skipped; convert the file to UTF-8 (e.g. iconv -f utf-16 -t utf-8)", lines=count)], count
    return split_decoded(doc, text, encoding, first_byte=first_byte, record_line=None, limit=limit)


def _split_bytes(doc: RawDocument, data: bytes, encoding: str, limit: int,
                 named: bool = False) -> tuple[list[Line], list[Problem], int, bool, int]:
    """Lines cut on byte line breaks, each decoded on its own (``encoding`` is ASCII
    compatible, so a break is a break in any of them): a line that does not decode is
    quarantined and the rest of the file is read. Also says whether any line decoded
    that is not plain ASCII (for UTF-8: the file holds real UTF-8), and how many lines
    did not decode. ``named``: the encoding is --encoding's, not auto's choice."""
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
        if not chunk.strip():
            gap = True
        else:
            # Decoded even when too long to keep: whether it is blank (a line of no-break
            # spaces is), and the encoding split_file chooses, do not depend on the limit.
            try:
                raw: str | None = chunk.decode(encoding)
            except UnicodeDecodeError as err:
                raw, error = None, err
                undecodable += 1
            if raw is not None and not raw.strip():
                gap = True
            else:
                read += 1
                if raw is not None:
                    saw_non_ascii = saw_non_ascii or not chunk.isascii()
                if limit and end - start > limit:
                    problems.append(too_long(doc, limit, lineno, start, end, chunk[:120].decode(encoding, "replace")))
                elif raw is None:
                    problems.append(_undecodable(doc, encoding, lineno, start, end, error, chunk, named))
                else:
                    lines.append(Line(len(lines), raw, raw, Origin(lineno, start, end), gap and bool(lines)))
                gap = False
        start = next_start
        lineno += 1
    return lines, problems, read, saw_non_ascii, undecodable


# --encoding utf-8 on a file in another encoding: auto tells a legacy one (cp1252, ...) from
# a file with no UTF-8 in it. iconv -f latin1 is no advice here: it makes cp1252's quotes
# and dashes (0x80-0x9F) C1 controls.
NAMED_UTF8_FIX = ("line skipped; if the file is in another encoding, read it with --encoding auto (which tells "
                  "cp1252 and other legacy encodings) or name it (e.g. --encoding cp1252)")


def _undecodable(doc: RawDocument, encoding: str, lineno: int, start: int, end: int,
                 err: UnicodeDecodeError, chunk: bytes, named: bool = False) -> Problem:
    where = f"{err.reason} at byte {start + err.start}"
    if encoding == "utf-8":
        return Problem(doc.source, lineno, f"not valid UTF-8 ({where})",
                       NAMED_UTF8_FIX if named else "line skipped; convert the file to UTF-8 (e.g. iconv -f latin1 -t "
                       "utf-8)",
                       byte_start=start, byte_end=end, preview=chunk[:120].decode("utf-8", "replace"))
    return Problem(doc.source, lineno, f"not valid {encoding} ({where})",
                   "line skipped; convert the file to UTF-8, or name its encoding with --encoding",
                   byte_start=start, byte_end=end, preview=chunk[:120].decode(encoding, "replace"))
