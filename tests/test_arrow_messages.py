"""curate/formats/arrow_messages.py reads Arrow IPC message metadata by hand (pyarrow shows
it only as flatbuffer bytes, and reads a body whole with it): for real files pyarrow
writes, in both formats, every compression, with nulls, nested, dictionary, large and
view types, empty batches, dictionary deltas and replacements, each buffer's size must be
the size pyarrow gives that buffer once it has read (and decompressed) the batch."""

from __future__ import annotations

import io
import random
import struct
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")

from curate.formats.arrow_messages import (  # noqa: E402
    DICTIONARY_BATCH,
    RECORD_BATCH,
    SCHEMA,
    MessageError,
    dictionary_columns,
    read_block,
    read_footer,
    read_message,
)

pytestmark = pytest.mark.unit


def _table(rows: int, seed: int) -> pa.Table:
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]

    def text(i: int) -> str | None:
        return None if i % 7 == 3 else " ".join(rng.choice(words) for _ in range(rng.randrange(0, 30)))

    return pa.table({
        "text": pa.array([text(i) for i in range(rows)], pa.large_string()),
        "title": [text(i + 1) for i in range(rows)],
        "n": [None if i % 5 == 0 else i * 7919 for i in range(rows)],
        "score": [i / 3 for i in range(rows)],
        "flag": [None if i % 4 == 0 else i % 3 == 0 for i in range(rows)],
        "raw": [bytes(rng.randrange(256) for _ in range(i % 9)) for i in range(rows)],
        "when": pa.array(list(range(rows)), pa.timestamp("ms")),
        "tags": [[rng.choice(words) for _ in range(i % 4)] if i % 6 else None for i in range(rows)],
        "pair": [{"a": i, "b": None if i % 2 else str(i)} for i in range(rows)],
        "site": pa.array([f"site{i % 5}.example" for i in range(rows)]).dictionary_encode(),
        "lang": pa.array([None if i % 9 == 0 else words[i % 3] for i in range(rows)]).dictionary_encode(),
    } | ({"view": pa.array([None if i % 8 == 1 else "v" * (i % 20) for i in range(rows)], pa.string_view())}
         if hasattr(pa, "string_view") else {}))  # its data in buffers of their own (pyarrow 16 on)


def _write(path: Path, schema: pa.Schema, batches: list, file_format: bool, **options) -> None:
    write_options = pa.ipc.IpcWriteOptions(**options)
    with pa.OSFile(str(path), "wb") as sink, \
            (pa.ipc.new_file if file_format else pa.ipc.new_stream)(sink, schema, options=write_options) as writer:
        for batch in batches:
            writer.write_batch(batch)


def _messages(path: Path, file_format: bool) -> list:
    """Every message of the file, in the order pyarrow reads them."""
    with open(path, "rb") as handle:
        if file_format:
            footer = read_footer(handle)
            return ([read_block(handle, footer.dictionary(k)) for k in range(footer.dictionaries)]
                    + [read_block(handle, footer.record_batch(k)) for k in range(footer.record_batches)])
        found, position = [], 0
        while (message := read_message(handle, position)) is not None:
            found.append(message)
            position = message.end
        return found


def _sizes(array) -> list[int]:
    """The sizes of an array's buffers, in the order IPC writes them (a missing validity
    bitmap is a buffer of 0 bytes in the file)."""
    return [0 if buffer is None else buffer.size for buffer in array.buffers()]


def _column(batch, name: str):
    column = batch.column(name.split(".")[0])
    for part in name.split(".")[1:]:
        column = column.field(part)
    return column


def _check(path: Path, file_format: bool) -> tuple[int, int]:
    """Compare every message with what pyarrow reads: (record batches, dictionary batches)."""
    messages = _messages(path, file_format)
    if file_format:
        reader = pa.ipc.open_file(str(path))
        batches = [reader.get_batch(k) for k in range(reader.num_record_batches)]
        with open(path, "rb") as handle:
            columns = dictionary_columns(read_footer(handle).schema)
    else:
        assert messages[0].kind == SCHEMA and messages[0].body_length == 0
        batches = list(pa.ipc.open_stream(str(path)))
        columns = dictionary_columns(messages[0].schema)
        messages = messages[1:]
    assert [m.kind for m in messages if m.kind != DICTIONARY_BATCH] == [RECORD_BATCH] * len(batches)
    assert set(columns.values()) == {f.name for f in batches[0].schema if pa.types.is_dictionary(f.type)} | \
        {f"{f.name}.{c.name}" for f in batches[0].schema if pa.types.is_struct(f.type)
         for c in f.type if pa.types.is_dictionary(c.type)}
    pending: dict[int, list] = {}  # dictionary id -> the messages that make its dictionary now
    record_batches = iter(batches)
    for message in messages:
        compressed = any(m.compressed for m in messages)
        assert message.compressed == compressed
        if not compressed:  # the body holds the buffers, each padded to 8 bytes
            assert sum(message.buffers) <= message.body_length < sum(message.buffers) + 8 * len(message.buffers) + 8
        if message.kind == DICTIONARY_BATCH:
            pending[message.dictionary_id] = (pending.get(message.dictionary_id, []) if message.delta else []) \
                + [message]
            continue
        batch = next(record_batches)
        assert message.rows == batch.num_rows
        assert list(message.buffers) == [size for column in batch.columns for size in _sizes(column)]
        for key, parts in pending.items():
            dictionary = _column(batch, columns[key]).dictionary
            assert sum(part.rows for part in parts) == len(dictionary)
            if len(parts) == 1:
                assert list(parts[0].buffers) == _sizes(dictionary)
            else:  # deltas: pyarrow concatenates them; their values (the last buffer) add up
                assert sum(part.buffers[-1] for part in parts) == _sizes(dictionary)[-1]
    assert next(record_batches, None) is None
    return len(batches), sum(m.kind == DICTIONARY_BATCH for m in messages)


@pytest.mark.parametrize("compression", [None, "lz4", "zstd"])
@pytest.mark.parametrize("file_format", [True, False], ids=["file", "stream"])
def test_every_buffer_size_is_the_size_pyarrow_gives_it(tmp_path, compression, file_format):
    table = _table(300, seed=1)
    batches = table.to_batches(max_chunksize=64)
    # An empty batch, and a slice (pyarrow writes only its part of the buffers).
    batches += [batches[0].slice(0, 0), batches[1].slice(10, 5)]
    path = tmp_path / "t.arrow"
    _write(path, table.schema, batches, file_format, compression=compression)
    assert _check(path, file_format) == (len(batches), 2)


@pytest.mark.parametrize("compression", [None, "zstd"])
@pytest.mark.parametrize("file_format", [True, False], ids=["file", "stream"])
def test_dictionary_deltas_are_each_a_dictionary_batch(tmp_path, compression, file_format):
    values = [f"value {i} " + "w" * i for i in range(40)]
    batches = [pa.record_batch({"text": ["some text"] * 4,
                                "d": pa.DictionaryArray.from_arrays(pa.array([0, 1, k, k], pa.int32()),
                                                                    pa.array(values[: k + 1]))})
               for k in range(1, 40, 6)]
    path = tmp_path / "delta.arrow"
    _write(path, batches[0].schema, batches, file_format, compression=compression, emit_dictionary_deltas=True)
    assert any(m.delta for m in _messages(path, file_format))
    assert _check(path, file_format) == (len(batches), len(batches))


def test_a_stream_may_replace_a_dictionary(tmp_path):
    batches = [pa.record_batch({"text": ["a", "b"], "d": pa.array([f"x{k}", f"y{k}"]).dictionary_encode()})
               for k in range(4)]
    path = tmp_path / "replace.arrow"
    _write(path, batches[0].schema, batches, False, compression="lz4")
    assert not any(m.delta for m in _messages(path, False))
    assert _check(path, False) == (4, 4)


def test_nested_dictionaries_and_the_legacy_prefix(tmp_path):
    pair = pa.StructArray.from_arrays([pa.array([1, 2, 3]), pa.array(["p", "q", "p"]).dictionary_encode()],
                                      names=["n", "tag"])
    batch = pa.record_batch({"text": ["one", "two", None], "pair": pair})
    for legacy in (False, True):  # Arrow before 0.15 wrote no continuation marker
        path = tmp_path / f"nested-{legacy}.arrow"
        _write(path, batch.schema, [batch, batch], False, compression="zstd", use_legacy_format=legacy)
        assert _check(path, False) == (2, 1)
        with open(path, "rb") as handle:
            assert dictionary_columns(read_message(handle, 0).schema) == {0: "pair.tag"}
        assert (struct.unpack_from("<i", path.read_bytes())[0] == -1) is not legacy


def test_many_small_batches_of_a_real_table(tmp_path):
    table = _table(2000, seed=2)
    for file_format in (True, False):
        path = tmp_path / f"many-{file_format}.arrow"
        _write(path, table.schema, table.to_batches(max_chunksize=7), file_format, compression="zstd")
        records, dictionaries = _check(path, file_format)
        assert records == -(-2000 // 7) and dictionaries == 2


def test_a_compressed_buffer_says_its_size_in_its_first_eight_bytes(tmp_path):
    """The bomb itself: a few kB of zstd that pyarrow would make tens of MB."""
    path = tmp_path / "bomb.arrow"
    table = pa.table({"text": pa.array(["x" * 20_000_000, "y" * 10_000_000], pa.large_string())})
    _write(path, table.schema, table.to_batches(), False, compression="zstd")
    assert path.stat().st_size < 10_000
    [_, batch] = _messages(path, False)
    assert batch.compressed and batch.rows == 2 and batch.body_length < 10_000
    assert batch.buffers == (0, 24, 30_000_000) and batch.size == 30_000_024


def test_bytes_that_are_not_messages_raise_message_error_only(tmp_path):
    """Every byte of a real stream's and file's metadata changed in turn (and a few at
    random): each read either succeeds or raises MessageError, never anything else."""
    table = _table(20, seed=3)
    for file_format in (True, False):
        path = tmp_path / f"f-{file_format}.arrow"
        _write(path, table.schema, table.to_batches(max_chunksize=10), file_format, compression="zstd")
        data = path.read_bytes()
        rng = random.Random(4)
        positions = list(range(min(len(data), 1200))) + list(range(max(0, len(data) - 1500), len(data)))
        for position in positions:
            broken = bytearray(data)
            broken[position] ^= 1 << rng.randrange(8)
            if rng.random() < 0.3:
                broken[rng.randrange(len(broken))] = rng.randrange(256)
            handle = io.BytesIO(bytes(broken))
            try:
                if file_format:
                    footer = read_footer(handle)
                    for k in range(footer.dictionaries):
                        read_block(handle, footer.dictionary(k))
                    for k in range(footer.record_batches):
                        read_block(handle, footer.record_batch(k))
                    dictionary_columns(footer.schema)
                else:
                    offset = 0
                    while (message := read_message(handle, offset)) is not None:
                        offset = message.end
                        dictionary_columns(message.schema)
            except MessageError:
                pass
