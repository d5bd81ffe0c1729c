"""``.arrow`` and ``.feather``: Arrow IPC files, one document per row (pyarrow, the optional
extra ``parquet``).

What Hugging Face ``datasets`` writes with ``save_to_disk`` (``data-00000-of-00001.arrow``:
the IPC *stream* format) and what pyarrow and pandas write as Feather v2 (the IPC *file*
format) are both read. Rows are documents exactly as a Parquet file's are: the
``--text-field`` column, an ``id`` column, every other column in the metadata made
JSON-able, and provenance by row number (``parquet.py`` says how). Batches are read one at
a time, so memory holds a record batch, never the file.

The two metadata files ``save_to_disk`` writes beside its data files (``state.json``,
``dataset_info.json``) are not documents: ``discover.py`` skips them.
"""

from __future__ import annotations

from collections.abc import Iterator
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
from curate.formats.parquet import INSTALL, table_rows

if TYPE_CHECKING:
    from curate.discover import InputFile


class ArrowReader:
    name = "arrow"
    suffixes: tuple[str, ...] = (".arrow", ".feather")
    compressed = False  # IPC buffers may be compressed inside the file (lz4, zstd)

    def read(self, file: InputFile, options: ReadOptions) -> Iterator[RawDocument | Problem]:
        try:
            import pyarrow.ipc  # noqa: F401 - the extra's test: only then is a file opened
        except ImportError:
            yield missing_extra_problem(file.source, "Arrow", "pyarrow", "Parquet", INSTALL)
            return
        try:
            handle = open_input(file.path)
        except (NotRegularFile, OSError) as err:
            yield unreadable_problem(file.source, err)
            return
        with handle:
            try:
                schema, batches = _open(handle)
            except Exception as err:  # noqa: BLE001 - ArrowInvalid, OSError: whatever pyarrow cannot open
                if handle.seek(0, 2) == 0:
                    yield empty_file_problem(file.source)
                else:
                    yield Problem(file.source, None, f"not an Arrow IPC file pyarrow can read: {err}",
                                  "skipped; check the file (a truncated download, or another format?)", lines=0)
                return
            # No row count without reading every batch: a corrupt batch's lost rows count as one.
            yield from table_rows(file.source, schema, batches, None, options, "Arrow")


def _open(handle: Any) -> tuple[Any, Iterator[Any]]:
    """(schema, record batches) of an IPC file or stream."""
    import pyarrow as pa

    try:
        reader = pa.ipc.open_file(handle)  # the file format: a footer indexes the batches
    except pa.ArrowInvalid:
        handle.seek(0)
        stream = pa.ipc.open_stream(handle)  # the stream format, as datasets writes it
        return stream.schema, iter(stream)
    return reader.schema, (reader.get_batch(k) for k in range(reader.num_record_batches))
