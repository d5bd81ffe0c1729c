"""``.jsonl``, ``.json`` and ``.ndjson`` (each also compressed: see ``compressed.py``):
one document per line, an object whose text field (``--text-field``) is the payload and
whose ``id`` field, if any, is kept.
Each record is read in bounded memory, and a stream that breaks off keeps the records
before the break. A ``.json`` file that starts with ``[`` is one array of such objects
(Scrapy's feed, ``json.dump(records, f)``): its elements are records, numbered from 1 as
a Parquet file's rows are (``json_array.py``). Any other ``.json`` file is read as JSON
lines (what most dumps named so hold); one whose first line is not JSON but whose whole
is one JSON document (a pretty printed object), or whose only line is JSON but no record
(pandas' ``df.to_json``, ``json.dump({"data": [...]})``), is one problem that says how to
convert it, not a problem per line; so is a file of records pretty-printed over several
lines each (``jq .`` without ``-c``), whatever its name. A file in UTF-16 or UTF-32 with a
byte order mark is read as UTF-8 as it streams (``wide.py``)."""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import orjson

from curate.document import Problem, RawDocument
from curate.formats.base import (
    SKIP_CHUNK,
    NotRegularFile,
    ReadOptions,
    empty_file_problem,
    names_a_document,
    stop_on_machine_limit,
    unreadable_problem,
)
from curate.formats.compressed import UpToAFault, compression_of, fault_wording, open_stream
from curate.formats.json_array import ArrayBroken, Gap, TrailingComma, array_elements, starts_an_array
from curate.formats.lines import LineCounter, count_nonblank
from curate.formats.wide import CONVERT, InvalidWide, as_utf8, wide_encoding
from curate.storage import Location, base_name

if TYPE_CHECKING:
    from curate.discover import InputFile

# Python's json.loads rejects integers longer than this (sys.int_info.str_digits_check_threshold).
_INT_DIGITS_MESSAGE = "Exceeds the limit"

# The deepest record read, in levels of arrays and objects (the record itself is level 1).
# One limit for every record, whichever parser read it, so that nothing after the read
# meets a deeper one: orjson writes at most 254 levels (an output record wraps the input's
# fields one level down, in "metadata"), and json's writer, the lone-surrogate scrub and
# pickle (records go to worker processes) all recurse, up to Python's limit of about 1,000
# frames less what the caller's stack already holds. Metadata this deep is never data
# anyone meant to keep.
MAX_DEPTH = 200
_TOO_DEEP = f"nested too deeply (more than {MAX_DEPTH:,} levels of arrays and objects)"

# orjson reads an integer of this magnitude or more (beyond int64/uint64) as a float.
_INT64_BOUND = 2.0 ** 63


class JsonlReader:
    name = "jsonl"
    suffixes: tuple[str, ...] = (".jsonl", ".json", ".ndjson")
    compressed = True

    def read(self, file: InputFile, options: ReadOptions) -> Iterator[RawDocument | Problem]:
        # A .json file is opened first to tell an array (and its encoding) from JSON lines;
        # any other is opened once, its encoding told from the stream's first bytes: an
        # object in a bucket opened twice would be asked for (and its first block sent) twice.
        wide = _wide_encoding(file) if _named_json(file) else None
        if _named_json(file) and _holds_an_array(file, wide):
            yield from _read_array(file, options, wide)
            return
        lineno = 0
        records = 0
        limit = options.max_doc_bytes
        # The first record of a .json file, when it is JSON but no record: the file's only
        # line is then one whole document (pandas' df.to_json, json.dump({"data": [...]})).
        held: list[RawDocument | Problem] = []
        first = b""
        try:
            with _open_told(file.path) as (stream, wide):
                for lineno, raw in _records(stream, limit):
                    if held and (isinstance(raw, int) or raw.strip()):
                        yield from held
                        held = []
                    if isinstance(raw, int):
                        records += 1
                        yield too_large_problem(file.source, lineno, raw, limit)
                        continue
                    if not raw.strip():
                        continue
                    records += 1
                    parsed = parse_record(file.source, lineno, raw, options.text_field)
                    if records == 1 and isinstance(parsed[-1], Problem):
                        whole = _whole_file_problem(file, parsed[-1], limit, wide)
                        if whole is not None:
                            yield whole
                            return
                        if _named_json(file) and _not_a_record(parsed[-1], options.text_field):
                            held, first = parsed, raw
                            continue
                    yield from parsed
            if held:
                yield _one_line_document_problem(file, first)
                return
        except _StreamFault as fault:
            stop_on_machine_limit(file.source, fault)
            yield from held
            # The records before the fault have already been yielded and are kept.
            problem, fix = _fault_wording(file, fault.__cause__ or fault)
            yield Problem(
                file.source, lineno + 1, problem,
                f"records after line {lineno} are lost; {fix}" if lineno else f"no record could be read; {fix}",
                lines=1,
            )
            return
        except (NotRegularFile, OSError) as err:
            yield unreadable_problem(file.source, err)
            return
        if not records:
            if lineno == 0:
                yield empty_file_problem(file.source)
            else:
                yield Problem(file.source, None, "no records: the file holds only blank lines",
                              "skipped; nothing to read", lines=0)


def read_records(file: InputFile, options: ReadOptions, start: int, end: int,
                 lines_before: int) -> Iterator[RawDocument | Problem]:
    """The records of the lines that start in bytes ``[start, end)`` of an uncompressed
    file, ``start`` being the start of line ``lines_before + 1``: what ``read`` yields for
    them, for a file that has a record (curate.formats.ranges decides which files and
    ranges; the problems of a whole file are ``read``'s). A worker reads its own range."""
    limit = options.max_doc_bytes
    at = start
    lineno = lines_before
    try:
        with open(file.path, "rb") as stream:
            stream.seek(start)
            for lineno, raw in _records(stream, limit):
                lineno += lines_before
                if isinstance(raw, int):
                    at += raw
                    yield too_large_problem(file.source, lineno, raw, limit)
                else:
                    at += len(raw)
                    if raw.strip():
                        yield from parse_record(file.source, lineno, raw, options.text_field)
                if at >= end:
                    return
    except (_StreamFault, OSError) as fault:
        stop_on_machine_limit(file.source, fault)
        # As ``read`` says it; unlike a whole read, the ranges after this one are still read.
        yield Problem(file.source, lineno + 1, f"read error: {fault}",
                      f"records after line {lineno} are lost; check the disk and the file", lines=1)


def read_whole(file: InputFile, options: ReadOptions) -> bool:
    """Must the file be read whole by ``read``, never cut into ranges for ``read_records``?
    When it is UTF-16 or UTF-32 (its line ends are not b"\\n" bytes), or its first record
    is not JSON: the file may then be one problem (records pretty-printed over several
    lines), which only a whole read tells. A file that cannot be read is read whole too,
    so that the problem is the one a whole read reports."""
    if _wide_encoding(file) is not None:
        return True
    try:
        with open_stream(file.path) as stream:
            for _, raw in _records(stream, options.max_doc_bytes):
                if isinstance(raw, int):
                    return False
                if raw.strip():
                    _load(raw)
                    return False
    except (ValueError, RecursionError, _StreamFault, NotRegularFile, OSError):
        return True
    return True


def too_large_problem(source: str, lineno: int, size: int, limit: int) -> Problem:
    """The problem of record line ``lineno``, of ``size`` bytes (its newline included),
    which is longer than ``limit`` (--max-doc-bytes) and is skipped unread; the Python API
    says the same of a record given in memory."""
    return Problem(source, lineno, f"record of {size:,} bytes is larger than --max-doc-bytes ({limit:,} bytes)",
                   "record skipped; raise --max-doc-bytes to read it, or split the record")


def _named_json(file: InputFile) -> bool:
    """Is the file named .json (compressed or not)? (Not .jsonl or .ndjson: those are JSON
    lines by name.)"""
    return base_name(file.path).lower().removesuffix(compression_of(file.path) or "").endswith(".json")


def _whole_file_problem(file: InputFile, first: Problem, limit: int, wide: str | None) -> Problem | None:
    """The one problem of a file whose first record is not JSON because the file is not
    JSON lines: a ``.json`` file that is one document over several lines, or records
    pretty-printed over several lines each (``jq .`` without ``-c``); None for any other."""
    if not first.problem.startswith("invalid JSON"):
        return None
    whole = _whole_document_problem(file, limit, wide) if _named_json(file) else None
    return whole if whole is not None else _pretty_printed_problem(file, limit, wide)


def _not_a_record(first: Problem, text_field: str) -> bool:
    """Is the problem of a first record that is JSON, but not an object with a text field
    that is a string (the shapes a whole document on one line takes)?"""
    return first.problem.startswith(("record is ", "record has no ", f"field {text_field!r} is "))


def _wide_encoding(file: InputFile) -> str | None:
    """The encoding of a file that starts with a UTF-16 or UTF-32 byte order mark (what
    Windows PowerShell 5 writes), read as UTF-8 as it streams (``wide.as_utf8``); None for
    any other file, and one that cannot be read (the read that follows says why)."""
    try:
        with open_stream(file.path) as stream:
            return wide_encoding(stream.read(4))
    except Exception:  # noqa: BLE001 - unreadable, corrupt: reported by the read that follows
        return None


@contextmanager
def _open_utf8(path: Location, wide: str | None) -> Iterator[BinaryIO]:
    """The file's bytes, decompressed if its name says so, and as UTF-8 if ``wide`` is its
    encoding (``_wide_encoding``)."""
    with open_stream(path) as stream:
        yield stream if wide is None else as_utf8(stream, wide)


@contextmanager
def _open_told(path: Location) -> Iterator[tuple[BinaryIO, str | None]]:
    """As ``_open_utf8``, with the encoding told by the stream's own first bytes: (the
    stream as UTF-8, its encoding if UTF-16 or UTF-32, else None)."""
    with open_stream(path) as stream:
        head, stream = _head(stream)
        wide = wide_encoding(head)
        yield (stream if wide is None else as_utf8(stream, wide)), wide


def _head(stream: BinaryIO) -> tuple[bytes, BinaryIO]:
    """The stream's first 4 bytes (fewer if it is shorter), and a stream that still starts
    with them: peeked where the stream can (every stream open_stream makes, a bucket's
    objects too), else read and given back in front."""
    peek = getattr(stream, "peek", None)
    try:
        if callable(peek):
            head = peek(4)
            if len(head) >= 4:
                return head[:4], stream
        head = stream.read(4)
    except MemoryError:
        raise
    except Exception as err:  # a stream that breaks at once, said as _records says a fault
        raise _StreamFault(str(err) or type(err).__name__) from err
    return head, cast(BinaryIO, io.BufferedReader(_Replayed(head, stream)))


class _Replayed(io.RawIOBase):
    """``head`` (bytes read from ``stream`` already), then the rest of ``stream``."""

    def __init__(self, head: bytes, stream: BinaryIO):
        self.head, self.stream = head, stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:  # any writable buffer
        if self.head:
            size = min(len(buffer), len(self.head))
            buffer[:size] = self.head[:size]
            self.head = self.head[size:]
            return size
        data = self.stream.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _fault_wording(file: InputFile, fault: BaseException) -> tuple[str, str]:
    """(problem, what to do) for a stream that failed while read: bytes not valid in its
    encoding (UTF-16 or UTF-32) or, in every reader's words, a stream that broke."""
    if isinstance(fault, InvalidWide):
        return str(fault), CONVERT.format(encoding=fault.encoding)
    return fault_wording(file.path, str(fault) or type(fault).__name__)


def _holds_an_array(file: InputFile, wide: str | None) -> bool:
    """Does the file start (after whitespace) with '['? False when it cannot be read: the
    line-by-line read then says why."""
    try:
        with _open_utf8(file.path, wide) as raw:
            # UpToAFault: an array cut off in its first MiB is still told by its first bytes,
            # and its elements before the cut kept, not read as one broken JSON line.
            stream = UpToAFault(raw)
            while head := stream.read(SKIP_CHUNK):
                if not head.isspace():
                    return starts_an_array(head)
    except Exception:  # noqa: BLE001 - unreadable, corrupt: reported by the read that follows
        pass
    return False


def _read_array(file: InputFile, options: ReadOptions, wide: str | None) -> Iterator[RawDocument | Problem]:
    """The records of a .json file that is one array: element k is record k, as row k of a
    Parquet file."""
    try:
        with _open_utf8(file.path, wide) as stream:
            yield from _array_records(file, stream, options)
    except (NotRegularFile, OSError) as err:
        yield unreadable_problem(file.source, err)


def _array_records(file: InputFile, stream: BinaryIO, options: ReadOptions) -> Iterator[RawDocument | Problem]:
    """A bad element costs that element only; an array that breaks off, or a stream that
    fails, keeps the elements before the break."""
    limit = options.max_doc_bytes
    number = 0
    try:
        for number, raw in array_elements(stream, limit):
            if isinstance(raw, Gap):
                # Nothing is lost (lines=0), but a gigabyte of blanks is no feed a scraper
                # wrote: said, as the other bombs are.
                yield Problem(file.source, number,
                              f"{raw.size:,} bytes of whitespace before this element, more than --max-doc-bytes "
                              f"({limit:,} bytes)",
                              "skipped; the element after it is read, nothing is lost; check how the file was made",
                              lines=0)
            elif isinstance(raw, TrailingComma):
                yield Problem(file.source, number, "a trailing comma after the last element (JavaScript allows one, "
                              "JSON does not)",
                              "nothing is lost: every element is read; remove the comma to make the file JSON",
                              lines=0)
            elif isinstance(raw, int):
                yield Problem(file.source, number,
                              f"array element of {raw:,} bytes is larger than --max-doc-bytes ({limit:,} bytes)",
                              "element skipped; raise --max-doc-bytes to read it, or split the element")
            else:
                yield from parse_record(file.source, number, raw, options.text_field, unit="array element")
    except ArrayBroken as broken:
        lost = f"elements from {broken.element:,} on are lost" if broken.element > 1 else "no element could be read"
        yield Problem(file.source, broken.element, broken.problem, f"{lost}; re-download or rewrite the file")
        return
    except Exception as err:  # noqa: BLE001 - OSError, zlib.error, ZstdError, EOFError: the stream's faults
        stop_on_machine_limit(file.source, err)
        problem, fix = _fault_wording(file, err)
        lost = f"elements after element {number:,} are lost" if number else "no element could be read"
        yield Problem(file.source, number + 1, problem, f"{lost}; {fix}")
        return
    if number == 0:
        yield Problem(file.source, None, "an empty JSON array", "skipped; nothing to read", lines=0)


def _whole_document_problem(file: InputFile, limit: int, wide: str | None) -> Problem | None:
    """The one problem of a ``.json`` file that is a single JSON document, or None if the
    file is not one (then it is JSON lines with a bad first line)."""
    try:
        with _open_utf8(file.path, wide) as stream:
            data = stream.read(limit + 1)
    except Exception:  # noqa: BLE001 - the line-by-line read reports what is wrong with the stream
        return None
    if len(data) > limit:
        return None
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    # Not an array: one starting with '[' was read as one (_holds_an_array).
    lines = count_nonblank(data.decode("utf-8", "replace"))  # orjson took it: it is UTF-8
    return _document_problem(file, value, f"over {lines:,} lines", lines)


def _one_line_document_problem(file: InputFile, raw: bytes) -> Problem:
    """The problem of a ``.json`` file whose only line is JSON but no record: one whole
    document written on one line, as json.dump and pandas' df.to_json write it."""
    return _document_problem(file, json.loads(raw), "on one line", 1)  # parse_record read it: json reads it


def _document_problem(file: InputFile, value: Any, spread: str, lines: int) -> Problem:
    return Problem(file.source, None,
                   f"a whole JSON document (one JSON {json_kind(value).split()[-1]}, {spread}), "
                   "not JSON lines or an array of records",
                   "skipped; write one record per line (for the records of a field: jq -c '.FIELD[]' FILE > "
                   "FILE.jsonl; from pandas: df.to_json(FILE, orient='records', lines=True)), or leave such files "
                   "out of the input folder", lines=lines)


# Bytes of a file read to find where its first value ends (_pretty_printed_problem), at
# first; doubled while the value goes on, up to --max-doc-bytes and a byte.
_PRETTY_HEAD = 1 << 16


def _pretty_printed_problem(file: InputFile, limit: int, wide: str | None) -> Problem | None:
    """The one problem of a file of records each pretty-printed over several lines (``jq .``
    without ``-c``, json.dump with indent): its first line is not JSON, but the JSON value
    that starts there ends on a later line. None for any other file (a first line that is
    broken in itself: then each line is its own problem, as for any JSON lines file).
    Reads the file's head, up to --max-doc-bytes, and counts the file's lines in pieces."""
    decoder = json.JSONDecoder()
    size = _PRETTY_HEAD
    try:
        with _open_utf8(file.path, wide) as stream:
            data = stream.read(size)
            while True:
                text = data.decode("utf-8", "replace")
                start = len(text) - len(text.lstrip())
                line_end = text.find("\n", start)
                try:
                    value, end = decoder.raw_decode(text, start)
                except json.JSONDecodeError as err:
                    # Broken within its first line, or before the head's end (not cut off by
                    # it), or the whole file read: not a record over several lines.
                    cut = err.msg.startswith("Unterminated string") or err.pos >= len(text) - 16
                    if (line_end >= 0 and err.pos <= line_end) or not cut or len(data) < size or size > limit:
                        return None
                    size = min(2 * size, limit + 1)  # never more than a record may hold, and one byte
                    data += stream.read(size - len(data))
                    continue
                except RecursionError:
                    return None
                if line_end < 0 or end <= line_end:
                    return None
                break
            counter = LineCounter()
            reading = codecs.getincrementaldecoder("utf-8")("replace")
            counter.feed(text)
            while chunk := stream.read(SKIP_CHUNK):
                counter.feed(reading.decode(chunk))
            counter.feed(reading.decode(b"", final=True))
            lines = counter.total()
    except Exception:  # noqa: BLE001 - unreadable, corrupt: the line-by-line read says why
        return None
    first_line = text.count("\n", 0, start) + 1
    last_line = first_line + text.count("\n", start, end)
    return Problem(file.source, None,
                   f"records pretty-printed over several lines (the first, {json_kind(value)}, on lines "
                   f"{first_line:,} to {last_line:,}), not JSON lines (one record per line)",
                   "skipped; make it JSON lines with jq -c . FILE > FILE.jsonl (or json.dumps without indent), "
                   "and run again", lines=lines)


class _StreamFault(Exception):
    """The file's bytes could not be read or decompressed at some record."""


def _records(stream: BinaryIO, limit: int) -> Iterator[tuple[int, bytes | int]]:
    """(line number, raw line) for every line of the stream, or (line number, its length)
    for a line longer than ``limit``, which is skipped without ever being held whole.
    A read or decompression error becomes _StreamFault; parsing happens elsewhere."""
    lineno = 0
    while True:
        try:
            raw = stream.readline(limit + 1)
        except Exception as err:  # EOFError, zlib.error, ZstdError, OSError: all of them stream faults
            raise _StreamFault(str(err) or type(err).__name__) from err
        if not raw:
            return
        lineno += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            yield lineno, len(raw) + _skip_line(stream)
        else:
            yield lineno, raw


def _skip_line(stream: BinaryIO) -> int:
    skipped = 0
    while True:
        try:
            piece = stream.readline(SKIP_CHUNK)
        except Exception as err:  # as in _records
            raise _StreamFault(str(err) or type(err).__name__) from err
        skipped += len(piece)
        if not piece or piece.endswith(b"\n"):
            return skipped


def _preview(raw: bytes) -> str:
    return raw[:120].decode("utf-8", "replace").rstrip()


def _json_error(err: Exception, unit: str, raw: bytes = b"") -> tuple[str, str]:
    """(problem, action) for a record json cannot read; ``unit``: what holds a record."""
    if isinstance(err, RecursionError):
        return too_deep(unit)
    if _INT_DIGITS_MESSAGE in str(err):
        return ("invalid JSON: a number with more than 4,300 digits (more than Python's json reads)",
                f"record skipped; write the number as a string or delete this {unit}")
    if unit == "line" and _bare_cr_records(raw):
        # Classic Mac OS line ends: the whole file reads as one line, and json's "Extra
        # data" would not tell anyone why.
        return ("invalid JSON: records end in bare carriage returns (\\r, old Mac line ends), "
                "not newlines, so they all read as one line",
                "skipped; convert the line ends to \\n (e.g. tr '\\r' '\\n' < in.jsonl > out.jsonl) and run again")
    if isinstance(err, json.JSONDecodeError):
        # json says where as "line 1 column 2 (char 1)": of the record's own text, which
        # beside the file's line number read as a contradiction ("a.jsonl:3: ... line 1").
        where = f"column {err.colno}" if err.lineno == 1 else f"line {err.lineno} of this {unit}, column {err.colno}"
        # One message of json's ends in "at" already ("Invalid control character at").
        return f"invalid JSON: {err.msg.removesuffix(' at')} at {where}", f"record skipped; fix or delete this {unit}"
    return f"invalid JSON: {err}", f"record skipped; fix or delete this {unit}"


def _bare_cr_records(raw: bytes) -> bool:
    """Does ``raw`` hold records that a carriage return alone parts (the first of them
    reads as JSON)? JSON allows a \\r between tokens, so only a line that fails as a
    whole is asked."""
    first, cr, rest = raw.partition(b"\r")
    if not cr or not rest.strip():
        return False
    try:
        json.loads(first)
    except (ValueError, RecursionError):
        return False
    return True


def json_kind(value: Any) -> str:
    """What JSON calls the value, with its article ("an array", "null")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    kinds = ((str, "a string"), ((int, float), "a number"), (list, "an array"), (dict, "an object"))
    return next((name for kind, name in kinds if isinstance(value, kind)), f"a {type(value).__name__}")


def safe_text(value: str) -> str:
    """``value`` with every lone surrogate written out as the text ``\\udXXX``: json reads
    escapes like ``\\ud800`` into strings no UTF-8 file can hold."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def parse_record(source: str, lineno: int, raw: bytes, text_field: str,
                 unit: str = "line") -> list[RawDocument | Problem]:
    """One JSON line (or ``unit``, an array element): a document with the text field as its
    payload, or why it is not one; last, after a problem of 0 lines for each value a later
    one of the same name replaced (``_repeated_names``) and for each field of the
    document's that two of its names share (``_without_lone_surrogates``)."""
    clashes: list[Problem] = []
    item = _parse_record(source, lineno, raw, text_field, unit, clashes)
    return [*clashes, item]


def _parse_record(source: str, lineno: int, raw: bytes, text_field: str, unit: str,
                  clashes: list[Problem]) -> RawDocument | Problem:
    try:
        record, lenient, containers, names = _load(raw)
    except (ValueError, RecursionError) as err:  # also a number of 4,300+ digits, deep nesting
        problem, action = _json_error(err, unit, raw)
        return Problem(source, lineno, problem, action, preview=_preview(raw))
    # n levels take n arrays and objects: counting them spares nearly every record the walk.
    if containers > MAX_DEPTH and _nested_deeper_than(record, MAX_DEPTH):
        problem, action = too_deep(unit)
        return Problem(source, lineno, problem, action, preview=_preview(raw))
    if not isinstance(record, dict):
        return Problem(source, lineno, f"record is {json_kind(record)}, not an object",
                       f"record skipped; each {unit} must be an object with a text field", preview=_preview(raw))
    if text_field not in record:
        return Problem(source, lineno, f"record has no {text_field!r} field",
                       "record skipped; add the field or choose another with --text-field" + _text_fields(record),
                       preview=_preview(raw))
    repeated: list[tuple[tuple[str | int, ...], Any]] = []
    if lenient or _may_repeat_a_name(raw, names):
        repeated = _repeated_names(raw)
        texts = 1 + sum(path == (text_field,) for path, _ in repeated)
        if texts > 1:
            return Problem(source, lineno, f"the text field is repeated: {text_field!r} {texts} times in this record, "
                           "so which one is the text is not known (a JSON reader keeps the last and drops the others "
                           "without a word)",
                           f"record skipped; keep one {text_field!r} field in this {unit} (rename or delete the "
                           "others) and run again", preview=_preview(raw))
    text = record[text_field]
    if not isinstance(text, str):
        return Problem(source, lineno, f"field {text_field!r} is {json_kind(text)}, not a string",
                       "record skipped; the text field must be a string", preview=_preview(raw))
    rid = record.get("id")
    if lenient:  # only json lets a lone surrogate escape through; orjson refuses them
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return Problem(source, lineno, "text contains lone surrogates (invalid \\ud800-\\udfff escapes)",
                           f"record skipped; fix the escapes in this {unit}", preview=_preview(raw))
        if isinstance(rid, str):
            rid = safe_text(rid)
    usable_id = names_a_document(rid)
    doc_id = str(rid) if usable_id else f"{source}:{lineno}"
    # Every other field is kept for the output's "metadata"; an id that could not be the
    # document's id (a list, an object, a bool, "") is kept there too, so nothing is lost.
    metadata = {key: value for key, value in record.items() if key != text_field and (key != "id" or not usable_id)}
    clashes.extend(_repeated_name_problem(source, lineno, path, value, lenient) for path, value in repeated)
    if lenient and metadata:
        shared: list[tuple[tuple[str | int, ...], Any]] = []
        metadata = _without_lone_surrogates(metadata, shared)
        clashes.extend(_shared_name_problem(source, lineno, path, value) for path, value in shared)
    return RawDocument(id=doc_id, source=source, record_line=lineno, payload=text, size=len(raw),
                       metadata=metadata or None)


def _load(raw: bytes) -> tuple[Any, bool, int, int]:
    """The JSON value of ``raw``, whether json's lenient parse read it (only that one lets
    lone surrogates in), how many arrays and objects it holds, and how many names its
    objects hold. Raises ValueError or RecursionError for what json cannot read."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        # orjson is strict where json is lenient (NaN, lone surrogate escapes, a BOM) and
        # words errors differently: json decides what such a line is, as it always did.
        value = json.loads(raw)
        containers, names, _ = _survey(value)
        return value, True, containers, names
    containers, names, wide = _survey(value)
    if wide:
        # orjson reads an integer beyond 64 bits as a float without a word, rounding it
        # (123456789012345678901234567890 became 1.2345678901234568e+29 in the output);
        # json keeps it whole, and the writer writes it whole (jsonl_sink.dumps).
        return json.loads(raw), False, containers, names
    return value, False, containers, names


def _survey(value: Any) -> tuple[int, int, bool]:
    """(how many arrays and objects the value holds, itself included; how many names its
    objects hold; whether it holds a float of 2**63 or more, or its negative, which orjson
    may have made of an integer).
    One loop over every item, as cheap as it can be made (``type() is``: the parsers make
    exact dicts, lists and floats); not recursion, since the value may be 1,024 levels deep."""
    containers = 0
    names = 0
    wide = False
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            containers += 1
            names += len(item)
            stack.extend(item.values())
        elif kind is list:
            containers += 1
            stack.extend(item)
        elif kind is float and abs(item) >= _INT64_BOUND:
            wide = True
    return containers, names, wide


# A name's closing quote and the colon after it (JSON whitespace may part them). Each name
# of the record's objects is one such match; a string may hold more ('\":' in a text).
_NAME_END = re.compile(rb'"[ \t\r\n]*:')


def _may_repeat_a_name(raw: bytes, names: int) -> bool:
    """Could an object of the record have a name twice? The parsers keep the last value of
    a repeated name without a word, so the parse then holds fewer names than ``raw``
    writes. ``raw`` holds one name end (``"`` and ``:``, whitespace between them) for every
    name it writes, and a string may hold more: no more of them than the parse's names
    means no name repeats. Nearly every record is told so by this count alone (a third of
    orjson's time); only the others are parsed again (_repeated_names)."""
    return len(_NAME_END.findall(raw)) > names


def _repeated_names(raw: bytes) -> list[tuple[tuple[str | int, ...], Any]]:
    """(path, value) of every value that a later one of the same name replaced in its
    object (in the record's order, the path that of the name), parsed again by json with
    every name and value as written. The value read keeps the last one, as every JSON
    reader does (orjson, json, pandas, jq)."""
    replaced: dict[int, tuple[dict, list[tuple[str, Any]]]] = {}

    def pairs(items: list[tuple[str, Any]]) -> dict:
        obj = dict(items)
        if len(obj) < len(items):
            last = {name: at for at, (name, _) in enumerate(items)}
            # obj is held in ``replaced``, so its id names no other object while it is read.
            replaced[id(obj)] = (obj, [(name, item) for at, (name, item) in enumerate(items) if last[name] != at])
        return obj

    value = json.loads(raw, object_pairs_hook=pairs)
    found: list[tuple[tuple[str | int, ...], Any]] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:  # a loop, as in _survey; the record is at most MAX_DEPTH deep
        item, path = stack.pop()
        if type(item) is dict:
            if id(item) in replaced:
                found.extend(((*path, name), earlier) for name, earlier in replaced[id(item)][1])
            stack.extend(((child, (*path, name)) for name, child in reversed(item.items())))
        elif type(item) is list:
            stack.extend(((child, (*path, at)) for at, child in reversed(list(enumerate(item)))))
    return found


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """Is the value nested more than ``limit`` levels of arrays and objects deep? A loop,
    as in _survey."""
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def too_deep(unit: str) -> tuple[str, str]:
    """(problem, action) for a record nested deeper than MAX_DEPTH; ``unit``: what holds it."""
    return _TOO_DEEP, f"record skipped; flatten or delete this {unit}"


def _text_fields(record: dict) -> str:
    """The fields that could be the text field (those that hold a string), for a record
    without the one asked for: a corpus whose text is under "content" says so at once."""
    # safe_text: a key json's lenient parse let a lone surrogate into must still write as UTF-8.
    names = sorted(safe_text(str(key)) for key, value in record.items() if isinstance(value, str))
    if not names:
        return ""
    shown = [name if len(name) <= 40 else name[:39] + "…" for name in names[:8]]
    return f": its string fields are {', '.join(shown)}{', ...' if len(names) > 8 else ''}"


# What summary.json counts a shared name under: the text holds the record's own names.
SHARED_NAME = "two fields of an object share a name once lone surrogates are written as escape text"


def _without_lone_surrogates(value: Any, shared: list[tuple[tuple[str | int, ...], Any]],
                             path: tuple[str | int, ...] = ()) -> Any:
    """The value with every string made writable as UTF-8 (see safe_text): only json's
    lenient parse lets a lone surrogate escape into a record. A key written so can become
    another key of its object ("\\ud800" escaped, beside the six characters "\\\\ud800"):
    the first keeps the name and the other's (path, value) goes to ``shared``, where a
    dict would have let one value replace the other without a word."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict):
        written: dict[str, Any] = {}
        for key, item in value.items():
            name = safe_text(key)
            if name in written:
                shared.append(((*path, name), item))
                continue
            written[name] = _without_lone_surrogates(item, shared, (*path, name))
        return written
    if isinstance(value, list):
        return [_without_lone_surrogates(item, shared, (*path, index)) for index, item in enumerate(value)]
    return value


def _shared_name_problem(source: str, lineno: int, path: tuple[str | int, ...], value: Any) -> Problem:
    """The problem of a field left out because an earlier field of its object has its name
    once lone surrogates are escaped; its value is the problem's preview."""
    return Problem(source, lineno, f"two fields of an object share a name once lone surrogates are written as "
                   f"escape text: metadata{_field_path(path)} (a lone surrogate escape such as \\ud800 is written as "
                   "its six characters, the name of another field)",
                   "record kept with the first field's value; the other's is this problem's preview. Rename one "
                   "of the fields, or fix the escapes, in the input", lines=0, preview=_value_preview(value),
                   kind=SHARED_NAME)


def _field_path(path: Iterable[str | int]) -> str:
    """A field's place in a record, as Python would index it: ['a'][0]['b']. The names as
    written (repr would double each backslash, the very thing to tell apart)."""
    return "".join(f"[{step}]" if isinstance(step, int) else f"['{step}']" for step in path)


def _value_preview(value: Any) -> str:
    """A field's value as a problem's preview: its JSON, the first 200 characters."""
    try:
        return json.dumps(value, ensure_ascii=True)[:200]
    except ValueError:  # nothing json read from a line fails to write; kept safe all the same
        return repr(value)[:200]


# What summary.json counts a repeated name under: the text holds the record's own names.
REPEATED_NAME = "a field name is repeated in an object"


def _repeated_name_problem(source: str, lineno: int, path: tuple[str | int, ...], value: Any,
                           lenient: bool) -> Problem:
    """The problem of a value a later field of the same name replaced (the record is kept
    with the last value, as every JSON reader keeps it); the value is the preview."""
    shown = _field_path(safe_text(step) if isinstance(step, str) and lenient else step for step in path)
    return Problem(source, lineno, f"a field name is repeated in an object: {shown} (the record keeps the last "
                   "value, as JSON readers do)",
                   "record kept with the last value; the earlier one is this problem's preview. Rename or delete "
                   "one of the fields in the input", lines=0, preview=_value_preview(value), kind=REPEATED_NAME)
