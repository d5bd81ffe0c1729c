"""How much memory reading an Arrow IPC message takes, told from the file before pyarrow
decompresses any of it.

pyarrow decompresses a record batch (or a dictionary batch) whole: a 28 kB zstd Feather
file of 15 rows of 60 MB strings became 1.95 GB of process memory in one ``get_batch``.
pyarrow shows a message's metadata only as bytes (``Message.metadata``) and reads its
body whole with it, so the metadata is read here, by hand: the encapsulated message's
prefix, then just enough of its flatbuffer (format/Message.fbs, Schema.fbs, File.fbs in
the Arrow repository) to find the body's buffers; and, for a compressed body, the 8 bytes
in front of each buffer that give its size once decompressed (a little-endian int64, -1
for a buffer stored as it is). Never a body.

The flatbuffer is read, not verified: pyarrow verifies it before it reads a body, and for
any flatbuffer it accepts the values read here are the ones it uses. Bytes that are not
a flatbuffer raise MessageError, never an IndexError or a huge allocation.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

CONTINUATION = -1  # 0xFFFFFFFF as an int32: a message's prefix since Arrow 0.15
MAGIC = b"ARROW1"
SCHEMA, DICTIONARY_BATCH, RECORD_BATCH = 1, 2, 3  # Message.fbs: union MessageHeader
KINDS = {SCHEMA: "schema", DICTIONARY_BATCH: "dictionary batch", RECORD_BATCH: "record batch",
         4: "tensor", 5: "sparse tensor"}
V4 = 3  # Schema.fbs: MetadataVersion.V4, whose body may be compressed as Arrow 0.17 wrote it
EXPERIMENTAL = b"ARROW:experimental_compression"
METADATA_MAX = 64 << 20  # a message's or a footer's flatbuffer: more is not one a writer made
DEPTH_MAX = 64  # nested fields in a schema (pyarrow's own limit for reading is 64)
BUFFER = struct.Struct("<qq")  # struct Buffer { offset: long; length: long; }
BLOCK = struct.Struct("<qi4xq")  # File.fbs: struct Block { offset: long; metaDataLength: int; bodyLength: long; }


class MessageError(ValueError):
    """Bytes that are not an Arrow IPC message this reader can read."""


@dataclass(frozen=True, slots=True)
class Message:
    """One encapsulated IPC message: where it is, and what its body holds."""

    kind: int  # SCHEMA, DICTIONARY_BATCH, RECORD_BATCH (or 4, 5: tensors)
    start: int  # in the file: the message's prefix
    body_start: int
    body_length: int
    rows: int  # RecordBatch.length: the batch's rows (a dictionary batch: its values)
    buffers: tuple[int, ...]  # each body buffer's size in memory: decompressed, if it is compressed
    compressed: bool
    dictionary_id: int | None = None  # a dictionary batch's
    delta: bool = False  # a dictionary batch that adds to its dictionary instead of replacing it
    schema: _Table | None = None  # a schema message's Schema table

    @property
    def end(self) -> int:
        return self.body_start + self.body_length

    @property
    def size(self) -> int:
        """The bytes pyarrow allocates for this message's body: its buffers once
        decompressed, or the body it reads whole, if that is more."""
        return max(self.body_length, sum(self.buffers))


@dataclass(frozen=True, slots=True)
class Block:
    """A footer's entry for one message of an IPC file."""

    offset: int
    metadata_length: int  # the prefix and the flatbuffer: the body starts after them
    body_length: int


def read_message(handle: BinaryIO, offset: int) -> Message | None:
    """The message at ``offset`` of a stream, or None at its end (an end-of-stream
    marker, or the end of the file)."""
    handle.seek(offset)
    head = handle.read(8)
    if len(head) < 8:
        if head.strip(b"\0"):  # pyarrow reads nothing from fewer than 8 bytes either
            raise MessageError(f"{len(head)} bytes at the end of the file, too few for a message")
        return None
    first, second = struct.unpack("<ii", head)
    if first == CONTINUATION:
        length, prefix = second, 8
    else:
        length, prefix = first, 4  # before Arrow 0.15: no continuation marker
    if length == 0:
        return None
    if length < 0:
        raise MessageError(f"a message with metadata of negative length ({length:,})")
    return _message(handle, offset, _metadata(handle, offset + prefix, length), offset + prefix + length)


def read_block(handle: BinaryIO, block: Block) -> Message:
    """The message a file's footer points to: pyarrow reads its metadata from the
    block's first ``metadata_length`` bytes and its body right after them."""
    if block.offset < 0 or block.metadata_length < 8:
        raise MessageError(f"a footer block at offset {block.offset:,} of {block.metadata_length:,} bytes")
    handle.seek(block.offset)
    head = handle.read(8)
    if len(head) < 8:
        raise MessageError(f"a footer block at offset {block.offset:,}, past the end of the file")
    first, second = struct.unpack("<ii", head)
    length, prefix = (second, 8) if first == CONTINUATION else (first, 4)
    if length <= 0 or prefix + length > block.metadata_length:
        raise MessageError(f"a footer block at offset {block.offset:,} whose message does not fit in it")
    metadata = _metadata(handle, block.offset + prefix, length)
    return _message(handle, block.offset, metadata, block.offset + block.metadata_length)


@dataclass(frozen=True, slots=True)
class Footer:
    """An IPC file's footer: its schema and the blocks of its dictionaries and record
    batches, read one at a time (a file may have millions)."""

    schema: _Table | None
    _dictionaries: tuple[int, int]  # (where the vector's first element is, how many)
    _record_batches: tuple[int, int]
    _data: bytes

    @property
    def dictionaries(self) -> int:
        return self._dictionaries[1]

    @property
    def record_batches(self) -> int:
        return self._record_batches[1]

    def dictionary(self, k: int) -> Block:
        return self._block(self._dictionaries, k)

    def record_batch(self, k: int) -> Block:
        return self._block(self._record_batches, k)

    def _block(self, vector: tuple[int, int], k: int) -> Block:
        start, count = vector
        if not 0 <= k < count:
            raise IndexError(k)
        return Block(*_unpack(BLOCK, self._data, start + k * BLOCK.size))


def read_footer(handle: BinaryIO) -> Footer:
    """The footer of an IPC file (File.fbs: its flatbuffer, then its length as an
    int32, then ``ARROW1``)."""
    size = handle.seek(0, 2)
    if size < 2 * len(MAGIC) + 4:
        raise MessageError("too short for an Arrow IPC file")
    handle.seek(size - len(MAGIC) - 4)
    tail = handle.read(len(MAGIC) + 4)
    if tail[4:] != MAGIC:
        raise MessageError("no ARROW1 at the end of the file")
    (length,) = struct.unpack("<i", tail[:4])
    if length <= 0 or length > size - 2 * len(MAGIC) - 4:
        raise MessageError(f"a footer of {length:,} bytes in a file of {size:,}")
    data = _metadata(handle, size - len(MAGIC) - 4 - length, length)
    footer = _Table.root(data)
    return Footer(footer.table(1), footer.vector(2, BLOCK.size), footer.vector(3, BLOCK.size), data)


def dictionary_columns(schema: _Table | None) -> dict[int, str]:
    """The column each dictionary id of a Schema table encodes (a nested field as
    ``outer.inner``)."""
    found: dict[int, str] = {}
    if schema is not None:
        _fields(schema.tables(1), "", found, 0)
    return found


def _fields(fields: Iterator[_Table], parent: str, found: dict[int, str], depth: int) -> None:
    if depth > DEPTH_MAX:
        raise MessageError("a schema nested more deeply than pyarrow reads")
    for field in fields:  # Schema.fbs: table Field
        name = parent + (field.raw(0) or b"").decode("utf-8", "replace")
        encoding = field.table(4)  # DictionaryEncoding
        if encoding is not None:
            found[encoding.scalar(0, _LONG, 0)] = name
        _fields(field.tables(5), name + ".", found, depth + 1)


FEATHER_V1 = b"FEA1"  # a Feather V1 file starts and ends with it (ARROW1: the IPC file format, Feather V2)


@dataclass(frozen=True, slots=True)
class FeatherV1:
    """What a Feather V1 file's metadata says of it (format/feather.fbs in the Arrow
    repository: table CTable, its Columns)."""

    rows: int
    columns: tuple[str, ...]


def read_feather_v1(handle: BinaryIO) -> FeatherV1:
    """The rows and column names of a Feather V1 file, from its metadata at its end:
    ``<flatbuffer> <its length: int32> FEA1``."""
    size = handle.seek(0, 2)
    if size < 16:
        raise MessageError(f"a Feather V1 file (it starts with FEA1) of {size:,} bytes, too few for its metadata "
                           "(cut off?)")
    handle.seek(size - 8)
    length, magic = struct.unpack("<i4s", handle.read(8))
    if magic != FEATHER_V1:
        raise MessageError("a Feather V1 file (it starts with FEA1) that does not end with FEA1, as a whole one does "
                           "(cut off?)")
    if not 0 < length <= size - 16:
        raise MessageError(f"a Feather V1 file (it starts with FEA1) whose metadata is said to take {length:,} bytes, "
                           f"in a file of {size:,} (cut off?)")
    table = _Table.root(_metadata(handle, size - 8 - length, length))
    rows = table.scalar(1, _LONG, -1)  # CTable.num_rows
    if rows < 0:
        raise MessageError(f"a Feather V1 file (it starts with FEA1) whose metadata gives {rows:,} rows")
    names = tuple((column.raw(0) or b"").decode("utf-8", "replace") for column in table.tables(2))
    return FeatherV1(rows, names)


def _metadata(handle: BinaryIO, offset: int, length: int) -> bytes:
    if length > METADATA_MAX:
        raise MessageError(f"metadata of {length:,} bytes, more than curate reads ({METADATA_MAX:,} bytes)")
    handle.seek(offset)
    data = handle.read(length)
    if len(data) < length:
        raise MessageError(f"the file ends inside a message's metadata ({len(data):,} of its {length:,} bytes)")
    return data


def _message(handle: BinaryIO, start: int, metadata: bytes, body_start: int) -> Message:
    message = _Table.root(metadata)  # Message.fbs: table Message
    version = message.scalar(0, _SHORT, 0)
    kind = message.scalar(1, _BYTE, 0)
    body_length = message.scalar(3, _LONG, 0)
    if body_length < 0:
        raise MessageError(f"a message with a body of negative length ({body_length:,})")
    header = message.table(2)
    if kind == SCHEMA:
        return Message(kind, start, body_start, body_length, 0, (), False, schema=header)
    if kind not in (DICTIONARY_BATCH, RECORD_BATCH):
        return Message(kind, start, body_start, body_length, 0, (), False)
    if header is None:
        raise MessageError(f"a {KINDS[kind]} message without its header")
    batch = header if kind == RECORD_BATCH else header.table(1)  # DictionaryBatch.data
    if batch is None:
        raise MessageError("a dictionary batch without its data")
    # RecordBatch.compression, or (metadata V4 only) the custom metadata Arrow 0.17 wrote.
    compressed = batch.table(3) is not None or (version == V4 and _experimental(message))
    first, count = batch.vector(2, BUFFER.size)  # RecordBatch.buffers
    buffers = []
    for k in range(count):
        offset, length = _unpack(BUFFER, batch.data, first + k * BUFFER.size)
        buffers.append(_buffer_size(handle, body_start, offset, length, compressed))
    rows = batch.scalar(0, _LONG, 0)
    if kind == RECORD_BATCH:
        return Message(kind, start, body_start, body_length, rows, tuple(buffers), compressed)
    return Message(kind, start, body_start, body_length, rows, tuple(buffers), compressed,
                   dictionary_id=header.scalar(0, _LONG, 0), delta=bool(header.scalar(2, _BYTE, 0)))


def _buffer_size(handle: BinaryIO, body_start: int, offset: int, length: int, compressed: bool) -> int:
    """The size pyarrow gives a body buffer in memory: its length, or, compressed, what
    its first 8 bytes say it decompresses to (pyarrow allocates that much, then
    decompresses into it). A buffer whose prefix cannot be read is one pyarrow cannot
    decompress either: its length is counted."""
    if not compressed or length < 8 or offset < 0:
        return max(length, 0)
    handle.seek(body_start + offset)
    prefix = handle.read(8)
    if len(prefix) < 8:
        return length
    (uncompressed,) = struct.unpack("<q", prefix)
    if uncompressed == -1:  # stored as it is, after the prefix
        return length - 8
    return uncompressed if uncompressed >= 0 else length


def _experimental(message: _Table) -> bool:
    """Whether a V4 message's custom metadata says its body is compressed."""
    return any(pair.raw(0) == EXPERIMENTAL for pair in message.tables(4))  # KeyValue.key


def _unpack(layout: struct.Struct, data: bytes, position: int) -> tuple[int, ...]:
    if position < 0:
        raise MessageError("an offset before the start of the flatbuffer")
    try:
        return layout.unpack_from(data, position)
    except struct.error:
        raise MessageError("an offset past the end of the flatbuffer") from None


class _Table:
    """A flatbuffer table (https://flatbuffers.dev/internals/): its fields by slot, read
    with their bounds checked."""

    __slots__ = ("data", "position", "slots", "vtable")

    def __init__(self, data: bytes, position: int) -> None:
        self.data = data
        self.position = position
        (back,) = _unpack(_INT, data, position)
        self.vtable = position - back
        vtable_size, _ = _unpack(_VTABLE, data, self.vtable)
        self.slots = max(0, (vtable_size - 4) // 2)

    @classmethod
    def root(cls, data: bytes) -> _Table:
        (position,) = _unpack(_UINT, data, 0)
        return cls(data, position)

    def _field(self, slot: int) -> int:
        """Where field ``slot`` is, or 0 if the table does not have it."""
        if slot >= self.slots:
            return 0
        (relative,) = _unpack(_USHORT, self.data, self.vtable + 4 + 2 * slot)
        return self.position + relative if relative else 0

    def scalar(self, slot: int, layout: struct.Struct, default: int) -> int:
        at = self._field(slot)
        return default if not at else int(_unpack(layout, self.data, at)[0])

    def _target(self, slot: int) -> int:
        at = self._field(slot)
        return at + _unpack(_UINT, self.data, at)[0] if at else 0

    def table(self, slot: int) -> _Table | None:
        at = self._target(slot)
        return _Table(self.data, at) if at else None

    def vector(self, slot: int, width: int) -> tuple[int, int]:
        """(where its first element is, how many) of a vector of ``width``-byte
        elements; (0, 0) if the table does not have it."""
        at = self._target(slot)
        if not at:
            return 0, 0
        (count,) = _unpack(_UINT, self.data, at)
        if at + 4 + count * width > len(self.data):
            raise MessageError("a vector longer than its flatbuffer")
        return at + 4, count

    def tables(self, slot: int) -> Iterator[_Table]:
        start, count = self.vector(slot, 4)
        for k in range(count):
            element = start + 4 * k
            yield _Table(self.data, element + _unpack(_UINT, self.data, element)[0])

    def raw(self, slot: int) -> bytes | None:
        """A string field's bytes."""
        start, count = self.vector(slot, 1)
        return self.data[start:start + count] if start else None


_BYTE = struct.Struct("<B")
_SHORT = struct.Struct("<h")
_LONG = struct.Struct("<q")
_INT = struct.Struct("<i")
_UINT = struct.Struct("<I")
_USHORT = struct.Struct("<H")
_VTABLE = struct.Struct("<HH")
