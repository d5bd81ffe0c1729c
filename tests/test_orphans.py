"""No process curate starts outlives curate's main process, however that one ends: killed
(SIGKILL, SIGTERM) while --dedup-parts' part processes start up or work, they end with
it at once. They used to stay under init forever, blocked reading the executor's pipe,
holding the run's stdout and stderr (so `curate ... | cat` never ended) and free to go
on writing into a .partial/ folder that a --resume may already use."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from generate import generate

LIMIT = 30.0  # seconds for everything to end after the kill; it takes well under one


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("orphans")
    generate(3.0, folder)  # parts that take a few tenths of a second on two processes
    return folder / "corpus.jsonl"


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        try:
            children = [int(n) for n in Path(f"/proc/{parent}/task/{parent}/children").read_text().split()]
        except OSError:
            continue
        found.update(children)
        todo.extend(children)
    return found


def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def _part_processes(pid: int) -> set[int]:
    return {child for child in _descendants(pid) if "--multiprocessing-fork" in _read(f"/proc/{child}/cmdline")}


def _touches(pid: int, folder: Path) -> bool:
    """Has the process a file of ``folder`` open or mapped (a part at work)?"""
    if str(folder) in _read(f"/proc/{pid}/maps"):
        return True
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}").startswith(str(folder)) for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def _alive(pid: int) -> bool:
    stat = _read(f"/proc/{pid}/stat")
    return bool(stat) and stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.parametrize(("when", "signum"), [("starting", signal.SIGKILL), ("working", signal.SIGKILL),
                                               ("working", signal.SIGTERM)])
def test_part_processes_end_with_a_killed_main_process_and_release_its_pipe(corpus, tmp_path, when, signum):
    out = tmp_path / "out"
    # stdout and stderr into one pipe, as `curate ... 2>&1 | cat`: it reads to its end only
    # once no process holds it.
    proc = subprocess.Popen([sys.executable, "-m", "curate", "dedup", str(corpus), "-o", str(out), "--dedup-parts",
                             "--workers", "2"], cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    everyone: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        seen: set[int] = set()
        while True:
            assert proc.poll() is None, "the run ended before it was killed"
            assert time.monotonic() < deadline, f"no part process {when} within 120 s"
            parts = _part_processes(proc.pid)
            seen |= parts
            # "starting": a spawned process imports curate for a second or so before it
            # can arrange to die with its parent; "working": it has a part's file open.
            if parts and (when == "starting" or any(_touches(pid, out) for pid in parts)):
                break
            assert not (seen and not parts), "the parts ended before one was caught at work"
            time.sleep(0.002)
        everyone = _descendants(proc.pid)  # the part processes, and multiprocessing's resource tracker
        os.kill(proc.pid, signum)
        assert proc.wait(LIMIT) == -signum
        ends = time.monotonic() + LIMIT
        fd = proc.stdout.fileno()
        ended = False
        while not ended and (left := ends - time.monotonic()) > 0 and select.select([fd], [], [], left)[0]:
            ended = not os.read(fd, 65536)
        assert ended, f"the run's stdout was still held {LIMIT} s after the kill: " + str(
            {pid: _read(f"/proc/{pid}/cmdline").replace("\0", " ") for pid in everyone if _alive(pid)})
        while (alive := {pid for pid in everyone if _alive(pid)}) and time.monotonic() < ends:
            time.sleep(0.01)
        assert not alive, f"processes outlived the run: {alive}"
    finally:
        for pid in {pid for pid in everyone if "multiprocessing" in _read(f"/proc/{pid}/cmdline")} | {proc.pid}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
