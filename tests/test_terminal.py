"""Scraped names and text never drive the terminal: escape sequences, carriage returns,
C1 controls and bidi overrides in file names, ids, JSON keys and lines reach stdout and
stderr as visible escapes (curate/terminal.py), while the output files keep them as read.

click strips ANSI colour codes from what it prints only when the stream is not a terminal,
which would hide a raw escape sequence from a test: every command here runs with colour
forced on (CliRunner(color=True)), so it writes exactly what a terminal would get."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

from click.testing import CliRunner, Result
from conftest import ROOT, read_jsonl

from curate.cli import cli
from curate.suggest import Candidate, Suggestions, skipped_report
from curate.terminal import shown

# What must never reach the terminal raw: ESC (escape sequences), BEL (ends an OSC title),
# CR (overwrites the line), a C1 CSI, a right-to-left override and a bidi isolate.
RAW = ("\x1b", "\x07", "\r", "\x9b", "\u202e", "\u2066")

EVIL = "evil\rall good, nothing skipped        \x1b]0;owned\x07.txt"  # the title-setting name
BIDI = "bidi\u202eexe.txt"
FAKE = "new\nwarning: nothing is wrong.txt"  # a line break in a name fakes a line of its own
C1 = "c1\x9b31m.txt"
BINARY = (EVIL, BIDI, FAKE, C1)
LINE = "AAA \x1b[2J BBB \x1b[31mRED\x1b[0m and then a longer sentence about the harbour authority on Monday."
ID = "\x1b[2J\x1b]0;IDTITLE\x07"
KEY = "\x1b[41mKEY\x1b[0m"


def _curate(*args: object) -> Result:
    """`curate ARGS` in-process with colour forced on, from a folder without ./rules."""
    old = os.getcwd()
    os.chdir(ROOT / "tests")
    try:
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, color=True)
    finally:
        os.chdir(old)


def _printed(result: Result) -> str:
    """Everything the command wrote, stdout and stderr, checked to hold no raw control."""
    written = result.stdout_bytes + result.stderr_bytes
    assert b"\x1b" not in written and b"\x07" not in written and b"\r" not in written, written
    text = written.decode("utf-8")
    assert not [ch for ch in RAW if ch in text], text
    return text


def _hostile_folder(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    src.mkdir()
    for name in BINARY:  # NUL bytes: each is skipped with a warning that names it
        (src / name).write_bytes(bytes(64))
    (src / "q.txt").write_text(LINE + "\n", encoding="utf-8")
    records = [{"id": ID, "text": "The harbour authority said on Monday that the new terminal would open."},
               {KEY: "x", "url": "y"}]
    (src / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return src


def test_shown_escapes_controls_as_repr_does_and_leaves_text_alone():
    for ch in ("\x00", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\x9b", "\u061c", "\u200e", "\u202e",
               "\u2066", "\u2069", "\u2028", "\ud800"):
        assert shown(ch) == repr(ch)[1:-1], ch
    # Letters, emoji joined by a ZWJ, a backslash (not doubled: names read as in the output).
    for text in ("café", "Grüezi", "नमस्ते", "👩\u200d💻", "a\\xe9b", "日本語"):
        assert shown(text) == text


def test_run_warnings_show_names_and_keys_escaped(tmp_path):
    src = _hostile_folder(tmp_path)
    out = tmp_path / "out"
    result = _curate("run", src, "-o", out, "--no-builtin-rules")
    assert result.exit_code == 0, result.output
    printed = _printed(result)
    assert "warning: evil\\rall good, nothing skipped        \\x1b]0;owned\\x07.txt: binary file" in printed
    assert "warning: bidi\\u202eexe.txt: binary file" in printed
    assert "warning: c1\\x9b31m.txt: binary file" in printed
    assert "its string fields are \\x1b[41mKEY\\x1b[0m, url" in printed
    # The name with a line break stays on its warning's line.
    assert "warning: new\\nwarning: nothing is wrong.txt: binary file" in printed
    assert not [line for line in printed.splitlines() if line.startswith("warning: nothing is wrong")]
    # Only the terminal's text changes: the quarantine keeps the names and the key as read.
    sources = {q["source"] for q in read_jsonl(out / "quarantine.jsonl")}
    assert set(BINARY) <= sources
    assert any(KEY in q["action"] for q in read_jsonl(out / "quarantine.jsonl"))


def test_dedup_warnings_show_names_escaped(tmp_path):
    src = _hostile_folder(tmp_path)
    result = _curate("dedup", src, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "warning: bidi\\u202eexe.txt: binary file" in _printed(result)


def test_explain_shows_line_text_and_ids_escaped(tmp_path):
    src = _hostile_folder(tmp_path)
    text = _printed(_curate("explain", src / "q.txt", "--no-builtin-rules"))
    assert "AAA \\x1b[2J BBB \\x1b[31mRED\\x1b[0m and then" in text
    records = _curate("explain", src / "a.jsonl", "--no-builtin-rules")
    assert records.exit_code == 0, records.output
    assert "== \\x1b[2J\\x1b]0;IDTITLE\\x07: 1 kept" in _printed(records)


def test_explain_width_counts_the_escapes_it_prints(tmp_path):
    src = _hostile_folder(tmp_path)
    result = _curate("explain", src / "q.txt", "--no-builtin-rules", "--width", "30")
    line = _printed(result).splitlines()[1]
    assert line.endswith("AAA \\x1b[2J BBB \\x1b[31mRED\\x…")


def test_error_messages_show_the_name_escaped(tmp_path):
    missing = tmp_path / "gone\x1b]0;owned\x07.txt"
    explained = _curate("explain", missing)
    assert explained.exit_code == 1
    assert "gone\\x1b]0;owned\\x07.txt: no such file" in _printed(explained)
    # An error raised inside the run (a CurateError), shown by the command group.
    ran = _curate("run", tmp_path / "crawl\u202e", "-o", tmp_path / "out")
    assert ran.exit_code != 0
    assert "crawl\\u202e" in _printed(ran)


def test_rules_list_shows_a_rule_file_name_and_reason_escaped(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "evil\x1b[31m.toml").write_text(
        '[[rule]]\nname = "promo"\nreason = "promo\\u001b[2J\\u202e line"\npattern = "^Buy now$"\n'
        'examples.match = ["Buy now"]\nexamples.keep = ["Buy now or later, he said."]\n', encoding="utf-8")
    listed = _curate("rules", "list", "--rules", rules, "--no-builtin-rules")
    assert listed.exit_code == 0, listed.output
    text = _printed(listed)
    assert "evil\\x1b[31m.toml" in text and "promo\\x1b[2J\\u202e line" in text
    tested = _curate("rules", "test", rules, "--no-builtin-rules")
    assert tested.exit_code == 0, tested.output
    _printed(tested)


def test_rules_suggest_report_shows_patterns_escaped():
    candidate = Candidate(pattern="^Share\x1b\\[2J\u202e$", count=4)
    found = Suggestions(skipped=Counter({"its rule fails its examples": 4}),
                        failures=[(candidate, "examples.keep #0 matches: Share\x1b[2J")])
    report = "\n".join(skipped_report(found, top=30, min_count=3))
    assert "^Share\\x1b\\[2J\\u202e$ (4 lines): examples.keep #0 matches: Share\\x1b[2J" in report
    assert not [ch for ch in RAW if ch in report]
