"""``.arrow`` and ``.feather``: Arrow IPC files, one document per row (pyarrow, the optional
extra ``parquet``).

What Hugging Face ``datasets`` writes with ``save_to_disk`` (``data-00000-of-00001.arrow``:
the IPC *stream* format) and what pyarrow and pandas write as Feather v2 (the IPC *file*
format) are both read. Rows are documents exactly as a Parquet file's are: the
``--text-field`` column, an ``id`` column, every other column in the metadata made
JSON-able, and provenance by row number (``parquet.py`` says how). Batches are read one at
a time, so memory holds a record batch, never the file; but pyarrow decompresses a record
batch whole, however large the writer made it (docs/bad-input.md: not bounded yet). Its
Python copies are made at most 512 rows at a time (``parquet._slices``).

The two metadata files ``save_to_disk`` writes beside its data files (``state.json``,
``dataset_info.json``) are not documents: ``discover.py`` skips them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from curate.document import Problem, RawDocument
from curate.formats.base import ReadOptions
from curate.formats.parquet import read_table

if TYPE_CHECKING:
    from curate.discover import InputFile


class ArrowReader:
    name = "arrow"
    suffixes: tuple[str, ...] = (".arrow", ".feather")
    compressed = False  # IPC buffers may be compressed inside the file (lz4, zstd)

    def read(self, file: InputFile, options: ReadOptions) -> Iterator[RawDocument | Problem]:
        yield from read_table(file, options, "Arrow", "an Arrow IPC file", "pyarrow.ipc", _open)


def _open(handle: Any, options: ReadOptions) -> tuple[Any, Iterator[Any], None]:
    """(schema, record batches, no row count) of an IPC file or stream: there is no row
    count without reading every batch, so a corrupt batch's lost rows count as one."""
    import pyarrow as pa

    try:
        reader = pa.ipc.open_file(handle)  # the file format: a footer indexes the batches
    except pa.ArrowInvalid:
        handle.seek(0)
        stream = pa.ipc.open_stream(handle)  # the stream format, as datasets writes it
        return stream.schema, iter(stream), None
    return reader.schema, (reader.get_batch(k) for k in range(reader.num_record_batches)), None
