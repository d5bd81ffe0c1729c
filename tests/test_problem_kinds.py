"""The summary counts problems by kind (summary.json's problem_counts.by_kind): a kind is a
problem without its particulars, so that many problems of one kind count as one entry."""

from __future__ import annotations

import json

import pytest
from conftest import in_process

from curate.document import Problem
from curate.summary import PROBLEM_KINDS, Summary, problem_kind


@pytest.mark.unit
@pytest.mark.parametrize(("problem", "kind"), [
    ("invalid JSON: Expecting value: line 1 column 1 (char 0)", "invalid JSON"),
    ("row has 3 fields where the header has 12", "row has N fields where the header has N"),
    ("line of 12,345,678 bytes is longer than --max-line-bytes (8,388,608)",
     "line of N bytes is longer than --max-line-bytes"),
    # Numbers inside a name are the name's: an encoding, a file.
    ("invalid UTF-16-LE (illegal encoding at byte 4)", "invalid UTF-16-LE"),
    ("not valid windows-1252 (byte 0x81)", "not valid windows-1252"),
    ("binary file (NUL bytes in its first 8 KiB)", "binary file"),
    ("", "other"),
])
def test_a_kind_is_the_problem_without_its_particulars(problem, kind):
    assert problem_kind(problem) == kind


@pytest.mark.unit
def test_a_problem_that_names_its_kind_is_counted_under_it():
    summary = Summary()
    for problem, kind in (("duplicate id 'doc-17', first used at shard-2.jsonl:17", "duplicate id"),
                          ("duplicate id '3:4 (x)', first used at a.jsonl:1", "duplicate id"),
                          ("folder already read as 'crawl/2024' (a symlink leads to it)", "folder already read"),
                          ("invalid JSON: Expecting value: line 1 column 1 (char 0)", "")):
        summary.add_problem(Problem("a.jsonl", 1, problem, "skipped", lines=0, kind=kind))
    assert summary.problem_kinds == {"duplicate id": 2, "folder already read": 1, "invalid JSON": 1}


def test_ids_repeated_across_shards_count_as_one_kind(tmp_path):
    """Two shards holding the same 150 ids: 150 problems of one kind, where each id and
    place made a kind of its own, the table filled at PROBLEM_KINDS and every later
    problem counted as "other"."""
    src = tmp_path / "src"
    src.mkdir()
    for shard in ("a", "b"):
        records = [json.dumps({"id": f"doc-{k}", "text": f"Shard {shard} page {k} says something of its own."})
                   for k in range(150)]
        (src / f"{shard}.jsonl").write_text("\n".join(records) + "\n", encoding="utf-8")
    (src / "c.jsonl").write_text('{"text": "unterminated\n', encoding="utf-8")
    done = in_process("run", src, "-o", tmp_path / "out", "-q", "--no-builtin-rules")
    assert done.returncode == 0, done.stderr
    counts = json.loads((tmp_path / "out" / "summary.json").read_text())["problem_counts"]
    assert counts["by_kind"] == {"duplicate id": 150, "invalid JSON": 1}
    assert counts["total"] == 151 > PROBLEM_KINDS
