"""``.csv`` and ``.tsv`` (each also compressed): one document per row, under a header row.

The text is the column ``--text-field`` names; an ``id`` column gives the document's id
as JSONL's ``id`` field does, and every other column goes to the document's metadata as
the string it is (CSV has no types: an empty cell is ``""``). A ``.csv`` file is split
at commas, a ``.tsv`` file at tabs (and ``--format csv`` reads any name at commas), with
the quoting of Python's ``csv`` module: a field may be quoted, a quoted field may hold
delimiters, line breaks and doubled quotes. The bytes are UTF-8 (a byte order mark is
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
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO, cast

from curate.document import Problem, RawDocument
from curate.formats.base import NotRegularFile, ReadOptions, empty_file_problem, unreadable_problem
from curate.formats.compressed import compression_of, fault_wording, open_stream
from curate.formats.csv_records import CHUNK, CutOff, csv_records
from curate.storage import base_name

if TYPE_CHECKING:
    from curate.discover import InputFile

_UTF8_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class CsvReader:
    name = "csv"
    suffixes: tuple[str, ...] = (".csv", ".tsv")
    compressed = True

    def read(self, file: InputFile, options: ReadOptions) -> Iterator[RawDocument | Problem]:
        try:
            with open_stream(file.path) as raw:
                yield from _rows(file, _as_utf8(raw), options)
        except (NotRegularFile, OSError) as err:
            yield unreadable_problem(file.source, err)


def delimiter_of(file: InputFile) -> bytes:
    name = base_name(file.path).lower().removesuffix(compression_of(file.path) or "")
    return b"\t" if name.endswith(".tsv") else b","


def _rows(file: InputFile, stream: BinaryIO, options: ReadOptions) -> Iterator[RawDocument | Problem]:
    source, field = file.source, options.text_field
    limit = options.max_doc_bytes
    delimiter = delimiter_of(file)
    header: list[str] | None = None
    row = 0  # data rows so far
    read_any = False
    try:
        records = csv_records(stream, delimiter, limit)
        for raw in records:
            read_any = True
            if header is None:
                if isinstance(raw, int):
                    yield Problem(source, None, f"a header row of {raw:,} bytes, over --max-doc-bytes ({limit:,})",
                                  "skipped; is this a CSV file? (--format names how a file is read)", lines=1)
                    return
                parsed = _parse(raw, delimiter)
                if parsed == []:
                    continue  # blank lines before the header
                unusable = _header_problem(parsed, field)
                if unusable is not None:
                    rows = sum(1 for more in records if more)  # the rest of the file's, not a new cut's
                    yield Problem(source, None, unusable[0], f"skipped; {unusable[1]}", lines=rows)
                    return
                header = parsed
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
    except Exception as err:  # noqa: BLE001 - OSError, zlib.error, ZstdError, EOFError, bad UTF-16: the stream's
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


def _header_problem(header: list[str] | None, field: str) -> tuple[str, str] | None:
    """(problem, what to do) when the header row cannot name the columns, else None."""
    if header is None:
        return "the header row is not valid UTF-8", "convert the file to UTF-8 (iconv -f ENCODING -t utf-8)"
    if field not in header:
        return f"no column {field!r} (columns: {', '.join(header)})", "choose the text column with --text-field"
    twice = sorted({name for name in header if header.count(name) > 1})
    if twice:
        return (f"the header names {', '.join(repr(name) for name in twice)} more than once",
                "give each column its own name")
    return None


def _parse(raw: bytes, delimiter: bytes) -> list[str] | None:
    """The fields of one cut record, or None if it is not UTF-8."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    rows = list(csv.reader([text], delimiter=delimiter.decode("ascii")))
    return rows[0] if rows else []


def _document(source: str, row: int, raw: bytes | int, header: list[str], field: str, delimiter: bytes,
              limit: int) -> RawDocument | Problem:
    if isinstance(raw, int):
        return Problem(source, row, f"row of {raw:,} bytes is larger than --max-doc-bytes ({limit:,} bytes)",
                       "row skipped; raise --max-doc-bytes to read it, or split the row")
    values = _parse(raw, delimiter)
    if values is None:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as err:
            reason = f"{err.reason} at byte {err.start}"
        return Problem(source, row, f"row is not valid UTF-8 ({reason})",
                       "row skipped; convert the file to UTF-8 (iconv -f cp1252 -t utf-8, or the encoding it is in)",
                       preview=raw[:120].decode("utf-8", "replace"))
    if len(values) != len(header):
        return Problem(source, row, f"row has {len(values)} fields where the header has {len(header)}",
                       "row skipped; check this row's quoting and delimiters",
                       preview=raw[:120].decode("utf-8", "replace"))
    record = dict(zip(header, values, strict=True))
    text = record.pop(field)
    rid = record.pop("id", None)
    doc_id = rid if rid else f"{source}:{row}"
    if rid == "":
        record["id"] = rid  # an empty id cell names nothing: kept as the other cells are
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


class _Utf16AsUtf8(_Prefixed):
    def __init__(self, stream: BinaryIO, head: bytes):
        super().__init__(b"", stream)
        # "utf-16" reads the byte order mark and drops it; errors stay errors (the read's problem).
        self.decoder = codecs.getincrementaldecoder("utf-16")()
        self.pending = self.decoder.decode(head).encode("utf-8")

    def read(self, size: int = -1) -> bytes:
        while True:
            if self.pending:
                data, self.pending = self.pending, b""
                return data
            chunk = self.stream.read(CHUNK)
            if not chunk:
                return self.decoder.decode(b"", final=True).encode("utf-8")
            self.pending = self.decoder.decode(chunk).encode("utf-8")
