"""``.parquet``: one document per row (pyarrow, the optional extra ``parquet``).

The text is the column ``--text-field`` names (a string column); an ``id`` column gives
the document's id as JSONL's ``id`` field does, and every other column is kept in the
document's metadata, made JSON-able: timestamps, dates and times become ISO 8601
strings, durations seconds (a float), both written by curate from the file's integers,
the same on every machine, and strings that are not UTF-8 at any depth are kept with
``\\xff`` escapes (``table_values.py``); decimals strings, binary values base64 strings
(standard alphabet, padded: the form JSON tools and ``datasets`` expect). A map whose keys
are strings (a pandas or Spark dict column) becomes a JSON object, as duckdb's ``to_json``
and polars' ``write_ndjson`` write it: as ``[key, value]`` pairs, arrays mixing a string
and a number, pyarrow's JSON reader refused the shard. A map with a key twice in one cell
(Arrow allows it) stays a list of pairs in that cell, so neither value is lost; so does a
map whose keys are not strings (an object's keys could only be their text).

A dataset's summary files (``_metadata``: its part files' footers; ``_common_metadata``:
their schema), read under ``--format parquet``, hold no rows of their own: each is a note
of 0 lines (``_refuse_summary``), as an auto walk skips them for their names.

Provenance: a row's ``line`` is its 1-based row number in the file (over all row groups),
and each line's span indexes the UTF-8 of the row's text value (``"bytes_of":
"text_field"``), exactly as for a JSONL record.

Rows are read a row group at a time, in batches (``ParquetFile.iter_batches``) whose size
the row group's page headers set (``_batch_rows``): pyarrow decompresses a page whole and
copies a dictionary value out for every row, so a few kB of zstd can become gigabytes in
one batch. A row group with a page over the limit is quarantined unread. Each batch is
then turned into Python values column by column, so a cell Python cannot hold costs that
cell (or, in the text column, its row), and a text's size is checked in Arrow before it
is copied.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import decimal
import functools
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from curate.document import PARQUET_SUMMARY, PARQUET_SUMMARY_NAMES, Problem, RawDocument
from curate.formats.base import (
    NotRegularFile,
    ReadOptions,
    empty_file_problem,
    missing_extra_problem,
    names_a_document,
    open_input,
    stop_on_machine_limit,
    unreadable_problem,
)
from curate.formats.parquet_pages import chunk_pages
from curate.formats.table_values import column_values

if TYPE_CHECKING:
    from curate.discover import InputFile

ROWS_PER_BATCH = 512  # rows turned into Python objects at once: a few MB for web pages
# Arrow memory a batch may take for the copies of dictionary values pyarrow makes (each
# row's value is copied out of the dictionary) and for the pages it decompresses: a 2 kB
# file of 30 rows that share one 60 MB dictionary value was 1.8 GB of strings in one batch.
BATCH_BYTES = 64 << 20
# The largest page (or dictionary page) decompressed: pyarrow decompresses a page whole,
# and a page may hold many rows. A page holding one document over --max-doc-bytes is
# fine up to twice that.
PAGE_BYTES_MIN = 256 << 20
FIXED_WIDTH = frozenset({"BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE"})  # Parquet's physical types
INSTALL = "pip install 'curate-corpus[parquet]'"


@dataclass(frozen=True, slots=True)
class SkippedRows:
    """Rows a reader will not hand to pyarrow, in place of their record batch."""

    rows: int
    problem: str
    action: str


class ParquetReader:
    name = "parquet"
    suffixes: tuple[str, ...] = (".parquet",)
    compressed = False  # Parquet compresses inside the file, column chunk by column chunk

    def read(self, file: InputFile, options: ReadOptions) -> Iterator[RawDocument | Problem]:
        name = file.source.rpartition("/")[2]
        yield from read_table(file, options, "Parquet", "a Parquet file", "pyarrow.parquet",
                              functools.partial(_open_parquet, name=name))


class NotData(Exception):
    """A file that is not read, with what to do: ``read_table`` says it as a note of 0 lines."""

    def __init__(self, problem: str, action: str) -> None:
        super().__init__(problem)
        self.problem, self.action = problem, action


# The summary files a Parquet dataset may have beside its part files (Dask, Spark's
# parquet.summary.metadata.level, pyarrow's write_metadata; document.PARQUET_SUMMARY_NAMES):
# an auto walk skips them for their names (no .parquet suffix); under --format parquet they
# are read as Parquet and skipped here.


def _open_parquet(handle: Any, options: ReadOptions, name: str = "") -> tuple[Any, Iterator[Any], int]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(handle)
    _refuse_summary(parquet.metadata, name)
    page_max = max(PAGE_BYTES_MIN, 2 * options.max_doc_bytes)
    return parquet.schema_arrow, _row_groups(parquet, handle, page_max), parquet.metadata.num_rows


def _refuse_summary(metadata: Any, name: str) -> None:
    """Raise NotData for a dataset's summary file: the footers of its part files (each
    column chunk named as in another file: pyarrow would read its rows' pages from this
    one, which holds none), or, named as one, a schema alone."""
    elsewhere = any(metadata.row_group(number).column(k).file_path
                    for number in range(metadata.num_row_groups) for k in range(metadata.num_columns))
    if elsewhere:
        raise NotData(PARQUET_SUMMARY, "not read: it holds the part files' footers, no rows; the rows are in the "
                                       "part files, which are read as files of their own")
    if name in PARQUET_SUMMARY_NAMES and metadata.num_row_groups == 0:
        raise NotData(PARQUET_SUMMARY, "not read: it holds the dataset's schema, no rows; the rows are in the "
                                       "part files, which are read as files of their own")


def _row_groups(parquet: Any, handle: Any, page_max: int) -> Iterator[Any]:
    """The record batches of each row group, in as many rows at a time as its pages and
    dictionaries allow (``_batch_rows``), or a SkippedRows for a row group with a page
    larger than ``page_max``."""
    first = 1
    for number in range(parquet.metadata.num_row_groups):
        group = parquet.metadata.row_group(number)
        plan = _batch_rows(_Chunks(parquet, handle, number, page_max), page_max)
        if isinstance(plan, str):
            yield SkippedRows(group.num_rows, f"row group {number + 1} (rows {first:,} to "
                              f"{first + group.num_rows - 1:,}): {plan}",
                              "rows skipped: pyarrow decompresses a page whole (a compressed bomb?); "
                              "rewrite the file with smaller pages, or raise --max-doc-bytes to read it")
        else:
            yield from parquet.iter_batches(batch_size=plan, row_groups=[number])
        first += group.num_rows


class _Chunks:
    """The column chunks of one row group, as _batch_rows needs them."""

    def __init__(self, parquet: Any, handle: Any, number: int, page_max: int) -> None:
        self.parquet, self.handle, self.number = parquet, handle, number
        group = parquet.metadata.row_group(number)
        self.columns = [group.column(k) for k in range(group.num_columns)]
        # Only a row group this large can have pages too large for a batch or at all.
        self.walk = sum(column.total_uncompressed_size for column in self.columns) > min(BATCH_BYTES, page_max)
        self.pages = [chunk_pages(handle, column, self.walk) for column in self.columns]

    def repeated(self, k: int) -> bool:
        return bool(self.parquet.schema.column(k).max_repetition_level > 0)

    def largest_values(self, names: list[str]) -> int | None:
        """The largest value of each of these top-level string columns' dictionaries,
        added up, read as pyarrow reads a dictionary page (whole, without copying it out
        for each row); None if that fails."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        try:
            probe = pq.ParquetFile(self.handle, read_dictionary=names)
            batch = next(probe.iter_batches(batch_size=1, row_groups=[self.number], columns=names), None)
        except Exception:  # noqa: BLE001 - the main read says what is wrong with the file
            return None
        total = 0
        for column in batch.columns if batch is not None else []:
            if pa.types.is_dictionary(column.type) and len(column.dictionary):
                total += pc.max(pc.binary_length(column.dictionary)).as_py() or 0
        return total


def _batch_rows(chunks: _Chunks, page_max: int) -> int | str:
    """How many rows of a row group to read at a time, or why it cannot be read. pyarrow
    copies a row's value out of its column's dictionary, and a row may fill a page, so
    rows are read fewer at a time only when a row group holds large values or pages."""
    dictionaries: list[str] = []  # top-level string columns whose dictionaries may be large
    per_row = 0  # bytes a row may take in the dictionary columns not probed
    pages: list[tuple[int, int]] = []  # (largest page, fewest rows a page holds), when walked
    for k, (column, found) in enumerate(zip(chunks.columns, chunks.pages, strict=True)):
        for what, size in (("a dictionary page", found.dictionary), ("a page", found.largest_page)):
            if size is not None and size > page_max:
                return (f"column {column.path_in_schema!r} has {what} of {size:,} bytes uncompressed, "
                        f"more than curate decompresses at once ({page_max:,} bytes)")
        whole = column.total_uncompressed_size  # what the headers did not tell is taken at its most
        if column.physical_type in FIXED_WIDTH:
            per_row += 16  # a number's copy out of a dictionary is its width, whatever the dictionary
        elif found.dictionary is None or found.dictionary:
            if column.physical_type == "BYTE_ARRAY" and "." not in column.path_in_schema:
                dictionaries.append(column.path_in_schema)
            per_row += whole if found.dictionary is None else found.dictionary
        if chunks.walk:
            rows = 1 if chunks.repeated(k) or not found.fewest_values else found.fewest_values
            pages.append((whole if found.largest_page is None else found.largest_page, rows))
    if dictionaries and per_row * ROWS_PER_BATCH > BATCH_BYTES:
        probed = chunks.largest_values(dictionaries)
        if probed is not None:
            per_row = probed + sum(whole for name, whole in _unprobed(chunks, dictionaries))
    return _rows_within(per_row, pages)


def _unprobed(chunks: _Chunks, probed: list[str]) -> Iterator[tuple[str, int]]:
    """The dictionary columns the probe does not read (nested or not strings): each row
    may take their whole dictionary page."""
    for column, found in zip(chunks.columns, chunks.pages, strict=True):
        if column.path_in_schema not in probed and column.physical_type not in FIXED_WIDTH \
                and (found.dictionary is None or found.dictionary):
            yield column.path_in_schema, column.total_uncompressed_size if found.dictionary is None \
                else found.dictionary


def _rows_within(per_row: int, pages: list[tuple[int, int]]) -> int:
    """The most rows, up to ROWS_PER_BATCH, whose dictionary copies (``per_row`` each)
    and pages (``pages``: each column's largest page and the fewest rows its pages hold;
    b rows span at most b / fewest + 1 pages) fit in BATCH_BYTES; at least one."""
    rows = ROWS_PER_BATCH
    while rows > 1:
        spanned = sum(min(rows, -(-rows // fewest) + 1) * largest for largest, fewest in pages)
        if rows * per_row + spanned <= BATCH_BYTES:
            break
        rows //= 2
    return rows


def read_table(file: InputFile, options: ReadOptions, kind: str, what: str, module: str,
               open_table: Callable[[Any, ReadOptions], tuple[Any, Iterator[Any], int | None]],
               ) -> Iterator[RawDocument | Problem]:
    """The documents of a file pyarrow reads as a table (``kind``: Parquet, Arrow; ``what``:
    such a file, in a problem's words; ``module``: the part of pyarrow that reads it):
    ``open_table(handle, options)`` gives its schema, its record batches (or SkippedRows)
    and its row count, or None if only reading every batch can tell."""
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
            schema, batches, rows = open_table(handle, options)
        except NotData as note:
            yield Problem(file.source, None, note.problem, note.action, lines=0)
            return
        except Exception as err:  # noqa: BLE001 - ArrowInvalid, OSError, ...: whatever pyarrow cannot open
            stop_on_machine_limit(file.source, err)
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
    unusable = _unusable(schema, field)
    if unusable is not None:
        yield Problem(source, None, *unusable, lines=rows if rows is not None else _count(batches))
        return
    row = 0
    try:
        for batch in batches:
            if isinstance(batch, SkippedRows):
                yield Problem(source, row + 1, batch.problem, batch.action, lines=batch.rows)
                row += batch.rows
                continue
            for part in _slices(batch):
                columns = _Columns(part, field)
                for index in range(part.num_rows):
                    row += 1
                    yield from columns.row(source, row, index, options.max_doc_bytes)
    except Exception as err:  # noqa: BLE001 - a corrupt page, row group or batch: the rows before it are kept
        stop_on_machine_limit(source, err)
        lost = 1 if rows is None else rows - row
        yield Problem(source, row + 1, f"corrupt {kind} data: {err}",
                      f"rows from {row + 1} on are lost; re-download or rewrite the file", lines=lost)
        return
    if row == 0:
        yield Problem(source, None, "no rows: the file holds a schema only", "skipped; nothing to read", lines=0)


def _unusable(schema: Any, field: str) -> tuple[str, str] | None:
    """(problem, what to do) when the file's columns cannot be read as documents."""
    names = schema.names
    if field not in names:
        return f"no column {field!r} (columns: {', '.join(names)})", "skipped; choose the text column with --text-field"
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        # As the CSV reader says of its header: a second column of a name would have to
        # be dropped or renamed in the metadata, silently; which of two text columns is
        # the text cannot be guessed.
        return (f"the schema names {', '.join(repr(name) for name in twice)} more than once",
                "skipped; give each column its own name and rewrite the file")
    if not _is_text(schema.field(field).type):
        return (f"column {field!r} holds {schema.field(field).type}, not strings",
                "skipped; the text column must be a string column; choose another with --text-field")
    return None


def _count(batches: Iterator[Any]) -> int:
    """The rows of the batches, read without turning them into Python objects; what a
    corrupt batch hides is not counted."""
    count = 0
    try:
        for batch in batches:
            count += batch.rows if isinstance(batch, SkippedRows) else batch.num_rows
    except Exception:  # noqa: BLE001 - the file is skipped whole anyway
        pass
    return count


def _is_text(arrow_type: Any) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    return bool(pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
                or getattr(pa.types, "is_string_view", lambda _: False)(arrow_type))


def _slices(batch: Any) -> Iterator[Any]:
    """The batch in slices (no copy) small enough to turn into Python objects: at most
    ROWS_PER_BATCH rows (an Arrow IPC batch may hold millions), and fewer when a
    dictionary column holds a large value, since each row gets its own copy of it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    largest = 0
    for column in batch.columns:
        if pa.types.is_dictionary(column.type) and len(column.dictionary):
            values = column.dictionary
            if pa.types.is_binary(values.type) or pa.types.is_string(values.type) \
                    or pa.types.is_large_binary(values.type) or pa.types.is_large_string(values.type):
                largest += pc.max(pc.binary_length(values)).as_py() or 0
    step = max(1, min(ROWS_PER_BATCH, BATCH_BYTES // max(1, largest)))
    for start in range(0, batch.num_rows, step):
        yield batch.slice(start, step)


class _Columns:
    """The columns of a slice of a record batch, turned into Python values column by
    column, so a value Python cannot hold (a timestamp past year 9999, invalid UTF-8)
    costs its cell, not its batch; the text is decoded row by row, after its size is
    checked in Arrow, so a row over --max-doc-bytes is never copied."""

    def __init__(self, batch: Any, field: str) -> None:
        self.field = field
        self.text = _TextColumn(batch.column(field))
        self.others = {name: _shaped(column.type, column_values(column))
                       for name, column in zip(batch.schema.names, batch.columns, strict=True) if name != field}

    def row(self, source: str, row: int, index: int, limit: int) -> Iterator[RawDocument | Problem]:
        """The document of row ``index`` of the slice (row ``row`` of the file), after a
        problem of 0 lines for each cell of it that could not be read as it is."""
        field = self.field
        size = self.text.sizes[index]
        if size is None:
            yield Problem(source, row, f"column {field!r} is null in this row",
                          "row skipped; nothing to read (fill the text or drop the row)")
            return
        if size > limit:
            yield Problem(source, row, f"text of {size:,} bytes is larger than --max-doc-bytes ({limit:,} bytes)",
                          "row skipped; raise --max-doc-bytes to read it, or split the text")
            return
        try:
            text = self.text.value(index, limit)
        except UnicodeDecodeError as err:
            yield Problem(source, row, f"column {field!r} is not valid UTF-8 in this row ({err.reason} at byte "
                          f"{err.start:,})", "row skipped; rewrite the file with this text as UTF-8")
            return
        record = {}
        for name, (values, faults) in self.others.items():
            if index in faults:
                yield _cell_problem(source, row, name, faults[index])
            record[name] = values[index]
        yield _document(source, row, text, size, record)


def _cell_problem(source: str, row: int, column: str, fault: tuple[str, bool]) -> Problem:
    reason, escaped = fault
    written = "with the value's invalid bytes written as \\xff escapes" if escaped else "with the value written as null"
    return Problem(source, row, f"column {column!r} holds a value Python cannot represent ({reason})",
                   f"row kept, {written}; fix the value in the file if it matters", lines=0)


class _TextColumn:
    """A string column's sizes in bytes (None for null) and its values as UTF-8 bytes,
    taken without Python's decoding, which would fail the whole column on one bad row."""

    def __init__(self, column: Any) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        self.indices = None
        if pa.types.is_dictionary(column.type):
            self.indices = column.indices
            column = column.dictionary
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            column = column.cast(pa.large_string())  # a string view: binary_length has no kernel for it
        lengths = pc.binary_length(column)
        if self.indices is not None:
            lengths = pc.take(lengths, self.indices)
        self.sizes: list[int | None] = lengths.to_pylist()
        self.largest = max((size or 0 for size in self.sizes), default=0)
        self.column = column
        self.texts: list[str | None] | None = None  # all the slice's texts, decoded by pyarrow at once
        self.bytes = column.view(pa.large_binary() if pa.types.is_large_string(column.type) else pa.binary())

    def value(self, index: int, limit: int) -> str:
        """The text of row ``index``, whose size is known to be within ``limit``. Raises
        UnicodeDecodeError."""
        if self.texts is None:  # decided once a slice: each row after would redo it
            self.texts = []  # a row too large to copy, or not UTF-8: each row is decoded alone
            if self.largest <= limit:
                # The fast way, when no row is too large to copy: pyarrow decodes the column
                # in one call (a row at a time takes five times as long on short rows).
                with contextlib.suppress(UnicodeDecodeError):
                    self.texts = self._dense().to_pylist()
        if self.texts:
            return cast(str, self.texts[index])
        position = index if self.indices is None else self.indices[index].as_py()
        return bytes(self.bytes[position].as_py()).decode("utf-8")

    def _dense(self) -> Any:
        return self.column if self.indices is None else self.column.take(self.indices)


def _shaped(arrow_type: Any, found: tuple[list[Any], dict[int, tuple[str, bool]]]
            ) -> tuple[list[Any], dict[int, tuple[str, bool]]]:
    """A column's values with each map whose keys are strings made a dict (the module's
    docstring says why); pyarrow gives every map as a list of (key, value) tuples."""
    shape = _map_shaper(arrow_type)
    if shape is None:  # no map in the type: nearly every column, left as it is
        return found
    values, faults = found
    return [shape(value) for value in values], faults


# pyarrow's tests for the types whose values are lists (the views are newer than some pyarrows).
_LIST_KINDS = ("is_list", "is_large_list", "is_fixed_size_list", "is_list_view", "is_large_list_view")


def _map_shaper(arrow_type: Any) -> Callable[[Any], Any] | None:
    """What makes a value of ``arrow_type`` hold its string-keyed maps as dicts, at any
    depth (a list of maps, a struct holding one, a map of maps); None if it holds no map."""
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if pa.types.is_map(arrow_type):
        return _map_values(_map_shaper(arrow_type.item_type), _is_text(arrow_type.key_type))
    if pa.types.is_struct(arrow_type):
        fields = {child.name: _map_shaper(child.type) for child in arrow_type}
        shapers = {name: shape for name, shape in fields.items() if shape is not None}
        if not shapers:
            return None
        return lambda value: None if value is None else {
            key: shapers[key](item) if key in shapers else item for key, item in value.items()}
    if any(getattr(pa.types, kind, lambda _: False)(arrow_type) for kind in _LIST_KINDS):
        inner = _map_shaper(arrow_type.value_type)
        if inner is None:
            return None
        return lambda value: None if value is None else [inner(item) for item in value]
    return None


def _map_values(item: Callable[[Any], Any] | None, string_keys: bool) -> Callable[[Any], Any]:
    """A map's value (a list of (key, value) tuples) as a dict when its keys are strings
    and none repeats, else as the pairs; ``item`` shapes each value."""

    def shape(value: Any) -> Any:
        if value is None:
            return None
        pairs = value if item is None else [(key, item(entry)) for key, entry in value]
        if not string_keys:
            return pairs
        as_object = dict(pairs)
        # A repeated key: a dict would keep the last value alone, without a word.
        return as_object if len(as_object) == len(pairs) else pairs

    return shape


def _document(source: str, row: int, text: str, size: int, record: dict[str, Any]) -> RawDocument:
    rid = record.get("id")
    usable_id = names_a_document(rid)  # what it refuses ("", null, a list) stays in the metadata
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
        # A map with keys that are not strings, or with a key twice, is a list of (key,
        # value) tuples (_map_values): each becomes a [key, value] pair.
        return [jsonable(item) for item in value]
    return str(value)
