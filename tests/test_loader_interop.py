"""Corpora that the loaders users feed them to read as curate wrote them: input shapes
that a typed JSON reader refuses (a map column, a field whose JSON type changes) are
written, or reported, so that nothing is lost and the way out is named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, invoke, output_files, read_corpus, run_process

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


def _records(path: Path, *fields: dict, first: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"id": f"d{i}", "text": _text(i), **extra}) + "\n"
                            for i, extra in enumerate(fields, first)))


def test_a_metadata_field_of_two_json_types_is_named_with_the_way_out(tmp_path):
    """4 in three documents and 4.5 in the next three: cut into two shards, datasets fails
    to load the corpus ("Float value 4.5 was truncated converting to int64"), and no one
    was told. The run warns, in summary.json and on the terminal, naming the field, the
    first document of each type and --output-format parquet, which loads."""
    datasets = pytest.importorskip("datasets")
    datasets.disable_progress_bars()
    _records(tmp_path / "in" / "a.jsonl", *[{"score": 4, "page": 3, "tags": None}] * 3,
             *[{"score": 4.5, "page": None, "tags": ["x"]}] * 3)
    out = tmp_path / "out"
    result = invoke("run", tmp_path / "in", "--no-project-rules", "-o", out, "--chunk-docs", "3")
    assert result.exit_code == 0, result.output
    warning = ("metadata field 'score' holds integer values (a.jsonl:1) and float values (a.jsonl:4): a JSON Lines "
               "corpus of several shards may then fail to load with datasets, polars or pyarrow (they type a field "
               "by its first shard); write it with --output-format parquet, whose metadata is one JSON text column, "
               "or make the field's values one type in the input")
    assert f"warning: {warning}\n" in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["warnings"] == [warning]  # null goes with any type: 'page' and 'tags' are not named
    assert "`--output-format parquet`" in (out / "README.md").read_text()
    with pytest.raises(datasets.exceptions.DatasetGenerationError):
        datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / "cache"))
    # The same words whatever the workers; the way out loads, and has nothing to warn of.
    again = tmp_path / "workers"
    _run(tmp_path / "in", again, "--chunk-docs", "3", "--workers", "2")
    assert json.loads((again / "summary.json").read_text())["warnings"] == [warning]
    parquet = tmp_path / "parquet"
    _run(tmp_path / "in", parquet, "--chunk-docs", "3", "--output-format", "parquet")
    assert "warnings" not in json.loads((parquet / "summary.json").read_text())
    assert "`--output-format parquet`" not in (parquet / "README.md").read_text()
    corpus = datasets.load_dataset(str(parquet), split="train", cache_dir=str(tmp_path / "cache"))
    assert [json.loads(text)["score"] for text in corpus["metadata"]] == [4, 4, 4, 4.5, 4.5, 4.5]


def test_each_field_of_two_types_is_named_once_in_the_order_the_fields_first_appear(tmp_path):
    """Types are JSON's as the corpus writes them: a boolean is not an integer (datasets
    reads a later 3 as true), NaN is written as null and goes with any type, a field
    inside an object is not followed, and a field's first conflict is the one named."""
    _records(tmp_path / "in" / "a.jsonl", {"flag": True, "x": 1.5, "o": {"n": 1}},
             {"flag": 3, "x": float("nan"), "o": {"n": "one"}, "late": "p-1"},
             {"flag": "yes", "late": 2}, {"late": [2]})
    _records(tmp_path / "in" / "b.jsonl", {"x": 2}, first=10)
    out = tmp_path / "out"
    _run(tmp_path / "in", out)
    warnings = json.loads((out / "summary.json").read_text())["warnings"]
    assert [w.split(": a JSON Lines")[0] for w in warnings] == [
        "metadata field 'flag' holds boolean values (a.jsonl:1) and integer values (a.jsonl:2)",
        "metadata field 'x' holds float values (a.jsonl:1) and integer values (b.jsonl:1)",
        "metadata field 'late' holds string values (a.jsonl:2) and integer values (a.jsonl:3)",
    ]


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


def test_ray_names_the_conflicts_the_local_engine_names(tmp_path, ray_cluster):
    """The warning comes from the records as written, in output order: the same bytes on
    either engine (Ray's actors encode the records, as local workers do)."""
    _records(tmp_path / "in" / "a.jsonl", *[{"score": 4}] * 3, *[{"score": "p-4"}] * 3)
    _records(tmp_path / "in" / "b.jsonl", {"score": 4.5, "flag": 1}, {"flag": True}, first=10)
    local = run_process("run", tmp_path / "in", "-o", tmp_path / "local", "-q", "--chunk-docs", "3",
                        "--workers", "2")
    assert local.returncode == 0, local.stderr
    joined, cluster_env = ray_cluster
    ray = run_process("run", tmp_path / "in", "-o", tmp_path / "ray", "-q", "--chunk-docs", "3", *joined,
                      env=cluster_env)
    assert ray.returncode == 0, ray.stderr
    written = output_files(tmp_path / "local")
    assert output_files(tmp_path / "ray") == written
    assert [w.split(":")[0] for w in json.loads(written["summary.json"])["warnings"]] == [
        "metadata field 'score' holds integer values (a.jsonl", "metadata field 'flag' holds integer values (b.jsonl"]


@pytest.mark.slow
def test_a_resumed_run_names_the_conflicts_found_before_its_stop(tmp_path):
    """The fields' types are part of each chunk's saved summary: a conflict in the chunks
    before a SIGKILL is named after --resume, as by a run never stopped, and so is one
    after it."""
    import test_resume  # first: it puts bench/ on the path
    from generate import generate

    _start = test_resume._start

    generate(1.0, tmp_path / "gen")
    records = [json.loads(line) for line in (tmp_path / "gen" / "corpus.jsonl").read_text().splitlines()]
    for i, record in enumerate(records):
        record["early"] = 1.5 if i == 3 else 1  # a conflict in the first chunk
        record["late"] = "x" if i == len(records) - 1 else i  # and one in the last
    pages = tmp_path / "pages.jsonl"
    pages.write_text("".join(json.dumps(r) + "\n" for r in records))
    reference = _start(pages, tmp_path / "ref", "--workers", "2")
    assert reference.wait() == 0, reference.stderr.read()
    out = tmp_path / "out"
    proc = _start(pages, out, "--workers", "2")
    test_resume._wait_for_chunks(out, proc, 3)
    proc.kill()
    proc.wait()
    test_resume._wait_until_no_process_writes_to(out)
    resumed = _start(pages, out, "--workers", "2", "--resume")
    assert resumed.wait() == 0, resumed.stderr.read()
    assert output_files(out) == output_files(tmp_path / "ref")
    warnings = json.loads((out / "summary.json").read_text())["warnings"]
    assert [w.split(" holds")[0] for w in warnings] == ["metadata field 'early'", "metadata field 'late'"]
