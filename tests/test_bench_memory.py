"""The benchmarks' memory sampler (bench/run.py's tree_rss) finds a process tree through
the threads' ``children`` files as the full scan of /proc finds it: the same processes,
so the same figures, on a tree of sleeping processes whose memory does not move."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from run import _tree_rss_by_scan, tree_rss

pytestmark = pytest.mark.unit


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux's /proc")
def test_the_children_walk_finds_the_tree_the_scan_finds():
    # A shell with two children (a sleep, and a shell with a sleep of its own).
    tree = subprocess.Popen(["sh", "-c", "sleep 30 & sh -c 'sleep 30 & wait' & wait"], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while len(_descendants(tree.pid)) < 3:
            assert time.monotonic() < deadline, "the tree did not start"
            time.sleep(0.01)
        time.sleep(0.3)  # every sleep exec'd and settled
        walked, scanned = tree_rss(tree.pid), _tree_rss_by_scan(tree.pid)
        # Sleeping processes: their resident pages do not move between the two reads.
        assert walked == scanned
        assert walked[0] > walked[1] > 0  # four processes, none of them all of it
    finally:
        os.killpg(tree.pid, signal.SIGKILL)  # its session's group: the sleeps too
        tree.wait()


def _descendants(pid: int) -> list[int]:
    found, stack = [], [pid]
    while stack:
        for tid in Path(f"/proc/{stack.pop()}/task").iterdir():
            try:
                kids = [int(k) for k in (tid / "children").read_text().split()]
            except OSError:
                continue
            found += kids
            stack += kids
    return found

