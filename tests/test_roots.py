"""Provenance names the input root as well as the path: same-named shards in two input
folders are read (not refused as a collision), and every `source` of the output can be
resolved from summary.json's `inputs` alone."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SEEDS, in_process, output_files, read_corpus, read_jsonl

from curate.discover import InputRoot, discover, input_root, root_labels

# -- labels, on strings only ------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(("roots", "labels"), [
    (["/data/crawl"], [""]),  # one root: sources as they always were
    (["crawl.jsonl"], [""]),
    ([], []),
    (["/d1/crawl", "/d2/crawl"], ["d1/crawl", "d2/crawl"]),
    (["/a/x", "/b/y"], ["x", "y"]),
    (["/a/x/", "/b/y//"], ["x", "y"]),  # a trailing "/" is not a component
    (["./a/./x", "b/y"], ["x", "y"]),  # nor is "."
    (["/d1/crawl", "/d2/crawl", "/e/other"], ["d1/crawl", "d2/crawl", "other"]),  # each as short as it can be
    (["/m/2024/part", "/n/2024/part"], ["m/2024/part", "n/2024/part"]),
    (["/d1/part-00000.jsonl.gz", "/d2/part-00000.jsonl.gz"], ["d1/part-00000.jsonl.gz", "d2/part-00000.jsonl.gz"]),
    (["s3://bucket/crawl", "/local/other"], ["crawl", "other"]),  # a URL is a string like any other
    (["s3://b1/crawl/", "gs://b2/crawl"], ["b1/crawl", "b2/crawl"]),
    (["hf://datasets/org/name", "https://example.org/dump/name"], ["org/name", "dump/name"]),
])
def test_a_root_is_labelled_by_its_shortest_unique_trailing_components(roots, labels):
    assert root_labels(roots) == labels


@pytest.mark.unit
@pytest.mark.parametrize("roots", [
    ["a", "./a/"],  # two spellings of one path (discover refuses them before)
    ["x/a", "a"],  # the only trailing run of "a" is x/a's last one
    ["/", "/data"],  # a root with no component at all
    ["/x/a", "/y/a/b", "/z/b"],  # "a" and "a/b": root 1's b/f and root 2's f would both be a/b/f
])
def test_roots_without_usable_labels_are_named_by_position(roots):
    assert root_labels(roots) == [f"input-{n}" for n in range(1, len(roots) + 1)]


@pytest.mark.unit
def test_labels_and_roots_are_always_valid_unicode():
    undecodable = b"/d1/caf\xe9".decode("utf-8", "surrogateescape")
    assert root_labels([undecodable, "/d2/tea"]) == ["caf\\xe9", "tea"]
    assert input_root(undecodable) == "/d1/caf\\xe9"
    assert input_root("s3://bucket/crawl/") == "s3://bucket/crawl/"  # a URL as given


# -- discovery ---------------------------------------------------------------------------------


def _shards(tmp_path: Path) -> tuple[Path, Path]:
    """Two dumps that both hold part-00000.jsonl and page.txt, with different records."""
    a, b = tmp_path / "dump-a" / "crawl", tmp_path / "dump-b" / "crawl"
    for folder, topic in ((a, "gardens"), (b, "bread")):
        folder.mkdir(parents=True)
        records = [{"id": f"{topic}-{n}", "text": f"Record {n} is about {topic}, a line long enough to keep.\n\n"
                                                 f"Its second paragraph {n} says more about {topic} and why."}
                   for n in range(1, 4)]
        (folder / "part-00000.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
        (folder / "page.txt").write_bytes(f"A page of plain text about {topic}.\n\nIts last line, on {topic}.\n"
                                          .encode())
    return a, b


@pytest.mark.unit
def test_same_named_shards_in_two_folders_are_read_under_their_labels(tmp_path):
    a, b = _shards(tmp_path)
    found = discover([a, b])
    assert [f.source for f in found.files] == ["dump-a/crawl/page.txt", "dump-a/crawl/part-00000.jsonl",
                                               "dump-b/crawl/page.txt", "dump-b/crawl/part-00000.jsonl"]
    assert found.roots == [InputRoot(str(a), "dump-a/crawl"), InputRoot(str(b), "dump-b/crawl")]


@pytest.mark.unit
def test_one_root_keeps_its_sources_unlabelled(tmp_path):
    a, _ = _shards(tmp_path)
    found = discover([a])
    assert [f.source for f in found.files] == ["page.txt", "part-00000.jsonl"]
    assert found.roots == [InputRoot(str(a), "")]
    assert [f.source for f in discover([a / "page.txt"]).files] == ["page.txt"]


@pytest.mark.unit
def test_files_given_directly_are_their_labels_and_problems_carry_the_label_too(tmp_path):
    a, b = _shards(tmp_path)
    (b / ".hidden.txt").write_text("not read")
    found = discover([a / "page.txt", b])
    assert found.roots == [InputRoot(str(a / "page.txt"), "page.txt"), InputRoot(str(b), "crawl")]
    assert [f.source for f in found.files] == ["page.txt", "crawl/page.txt", "crawl/part-00000.jsonl"]
    assert [p.source for p in found.problems] == ["crawl/.hidden.txt"]


@pytest.mark.unit
def test_a_relative_root_is_named_absolute_without_resolving_links(tmp_path, monkeypatch):
    a, _ = _shards(tmp_path)
    (tmp_path / "link").symlink_to(a)
    monkeypatch.chdir(tmp_path)
    assert discover([Path("link")]).roots == [InputRoot(str(tmp_path / "link"), "")]


@pytest.mark.parametrize("args", [
    ("a", "b", "-o", "{out}"),  # relative inputs: the overlap check made them absolute
    (".", "-o", "{out}"),  # the deleted folder itself, which can still be listed
    ("a", "-o", "{out}"),  # one relative input, that cannot be found
    ("./*.txt", "-o", "{out}"),  # a pattern
    ("{seeds}",),  # no -o: the output folder's default name is relative
    ("{seeds}", "-o", "out"),
])
def test_relative_paths_in_a_deleted_current_folder_are_one_line_of_advice(tmp_path, args):
    """os.path.abspath asks os.getcwd(), which fails once the current folder is deleted:
    that was a FileNotFoundError traceback."""
    gone = tmp_path / "gone"
    (gone / "a").mkdir(parents=True)
    (gone / "b").mkdir()
    spelled = [arg.format(out=tmp_path / "out", seeds=SEEDS) for arg in args]
    exe = Path(sys.executable).parent / "curate"
    script = f"cd {shlex.quote(str(gone))} && rm -r {shlex.quote(str(gone))} && exec {shlex.quote(str(exe))} run " \
        + " ".join(shlex.quote(arg) for arg in spelled) + " -q"
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("Error: the current folder no longer exists"), done.stderr
    assert "cd to an existing folder" in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.unit
def test_two_names_spelled_alike_in_the_output_are_still_refused(tmp_path):
    import os

    from curate.errors import UsageError

    (tmp_path / "caf\\xe9.txt").write_text("a name holding a backslash")
    with open(os.path.join(os.fsencode(tmp_path), b"caf\xe9.txt"), "w") as f:
        f.write("a name holding the byte 0xE9")
    with pytest.raises(UsageError, match=r"both appear as source 'caf\\\\xe9.txt'; rename one of them"):
        discover([tmp_path])


# -- a whole run, resolved from summary.json ---------------------------------------------------


def _resolve(summary: dict, source: str) -> Path:
    """The file a source names, from summary.json alone: the root whose label it starts
    with (a file root: the source is its label), plus the rest."""
    for entry in summary["inputs"]:
        label, root = entry["label"], Path(entry["root"])
        if label == "":
            return root if root.is_file() else root / source
        if source == label:
            return root
        if source.startswith(label + "/"):
            return root / source[len(label) + 1:]
    raise AssertionError(f"{source!r} is under no input root of {summary['inputs']}")


def _assert_span(data: bytes, start: int, end: int, line: str) -> None:
    assert data[start:end].decode("utf-8") == line
    assert start == 0 or data[start - 1:start] == b"\n", "a span starts at a line's start"
    assert end == len(data) or data[end:end + 1] == b"\n", "a span ends at a line's end"


def _assert_every_source_resolves(out: Path) -> int:
    """Open every record's source from summary.json's inputs and cut every span out of it
    (of the file for bytes_of "file", of the record's text field for "text_field");
    returns how many spans were checked."""
    summary = json.loads((out / "summary.json").read_text())
    checked = 0
    for rec in read_corpus(out):
        data = _resolve(summary, rec["source"]).read_bytes()
        kept = [line for line in rec["text"].split("\n") if line]
        for line, entry in zip(kept, rec["lines"], strict=True):
            if rec["bytes_of"] == "file":
                _assert_span(data, *entry["bytes"], line)
            else:  # the record on line `line` of the file
                record = json.loads(data.split(b"\n")[entry["line"] - 1])
                assert record["id"] == rec["id"]
                _assert_span(record["text"].encode("utf-8"), *entry["bytes"], line)
            checked += 1
    for rec in read_jsonl(out / "removed.jsonl"):
        assert _resolve(summary, rec["source"]).is_file()
    return checked


def test_two_dumps_with_the_same_shard_names_run_and_every_source_resolves(tmp_path):
    a, b = _shards(tmp_path)
    out = tmp_path / "out"
    result = in_process("run", f"{a}/", b, "-o", out, "-q", "--no-project-rules", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    # The root made absolute, its trailing "/" gone.
    assert summary["inputs"] == [{"root": str(a), "label": "dump-a/crawl"}, {"root": str(b), "label": "dump-b/crawl"}]
    corpus = read_corpus(out)
    assert {rec["source"] for rec in corpus} == {"dump-a/crawl/page.txt", "dump-a/crawl/part-00000.jsonl",
                                                 "dump-b/crawl/page.txt", "dump-b/crawl/part-00000.jsonl"}
    assert {rec["bytes_of"] for rec in corpus} == {"file", "text_field"}
    assert _assert_every_source_resolves(out) >= 8  # at least one line of each of the 8 documents
    assert read_jsonl(out / "quarantine.jsonl") == []


@pytest.mark.unit
def test_a_single_root_summary_names_its_root_with_an_empty_label(tmp_path):
    import curate

    a, _ = _shards(tmp_path)
    out = tmp_path / "out"
    curate.run([a], out, ruleset=curate.ruleset(builtin=False))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["inputs"] == [{"root": str(a), "label": ""}]
    assert {rec["source"] for rec in read_corpus(out)} == {"page.txt", "part-00000.jsonl"}
    _assert_every_source_resolves(out)


@pytest.mark.unit
def test_a_stopped_multi_root_run_resumes_to_the_same_output_and_summary(tmp_path, monkeypatch):
    import curate
    from curate.write import OutputWriter

    a, b = _shards(tmp_path)
    reference = tmp_path / "reference"
    curate.run([a, b], reference, chunk_items=1)
    real_end_chunk, ended = OutputWriter.end_chunk, []

    def end_chunk_then_stop(self, journal, summary):
        real_end_chunk(self, journal, summary)
        ended.append(1)
        if len(ended) == 3:
            raise KeyboardInterrupt  # stopped after three finished chunks

    monkeypatch.setattr(OutputWriter, "end_chunk", end_chunk_then_stop)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        curate.run([a, b], out, chunk_items=1)
    monkeypatch.setattr(OutputWriter, "end_chunk", real_end_chunk)
    assert not (out / "summary.json").exists() and (out / ".partial").is_dir()
    curate.run([a, b], out, chunk_items=1, resume=True)
    assert output_files(out) == output_files(reference)
    assert json.loads((out / "summary.json").read_text())["inputs"][1] == {"root": str(b), "label": "dump-b/crawl"}


@pytest.mark.unit
def test_records_given_in_memory_have_no_root():
    import curate

    [cleaned] = curate.process([{"id": "x", "text": "A paragraph long enough to be kept by every stage here."}])
    assert cleaned.record is not None and cleaned.record["source"] == "records"
