"""Common Crawl WET files (``.warc.wet``, ``.wet``; each also compressed, as Common Crawl
ships them: ``.warc.wet.gz``): one document per ``conversion`` record, parsed with
FastWARC (the optional extra ``wet``; ``bench/wet_readers.py`` measured it at about 3.7x
warcio's speed).

The document's id is the record's ``WARC-Record-ID`` (as written, ``<urn:uuid:...>``),
its text the record's payload (UTF-8, as Common Crawl writes it), and these headers are
kept in its metadata, under the names datatrove's WARC reader uses for the first two:

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
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from curate.document import Problem, RawDocument
from curate.formats.base import (
    NotRegularFile,
    ReadOptions,
    empty_file_problem,
    missing_extra_problem,
    unreadable_problem,
)
from curate.formats.compressed import fault_wording, open_stream

if TYPE_CHECKING:
    from curate.discover import InputFile

INSTALL = "pip install 'curate-corpus[wet]'"
CUT_OFF = "WARC record cut off"
KEPT_HEADERS = {"WARC-Target-URI": "url", "WARC-Date": "date", "WARC-Refers-To": "refers_to",
                "Content-Type": "content_type", "WARC-Identified-Content-Language": "content_language"}


class WetReader:
    name = "wet"
    suffixes: tuple[str, ...] = (".warc.wet", ".wet")
    compressed = True

    def read(self, file: InputFile, options: ReadOptions) -> Iterator[RawDocument | Problem]:
        try:
            from fastwarc.warc import ArchiveIterator
        except ImportError:
            yield missing_extra_problem(file.source, "WET", "FastWARC", "WET", INSTALL)
            return
        number = 0
        try:
            with open_stream(file.path) as raw:
                stream = _EndAtFault(raw)
                records = iter(ArchiveIterator(stream, parse_http=False, stream_detect=False))
                while True:
                    try:
                        record = next(records, None)
                    except Exception as err:  # noqa: BLE001 - FastWARC's "Invalid WARC header" and the like
                        if stream.fault is None:
                            yield _invalid(file.source, number, str(err) or type(err).__name__)
                            return
                        break  # the stream's fault made the record unreadable: said below
                    if record is None:
                        break
                    number += 1
                    item = _record(file.source, number, record, options.max_doc_bytes)
                    if stream.fault is not None and isinstance(item, Problem) and item.problem.startswith(CUT_OFF):
                        number -= 1  # the stream's fault cut it: one problem, the fault's, says so
                        break
                    if item is not None:
                        yield item
                if stream.fault is not None:
                    yield _fault(file, number, stream.fault)
                    return
        except (NotRegularFile, OSError) as err:
            yield unreadable_problem(file.source, err)
            return
        if number == 0:
            yield empty_file_problem(file.source) if file.size == 0 else Problem(
                file.source, None, "no WARC records in the file", "skipped; is it a WET file?", lines=0)


class _EndAtFault(io.RawIOBase):
    """The stream, ending where it cannot be read further (the error kept in ``fault``):
    FastWARC reads ahead, so an error passed through would lose the records before it."""

    def __init__(self, raw: Any):
        super().__init__()
        # read1: at most one block of the decompressor per call, so what came before a
        # fault is returned before the fault is raised (read(n) would drop it).
        self._read = getattr(raw, "read1", raw.read)
        self._at = 0
        self.fault: str | None = None

    def readable(self) -> bool:
        return True

    def tell(self) -> int:  # FastWARC asks where a record starts
        return self._at

    def readinto(self, buffer: Any) -> int:
        if self.fault is not None:
            return 0
        try:
            data = self._read(len(buffer))
        except Exception as err:  # noqa: BLE001 - EOFError, zlib.error, ZstdError, OSError: all of them faults
            self.fault = str(err) or type(err).__name__
            return 0
        buffer[:len(data)] = data
        self._at += len(data)
        return len(data)


def _invalid(source: str, number: int, why: str) -> Problem:
    return Problem(source, number + 1, f"invalid WARC record: {why}",
                   f"records after record {number} are lost; check how the file was made" if number
                   else "skipped; is it a WARC/WET file? (--format wet reads any name as one)")


def _fault(file: InputFile, number: int, why: str) -> Problem:
    problem, fix = fault_wording(file.path, why)
    return Problem(file.source, number + 1, problem,
                   f"records after record {number} are lost; {fix}" if number else f"no record could be read; {fix}")


def _record(source: str, number: int, record: Any, limit: int) -> RawDocument | Problem | None:
    from fastwarc.warc import WarcRecordType

    headers = record.headers
    if "Content-Length" not in headers:
        return Problem(source, number, f"{CUT_OFF} inside its headers (no Content-Length)",
                       "record skipped; the file is truncated: re-download it")
    if not headers["Content-Length"].strip().isdigit():
        return Problem(source, number, f"invalid WARC record: Content-Length {headers['Content-Length'][:40]!r}",
                       "record skipped; check how the file was made")
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
    return RawDocument(id=rid or f"{source}:{number}", source=source, record_line=number, payload=text,
                       size=max(length, 1), metadata=metadata or None)
