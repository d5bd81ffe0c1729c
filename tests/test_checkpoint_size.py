"""Checkpoints and summary.json stay small however many problems a run finds: each chunk's
state holds that chunk's share, not every problem so far (300k bad lines once made 3 GB of
checkpoints and a 70 MB summary.json)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, in_process, read_corpus, read_jsonl, traced_env

STRACE = shutil.which("strace") or "/usr/bin/strace"
LINES = 20_000
CHUNK = 2_000  # 10 chunks: a state holding every problem so far would be 10x its share by the last


def _curate(*args) -> list[str]:
    return [str(Path(sys.executable).parent / "curate"), *map(str, args)]


@pytest.mark.slow
@pytest.mark.skipif(not Path(STRACE).exists(), reason="needs strace")
def test_20k_invalid_lines_keep_checkpoints_and_summary_small(tmp_path):
    src = tmp_path / "bad.jsonl"
    with open(src, "w") as f:
        for i in range(LINES):
            good = i % 1000 == 0
            f.write(json.dumps({"id": f"ok{i}", "text": f"Record {i} is a fine sentence."}) if good else f"{{no {i}")
            f.write("\n")
    out = tmp_path / "out"
    # Killed at the commit's first rename (the first is run.json's, at the start): every
    # chunk is finished and its state still on disk.
    run = ("run", src, "-o", out, "-q", "--chunk-docs", CHUNK)
    killed = subprocess.run([STRACE, "-f", "-o", "/dev/null", "-e", "trace=rename",
                             "-e", "inject=rename:signal=KILL:when=2", *_curate(*run)],
                            cwd=ROOT / "tests", capture_output=True, text=True, timeout=300, check=False,
                            env=traced_env())
    assert killed.returncode != 0
    partial = out / ".partial"
    states = sorted(partial.glob("*.state"))
    assert len(states) == 11  # 10 chunks of 2,000 items, and the last, empty one
    assert max(p.stat().st_size for p in states) < 64_000
    chunk_bytes = sum(p.stat().st_size for p in partial.glob("0*.jsonl"))
    assert sum(p.stat().st_size for p in partial.iterdir()) < chunk_bytes + 1_000_000

    resumed = in_process(*run, "--resume", cwd=ROOT / "tests")
    assert resumed.returncode == 0, resumed.stderr
    assert (out / "summary.json").stat().st_size < 64_000
    summary = json.loads((out / "summary.json").read_text())
    bad = LINES - LINES // 1000
    assert summary["problem_counts"] == {"total": bad, "listed": 100, "by_kind": {"invalid JSON": bad},
                                         "all_in": "quarantine.jsonl"}
    assert [p["line"] for p in summary["problems"]] == list(range(2, 102))
    lines = summary["lines"]
    assert lines["read"] == LINES and lines["quarantined"] == bad
    assert lines["kept"] + lines["removed"] == LINES // 1000
    assert len(read_jsonl(out / "quarantine.jsonl")) == bad
    assert [r["id"] for r in read_corpus(out)] == [f"ok{i}" for i in range(0, LINES, 1000)]
