"""curate/formats/parquet_pages.py reads Parquet page headers by hand (pyarrow shows only
column chunks): every page of real files pyarrow writes, in every compression, page
version and encoding, must add up to the sizes and counts pyarrow's own metadata gives."""

from __future__ import annotations

from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from curate.formats.parquet_pages import DICTIONARY_PAGE, chunk_pages, page_header  # noqa: E402


def _table(rows: int):
    words = ["alpha", "beta", "gamma", "delta", "epsilon"]
    return pa.table({
        "text": [f"Row {i}: " + " ".join(words[(i + k) % 5] for k in range(i % 40)) for i in range(rows)],
        "site": [f"site{i % 7}.example" for i in range(rows)],  # few values: dictionary pages
        "number": list(range(rows)),
        "score": [None if i % 11 == 0 else i / 3 for i in range(rows)],
        "tags": [[words[i % 5]] * (i % 4) for i in range(rows)],  # nested: repetition levels
    })


def _pages(handle, column):
    start = column.dictionary_page_offset if column.has_dictionary_page else column.data_page_offset
    position, end = start, start + column.total_compressed_size
    while position < end:
        header = page_header(handle, position)
        yield header
        position += header.length + header.compressed


@pytest.mark.parametrize("compression", ["NONE", "SNAPPY", "ZSTD", "GZIP"])
@pytest.mark.parametrize("version", ["1.0", "2.0"])
@pytest.mark.parametrize("dictionary", [True, False])
def test_every_page_header_adds_up_to_pyarrows_column_chunk_metadata(tmp_path: Path, compression, version,
                                                                     dictionary):
    path = tmp_path / "t.parquet"
    pq.write_table(_table(3000), path, compression=compression, data_page_version=version,
                   use_dictionary=dictionary, data_page_size=4096, write_batch_size=64,
                   dictionary_pagesize_limit=8192,  # the text falls back to plain pages after its dictionary
                   row_group_size=1200)
    metadata = pq.ParquetFile(path).metadata
    most = 0  # data pages in one column chunk
    with open(path, "rb") as handle:
        for g in range(metadata.num_row_groups):
            group = metadata.row_group(g)
            for k in range(group.num_columns):
                column = group.column(k)
                pages = list(_pages(handle, column))
                data = [p for p in pages if p.page_type != DICTIONARY_PAGE]
                assert len(pages) - len(data) == (1 if column.has_dictionary_page else 0)
                assert sum(p.length + p.compressed for p in pages) == column.total_compressed_size
                assert sum(p.length + p.uncompressed for p in pages) == column.total_uncompressed_size
                assert sum(p.values for p in data) == column.num_values
                most = max(most, len(data))
                found = chunk_pages(handle, column, walk=True)
                assert found.largest_page == max(p.uncompressed for p in data)
                assert found.fewest_values == min(p.values for p in data)
                dictionaries = [p.uncompressed for p in pages if p.page_type == DICTIONARY_PAGE]
                assert found.dictionary == (dictionaries[0] if dictionaries else 0)
    assert most >= 3, "small pages: some chunk must be walked over many"
