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
decompressed), and a record batch larger than a Parquet page may be (256 MiB, or twice
``--max-doc-bytes`` if that is more) is skipped unread, its rows counted in one problem;
so are the rows that need a dictionary that large (the dictionaries pyarrow holds at once
are counted together: a stream may add to one, batch after batch). The other batches are
read: from a file, by the footer's index (``get_batch``); from a stream, pyarrow reads
the messages through ``_Feed``, which hands it only those that are not skipped. Python
copies are made at most 512 rows at a time (``parquet._slices``).

The two metadata files ``save_to_disk`` writes beside its data files (``state.json``,
``dataset_info.json``) are not documents: ``discover.py`` skips them.
"""

from __future__ import annotations

import io
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, BinaryIO

from curate.document import Problem, RawDocument
from curate.formats.arrow_messages import (
    DICTIONARY_BATCH,
    KINDS,
    RECORD_BATCH,
    SCHEMA,
    Message,
    MessageError,
    dictionary_columns,
    read_block,
    read_footer,
    read_message,
)
from curate.formats.base import ReadOptions
from curate.formats.parquet import PAGE_BYTES_MIN, SkippedRows, read_table

if TYPE_CHECKING:
    from curate.discover import InputFile

TOO_LARGE = "more than curate decompresses at once"


class ArrowReader:
    name = "arrow"
    suffixes: tuple[str, ...] = (".arrow", ".feather")
    compressed = False  # IPC buffers may be compressed inside the file (lz4, zstd)

    def read(self, file: InputFile, options: ReadOptions) -> Iterator[RawDocument | Problem]:
        yield from read_table(file, options, "Arrow", "an Arrow IPC file", "pyarrow.ipc", _open)


def _open(handle: Any, options: ReadOptions) -> tuple[Any, Iterator[Any], None]:
    """(schema, record batches or SkippedRows, no row count) of an IPC file or stream:
    there is no row count without reading every batch's metadata, so a corrupt batch's
    lost rows count as one."""
    import pyarrow as pa

    limit = max(PAGE_BYTES_MIN, 2 * options.max_doc_bytes)
    try:
        reader = pa.ipc.open_file(handle)  # the file format: a footer indexes the batches
    except pa.ArrowInvalid:
        handle.seek(0)
        # The stream format, as datasets writes it. pyarrow opens it here only to say
        # what is wrong with a file that is not one; _stream reads it.
        schema = pa.ipc.open_stream(handle).schema
        return schema, _stream(handle, limit), None
    return reader.schema, _file(reader, handle, limit), None


def _file(reader: Any, handle: BinaryIO, limit: int) -> Iterator[Any]:
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


def _stream(handle: BinaryIO, limit: int) -> Iterator[Any]:
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
    order: a record batch within the limit, and whose dictionaries were read."""

    def __init__(self, limit: int, columns: dict[int, str], size: int) -> None:
        self.limit = limit
        self.columns = columns  # dictionary id -> its column's name
        self.size = size  # of the file: a message past its end is cut off
        self.held: dict[int, int] = {}  # dictionary id -> bytes pyarrow holds for it
        self.missing: dict[int, str] = {}  # dictionary id -> why it was not read

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
            return next(iter(self.missing.values())), (
                "rows skipped: pyarrow holds a dictionary whole (a compressed bomb?); rewrite the file "
                "without dictionary encoding, or raise --max-doc-bytes to read it"), True
        if message.size <= self.limit:
            return None
        how = "decompresses a record batch whole (a compressed bomb?)" if message.compressed \
            else "reads a record batch whole"
        return (f"{message.size:,} bytes uncompressed, {TOO_LARGE} ({self.limit:,} bytes)",
                f"rows skipped: pyarrow {how}; rewrite the file with smaller record batches, "
                "or raise --max-doc-bytes to read it", False)

    def _dictionary(self, message: Message) -> bool:
        """Whether pyarrow may read this dictionary batch: the dictionaries it holds,
        with this one replacing or added to its id's, stay within the limit."""
        key = message.dictionary_id or 0
        if message.delta and key in self.missing:
            return False  # added to a dictionary that was not read: still not read
        size = message.size + (self.held.get(key, 0) if message.delta else 0)
        total = size + sum(held for other, held in self.held.items() if other != key)
        if total > self.limit:
            name = self.columns.get(key)
            column = f"column {name!r}" if name is not None else f"dictionary id {key}"
            others = f" ({total:,} with the other columns' dictionaries)" if total != size else ""
            # pyarrow keeps the dictionary before (held, still counted) until one replaces it.
            self.missing.setdefault(key, f"{column} has a dictionary of {size:,} bytes uncompressed{others}, "
                                         f"{TOO_LARGE} ({self.limit:,} bytes)")
            return False
        self.held[key] = size
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
