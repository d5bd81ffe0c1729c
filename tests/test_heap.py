"""A worker keeps the heap a batch freed, for the next batch (curate/engines/heap.py)."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

from curate.engines.local import _init_worker
from curate.engines.pool import ordered_map

pytestmark = [pytest.mark.unit,
              pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt's thresholds are glibc's")]

BLOCK = 20 << 20  # below the kept mmap threshold (32 MB), above glibc's starting one (128 kB)


def given_back(_: object = None) -> int:
    """Bytes of resident memory that freeing a 20 MB block (every page touched) handed
    back to the system: about all of it, or none. Measured from the block's allocation,
    not from before it: a block carved from free heap that is resident already (a forked
    process inherits its parent's) adds nothing to the resident size."""
    def resident() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096

    block = bytearray(BLOCK)  # zeroed: every page touched
    holding = resident()
    del block
    return holding - resident()


def _in_a_fresh_process(keep: bool) -> int:
    code = ("from tests.test_heap import given_back; from curate.engines.heap import keep_freed_heap; "
            + ("assert keep_freed_heap(); " if keep else "") + "print(given_back())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60,
                          cwd=Path(__file__).resolve().parent.parent)
    return int(done.stdout)


def test_a_freed_block_stays_in_the_process_only_when_asked():
    assert _in_a_fresh_process(keep=False) > BLOCK * 3 // 4  # glibc's default: handed back at once
    assert _in_a_fresh_process(keep=True) < BLOCK // 4


def test_the_local_engines_workers_keep_their_freed_heap():
    # A pool worker set up as the local engine sets up its own (no stages needed here).
    [back] = list(ordered_map(given_back, [None], 1, initializer=_init_worker, initargs=([], True)))
    assert back < BLOCK // 4
