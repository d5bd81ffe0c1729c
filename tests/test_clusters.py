"""`curate clusters OUT`: the near-duplicate clusters of a finished run, as JSON Lines,
checked against removed.jsonl's dedup records, the corpus, and a golden copy."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import FIXTURES, GOLDEN, SEEDS, in_process, invoke, read_corpus, read_jsonl, run_process

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


def _crawls_that_reuse_a_file_name(root: Path) -> tuple[Path, Path]:
    """Two crawls that both hold page.txt (a .txt page's doc is its file name): the second's
    line 3 is other text, of about the same length, and its zz.txt copies the first's line
    3. So the second run keeps a paragraph with the same doc, source, line and bytes as the
    earlier run's paragraph that zz.txt copies."""
    page = (SEEDS / "000_81f965e35548dbec.txt").read_text(encoding="utf-8").split("\n")
    first, second = root / "X1", root / "X2"
    first.mkdir()
    second.mkdir()
    (first / "page.txt").write_text("\n".join(page), encoding="utf-8")
    other = ("A different third paragraph of the second crawl's page, of its own words, on the river authority's "
             "flood report and the new harbour lights, the ferry timetable for the winter months, the schools "
             "that open their halls as shelters, the volunteers who fill sandbags, and what the mayor said of it")
    other = (other + " " + "x" * len(page[2]))[:len(page[2].encode("utf-8"))]
    assert len(other.encode("utf-8")) == len(page[2].encode("utf-8"))
    (second / "page.txt").write_text("\n".join([*page[:2], other, *page[3:]]), encoding="utf-8")
    (second / "zz.txt").write_text(f"A short new intro for this second document, written fresh today.\n\n{page[2]}\n",
                                   encoding="utf-8")
    return first, second


@pytest.mark.parametrize("options", [[], ["--dedup-parts"], ["--memory", "4kB"]], ids=["index", "parts", "spilled"])
def test_a_kept_paragraph_of_the_earlier_run_is_told_from_one_of_this_run_with_the_same_span(tmp_path, options):
    """The cluster's kept text was this run's own line 3 (the corpus line with the same doc,
    source, line and bytes), where the paragraph is the earlier run's: the audit could not
    tell them apart. Now duplicate_of says `"against": true`, and clusters keeps its text null."""
    first, second = _crawls_that_reuse_a_file_name(tmp_path)
    o1, o2 = tmp_path / "o1", tmp_path / "o2"
    for args in ((first, "-o", o1, "--save-index"), (second, "-o", o2, "--against", o1, *options)):
        done = in_process("run", *args, "-q")
        assert done.returncode == 0, done.stderr
    copies = [r for r in read_jsonl(o2 / "removed.jsonl") if r.get("reason") == "duplicate"]
    from_zz = [r for r in copies if r["source"] == "zz.txt"]
    assert len(from_zz) == 1
    assert from_zz[0]["duplicate_of"] == {"doc": "page.txt", "source": "page.txt", "line": 3,
                                          "bytes": from_zz[0]["duplicate_of"]["bytes"], "against": True}
    # This run keeps page.txt's line 3 with the same span: the very ambiguity.
    kept_lines = {(d["source"], line["line"], tuple(line["bytes"])) for d in read_corpus(o2) for line in d["lines"]}
    assert ("page.txt", 3, tuple(from_zz[0]["duplicate_of"]["bytes"])) in kept_lines
    # Every copy of page.txt's other lines points into the earlier run too; none is this run's.
    assert all(r["duplicate_of"].get("against") is True for r in copies)
    done = in_process("clusters", o2)
    assert done.returncode == 0, done.stderr
    clusters = read_jsonl(o2 / "clusters.jsonl")
    zz = [c for c in clusters if c["copies"][0]["source"] == "zz.txt"]
    assert len(zz) == 1 and zz[0]["kept"]["text"] is None and zz[0]["kept"]["against"] is True
    assert all(c["kept"]["text"] is None for c in clusters)


def test_a_copy_of_this_runs_own_paragraph_in_a_run_against_says_nothing_more(tmp_path):
    """Only a duplicate_of into the earlier run carries the field; one of this run's own,
    in the same run, is as before, and clusters gives its kept text."""
    first, second = _crawls_that_reuse_a_file_name(tmp_path)
    page = (second / "page.txt").read_text(encoding="utf-8").split("\n")
    (second / "zy.txt").write_text(page[2] + "\n", encoding="utf-8")  # copies this run's own line 3
    o1, o2 = tmp_path / "o1", tmp_path / "o2"
    for args in ((first, "-o", o1, "--save-index"), (second, "-o", o2, "--against", o1)):
        done = in_process("run", *args, "-q")
        assert done.returncode == 0, done.stderr
    from_zy = [r for r in read_jsonl(o2 / "removed.jsonl") if r["source"] == "zy.txt"]
    assert len(from_zy) == 1 and "against" not in from_zy[0]["duplicate_of"]
    assert run_process("clusters", o2).returncode == 0  # the console script, end to end
    zy = [c for c in read_jsonl(o2 / "clusters.jsonl") if c["copies"][0]["source"] == "zy.txt"]
    assert len(zy) == 1 and zy[0]["kept"]["text"] == page[2] and "against" not in zy[0]["kept"]
    datasets = pytest.importorskip("datasets")
    removed = datasets.load_dataset(str(o2), "removed", split="train", cache_dir=str(tmp_path / "cache"))
    refs = {r["source"]: r["duplicate_of"] for r in removed if r["duplicate_of"] is not None}
    assert refs["zy.txt"]["against"] is None and refs["zz.txt"]["against"] is True
