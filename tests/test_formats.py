"""Formats as plug-ins: readers found by suffix or by --format, sinks that join a run's
chunks resumably, and a toy reader and sink (tests/toys/) that are one module and one
registration line each."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from conftest import invoke, read_corpus
from toys.reader import ParagraphReader
from toys.sink import TextSink

from curate import formats
from curate.discover import InputFile, discover, input_file
from curate.document import Document, Line, Origin, Problem
from curate.errors import UsageError
from curate.formats import (
    DEFAULT_READ,
    ReadOptions,
    read_documents,
    reader_for,
    split_lines,
)
from curate.formats.jsonl_sink import JsonlSink
from curate.write import OutputWriter

RECORD = {"id": "a", "text": "One paragraph of text that is long enough to keep around."}


@pytest.fixture
def toy_reader(monkeypatch) -> ParagraphReader:
    reader = ParagraphReader()
    monkeypatch.setattr(formats, "_READERS", dict(formats._READERS))
    formats.register_reader(reader)
    return reader


@pytest.fixture
def toy_sink(monkeypatch) -> TextSink:
    sink = TextSink()
    monkeypatch.setattr(formats, "_SINKS", dict(formats._SINKS))
    formats.register_sink(sink)
    return sink


# -- the reader registry ---------------------------------------------------------------------


@pytest.mark.parametrize(("name", "reader"), [("a.txt", "txt"), ("A.TXT", "txt"), ("a.jsonl", "jsonl"),
                                              ("a.jsonl.gz", "jsonl"), ("a.Jsonl.Zst", "jsonl"), ("a.md", None),
                                              ("a.txt.gz", "txt"), ("a.Txt.Zst", "txt"), ("jsonl", None),
                                              ("a.json", "jsonl"), ("a.ndjson.xz", "jsonl"), ("a.json.bz2", "jsonl"),
                                              ("a.parquet", "parquet"), ("a.warc.wet.gz", "wet"),
                                              ("a.wet.zst", "wet"), ("a.warc.gz", None)])
@pytest.mark.unit
def test_auto_picks_the_reader_by_suffix(name, reader):
    found = reader_for(Path(name))
    assert (found.name if found else None) == reader


@pytest.mark.unit
def test_the_message_of_what_auto_reads_names_each_reader_once():
    # It is in the quarantine records of skipped files: output bytes.
    # Readers apart by semicolons: a reader's compressed names are told of it alone.
    assert formats.supported() == ("curate reads .txt (each also .gz, .zst, .bz2 or .xz); .jsonl, .json, .ndjson "
                                   "(each also .gz, .zst, .bz2 or .xz); .parquet; .warc.wet, .wet (each also "
                                   ".gz, .zst, .bz2 or .xz); .csv, .tsv (each also .gz, .zst, .bz2 or .xz); and "
                                   ".arrow, .feather")


def test_an_unknown_format_fails_with_the_valid_names():
    with pytest.raises(UsageError, match=r"--format avro: unknown format; use one of auto, arrow, csv, jsonl, "
                                         r"parquet, txt, wet$"):
        formats.check_format("avro")
    result = invoke("run", "x.txt", "--format", "avro")
    assert result.exit_code == 2
    assert "unknown format; use one of auto, arrow, csv, jsonl, parquet, txt, wet" in result.output


@pytest.mark.unit
def test_a_name_cannot_be_registered_twice():
    with pytest.raises(ValueError, match="registered already"):
        formats.register_reader(formats.reader_by_name("txt"))


# -- --format: folder walks and named files ----------------------------------------------------------


def _jsonl_folder(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    src.mkdir()
    (src / "part-00000").write_text(json.dumps(RECORD) + "\n")
    with gzip.open(src / "part-00001.gz", "wt") as f:
        f.write(json.dumps({**RECORD, "id": "b", "text": "Another paragraph, from a compressed part file."}) + "\n")
    (src / ".hidden").write_text("not read\n")
    return src


@pytest.mark.unit
def test_auto_skips_files_no_reader_claims_and_a_format_reads_them(tmp_path):
    src = _jsonl_folder(tmp_path)
    auto = discover([src])
    assert auto.files == []
    assert [(p.source, p.problem) for p in auto.problems] == [
        (".hidden", "hidden file skipped"), ("part-00000", "unsupported file type"),
        ("part-00001.gz", "unsupported file type")]
    named = discover([src], options=ReadOptions(format="jsonl"))
    assert [(f.source, f.format) for f in named.files] == [("part-00000", "jsonl"), ("part-00001.gz", "jsonl")]
    assert [p.problem for p in named.problems] == ["hidden file skipped"]  # hidden names stay skipped
    docs = list(read_documents(named.files, options=ReadOptions(format="jsonl")))
    assert [d.id for d in docs] == ["a", "b"]  # .gz decompressed by its name, whatever the format


@pytest.mark.unit
def test_a_named_file_no_reader_claims_is_refused_unless_a_format_is_given(tmp_path):
    data = tmp_path / "data.jsonlines"
    data.write_text(json.dumps(RECORD) + "\n")
    with pytest.raises(UsageError, match=r"unsupported file type; curate reads .* or name the format"):
        discover([data])
    [found] = discover([data], options=ReadOptions(format="jsonl")).files
    assert found.format == "jsonl"


@pytest.mark.unit
def test_an_explicit_format_overrides_the_suffix(tmp_path):
    """A .txt that holds JSON Lines is read as JSONL when told so, and as one text otherwise."""
    data = tmp_path / "records.txt"
    data.write_text(json.dumps(RECORD) + "\n")
    [as_text] = read_documents(discover([data]).files)
    assert as_text.record_line is None
    [as_records] = read_documents(discover([data], options=ReadOptions(format="jsonl")).files,
                                  options=ReadOptions(format="jsonl"))
    assert as_records.id == "a" and as_records.payload == RECORD["text"]


def test_run_and_explain_with_format(tmp_path):
    src = _jsonl_folder(tmp_path)
    out = tmp_path / "out"
    result = invoke("dedup", src, "-o", out, "-q", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in read_corpus(out)] == ["a", "b"]
    refused = invoke("explain", src / "part-00000")
    assert refused.exit_code == 1 and "or name its format with --format" in refused.output
    explained = invoke("explain", src / "part-00000", "--format", "jsonl", "--no-builtin-rules")
    assert explained.exit_code == 0, explained.output
    assert explained.output.startswith("== a: 1 kept")


# -- the toy reader: one module, one registration line ------------------------------------------


def test_the_toy_reader_reads_by_its_suffix_and_by_name(tmp_path, toy_reader):
    src = tmp_path / "in"
    src.mkdir()
    (src / "notes.para").write_text("First paragraph, first line.\nIts second line.\n\n\nA second paragraph here.\n")
    (src / "other.notes").write_text("Read only with --format para.\n")
    assert [f.source for f in discover([src]).files] == ["notes.para"]
    docs = list(read_documents(discover([src], options=ReadOptions(format="para")).files))
    assert [(d.id, d.record_line) for d in docs] == [("notes.para#1", 1), ("notes.para#5", 5),
                                                      ("other.notes#1", 1)]
    lines, _, _, encoding = split_lines(docs[0], DEFAULT_READ)
    assert encoding == "utf-8"
    assert [(line.raw, line.origin.line) for line in lines] == [("First paragraph, first line.", 1),
                                                              ("Its second line.", 1)]
    out = tmp_path / "out"
    result = invoke("dedup", src, "-o", out, "-q", "--format", "para")
    assert result.exit_code == 0, result.output
    records = read_corpus(out)
    assert [r["id"] for r in records] == ["notes.para#1", "notes.para#5", "other.notes#1"]
    assert records[0]["bytes_of"] == "text_field" and records[0]["lines"][1] == {"line": 1, "bytes": [29, 45]}


# -- sinks ------------------------------------------------------------------------------------------


def _parts(folder: Path, contents: list[bytes]) -> list[Path]:
    parts = []
    for k, data in enumerate(contents):
        part = folder / f"{k:06d}.corpus.jsonl"
        part.write_bytes(data)
        parts.append(part)
    return parts


CHUNKS = [b'{"a":1}\n', b'{"b":2}\n{"c":3}\n', b"", b'{"d":4}\n']


@pytest.mark.unit
def test_the_jsonl_join_is_the_parts_in_order(tmp_path):
    target = tmp_path / "corpus.jsonl"
    JsonlSink().join(_parts(tmp_path, CHUNKS), target)
    assert target.read_bytes() == b"".join(CHUNKS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.jsonl", "corpus.jsonl.joined"]
    JsonlSink().join([tmp_path / "gone"], target)  # the join is over: a call does nothing
    assert target.read_bytes() == b"".join(CHUNKS)


@pytest.mark.unit
def test_the_jsonl_join_resumes_a_killed_append_without_doubling_it(tmp_path):
    parts = _parts(tmp_path, CHUNKS)
    target = tmp_path / "corpus.jsonl"
    # Killed while appending part 2: the journal says part 1 is whole, part 1 holds half of part 2.
    (tmp_path / "corpus.jsonl.joined").write_text(json.dumps([1, len(CHUNKS[0])]))
    with open(parts[0], "ab") as f:
        f.write(CHUNKS[1][:5])
    JsonlSink().join(parts, target)
    assert target.read_bytes() == b"".join(CHUNKS)


@pytest.mark.unit
def test_the_jsonl_join_resumes_after_an_append_whose_part_was_not_yet_deleted(tmp_path):
    parts = _parts(tmp_path, CHUNKS)
    target = tmp_path / "corpus.jsonl"
    (tmp_path / "corpus.jsonl.joined").write_text(json.dumps([2, len(CHUNKS[0]) + len(CHUNKS[1])]))
    with open(parts[0], "ab") as f:
        f.write(CHUNKS[1])
    JsonlSink().join(parts, target)
    assert target.read_bytes() == b"".join(CHUNKS)


def _document(i: int) -> Document:
    text = f"Document number {i} has a line of its own."
    return Document(f"d{i}", f"d{i}.txt", None, [Line(0, text, text, Origin(1, 0, len(text)), False)])


def _write_run(out: Path, sink, docs: int = 5, chunk: int = 2) -> None:
    from curate.summary import Summary

    writer = OutputWriter(out, "fp", sink=sink)
    summary = Summary(files=docs, rules=[], settings={})
    for i in range(docs):
        writer.write_document(_document(i))
        if i == 0:
            writer.write_problem(Problem(f"d{i}.txt", 3, "a problem", "skipped"))
        if (i + 1) % chunk == 0:
            writer.end_chunk(None, summary)
    writer.commit(summary)


@pytest.mark.unit
def test_a_new_sink_writes_the_same_documents_in_the_same_shards(tmp_path, toy_sink):
    _write_run(tmp_path / "jsonl", "jsonl")
    _write_run(tmp_path / "text", "text")
    shards = sorted((tmp_path / "text" / "corpus").iterdir())
    assert [p.name for p in shards] == ["part-00000.txt", "part-00001.txt", "part-00002.txt"]
    texts = [r["text"] for r in read_corpus(tmp_path / "jsonl")]
    assert b"".join(p.read_bytes() for p in shards) == "".join(t + "\n\n" for t in texts).encode()
    assert sorted(p.name for p in (tmp_path / "text").iterdir()) == [
        "README.md", "corpus", "quarantine.jsonl", "removed.jsonl", "summary.json"]
    assert "    path: corpus/*.txt\n" in (tmp_path / "text" / "README.md").read_text()
    assert (tmp_path / "text" / "removed.jsonl").read_bytes() == (tmp_path / "jsonl" / "removed.jsonl").read_bytes()


@pytest.mark.unit
def test_a_killed_shard_join_finishes_with_the_same_shards(tmp_path, monkeypatch):
    from curate.formats import shards

    parts = _parts(tmp_path, CHUNKS)  # the third kept nothing: it has no shard
    target = tmp_path / "corpus"
    real_replace, calls = shards.os.replace, []

    def replace_then_die(src, dst):
        calls.append(src)
        if len(calls) == 3:
            raise KeyboardInterrupt  # killed after two parts were moved
        real_replace(src, dst)

    monkeypatch.setattr(shards.os, "replace", replace_then_die)
    with pytest.raises(KeyboardInterrupt):
        shards.join_shards(parts, target, ".jsonl")
    monkeypatch.setattr(shards.os, "replace", real_replace)
    shards.join_shards(parts, target, ".jsonl")
    assert [p.name for p in sorted(target.iterdir())] == ["part-00000.jsonl", "part-00001.jsonl", "part-00003.jsonl"]
    assert [p.read_bytes() for p in sorted(target.iterdir())] == [c for c in CHUNKS if c]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus"]


@pytest.mark.unit
def test_resume_refuses_a_run_written_by_another_sink(tmp_path, toy_sink):
    from curate.summary import Summary

    out = tmp_path / "out"
    writer = OutputWriter(out, "fp", sink="text")
    writer.write_document(_document(0))
    writer.end_chunk(None, Summary(files=1, rules=[], settings={}))
    writer.interrupt()
    with pytest.raises(UsageError, match="cannot be resumed"):
        OutputWriter(out, "fp", resume=True)
    OutputWriter(out, "fp", resume=True, sink="text").interrupt()


@pytest.mark.unit
def test_an_unknown_sink_fails_with_the_valid_names(tmp_path):
    valid = r"jsonl, jsonl.gz, jsonl.zst, parquet$"
    with pytest.raises(UsageError, match=r"--output-format csv: unknown; use one of " + valid):
        OutputWriter(tmp_path / "out", "fp", sink="csv")
    assert not (tmp_path / "out").exists()


@pytest.mark.unit
def test_input_file_spells_a_named_file_as_a_run_would(tmp_path):
    data = tmp_path / "x.jsonl"
    data.write_text("{}\n")
    assert input_file(data) == InputFile(data, "x.jsonl", 3, "jsonl")
