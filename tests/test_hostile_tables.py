"""Hostile Parquet and Arrow files (docs/bad-input.md): two columns of one name, cells
Python cannot represent, text that is not UTF-8, dictionary, page and record batch bombs.
Each file is written by pyarrow and read by the real CLI (or, for the sizes a row group is
read in, the real reader on a real file): a bad cell costs its cell or row, never its
batch, and a batch too large to decompress costs its rows, never the file."""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import math
import re
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from conftest import FIXTURES, ROOT, invoke, peak_rss_mb, read_corpus, read_jsonl

from curate.formats import arrow
from curate.formats.arrow_messages import DICTIONARY_BATCH, Message, read_block, read_footer, read_message
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


# -- Arrow IPC bombs: a record batch or dictionary pyarrow would decompress whole ---------------

TEXT_ROWS = pa.schema([("text", pa.large_string()), ("n", pa.int64())])
LIMIT = 4_000_000  # the least curate decompresses at once, lowered from 256 MiB for these tests
SMALL = 1_000_000  # lower still, for the tests of real text (with --max-doc-bytes 256K: twice that is less)
BOMB = (f"more than curate decompresses at once ({{:,}} bytes) from {{}} over {arrow.BOMB_RATIO} times")
BOMB_ACTION = ("rows skipped: pyarrow {}, and one that expands this much is a compressed bomb (or many copies of "
               "one text); if the rows are real, {}, or raise --max-doc-bytes to {} to read it")


def _ipc(path: Path, batches: list, file_format: bool, **options) -> None:
    with pa.OSFile(str(path), "wb") as sink, (pa.ipc.new_file if file_format else pa.ipc.new_stream)(
            sink, batches[0].schema, options=pa.ipc.IpcWriteOptions(**options)) as writer:
        for batch in batches:
            writer.write_batch(batch)


def _messages(path: Path) -> list[Message]:
    """The dictionary and record batch messages of an IPC file or stream, in the order
    pyarrow reads them (test_arrow_messages checks their sizes against pyarrow's)."""
    with path.open("rb") as handle:
        if handle.read(6) == b"ARROW1":
            footer = read_footer(handle)
            return [read_block(handle, footer.dictionary(k)) for k in range(footer.dictionaries)] + \
                [read_block(handle, footer.record_batch(k)) for k in range(footer.record_batches)]
        found: list[Message] = []
        message = read_message(handle, 0)
        while message is not None and (message := read_message(handle, message.end)) is not None:
            found.append(message)
        return found


def _expanded(size: int, body: int) -> str:
    """How the problem says ``size`` bytes made from ``body`` bytes of the file."""
    times = f"{math.ceil(10 * size / body) / 10}" if size < 100 * body else f"{math.ceil(size / body):,}"
    return f"{size:,} bytes uncompressed from {body:,} bytes in the file ({times} times as many)"


def _mib(size: int) -> str:
    """The --max-doc-bytes a problem says would read ``size`` bytes at once."""
    return f"{-(-size // (2 << 20))}M"


def _nbytes(array) -> int:
    return sum(buffer.size for buffer in array.buffers() if buffer is not None)


def _good(first: int, count: int, **more) -> pa.RecordBatch:
    """Rows ``first`` to ``first + count - 1`` (1-based) of ordinary sentences."""
    return pa.record_batch({"text": pa.array(_sentences(first + count - 1)[first - 1:], pa.large_string()),
                            "n": list(range(first, first + count)), **more})


@functools.cache
def _vocabulary() -> tuple[list[str], np.ndarray]:
    """The words of 300 real pages (tests/fixtures/noise-train), and how often each occurs."""
    pages = sorted((FIXTURES / "noise-train" / "input").glob("wcxb-*.txt"))[:300]
    counts = Counter(re.findall(r"[A-Za-z]+(?:'[a-z]+)?", " ".join(page.read_text(encoding="utf-8") for page in pages)))
    weights = np.array(list(counts.values()), dtype=float)
    return list(counts), weights / weights.sum()


def _prose(rows: int, size: int, seed: int) -> list[str]:
    """``rows`` documents of about ``size`` bytes of real-looking text, none like another
    (nor, for another seed, like another's): real pages' words at their frequencies, in
    sentences of 12 words and paragraphs of 6 sentences. zstd expands it 2.1 times, lz4
    1.3 times (real pages: 2.7 and 1.9). Written from a table of each word in each of its
    forms (first of a sentence or not, with what follows it), one join per document: word
    by word in Python, the 560 MB of test_datasets_batches_of_long_documents_are_read_whole
    took 25 s (test_prose_is_the_text_of_its_definition holds the two equal)."""
    words, weights = _vocabulary()
    forms = _word_forms()
    rng = np.random.default_rng(seed)
    documents = []
    for row in range(rows):
        picked = rng.choice(len(words), size=size * 10 // 63, p=weights)
        text = "".join(forms[picked * len(FORMS) + _form_ids(len(picked))].tolist())
        documents.append(f"Document {row} of set {seed}.\n\n" + text)
    return documents


# The forms of a word in _prose's text: (first of its sentence, what follows it).
FORMS = tuple((first, after) for first in (True, False) for after in (" ", ". ", ".\n\n", "."))


@functools.cache
def _word_forms() -> np.ndarray:
    words, _ = _vocabulary()
    forms = [(word.capitalize() if first else word.lower()) + after for word in words for first, after in FORMS]
    return np.array(forms, dtype=object)


@functools.cache
def _form_ids(count: int) -> np.ndarray:
    """The form of each of ``count`` words in a row: a sentence is 12 words, a paragraph 6
    sentences, and the text ends with a full stop."""
    position = np.arange(count)
    last = position == count - 1
    sentence_end = (position % 12 == 11) | last
    paragraph_end = sentence_end & (position // 12 % 6 == 5) & ~last
    after = np.where(last, 3, np.where(paragraph_end, 2, np.where(sentence_end, 1, 0)))
    return np.where(position % 12 == 0, 0, 4) + after


def _prose_word_by_word(rows: int, size: int, seed: int) -> list[str]:
    """_prose's definition, word by word."""
    words, weights = _vocabulary()
    rng = np.random.default_rng(seed)
    documents = []
    for row in range(rows):
        picked = [words[k] for k in rng.choice(len(words), size=size * 10 // 63, p=weights).tolist()]
        sentences = [" ".join(picked[k:k + 12]).capitalize() + "." for k in range(0, len(picked), 12)]
        documents.append(f"Document {row} of set {seed}.\n\n" + "\n\n".join(
            " ".join(sentences[k:k + 6]) for k in range(0, len(sentences), 6)))
    return documents


def test_prose_is_the_text_of_its_definition():
    for rows, size, seed in ((3, 2_700, 7), (2, 220_000, 1), (4, 1_000, 2), (1, 63, 5)):
        assert _prose(rows, size, seed) == _prose_word_by_word(rows, size, seed)


def _rows(texts: list[str], first: int = 1) -> pa.RecordBatch:
    return pa.record_batch({"text": pa.array(texts, pa.large_string()),
                            "n": list(range(first, first + len(texts)))}, schema=TEXT_ROWS)


def test_real_text_in_record_batches_over_the_limit_is_read(tmp_path, monkeypatch):
    """datasets writes batches of 1,000 rows: long documents make them larger than the
    limit (here 1 MB: 5 rows of 220 kB). Real text expands 1-3 times, so such a batch
    is read, every row of it kept, uncompressed or compressed, in a file or a stream
    (test_datasets_batches_of_long_documents_are_read_whole: the same at full size)."""
    monkeypatch.setattr(arrow, "PAGE_BYTES_MIN", SMALL)
    src = tmp_path / "in"
    src.mkdir()
    files = {"zstd.arrow": ("zstd", False), "lz4.feather": ("lz4", True), "plain.arrow": (None, False)}
    texts = {name: _prose(5, 220_000, seed) for seed, name in enumerate(files)}
    for name, (compression, file_format) in files.items():
        _ipc(src / name, [_rows(texts[name])], file_format, compression=compression)
        (batch,) = _messages(src / name)
        assert batch.size > SMALL
        assert batch.size < (3 if compression else 1) * batch.body_length + 1  # zstd 2.1x, lz4 1.3x
    summary, problems = _run(src, tmp_path / "out", "--max-doc-bytes", "256K")
    assert not problems
    kept = {(r["source"], r["lines"][0]["line"]): r["text"] for r in read_corpus(tmp_path / "out")}
    assert kept == {(name, row): text for name in files for row, text in enumerate(texts[name], 1)}
    assert summary["lines"]["quarantined"] == summary["lines"]["removed"] == 0


@pytest.mark.parametrize(("name", "compression"), [("bomb.feather", "zstd"), ("bomb.arrow", "lz4")])
def test_an_arrow_bomb_over_the_limit_costs_its_rows(tmp_path, monkeypatch, name, compression):
    """Three rows of 2 MB of one letter in one batch, between two ordinary batches: over
    the limit (4 MB here) and expanding hundreds of times (lz4 cannot more than ~250), the
    batch is skipped unread, its rows counted; the batches around it are read; with
    --max-doc-bytes raised as the problem says (a limit of 6 MiB) it is read too."""
    monkeypatch.setattr(arrow, "PAGE_BYTES_MIN", LIMIT)
    src = tmp_path / "in"
    src.mkdir()
    bomb = _rows([f"{i} " + "x" * 2_000_000 for i in range(3)], 4)
    _ipc(src / name, [_good(1, 3), bomb, _good(7, 3)], name.endswith(".feather"), compression=compression)
    assert (src / name).stat().st_size < 50_000  # a bomb: a few kB for 6 MB
    size = sum(_nbytes(column) for column in bomb.columns)
    body = _messages(src / name)[1].body_length
    assert size > 200 * body  # lz4: 241 times, zstd: 18,000
    summary, problems = _run(src, tmp_path / "out", "--max-doc-bytes", "1M")
    problem = problems[(name, 4)]
    assert problem["problem"] == f"record batch 2 (rows 4 to 6): {_expanded(size, body)}, " + \
        BOMB.format(LIMIT, "a record batch that expands")
    assert problem["action"] == BOMB_ACTION.format("decompresses a record batch whole",
                                                   "rewrite the file with smaller record batches", "3M")
    assert problem["lines"] == 3 and len(problems) == 1
    assert [r["lines"][0]["line"] for r in read_corpus(tmp_path / "out")] == [1, 2, 3, 7, 8, 9]
    assert summary["lines"] == {"kept": 6, "quarantined": 3, "read": 9, "removed": 0}

    summary, problems = _run(src, tmp_path / "raised", "--max-doc-bytes", "3M")
    assert summary["lines"]["read"] == 9 and not problems
    assert {r["lines"][0]["line"] for r in read_corpus(tmp_path / "raised")} >= {1, 2, 3, 7, 8, 9}


def _expanding(prose: list[str], run: int) -> pa.RecordBatch:
    """The rows of ``prose``, each ending in its share of ``run`` bytes of one short word
    over and over (as words: with one 380 kB word a row, curate's signature stage took 18 s)."""
    shares = [run // len(prose) + (k < run % len(prose)) for k in range(len(prose))]
    return _rows([f"{text} {('xxxx ' * (share // 5 + 1))[:share]}" for text, share in zip(prose, shares, strict=True)])


def _straddle(prose: list[str], compression: str) -> tuple[pa.RecordBatch, pa.RecordBatch]:
    """Two batches of ``prose`` and one word over and over, which expand (as curate measures
    it: uncompressed over the body in the file) at most BOMB_RATIO times, and more: the
    runs found by bisection, one byte apart."""

    def over(run: int) -> bool:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, TEXT_ROWS, options=pa.ipc.IpcWriteOptions(compression=compression)) as writer:
            writer.write_batch(_expanding(prose, run))
        data = io.BytesIO(sink.getvalue().to_pybytes())
        schema = read_message(data, 0)
        assert schema is not None
        batch = read_message(data, schema.end)
        assert batch is not None
        return batch.size > arrow.BOMB_RATIO * batch.body_length

    low, high = 0, 32 << 20
    assert not over(low) and over(high)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if over(middle) else (middle, high)
    return _expanding(prose, low), _expanding(prose, high)


def test_a_batch_is_a_bomb_only_past_the_ratio(tmp_path, monkeypatch):
    """24 rows of prose, each ending in one word over and over, long enough that the
    batch expands just under BOMB_RATIO times (64), or just over: over the limit (1 MB
    here) both, the first is read, every row kept; the second is skipped as a bomb, its
    ratio said rounded up (64.1), never as 64.0."""
    monkeypatch.setattr(arrow, "PAGE_BYTES_MIN", SMALL)
    src = tmp_path / "in"
    src.mkdir()
    prose = _prose(24, 2_700, 7)
    for compression in ("zstd", "lz4"):
        under, above = _straddle(prose, compression)
        _ipc(src / f"{compression}-under.arrow", [under], False, compression=compression)
        _ipc(src / f"{compression}-over.arrow", [above], False, compression=compression)
        (read,) = _messages(src / f"{compression}-under.arrow")
        (skipped,) = _messages(src / f"{compression}-over.arrow")
        assert read.size > SMALL and 63.9 * read.body_length < read.size <= 64 * read.body_length
        assert skipped.size > SMALL and 64 * skipped.body_length < skipped.size < 64.1 * skipped.body_length
    summary, problems = _run(src, tmp_path / "out", "--max-doc-bytes", "256K")
    kept = sorted((r["source"], r["lines"][0]["line"]) for r in read_corpus(tmp_path / "out"))
    assert kept == [(f"{compression}-under.arrow", row) for compression in ("lz4", "zstd") for row in range(1, 25)]
    assert set(problems) == {("zstd-over.arrow", 1), ("lz4-over.arrow", 1)}
    for compression in ("zstd", "lz4"):
        (skipped,) = _messages(src / f"{compression}-over.arrow")
        problem = problems[(f"{compression}-over.arrow", 1)]
        assert problem["problem"] == (f"record batch 1 (rows 1 to 24): "
                                      f"{_expanded(skipped.size, skipped.body_length)}, "
                                      + BOMB.format(SMALL, "a record batch that expands"))
        assert "(64.1 times as many)" in problem["problem"] and problem["lines"] == 24
    assert summary["lines"]["quarantined"] == 48


def test_a_batch_over_the_ceiling_is_skipped_compressed_or_not(tmp_path, monkeypatch):
    """However little it expands, a batch larger than BATCH_BYTES_MAX (4 GiB; 2 MB here:
    10 rows of 220 kB) is skipped, its rows counted, and read with --max-doc-bytes raised
    as the problem says."""
    monkeypatch.setattr(arrow, "PAGE_BYTES_MIN", SMALL)
    monkeypatch.setattr(arrow, "BATCH_BYTES_MAX", 2_000_000)
    src = tmp_path / "in"
    src.mkdir()
    files = {"plain.arrow": None, "zstd.feather": "zstd"}
    for seed, (name, compression) in enumerate(files.items()):
        _ipc(src / name, [_good(1, 2), _rows(_prose(10, 220_000, seed), 3)], name.endswith(".feather"),
             compression=compression)
    summary, problems = _run(src, tmp_path / "out", "--max-doc-bytes", "256K")
    sizes = {name: _messages(src / name)[1].size for name in files}
    for name, compression in files.items():
        problem = problems[(name, 3)]
        assert problem["problem"] == (f"record batch 2 (rows 3 to 12): {sizes[name]:,} bytes uncompressed, more "
                                      "than curate reads at once, compressed or not (2,000,000 bytes)")
        how = "decompresses" if compression else "reads"
        assert problem["action"] == (f"rows skipped: pyarrow {how} a record batch whole; rewrite the file with "
                                     f"smaller record batches, or raise --max-doc-bytes to {_mib(sizes[name])} to "
                                     "read it")
        assert problem["lines"] == 10
    # The rows before it are read (the second file's, copies of the first's, removed).
    assert len(problems) == 2 and summary["lines"]["kept"] + summary["lines"]["removed"] == 4

    raised = max(sizes.values())
    summary, problems = _run(src, tmp_path / "raised", "--max-doc-bytes", _mib(raised))
    assert not problems and summary["lines"]["quarantined"] == 0
    assert len(read_corpus(tmp_path / "raised")) == 2 + 2 * 10


def test_rows_that_need_a_dictionary_larger_than_curate_decompresses_are_skipped(tmp_path, monkeypatch):
    """A stream whose dictionary is replaced by one of a 5 MB value for two batches, then by
    a small one again: the two batches are skipped in one problem, the others read. A
    file (Feather) holds one dictionary for every batch: all its rows are skipped. A
    stream that adds 1.5 MB to its dictionary with each batch (deltas, which pyarrow
    concatenates) is read until the dictionary would pass the limit. A dictionary of
    real text over the limit expands twice: it is read."""
    monkeypatch.setattr(arrow, "PAGE_BYTES_MIN", LIMIT)
    src = tmp_path / "in"
    src.mkdir()
    small, large = pa.array(["a.example", "b.example"]), pa.array(["b.example", "w" * 5_000_000])
    indices = pa.array([0, 1], pa.int32())

    def site(dictionary: pa.Array) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(indices, dictionary)

    _ipc(src / "replaced.arrow", [_good(1, 2, site=site(small)), _good(3, 2, site=site(large)),
                                  _good(5, 2, site=site(large)), _good(7, 2, site=site(pa.array(["c", "d"])))],
         False, compression="zstd")
    _ipc(src / "one.feather", [_good(1, 2, site=site(large)), _good(3, 2, site=site(large))], True,
         compression="zstd")
    grown = [f"{k} " + "g" * 1_500_000 for k in range(5)]
    _ipc(src / "deltas.arrow", [_good(2 * k + 21, 2, site=pa.DictionaryArray.from_arrays(
        pa.array([0, k], pa.int32()), pa.array(grown[: k + 1]))) for k in range(5)], False,
         compression="zstd", emit_dictionary_deltas=True)
    prose = _prose(15, 300_000, 3)
    _ipc(src / "real.arrow", [_good(31, 2, site=pa.DictionaryArray.from_arrays(pa.array([0, 14], pa.int32()),
                                                                               pa.array(prose)))],
         False, compression="zstd")
    summary, problems = _run(src, tmp_path / "out", "--max-doc-bytes", "1M")

    def dictionaries(name: str) -> list[Message]:
        return [message for message in _messages(src / name) if message.kind == DICTIONARY_BATCH]

    def too_large(size: int, body: int) -> str:
        return f"column 'site' has a dictionary of {_expanded(size, body)}, " + \
            BOMB.format(LIMIT, "a dictionary that expands")

    replaced, one = dictionaries("replaced.arrow")[1], dictionaries("one.feather")[0]
    assert problems[("replaced.arrow", 3)]["problem"] == (
        f"record batches 2 to 3 (rows 3 to 6): {too_large(_nbytes(large), replaced.body_length)}")
    assert problems[("one.feather", 1)]["problem"] == (
        f"record batches 1 to 2 (rows 1 to 4): {too_large(_nbytes(large), one.body_length)}")
    # Three values and their offsets: each delta's buffers are its own values', its body its own.
    assert problems[("deltas.arrow", 5)]["problem"] == (
        f"record batches 3 to 5 (rows 5 to 10): "
        f"{too_large(3 * (1_500_002 + 8), sum(m.body_length for m in dictionaries('deltas.arrow')[:3]))}")
    for key, rows, size in ((("replaced.arrow", 3), 4, _nbytes(large)), (("one.feather", 1), 4, _nbytes(large)),
                            (("deltas.arrow", 5), 6, 3 * (1_500_002 + 8))):
        assert problems[key]["lines"] == rows
        assert problems[key]["action"] == BOMB_ACTION.format(
            "holds a dictionary whole", "rewrite the file without dictionary encoding", _mib(size))
    assert len(problems) == 3
    (held,) = dictionaries("real.arrow")
    assert held.size > LIMIT and held.size < 3 * held.body_length
    kept = {(r["source"], r["lines"][0]["line"]): r["metadata"] for r in read_corpus(tmp_path / "out")}
    assert kept == {("replaced.arrow", 1): {"n": 1, "site": "a.example"},
                    ("replaced.arrow", 2): {"n": 2, "site": "b.example"},
                    ("replaced.arrow", 7): {"n": 7, "site": "c"}, ("replaced.arrow", 8): {"n": 8, "site": "d"},
                    ("deltas.arrow", 1): {"n": 21, "site": grown[0]}, ("deltas.arrow", 2): {"n": 22, "site": grown[0]},
                    ("deltas.arrow", 3): {"n": 23, "site": grown[0]}, ("deltas.arrow", 4): {"n": 24, "site": grown[1]},
                    ("real.arrow", 1): {"n": 31, "site": prose[0]}, ("real.arrow", 2): {"n": 32, "site": prose[14]}}
    assert summary["lines"] == {"kept": 10, "quarantined": 14, "read": 24, "removed": 0}


@pytest.mark.slow
def test_the_arrow_bomb_of_docs_bad_input_is_skipped_in_bounded_memory(tmp_path):
    """The bomb of docs/bad-input.md: 15 rows of 60 MB in one zstd batch, 28 kB on disk,
    which pyarrow decompressed into 1.95 GB; as a Feather file and as a stream, each with
    an ordinary batch before and after it. Written by a process of its own, so that the
    900 MB it takes to write is not this one's."""
    src = tmp_path / "in"
    src.mkdir()
    writer = textwrap.dedent("""
        import sys
        import pyarrow as pa
        schema = pa.schema([("text", pa.large_string()), ("n", pa.int64())])
        good = lambda first, name: pa.record_batch({
            "text": [f"Row {i} of {name} holds an ordinary sentence about item {i}." for i in range(first, first + 3)],
            "n": list(range(first, first + 3))}, schema=schema)
        bomb = pa.record_batch({"text": [f"{i} " + "x" * 60_000_000 for i in range(15)],
                                "n": list(range(4, 19))}, schema=schema)
        for name, new in (("bomb.feather", pa.ipc.new_file), ("bomb.arrow", pa.ipc.new_stream)):
            with pa.OSFile(sys.argv[1] + "/" + name, "wb") as sink, new(
                    sink, schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as writer:
                for batch in (good(1, name), bomb, good(19, name)):
                    writer.write_batch(batch)
    """)
    subprocess.run([sys.executable, "-c", writer, str(src)], check=True, timeout=120)
    assert all((src / name).stat().st_size < 40_000 for name in ("bomb.feather", "bomb.arrow"))
    out = tmp_path / "out"
    result, peak = peak_rss_mb("run", src, "-o", out, "-q", "--no-builtin-rules")
    assert result.returncode == 0, result.stderr
    assert peak < 500, f"peak memory {peak:.0f} MB for a batch pyarrow makes 900 MB (1.95 GB unbounded)"
    problems = {(q["source"], q["line"]): q for q in read_jsonl(out / "quarantine.jsonl")}
    for name in ("bomb.feather", "bomb.arrow"):
        batch = _messages(src / name)[1]
        assert batch.size > 900_000_000 and batch.size > 30_000 * batch.body_length
        problem = problems[(name, 4)]
        assert problem["problem"] == (f"record batch 2 (rows 4 to 18): {_expanded(batch.size, batch.body_length)}, "
                                      f"more than curate decompresses at once ({256 << 20:,} bytes) from a record "
                                      f"batch that expands over {arrow.BOMB_RATIO} times")
        assert problem["lines"] == 15
    kept = sorted((r["source"], r["lines"][0]["line"]) for r in read_corpus(out))
    assert kept == [(name, line) for name in ("bomb.arrow", "bomb.feather") for line in (1, 2, 3, 19, 20, 21)]
    lines = json.loads((out / "summary.json").read_text())["lines"]
    assert lines["read"] == 42 and lines["quarantined"] == 30
    assert lines["read"] == lines["kept"] + lines["removed"] + lines["quarantined"]


@pytest.mark.slow
def test_datasets_batches_of_long_documents_are_read_whole(tmp_path):
    """1,000 documents of ~280 kB in one record batch of 280 MB, as datasets writes the
    cache file of Dataset.map (its ArrowWriter: 1,000 rows a batch, uncompressed; its
    save_to_disk now cuts batches at ~100 MB): over the 256 MiB past which a batch that
    expands too much is a bomb. Uncompressed, and as a zstd stream (another 1,000
    documents, expanding 2.1 times), every row is read whole. Written by a process of its
    own, which also gives each text's hash; read by another, through the readers a run
    uses, which gives each document's hash and its peak memory. (Through `curate dedup`
    this test took 1-2 minutes, all of it signing 560 MB; the run's handling of what a
    reader yields is the same for any size, and test_real_text_in_record_batches_over_the_limit_is_read
    runs it with a lower limit.)"""
    src = tmp_path / "in"
    src.mkdir()
    writer = textwrap.dedent(f"""
        import hashlib, json, sys
        from pathlib import Path
        sys.path.insert(0, {str(ROOT / "tests")!r})
        import datasets
        from test_hostile_tables import _ipc, _prose, _rows
        mapped, streamed = _prose(1000, 280_000, 1), _prose(1000, 280_000, 2)
        cache = sys.argv[1] + "/cache.arrow"
        datasets.Dataset.from_dict({{"text": mapped}}).map(lambda row: row, cache_file_name=cache)
        _ipc(Path(sys.argv[1]) / "long.arrow", [_rows(streamed)], False, compression="zstd")
        print(json.dumps([hashlib.sha256(text.encode()).hexdigest() for text in mapped + streamed]))
    """)
    written = subprocess.run([sys.executable, "-c", writer, str(src)], check=True, timeout=300, capture_output=True,
                             text=True)
    hashes = json.loads(written.stdout.splitlines()[-1])
    (mapped,), (streamed,) = _messages(src / "cache.arrow"), _messages(src / "long.arrow")
    for batch in (mapped, streamed):
        assert batch.rows == 1000 and batch.size > 256 << 20
    assert not mapped.compressed and 2 * streamed.body_length < streamed.size < 3 * streamed.body_length
    reader = textwrap.dedent("""
        import hashlib, json, resource, sys
        from curate.discover import discover
        from curate.document import RawDocument
        from curate.formats import read_documents
        found, problems = [], []
        for item in read_documents(discover([sys.argv[1]]).files):
            if isinstance(item, RawDocument):
                text = item.payload if isinstance(item.payload, str) else item.payload.decode("utf-8")
                found.append([item.source, item.record_line, hashlib.sha256(text.encode()).hexdigest()])
            else:
                problems.append(str(item))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"found": found, "problems": problems, "peak": peak}))
    """)
    read = subprocess.run([sys.executable, "-c", reader, str(src)], check=True, timeout=300, capture_output=True,
                          text=True, cwd=ROOT)
    result = json.loads(read.stdout.splitlines()[-1])
    assert result["problems"] == []
    found = {(source, row): digest for source, row, digest in result["found"]}
    expected = {(name, row): digest for name, part in (("cache.arrow", hashes[:1000]), ("long.arrow", hashes[1000:]))
                for row, digest in enumerate(part, 1)}
    assert found == expected
    assert result["peak"] < 3000, f"peak memory {result['peak']:.0f} MB for batches of 280 MB"
