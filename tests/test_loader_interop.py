"""Corpora that the loaders users feed them to read as curate wrote them: input shapes
that a typed JSON reader refuses (a map column, a field whose JSON type changes) are
written, or reported, so that nothing is lost and the way out is named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, invoke, read_corpus

WORDS = ["river", "authority", "council", "budget", "harbour", "winter", "school", "library", "railway", "museum",
         "garden", "bridge"]


def _text(i: int) -> str:
    """A page of its own (no paragraph of it a copy of another's) that every rule keeps."""
    return " ".join(WORDS[(i * 7 + j * (i + 2)) % len(WORDS)] for j in range(40)) + f" document {i}."


def _run(src: Path, out: Path, *options: str):
    result = invoke("run", src, "--no-project-rules", "-o", out, "-q", *options)
    assert result.exit_code == 0, result.output
    return result


def test_a_string_keyed_map_column_is_written_as_an_object_pyarrow_json_reads(tmp_path):
    """pandas and Spark store a dict column as map<string, ...>: written as [key, value]
    pairs (arrays mixing a string and a number), pyarrow's JSON reader refused the shard.
    A key twice in one cell, or keys that are not strings, keep the pairs: no value lost."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pj = pytest.importorskip("pyarrow.json")
    counts = pa.array([[("views", 3)], [("views", 5), ("likes", 1)], [], None, [("views", 1), ("views", 2)]],
                      pa.map_(pa.string(), pa.int64()))
    nested = pa.array([[[("a", 1)]], [], [[]], None, [[("b", 2)], None]], pa.list_(pa.map_(pa.string(), pa.int64())))
    by_number = pa.array([[(1, "one")], [], [], [], [(2, "two")]], pa.map_(pa.int64(), pa.string()))
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"id": [f"d{i}" for i in range(5)], "text": [_text(i) for i in range(5)],
                             "counts": counts, "nested": nested, "by_number": by_number}),
                   tmp_path / "in" / "pages.parquet")
    for output_format in ("jsonl", "parquet"):
        out = tmp_path / output_format
        _run(tmp_path / "in", out, "--output-format", output_format)
        metadata = [record["metadata"] for record in read_corpus(out)]  # a Parquet row's JSON text parsed
        assert metadata == [
            {"counts": {"views": 3}, "nested": [{"a": 1}], "by_number": [[1, "one"]]},
            {"counts": {"views": 5, "likes": 1}, "nested": [], "by_number": []},
            {"counts": {}, "nested": [{}], "by_number": []},
            {"counts": None, "nested": None, "by_number": []},
            {"counts": [["views", 1], ["views", 2]], "nested": [{"b": 2}, None], "by_number": [[2, "two"]]},
        ]
    # Without the cell whose key repeats and the pairs of number keys, pyarrow types the shard.
    (tmp_path / "in" / "pages.parquet").unlink()
    pq.write_table(pa.table({"id": [f"d{i}" for i in range(4)], "text": [_text(i) for i in range(4)],
                             "counts": counts[:4]}), tmp_path / "in" / "dicts.parquet")
    _run(tmp_path / "in", tmp_path / "loads")
    [shard] = (tmp_path / "loads" / "corpus").iterdir()
    table = pj.read_json(shard)
    assert [row["counts"] for row in table.column("metadata").to_pylist()] == [
        {"views": 3, "likes": None}, {"views": 5, "likes": 1}, {"views": None, "likes": None}, None]


def test_two_field_names_that_one_escape_makes_one_keep_both_values(tmp_path):
    """A lone surrogate in a name is written as its six-character escape text, which can
    be the name of another field of the object: the first keeps the name, and the other's
    value is a problem's preview, where one value silently replaced the other."""
    (tmp_path / "in").mkdir()
    first, second = _text(0), _text(1)
    (tmp_path / "in" / "a.jsonl").write_text(
        f'{{"id": "d0", "text": "{first}", "\\ud800": "from the escape", "\\\\ud800": "from the six characters", '
        f'"nested": {{"x\\udfff": 1, "x\\\\udfff": [2]}}}}\n{{"id": "d1", "text": "{second}", "\\\\ud800": 3}}\n')
    out = tmp_path / "out"
    _run(tmp_path / "in", out)
    assert [record["metadata"] for record in read_corpus(out)] == [
        {"\\ud800": "from the escape", "nested": {"x\\udfff": 1}}, {"\\ud800": 3}]
    quarantine = [json.loads(line) for line in (out / "quarantine.jsonl").read_text().splitlines()]
    assert [(q["source"], q["line"], q["lines"], q["preview"]) for q in quarantine] == [
        ("a.jsonl", 1, 0, '"from the six characters"'), ("a.jsonl", 1, 0, "[2]")]
    assert "metadata['\\ud800']" in quarantine[0]["problem"] and "metadata['nested']['x\\udfff']" in \
        quarantine[1]["problem"]
    assert quarantine[0]["action"].startswith("record kept with the first field's value")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["problem_counts"]["total"] == 2 and summary["documents"]["written"] == 2
    assert summary["lines"]["quarantined"] == 0  # each line is in the corpus: the problems hold 0 lines


def test_datatrove_reads_a_page_without_input_fields_as_the_docs_say_in_both_formats(tmp_path, monkeypatch):
    """A .txt page has no input fields: the JSON Lines record has no metadata, the Parquet
    row a null one, which datatrove's default adapter keeps as metadata["metadata"] = None
    (docs/output.md); the documented keep_both adapter reads both alike."""
    pytest.importorskip("datatrove")
    from datatrove.pipeline.readers import JsonlReader, ParquetReader
    from test_output_formats import _python_block

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "page.txt").write_text(_text(3) + "\n")
    found: dict = {}
    exec(_python_block(ROOT / "docs" / "output.md", "def keep_both").split("\ndocs = ")[0], found)
    default, adapted = {}, {}
    for output_format, reader in (("jsonl", JsonlReader), ("parquet", ParquetReader)):
        out = tmp_path / output_format
        _run(tmp_path / "in", out, "--output-format", output_format)
        [doc] = list(reader(str(out / "corpus"))())
        default[output_format] = {key: value for key, value in doc.metadata.items() if key == "metadata"}
        [doc] = list(reader(str(out / "corpus"), adapter=found["keep_both"])())
        adapted[output_format] = doc.metadata["input"]
    assert default == {"jsonl": {}, "parquet": {"metadata": None}}
    assert adapted == {"jsonl": {}, "parquet": {}}

