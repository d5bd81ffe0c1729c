"""What each stage does, seen through `curate run` and `curate dedup` (the in-process
CLI): the unit tests beside each stage's own module check the functions, these check
that the options and results reach the output files."""

from __future__ import annotations

import json

from conftest import invoke, read_corpus, read_jsonl

EN = "The council approved the new budget on Tuesday after a long debate about schools and roads."
DE = "Der Stadtrat hat am Dienstag nach einer langen Debatte über Schulen und Straßen den Haushalt beschlossen."
PARA = ("The harbour authority said on Monday that the new container terminal would open in "
        "the spring, two years later than planned, because the dredging took longer than expected. "
        "Shipping lines had been told to expect the first berths in the autumn, and several of them "
        "have already moved their schedules to the older quays further up the river for another season.")


def test_lines_empty_after_cleaning_are_audited(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_bytes("A real line of text.\n\x07\x08\n\u200b\u200b\n".encode())
    out = tmp_path / "out"
    assert invoke("run", src, "-o", out, "-q", "--no-builtin-rules").exit_code == 0
    removed = read_jsonl(out / "removed.jsonl")
    assert [(r["line"], r["reason"], r["removed"]) for r in removed] == [
        (2, "empty-after-normalise", "\x07\x08"), (3, "empty-after-normalise", "\u200b\u200b")]
    assert read_jsonl(out / "quarantine.jsonl") == []


def test_provenance_points_at_the_original_bytes(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    raw = "  CafÃ© au lait\u00a0and more text here.  \r\nSecond line.\r\n".encode()
    (src / "a.txt").write_bytes(raw)
    out = tmp_path / "out"
    assert invoke("run", src, "-o", out, "-q", "--no-builtin-rules").exit_code == 0
    (rec,) = read_corpus(out)
    assert rec["text"] == "Café au lait and more text here.\nSecond line."
    s, e = rec["lines"][0]["bytes"]
    assert raw[s:e].decode() == "  CafÃ© au lait\u00a0and more text here.  "


def test_document_and_differing_paragraph_labels(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "mixed.txt").write_text(
        f"{EN}\n\n{EN.replace('Tuesday', 'Monday')} More words here too.\n\n{DE}\n\nShort one.\n")
    out = tmp_path / "out"
    assert invoke("run", src, "-o", out, "-q", "--no-builtin-rules").exit_code == 0
    (rec,) = read_corpus(out)
    assert rec["language"] == "en" and 0.5 < rec["language_score"] <= 1.0
    labels = {entry["line"]: entry.get("language") for entry in rec["lines"]}
    assert labels == {1: None, 3: None, 5: "de", 7: "und"}


def test_threshold_and_min_words_options_reach_the_run(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(PARA + "\n")
    (src / "b.txt").write_text(PARA.replace("spring", "summer").replace("Monday", "Friday") + "\n")
    for threshold, expect in (("0.5", 1), ("0.99", 0)):
        out = tmp_path / f"out{threshold}"
        assert invoke("run", src, "-o", out, "-q", "--threshold", threshold).exit_code == 0
        assert json.loads((out / "summary.json").read_text())["removed_by_reason"].get("duplicate", 0) == expect
    out = tmp_path / "outmin"
    assert invoke("run", src, "-o", out, "-q", "--threshold", "0.5", "--min-words", "100").exit_code == 0
    assert read_jsonl(out / "removed.jsonl") == []


def test_dedup_command_only_removes_copies(tmp_path):
    from conftest import SEEDS

    out = tmp_path / "out"
    result = invoke("dedup", SEEDS, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    removed = read_jsonl(out / "removed.jsonl")
    assert removed and {r["reason"] for r in removed} == {"duplicate"}
    assert all(r["duplicate_of"]["source"] for r in removed)
    records = read_corpus(out)
    assert all("language" not in r for r in records)
    # Noise the rules would remove is still there: dedup alone does not judge content.
    assert any("(Finish)" in r["text"] for r in records)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["stages"] == []
    assert summary["lines"]["read"] == summary["lines"]["kept"] + summary["lines"]["removed"]
