"""Hostile Parquet and Arrow files (docs/bad-input.md): two columns of one name, cells
Python cannot represent, text that is not UTF-8, dictionary and page bombs. Each file is
written by pyarrow and read by the real CLI (or, for the sizes a row group is read in,
the real reader on a real file): a bad cell costs its cell or row, never its batch."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from conftest import invoke, read_corpus, read_jsonl

from curate.formats.parquet import BATCH_BYTES, _batch_rows, _Chunks
from curate.formats.parquet_pages import chunk_pages

ROWS = 2000


def _sentences(count: int) -> list[str]:
    return [f"Row number {i} holds its own ordinary sentence about item {i * 7919 % 10007} today."
            for i in range(count)]


def _run(src: Path, out: Path, *extra: str) -> tuple[dict, dict]:
    result = invoke("run", src, "-o", out, "--no-builtin-rules", *extra)
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    summary = json.loads((out / "summary.json").read_text())
    lines = summary["lines"]
    assert lines["read"] == lines["kept"] + lines["removed"] + lines["quarantined"]
    problems = read_jsonl(out / "quarantine.jsonl")
    assert sum(q["lines"] for q in problems) == lines["quarantined"]
    return summary, {(q["source"], q["line"]): q for q in problems}


def _not_utf8(values: list[bytes]) -> pa.Array:
    """A string column holding bytes as they are: pyarrow does not check them."""
    return pa.array(values, pa.binary()).view(pa.string())


def test_two_columns_of_one_name_quarantine_the_file(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    twice = pa.Table.from_arrays([pa.array(["hello world", "more"]), pa.array(["again", "x"])], names=["text", "text"])
    pq.write_table(twice, src / "dup.parquet")
    feather.write_feather(twice, src / "dup.feather")
    meta = pa.Table.from_arrays([pa.array(_sentences(3)), pa.array([1, 2, 3]), pa.array(["a", "b", "c"])],
                                names=["text", "tag", "tag"])
    pq.write_table(meta, src / "meta.parquet")
    pq.write_table(pa.table({"text": _sentences(1)}), src / "good.parquet")
    summary, problems = _run(src, tmp_path / "out")
    for name, rows, column in (("dup.parquet", 2, "text"), ("dup.feather", 2, "text"), ("meta.parquet", 3, "tag")):
        problem = problems[(name, None)]
        assert problem["problem"] == f"the schema names {column!r} more than once"
        assert problem["action"] == "skipped; give each column its own name and rewrite the file"
        assert problem["lines"] == rows
    assert [r["source"] for r in read_corpus(tmp_path / "out")] == ["good.parquet"]
    assert summary["lines"] == {"kept": 1, "quarantined": 7, "read": 8, "removed": 0}


@pytest.mark.parametrize("name", ["ts.parquet", "ts.feather"])
def test_a_cell_python_cannot_represent_costs_that_cell_only(tmp_path, name):
    src = tmp_path / "in"
    src.mkdir()
    seconds = list(range(ROWS))
    seconds[999] = 10**13  # year 318857: past datetime's year 9999
    days = list(range(ROWS))
    days[1500] = 2**31 - 1
    table = pa.table({"text": _sentences(ROWS), "when": pa.array(seconds, pa.timestamp("s")),
                      "day": pa.array(days, pa.date32())})
    (pq.write_table if name.endswith(".parquet") else feather.write_feather)(table, src / name)
    summary, problems = _run(src, tmp_path / "out")
    records = {r["lines"][0]["line"]: r for r in read_corpus(tmp_path / "out")}
    assert len(records) == ROWS and summary["lines"] == {"kept": ROWS, "quarantined": 0, "read": ROWS, "removed": 0}
    assert records[1000]["metadata"] == {"when": None, "day": "1972-09-26"}  # 999 days after 1970-01-01
    assert records[1501]["metadata"] == {"when": "1970-01-01T00:25:00", "day": None}
    assert records[1001]["metadata"] == {"when": "1970-01-01T00:16:40", "day": "1972-09-27"}
    when, day = problems[(name, 1000)], problems[(name, 1501)]
    assert when["problem"] == "column 'when' holds a value Python cannot represent (date value out of range)"
    assert day["problem"].startswith("column 'day' holds a value Python cannot represent (")
    for problem in (when, day):
        assert problem["lines"] == 0
        assert problem["action"] == "row kept, with the value written as null; fix the value in the file if it matters"
    assert len(problems) == 2


def test_text_that_is_not_utf8_costs_its_row_and_metadata_keeps_its_bytes_escaped(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    texts = [f"Another file's sentence {i} is about something else entirely.".encode() for i in range(3)]
    pq.write_table(pa.table({"text": _not_utf8([texts[0], b"broken \xff\xfe text", texts[2]])}),
                   src / "text.parquet")
    pq.write_table(pa.table({"text": _sentences(3), "note": _not_utf8([b"fine", b"caf\xe9", b"also fine"])}),
                   src / "note.parquet")
    summary, problems = _run(src, tmp_path / "out")
    kept = {(r["source"], r["lines"][0]["line"]): r for r in read_corpus(tmp_path / "out")}
    assert sorted(kept) == [("note.parquet", 1), ("note.parquet", 2), ("note.parquet", 3),
                            ("text.parquet", 1), ("text.parquet", 3)]
    text = problems[("text.parquet", 2)]
    assert text["problem"] == "column 'text' is not valid UTF-8 in this row (invalid start byte at byte 7)"
    assert text["action"] == "row skipped; rewrite the file with this text as UTF-8" and text["lines"] == 1
    assert kept[("note.parquet", 2)]["metadata"] == {"note": "caf\\xe9"}
    note = problems[("note.parquet", 2)]
    assert note["problem"] == ("column 'note' holds a value Python cannot represent "
                               "(not valid UTF-8: unexpected end of data at byte 3)")
    assert note["action"].startswith("row kept, with the value's invalid bytes written as \\xff escapes")
    assert note["lines"] == 0
    assert summary["lines"] == {"kept": 5, "quarantined": 1, "read": 6, "removed": 0}


def test_rows_sharing_one_large_dictionary_value_are_read_a_few_at_a_time(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    value = "x" * 3_000_000
    pq.write_table(pa.table({"text": pa.array([value] * 40, pa.large_string()), "n": list(range(40))}),
                   src / "bomb.parquet", compression="zstd")
    parquet = pq.ParquetFile(src / "bomb.parquet")
    with open(src / "bomb.parquet", "rb") as handle:
        chunks = _Chunks(parquet, handle, 0, 1 << 30)
        assert chunks.pages[0].dictionary == 3_000_004  # the value and its length: one copy in the file
        # pyarrow copies the value out for each row: 40 rows at once would be 120 MB.
        assert _batch_rows(chunks, 1 << 30) == 16 and BATCH_BYTES >= 16 * 3_000_000
    summary, problems = _run(src, tmp_path / "out", "--max-doc-bytes", "1M")
    assert summary["lines"] == {"kept": 0, "quarantined": 40, "read": 40, "removed": 0}
    assert [problems[("bomb.parquet", row)]["problem"] for row in (1, 40)] == [
        "text of 3,000,000 bytes is larger than --max-doc-bytes (1,048,576 bytes)"] * 2


@pytest.mark.unit
def test_a_page_larger_than_curate_decompresses_skips_its_row_group(tmp_path):
    path = tmp_path / "pages.parquet"
    texts = [f"{i} " + "y" * 1_000_000 for i in range(6)]
    # Without a dictionary, rows written in one batch share one page, however large.
    pq.write_table(pa.table({"text": texts}), path, use_dictionary=False, row_group_size=3)
    parquet = pq.ParquetFile(path)
    with open(path, "rb") as handle:
        pages = chunk_pages(handle, parquet.metadata.row_group(0).column(0), walk=True)
        assert pages.dictionary == 0 and 3_000_000 < pages.largest_page < 3_100_000 and pages.fewest_values == 3
        assert _batch_rows(_Chunks(parquet, handle, 0, 1 << 30), 1 << 30) == 512
        reason = _batch_rows(_Chunks(parquet, handle, 1, 2_000_000), 2_000_000)
    assert reason == (f"column 'text' has a page of {pages.largest_page:,} bytes uncompressed, more than curate "
                      "decompresses at once (2,000,000 bytes)")


def test_valid_parquet_values_come_out_as_before(tmp_path):
    """The column by column conversion gives the values the row by row one gave."""
    src = tmp_path / "in"
    src.mkdir()
    table = pa.table({"id": ["a", "b"], "text": _sentences(2),
                      "when": pa.array([dt.datetime(2024, 2, 20, 10, 0), None], pa.timestamp("us")),
                      "tags": [["x"], []], "raw": [b"\x00\xff", b""],
                      "cat": pa.array(["p", "q"]).dictionary_encode()})
    pq.write_table(table, src / "t.parquet")
    _run(src, tmp_path / "out")
    records = read_corpus(tmp_path / "out")
    assert [(r["id"], r["metadata"]) for r in records] == [
        ("a", {"when": "2024-02-20T10:00:00", "tags": ["x"], "raw": "AP8=", "cat": "p"}),
        ("b", {"when": None, "tags": [], "raw": "", "cat": "q"})]
