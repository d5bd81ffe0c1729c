"""How much memory reading a Parquet row group takes, told from the file before pyarrow
decodes any of it.

pyarrow decompresses a page whole, keeps a column chunk's dictionary page whole, and turns
every dictionary index of a batch into a copy of its value: a 2 kB file of one 60 MB
value in a dictionary, referenced by 30 rows, became 1.8 GB of Arrow strings in one batch
(and 5.7 GB of process memory). The file's metadata gives each column chunk's total
size but not its pages' sizes, so the page headers (Thrift compact structs ahead of each
page) are read here: only their sizes, never the pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO, cast

HEADER_READ = 1 << 16  # bytes read at a time while parsing one page header
HEADER_MAX = 1 << 24  # a header longer than this is not one pyarrow wrote: give up on it
DEPTH_MAX = 32  # Thrift structs nest a few levels in a page header; more is not a header
DICTIONARY_PAGE = 2  # PageType.DICTIONARY_PAGE in parquet.thrift


class HeaderError(ValueError):
    """Bytes that are not a page header this parser can read."""


@dataclass(frozen=True, slots=True)
class ChunkPages:
    """The sizes that matter of one column chunk: its dictionary page and its largest
    data page, uncompressed, and the fewest values a data page holds; ``None`` where the
    headers could not be read (or were not: see chunk_pages)."""

    dictionary: int | None
    largest_page: int | None
    fewest_values: int | None = None


def chunk_pages(handle: BinaryIO, column: Any, walk: bool) -> ChunkPages:
    """The page sizes of ``column`` (a pyarrow ColumnChunkMetaData). Only the first
    header is read unless ``walk``: walking costs a small read per page, worth it only
    when the chunk is too large to be held whole without a thought."""
    start = column.dictionary_page_offset if column.has_dictionary_page else column.data_page_offset
    end = start + column.total_compressed_size
    dictionary = largest = 0
    fewest: int | None = None
    position = start
    try:
        while position < end:
            header = page_header(handle, position)
            if header.page_type == DICTIONARY_PAGE:
                dictionary = max(dictionary, header.uncompressed)
            else:
                largest = max(largest, header.uncompressed)
                fewest = header.values if fewest is None else min(fewest, header.values)
            if not walk:  # the dictionary page, if any, comes first
                return ChunkPages(dictionary, None)
            position += header.length + header.compressed
    except (HeaderError, OSError):
        return ChunkPages(dictionary if position > start else None, None)
    return ChunkPages(dictionary, largest, fewest)


@dataclass(frozen=True, slots=True)
class PageHeader:
    page_type: int
    uncompressed: int
    compressed: int
    length: int  # of the header itself: the page's bytes follow it
    values: int  # in the page (with nulls; 0 if the header does not say)


def page_header(handle: BinaryIO, offset: int) -> PageHeader:
    """The page header at ``offset`` (parquet.thrift: PageHeader; its fields 5 and 8 are
    the data page headers of version 1 and 2, whose fields 1 give the page's values)."""
    reader = _Compact(handle, offset)
    fields = reader.struct_fields()
    sizes = [fields.get(key) for key in (1, 2, 3)]
    if not all(isinstance(size, int) and size >= 0 for size in sizes):
        raise HeaderError("a page header without its sizes")
    data = fields.get(5) or fields.get(8) or {}
    values = data.get(1, 0) if isinstance(data, dict) else 0
    page_type, uncompressed, compressed = cast(list[int], sizes)
    return PageHeader(page_type, uncompressed, compressed, reader.position - offset,
                      values if isinstance(values, int) else 0)


class _Compact:
    """Just enough of Thrift's compact protocol to read a struct's integer fields and
    skip the rest (https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md)."""

    def __init__(self, handle: BinaryIO, offset: int) -> None:
        self.handle = handle
        self.start = offset
        self.position = offset
        self.buffer = b""

    def byte(self) -> int:
        index = self.position - self.start
        if index >= len(self.buffer):
            if len(self.buffer) >= HEADER_MAX:
                raise HeaderError("a page header longer than 16 MiB")
            self.handle.seek(self.start + len(self.buffer))
            more = self.handle.read(HEADER_READ)
            if not more:
                raise HeaderError("the file ends inside a page header")
            self.buffer += more
        self.position += 1
        return self.buffer[index]

    def skip(self, count: int) -> None:
        for _ in range(count):
            self.byte()

    def varint(self) -> int:
        result = shift = 0
        while True:
            byte = self.byte()
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7
            if shift > 63:
                raise HeaderError("a varint longer than 64 bits")

    def zigzag(self) -> int:
        value = self.varint()
        return (value >> 1) ^ -(value & 1)

    def struct_fields(self, depth: int = 0) -> dict[int, Any]:
        """The integer and struct fields of the struct here, by field id (a struct as
        such a dict); the others are skipped."""
        if depth > DEPTH_MAX:
            raise HeaderError("structs nested too deeply")
        fields: dict[int, Any] = {}
        field_id = 0
        while (head := self.byte()) != 0:
            kind, delta = head & 0x0F, head >> 4
            field_id = field_id + delta if delta else self.zigzag()
            if kind in (4, 5, 6):  # i16, i32, i64
                fields[field_id] = self.zigzag()
            elif kind == 12:
                fields[field_id] = self.struct_fields(depth + 1)
            else:
                self.value(kind, depth)
        return fields

    def value(self, kind: int, depth: int) -> None:
        """Skip one value of type ``kind``."""
        if kind in (1, 2):  # a bool field: its value is in its type
            return
        if kind == 3:
            self.skip(1)
        elif kind in (4, 5, 6):
            self.varint()
        elif kind == 7:
            self.skip(8)
        elif kind == 8:
            self.skip(self.varint())
        elif kind in (9, 10):
            self._elements(depth)
        elif kind == 11:
            self._map(depth)
        elif kind == 12:
            self.struct_fields(depth + 1)
        else:
            raise HeaderError(f"unknown Thrift type {kind}")

    def _elements(self, depth: int) -> None:
        head = self.byte()
        count, kind = head >> 4, head & 0x0F
        if count == 15:
            count = self.varint()
        for _ in range(count):
            if kind in (1, 2):
                self.skip(1)  # in a list, a bool takes a byte
            else:
                self.value(kind, depth + 1)

    def _map(self, depth: int) -> None:
        count = self.varint()
        if count:
            kinds = self.byte()
            for _ in range(count):
                for kind in (kinds >> 4, kinds & 0x0F):
                    self.skip(1) if kind in (1, 2) else self.value(kind, depth + 1)
