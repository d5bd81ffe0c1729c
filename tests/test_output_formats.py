"""The corpus folder in every --output-format: the same records, deterministic bytes, and
loaded unchanged by the tools that come next (datasets, datatrove, pandas)."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from conftest import GOLDEN, MIXED, ROOT, SEEDS, corpus_shards, invoke, output_files, read_corpus, read_jsonl

FORMATS = ["jsonl", "jsonl.gz", "jsonl.zst", "parquet"]
GOLDEN_RECORDS = read_jsonl(GOLDEN / "seeds-run" / "corpus.jsonl")


def _run(out: Path, output_format: str, *args: str) -> Path:
    if output_format == "parquet":
        pytest.importorskip("pyarrow")
    result = invoke("run", SEEDS, "--no-project-rules", "-o", out, "-q", "--output-format", output_format, *args)
    assert result.exit_code == 0, result.output
    return out


def _run_on(src: Path, out: Path, output_format: str) -> Path:
    result = invoke("run", src, "--no-project-rules", "-o", out, "-q", "--output-format", output_format)
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("output_format", FORMATS)
def test_every_format_holds_the_golden_records_in_deterministic_shards(tmp_path, output_format):
    one = _run(tmp_path / "one", output_format, "--chunk-docs", "2")
    two = _run(tmp_path / "two", output_format, "--chunk-docs", "2", "--workers", "2")
    suffix = "." + output_format
    assert [p.name for p in corpus_shards(one)] == [f"part-0000{k}{suffix}" for k in range(3)]  # 5 pages, 2 a chunk
    assert read_corpus(one) == GOLDEN_RECORDS
    assert output_files(one) == output_files(two)  # any --workers, and a second run: the same bytes
    summary = json.loads((one / "summary.json").read_text())
    assert summary["output"] == {"corpus": "corpus/", "format": output_format, "schema_version": 2}
    for name in ("removed.jsonl", "quarantine.jsonl"):  # the audit is JSON Lines whatever the format
        assert (one / name).read_bytes() == (GOLDEN / "seeds-run" / name).read_bytes()


def test_gzip_shards_hold_no_name_and_no_time(tmp_path):
    out = _run(tmp_path / "out", "jsonl.gz")
    (shard,) = corpus_shards(out)
    header = shard.read_bytes()[:10]
    assert header[3] == 0 and header[4:8] == b"\0\0\0\0"  # no FNAME flag, mtime 0
    assert gzip.decompress(shard.read_bytes()) == (GOLDEN / "seeds-run" / "corpus.jsonl").read_bytes()


def test_parquet_shards_have_the_documented_schema(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    from curate.formats.parquet_sink import schema

    out = _run(tmp_path / "out", "parquet", "--chunk-docs", "2")
    for shard in corpus_shards(out):
        assert pq.read_schema(shard).remove_metadata() == schema()


def test_a_chunk_that_keeps_nothing_has_no_shard_and_an_empty_run_an_empty_folder(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text("")  # quarantined: an empty file
    out = tmp_path / "out"
    assert invoke("run", src, "-o", out, "-q").exit_code == 0
    assert (out / "corpus").is_dir() and corpus_shards(out) == []
    assert read_jsonl(out / "quarantine.jsonl")[0]["problem"] == "empty file"


def test_a_legacy_output_folder_is_recognised_and_replaced_with_overwrite(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "corpus.jsonl").write_text('{"text": "old"}\n')  # what curate wrote before output schema 1
    (out / "summary.json").write_text(json.dumps({"settings": {"curate": "0.1.0"}}))
    refused = invoke("run", SEEDS, "-o", out, "-q")
    assert refused.exit_code == 1 and "holds a finished run (summary.json)" in refused.output
    assert invoke("run", SEEDS, "-o", out, "-q", "--overwrite").exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "corpus", "quarantine.jsonl", "removed.jsonl",
                                                     "summary.json"]


def test_an_unknown_output_format_is_refused_with_the_valid_names(tmp_path):
    result = invoke("run", SEEDS, "-o", tmp_path / "out", "--output-format", "csv")
    assert result.exit_code == 2
    assert "unknown; use one of jsonl, jsonl.gz, jsonl.zst, parquet" in result.output


# -- the next tool ------------------------------------------------------------------------------


@pytest.mark.parametrize("output_format", FORMATS)
def test_datasets_loads_the_corpus_folder(tmp_path, output_format):
    datasets = pytest.importorskip("datasets")
    out = _run(tmp_path / "out", output_format)
    builder = "parquet" if output_format == "parquet" else "json"
    ds = datasets.load_dataset(builder, data_dir=str(out / "corpus"), split="train", cache_dir=str(tmp_path / "c"))
    assert ds["text"] == [r["text"] for r in GOLDEN_RECORDS]
    assert ds["id"] == [r["id"] for r in GOLDEN_RECORDS]
    assert ds[0]["lines"][0]["bytes"] == GOLDEN_RECORDS[0]["lines"][0]["bytes"]


@pytest.mark.parametrize("output_format", FORMATS)
def test_datasets_loads_the_output_folder_itself_by_its_dataset_card(tmp_path, output_format):
    datasets = pytest.importorskip("datasets")
    out = _run(tmp_path / "out", output_format)
    cache = str(tmp_path / "c")
    corpus = datasets.load_dataset(str(out), split="train", cache_dir=cache)  # README.md names the shards
    assert corpus["text"] == [r["text"] for r in GOLDEN_RECORDS]
    mixed = tmp_path / "mixed"  # its inputs leave records in both audit files
    result = invoke("run", MIXED, "--no-project-rules", "-o", mixed, "-q", "--output-format", output_format)
    assert result.exit_code == 0, result.output
    for name in ("removed", "quarantine"):
        expected = read_jsonl(mixed / f"{name}.jsonl")
        assert expected
        if output_format == "parquet":  # datasets reads a folder's every configuration with one builder
            loaded = datasets.load_dataset("json", data_files=str(mixed / f"{name}.jsonl"), split="train",
                                           cache_dir=cache)
        else:
            loaded = datasets.load_dataset(str(mixed), name, split="train", cache_dir=cache)
        assert loaded["source"] == [r["source"] for r in expected]


def test_the_dataset_card_names_the_shards_and_only_audit_files_that_hold_records(tmp_path):
    from curate.card import dataset_card

    both = ("removed.jsonl", "quarantine.jsonl")
    out = _run(tmp_path / "out", "jsonl.zst")  # the seeds: lines removed, no input quarantined
    assert (out / "README.md").read_text(encoding="utf-8") == dataset_card(".jsonl.zst", ("removed.jsonl",))
    assert "    path: corpus/*.jsonl.zst\n" in dataset_card(".jsonl.zst", both)
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "page.txt").write_text("The harbour reopens in spring, two years later than planned.\n", encoding="utf-8")
    quiet = tmp_path / "quiet"
    assert invoke("run", clean, "-o", quiet, "-q", "--no-project-rules").exit_code == 0
    card = (quiet / "README.md").read_text(encoding="utf-8")
    assert card == dataset_card(".jsonl") and "config_name: removed" not in card  # an empty file fails to load
    assert "config_name: removed" not in dataset_card(".parquet", both)


def test_the_cards_audit_columns_hold_every_field_of_the_audit_records(tmp_path):
    # Declared, so that datasets reads a removed.jsonl whose later records hold fields its
    # first block lacks (duplicate_of, noise_score) instead of failing to cast them.
    datasets = pytest.importorskip("datasets")
    yaml = pytest.importorskip("yaml")
    out = tmp_path / "mixed"
    assert invoke("run", MIXED, "--no-project-rules", "-o", out, "-q").exit_code == 0
    header = (out / "README.md").read_text(encoding="utf-8").split("---\n")[1]
    declared = {entry["config_name"]: datasets.Features._from_yaml_list(entry["features"])
                for entry in yaml.safe_load(header)["dataset_info"]}
    assert set(declared) == {"removed", "quarantine"}
    for name, features in declared.items():
        records = read_jsonl(out / f"{name}.jsonl")
        assert {key for record in records for key in record} <= set(features)
        rows = [{key: record.get(key) for key in features} for record in records]  # absent: null, as datasets reads it
        assert datasets.Dataset.from_list(rows, features=features).to_list() == rows  # every value casts, unchanged
    removed = read_jsonl(out / "removed.jsonl")
    assert {"duplicate_of", "noise_score"} <= {key for record in removed for key in record}


def test_a_readme_of_the_users_own_keeps_the_folder_from_curate(tmp_path):
    out = _run(tmp_path / "out", "jsonl")
    again = invoke("run", SEEDS, "--no-project-rules", "-o", out, "-q", "--overwrite")
    assert again.exit_code == 0 and (out / "README.md").read_text().startswith("---\n# Written by curate")
    (out / "README.md").write_text("# My corpus\n\nNotes I wrote by hand.\n")
    refused = invoke("run", SEEDS, "--no-project-rules", "-o", out, "-q", "--overwrite")
    assert refused.exit_code == 1 and "holds files curate did not write (README.md)" in refused.output
    assert (out / "README.md").read_text() == "# My corpus\n\nNotes I wrote by hand.\n"


@pytest.mark.parametrize("output_format", FORMATS)
def test_datatrove_reads_the_corpus_folder_with_default_arguments(tmp_path, output_format):
    pytest.importorskip("datatrove")
    from datatrove.pipeline.readers import JsonlReader, ParquetReader

    out = _run(tmp_path / "out", output_format)
    reader = ParquetReader if output_format == "parquet" else JsonlReader
    docs = list(reader(str(out / "corpus"))())
    assert [(d.id, d.text) for d in docs] == [(r["id"], r["text"]) for r in GOLDEN_RECORDS]
    assert docs[0].metadata["source"] == GOLDEN_RECORDS[0]["source"]


def _python_block(path: Path, marker: str) -> str:
    """The one ```python block of a Markdown file that holds ``marker``, as written."""
    [block] = [block for block in re.findall(r"```python\n(.*?)```", path.read_text(), re.S) if marker in block]
    return block


@pytest.mark.parametrize("output_format", ["jsonl", "parquet"])
def test_the_documented_datatrove_adapter_keeps_the_inputs_fields_that_share_curates_names(
        tmp_path, monkeypatch, output_format):
    """datatrove's default adapter lets curate's top-level fields replace the input's own
    metadata of the same names (a FineWeb record's language, a dolma record's source): the
    adapter README.md and docs/output.md give keeps both, run here as written."""
    pytest.importorskip("datatrove")
    from datatrove.pipeline.readers import ParquetReader

    snippet = _python_block(ROOT / "README.md", "def keep_both")
    assert _python_block(ROOT / "docs" / "output.md", "def keep_both") == snippet.replace("output/", "OUT/")
    own = {"language": "fr", "language_score": 0.25, "source": "dolma-cc", "encoding": "latin-1",
           "bytes_of": "html", "lines": 7, "url": "https://example.org/pier"}  # each top-level name curate writes
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "pages.jsonl").write_text(json.dumps({
        "id": "pier", "text": "The harbour master said the new pier would open to ferries before the summer season "
                              "began, and the town council agreed to pay for the lights along it.", **own}) + "\n")
    out = _run_on(tmp_path / "in", tmp_path / "output", output_format)
    monkeypatch.chdir(tmp_path)
    found: dict = {}
    exec(snippet, found)  # the snippet reads "output/corpus" as JSON Lines
    docs = list(found["docs"] if output_format == "jsonl" else ParquetReader(str(out / "corpus"),
                                                                                 adapter=found["keep_both"])())
    [record] = read_corpus(out)
    assert [(doc.id, doc.text) for doc in docs] == [("pier", record["text"])]
    metadata = docs[0].metadata
    assert metadata["input"] == own  # the input's own fields, every one as it was
    assert (metadata["language"], metadata["source"], metadata["lines"][0]["bytes"]) == \
        ("en", "pages.jsonl", record["lines"][0]["bytes"])  # curate's, under their own names


def test_a_parquet_corpus_gives_back_metadata_integers_beyond_2_53_exactly(tmp_path):
    """docs/output.md recommends --output-format parquet for ids and counters beyond 2**53,
    which JSON readers that type a field as float64 round: its metadata is JSON text, whose
    integers json.loads reads whole, whatever their size."""
    pq = pytest.importorskip("pyarrow.parquet")
    pages = {2**53 + 1: "The harbour master said the new pier would open to ferries before the summer season began.",
             2**64 + 1: "A sourdough starter is flour and water left to ferment for days, fed every single morning.",
             -(2**63) - 1: "Mulch keeps the soil moist and the weeds down through the long and very dry summer months."}
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "pages.jsonl").write_text("".join(json.dumps({"text": text, "counter": counter}) + "\n"
                                                         for counter, text in pages.items()))
    out = _run_on(tmp_path / "in", tmp_path / "out", "parquet")
    rows = pq.read_table(out / "corpus").to_pylist()
    assert [json.loads(row["metadata"])["counter"] for row in rows] == list(pages)
    assert [row["text"] for row in rows] == list(pages.values())


def test_pandas_reads_the_parquet_folder_and_the_compressed_shards(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.read_parquet(_run(tmp_path / "p", "parquet", "--chunk-docs", "2") / "corpus")
    assert list(frame["text"]) == [r["text"] for r in GOLDEN_RECORDS]
    for output_format in ("jsonl.gz", "jsonl.zst"):
        out = _run(tmp_path / output_format, output_format, "--chunk-docs", "2")
        frames = [pd.read_json(shard, lines=True) for shard in corpus_shards(out)]
        assert list(pd.concat(frames)["text"]) == [r["text"] for r in GOLDEN_RECORDS]
