"""The README's promise on the sample pages, through the real CLI process."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS_GOLD, read_corpus, read_jsonl, run_process

from curate.gold import score


@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """One `curate run seeds/ -o OUT` process (no -q) for the tests that read its output
    or its table: the same command, run once."""
    out = tmp_path_factory.mktemp("seeds") / "out"
    return out, run_process("run", "seeds/", "-o", out, cwd=ROOT)


def test_seeds_meet_every_gold_snippet(seeds_run):
    out, result = seeds_run
    assert result.returncode == 0, result.stderr
    totals, failures = score(out, SEEDS_GOLD)
    assert failures == []
    assert totals["keep"] == [32, 32] and totals["drop"] == [29, 29] and totals["once"] == [3, 3]


def test_seed_output_names_its_reasons(tmp_path):
    out = tmp_path / "out"
    assert run_process("run", "seeds/", "-o", out, "-q", cwd=ROOT).returncode == 0
    removed = read_jsonl(out / "removed.jsonl")
    by_text = {r["removed"]: r for r in removed}
    assert by_text["(Finish)"]["reason"] == "rule:end-mark"
    assert by_text["by admin"]["reason"] == "rule:byline"
    assert by_text["Leave a Comment"]["reason"] == "rule:comment-widget"
    # The repeated title of seed 002 is kept once; the copy points at the kept line.
    dup = [r for r in removed if r["reason"] == "duplicate"]
    assert len(dup) == 1
    assert dup[0]["source"] == "002_4f028733fb7c46e8.txt" and dup[0]["line"] == 5
    assert dup[0]["duplicate_of"] == {"doc": "002_4f028733fb7c46e8.txt", "source": "002_4f028733fb7c46e8.txt",
                                      "line": 3, "bytes": [26, 148]}
    assert dup[0]["similarity"] == 1.0
    # "Liang Guangting said" introduces two different quotes: too short to be a duplicate.
    text_002 = next(r["text"] for r in read_corpus(out) if r["source"].startswith("002"))
    assert text_002.split("\n").count("Liang Guangting said") == 2
    summary = json.loads((out / "summary.json").read_text())
    assert summary["lines"]["read"] == summary["lines"]["kept"] + summary["lines"]["removed"]
    assert summary["removed_by_reason"]["duplicate"] == 1


def test_summary_table_is_printed(seeds_run):
    out, result = seeds_run
    assert "lines read (non-blank)" in result.stderr
    assert "rule:teaser-card" in result.stderr
    assert f"output in {out}/" in result.stderr
