"""A stopped run says what is on disk, and its advice works: here, a clean-up that fails
after the commit put summary.json in place leaves a finished run, never one that looks
unfinished.

The failures are strace's (``inject=CALL:error=EIO``), at a chosen system call of the
real CLI, so each lands where it is meant to, every time; those tests are skipped where
strace is missing."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, output_files, traced_env

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
    done = _run(_curate("run", corpus, "-o", out, "-q", *CHUNKS))
    assert done.returncode == 0, done.stderr
    return out


def _command(corpus: Path, out: Path, *extra: str) -> list[str]:
    return _curate("run", corpus, "-o", out, "-q", *CHUNKS, *extra)


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
    again = _run(_command(corpus, out))
    assert again.returncode == 1
    assert again.stderr == (f"Error: {out}: the folder holds a finished run (summary.json); use --overwrite to "
                            "replace it, or choose another folder with -o DIR\n")
    assert _leftovers(out) == []
    (out / ".partial").mkdir()
    resumed = _run(_command(corpus, out, "--resume"))
    assert resumed.returncode == 1
    assert "--resume found a finished run (summary.json)" in resumed.stderr
    assert _leftovers(out) == []
    (out / ".partial").mkdir()
    replaced = _run(_command(corpus, out, "--overwrite"))
    assert replaced.returncode == 0, replaced.stderr
    assert output_files(out) == output_files(finished)
    assert _leftovers(out) == []
