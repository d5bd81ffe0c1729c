"""What every reader shares: the reading options, the reader protocol, and opening an
input safely (regular files only, never blocking on a pipe or a device)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from curate.document import Problem, RawDocument
from curate.errors import memory_error_in, raise_if_machine_limit
from curate.storage import Location, is_remote, open_remote

if TYPE_CHECKING:
    from curate.discover import InputFile

# Memory for a line is about 26-35 times its size (measured: a 200 MB line peaked at 5.3 GB,
# an 8 MB one at 408 MB for the whole process), so 8 MiB keeps one line under ~300 MB per
# worker while a whole page or chapter written as one line (several MB, seen in real
# crawls) is still read.
DEFAULT_MAX_LINE_BYTES = 8 << 20
# The largest document held in memory at once: a .txt file, or one JSONL record. 64 MiB
# is a long book many times over; beyond it a file is almost always a dump, a bomb or a
# mistake, and holding it (and its lines) would need gigabytes.
DEFAULT_MAX_DOC_BYTES = 64 << 20
# The most lines one document may have. Every line of a document is held at once while it
# is cleaned (the page rules and the line model see the whole page): about 2.2 kB a line,
# measured on a document of a million short lines (2.2 GB). 64 MiB of two-byte lines
# would be 32 million lines and 70 GB; a web page has hundreds, a long book tens of
# thousands.
DEFAULT_MAX_DOC_LINES = 1_000_000
SKIP_CHUNK = 1 << 20  # an over-long record is skipped in pieces of this size, never held

AUTO = "auto"  # the format of each file told by its suffix


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How files are read: which reader, the field that holds the text, the encoding of
    .txt files and the bounds on what one document and one line may take."""

    format: str = AUTO  # "auto" (by suffix) or a registered reader's name: --format
    text_field: str = "text"  # for readers of records (JSONL): --text-field
    encoding: str = AUTO  # of .txt files: "auto" or a codec name accepted by check_encoding
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    max_doc_bytes: int = DEFAULT_MAX_DOC_BYTES
    max_doc_lines: int = DEFAULT_MAX_DOC_LINES


DEFAULT_READ = ReadOptions()  # frozen: safe to share as a default


class Reader(Protocol):
    """An input format. ``suffixes`` are how its file names end, in lower case (``auto``
    picks the reader of the longest suffix a name ends with); with ``compressed`` set, the
    same names ending in ``.gz`` or ``.zst`` are its too, and ``read`` is expected to open
    files with ``curate.formats.compressed.open_stream``. ``read`` yields the file's
    documents in order and a Problem for whatever cannot be read, never an exception for
    bad input (see the payload contract in ``curate.formats``)."""

    name: str
    suffixes: tuple[str, ...]
    compressed: bool

    def read(self, file: InputFile, options: ReadOptions) -> Iterator[RawDocument | Problem]: ...


class NotRegularFile(Exception):
    """A path that is a FIFO, a device or a socket: opening or reading it could block
    forever or never end."""

    def __init__(self, kind: str):
        self.kind = kind
        super().__init__(kind)


_FILE_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))


def kind_of_mode(mode: int) -> str:
    return next((kind for test, kind in _FILE_KINDS if test(mode)), "not a regular file")


def open_regular(path: os.PathLike | str) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file, else raise NotRegularFile.

    Opened non-blocking and checked on the open descriptor: a check before opening could
    be raced, and a blocking open of a FIFO waits forever for a writer."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(kind_of_mode(mode))
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def open_input(path: Location) -> BinaryIO:
    """Open an input for reading: a local file with open_regular, a URL through fsspec.
    Raises NotRegularFile or OSError."""
    return open_remote(path) if isinstance(path, str) and is_remote(path) else open_regular(path)


def not_regular_problem(source: str, kind: str) -> Problem:
    return Problem(source, None, f"not a regular file: {kind}",
                   "skipped; curate reads regular files only (a pipe or device may never end): "
                   "copy the data into a file", lines=0)


def unreadable_problem(source: str, err: NotRegularFile | OSError) -> Problem:
    """What every reader says of a file it cannot open or read through. A limit of the
    process or the machine (too many open files, no kernel memory) is not the file's
    fault: it stops the run (stop_on_machine_limit) instead of quarantining the file."""
    stop_on_machine_limit(source, err)
    if isinstance(err, NotRegularFile):
        return not_regular_problem(source, err.kind)
    return Problem(source, None, f"cannot read file: {err.strerror or err}",
                   "skipped; check the path and its permissions", lines=0)


def stop_on_machine_limit(source: str, err: BaseException) -> None:
    """The one rule of every reader: an error reading ``source`` that is a limit of the
    process or the machine (EMFILE, ENFILE, ENOMEM, ENOBUFS, also as the cause of a
    stream's fault) raises MachineLimit, which stops the run with --resume advice, the
    same in a worker process (sent back pickled) as here. A MemoryError is raised again,
    naming the file. Any other error is the file's."""
    raise_if_machine_limit(err, f"reading {source}")
    memory = memory_error_in(err)
    if memory is not None:
        # Not the file's fault, though its file was being read. What a file can declare
        # to make curate hold more than it means to is refused before it is held, and the
        # file quarantined for it by name: a record, line or page over --max-doc-bytes or
        # --max-line-bytes (read in pieces, never whole), a Parquet page or dictionary
        # (parquet_pages), a zstd window, an xz dictionary. What is left to fail is an
        # allocation within those limits, which a machine with the memory free makes: quarantined, a sound
        # file was lost to a passing shortage (another process's peak, a low ulimit -v)
        # and the run said it had finished. A MemoryError is the stop every engine makes
        # of a lack of memory (driver.out_of_memory, the worker pool's), with --resume.
        detail = f": {memory}" if str(memory) else ""
        raise MemoryError(f"reading {source}{detail}") from err


def missing_extra_problem(source: str, what: str, library: str, extra: str, install: str) -> Problem:
    """A file whose reader needs an optional library that is not installed."""
    return Problem(source, None, f"cannot read {what}: {library} is not installed",
                   f"skipped; install the {extra} extra ({install}) and run again", lines=0)


def empty_file_problem(source: str) -> Problem:
    return Problem(source, None, "empty file", "skipped; nothing to read", lines=0)


# The longest id, in UTF-8 bytes, that names a document. A document's id is written into
# the audit record of each of its removed lines and into the dedup reference of each of
# its kept paragraphs (and with --save-index into index/refs.jsonl), so its cost is its
# length times the document's lines: a 1 MB id on a page of 1,000 repeated lines wrote
# 2 GB of removed.jsonl and peaked at 4 GB, on 1,000 distinct lines 1 GB of refs.jsonl.
# Real ids are far shorter (a UUID or WARC-Record-ID is 36-47 bytes, a hash 64, a URL
# rarely over 2,000: servers refuse request lines past 8 KB); a longer value is kept in
# the metadata, so it costs its record once, and the document is named source:LINE.
MAX_ID_BYTES = 4096
_ID_CHARS_SAFE = MAX_ID_BYTES // 4  # UTF-8 takes at most 4 bytes a character
_ID_BITS_SAFE = 13_000  # an integer of 13,000 bits has at most 3,914 digits


def id_bytes(rid: str | int) -> int:
    """The length of an id as it is written: a string's UTF-8 (a lone surrogate counted
    as the 3 bytes it takes), an integer's digits."""
    if isinstance(rid, int):
        return len(str(rid))
    return len(rid.encode("utf-8", "surrogatepass"))


def id_too_long(rid: str | int) -> bool:
    """Is the id longer than MAX_ID_BYTES? Measured only when it could be (an id of every
    record is checked)."""
    if isinstance(rid, int):
        return rid.bit_length() > _ID_BITS_SAFE and id_bytes(rid) > MAX_ID_BYTES
    return len(rid) > _ID_CHARS_SAFE and id_bytes(rid) > MAX_ID_BYTES


def names_a_document(rid: object) -> bool:
    """Can a record's ``id`` value be its document's id? A string or an integer (not a
    bool), but not ``""``: an empty id names nothing, as an empty CSV cell never did, and
    taken as an id it made every such record a duplicate of the first; nor one longer than
    MAX_ID_BYTES, which would be copied into every audit record and dedup reference of
    its document. One rule for every reader of records (JSONL, ``.json`` arrays, Parquet,
    Arrow, CSV, WET's record ids); a value it refuses is kept in the metadata and the
    document is ``source:LINE`` (a long one is also named in a problem of 0 lines:
    ``long_id_problem``). An id of spaces is an id as written, as every other id is (CSV's
    cells always were)."""
    if isinstance(rid, str):
        return rid != "" and not id_too_long(rid)
    return isinstance(rid, int) and not isinstance(rid, bool) and not id_too_long(rid)


def long_id_problem(doc: RawDocument) -> Problem | None:
    """The note (0 lines: the document is kept) for a record whose id was refused for its
    length and kept in its metadata, or None. Told from the document itself, so that it
    is the same wherever the record was read (a worker reading a range, the main process)."""
    rid = doc.metadata.get("id") if doc.metadata else None
    if (doc.record_line is None or not isinstance(rid, (str, int)) or isinstance(rid, bool) or not id_too_long(rid)
            or doc.id != f"{doc.source}:{doc.record_line}"):
        return None
    return Problem(doc.source, doc.record_line,
                   f"id of {id_bytes(rid):,} bytes, longer than curate's limit of {MAX_ID_BYTES:,} bytes",
                   f"kept as {doc.id}, with the id in its metadata; an id is copied into every audit record of "
                   f"its document: give the record a shorter one, such as a hash of it",
                   lines=0)


class Part(Protocol):
    """One part file of one output (corpus, removed or quarantine) being written."""

    def write(self, record: dict) -> None: ...

    def close(self) -> None: ...


class LinePart(Part, Protocol):
    """A part of a JSON Lines output (its sink says ``writes_lines = True``): also takes
    records already encoded by ``jsonl_sink.dumps``, a line each, so that workers can
    encode them and the writing process only appends bytes."""

    def write_line(self, data: bytes) -> None: ...


class Sink(Protocol):
    """A corpus format (``--output-format``). A run writes the corpus as part files, one
    per chunk of documents, in ``OUT/.partial/`` (``open(path)``, ``path`` ending in
    ``suffix``); at the commit each part that holds a record becomes a shard,
    ``OUT/corpus/part-00000`` + ``suffix`` (curate.formats.shards.join_shards), so a part
    must be a whole file of its format by itself. A chunk that keeps no document must
    leave its part empty (0 bytes): it gets no shard. The writer syncs each part, and
    deletes those of an unfinished chunk. The audit files (removed.jsonl,
    quarantine.jsonl) are JSON Lines whatever the sink."""

    name: str
    suffix: str

    def open(self, path: Path) -> Part: ...
