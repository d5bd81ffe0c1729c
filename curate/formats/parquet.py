"""``.parquet``: one document per row (pyarrow, the optional extra ``parquet``).

The text is the column ``--text-field`` names (a string column); an ``id`` column gives
the document's id as JSONL's ``id`` field does, and every other column is kept in the
document's metadata, made JSON-able: timestamps, dates and times become ISO 8601
strings, durations seconds (a float), decimals strings, binary values base64 strings
(standard alphabet, padded: the form JSON tools and ``datasets`` expect), maps lists of
``[key, value]`` pairs. Provenance: a row's ``line`` is its 1-based row number in the
file (over all row groups), and each line's span indexes the UTF-8 of the row's text
value (``"bytes_of": "text_field"``), exactly as for a JSONL record.

Rows are read in batches (``ParquetFile.iter_batches``), so memory is bounded by a row
group's column chunks and a batch of rows, never the file.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import importlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from curate.document import Problem, RawDocument
from curate.formats.base import (
    NotRegularFile,
    ReadOptions,
    empty_file_problem,
    missing_extra_problem,
    open_input,
    unreadable_problem,
)

if TYPE_CHECKING:
    from curate.discover import InputFile

ROWS_PER_BATCH = 512  # rows turned into Python objects at once: a few MB for web pages
INSTALL = "pip install 'curate-corpus[parquet]'"


class ParquetReader:
    name = "parquet"
    suffixes: tuple[str, ...] = (".parquet",)
    compressed = False  # Parquet compresses inside the file, column chunk by column chunk

    def read(self, file: InputFile, options: ReadOptions) -> Iterator[RawDocument | Problem]:
        yield from read_table(file, options, "Parquet", "a Parquet file", "pyarrow.parquet", _open_parquet)


def _open_parquet(handle: Any) -> tuple[Any, Iterator[Any], int]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(handle)
    return parquet.schema_arrow, parquet.iter_batches(batch_size=ROWS_PER_BATCH), parquet.metadata.num_rows


def read_table(file: InputFile, options: ReadOptions, kind: str, what: str, module: str,
               open_table: Callable[[Any], tuple[Any, Iterator[Any], int | None]]) -> Iterator[RawDocument | Problem]:
    """The documents of a file pyarrow reads as a table (``kind``: Parquet, Arrow; ``what``:
    such a file, in a problem's words; ``module``: the part of pyarrow that reads it):
    ``open_table(handle)`` gives its schema, its record batches and its row count, or None
    if only reading every batch can tell."""
    try:
        importlib.import_module(module)  # the extra's test: only then is a file opened
    except ImportError:
        yield missing_extra_problem(file.source, kind, "pyarrow", "Parquet", INSTALL)
        return
    try:
        handle = open_input(file.path)
    except (NotRegularFile, OSError) as err:
        yield unreadable_problem(file.source, err)
        return
    with handle:
        try:
            schema, batches, rows = open_table(handle)
        except Exception as err:  # noqa: BLE001 - ArrowInvalid, OSError, ...: whatever pyarrow cannot open
            if handle.seek(0, 2) == 0:
                yield empty_file_problem(file.source)
            else:
                yield Problem(file.source, None, f"not {what} pyarrow can read: {err}",
                              "skipped; check the file (a truncated download, or another format?)", lines=0)
            return
        yield from table_rows(file.source, schema, batches, rows, options, kind)


def table_rows(source: str, schema: Any, batches: Iterator[Any], rows: int | None, options: ReadOptions,
               kind: str) -> Iterator[RawDocument | Problem]:
    """The documents of a table read in record batches (Parquet, Arrow): ``rows``, its
    row count, or None if only reading every batch can tell (then the rows lost to a
    corrupt batch cannot be counted, and the problem counts one); ``kind`` names the
    format in problems."""
    field = options.text_field
    unusable = None
    if field not in schema.names:
        unusable = (f"no column {field!r} (columns: {', '.join(schema.names)})",
                    "skipped; choose the text column with --text-field")
    elif not _is_text(schema.field(field).type):
        unusable = (f"column {field!r} holds {schema.field(field).type}, not strings",
                    "skipped; the text column must be a string column; choose another with --text-field")
    if unusable is not None:
        yield Problem(source, None, *unusable, lines=rows if rows is not None else _count(batches))
        return
    row = 0
    try:
        for batch in batches:
            for record in batch.to_pylist():
                row += 1
                yield _document(source, row, record, field, options.max_doc_bytes)
    except Exception as err:  # noqa: BLE001 - a corrupt page, row group or batch: the rows before it are kept
        lost = 1 if rows is None else rows - row
        yield Problem(source, row + 1, f"corrupt {kind} data: {err}",
                      f"rows from {row + 1} on are lost; re-download or rewrite the file", lines=lost)
        return
    if row == 0:
        yield Problem(source, None, "no rows: the file holds a schema only", "skipped; nothing to read", lines=0)


def _count(batches: Iterator[Any]) -> int:
    """The rows of the batches, read without turning them into Python objects; what a
    corrupt batch hides is not counted."""
    count = 0
    try:
        for batch in batches:
            count += batch.num_rows
    except Exception:  # noqa: BLE001 - the file is skipped whole anyway
        pass
    return count


def _is_text(arrow_type: Any) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    return bool(pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
                or getattr(pa.types, "is_string_view", lambda _: False)(arrow_type))


def _document(source: str, row: int, record: dict[str, Any], field: str, limit: int) -> RawDocument | Problem:
    text = record.pop(field)
    if text is None:
        return Problem(source, row, f"column {field!r} is null in this row",
                       "row skipped; nothing to read (fill the text or drop the row)")
    size = len(text.encode("utf-8"))
    if size > limit:
        return Problem(source, row, f"text of {size:,} bytes is larger than --max-doc-bytes ({limit:,} bytes)",
                       "row skipped; raise --max-doc-bytes to read it, or split the text")
    rid = record.get("id")
    usable_id = isinstance(rid, (str, int)) and not isinstance(rid, bool)
    if usable_id:
        del record["id"]
    metadata = {key: jsonable(value) for key, value in record.items()}
    return RawDocument(id=str(rid) if usable_id else f"{source}:{row}", source=source, record_line=row,
                       payload=text, size=size, metadata=metadata or None)


def jsonable(value: Any) -> Any:
    """A column value as JSON can hold it (see the module's docstring for each type)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        # A map column's value is a list of (key, value) tuples: each becomes a [key, value] pair.
        return [jsonable(item) for item in value]
    if hasattr(value, "isoformat"):  # pandas' Timestamp, for nanosecond timestamps
        return value.isoformat()
    return str(value)
