"""-o through a symlink: the run writes the folder the link led to when it began, from its
lock to its commit, and stops clearly if the link leads elsewhere before the commit
(once, the lock went to one folder and the chunks to the other, and the run said it
finished)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT, SEEDS, file_size_limit, in_process, output_files

FILES = ["README.md", "corpus", "quarantine.jsonl", "removed.jsonl", "summary.json"]


def _curate(*args) -> list[str]:
    return [str(Path(sys.executable).parent / "curate"), *map(str, args)]


def _run(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(_curate(*args), cwd=ROOT / "tests", capture_output=True, text=True, timeout=120,
                          check=False, **kwargs)


def _repoint(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` in one rename, as a deploy script swaps a link."""
    new = link.with_name(link.name + ".new")
    new.symlink_to(target)
    os.replace(new, link)


def _paused_after_lock(out: Path, folder: Path) -> subprocess.Popen:
    """A run of the seeds into ``out`` (a link to ``folder``), stopped (SIGSTOP) once it
    holds the folder's lock, before its commit."""
    for _attempt in range(3):  # on a loaded machine the run may finish before it is paused
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        run = subprocess.Popen(_curate("run", SEEDS, "-o", out, "-q", "--chunk-docs", "1"), cwd=ROOT / "tests",
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lock = folder / ".curate.lock"
        deadline = time.time() + 60
        while run.poll() is None and time.time() < deadline:
            if lock.exists() and lock.read_text().strip() == str(run.pid):
                break
            time.sleep(0.002)
        run.send_signal(signal.SIGSTOP)
        if run.poll() is None and not (folder / ".partial" / "commit.json").exists():
            return run
        run.send_signal(signal.SIGCONT)
        run.communicate(timeout=120)
    raise AssertionError("the run could not be paused before its commit")


def test_a_link_repointed_during_the_run_stops_it_in_the_folder_it_began(tmp_path):
    reference = tmp_path / "reference"
    assert in_process("run", SEEDS, "-o", reference, "-q", "--chunk-docs", "1", cwd=ROOT / "tests").returncode == 0
    first, second, out = tmp_path / "A", tmp_path / "B", tmp_path / "out"
    out.symlink_to(first)
    run = _paused_after_lock(out, first)
    second.mkdir()
    try:
        _repoint(out, second)
    finally:
        run.send_signal(signal.SIGCONT)
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 1, stderr
    assert stderr == (
        f"Error: -o {out} no longer leads to {first}, the folder this run wrote (it was pointed elsewhere during "
        f"the run); point {out} at {first} again, or give -o {first}; finished chunks are kept in {first}/.partial/ "
        "and no final file was written. Fix the cause, then run the same command with --resume to continue where "
        "it stopped.\n")
    assert os.listdir(second) == []  # nothing of the run landed in the other folder
    assert sorted(os.listdir(first)) == [".partial"]  # nor was any output put in place, or the lock left
    # What the message says works, and the output is the run's, as if never stopped.
    resumed = in_process("run", SEEDS, "-o", first, "-q", "--chunk-docs", "1", "--resume", cwd=ROOT / "tests")
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(os.listdir(first)) == FILES
    assert output_files(first) == output_files(reference)


def test_a_link_left_alone_is_named_in_the_messages_and_written_through(tmp_path):
    first, out = tmp_path / "A", tmp_path / "out"
    first.mkdir()
    out.symlink_to(first)
    # Stopped in its commit (joining removed.jsonl passes the file-size limit): the
    # message names the files by the link the user gave, which still leads there.
    stopped = _run("run", SEEDS, "-o", out, "-q", "--chunk-docs", "1", preexec_fn=file_size_limit(16_000))
    assert stopped.returncode == 1
    assert stopped.stderr.startswith(f"Error: cannot write {out}/.partial/000000.removed.jsonl: File too large; "
                                     f"finished chunks are kept in {out}/.partial/ "), stopped.stderr
    resumed = in_process("run", SEEDS, "-o", out, "-q", "--chunk-docs", "1", "--resume", cwd=ROOT / "tests")
    assert resumed.returncode == 0, resumed.stderr
    assert out.is_symlink() and sorted(os.listdir(first)) == FILES
