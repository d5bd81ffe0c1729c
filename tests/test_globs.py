"""Inputs given as glob patterns: what a pattern takes, against Python's glob module on a
real folder tree, and the real CLI on them."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import in_process, read_corpus

from curate.errors import UsageError
from curate.globs import Glob, as_glob

TREE = ["a.jsonl", "b.txt", ".hidden.jsonl", "s1/wet/x.jsonl", "s1/wet/y.txt", "s1/warc/x.jsonl", "s2/wet/x.jsonl",
        "s2/wet/deep/z.jsonl", "s2/.h/x.jsonl", "s10/wet/x.jsonl", "t[1]/q.jsonl", "c.d/e.jsonl"]
PATTERNS = ["*.jsonl", "*/wet/*.jsonl", "s?/wet/*", "s[12]/*/*.jsonl", "s[!1]/**/*.jsonl", "**/*.jsonl", "**",
            "s1", "*/wet", ".*", "s*/**/x.jsonl", "**/deep/*", "*.d/*", "s2/.h/*", "nothing/*"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tree")
    for name in TREE:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x\n")
    return root


def _by_python(root: Path, pattern: str) -> set[str]:
    """The files Python's glob finds, and the files under a folder it finds but for hidden
    names, as a walk of the shell's expansion of the pattern would take them."""
    found = set()
    for match in glob.glob(pattern, root_dir=root, recursive=True):
        path = root / match
        if path.is_dir():
            found |= {p.relative_to(root).as_posix() for p in path.rglob("*")
                      if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)}
        else:
            found.add(Path(match).as_posix())
    return found


def _by_curate(root: Path, pattern: str) -> set[str]:
    taken = set()
    for folder, folders, files in os.walk(root):
        here = Path(folder).relative_to(root).as_posix()
        here = "" if here == "." else here + "/"
        folders[:] = [name for name in folders if Glob(".", pattern).may_hold(here + name)]
        taken |= {here + name for name in files if Glob(".", pattern).takes(here + name)}
    return taken


@pytest.mark.unit
@pytest.mark.parametrize("pattern", PATTERNS)
def test_a_pattern_takes_what_python_glob_takes(tree, pattern):
    assert _by_curate(tree, pattern) == _by_python(tree, pattern)


@pytest.mark.unit
def test_an_input_is_a_pattern_only_with_a_wildcard_and_no_such_name(tmp_path):
    assert as_glob("crawl/part-1.jsonl") is None
    assert as_glob("crawl/*/wet/*.gz") == Glob("crawl", "*/wet/*.gz")
    assert as_glob("*.jsonl") == Glob(".", "*.jsonl")
    assert as_glob("/data/**/x") == Glob("/data", "**/x")
    assert as_glob("s3://bucket/dump/CC-*/wet/*.gz") == Glob("s3://bucket/dump", "CC-*/wet/*.gz")
    literal = tmp_path / "odd[1].txt"
    literal.write_text("x\n")
    assert as_glob(str(literal)) is None  # a name with brackets in it, read as it is
    with pytest.raises(UsageError, match="bucket's name cannot be a pattern"):
        as_glob("s3://bucket-*/x")


@pytest.mark.unit
def test_a_web_urls_query_is_no_wildcard():
    """A presigned URL's ``?X-Amz-Signature=...`` made it a pattern no file could match."""
    assert as_glob("https://host/doc.jsonl?X-Amz-Signature=abc&X-Amz-Expires=60") is None
    assert as_glob("HTTP://host/doc.jsonl?a=b#part*") is None
    assert as_glob("http://host/dump/*.jsonl") == Glob("http://host/dump", "*.jsonl")
    assert as_glob("s3://bucket/doc?.jsonl") == Glob("s3://bucket", "doc?.jsonl")  # in a bucket, still a wildcard
    with pytest.raises(UsageError, match="a pattern in a URL with a query string"):
        as_glob("https://host/dump/*.jsonl?sig=1")


def test_a_quoted_pattern_reads_the_files_it_matches_with_sources_under_its_folder(tmp_path):
    crawl = tmp_path / "crawl"
    for segment in ("s1", "s2"):
        for kind in ("wet", "warc"):
            (crawl / segment / kind).mkdir(parents=True)
            (crawl / segment / kind / "part.jsonl").write_text(json.dumps(
                {"text": f"The {kind} file of segment {segment} holds a sentence that is long enough to keep."}) + "\n")
    (crawl / "s1" / ".cache").mkdir()
    (crawl / "s1" / ".cache" / "part.jsonl").write_text("{}\n")
    out = tmp_path / "out"
    result = in_process("run", "crawl/*/wet/*.jsonl", "-o", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [r["source"] for r in read_corpus(out)] == ["s1/wet/part.jsonl", "s2/wet/part.jsonl"]
    assert (out / "quarantine.jsonl").read_text() == ""  # nothing outside the pattern is said
    summary = json.loads((out / "summary.json").read_text())
    # root is the pattern as given; folder, the folder its sources are relative to.
    assert summary["inputs"] == [{"folder": str(crawl), "label": "", "root": str(crawl / "*" / "wet" / "*.jsonl")}]

    missing = in_process("run", "crawl/*/wat/*.jsonl", "-o", tmp_path / "none", cwd=tmp_path)
    assert missing.returncode == 1 and "crawl/*/wat/*.jsonl: no file matches the pattern" in missing.stderr


def test_the_summary_locates_every_source_of_a_pattern_as_docs_output_md_says(tmp_path):
    """docs/output.md, "Sources and input roots": the file is the input's folder (for a
    pattern) or root, "/", and the source without its label. With a pattern's root (the
    pattern itself) that named no file; other inputs' entries have no folder key."""
    crawl = tmp_path / "crawl"
    (crawl / "s1").mkdir(parents=True)
    (crawl / "s1" / "p.jsonl").write_text(json.dumps({"text": "A paragraph of real content that is long enough to be "
                                                               "kept by every stage of the run."}) + "\n")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "q.txt").write_text("Another page of the crawl, with a sentence long enough to keep here.\n")
    (tmp_path / "one.txt").write_text("A file given by its name, which holds a sentence long enough to keep.\n")
    for name, inputs in (("pattern", ["crawl/*/*.jsonl"]), ("mixed", ["crawl/*/*.jsonl", "other", "one.txt"])):
        out = tmp_path / name
        result = in_process("run", *inputs, "-o", out, "-q", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        entries = json.loads((out / "summary.json").read_text())["inputs"]
        assert [sorted(entry) for entry in entries] == [["folder", "label", "root"]] + [["label", "root"]] * (
            len(inputs) - 1)
        assert entries[0]["folder"] == str(crawl) and entries[0]["root"] == str(crawl / "*" / "*.jsonl")
        sources = [record["source"] for record in read_corpus(out)]
        assert len(sources) == len(inputs)
        for source in sources:
            entry = next(e for e in entries if not e["label"] or source == e["label"]
                         or source.startswith(e["label"] + "/"))
            inside = source.removeprefix(entry["label"]).removeprefix("/")
            path = Path(entry.get("folder", entry["root"]) + "/" + inside if inside else entry["root"])
            assert path.is_file(), (source, entry)


def test_a_pattern_enters_an_output_folder_only_for_the_corpus_it_names(tmp_path):
    """'runs/*/corpus/*.jsonl' reads each run's corpus, as the shell's expansion of it
    would; a pattern that does not name corpus/ right below the output folder ('runs/*',
    '**') skips the folder with its problem, as a folder walk does."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("A paragraph of real content, long enough to be kept by every stage.\n")
    for run in ("x", "y"):
        first = in_process("run", "in", "-o", f"runs/{run}", "-q", "--save-index", cwd=tmp_path)
        assert first.returncode == 0, first.stderr
    assert Glob(".", "*/corpus/*.jsonl").names_below("x", "corpus")
    assert not Glob(".", "**/corpus/*.jsonl").names_below("x", "corpus")
    assert not Glob(".", "*/*/*.jsonl").names_below("x", "corpus")
    for pattern, read in (("runs/*/corpus/*.jsonl", True), ("runs/*/corpus", True), ("runs/*", False),
                          ("runs/**/corpus/*.jsonl", False), ("runs/*/*/*.jsonl", False)):
        out = tmp_path / "out"
        result = in_process("run", pattern, "-o", out, "-q", "--overwrite", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        problems = [json.loads(line) for line in (out / "quarantine.jsonl").read_text().splitlines()]
        summary = json.loads((out / "summary.json").read_text())
        if read:
            assert summary["files"] == 2 and summary["lines"]["read"] == 2, pattern
            assert {p["problem"].split(",")[0] for p in problems} == {"duplicate id 'a.txt'"}, pattern
        else:
            assert summary["lines"]["read"] == 0, pattern
            assert [(p["source"], p["problem"]) for p in problems] == [
                (run, "output folder of a curate run skipped") for run in ("x", "y")], pattern


def test_two_patterns_may_walk_one_folder_but_not_take_one_file_twice(tmp_path):
    crawl = tmp_path / "crawl"
    for kind in ("wet", "warc"):
        (crawl / "s1" / kind).mkdir(parents=True)
        (crawl / "s1" / kind / "part.jsonl").write_text(json.dumps(
            {"text": f"The {kind} file holds a sentence of its own that is long enough to be kept."}) + "\n")
    both = in_process("run", "crawl/*/wet", "crawl/*/warc", "-o", tmp_path / "both", cwd=tmp_path)
    assert both.returncode == 0, both.stderr
    assert [r["source"] for r in read_corpus(tmp_path / "both")] == ["input-1/s1/wet/part.jsonl",
                                                                      "input-2/s1/warc/part.jsonl"]
    twice = in_process("run", "crawl/*/wet", "crawl/s1/**", "-o", tmp_path / "twice", cwd=tmp_path)
    assert twice.returncode == 1
    assert ("crawl/s1/wet/part.jsonl is taken by both crawl/*/wet and crawl/s1/**, so it would be read twice"
            in twice.stderr)


def test_inputs_listed_in_a_file_are_read_as_if_named_on_the_command_line(tmp_path):
    import gzip

    crawl = tmp_path / "crawl"
    crawl.mkdir()
    for k in range(4):
        (crawl / f"part-{k}.jsonl").write_text(json.dumps(
            {"text": f"Part {k} of the crawl holds a sentence of its own, long enough to be kept: {'abcd'[k] * 3}."})
            + "\n")
    named = ["crawl/part-0.jsonl", "crawl/part-[23].jsonl"]
    listing = "# the parts to read\n\ncrawl/part-0.jsonl\ncrawl/part-[23].jsonl\n"
    (tmp_path / "list.txt").write_text(listing)
    (tmp_path / "list.txt.gz").write_bytes(gzip.compress(listing.encode()))
    expected = in_process("run", *named, "-o", tmp_path / "named", "-q", cwd=tmp_path)
    assert expected.returncode == 0, expected.stderr
    corpus = (tmp_path / "named" / "corpus" / "part-00000.jsonl").read_bytes()
    assert corpus.count(b"\n") == 3
    for k, (source, stdin) in enumerate((("list.txt", None), ("list.txt.gz", None), ("-", listing),
                                         ("-", gzip.compress(listing.encode())))):
        out = tmp_path / f"from-{k}"
        if stdin is None:  # a file's listing in-process; stdin's through the console script
            result = in_process("run", "--inputs-from", source, "-o", out, "-q", cwd=tmp_path)
            assert result.returncode == 0, result.stderr
            assert (out / "corpus" / "part-00000.jsonl").read_bytes() == corpus
            continue
        result = subprocess.run([str(Path(sys.executable).parent / "curate"), "run", "--inputs-from", source, "-o",
                                 str(out), "-q"], cwd=tmp_path, capture_output=True,
                                input=stdin.encode() if isinstance(stdin, str) else stdin)
        assert result.returncode == 0, result.stderr
        assert (out / "corpus" / "part-00000.jsonl").read_bytes() == corpus

    none = in_process("run", "-o", tmp_path / "none", cwd=tmp_path)
    assert none.returncode == 2 and "Missing argument 'INPUTS...': name files, folders, URLs" in none.stderr
    (tmp_path / "empty.txt").write_text("# nothing yet\n")
    empty = in_process("run", "--inputs-from", "empty.txt", "-o", tmp_path / "none", cwd=tmp_path)
    assert empty.returncode == 1 and "--inputs-from empty.txt: the file lists no input" in empty.stderr
