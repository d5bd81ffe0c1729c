"""``.csv`` and ``.tsv`` (each also compressed): one document per row, under a header row.

The text is the column ``--text-field`` names; an ``id`` column gives the document's id
as JSONL's ``id`` field does, and every other column goes to the document's metadata as
the string it is (CSV has no types: an empty cell is ``""``). A ``.csv`` file is split
at commas, a ``.tsv`` file at tabs (and ``--format csv`` reads any name at commas), with
the quoting of Python's ``csv`` module: a field may be quoted, a quoted field may hold
delimiters, line breaks and doubled quotes. A header with none of that delimiter (one
column) and not naming the text column is split at the others in turn (``,``, ``;``, tab,
``|``): the first that gives a column of the text field's name is the file's delimiter
(European Excel saves "CSV" at semicolons), and the file is read again from its header at
it; the choice depends on the header and --text-field alone, so it is the same on every
machine. The bytes before the header (and the header) are kept for that, at most
--max-doc-bytes and a few MiB, and let go once the header is read. The bytes are UTF-8 (a byte order mark is
skipped), or UTF-16 with a byte order mark (what spreadsheet programs call "Unicode
text"), read as UTF-8.

Provenance: a row's ``line`` is its 1-based number among the data rows (the header is
not counted; a row may span several lines of the file, so a line number would not name
it), and each line's span indexes the UTF-8 of the row's text value (``"bytes_of":
"text_field"``), as for a Parquet row. Blank lines between rows are not rows.

Records are cut in bounded memory (``csv_records.py``): a row longer than
``--max-doc-bytes`` is counted and skipped, never held, and a stray quote costs the rows
it swallows, never the process.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO, cast

from curate.document import Problem, RawDocument
from curate.formats.base import (
    NotRegularFile,
    ReadOptions,
    empty_file_problem,
    names_a_document,
    stop_on_machine_limit,
    unreadable_problem,
)
from curate.formats.compressed import UpToAFault, compression_of, fault_wording, open_stream
from curate.formats.csv_records import CHUNK, CutOff, Record, csv_records
from curate.formats.wide import decode_up_to_a_fault
from curate.storage import base_name

if TYPE_CHECKING:
    from curate.discover import InputFile

_UTF8_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# Columns a header may name: spreadsheets stop at 16,384; far more is not a table of
# documents but a dump, and each name is a Python string held for the whole file.
MAX_COLUMNS = 100_000


class CsvReader:
    name = "csv"
    suffixes: tuple[str, ...] = (".csv", ".tsv")
    compressed = True

    def read(self, file: InputFile, options: ReadOptions) -> Iterator[RawDocument | Problem]:
        try:
            with open_stream(file.path) as raw:
                yield from _rows(file, raw, options)
        except (NotRegularFile, OSError) as err:
            yield unreadable_problem(file.source, err)


def delimiter_of(file: InputFile) -> bytes:
    name = base_name(file.path).lower().removesuffix(compression_of(file.path) or "")
    return b"\t" if name.endswith(".tsv") else b","


def _rows(file: InputFile, raw_stream: BinaryIO, options: ReadOptions) -> Iterator[RawDocument | Problem]:
    source, field = file.source, options.text_field
    limit = options.max_doc_bytes
    _allow_fields(limit)
    delimiter = delimiter_of(file)
    header: list[str] | None = None
    head: _Recording | None = None
    row = 0  # data rows so far
    read_any = False
    try:
        # The first bytes are read here, inside the try: a stream that fails at once (garbage
        # named .xz, a gzip cut in its header, a UTF-16 file whose first character is invalid)
        # is a problem of this file like one that fails later, never an error of the run.
        # UpToAFault: a stream cut off still gives the rows it decompressed before the cut.
        head = _Recording(_as_utf8(cast(BinaryIO, UpToAFault(raw_stream))), limit + 4 * CHUNK)
        records = csv_records(cast(BinaryIO, head), delimiter, limit)
        while (raw := next(records, None)) is not None:  # not a for: the header may start a new cut
            read_any = True
            if header is None:
                if isinstance(raw, int):
                    yield Problem(source, None, f"a header row of {raw:,} bytes, over --max-doc-bytes ({limit:,})",
                                  "skipped; is this a CSV file? (--format names how a file is read)", lines=1)
                    return
                found = _header(raw, delimiter, field)
                if found == []:
                    continue  # blank lines before the header
                if isinstance(found, bytes):  # split at another delimiter, the header names the field
                    # Cut again from the header on: a quote after that delimiter opens a field.
                    delimiter, records = found, csv_records(head.again(), found, limit)
                    continue
                head.stop()
                if isinstance(found, tuple):
                    rows = sum(1 for more in records if more)  # the rest of the file's, not a new cut's
                    yield Problem(source, None, found[0], f"skipped; {found[1]}", lines=rows)
                    return
                header = found
                continue
            if not raw:
                continue  # a blank line: no row
            row += 1
            yield _document(source, row, raw, header, field, delimiter, limit)
    except CutOff as cut:
        what = "row" if header is not None else "header row"
        yield Problem(source, row + 1 if header is not None else None,
                      f"the file ends inside a quoted field ({cut.size:,} bytes of a {what}): a truncated file, or "
                      "a stray quote that opened a field no quote closes",
                      f"the {what} is skipped, the rows before it are kept; fix the quoting or re-download the file")
        return
    except InvalidUtf16 as err:
        lost = f"rows after row {row:,} are lost" if row else "no row could be read"
        yield Problem(source, row + 1, str(err), f"{lost}; {UTF16_FIX}")
        return
    except Exception as err:  # noqa: BLE001 - OSError, zlib.error, ZstdError, LZMAError, EOFError: the stream's
        stop_on_machine_limit(source, err)
        problem, fix = fault_wording(file.path, str(err) or type(err).__name__)
        lost = f"rows after row {row:,} are lost" if row else "no row could be read"
        yield Problem(source, row + 1, problem, f"{lost}; {fix}")
        return
    if not read_any:
        yield empty_file_problem(source)
    elif header is None:
        yield Problem(source, None, "no header row: the file holds only blank lines", "skipped; nothing to read",
                      lines=0)
    elif row == 0:
        yield Problem(source, None, "no rows: the file holds a header only", "skipped; nothing to read", lines=0)


# The delimiters a header of one column is split at, in this order, when it does not name
# the text column: the other one of .csv and .tsv, Excel's ";" where "," is the decimal
# separator, and "|" of database exports.
DELIMITERS = (b",", b";", b"\t", b"|")
_SHOWN = {b",": "','", b";": "';'", b"\t": "tab", b"|": "'|'"}


def _header(raw: Record, delimiter: bytes, field: str) -> list[str] | tuple[str, str] | bytes:
    """The column names of a header row ([] for a blank line), or (problem, what to do), or
    the delimiter other than ``delimiter`` the file is read at (see the module's doc)."""
    if raw.fields > MAX_COLUMNS:  # counted by the cut: not split into millions of names first
        return (f"a header row of {raw.fields:,} columns, more than curate reads ({MAX_COLUMNS:,})",
                "is this a CSV file? (--format names how a file is read)")
    try:
        text = raw.decode("utf-8")
        names = _split(text, delimiter)
        if len(names) == 1 and field not in names:
            found = _other_delimiter(text, delimiter, field)
            if isinstance(found, bytes):
                return found
            if found is not None:
                other, split = found
                return (f"no column {field!r} (columns: {', '.join(split)}; the header has no "
                        f"{_SHOWN[delimiter]} and is split at {_SHOWN[other]})",
                        "choose the text column with --text-field")
    except UnicodeDecodeError:
        return "the header row is not valid UTF-8", "convert the file to UTF-8 (iconv -f ENCODING -t utf-8)"
    except csv.Error as err:  # a cell past the limit _allow_fields can set: the header's fault, not the stream's
        return (f"the header row cannot be split into fields ({err})",
                "is this a CSV file? (--format names how a file is read)")
    return _header_problem(names, field) or names


def _other_delimiter(text: str, delimiter: bytes, field: str) -> bytes | tuple[bytes, list[str]] | None:
    """The first of the other DELIMITERS at which the header ``text`` (one column at
    ``delimiter``) names ``field``; else the one that splits it into the most columns, and
    them (the first of a tie), to say how it was read; None if none splits it."""
    best: tuple[bytes, list[str]] | None = None
    for other in DELIMITERS:
        if other == delimiter or other.decode("ascii") not in text:
            continue
        names = _split(text, other)
        if field in names:
            return other
        if len(names) > 1 and (best is None or len(names) > len(best[1])):
            best = (other, names)
    return best


def _header_problem(header: list[str], field: str) -> tuple[str, str] | None:
    """(problem, what to do) when the header row cannot name the columns, else None."""
    if not header:
        return None  # a blank line before the header
    if field not in header:
        return f"no column {field!r} (columns: {', '.join(header)})", "choose the text column with --text-field"
    twice = sorted(name for name, times in Counter(header).items() if times > 1)  # header.count: n² steps
    if twice:
        return (f"the header names {', '.join(repr(name) for name in twice)} more than once",
                "give each column its own name")
    return None


# The most csv.field_size_limit takes on every platform (a C long: 32 bits on Windows).
_MOST_FIELD = (1 << 31) - 1


def _allow_fields(limit: int) -> None:
    """csv's field size limit raised to ``limit`` (--max-doc-bytes) before a file is read:
    its default, 131,072 characters, raised csv.Error on a longer cell, which ended the
    file as a fault of its stream, the rows after it lost uncounted. The cut never hands
    csv a record over ``limit`` bytes (it is counted and skipped), so no cell of one is
    longer, in characters, than a document may be. The limit is the process's own (csv
    has no other); it is only ever raised, and only this reader's records meet it."""
    wanted = min(limit, _MOST_FIELD)
    if csv.field_size_limit() < wanted:
        csv.field_size_limit(wanted)


def _split(text: str, delimiter: bytes) -> list[str]:
    """The fields of one cut record."""
    rows = list(csv.reader([text], delimiter=delimiter.decode("ascii")))
    return rows[0] if rows else []


def _document(source: str, row: int, raw: Record | int, header: list[str], field: str, delimiter: bytes,
              limit: int) -> RawDocument | Problem:
    if isinstance(raw, int):
        return Problem(source, row, f"row of {raw:,} bytes is larger than --max-doc-bytes ({limit:,} bytes)",
                       "row skipped; raise --max-doc-bytes to read it, or split the row")
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return Problem(source, row, f"row is not valid UTF-8 ({err.reason} at byte {err.start})",
                       "row skipped; convert the file to UTF-8 (iconv -f cp1252 -t utf-8, or the encoding it is in)",
                       preview=raw[:120].decode("utf-8", "replace"))
    # The cut's count first: a row of 20 million tiny fields is refused before it is split
    # (csv's own count is checked too, so that a miscount can cost a row, not the run).
    try:
        values = _split(decoded, delimiter) if raw.fields == len(header) else []
    except csv.Error as err:  # a cell past the limit _allow_fields can set: this row's fault, not the stream's
        return Problem(source, row, f"row cannot be split into fields ({err})",
                       f"row skipped; split its cells (csv reads at most {_MOST_FIELD:,} characters a cell)",
                       preview=raw[:120].decode("utf-8", "replace"))
    if len(values) != len(header):
        fields = len(values) if values else raw.fields
        return Problem(source, row, f"row has {fields:,} fields where the header has {len(header):,}",
                       "row skipped; check this row's quoting and delimiters",
                       preview=raw[:120].decode("utf-8", "replace"))
    record = dict(zip(header, values, strict=True))
    text = record.pop(field)
    rid = record.pop("id", None)
    doc_id = rid if rid is not None and names_a_document(rid) else f"{source}:{row}"
    if rid is not None and doc_id is not rid:  # refused: "" names nothing, a long id costs too much
        record["id"] = rid  # kept as the other cells are (names_a_document)
    return RawDocument(id=doc_id, source=source, record_line=row, payload=text, size=len(raw),
                       metadata=record or None)


def _as_utf8(stream: BinaryIO) -> BinaryIO:
    """The stream, read as UTF-8: a UTF-8 byte order mark skipped, UTF-16 (with its mark)
    transcoded as it is read."""
    head = stream.read(4)
    if head.startswith(_UTF16_BOMS):
        return cast(BinaryIO, _Utf16AsUtf8(stream, head))
    return cast(BinaryIO, _Prefixed(head.removeprefix(_UTF8_BOM), stream))


class _Prefixed(io.RawIOBase):
    """Bytes already read, then the rest of the stream."""

    def __init__(self, head: bytes, stream: BinaryIO):
        self.head, self.stream = head, stream

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.head:
            data, self.head = self.head, b""
            return data
        return self.stream.read(size)


class _Recording(io.RawIOBase):
    """A stream whose bytes are kept from the first that is not a line break (blank lines
    before the header are no rows) until ``stop``, at most ``most`` of them: ``again``
    reads the kept bytes and then the rest, so that the header row is cut once more at the
    delimiter it names the text column at."""

    def __init__(self, stream: BinaryIO, most: int):
        self.stream, self.most = stream, most
        self.kept: bytearray | None = bytearray()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        if self.kept is not None:
            self.kept += data if self.kept else data.lstrip(b"\r\n")
            if len(self.kept) > self.most:  # a header over --max-doc-bytes: skipped, never read again
                self.kept = None
        return data

    def stop(self) -> None:
        self.kept = None

    def again(self) -> BinaryIO:
        """The kept bytes, then the rest of the stream; nothing kept any longer."""
        kept, self.kept = self.kept, None
        if kept is None:  # cannot be: the header is read again only when it was under the limit
            raise AssertionError("the header row was not kept")
        return cast(BinaryIO, _Prefixed(bytes(kept), self.stream))


class InvalidUtf16(ValueError):
    """A UTF-16 file holds bytes that are not UTF-16 (a lone surrogate, an odd byte at the end)."""


UTF16_FIX = "convert the file to UTF-8 (e.g. iconv -f utf-16 -t utf-8)"  # what the .txt reader says too


class _Utf16AsUtf8(_Prefixed):
    """UTF-16 transcoded to UTF-8 as it is read. Invalid UTF-16 raises InvalidUtf16, in the
    .txt reader's words and with the byte where it is, after the text before it: the rows
    before the fault are kept, as for a compressed stream that breaks off."""

    def __init__(self, stream: BinaryIO, head: bytes):
        super().__init__(b"", stream)
        # "utf-16" reads the byte order mark and drops it; an error is raised, never replaced.
        self.decoder = codecs.getincrementaldecoder("utf-16")()
        self.pending = b""  # UTF-8 not yet returned
        self.unread = head  # bytes of the stream not yet given to the decoder
        self.fed = 0  # bytes of the stream given to the decoder so far
        self.fault: InvalidUtf16 | None = None
        self.ended = False

    def read(self, size: int = -1) -> bytes:
        while not self.pending:
            if self.fault is not None:
                raise self.fault
            if self.ended:
                return b""
            chunk, self.unread = self.unread or self.stream.read(CHUNK), b""
            self.ended = not chunk
            self.pending = self._decode(chunk)
        data, self.pending = self.pending, b""
        return data

    def _decode(self, chunk: bytes) -> bytes:
        """``chunk`` as UTF-8; up to a fault, which the next read raises."""
        text, fault = decode_up_to_a_fault(self.decoder, chunk, self.fed)
        if fault is not None:
            self.fault = InvalidUtf16(fault)
        self.fed += len(chunk)
        return text
