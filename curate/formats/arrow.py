"""``.arrow`` and ``.feather``: Arrow IPC files, one document per row (pyarrow, the optional
extra ``parquet``).

What Hugging Face ``datasets`` writes with ``save_to_disk`` (``data-00000-of-00001.arrow``:
the IPC *stream* format) and what pyarrow and pandas write as Feather v2 (the IPC *file*
format) are both read. Rows are documents exactly as a Parquet file's are: the
``--text-field`` column, an ``id`` column, every other column in the metadata made
JSON-able, and provenance by row number (``parquet.py`` says how).

Batches are read one at a time, so memory holds a record batch, never the file. pyarrow
reads and decompresses a record batch (and a dictionary batch) whole, however large the
writer made it: a 28 kB zstd file of 15 rows of 60 MB strings took 1.95 GB. So each
message's metadata is read first (``arrow_messages.py``: the sizes of its buffers once
decompressed, and the bytes of its body in the file), and a record batch is skipped
unread, its rows counted in one problem, when it is

- a bomb: over 256 MiB uncompressed (or twice ``--max-doc-bytes`` if that is more) *and*
  more than ``BOMB_RATIO`` (64) times its compressed body in the file. Real text expands
  far less (the measurements are below), so a real batch is read whatever its size (up
  to the ceiling next), and a batch that is read takes at most 256 MiB or 64 times its
  bytes in the file, whichever is more;
- or absurd: over ``BATCH_BYTES_MAX`` (4 GiB, or twice ``--max-doc-bytes`` if that is
  more), compressed or not.

``datasets`` writes record batches of 1,000 rows, uncompressed (its ``ArrowWriter``: the
cache files of ``load_dataset`` and ``Dataset.map``; ``save_to_disk`` cuts them at ~100 MB
in datasets 5.2): a corpus of long documents (books, pages of 270 kB or more) has batches
over 256 MiB, which cost no more memory than their own bytes and are read. The same rule
holds for the rows that need a dictionary: the dictionaries pyarrow holds at once are
counted together (a stream may add to one, batch after batch), against the bytes they
take in the file. The other batches are read: from a file, by the footer's index
(``get_batch``); from a stream, pyarrow reads the messages through ``_Feed``, which hands
it only those that are not skipped. Python copies are made at most 512 rows at a time
(``parquet._slices``).

The two metadata files ``save_to_disk`` writes beside its data files (``state.json``,
``dataset_info.json``) are not documents, nor are the cache files ``map()`` and
``filter()`` write beside them once the folder is loaded: ``discover.py`` reads the data
files ``state.json`` lists, and skips the others.

A Feather V1 file (``FEA1``: older pandas and R) is no IPC file: pyarrow's feather
module reads it (``_feather_v1``), each column whole, so one over ``BATCH_BYTES_MAX``
is refused, its rows counted from its metadata (``arrow_messages.read_feather_v1``).
"""

from __future__ import annotations

import io
import math
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, BinaryIO

from curate.document import Problem, RawDocument
from curate.formats.arrow_messages import (
    DICTIONARY_BATCH,
    FEATHER_V1,
    KINDS,
    RECORD_BATCH,
    SCHEMA,
    Message,
    MessageError,
    dictionary_columns,
    read_block,
    read_feather_v1,
    read_footer,
    read_message,
)
from curate.formats.base import ReadOptions
from curate.formats.parquet import PAGE_BYTES_MIN, SkippedRows, read_table

if TYPE_CHECKING:
    from curate.discover import InputFile

# How many times its compressed body in the file a record batch (or the dictionaries
# pyarrow holds) may expand to, once over the limit of 256 MiB (or twice --max-doc-bytes):
# beyond, it is a compressed bomb. Measured on whole batches as arrow_messages reads them
# (uncompressed size over body bytes), for zstd levels 1 (pyarrow's default) to 22 and
# lz4: real pages (tests/fixtures/noise-train, noise-dev: 867 and 226 pages of scraped web
# text; the seeds; Chinese pages; the languages fixture's many scripts), as text alone or
# with datasets-style id, url, source and timestamp columns, and 53 unique documents of
# ~300 kB: 1.6-2.0x with lz4, 2.1-2.8x with zstd -1, 3.9x at most with zstd -22. Pages
# heavy with boilerplate (50 sites' real menus and footers around a little text of each
# page's own): 1.5-13x for up to 160 lines of it; 400 lines around 1 kB of text, 22x with
# zstd -1 (sorted by site) and 32x with zstd -22, the most found. Bombs: lz4 cannot expand
# much more than 250x (6 MB of one letter: 241x), zstd 18,000-32,000x (the 28 kB, 900 MB
# file of docs/bad-input.md). Exact copies of one text in a batch are not told from a
# bomb: 1,000 copies of a page expand 1,100-1,300x with zstd (12x with lz4), 20 pages each
# 50 times in a row 91-121x; such a batch is read if it is under the limit.
BOMB_RATIO = 64
# The most a record batch (or the dictionaries pyarrow holds) may take uncompressed,
# however little it expands: a batch is read whole, and one of more than 4 GiB is no
# batch a writer makes for text (in datasets' batches of 1,000 rows, 4 MB a row).
BATCH_BYTES_MAX = 4 << 30


V1_REWRITE = ("convert it to Feather V2, which curate reads batch by batch (python -c \"import pyarrow.feather as "
              "f; f.write_feather(f.read_table('OLD'), 'NEW', chunksize=1000)\")")


class ArrowReader:
    name = "arrow"
    suffixes: tuple[str, ...] = (".arrow", ".feather")
    compressed = False  # IPC buffers may be compressed inside the file (lz4, zstd)

    def read(self, file: InputFile, options: ReadOptions) -> Iterator[RawDocument | Problem]:
        yield from read_table(file, options, "Arrow", "an Arrow IPC file", "pyarrow.ipc", _open)


def _open(handle: Any, options: ReadOptions) -> tuple[Any, Iterator[Any], int | None]:
    """(schema, record batches or SkippedRows, row count) of an IPC file or stream, or a
    Feather V1 file: there is no row count of an IPC file without reading every batch's
    metadata (None), so a corrupt batch's lost rows count as one."""
    import pyarrow as pa

    limit = _Limits(max(PAGE_BYTES_MIN, 2 * options.max_doc_bytes), max(BATCH_BYTES_MAX, 2 * options.max_doc_bytes))
    if handle.read(len(FEATHER_V1)) == FEATHER_V1:
        return _feather_v1(handle, limit)
    handle.seek(0)
    try:
        reader = pa.ipc.open_file(handle)  # the file format: a footer indexes the batches
    except pa.ArrowInvalid:
        handle.seek(0)
        # The stream format, as datasets writes it. pyarrow opens it here only to say
        # what is wrong with a file that is not one; _stream reads it.
        schema = pa.ipc.open_stream(handle).schema
        return schema, _stream(handle, limit), None
    return reader.schema, _file(reader, handle, limit), None


def _feather_v1(handle: BinaryIO, limit: _Limits) -> tuple[Any, Iterator[Any], int]:
    """(schema, record batches or SkippedRows, row count) of a Feather V1 file. It has
    no record batches: pyarrow reads each column whole, through the file's handle (a
    copy of its bytes, as an uncompressed batch costs; V1 has no compression), so a file
    over the ceiling of a batch is refused unread, its rows counted from its metadata."""
    import pyarrow as pa
    import pyarrow.feather as feather

    v1 = read_feather_v1(handle)
    size = handle.seek(0, 2)

    def unread(problem: str, action: str) -> tuple[Any, Iterator[Any], int]:
        # Unread, the columns' types are not known: a text column that holds no strings
        # is said by the file rewritten as V2. The schema names the columns, so that a
        # file without the text column is said as any other.
        schema = pa.schema([(name, pa.string()) for name in v1.columns])
        return schema, iter([SkippedRows(v1.rows, problem, action)] if v1.rows else []), v1.rows

    if size > limit.ceiling:
        return unread(f"a Feather V1 file of {size:,} bytes, more than curate reads at once ({limit.ceiling:,} "
                      "bytes): pyarrow reads a V1 file's columns whole",
                      f"rows skipped; {V1_REWRITE}, or raise --max-doc-bytes to {_raise_to(size)} to read it")
    handle.seek(0)
    try:
        with warnings.catch_warnings():  # pyarrow 25 deprecates reading V1: no news for a run's stderr
            warnings.simplefilter("ignore", DeprecationWarning)
            table = feather.read_table(handle, memory_map=False, use_threads=False)
    except pa.ArrowMemoryError:
        raise  # a limit of the machine's, not the file's: read_table stops the run
    except (pa.ArrowException, ValueError, OSError) as err:  # a corrupt column; or a pyarrow that no longer reads V1
        if isinstance(err, OSError) and err.errno is not None:
            raise  # the disk's or the machine's (pyarrow's own, "File too short", has no errno): read_table says it
        return unread(f"a Feather V1 file pyarrow cannot read: {err}",
                      f"rows skipped; check the file (a truncated download?); if a pyarrow that reads it is at hand, "
                      f"{V1_REWRITE}")
    return table.schema, iter(table.to_batches()), table.num_rows


def _file(reader: Any, handle: BinaryIO, limit: _Limits) -> Iterator[Any]:
    """The record batches of an IPC file, by its footer. pyarrow reads every dictionary
    before the first batch, so one too large costs every batch."""
    footer = read_footer(handle)
    if footer.record_batches != reader.num_record_batches:
        raise MessageError(f"the footer lists {footer.record_batches:,} record batches, pyarrow "
                           f"{reader.num_record_batches:,}")
    size = handle.seek(0, 2)

    def messages() -> Iterator[tuple[Message, Callable[[], Any]]]:
        for k in range(footer.dictionaries):
            yield read_block(handle, footer.dictionary(k)), _nothing
        for k in range(footer.record_batches):
            yield read_block(handle, footer.record_batch(k)), partial(reader.get_batch, k)

    yield from _Plan(limit, dictionary_columns(footer.schema), size).batches(messages())


def _stream(handle: BinaryIO, limit: _Limits) -> Iterator[Any]:
    """The record batches of an IPC stream: its messages are read here one at a time,
    and pyarrow is handed those it may read (``_Feed``)."""
    import pyarrow as pa

    size = handle.seek(0, 2)
    schema = read_message(handle, 0)
    if schema is None or schema.kind != SCHEMA:
        raise MessageError("the stream does not start with its schema")
    feed = _Feed(handle)
    feed.add(schema)
    reader = pa.ipc.open_stream(feed)

    def read(message: Message) -> Any:
        feed.add(message)
        return reader.read_next_batch() if message.kind == RECORD_BATCH else None

    def messages() -> Iterator[tuple[Message, Callable[[], Any]]]:
        position = schema.end
        while (message := read_message(handle, position)) is not None:
            yield message, partial(read, message)
            position = message.end

    yield from _Plan(limit, dictionary_columns(schema.schema), size).batches(messages())


def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class _Limits:
    """How much pyarrow may decompress or read at once, for ``_Plan``."""

    bomb: int  # bytes uncompressed over which a batch that expands over BOMB_RATIO times is a bomb
    ceiling: int  # bytes uncompressed over which no batch is read

    def judge(self, size: int, body: int, compressed: bool) -> str | None:
        """None if pyarrow may hold ``size`` bytes made from ``body`` bytes of the file;
        else why not: "bomb" (it expands too much) or "ceiling" (too large whatever)."""
        if size > self.ceiling:
            return "ceiling"
        if compressed and size > self.bomb and size > BOMB_RATIO * body:
            return "bomb"
        return None

    def reason(self, verdict: str, size: str, total: int, body: int, what: str) -> str:
        """Why ``total`` bytes uncompressed, made from ``body`` bytes of the file, are not
        read: ``size`` says how large the message is, ``what`` what expands so ("a
        record batch that expands")."""
        if verdict == "ceiling":
            return f"{size}, more than curate reads at once, compressed or not ({self.ceiling:,} bytes)"
        return (f"{size} from {body:,} bytes in the file ({_times(total, body)} as many), more than curate "
                f"decompresses at once ({self.bomb:,} bytes) from {what} over {BOMB_RATIO} times")


def _times(size: int, body: int) -> str:
    """``size`` over ``body``, rounded up (never "64.0 times" for a bomb): to a tenth
    under 100, else to a whole number. A body of 0 bytes counts as 1."""
    body = max(body, 1)
    if size < 100 * body:
        return f"{math.ceil(10 * size / body) / 10} times"
    return f"{-(-size // body):,} times"


def _raise_to(total: int) -> str:
    """The --max-doc-bytes that would read ``total`` bytes at once (twice it, at least)."""
    return f"{-(-total // (2 << 20))}M"


def _action(verdict: str, total: int, whole: str, rewrite: str) -> str:
    """What to do about rows skipped for ``verdict``: ``whole`` says what pyarrow holds
    whole, ``rewrite`` how to rewrite the file."""
    raise_it = f"raise --max-doc-bytes to {_raise_to(total)} to read it"
    if verdict == "bomb":
        return (f"rows skipped: pyarrow {whole}, and one that expands this much is a compressed bomb (or many "
                f"copies of one text); if the rows are real, {rewrite}, or {raise_it}")
    return f"rows skipped: pyarrow {whole}; {rewrite}, or {raise_it}"


@dataclass(slots=True)
class _Skipped:
    """Consecutive record batches skipped for one reason: their numbers and rows."""

    first_batch: int
    first_row: int
    batches: int
    rows: int
    reason: str
    action: str
    dictionary: bool  # skipped for a dictionary not read: the batches after it may join

    def rows_skipped(self) -> SkippedRows:
        last_batch = self.first_batch + self.batches - 1
        where = (f"record batch {self.first_batch:,}" if self.batches == 1
                 else f"record batches {self.first_batch:,} to {last_batch:,}")
        rows = (f"rows {self.first_row:,} to {self.first_row + self.rows - 1:,}" if self.rows
                else "no rows")
        return SkippedRows(self.rows, f"{where} ({rows}): {self.reason}", self.action)


class _Plan:
    """Which messages of an IPC file pyarrow may read, message by message in file
    order: a record batch ``_Limits`` lets through, and whose dictionaries were read."""

    def __init__(self, limit: _Limits, columns: dict[int, str], size: int) -> None:
        self.limit = limit
        self.columns = columns  # dictionary id -> its column's name
        self.size = size  # of the file: a message past its end is cut off
        # dictionary id -> (bytes pyarrow holds for it, bytes of the file they were made from,
        # whether any of them were compressed)
        self.held: dict[int, tuple[int, int, bool]] = {}
        self.missing: dict[int, tuple[str, str]] = {}  # dictionary id -> why it was not read, what to do

    def batches(self, messages: Iterator[tuple[Message, Callable[[], Any]]]) -> Iterator[Any]:
        """The record batches pyarrow reads, and a SkippedRows for each run of those it
        may not. ``messages``: each message with what reads it (a dictionary batch's
        hands it to pyarrow; a record batch's gives the batch)."""
        number = row = 0
        skipped: _Skipped | None = None
        for message, read in messages:
            what = KINDS.get(message.kind, f"message of type {message.kind}")
            if message.end > self.size:
                if skipped is not None:
                    yield skipped.rows_skipped()
                raise MessageError(f"the file ends inside a {what} ({message.end - self.size:,} of its "
                                   f"{message.end - message.start:,} bytes are missing)")
            if message.kind == DICTIONARY_BATCH:
                if self._dictionary(message):
                    read()
                continue
            if message.kind != RECORD_BATCH:
                raise MessageError(f"a {what} where a record batch belongs")
            number += 1
            cause = self._refusal(message)
            if cause is None:
                if skipped is not None:
                    yield skipped.rows_skipped()
                    skipped = None
                yield read()
            elif skipped is not None and skipped.dictionary and cause[2] and skipped.reason == cause[0]:
                skipped.batches += 1  # another batch that needs the same dictionary
                skipped.rows += message.rows
            else:
                if skipped is not None:
                    yield skipped.rows_skipped()
                skipped = _Skipped(number, row + 1, 1, message.rows, *cause)
            row += message.rows
        if skipped is not None:
            yield skipped.rows_skipped()

    def _refusal(self, message: Message) -> tuple[str, str, bool] | None:
        """(why, what to do, whether it is a dictionary's fault) if pyarrow may not
        read this record batch, else None."""
        if self.missing:
            return (*next(iter(self.missing.values())), True)
        verdict = self.limit.judge(message.size, message.body_length, message.compressed)
        if verdict is None:
            return None
        whole = "decompresses a record batch whole" if message.compressed else "reads a record batch whole"
        return (self.limit.reason(verdict, f"{message.size:,} bytes uncompressed", message.size,
                                  message.body_length, "a record batch that expands"),
                _action(verdict, message.size, whole, "rewrite the file with smaller record batches"), False)

    def _dictionary(self, message: Message) -> bool:
        """Whether pyarrow may read this dictionary batch: the dictionaries it holds,
        with this one replacing or added to its id's, pass ``_Limits``, counted
        together against the bytes of the file they come from."""
        key = message.dictionary_id or 0
        if message.delta and key in self.missing:
            return False  # added to a dictionary that was not read: still not read
        size, body, compressed = message.size, message.body_length, message.compressed
        if message.delta and key in self.held:
            before = self.held[key]
            size, body, compressed = size + before[0], body + before[1], compressed or before[2]
        others = [held for other, held in self.held.items() if other != key]
        total, total_body = size + sum(held[0] for held in others), body + sum(held[1] for held in others)
        verdict = self.limit.judge(total, total_body, compressed or any(held[2] for held in others))
        if verdict is not None:
            name = self.columns.get(key)
            column = f"column {name!r}" if name is not None else f"dictionary id {key}"
            with_others = f" ({total:,} with the other columns' dictionaries)" if total != size else ""
            said = f"{column} has a dictionary of {size:,} bytes uncompressed{with_others}"
            expands = "dictionaries that expand" if others else "a dictionary that expands"
            reason = self.limit.reason(verdict, said, total, total_body, expands)
            action = _action(verdict, total, "holds a dictionary whole", "rewrite the file without dictionary encoding")
            # pyarrow keeps the dictionary before (held, still counted) until one replaces it.
            self.missing.setdefault(key, (reason, action))
            return False
        self.held[key] = (size, body, compressed)
        self.missing.pop(key, None)
        return True


class _Feed(io.RawIOBase):
    """The messages of a stream that pyarrow may read, as one stream: each added
    message's bytes, in order, read from the file when pyarrow asks for them. pyarrow
    reads a message's prefix, metadata and body, never ahead, so a record batch added
    just before ``read_next_batch`` is the one it reads."""

    def __init__(self, handle: BinaryIO) -> None:
        super().__init__()
        self.handle = handle
        self.ranges: deque[list[int]] = deque()  # [next byte, end] of each message still to read

    def add(self, message: Message) -> None:
        self.ranges.append([message.start, message.end])

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self.ranges and self.ranges[0][0] >= self.ranges[0][1]:
            self.ranges.popleft()
        if not self.ranges:
            return 0
        span = self.ranges[0]
        self.handle.seek(span[0])
        count = self.handle.readinto(memoryview(buffer)[: min(len(buffer), span[1] - span[0])])  # type: ignore[attr-defined]
        span[0] += count or 0
        return count or 0
