"""Common Crawl WET files (``.warc.wet``, ``.wet``; each also compressed, as Common Crawl
ships them: ``.warc.wet.gz``): one document per ``conversion`` record, parsed with
FastWARC (the optional extra ``wet``; ``bench/wet_readers.py`` measured it at about 3.7x
warcio's speed).

The document's id is the record's ``WARC-Record-ID`` (as written, ``<urn:uuid:...>``;
one longer than ``base.MAX_ID_BYTES`` is kept in the metadata as ``id`` instead), its
text the record's payload (UTF-8, as Common Crawl writes it), and these headers are kept
in its metadata, under the names datatrove's WARC reader uses for the first two:

    WARC-Target-URI -> url              WARC-Refers-To -> refers_to
    WARC-Date -> date (as written)      Content-Type -> content_type
    WARC-Identified-Content-Language -> content_language

(the others, digests, lengths and the record type, describe the record, not the page).
Provenance: a record's ``line`` is its 1-based number among all the WARC records of the
file (the ``warcinfo`` record that opens a Common Crawl file is record 1), and each line's
span indexes the UTF-8 of the record's payload (``"bytes_of": "text_field"``).

The file is decompressed by ``compressed.open_stream`` (Python's decompressors say when a
file is cut off; FastWARC's own gzip reader stops there silently) and FastWARC parses
the stream; a record cut off inside its headers or its payload is a Problem too.

A record FastWARC cannot parse (headers past MAX_HEADER, garbage between records) costs
that record: the file is opened again, read past the last good record (its header and
Content-Length), and reading goes on with a new iterator at the next line starting
``WARC/1.`` after the bad record's start. FastWARC has read past the bad record into its
own buffer and an iterator cannot be moved back, so opening again is the way back; it
costs a second read of the file up to there, and only for a file with a bad record. This
works on the decompressed stream, so a gzip member per record (Common Crawl's layout) or
one member for the file read alike.

A file whose first record's WARC headers end in LF, not CRLF (a hand-rolled writer's;
warcio reads such files too) is read with FastWARC's lenient parse (its quirks mode),
which takes LF or CRLF header lines; strictly, its headers never ended, and the whole
file was one record cut off. That parse also skips, unsaid, lines that are no record
before a ``WARC/1.`` line, so such a file is read a second time alongside (``_Gaps``: the
file opened again, each record's headers and Content-Length passed, the bytes between
records checked to be blank): bytes that no ``WARC/1.`` line starts cost a record, as
strictly read ones do. Only such files pay for the second read; a CRLF file is read
strictly, as before.

Records that are not ``conversion`` hold no extracted text and are not read; a file with
none (a WARC of responses) or with types a WET file does not hold (anything but
``warcinfo``) is one Problem of 0 lines, so nothing goes missing unsaid.
"""

from __future__ import annotations

import contextlib
import io
from collections import Counter
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

from curate.document import Problem, RawDocument
from curate.errors import machine_limit, memory_error_in
from curate.formats.base import (
    NotRegularFile,
    ReadOptions,
    empty_file_problem,
    missing_extra_problem,
    names_a_document,
    stop_on_machine_limit,
    unreadable_problem,
)
from curate.formats.compressed import fault_wording, open_stream

if TYPE_CHECKING:
    from curate.discover import InputFile

INSTALL = "pip install 'curate-corpus[wet]'"
CUT_OFF = "WARC record cut off"
MAX_HEADER = 1 << 20  # bytes of one record's WARC headers; longer is damage (no blank line ends them)
HEADER_END = b"\r\n\r\n"
RECORD_START = b"\nWARC/1."  # a record's version line (WARC/1.0, WARC/1.1), at a line start
KEPT_HEADERS = {"WARC-Target-URI": "url", "WARC-Date": "date", "WARC-Refers-To": "refers_to",
                "Content-Type": "content_type", "WARC-Identified-Content-Language": "content_language"}


class WetReader:
    name = "wet"
    suffixes: tuple[str, ...] = (".warc.wet", ".wet")
    compressed = True

    def read(self, file: InputFile, options: ReadOptions) -> Iterator[RawDocument | Problem]:
        try:
            from fastwarc.warc import ArchiveIterator  # noqa: F401 - only to say early that it is missing
        except ImportError:
            yield missing_extra_problem(file.source, "WET", "FastWARC", "WET", INSTALL)
            return
        tally = _Tally()
        try:
            fault = yield from _records(file, options.max_doc_bytes, tally)
            if fault is not None:
                yield _fault(file, tally.number, fault)
                return
        except (NotRegularFile, OSError) as err:
            yield unreadable_problem(file.source, err)
            return
        yield from _file_problems(file, tally)


class _Tally:
    """What a file's records were: their count and how many of each type were read."""

    def __init__(self) -> None:
        self.number = 0  # records met so far, good or bad: the number of the last one
        self.types: Counter[str] = Counter()  # the records parsed, by WARC-Type


def _iterate(stream: _Stream, lenient: bool) -> Iterator[Any]:
    from fastwarc.warc import ArchiveIterator

    # max_header_len: FastWARC's 32 KiB default would refuse valid records with a long
    # WARC-Target-URI; a longer header than MAX_HEADER is taken as damage (see _records).
    options: dict[str, Any] = {"parse_http": False, "stream_detect": False, "max_header_len": MAX_HEADER}
    if not lenient:
        return iter(ArchiveIterator(stream, **options))
    try:  # FastWARC 2 names its lenient parse quirks_mode; before, it was strict_mode=False
        return iter(ArchiveIterator(stream, quirks_mode=True, **options))
    except TypeError:
        return iter(ArchiveIterator(stream, strict_mode=False, **options))


def _records(file: InputFile, limit: int, tally: _Tally) -> Generator[RawDocument | Problem, None, str | None]:
    """The file's documents and record problems; a record FastWARC cannot parse costs that
    record only: reading goes on in the file opened again, at the next record start after
    it. Returns the fault that ended the stream, if one did."""
    stream = _Stream(open_stream(file.path))
    gaps: _Gaps | None = None
    try:
        if stream.lf_headers():
            stream.header_end = _lf_header_end
            gaps = _Gaps(open_stream(file.path))
        return (yield from _read_on(file, stream, limit, tally, gaps))
    finally:
        stream.release()
        if gaps is not None:
            gaps.release()


def _read_on(file: InputFile, stream: _Stream, limit: int, tally: _Tally,
             gaps: _Gaps | None) -> Generator[RawDocument | Problem, None, str | None]:
    records = _iterate(stream, gaps is not None)
    last: tuple[int, int] | None = None  # the last good record's start and Content-Length
    while True:
        try:
            record = next(records, None)
        except Exception as err:  # noqa: BLE001 - FastWARC's "Invalid WARC header" and the like
            # What _read_raw let through (a limit, no memory) comes out of FastWARC here:
            # it stops the run, never an "invalid record".
            stop_on_machine_limit(file.source, err)
            if stream.fault is not None:
                return stream.fault  # the stream's fault made the record unreadable: the caller says so
            tally.number += 1
            stream.reopen(open_stream(file.path))
            found = stream.skip_to_record_after(last)
            if stream.fault is not None:  # met while looking for the next record: it says what is lost
                return stream.fault
            yield _invalid(file.source, tally.number, str(err) or type(err).__name__, found)
            if not found:
                return None
            if gaps is not None:
                gaps.skip_to(stream.tell())  # the bad record's bytes are said: not a gap
            records = _iterate(stream, gaps is not None)
            continue
        if record is None:
            if gaps is not None and stream.fault is None and (stray := gaps.before(None)):
                tally.number += 1
                yield _invalid(file.source, tally.number, _stray(stray), False)
            return stream.fault
        if gaps is not None:
            if stray := gaps.before(record.stream_pos):
                tally.number += 1
                yield _invalid(file.source, tally.number, _stray(stray), True)
            gaps.past(record.stream_pos, record.content_length)
        tally.number += 1
        last = (record.stream_pos, record.content_length)
        item = _record(file.source, tally.number, record, limit, tally.types)
        if stream.fault is not None and isinstance(item, Problem) and item.problem.startswith(CUT_OFF):
            tally.number -= 1  # the stream's fault cut it: one problem, the fault's, says so
            return stream.fault
        if item is not None:
            yield item


def _file_problems(file: InputFile, tally: _Tally) -> Iterator[Problem]:
    """What the file as a whole lacks or holds that curate does not read: WET's text is in
    its conversion records; a file without them (a WARC of responses) or with records a
    WET file does not hold would otherwise give less output and no word of it."""
    if tally.number == 0:
        yield empty_file_problem(file.source) if file.size == 0 else Problem(
            file.source, None, "no WARC records in the file", "skipped; is it a WET file?", lines=0)
        return
    others = {kind: n for kind, n in tally.types.items() if kind != "conversion"}
    if not tally.types or tally.types["conversion"]:
        unread = {kind: n for kind, n in others.items() if kind != "warcinfo"}  # warcinfo opens every WET file
        if unread:
            yield Problem(file.source, None, f"{_count(unread)} not read: curate reads only conversion records",
                          "skipped; a WET file holds warcinfo and conversion records: check how the file was made",
                          lines=0)
        return
    yield Problem(file.source, None, f"no conversion records ({_count(others)}): a WARC file, not a WET file?",
                  "skipped; curate reads the extracted text of WET files (conversion records): extract the text "
                  "first (Common Crawl publishes each WARC's WET file) or give another --format", lines=0)


def _count(kinds: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {kind} record{'s' if n != 1 else ''}" for kind, n in sorted(kinds.items()))


def _stray(size: int) -> str:
    return f"{size:,} bytes that no WARC/1. line starts"


def _lf_header_end(data: bytes) -> int:
    """Where the blank line that ends WARC headers of LF or CRLF lines ends in ``data`` (-1:
    not in it), as FastWARC's lenient parse ends them: at the first line that is empty."""
    ends = [at + len(blank) for blank in (b"\n\n", b"\n\r\n") if (at := data.find(blank)) >= 0]
    return min(ends, default=-1)


def _crlf_header_end(data: bytes) -> int:
    at = data.find(HEADER_END)
    return at + len(HEADER_END) if at >= 0 else -1


class _Gaps:
    """A file whose headers end in LF read a second time, alongside FastWARC's lenient read
    of it, to find the bytes that read skips unsaid (lines before a ``WARC/1.`` line that
    no record holds): each record's headers and payload are passed, what lies between
    records must be blank (FastWARC skips blank lines between records, as a strict read
    does). Bounded memory: a record's headers (at most MAX_HEADER) and a chunk at a time.
    A fault of this stream is the first one's too, which says it: reading just stops."""

    def __init__(self, opening: contextlib.AbstractContextManager[Any]):
        self._opened = contextlib.ExitStack()
        raw = self._opened.enter_context(opening)
        self._read = getattr(raw, "read1", raw.read)
        self._data = b""  # bytes read and not yet passed; data[0] is at self._pos
        self._pos = 0
        self._ended = False

    def release(self) -> None:
        self._opened.close()

    def _more(self) -> bool:
        if self._ended:
            return False
        try:
            chunk = bytes(self._read(1 << 16))
        except Exception as err:  # the stream's fault (EOFError, zlib.error, ...): _Stream meets and says it
            if machine_limit(err) is not None or memory_error_in(err) is not None:
                raise
            chunk = b""
        self._ended = not chunk
        self._data += chunk
        return bool(chunk)

    def before(self, start: int | None) -> int:
        """The bytes up to ``start`` (None: the file's end) passed: how many of them are not
        blank, from the first such byte on (0: all blank)."""
        stray = 0
        while start is None or self._pos < start:
            if not self._data and not self._more():
                break
            take = len(self._data) if start is None else min(len(self._data), start - self._pos)
            piece, self._data = self._data[:take], self._data[take:]
            self._pos += take
            if stray:
                stray += take
            elif rest := piece.lstrip(b" \t\r\n"):
                stray = len(rest)
        return stray

    def past(self, start: int, length: int) -> None:
        """The record at ``start`` (where ``before`` left off) passed: its headers, up to the
        blank line that ends them, and its ``length`` bytes of payload."""
        while (end := _lf_header_end(self._data)) < 0:
            if len(self._data) > MAX_HEADER or not self._more():
                self._data, self._pos = b"", self._pos + len(self._data)
                return
        self.skip_to(start + end + length)

    def skip_to(self, target: int) -> None:
        """Passed up to ``target``, unchecked (a record's payload, a record said bad)."""
        while self._pos + len(self._data) < target:
            self._pos += len(self._data)
            self._data = b""
            if not self._more():
                return
        self._data, self._pos = self._data[target - self._pos:], target


class _Stream(io.RawIOBase):
    """The decompressed stream FastWARC reads, ending where it cannot be read further (the
    error kept in ``fault``): FastWARC reads ahead, so an error passed through would lose
    the records before it. ``skip_to_record_after`` moves a freshly opened one to where
    reading goes on after a bad record."""

    def __init__(self, opening: contextlib.AbstractContextManager[Any]):
        super().__init__()
        self.reopen(opening)

    def reopen(self, opening: contextlib.AbstractContextManager[Any]) -> None:
        """Read from the stream ``opening`` opens (the file from its start), the one read
        so far closed."""
        opened = contextlib.ExitStack()
        raw = opened.enter_context(opening)  # if this fails, the stream read so far stays
        if getattr(self, "_opened", None) is not None:
            self.release()
        self._opened = opened
        # read1: at most one block of the decompressor per call, so what came before a
        # fault is returned before the fault is raised (read(n) would drop it).
        self._read = getattr(raw, "read1", raw.read)
        self._at = 0  # where the next byte handed out is in the stream
        self.fault: str | None = None
        self._replay = memoryview(b"")  # bytes read ahead while seeking, handed out first

    header_end = staticmethod(_crlf_header_end)  # where a record's headers end (_lf_header_end: LF ones)

    def lf_headers(self) -> bool:
        """Whether the first line that is not blank, read ahead (and handed out again), is a
        ``WARC/1.`` line that ends in LF, not CRLF."""
        data = b""
        while b"\n" not in (first := data.lstrip(b" \t\r\n")) and len(data) <= MAX_HEADER:
            if not (chunk := self._read_raw(1 << 16)):
                break
            data += chunk
        self._replay = memoryview(data)
        line = first.split(b"\n", 1)[0]
        return b"\n" in first and line.startswith(b"WARC/1.") and not line.endswith(b"\r")

    def release(self) -> None:
        self._opened.close()

    def readable(self) -> bool:
        return True

    def tell(self) -> int:  # FastWARC asks where a record starts
        return self._at

    def readinto(self, buffer: Any) -> int:
        if self._replay:
            data = bytes(self._replay[:len(buffer)])
            self._replay = self._replay[len(data):]
        else:
            data = self._read_raw(len(buffer))
        buffer[:len(data)] = data
        self._at += len(data)
        return len(data)

    def _read_raw(self, size: int) -> bytes:
        if self.fault is not None:
            return b""
        try:
            return bytes(self._read(size))
        except Exception as err:  # EOFError, zlib.error, ZstdError, OSError: all of them faults
            if machine_limit(err) is not None or memory_error_in(err) is not None:
                raise  # not the file's: it stops the run (stop_on_machine_limit)
            self.fault = str(err) or type(err).__name__
            return b""

    def skip_to_record_after(self, last: tuple[int, int] | None) -> bool:
        """Move this stream, opened again from its start, to the next record start (a line
        that begins with ``WARC/1.``) after the bad record, which begins where the last good
        record (``last``: its start and Content-Length; None: there was none) ends; False if
        none follows. The bad record's own Content-Length is not trusted: it is the record
        found damaged."""
        data, pos = b"", 0  # bytes read and not yet passed, and where data[0] is in the stream
        if last is not None:
            start, length = last
            data, pos = self._pass(data, pos, start)
            while (end := self.header_end(data)) < 0:  # the good record's header, then its payload
                if len(data) > MAX_HEADER or not (chunk := self._read_raw(1 << 16)):
                    return False
                data += chunk
            data, pos = self._pass(data, pos, pos + end + length)
        while not (rest := data.lstrip(b" \t\r\n")):  # FastWARC skips these before a record
            pos += len(data)
            if not (data := self._read_raw(1 << 16)):
                return False
        data, pos = rest, pos + len(data) - len(rest)
        # data[0] is the bad record's first byte: a record start found after it is the next.
        while (found := data.find(RECORD_START)) < 0:
            keep = len(RECORD_START) - 1
            pos, data = pos + max(len(data) - keep, 0), data[-keep:]
            if not (chunk := self._read_raw(1 << 16)):
                return False
            data += chunk
        self._replay = memoryview(data)[found + 1:]
        self._at = pos + found + 1
        return True

    def _pass(self, data: bytes, pos: int, target: int) -> tuple[bytes, int]:
        """(what is left of ``data``, read on as needed, once the stream's bytes before
        ``target`` are passed; where it starts)."""
        while pos + len(data) < target:
            pos += len(data)
            if not (data := self._read_raw(min(max(target - pos, 1 << 16), 1 << 20))):
                return b"", pos
        return data[target - pos:], target


def _invalid(source: str, number: int, why: str, found: bool) -> Problem:
    if "Maximum header length" in why:
        why = f"headers longer than {MAX_HEADER:,} bytes ({why})"
    if found:
        fix = "record skipped; read on from the next record start after it; check how the file was made"
    elif number > 1:
        fix = "record skipped; no record start (a WARC/1. line) follows it; check how the file was made"
    else:
        fix = "skipped; is it a WARC/WET file? (--format wet reads any name as one)"
    return Problem(source, number, f"invalid WARC record: {why}", fix)


def _fault(file: InputFile, number: int, why: str) -> Problem:
    problem, fix = fault_wording(file.path, why)
    return Problem(file.source, number + 1, problem,
                   f"records after record {number} are lost; {fix}" if number else f"no record could be read; {fix}")


def _record(source: str, number: int, record: Any, limit: int, types: Counter[str]) -> RawDocument | Problem | None:
    from fastwarc.warc import WarcRecordType

    headers = record.headers
    if "Content-Length" not in headers:
        if any("\n" in value for value in dict(headers).values()):  # LF lines, read strictly: one header
            return Problem(source, number, "WARC headers that end in LF, not CRLF, after a record whose headers end "
                           "in CRLF: no Content-Length can be read",
                           "record skipped; the file mixes LF and CRLF header lines: rewrite it with CRLF (the WARC "
                           "standard's), or check how it was made")
        return Problem(source, number, f"{CUT_OFF} inside its headers (no Content-Length)",
                       "record skipped; the file is truncated: re-download it")
    if not headers["Content-Length"].strip().isdigit():
        return Problem(source, number, f"invalid WARC record: Content-Length {headers['Content-Length'][:40]!r}",
                       "record skipped; check how the file was made")
    types[str(record.record_type)] += 1  # "response", "conversion"; "unknown" for a type not in WARC 1.1
    if record.record_type != WarcRecordType.conversion:
        record.reader.consume()
        return None
    length = record.content_length
    if length > limit:
        record.reader.consume()
        return Problem(source, number, f"record of {length:,} bytes is larger than --max-doc-bytes ({limit:,} bytes)",
                       "record skipped; raise --max-doc-bytes to read it")
    payload = record.reader.read()
    if len(payload) < length:
        return Problem(source, number, f"{CUT_OFF}: {len(payload):,} of its {length:,} bytes",
                       "record skipped; the file is truncated: re-download it")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as err:
        return Problem(source, number, f"payload is not valid UTF-8 ({err.reason} at byte {err.start})",
                       "record skipped; WET payloads are UTF-8: check how the file was made",
                       preview=payload[:120].decode("utf-8", "replace"))
    metadata = {name: headers[header] for header, name in KEPT_HEADERS.items() if header in headers}
    rid = record.record_id
    usable = bool(rid) and names_a_document(rid)
    if rid and not usable:  # too long to name the document (FastWARC reads headers up to 1 MiB): kept
        metadata["id"] = rid
    return RawDocument(id=rid if usable else f"{source}:{number}", source=source, record_line=number, payload=text,
                       size=max(length, 1), metadata=metadata or None)
