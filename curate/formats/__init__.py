"""Input and output formats, each a plug-in registered here by name.

Readers
-------
A reader (``curate.formats.base.Reader``) is an object with a ``name``, the file name
``suffixes`` it reads, ``compressed`` (the same names ending in ``.gz``, ``.zst``,
``.bz2`` or ``.xz`` are its too: ``compressed.COMPRESSIONS``) and ``read(file, options)``,
which yields ``RawDocument``s and ``Problem``s in file order. ``--format auto`` (the
default) picks a file's reader by the longest suffix its name ends with; ``--format NAME``
reads every input file with reader NAME.

What a reader yields, and what the provenance of the output then means, is fixed by the
type of ``RawDocument.payload``:

- ``bytes``: the bytes of the whole file (``record_line`` is None). They are decoded
  as a .txt file is (a byte order mark, ``--encoding``, UTF-8, UTF-16, a detected legacy
  encoding), lines are numbered from 1 in the file, and each line's ``bytes`` span
  indexes the raw file (a compressed file's decompressed bytes): ``"bytes_of": "file"``
  in the corpus, with the encoding named.
- ``str``: the text of one record (``record_line`` is the record's 1-based line or
  number in the file). Every line of it has the record's number as its ``line``, and its
  span indexes the UTF-8 encoding of the text: ``"bytes_of": "text_field"``.

What ``line`` and ``bytes`` mean, format by format (every span is exact: the tests cut
each kept and removed line back out of what it indexes):

====================  ===========================================  ====================================
reader                ``line``                                     ``bytes`` (``bytes_of``)
====================  ===========================================  ====================================
txt                   the line's 1-based number in the file        the raw file (``file``)
jsonl (.json,         the record's 1-based line in the             the UTF-8 of its text field
.ndjson)              (decompressed) file; in a .json file that    (``text_field``)
                      is one array, the element's 1-based number
parquet               the row's 1-based number in the file,        the UTF-8 of the row's text value
                      over all row groups                          (``text_field``)
arrow (.feather)       as parquet                                   as parquet
csv (.tsv)            the row's 1-based number under the header    the UTF-8 of the row's text cell
                      (a row may span lines of the file)           (``text_field``)
wet                   the record's 1-based number among all        the UTF-8 of the record's payload
                      WARC records of the (decompressed) file;     (``text_field``)
                      the warcinfo record is 1
====================  ===========================================  ====================================

An id comes from the record (a JSONL ``id`` field, a Parquet, Arrow or CSV ``id`` column, a WET
record's ``WARC-Record-ID``), else it is ``SOURCE:LINE``; the record's other fields go to
``RawDocument.metadata`` (each reader's module says how it names and converts them). An
id that names nothing (``""``) or is longer than ``base.MAX_ID_BYTES`` is refused by
``base.names_a_document``, the one rule of every reader, and kept in the metadata as ``id``.

``RawDocument.size`` is the input bytes the document took (for progress, and never less
than the payload's length in UTF-8: only a document bigger than ``--max-line-bytes`` has
its lines measured), ``id`` its record's id or, for a file, its source. Whatever cannot be read is a Problem naming the
file (and line), never an exception. A new reader is one module and one
``register_reader(...)`` line (below for a built-in one; tests/toys/reader.py is a toy).

Sinks
-----
A sink (``curate.formats.base.Sink``) is a corpus format, named by ``--output-format``:
it encodes the corpus records of one chunk of a run into one part file, which the commit
moves into ``OUT/corpus/`` as a shard (``curate.write.OutputWriter`` calls it). The records
are the same whatever the sink (``curate.write.document_record``; docs/output.md). A new
sink is one module and one ``register_sink(...)`` line (tests/toys/sink.py is a toy).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING

from curate.document import Line, Problem, RawDocument
from curate.errors import UsageError
from curate.formats.arrow import ArrowReader
from curate.formats.base import (
    AUTO,
    DEFAULT_MAX_DOC_BYTES,
    DEFAULT_MAX_DOC_LINES,
    DEFAULT_MAX_LINE_BYTES,
    DEFAULT_READ,
    Reader,
    ReadOptions,
    Sink,
)
from curate.formats.compressed import COMPRESSIONS
from curate.formats.csv_file import CsvReader
from curate.formats.ids import IdRegistry, with_id_problems
from curate.formats.jsonl import JsonlReader
from curate.formats.lines import count_nonblank, split_decoded
from curate.formats.parquet import ParquetReader
from curate.formats.parquet_sink import ParquetShards
from curate.formats.shards import JSONL, JSONL_GZ, JSONL_ZST
from curate.formats.txt import TxtReader, count_nonblank_lines, split_file
from curate.formats.wet import WetReader
from curate.storage import Location, base_name

if TYPE_CHECKING:
    from curate.discover import InputFile

__all__ = ["AUTO", "COMPRESSIONS", "DEFAULT_MAX_DOC_BYTES", "DEFAULT_MAX_DOC_LINES", "DEFAULT_MAX_LINE_BYTES",
           "DEFAULT_READ", "DEFAULT_SINK",
           "ReadOptions", "Reader", "Sink", "check_format", "claimed_suffix", "format_names", "read_documents",
           "reader_by_name",
           "reader_for", "register_reader", "register_sink", "sink_by_name", "sink_names", "split_lines", "suffix_list",
           "suffixes_of", "supported"]

_READERS: dict[str, Reader] = {}
_SINKS: dict[str, Sink] = {}
DEFAULT_SINK = "jsonl"


def register_reader(reader: Reader) -> Reader:
    if reader.name == AUTO:
        raise ValueError(f"{AUTO!r} means 'by suffix' to --format; give the reader another name")
    if reader.name in _READERS:
        raise ValueError(f"a reader named {reader.name!r} is registered already")
    _READERS[reader.name] = reader
    return reader


def register_sink(sink: Sink) -> Sink:
    if sink.name in _SINKS:
        raise ValueError(f"a sink named {sink.name!r} is registered already")
    _SINKS[sink.name] = sink
    return sink


def format_names() -> list[str]:
    """What ``--format`` accepts: auto, then every reader's name."""
    return [AUTO, *sorted(_READERS)]


def reader_by_name(name: str) -> Reader:
    try:
        return _READERS[name]
    except KeyError:
        raise UsageError(f"--format {name}: unknown format; use one of {', '.join(format_names())}") from None


def check_format(name: str) -> str:
    """``name`` if ``--format`` may name it, else UsageError listing the valid names."""
    return name if name == AUTO else reader_by_name(name).name


def sink_names() -> list[str]:
    """What ``--output-format`` accepts."""
    return sorted(_SINKS)


def sink_by_name(name: str) -> Sink:
    try:
        return _SINKS[name]
    except KeyError:
        raise UsageError(f"--output-format {name}: unknown; use one of {', '.join(sink_names())}") from None


def suffixes_of(reader: Reader) -> tuple[str, ...]:
    """Every file name ending ``reader`` claims: its suffixes and, if it reads streams,
    each of them compressed."""
    compressed = [s + c for s in reader.suffixes for c in COMPRESSIONS] if reader.compressed else []
    return (*reader.suffixes, *compressed)


def reader_for(path: Location, format: str = AUTO) -> Reader | None:
    """The reader of a file: the named one, or with ``auto`` the one whose suffix is the
    longest the file name ends with (None if no reader claims it)."""
    if format != AUTO:
        return reader_by_name(format)
    claim = _longest_claim(path)
    return None if claim is None else claim[1]


def claimed_suffix(path: Location) -> str:
    """The ending of ``path``'s file name that its reader claims, as written (``.jsonl.gz``
    of ``crawl.v2.jsonl.gz``); "" when no reader claims the name."""
    claim = _longest_claim(path)
    if claim is None:
        return ""
    name = base_name(path)
    return name[len(name) - claim[0]:]


def _longest_claim(path: Location) -> tuple[int, Reader] | None:
    """The longest suffix a reader claims of the file name, by its length, and that reader."""
    name = base_name(path).lower()
    best: tuple[int, Reader] | None = None
    for reader in _READERS.values():
        for suffix in suffixes_of(reader):
            if name.endswith(suffix) and (best is None or len(suffix) > best[0]):
                best = (len(suffix), reader)
    return best


def suffix_list() -> str:
    """Every suffix ``auto`` reads, for people, a reader's compressed names told once:
    '.txt, .jsonl, .json (each also .gz, .zst, .bz2 or .xz) and .parquet'."""
    kinds = ", ".join(COMPRESSIONS)
    kinds = kinds if len(COMPRESSIONS) < 2 else kinds.rsplit(", ", 1)[0] + " or " + list(COMPRESSIONS)[-1]
    names = [", ".join(reader.suffixes) + (f" (each also {kinds})" if reader.compressed else "")
             for reader in _READERS.values()]
    # Readers apart by semicolons: with commas, "(each also .gz)" seemed to be said of
    # the reader before too (".parquet, .wet (each also .gz)").
    return names[0] if len(names) == 1 else f"{'; '.join(names[:-1])}; and {names[-1]}"


def supported() -> str:
    """What ``auto`` reads, for messages: 'curate reads .parquet; and .jsonl (each also .gz)'."""
    return f"curate reads {suffix_list()}"


# -- reading ---------------------------------------------------------------------------------


def read_documents(files: list[InputFile], text_field: str | None = None,
                   options: ReadOptions | None = None) -> Iterator[RawDocument | Problem]:
    """Yield every document of every file, in order, and a Problem for whatever cannot be read.

    Each file is read by ``options.format`` if one is named, else by the reader discovery
    chose for it. ``text_field``, if given, replaces ``options.text_field``. A document
    whose id was used before is kept, after a problem (of 0 lines) naming where the id was
    first used: ids are meant to be unique."""
    options = options_with(options, text_field)
    ids = IdRegistry(files)
    try:
        yield from with_id_problems(((number, item) for number, f in enumerate(files)
                                     for item in read_file(f, number, options)), ids)
    finally:
        ids.close()


def options_with(options: ReadOptions | None, text_field: str | None) -> ReadOptions:
    options = options or DEFAULT_READ
    if text_field is not None and text_field != options.text_field:
        options = dataclasses.replace(options, text_field=text_field)
    return options


def read_file(f: InputFile, number: int, options: ReadOptions) -> Iterator[RawDocument | Problem]:
    """The items of file ``number`` of the run, as read_documents yields them without the
    duplicate-id problems (the caller checks ids, in input order: ids.py)."""
    reader = reader_for(f.path, options.format if options.format != AUTO else f.format)
    if reader is None:  # a file discovery would not have listed
        raise UsageError(f"{f.path}: unsupported file type; {supported()} files, or name a format with --format")
    yield from reader.read(f, options)


def split_lines(doc: RawDocument, options: ReadOptions = DEFAULT_READ) -> tuple[list[Line], list[Problem], int, str]:
    """Cut a document into its non-blank lines, each with its origin in the source bytes
    (the payload contract above says which bytes).

    Returns the lines, the lines that could not be decoded (or were too long), the number
    of non-blank lines read (the accounting total), and the encoding the byte spans refer to.
    """
    too_many = _lines_over_limit(doc.payload, options.max_doc_lines, options.encoding)
    if too_many is not None:
        return [], [Problem(doc.source, doc.record_line,
                            f"{too_many:,} lines, more than --max-doc-lines ({options.max_doc_lines:,})",
                            "skipped, unread: all of a document's lines are held at once (about 2 kB each); raise "
                            "--max-doc-lines to read it, or split the document", lines=too_many)], too_many, "utf-8"
    # A line is never longer than the input it came from (a JSONL text's UTF-8 bytes are
    # no more than its raw record's), so only a document this big needs its lines measured.
    limit = options.max_line_bytes if doc.size > options.max_line_bytes else 0
    if isinstance(doc.payload, bytes):
        lines, problems, read, encoding = split_file(doc, doc.payload, options.encoding, limit)
    else:
        encoding = "utf-8"
        lines, problems, read = split_decoded(doc, doc.payload, encoding, first_byte=0,
                                              record_line=doc.record_line or 0, limit=limit)
    if read == 0 and not problems:
        where = "file" if doc.record_line is None else "record's text"
        problems.append(Problem(doc.source, doc.record_line, f"no text: the {where} holds only whitespace",
                                "nothing to keep; remove it or check how it was produced", lines=0))
    return lines, problems, read, encoding


def _lines_over_limit(payload: bytes | str, limit: int, encoding: str) -> int | None:
    """The document's non-blank lines if they are more than ``limit``, else None: the
    ``read`` split_lines would count. Counted without splitting (a list of 30 million
    lines is itself gigabytes), and only when its line breaks (each of "\r" and "\n"
    counted, as bytes in a file: more than there are) allow that many. A file's bytes are
    decoded as split_file would decode them (``encoding``: --encoding)."""
    if isinstance(payload, bytes):
        breaks = payload.count(b"\n") + payload.count(b"\r")
    else:
        breaks = payload.count("\n") + payload.count("\r")
    if breaks < limit:
        return None
    count = count_nonblank_lines(payload, None, encoding) if isinstance(payload, bytes) else count_nonblank(payload)
    return count if count > limit else None


# The built-in formats: a new one is a module and a line here.
register_reader(TxtReader())
register_reader(JsonlReader())
register_reader(ParquetReader())
register_reader(WetReader())
register_reader(CsvReader())
register_reader(ArrowReader())
for _sink in (JSONL, JSONL_GZ, JSONL_ZST, ParquetShards()):
    register_sink(_sink)
