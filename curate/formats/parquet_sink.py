"""The corpus as Parquet shards (``--output-format parquet``; needs ``curate-corpus[parquet]``).

One shard per chunk, as for JSON Lines (curate/formats/shards.py), with the one fixed
schema below: every shard has the same columns and types, whatever its records hold, so
tools that read a folder of shards as one table (datasets, datatrove, pandas, polars,
DuckDB, Spark) never meet two schemas. ``metadata`` (the input record's own fields) is a
JSON string, not a struct: its fields differ from input to input and from record to
record, and a struct would need one schema for all of them.

The bytes are the same on every run with the same pyarrow: the writer options are fixed
and Parquet files hold no time stamp (``created_by`` names the pyarrow version only).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import IO, Any

from curate.errors import UsageError
from curate.formats.jsonl_sink import dumps

ROW_GROUP_ROWS = 10_000  # a whole chunk at the default --chunk-docs: one row group per shard
ROW_GROUP_BYTES = 128 << 20  # a chunk of long documents is cut before it holds more text than this
COMPRESSION = "zstd"
COMPRESSION_LEVEL = 3


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as err:
        raise UsageError("--output-format parquet needs pyarrow: pip install 'curate-corpus[parquet]' "
                         "(or pyarrow), or choose jsonl, jsonl.gz or jsonl.zst") from err
    return pa, pq


@functools.cache  # built once per process, and only by a Parquet run (pyarrow is imported then)
def schema() -> Any:
    """The corpus schema, the one place it is written (docs/output.md describes the fields)."""
    pa, _ = _pyarrow()
    line = pa.struct([
        ("line", pa.int64()),
        ("bytes", pa.list_(pa.int64())),  # [start, end)
        ("language", pa.string()),  # null where the JSON record has no such key
        ("language_score", pa.float64()),
    ])
    return pa.schema([
        ("id", pa.string()),
        ("text", pa.string()),
        ("source", pa.string()),
        ("bytes_of", pa.string()),
        ("encoding", pa.string()),
        ("language", pa.string()),
        ("language_score", pa.float64()),
        ("lines", pa.list_(line)),
        ("metadata", pa.string()),  # JSON text of the input record's other fields, or null
    ])


def parquet_row(record: dict) -> dict:
    """A corpus record as a row of the schema: ``metadata`` as JSON text (sorted keys, as
    in the JSON Lines output)."""
    metadata = record.get("metadata")
    if metadata is None:
        return record
    row = dict(record)
    row["metadata"] = dumps(metadata).decode("utf-8")
    return row


class ParquetPart:
    """One chunk's shard. The file is created at once; nothing is written into it before
    the first row group, so a chunk that keeps no document leaves 0 bytes and no shard."""

    __slots__ = ("_file", "_pa", "_pq", "_rows", "_size", "_writer")

    def __init__(self, path: Path):
        self._pa, self._pq = _pyarrow()
        self._file: IO[bytes] = open(path, "wb")  # noqa: SIM115 - open across calls, until close
        self._writer: Any = None
        self._rows: list[dict] = []
        self._size = 0

    def write(self, record: dict) -> None:
        self._rows.append(parquet_row(record))
        self._size += len(record["text"])
        if len(self._rows) >= ROW_GROUP_ROWS or self._size >= ROW_GROUP_BYTES:
            self._flush()

    def _flush(self) -> None:
        if not self._rows:
            return
        table = self._pa.Table.from_pylist(self._rows, schema=schema())
        self._rows, self._size = [], 0
        if self._writer is None:
            self._writer = self._pq.ParquetWriter(
                self._file, table.schema, compression=COMPRESSION, compression_level=COMPRESSION_LEVEL,
                use_dictionary=True, write_statistics=True, version="2.6", data_page_version="1.0")
        self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)

    def close(self) -> None:
        try:
            self._flush()
            if self._writer is not None:
                self._writer.close()
        finally:
            self._file.close()


class ParquetShards:
    name = "parquet"
    suffix = ".parquet"

    def open(self, path: Path) -> ParquetPart:
        return ParquetPart(path)
