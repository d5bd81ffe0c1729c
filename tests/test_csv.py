"""CSV and TSV input: the cut into records (csv_records.py) against Python's csv module
over whole texts, and the real CLI on a folder of such files."""

from __future__ import annotations

import csv
import gzip
import io
import json

import pytest
from conftest import in_process, read_corpus, read_jsonl, run_process
from hypothesis import example, given, settings
from hypothesis import strategies as st

from curate.formats import csv_records
from curate.formats.csv_records import CutOff


def _cut(data: bytes, delimiter: bytes = b",", limit: int = 1 << 20, chunk: int | None = None) -> list:
    old = csv_records.CHUNK
    csv_records.CHUNK = chunk or old
    try:
        return list(csv_records.csv_records(io.BytesIO(data), delimiter, limit))
    finally:
        csv_records.CHUNK = old


def _fields(raw: bytes, delimiter: str = ",") -> list[str]:
    rows = list(csv.reader([raw.decode("utf-8")], delimiter=delimiter))
    return rows[0] if rows else []


@pytest.mark.unit
@settings(max_examples=600, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list('ab é,"\t\r\n')), max_size=40), chunk=st.integers(1, 7),
       tab=st.booleans(), runs=st.booleans())
@example(text='a,"b\r\nc",d\r\ne', chunk=1, tab=False, runs=False)
@example(text='"a"b"c,d\rx', chunk=2, tab=False, runs=False)
@example(text='"","",x,"a,b","",""x,"\n",', chunk=3, tab=False, runs=True)
def test_the_cut_gives_the_rows_csv_reader_gives(text, chunk, tab, runs):
    delimiter = "\t" if tab else ","
    reference = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    records: list = []
    old, old_runs = csv_records.CHUNK, csv_records.RUN_AFTER
    csv_records.CHUNK = chunk
    csv_records.RUN_AFTER = 0 if runs else old_runs  # runs of short fields matched from the first field on
    try:
        for raw in csv_records.csv_records(io.BytesIO(text.encode()), delimiter.encode(), 1 << 20):
            records.append(raw)
    except CutOff:
        # The text ends inside a quoted field: csv (not strict) reads that field to the end
        # as the last row; the cut says so instead, after the same rows before it.
        assert len(reference) == len(records) + 1
        reference.pop()
    finally:
        csv_records.CHUNK, csv_records.RUN_AFTER = old, old_runs
    assert [_fields(raw, delimiter) for raw in records] == reference
    # The cut counts the fields csv splits a record into (a blank line is one empty field to it).
    assert [raw.fields for raw in records] == [len(fields) or 1 for fields in reference]


@pytest.mark.unit
@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.lists(st.text(alphabet=st.sampled_from(list('xy ,"\n')), max_size=15), min_size=2,
                              max_size=2), min_size=1, max_size=6),
       limit=st.integers(1, 30), chunk=st.integers(1, 9))
def test_a_record_over_the_limit_is_its_size_and_the_others_are_its_bytes(rows, limit, chunk):
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(rows)
    records = [line.encode() for line in _split_written(out.getvalue())]
    got = _cut(out.getvalue().encode(), limit=limit, chunk=chunk)
    assert got == [len(raw) if len(raw) > limit else raw for raw in records]


def _split_written(text: str) -> list[str]:
    """Records csv.writer wrote with "\\n" line ends, split by re-reading them one by one."""
    records, start = [], 0
    reader_input = io.StringIO(text, newline="")
    for _ in csv.reader(reader_input):
        end = reader_input.tell()
        records.append(text[start:end].removesuffix("\n"))
        start = end
    return records


@pytest.mark.unit
def test_a_file_cut_inside_a_quote_keeps_the_records_before():
    records: list = []
    with pytest.raises(CutOff) as cut:
        for raw in csv_records.csv_records(io.BytesIO(b'a,b\n"open,\nno close'), b",", 100):
            records.append(raw)
    assert records == [b"a,b"] and cut.value.size == len(b'"open,\nno close')


# -- the real CLI ----------------------------------------------------------------------------------

ROWS = [
    ("p1", "The harbour master said the new pier would open to ferries before the summer season began."),
    ("p2", "Farmers in the valley planted barley early, because the spring rains came in March.\n"
           "A second line of the same cell: \"quoted\" words and a comma, inside one field."),
    ("p3", "A museum downtown restored three paintings that had hung unseen in its basement for decades."),
]


def _csv(rows: list[tuple[str, ...]], header: tuple[str, ...], delimiter: str = ",", terminator: str = "\r\n") -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator=terminator)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def test_a_folder_of_csv_and_tsv_files_is_read_row_by_row_with_every_row_accounted_for(tmp_path):
    src = tmp_path / "tables"
    src.mkdir()
    with_ids = [(rid, text, f"https://example.org/{rid}") for rid, text in ROWS]
    (src / "pages.csv").write_text(_csv(with_ids, ("id", "text", "url")), encoding="utf-8")
    # A spreadsheet's "Unicode text": UTF-16 with a byte order mark, tab-separated, no id column.
    (src / "sheet.tsv").write_bytes(_csv([(ROWS[2][1] + " Again, in a sheet with ünïcode.", "de")],
                                         ("text", "lang"), "\t").encode("utf-16"))
    bad = ("id,text,url\n"
           "b1,Volunteers counted two hundred migrating cranes resting on the lake shore at dawn.,u1\n"
           "b2,a row with a missing field\n"
           "b3," + "x" * 400 + ",u3\n"
           '"b4","The bakery on the corner switched to a wood oven and sells out of rye bread by ten.",u4\n'
           'b5,"a quote that never closes,u5\n')
    (src / "bad.csv.gz").write_bytes(gzip.compress(bad.encode()))
    (src / "no_text.csv").write_text("title,body\nx,y\nz,w\n")

    out = tmp_path / "out"
    result = run_process("run", str(src), "-o", str(out), "--max-doc-bytes", "300", timeout=120)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    records = {(r["source"], r["lines"][0]["line"]): r for r in read_corpus(out)}
    # Row k (the header not counted) is record k: its id, its other cells as metadata, its
    # line breaks and quotes as the cell held them.
    for k, (rid, text, url) in enumerate(with_ids, start=1):
        record = records[("pages.csv", k)]
        assert (record["id"], record["metadata"], record["bytes_of"]) == (rid, {"url": url}, "text_field")
        assert record["text"] == text
    sheet = records[("sheet.tsv", 1)]
    assert sheet["id"] == "sheet.tsv:1" and sheet["metadata"] == {"lang": "de"} and "ünïcode" in sheet["text"]
    assert records[("bad.csv.gz", 1)]["id"] == "b1" and records[("bad.csv.gz", 4)]["id"] == "b4"

    problems = {(q["source"], q["line"]): q for q in read_jsonl(out / "quarantine.jsonl")}
    assert problems[("bad.csv.gz", 2)]["problem"] == "row has 2 fields where the header has 3"
    assert problems[("bad.csv.gz", 3)]["problem"] == "row of 406 bytes is larger than --max-doc-bytes (300 bytes)"
    assert problems[("bad.csv.gz", 5)]["problem"].startswith("the file ends inside a quoted field")
    assert problems[("no_text.csv", None)]["problem"] == "no column 'text' (columns: title, body)"
    assert problems[("no_text.csv", None)]["lines"] == 2  # its rows

    summary = json.loads((out / "summary.json").read_text())
    lines = summary["lines"]
    assert lines["read"] == lines["kept"] + lines["removed"] + lines["quarantined"]
    assert sum(q["lines"] for q in problems.values()) == lines["quarantined"] == 5

    again = tmp_path / "again"
    run_process("run", str(src), "-o", str(again), "--max-doc-bytes", "300", "--workers", "2", timeout=120)
    for part in (out / "corpus").iterdir():
        assert part.read_bytes() == (again / "corpus" / part.name).read_bytes()


def _run(src, out, *options: str, process: bool = True):
    """The real CLI on ``src`` (a process, or in this one): it ends well (no traceback, no
    click "Aborted!"), and every line it read is kept, removed or quarantined."""
    result = (run_process("run", str(src), "-o", str(out), *options, timeout=300) if process
              else in_process("run", str(src), "-o", str(out), *options))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Aborted" not in result.stderr, result.stderr
    lines = json.loads((out / "summary.json").read_text())["lines"]
    assert lines["read"] == lines["kept"] + lines["removed"] + lines["quarantined"]
    return {(q["source"], q["line"]): q for q in read_jsonl(out / "quarantine.jsonl")}, lines


def test_a_compressed_csv_that_fails_in_its_first_bytes_is_quarantined_as_other_formats_say_it(tmp_path):
    import bz2
    import lzma

    import zstandard

    src = tmp_path / "in"
    src.mkdir()
    good = _csv([(text,) for _, text in ROWS], ("text",)).encode()
    (src / "bad.csv.xz").write_bytes(b"not xz data\n")
    (src / "bad.csv.zst").write_bytes(b"not zstd data\n")
    (src / "bad.csv.bz2").write_bytes(b"not bz2\n")
    (src / "bad.csv.gz").write_bytes(b"not gz\n")  # gzip's error is an OSError: not "cannot read file"
    (src / "cut.csv.gz").write_bytes(gzip.compress(b"text\nhello world\n")[:12])  # EOFError inside gzip's header
    (src / "cut.csv.xz").write_bytes(lzma.compress(good)[:-20])
    (src / "cut.csv.bz2").write_bytes(bz2.compress(good)[:-10])
    (src / "good.csv.zst").write_bytes(zstandard.ZstdCompressor().compress(good))

    problems, lines = _run(src, tmp_path / "out")
    fix = "re-download or recompress the file"
    for name, why in [("bad.csv.xz", "Input format not supported by decoder"),
                      ("bad.csv.zst", "Unknown frame descriptor"), ("bad.csv.bz2", "Invalid data stream"),
                      ("bad.csv.gz", "Not a gzipped file"),
                      ("cut.csv.gz", "Compressed file ended before the end-of-stream marker was reached")]:
        problem = problems.pop((name, 1))
        assert problem["problem"].startswith("corrupt or truncated compressed data: ") and why in problem["problem"]
        assert problem["action"] == f"no row could be read; {fix}" and problem["lines"] == 1
    for name in ("cut.csv.xz", "cut.csv.bz2"):  # cut near the end: what came before is kept
        ((source, _), problem), = [item for item in problems.items() if item[0][0] == name]
        assert problem["problem"].startswith("corrupt or truncated compressed data: ")
        assert problem["action"].endswith(fix)
        del problems[(source, problem["line"])]
    assert not problems
    kept = {(r["source"], r["lines"][0]["line"]) for r in read_corpus(tmp_path / "out")}
    # The xz stream cut in its last bytes gives every row before the cut (the bz2 one, a
    # single block, none); the good file's rows, read after them, are their copies.
    assert {("cut.csv.xz", k) for k in (1, 2, 3)} <= kept
    removed = {(r["source"], r["line"], r["reason"]) for r in read_jsonl(tmp_path / "out" / "removed.jsonl")}
    assert {("good.csv.zst", k, "duplicate") for k in (1, 2, 3)} <= removed
    assert lines["quarantined"] == 7  # one line for each broken file


def test_invalid_utf16_in_a_csv_is_quarantined_in_the_txt_readers_words_after_the_rows_before_it(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    # The first character a lone surrogate:
    (src / "lone.csv").write_bytes(b"\xff\xfe\x00\xdct\x00e\x00x\x00t\x00\n\x00")
    head = "text\nrow one is here\nrow two is here\n".encode("utf-16")
    (src / "mid.csv").write_bytes(head + "\udc00x\n".encode("utf-16-le", "surrogatepass"))
    (src / "odd.csv.gz").write_bytes(gzip.compress("text\nthe only row\n".encode("utf-16") + b"x"))

    problems, lines = _run(src, tmp_path / "out", "--no-builtin-rules")
    fix = "convert the file to UTF-8 (e.g. iconv -f utf-16 -t utf-8)"
    assert problems.pop(("lone.csv", 1)) | {"preview": ""} == {
        "source": "lone.csv", "line": 1, "lines": 1, "bytes": None, "preview": "",
        "problem": "invalid UTF-16-LE (illegal encoding at byte 2)", "action": f"no row could be read; {fix}"}
    mid = problems.pop(("mid.csv", 3))
    assert (mid["problem"], mid["action"]) == (f"invalid UTF-16-LE (illegal encoding at byte {len(head)})",
                                               f"rows after row 2 are lost; {fix}")
    odd = problems.pop(("odd.csv.gz", 2))
    assert odd["problem"].startswith("invalid UTF-16-LE (truncated data at byte ")
    assert not problems
    texts = {(r["source"], r["lines"][0]["line"]): r["text"] for r in read_corpus(tmp_path / "out")}
    assert texts == {("mid.csv", 1): "row one is here", ("mid.csv", 2): "row two is here",
                     ("odd.csv.gz", 1): "the only row"}
    assert lines == {**lines, "kept": 3, "quarantined": 3}



def _long_cell(words: int, seed: int) -> str:
    """One line of ``words`` words that no rule takes for noise, and no other seed's copies."""
    import random

    r = random.Random(seed)
    vocabulary = ["river", "authority", "water", "clean", "harbour", "winter", "summer", "station", "garden",
                  "museum", "bakery", "valley"]
    return " ".join(r.choice(vocabulary) + str(r.randrange(1000)) for _ in range(words))


def test_a_cell_longer_than_csvs_default_field_limit_is_read_and_the_rows_after_it_too(tmp_path):
    # csv's default field size limit (131,072 characters) raised on a longer cell, which
    # was taken for a fault of the stream: "rows after row 2 are lost", the row named as
    # line 3, the rows after it dropped and not counted. A cell may be as long as a
    # document (--max-doc-bytes); a row past that costs that row only, a line of a cell
    # past --max-line-bytes that line only.
    src = tmp_path / "in"
    src.mkdir()
    tables = {}
    for k, (name, delimiter) in enumerate([("t.csv", ","), ("t.tsv.gz", "\t")]):
        big, note = _long_cell(25_000, 2 * k), _long_cell(25_000, 2 * k + 1)  # about 210 kB each
        assert len(big) > 131_072 and len(note) > 131_072
        rows = [(f"{name}-1", f"The first row of {name} is a normal sentence about the river.", "n1"),
                (f"{name}-2", f"A short line of {name} before the long one.\n{big}\nA short line after it.", "n2"),
                (f"{name}-3", f"The third row of {name} keeps a long note beside its own short text.", note),
                (f"{name}-4", f"The fourth row of {name} is another normal sentence about the harbour.", "n4")]
        data = _csv(rows, ("id", "text", "note"), delimiter).encode()
        (src / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
        tables[name] = rows
    options = ("-q", "--no-builtin-rules", "--site", "off")

    problems, lines = _run(src, tmp_path / "out", *options)
    assert not problems
    assert lines == {**lines, "read": 12, "kept": 12}  # every line of every text cell, in each file
    records = {r["id"]: r for r in read_corpus(tmp_path / "out")}
    for name, rows in tables.items():
        assert records[f"{name}-2"]["text"] == rows[1][1]
        assert records[f"{name}-3"]["metadata"] == {"note": rows[2][2]}
        assert records[f"{name}-4"]["lines"][0]["line"] == 4

    # A row over --max-doc-bytes: that row quarantined, named by its number, the rest read.
    problems, lines = _run(src, tmp_path / "doc", *options, "--max-doc-bytes", "150000")
    for name in tables:
        for row in (2, 3):
            problem = problems.pop((name, row))
            assert problem["problem"].endswith("bytes is larger than --max-doc-bytes (150,000 bytes)")
            assert problem["action"] == "row skipped; raise --max-doc-bytes to read it, or split the row"
    assert not problems
    assert lines == {**lines, "read": 8, "kept": 4, "quarantined": 4}  # a row skipped counts one line
    assert {r["id"] for r in read_corpus(tmp_path / "doc")} == {f"{name}-{k}" for name in tables for k in (1, 4)}

    # A line of a cell over --max-line-bytes: that line quarantined, the cell's other lines kept.
    problems, lines = _run(src, tmp_path / "line", *options, "--max-line-bytes", "150000")
    for name, rows in tables.items():
        problem = problems.pop((name, 2))
        first, big = rows[1][1].split("\n")[:2]
        assert problem["problem"] == f"line of {len(big):,} bytes is longer than --max-line-bytes (150,000 bytes)"
        assert problem["bytes"] == [len(first) + 1, len(first) + 1 + len(big)]
    assert not problems
    assert lines == {**lines, "read": 12, "kept": 10, "quarantined": 2}


def test_a_header_delimited_by_another_character_is_read_at_it_and_a_header_without_the_field_says_so(tmp_path):
    # European Excel saves "CSV" at semicolons (its list separator where the decimal one is a
    # comma), with a UTF-8 byte order mark. Its header was one column named "id;text;note":
    # 'no column text (columns: id;text;note)', 'choose the text column with --text-field',
    # advice that could not work (--text-field 'id;text;note' made every row a field-count
    # error). A header with no delimiter of its name's but split by another that names the
    # text column is read at that one; the cells may hold the file name's delimiter.
    src = tmp_path / "in"
    src.mkdir()
    rows = [(rid, text, f"note, {rid}; here") for rid, text in ROWS]
    (src / "excel.csv").write_bytes(b"\xef\xbb\xbf" + _csv(rows, ("id", "text", "note"), ";").encode())
    (src / "commas.tsv").write_text(_csv([("A tab-separated name, yet its cells are split at commas.", "x")],
                                         ("text", "lang"), ","))
    (src / "pipes.csv").write_text(_csv([("A database export whose cells are split at pipes.", "y")],
                                        ("text", "lang"), "|"))
    (src / "titles.csv").write_text(_csv([("t", "Some body text that is long enough to be read.")],
                                         ("title", "body"), ";"))

    problems, lines = _run(src, tmp_path / "out", "--no-builtin-rules", process=False)
    records = {(r["source"], r["lines"][0]["line"]): r for r in read_corpus(tmp_path / "out")}
    for k, (rid, text, note) in enumerate(rows, start=1):
        record = records[("excel.csv", k)]
        assert (record["id"], record["text"], record["metadata"]) == (rid, text, {"note": note})
        # Spans index the UTF-8 of the text cell, whatever the delimiter.
        first = text.split("\n")[0].encode()
        assert record["lines"][0]["bytes"] == [0, len(first)]
    assert records[("commas.tsv", 1)]["metadata"] == {"lang": "x"}
    assert records[("pipes.csv", 1)]["metadata"] == {"lang": "y"}
    # No delimiter splits it into a column named 'text': the problem says how it was split,
    # so that --text-field, as advised, reads it.
    titles = problems.pop(("titles.csv", None))
    assert titles["problem"] == "no column 'text' (columns: title, body; the header has no ',' and is split at ';')"
    assert titles["action"] == "skipped; choose the text column with --text-field" and titles["lines"] == 1
    assert not problems
    assert lines["quarantined"] == 1

    again, _ = _run(src / "titles.csv", tmp_path / "again", "--no-builtin-rules", "--text-field", "body",
                    process=False)
    assert not again
    (record,) = read_corpus(tmp_path / "again")
    assert (record["text"], record["metadata"]) == ("Some body text that is long enough to be read.", {"title": "t"})
