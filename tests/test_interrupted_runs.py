"""A stopped run says what is on disk, and its advice works, where "finished chunks are
kept: --resume" would not be true: a Ctrl-C before the output folder is set up, while
--overwrite deletes the old output, in the commit's last steps, or while the command is
still being imported; a clean-up that fails after the commit; a Ctrl-C that reaches the
processes of --dedup-parts' settle.

The Ctrl-Cs and failures are strace's (``inject=CALL:signal=INT``, ``error=EIO``), at a
chosen system call of the real CLI, so each lands where it is meant to, every time;
those tests are skipped where strace is missing. (A terminal's Ctrl-C reaches every
process of the group: only the settle's test needs that, and sends SIGINT to the group
itself.)"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT, in_process, output_files, traced_env

sys.path.insert(0, str(ROOT / "bench"))
from generate import generate

STRACE = shutil.which("strace") or "/usr/bin/strace"
needs_strace = pytest.mark.skipif(not Path(STRACE).exists(), reason="needs strace")
FILES = ("README.md", "corpus", "removed.jsonl", "quarantine.jsonl", "summary.json")
CHUNKS = ("--chunk-docs", "50")  # four chunks, and four corpus shards


def _as_from_a_terminal() -> None:
    """SIGINT as a shell passes it on (a test run in the background inherits it ignored,
    and then no Ctrl-C reaches curate at all)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _curate(*args) -> list[str]:
    return [str(Path(sys.executable).parent / "curate"), *map(str, args)]


def _run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT / "tests", capture_output=True, text=True, timeout=120, check=False,
                          env=traced_env(), preexec_fn=_as_from_a_terminal)


def _traced(call: str, inject: str, command: list[str], *paths: Path) -> subprocess.CompletedProcess:
    """``command`` under strace, ``inject`` done at its ``call``s (of the main process, or
    only those that name one of ``paths``)."""
    only = [arg for path in paths for arg in ("-P", str(path))]
    return _run([STRACE, "-f", "-qq", "-o", "/dev/null", *only, "-e", f"trace={call}", "-e",
                 f"inject={call}:{inject}", *command])


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name not in FILES)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    generate(0.5, folder)  # about 170 documents, with near-duplicates across them
    return folder / "corpus.jsonl"


@pytest.fixture(scope="module")
def finished(corpus, tmp_path_factory) -> Path:
    """The folder of a run that was never stopped."""
    out = tmp_path_factory.mktemp("reference") / "out"
    done = in_process("run", corpus, "-o", out, "-q", *CHUNKS, cwd=ROOT / "tests")
    assert done.returncode == 0, done.stderr
    return out


def _command(corpus: Path, out: Path, *extra: str) -> list[str]:
    return _curate("run", corpus, "-o", out, "-q", *CHUNKS, *extra)


# -- the commit's last steps ----------------------------------------------------------------

# The commit moves each output into place with renameat2 (RENAME_NOREPLACE: never over
# what it did not make, outdir.rename_new); the other renames are rename(2).
MOVES = "renameat2"


def _nth_rename(command: list[str], log: Path, source: str, target: str, call: str = "rename") -> int:
    """Which of the main process's ``call``s (1, 2, ...) renames a path ending in ``source``
    to one ending in ``target``, in a traced run of ``command``. (strace -P would name the
    call, but it matches only a rename's first path in some versions, both in others.)"""
    _run([STRACE, "-f", "-o", str(log), "-e", f"trace={call}", *command])
    lines = [line.split(None, 1) for line in log.read_text().splitlines()]
    calls = [pid_text for pid_text in lines if pid_text[1].startswith(f"{call}(")]
    main = calls[0][0]  # the pid of the first such call (other lines, such as a child's exit, may come first)
    renames = [text for pid, text in calls if pid == main]
    paths = [re.findall(r'"([^"]*)"', one)[:2] for one in renames]
    return next(n for n, (first, second) in enumerate(paths, 1) if first.endswith(source) and second.endswith(target))


@needs_strace
@pytest.mark.parametrize("renamed", ["summary.json", ".partial"])
def test_a_ctrl_c_once_summary_json_moves_into_place_is_too_late_to_stop_the_run(corpus, finished, tmp_path,
                                                                                renamed):
    # The rename of summary.json into the folder, and the rename of .partial/ aside once
    # the output is in place: the run is finished either way, and ends as one, with
    # nothing left behind.
    out = tmp_path / "out"
    if renamed == "summary.json":
        nth = _nth_rename(_command(corpus, tmp_path / "ref"), tmp_path / "trace.log", "/.partial/summary.json",
                          "/ref/summary.json", MOVES)
        stopped = _traced(MOVES, f"signal=INT:when={nth}", _command(corpus, out))
    else:
        stopped = _traced("rename", "signal=INT", _command(corpus, out), out / ".partial")
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stderr == ""
    assert output_files(out) == output_files(finished)
    assert _leftovers(out) == []


@needs_strace
def test_a_ctrl_c_while_the_output_moves_into_place_is_finished_by_resume(corpus, finished, tmp_path):
    out = tmp_path / "out"
    # At the rename of .partial/removed.jsonl into the folder (or, with a strace that
    # matches a rename's second path too, at the join's rename into .partial/removed.jsonl:
    # in the commit either way).
    stopped = _traced(f"rename,{MOVES}", "signal=INT", _command(corpus, out), out / ".partial" / "removed.jsonl")
    assert stopped.returncode == -signal.SIGINT  # ends by the signal, after its message
    assert stopped.stderr == (
        f"Error: interrupted while the finished run was being moved into place; its chunks are kept in "
        f"{out}/.partial/. Run the same command with --resume to finish it.\n")
    assert not (out / "summary.json").exists()
    resumed = in_process(*_command(corpus, out, "--resume")[1:], cwd=ROOT / "tests")
    assert resumed.returncode == 0, resumed.stderr
    assert output_files(out) == output_files(finished)
    assert _leftovers(out) == []


# -- before the run begins --------------------------------------------------------------------

UNTOUCHED = "Error: interrupted before the run began; nothing was written to {out}/. Run the same command again " \
            "to start it.\n"


@needs_strace
@pytest.mark.parametrize("made", ["", ".partial"])
def test_a_ctrl_c_before_the_run_began_leaves_no_folder_and_says_so(corpus, finished, tmp_path, made):
    # At the mkdir of the output folder, or of its .partial/ (deleted again: it holds nothing).
    out = tmp_path / "out"
    stopped = _traced("mkdir", "signal=INT", _command(corpus, out), out / made)
    assert stopped.returncode == -signal.SIGINT  # ends by the signal, after its message
    assert stopped.stderr == UNTOUCHED.format(out=out)
    assert not out.exists()
    again = in_process(*_command(corpus, out)[1:], cwd=ROOT / "tests")
    assert again.returncode == 0, again.stderr
    assert output_files(out) == output_files(finished)


@needs_strace
def test_a_ctrl_c_before_overwrite_began_says_the_folder_is_as_it_was(corpus, finished, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(finished, out)
    # While the folder is looked at, before --overwrite deletes anything.
    stopped = _traced("openat", "signal=INT", _command(corpus, out, "--overwrite"), out)
    assert stopped.returncode == -signal.SIGINT  # ends by the signal, after its message
    assert stopped.stderr == UNTOUCHED.format(out=out)
    assert output_files(out) == output_files(finished)


@needs_strace
@pytest.mark.parametrize("nth", [2, 4])
def test_a_ctrl_c_while_overwrite_deletes_the_old_output_says_run_it_again(corpus, finished, tmp_path, nth):
    # summary.json goes first, then the corpus shards one by one (unlinkat), then the rest.
    out = tmp_path / "out"
    shutil.copytree(finished, out)
    stopped = _traced("unlinkat", f"signal=INT:when={nth}", _command(corpus, out, "--overwrite"))
    assert stopped.returncode == -signal.SIGINT  # ends by the signal, after its message
    assert stopped.stderr == (
        f"Error: interrupted while --overwrite was deleting the earlier output in {out}/: part of it is gone, and "
        "the new run had not begun. Run the same command again (with --overwrite) to start afresh.\n")
    assert not (out / "summary.json").exists()
    assert (out / "corpus").is_dir() and len(list((out / "corpus").iterdir())) < 4  # half deleted
    # The advice works: --overwrite takes the half-deleted folder as curate's own.
    again = in_process(*_command(corpus, out, "--overwrite")[1:], cwd=ROOT / "tests")
    assert again.returncode == 0, again.stderr
    assert output_files(out) == output_files(finished)
    # And --resume, which the message does not suggest, says why not.
    shutil.rmtree(out)
    shutil.copytree(finished, out)
    _traced("unlinkat", f"signal=INT:when={nth}", _command(corpus, out, "--overwrite"))
    resumed = in_process(*_command(corpus, out, "--resume")[1:], cwd=ROOT / "tests")
    assert resumed.returncode == 1
    assert "without summary.json or .partial/" in resumed.stderr and "--overwrite" in resumed.stderr


# -- a clean-up that fails once the run is finished --------------------------------------------

@needs_strace
def test_a_partial_folder_that_cannot_be_renamed_is_removed_in_place(corpus, finished, tmp_path):
    out = tmp_path / "out"
    done = _traced("rename", "error=EIO", _command(corpus, out), out / ".partial")
    assert done.returncode == 0, done.stderr
    assert output_files(out) == output_files(finished)
    assert _leftovers(out) == []


@needs_strace
def test_a_partial_folder_left_beside_summary_json_is_a_finished_runs_leftover(corpus, finished, tmp_path):
    out = tmp_path / "out"
    done = _traced("rename,rmdir", "error=EIO", _command(corpus, out), out / ".partial")
    assert done.returncode == 0, done.stderr
    assert _leftovers(out) == [".partial"]  # emptied, but there
    assert output_files(out) == output_files(finished)
    # A finished run, to every later run, which deletes the leftover.
    again = in_process(*_command(corpus, out)[1:], cwd=ROOT / "tests")
    assert again.returncode == 1
    assert again.stderr == (f"Error: {out}: the folder holds a finished run (summary.json); use --overwrite to "
                            "replace it, or choose another folder with -o DIR\n")
    assert _leftovers(out) == []
    (out / ".partial").mkdir()
    resumed = in_process(*_command(corpus, out, "--resume")[1:], cwd=ROOT / "tests")
    assert resumed.returncode == 1
    assert "--resume found a finished run (summary.json)" in resumed.stderr
    assert _leftovers(out) == []
    (out / ".partial").mkdir()
    replaced = in_process(*_command(corpus, out, "--overwrite")[1:], cwd=ROOT / "tests")
    assert replaced.returncode == 0, replaced.stderr
    assert output_files(out) == output_files(finished)
    assert _leftovers(out) == []


# -- before the command has control ---------------------------------------------------------------

def test_the_console_script_is_the_entry_that_catches_an_early_ctrl_c():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["curate"] == "curate.__main__:main"


@needs_strace
def test_a_ctrl_c_while_the_command_is_imported_is_quiet(tmp_path):
    import click

    # click is imported first of the heavy modules; its bytecode, or its source without one.
    package = Path(click.__file__).parent
    opened = [package / "__pycache__" / f"__init__.{sys.implementation.cache_tag}.pyc", package / "__init__.py"]
    out = tmp_path / "out"
    command = [sys.executable, "-m", "curate", "run", str(ROOT / "seeds"), "-o", str(out), "-q"]
    stopped = _traced("openat", "signal=INT:when=1", command, *opened)
    assert stopped.returncode == -signal.SIGINT
    assert stopped.stderr == "Aborted!\n"
    assert not out.exists()


@needs_strace
def test_a_ctrl_c_while_the_inputs_are_found_is_quiet(corpus, tmp_path):
    out = tmp_path / "out"
    stopped = _traced("%file", "signal=INT:when=1", _command(corpus, out), corpus)
    assert stopped.returncode == -signal.SIGINT
    assert stopped.stderr.strip() == "Aborted!"
    assert not out.exists()


# -- --dedup-parts' settle ------------------------------------------------------------------------

def _settle_process_of(pid: int) -> bool:
    """Whether a process that --dedup-parts' settle spawned runs (still importing curate:
    it was started a moment ago)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if b"--multiprocessing-fork" in command and int(stat[1]) == pid and stat[0] != "Z":
            return True
    return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the settle's processes in /proc")
def test_a_ctrl_c_in_the_settle_of_dedup_parts_is_one_message(corpus, finished, tmp_path):
    # A terminal's Ctrl-C reaches every process of the group: the settle's processes, which
    # import curate again for a second, printed KeyboardInterrupt tracebacks of their own.
    out = tmp_path / "out"
    command = _command(corpus, out, "--dedup-parts", "--workers", "2")
    proc = subprocess.Popen(command, cwd=ROOT / "tests", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_as_from_a_terminal)
    deadline = time.monotonic() + 60
    while not _settle_process_of(proc.pid):
        assert proc.poll() is None, "the run ended before the settle was seen"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    time.sleep(0.2)  # into its imports (it takes a second or so), past Python's own start
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGINT, stderr
    assert stderr == (f"Error: interrupted; finished chunks are kept in {out}/.partial/ and no final file was "
                      "written. Run the same command with --resume to continue where it stopped.\n")
    resumed = in_process(*_command(corpus, out, "--dedup-parts", "--workers", "2", "--resume")[1:], cwd=ROOT / "tests")
    assert resumed.returncode == 0, resumed.stderr
    assert output_files(out) == output_files(finished)
