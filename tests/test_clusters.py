"""`curate clusters OUT`: the near-duplicate clusters of a finished run, as JSON Lines,
checked against removed.jsonl's dedup records, the corpus, and a golden copy."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import FIXTURES, GOLDEN, SEEDS, invoke, read_corpus, read_jsonl

PAGES = FIXTURES / "clusters" / "pages.jsonl"  # three clusters: 3 copies (two near), then a tie of 1 and 1
GOLDEN_CLUSTERS = GOLDEN / "clusters" / "pages-clusters.jsonl"


def _run(inputs: Path, out: Path, *options: str) -> Path:
    result = invoke("run", inputs, "-o", out, "--quiet", *options)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def pages_out(tmp_path_factory) -> Path:
    return _run(PAGES, tmp_path_factory.mktemp("pages") / "out")


@pytest.fixture(scope="module")
def seeds_out(tmp_path_factory) -> Path:
    return _run(SEEDS, tmp_path_factory.mktemp("seeds") / "out")


def _export(out: Path, *options: str) -> list[dict]:
    result = invoke("clusters", out, *options)
    assert result.exit_code == 0, result.output
    target = Path(options[options.index("-o") + 1]) if "-o" in options else out / "clusters.jsonl"
    return read_jsonl(target)


def test_clusters_match_the_golden_copy(pages_out, tmp_path, update_golden):
    target = tmp_path / "clusters.jsonl"
    _export(pages_out, "-o", str(target))
    if update_golden:
        GOLDEN_CLUSTERS.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN_CLUSTERS.write_bytes(target.read_bytes())
    assert target.read_bytes() == GOLDEN_CLUSTERS.read_bytes()


def test_largest_first_ties_in_removal_order_and_near_copies_keep_their_similarity(pages_out, tmp_path):
    records = _export(pages_out, "-o", str(tmp_path / "c.jsonl"))
    assert [(r["cluster"], r["size"], r["kept"]["doc"]) for r in records] == [
        (1, 4, "page-1"), (2, 2, "page-1"), (3, 2, "page-2")]  # page-4's copy of C is removed before page-5's of B
    assert [(c["doc"], c["similarity"]) for c in records[0]["copies"]] == [
        ("page-2", 1.0), ("page-3", 0.9677), ("page-4", 0.9677)]


@pytest.mark.parametrize("case", ["pages", "seeds"])
def test_every_dedup_record_is_one_copy_of_its_cluster(case, pages_out, seeds_out, tmp_path):
    out = pages_out if case == "pages" else seeds_out
    records = _export(out, "-o", str(tmp_path / "c.jsonl"))
    removed = [r for r in read_jsonl(out / "removed.jsonl") if r["stage"] == "dedup"]
    assert removed, "the fixture must have duplicates, or this test checks nothing"
    place = ("doc", "source", "line", "bytes")

    def pair(kept: dict, copy: dict, text: str, similarity: float) -> str:
        return json.dumps([{k: kept[k] for k in place}, {k: copy[k] for k in place}, text, similarity], sort_keys=True)

    exported = Counter(pair(cluster["kept"], copy, copy["text"], copy["similarity"])
                       for cluster in records for copy in cluster["copies"])
    expected = Counter(pair(r["duplicate_of"], r, r["removed"], r["similarity"]) for r in removed)
    assert exported == expected
    assert all(c["size"] == len(c["copies"]) + 1 for c in records)
    assert [c["cluster"] for c in records] == list(range(1, len(records) + 1))
    assert [c["size"] for c in records] == sorted((c["size"] for c in records), reverse=True)


def test_the_kept_text_is_the_kept_line_of_the_corpus(pages_out, tmp_path):
    corpus = {(r["id"], r["source"]): r for r in read_corpus(pages_out)}
    for cluster in _export(pages_out, "-o", str(tmp_path / "c.jsonl")):
        kept = cluster["kept"]
        record = corpus[(kept["doc"], kept["source"])]
        spans = [line["bytes"] for line in record["lines"]]
        assert kept["bytes"] in spans
        assert kept["text"] in record["text"].split("\n")
        # An exact copy has the kept paragraph's words.
        assert any(c["text"] == kept["text"] for c in cluster["copies"] if c["similarity"] == 1.0)


def test_default_target_refusal_and_overwrite(tmp_path):
    out = _run(PAGES, tmp_path / "out")
    first = invoke("clusters", out)
    assert first.exit_code == 0, first.output
    assert first.output == f"3 clusters (5 copies) written to {out / 'clusters.jsonl'} (0.00 MB)\n"
    (out / "clusters.jsonl").write_text("mine\n")
    again = invoke("clusters", out)
    assert again.exit_code == 1
    assert again.output == (f"Error: {out / 'clusters.jsonl'}: exists already; use --overwrite to replace it, "
                            "or -o FILE to write elsewhere\n")
    assert (out / "clusters.jsonl").read_text() == "mine\n"
    assert invoke("clusters", out, "--overwrite").exit_code == 0
    assert len(read_jsonl(out / "clusters.jsonl")) == 3


def test_a_run_without_duplicates_gives_an_empty_file(tmp_path):
    page = tmp_path / "in" / "one.txt"
    page.parent.mkdir()
    page.write_text("A single paragraph about the weather in the hills, which is mild for the time of year.\n")
    out = _run(page.parent, tmp_path / "out")
    assert _export(out) == []


def test_parquet_shards_are_read_through_the_format_registry(tmp_path):
    pytest.importorskip("pyarrow", reason="the parquet output format needs pyarrow (pip install -e '.[test]')")
    plain = _run(PAGES, tmp_path / "plain")
    parquet = _run(PAGES, tmp_path / "parquet", "--output-format", "parquet")
    assert _export(parquet) == _export(plain)


def test_bad_output_folders_say_what_to_do(tmp_path):
    missing = invoke("clusters", tmp_path / "nope")
    assert missing.exit_code == 1
    assert missing.output == (f"Error: {tmp_path / 'nope'}: no such folder; give the output folder of a finished "
                              "`curate run` (the folder given to -o, which holds summary.json)\n")
    assert invoke("clusters", tmp_path).output == (
        f"Error: {tmp_path}: not a curate output folder (no summary.json); give the folder given to `curate run -o`\n")
    (tmp_path / ".partial").mkdir()
    assert invoke("clusters", tmp_path).output == (
        f"Error: {tmp_path}: the run writing this folder has not finished (no summary.json yet); wait for it, or "
        "finish a stopped run with `curate run ... --resume`\n")
