"""The readers of real corpora: one small corpus written as JSONL, JSONL.zst, Parquet and
Common Crawl WET gives the same kept text, keeps its metadata, and every span gives back
its line; and each reader turns a broken file into a problem naming it."""

from __future__ import annotations

import bz2
import datetime as dt
import gzip
import io
import lzma
import sys
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from conftest import read_corpus, read_jsonl, run_process
from warcio.warcwriter import WARCWriter

from curate.discover import InputFile
from curate.document import Problem, RawDocument
from curate.formats import DEFAULT_READ, reader_by_name

FOOD = "Fresh tomatoes need warm soil, steady water and at least six hours of sun every single day."
DOCUMENTS = [
    {"id": "<urn:uuid:00000000-0000-0000-0000-000000000001>", "url": "https://example.org/garden",
     "date": "2024-02-20T10:00:00Z",
     "text": "Accept all cookies\nHome | News | Garden | Contact\n\n"
             f"{FOOD}\nPlant them deep, so the stem grows roots along its buried length.\n\n"
             "Mulch keeps the soil moist and the weeds down through the long summer months.\n"
             "Share on Facebook\n© 2024 Example Garden Media. All rights reserved."},
    {"id": "<urn:uuid:00000000-0000-0000-0000-000000000002>", "url": "https://example.org/bread",
     "date": "2024-02-21T08:30:00Z",
     "text": "Subscribe to our newsletter\n\nA sourdough starter is flour and water left to ferment for days.\n"
             "Feed it every morning and it rises, bubbling, to twice its size by the evening.\n\n"
             "Bake the loaf in a hot covered pot; the steam gives it a crisp, blistered crust, déjà vu."},
    {"id": "<urn:uuid:00000000-0000-0000-0000-000000000003>", "url": "https://example.org/copy",
     "date": "2024-02-22T12:00:00Z",
     "text": f"Why a second garden page?\n\n{FOOD}\n\nCompost returns the kitchen's scraps to the beds "
             "as dark, crumbly, living soil that plants love."},
]
TEXT = {doc["id"]: doc["text"] for doc in DOCUMENTS}


def _write_jsonl(path: Path) -> bytes:
    data = b"".join(orjson.dumps(doc) + b"\n" for doc in DOCUMENTS)
    path.write_bytes(data)
    return data


def _write_parquet(path: Path) -> None:
    columns = {key: [doc[key] for doc in DOCUMENTS] for key in ("id", "text", "url", "date")}
    pq.write_table(pa.table(columns), path, row_group_size=2)  # two row groups: row numbers run across them


def _write_wet(path: Path) -> None:
    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "tests/test_readers.py"}))
        for doc in DOCUMENTS:
            headers = {"WARC-Record-ID": doc["id"], "WARC-Date": doc["date"], "Content-Type": "text/plain",
                       "WARC-Refers-To": "<urn:uuid:00000000-0000-0000-0000-0000000000ff>",
                       "WARC-Identified-Content-Language": "eng"}
            writer.write_record(writer.create_warc_record(doc["url"], "conversion", warc_headers_dict=headers,
                                                          payload=io.BytesIO(doc["text"].encode("utf-8"))))


def _run(tmp_path: Path, name: str, write) -> tuple[list[dict], list[dict]]:
    src = tmp_path / f"in-{name}"
    src.mkdir()
    write(src / name)
    out = tmp_path / f"out-{name}"
    result = run_process("run", src, "-o", out, "-q")
    assert result.returncode == 0, result.stderr
    assert read_jsonl(out / "quarantine.jsonl") == []
    return read_corpus(out), read_jsonl(out / "removed.jsonl")


def _assert_span_is_a_line(text: str, start: int, end: int, expected: str) -> None:
    data = text.encode("utf-8")
    assert data[start:end].decode("utf-8") == expected
    assert start == 0 or data[start - 1:start] == b"\n", "a span starts at a line's start"
    assert end == len(data) or data[end:end + 1] == b"\n", "a span ends at a line's end"


def test_one_corpus_as_jsonl_zst_parquet_and_wet_keeps_the_same_text_metadata_and_spans(tmp_path):
    writers = {
        "corpus.jsonl": _write_jsonl,
        "corpus.jsonl.zst": lambda p: p.write_bytes(zstandard.ZstdCompressor().compress(_write_jsonl(tmp_path / "x"))),
        "corpus.parquet": _write_parquet,
        "CC-MAIN-test.warc.wet.gz": _write_wet,
    }
    results = {name: _run(tmp_path, name, write) for name, write in writers.items()}
    kept_by_format = {}
    for name, (corpus, removed) in results.items():
        kept_by_format[name] = {rec["id"]: rec["text"] for rec in corpus}
        for rec in corpus:
            assert rec["bytes_of"] == "text_field" and rec["encoding"] == "utf-8"
            doc = next(d for d in DOCUMENTS if d["id"] == rec["id"])
            assert rec["metadata"]["url"] == doc["url"] and rec["metadata"]["date"] == doc["date"], name
            kept_lines = [line for line in rec["text"].split("\n") if line]
            assert len(kept_lines) == len(rec["lines"])
            for line, entry in zip(kept_lines, rec["lines"], strict=True):
                _assert_span_is_a_line(TEXT[rec["id"]], *entry["bytes"], line)
        for rec in removed:
            _assert_span_is_a_line(TEXT[rec["doc"]], *rec["bytes"], rec["removed"])
        reasons = {(rec["doc"], rec["removed"], rec["reason"]) for rec in removed}
        assert (DOCUMENTS[2]["id"], FOOD, "duplicate") in reasons, name  # the copy goes, the first stays
        assert (DOCUMENTS[0]["id"], "Accept all cookies", "rule:cookie-controls") in reasons, name
        # Every non-blank line of every document is kept or removed, once.
        for doc in DOCUMENTS:
            lines = [line for line in doc["text"].split("\n") if line.strip()]
            kept = [line for line in kept_by_format[name].get(doc["id"], "").split("\n") if line]
            gone = [rec["removed"] for rec in removed if rec["doc"] == doc["id"]]
            assert sorted(kept + gone) == sorted(lines), (name, doc["id"])
    first = next(iter(kept_by_format.values()))
    assert all(kept == first for kept in kept_by_format.values())
    assert set(first) == set(TEXT)
    wet_corpus = results["CC-MAIN-test.warc.wet.gz"][0]
    assert [rec["lines"][0]["line"] for rec in wet_corpus] == [2, 3, 4]  # record numbers; the warcinfo is 1
    assert wet_corpus[0]["metadata"] == {"url": DOCUMENTS[0]["url"], "date": DOCUMENTS[0]["date"],
                                         "content_type": "text/plain", "content_language": "eng",
                                         "refers_to": "<urn:uuid:00000000-0000-0000-0000-0000000000ff>"}
    parquet_corpus = results["corpus.parquet"][0]
    assert [rec["lines"][0]["line"] for rec in parquet_corpus] == [1, 2, 3]  # row numbers across row groups


PAGES = [  # (id, text): two empty ids, which name nothing, and an id of a space, which is an id
    ("", "The harbour master said the new pier would open to ferries before the summer season began."),
    ("", "A sourdough starter is flour and water left to ferment for days, fed every single morning."),
    (" ", "Mulch keeps the soil moist and the weeds down through the long and very dry summer months."),
    ("page-4", "The library will stay open late on Thursdays so that students can study for their exams."),
]


def _write_pages_csv(path: Path) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("id", "text"), *PAGES])


@pytest.mark.parametrize("name, write", [
    ("pages.jsonl", lambda p: p.write_bytes(b"".join(orjson.dumps({"id": i, "text": t}) + b"\n" for i, t in PAGES))),
    ("pages.parquet", lambda p: pq.write_table(pa.table(dict(zip(("id", "text"), zip(*PAGES, strict=True),
                                                                 strict=True))), p)),
    ("pages.csv", _write_pages_csv),
])
def test_an_empty_id_names_nothing_in_jsonl_parquet_and_csv_alike(tmp_path, name, write):
    """An "id" of "" was the id of every such JSONL or Parquet record, each after the first
    a duplicate id in the quarantine, where an empty CSV cell fell back to source:ROW: now
    every reader falls back, and keeps the empty id in the metadata."""
    corpus, _ = _run(tmp_path, name, write)  # _run: nothing quarantined, no duplicate id
    assert [(rec["id"], rec.get("metadata")) for rec in corpus] == [
        (f"{name}:1", {"id": ""}), (f"{name}:2", {"id": ""}), (" ", None), ("page-4", None)]
    assert [rec["text"] for rec in corpus] == [text for _, text in PAGES]


REPEATED = "This paragraph is repeated on every line of the page, word for word, again."
LONG_IDS = [  # (id, text): an id over 4,096 bytes, one of exactly 4,096 (UTF-8), and one a byte over
    ("X" * 50_000, "\n".join([REPEATED] * 40 + [f"Line {k} of the first page is its own, unlike the others here."
                                                for k in range(5)])),
    ("é" * 2048, "A page whose id is as long as an id may be, two bytes a character in UTF-8."),
    ("é" * 2048 + "x", "A page whose id is one byte longer than curate takes, so it is kept by its line."),
]


@pytest.mark.parametrize("name", ["pages.jsonl", "pages.parquet"])
def test_an_id_over_4096_bytes_names_no_document_and_is_copied_into_no_audit_record(tmp_path, name):
    """A 1 MB id was copied into the audit record of each removed line and the dedup
    reference of each kept paragraph (4 GB peak and 2 GB of removed.jsonl for 1,000
    lines): now it is kept once, in the metadata, and the document is source:LINE, the
    same on one worker or two, with the index saved."""
    src = tmp_path / "in"
    src.mkdir()
    if name.endswith(".jsonl"):
        (src / name).write_bytes(b"".join(orjson.dumps({"id": i, "text": t}) + b"\n" for i, t in LONG_IDS))
    else:
        pq.write_table(pa.table({"id": [i for i, _ in LONG_IDS], "text": [t for _, t in LONG_IDS]}), src / name)
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out-{workers}"
        result = run_process("run", src, "-o", out, "-q", "--save-index", "--workers", workers)
        assert result.returncode == 0, result.stderr
        assert [(rec["id"], rec.get("metadata")) for rec in read_corpus(out)] == [
            (f"{name}:1", {"id": LONG_IDS[0][0]}), (LONG_IDS[1][0], None), (f"{name}:3", {"id": LONG_IDS[2][0]})]
        assert [(p["line"], p["lines"], p["problem"]) for p in read_jsonl(out / "quarantine.jsonl")] == [
            (1, 0, "id of 50,000 bytes, longer than curate's limit of 4,096 bytes"),
            (3, 0, "id of 4,097 bytes, longer than curate's limit of 4,096 bytes")]
        removed = read_jsonl(out / "removed.jsonl")
        assert len(removed) == 39 and {(r["doc"], r["duplicate_of"]["doc"]) for r in removed} == {(f"{name}:1",) * 2}
        # No audit record or index reference holds a long id: each is a line of a few hundred bytes.
        for audit in ("removed.jsonl", "index/refs.jsonl"):
            assert max(map(len, (out / audit).read_bytes().splitlines())) < 4096 + 400, audit
        outputs.append({path.relative_to(out): path.read_bytes() for path in sorted(out.rglob("*"))
                        if path.is_file() and path.name != "summary.json"})
    assert outputs[0] == outputs[1]


# -- each reader on its own, in process ------------------------------------------------------


def _read(path: Path, format: str, **options) -> list[RawDocument | Problem]:
    import dataclasses

    file = InputFile(path=path, source=path.name, size=path.stat().st_size)
    return list(reader_by_name(format).read(file, dataclasses.replace(DEFAULT_READ, **options)))


def _problems(items) -> list[tuple[int | None, str]]:
    return [(item.line, item.problem) for item in items if isinstance(item, Problem)]


@pytest.mark.unit
@pytest.mark.parametrize("name", ["a.json", "a.ndjson", "a.jsonl.bz2", "a.ndjson.xz", "a.json.gz"])
def test_json_lines_under_every_name_and_compression(tmp_path, name):
    data = b'{"id": "x", "text": "one line of text"}\n{"text": "another"}\n'
    compress = {".bz2": bz2.compress, ".xz": lzma.compress, ".gz": gzip.compress}.get(Path(name).suffix, bytes)
    (tmp_path / name).write_bytes(compress(data))
    items = _read(tmp_path / name, "jsonl")
    assert [(d.id, d.payload, d.record_line) for d in items] == [("x", "one line of text", 1),
                                                                 (f"{name}:2", "another", 2)]


@pytest.mark.unit
@pytest.mark.parametrize("compress", [bz2.compress, lzma.compress], ids=["bz2", "xz"])
def test_a_truncated_bz2_or_xz_stream_is_a_problem_naming_the_file_and_keeps_what_came_before(tmp_path, compress):
    records = b"".join(b'{"text": "record %d of a file cut off in transit"}\n' % i for i in range(2000))
    name = "cut.jsonl" + (".bz2" if compress is bz2.compress else ".xz")
    second = compress(records)  # two streams, as pbzip2 or a concatenation writes them: the second is cut
    (tmp_path / name).write_bytes(compress(records) + second[: len(second) * 3 // 4])
    items = _read(tmp_path / name, "jsonl")
    problems = [item for item in items if isinstance(item, Problem)]
    assert len(problems) == 1 and problems[0].source == name
    assert problems[0].problem.startswith("corrupt or truncated compressed data")
    assert sum(isinstance(item, RawDocument) for item in items) >= 2000


def _xz(data: bytes, dictionary: int, format: int = lzma.FORMAT_XZ) -> bytes:
    """``data`` compressed by the lzma module with this dictionary (in LZMA1 for .lzma)."""
    lzma_filter = lzma.FILTER_LZMA1 if format == lzma.FORMAT_ALONE else lzma.FILTER_LZMA2
    return lzma.compress(data, format=format, filters=[{"id": lzma_filter, "preset": 0, "dict_size": dictionary}])


@pytest.mark.unit
@pytest.mark.parametrize("format", [lzma.FORMAT_XZ, lzma.FORMAT_ALONE], ids=["xz", "lzma"])
def test_an_xz_stream_with_a_dictionary_over_128_mib_is_refused_and_the_streams_before_it_kept(tmp_path, format):
    records = b"".join(b'{"text": "record %d of a file read in pieces"}\n' % i for i in range(2000))
    (tmp_path / "at.jsonl.xz").write_bytes(_xz(records, 128 << 20, format))  # the limit itself is read
    items = _read(tmp_path / "at.jsonl.xz", "jsonl")
    assert len(items) == 2000 and all(isinstance(item, RawDocument) for item in items)
    # After a stream of 1 MiB (xz's default is 8), one of 192 MiB: that stream is refused,
    # said as what it is (not ignored as data after the last stream, nor called corrupt).
    later = _xz(records, 1 << 20) + (_xz(records, 192 << 20, format) if format == lzma.FORMAT_XZ else b"")
    (tmp_path / "later.jsonl.xz").write_bytes(later)
    (tmp_path / "first.jsonl.xz").write_bytes(_xz(records, 192 << 20, format))
    for name, before in [("later.jsonl.xz", 2000), ("first.jsonl.xz", 0)]:
        items = _read(tmp_path / name, "jsonl")
        problems = [item for item in items if isinstance(item, Problem)]
        if format == lzma.FORMAT_ALONE and name == "later.jsonl.xz":
            assert problems == []  # an .lzma file holds one stream
            continue
        assert sum(isinstance(item, RawDocument) for item in items) == before
        assert [(p.problem, p.action.split("; ")[-1]) for p in problems] == [
            ("needs an xz decoding dictionary of 192 MiB, over curate's limit of 128 MiB",
             "recompress the file with xz -9 or a lower level (a dictionary of 64 MiB or less)")]


@pytest.mark.unit
def test_an_xz_file_reads_as_lzmafile_reads_it(tmp_path):
    """The reader with a memory limit gives what LZMAFile gave: several streams, data after
    the last stream that is not one ignored, a stream cut off or corrupt an error."""
    from curate.formats.compressed import open_stream

    one = lzma.compress(b"first stream\n" * 5000)
    cases = {"two": one + lzma.compress(b"second\n"), "tail": one + b"\0\0\0\0garbage", "empty": b"",
             "cut": one[:-30], "corrupt": one[:40] + bytes(40) + one[80:], "not": b"not xz at all",
             "lzma": lzma.compress(b"alone\n", format=lzma.FORMAT_ALONE)}
    for name, data in cases.items():
        path = tmp_path / f"{name}.xz"
        path.write_bytes(data)
        outcomes = []
        for opener in (open_stream, lzma.open):
            try:
                with opener(path) as stream:
                    got: list[bytes] = []
                    while piece := stream.read(1000):
                        got.append(piece)
                outcomes.append((b"".join(got), None))
            except (EOFError, lzma.LZMAError) as err:
                outcomes.append((b"", (type(err), str(err))))
        assert outcomes[0] == outcomes[1], name


@pytest.mark.unit
def test_parquet_keeps_every_other_column_as_json_values(tmp_path):
    table = pa.table({
        "text": ["first text", "second text"],
        "id": [7, 8],
        "when": pa.array([dt.datetime(2024, 2, 20, 10, 0, tzinfo=dt.UTC), None], pa.timestamp("us", tz="UTC")),
        "day": [dt.date(2024, 2, 20), dt.date(2024, 2, 21)],
        "raw": [b"\x00\xff", b""],
        "tags": [["a", "b"], []],
        "extra": pa.array([[("k", 1)], []], pa.map_(pa.string(), pa.int64())),
    })
    pq.write_table(table, tmp_path / "t.parquet")
    docs = _read(tmp_path / "t.parquet", "parquet")
    assert [(d.id, d.record_line, d.payload) for d in docs] == [("7", 1, "first text"), ("8", 2, "second text")]
    assert docs[0].metadata == {"when": "2024-02-20T10:00:00+00:00", "day": "2024-02-20", "raw": "AP8=",
                                "tags": ["a", "b"], "extra": {"k": 1}}
    assert orjson.loads(orjson.dumps(docs[1].metadata)) == docs[1].metadata


@pytest.mark.unit
def test_a_long_csv_id_or_warc_record_id_is_kept_in_the_metadata_with_a_note(tmp_path):
    import csv

    from curate.stages.split import Split

    long_id = "<urn:uuid:" + "0" * 5000 + ">"
    with open(tmp_path / "a.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("id", "text", "url"), (long_id, "a page", "u"), ("short", "another page", "v")])
    _write_wet(tmp_path / "b.warc.wet.gz")
    (tmp_path / "b.warc.wet.gz").write_bytes(gzip.compress(gzip.decompress((tmp_path / "b.warc.wet.gz").read_bytes())
                                                           .replace(DOCUMENTS[1]["id"].encode(), long_id.encode())))
    rows = _read(tmp_path / "a.csv", "csv")
    assert [(d.id, d.metadata) for d in rows] == [("a.csv:1", {"url": "u", "id": long_id}), ("short", {"url": "v"})]
    records = _read(tmp_path / "b.warc.wet.gz", "wet")
    assert [d.id for d in records] == [DOCUMENTS[0]["id"], "b.warc.wet.gz:3", DOCUMENTS[2]["id"]]
    assert records[1].metadata["id"] == long_id and "id" not in records[0].metadata
    notes = [[(p.line, p.lines, p.problem) for p in Split().document(d).problems] for d in (rows + records)]
    note = "id of 5,011 bytes, longer than curate's limit of 4,096 bytes"
    assert notes == [[(1, 0, note)], [], [], [(3, 0, note)], []]


@pytest.mark.unit
def test_parquet_problems_name_the_file_and_row(tmp_path):
    pq.write_table(pa.table({"body": ["x"]}), tmp_path / "no-text.parquet")
    pq.write_table(pa.table({"text": [1, 2]}), tmp_path / "numbers.parquet")
    pq.write_table(pa.table({"text": ["fine", None, "x" * 100]}), tmp_path / "rows.parquet")
    (tmp_path / "fake.parquet").write_bytes(b"PAR1 this is not parquet at all")
    assert _problems(_read(tmp_path / "no-text.parquet", "parquet")) == [
        (None, "no column 'text' (columns: body)")]
    assert _problems(_read(tmp_path / "numbers.parquet", "parquet")) == [
        (None, "column 'text' holds int64, not strings")]
    rows = _read(tmp_path / "rows.parquet", "parquet", max_doc_bytes=50)
    assert [d.payload for d in rows if isinstance(d, RawDocument)] == ["fine"]
    assert _problems(rows) == [(2, "column 'text' is null in this row"),
                               (3, "text of 100 bytes is larger than --max-doc-bytes (50 bytes)")]
    [(line, problem)] = _problems(_read(tmp_path / "fake.parquet", "parquet"))
    assert line is None and problem.startswith("not a Parquet file pyarrow can read")


@pytest.mark.unit
def test_without_pyarrow_a_parquet_or_arrow_file_says_how_to_install_it(tmp_path, monkeypatch):
    pq.write_table(pa.table({"text": ["x"]}), tmp_path / "t.parquet")
    import pyarrow.feather

    pyarrow.feather.write_feather(pa.table({"text": ["x"]}), tmp_path / "t.arrow")
    # What an import sees when it is not installed.
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    monkeypatch.setitem(sys.modules, "pyarrow.ipc", None)
    for name, format in (("t.parquet", "parquet"), ("t.arrow", "arrow")):
        [problem] = _read(tmp_path / name, format)
        assert isinstance(problem, Problem) and "pip install 'curate-corpus[parquet]'" in problem.action
        assert problem.problem.startswith("cannot read ") and problem.problem.endswith(": pyarrow is not installed")


@pytest.mark.unit
def test_a_wet_file_cut_off_keeps_its_whole_records_and_names_the_break(tmp_path):
    _write_wet(tmp_path / "whole.warc.wet.gz")
    data = (tmp_path / "whole.warc.wet.gz").read_bytes()
    (tmp_path / "cut.warc.wet.gz").write_bytes(data[: len(data) - 60])
    items = _read(tmp_path / "cut.warc.wet.gz", "wet")
    assert [d.id for d in items if isinstance(d, RawDocument)] == [doc["id"] for doc in DOCUMENTS[:2]]
    [(line, problem)] = _problems(items)
    assert line == 4 and problem.startswith("corrupt or truncated compressed data")
    plain = gzip.decompress(data)
    (tmp_path / "cut.warc.wet").write_bytes(plain[: len(plain) - 40])
    items = _read(tmp_path / "cut.warc.wet", "wet")
    assert _problems(items) == [(4, f"WARC record cut off: {len(DOCUMENTS[2]['text'].encode()) - 36:,} of its "
                                    f"{len(DOCUMENTS[2]['text'].encode()):,} bytes")]


@pytest.mark.unit
def test_a_wet_payload_that_is_not_utf8_or_too_big_is_a_problem_for_that_record(tmp_path):
    with open(tmp_path / "odd.warc.wet", "wb") as f:
        writer = WARCWriter(f, gzip=False)
        for rid, payload in (("<urn:a>", b"caf\xe9"), ("<urn:b>", b"x" * 100), ("<urn:c>", b"fine")):
            writer.write_record(writer.create_warc_record("https://e.org/", "conversion", payload=io.BytesIO(payload),
                                                          warc_headers_dict={"WARC-Record-ID": rid}))
    items = _read(tmp_path / "odd.warc.wet", "wet", max_doc_bytes=50)
    assert [d.id for d in items if isinstance(d, RawDocument)] == ["<urn:c>"]
    assert _problems(items) == [(1, "payload is not valid UTF-8 (unexpected end of data at byte 3)"),
                                (2, "record of 100 bytes is larger than --max-doc-bytes (50 bytes)")]


@pytest.mark.unit
def test_a_file_that_is_not_warc_or_has_a_bad_header_is_a_problem_never_a_crash(tmp_path):
    (tmp_path / "text.wet").write_bytes(b"just some text\nnot a WARC file\n")
    head = b"WARC/1.0\r\nWARC-Type: conversion\r\nContent-Length: "
    (tmp_path / "bad.warc.wet").write_bytes(head + b"5\r\n\r\nhello\r\n\r\n" + head + b"-3\r\n\r\nxx")
    assert _problems(_read(tmp_path / "text.wet", "wet")) == [(1, "invalid WARC record: Invalid WARC header")]
    items = _read(tmp_path / "bad.warc.wet", "wet")
    assert [d.payload for d in items if isinstance(d, RawDocument)] == ["hello"]
    assert _problems(items)[0] == (2, "invalid WARC record: Content-Length '-3'")


@pytest.mark.unit
def test_a_json_file_that_is_one_object_is_one_problem_and_one_that_is_an_array_is_its_records(tmp_path):
    (tmp_path / "meta.json").write_bytes(orjson.dumps({"name": "dump", "text": "x"}, option=orjson.OPT_INDENT_2))
    (tmp_path / "array.json").write_bytes(b"\n  " + orjson.dumps(DOCUMENTS, option=orjson.OPT_INDENT_2))
    (tmp_path / "lines.json").write_bytes(b"not json\n" + orjson.dumps(DOCUMENTS[0]) + b"\n")
    [meta] = _read(tmp_path / "meta.json", "jsonl")
    assert isinstance(meta, Problem) and meta.line is None
    assert meta.problem == ("a whole JSON document (one JSON object, over 4 lines), not JSON lines or an array of "
                            "records")
    assert meta.lines == 4 and "one record per line" in meta.action
    array = _read(tmp_path / "array.json", "jsonl")
    assert [(d.record_line, d.payload) for d in array] == [(k + 1, d["text"]) for k, d in enumerate(DOCUMENTS)]
    # JSON lines with a bad first line stay JSON lines: the problem is that line's, the rest is read.
    bad, doc = _read(tmp_path / "lines.json", "jsonl")
    assert (bad.line, bad.problem.split(":")[0]) == (1, "invalid JSON") and doc.id == DOCUMENTS[0]["id"]


@pytest.mark.unit
def test_the_line_limit_counts_the_lines_the_splitter_would_make():
    """--max-doc-lines counts without splitting (bounded memory); its count must be the
    splitter's, for every kind of break and blank line, in a file's bytes and a record's text."""
    import random

    from curate.formats import _lines_over_limit, split_lines

    rng = random.Random(7)
    pieces = ["word", "two words", " ", "\t", "", "x", "\u00a0", " \u3000 ", "\x1c"]
    breaks = ["\n", "\r\n", "\r", "\n\n", "\r\r\n"]
    for _ in range(200):
        text = "".join(rng.choice(pieces) + rng.choice(breaks) for _ in range(rng.randrange(1, 30)))
        text += rng.choice(pieces)  # with or without a last line break
        for payload in (text, text.encode()):
            doc = RawDocument(id="d", source="d.txt", record_line=None, payload=payload, size=len(text))
            _, _, read, _ = split_lines(doc)
            if read > 1:
                assert _lines_over_limit(payload, read - 1, "auto") == read
            assert _lines_over_limit(payload, max(read, 1), "auto") is None  # a document of exactly the limit is read
