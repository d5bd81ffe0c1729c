"""A limit of the process or the machine (too many open files, processes or threads) met
by a run stops it cleanly, with the limit named and --resume advised: never a file
quarantined for it, never a traceback, the same with one worker or several."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, in_process, output_files

CURATE = str(Path(sys.executable).parent / "curate")
NO_FILES = "too many open files (reading b"
RESUME = "run the same command with --resume"


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def _here(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """_run's command in-process: for the runs that prepare a limited run or follow one
    (the clean reference, the resume or the run again its message advises), which prove
    what the command makes of the folder, under no limit; the limited runs stay processes."""
    assert cmd[0] == CURATE
    return in_process(*cmd[1:], cwd=cwd)


@pytest.fixture
def inputs(tmp_path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in "acd":
        (folder / f"{name}.txt").write_text(f"a line of text from file {name}, which is fine\n")
    return folder


def _injected(path: Path, errno_name: str) -> list[str]:
    """strace failing every open of ``path`` (only that file) with ``errno_name``."""
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    return ["strace", "-f", "-qq", "-o", "/dev/null", "-P", str(path), "-e", "trace=openat",
            "-e", f"inject=openat:error={errno_name}"]


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("name", ["b.txt", "b.jsonl.gz", "b.csv"])
def test_too_many_open_files_stops_the_run_and_resume_finishes_it(inputs, tmp_path, workers, name):
    target = inputs / name
    if name.endswith(".gz"):
        target.write_bytes(gzip.compress(b'{"text": "a record from file b, which is fine"}\n'))
    elif name.endswith(".csv"):
        target.write_text("text\na row of file b, which is fine\n")
    else:
        target.write_text("a line of text from file b, which is fine\n")
    out, clean = tmp_path / "out", tmp_path / "clean"
    args = ["run", str(inputs), "-o", str(out), "-q", "--workers", workers]
    stopped = _run([*_injected(target, "EMFILE"), CURATE, *args], tmp_path)
    assert stopped.returncode == 1, stopped.stderr
    assert NO_FILES in stopped.stderr and "raise the limit (ulimit -n)" in stopped.stderr
    assert RESUME in stopped.stderr and "Traceback" not in stopped.stderr
    assert not (out / "quarantine.jsonl").exists()  # nothing quarantined, nothing final
    resumed = _here([CURATE, *args, "--resume"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    done = _here([CURATE, "run", str(inputs), "-o", str(clean), "-q"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert output_files(out) == output_files(clean)


def test_a_full_system_file_table_is_a_stop_too(inputs, tmp_path):
    target = inputs / "b.txt"
    target.write_text("text\n")
    stopped = _run([*_injected(target, "ENFILE"), CURATE, "run", str(inputs), "-o", str(tmp_path / "o"), "-q"],
                   tmp_path)
    assert stopped.returncode == 1
    assert "the system's table of open files is full (reading b.txt)" in stopped.stderr
    assert RESUME in stopped.stderr


def test_a_file_that_cannot_be_opened_for_its_own_reason_is_still_quarantined(inputs, tmp_path):
    target = inputs / "b.txt"
    target.write_text("text\n")
    done = _run([*_injected(target, "EACCES"), CURATE, "run", str(inputs), "-o", str(tmp_path / "o"), "-q"],
                tmp_path)
    assert done.returncode == 0, done.stderr
    assert "cannot read file: Permission denied" in (tmp_path / "o" / "quarantine.jsonl").read_text()


def test_too_few_descriptors_to_start_the_workers_is_a_stop(inputs, tmp_path):
    # Every pipe the run makes fails as under `prlimit --nofile=16 ... --workers 2`, where
    # the pool's first Pipe() raised a traceback.
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    stopped = _run(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=pipe2", "-e", "inject=pipe2:error=EMFILE",
                    CURATE, "run", str(inputs), "-o", str(tmp_path / "o"), "-q", "--workers", "2"], tmp_path)
    assert stopped.returncode == 1
    assert "too many open files (starting worker process 1): raise the limit (ulimit -n)" in stopped.stderr
    assert RESUME in stopped.stderr and "Traceback" not in stopped.stderr


NO_THREADS = """
import os, sys, threading
main, start = os.getpid(), threading.Thread.start
def failing(self):
    if os.getpid() != main:  # in the forked workers only, as RLIMIT_NPROC does
        raise RuntimeError("can't start new thread")
    return start(self)
threading.Thread.start = failing
from curate.cli import main as cli
sys.argv = ["curate", *sys.argv[1:]]
cli()
"""


def test_a_worker_that_cannot_start_its_threads_stops_the_run_with_the_limit(inputs, tmp_path):
    stopped = _run([sys.executable, "-c", NO_THREADS, "run", str(inputs), "-o", str(tmp_path / "o"), "-q",
                    "--workers", "2"], tmp_path)
    assert stopped.returncode == 1
    assert "too many processes or threads for this user (worker process 1" in stopped.stderr
    assert "raise the limit (ulimit -u), or use fewer --workers" in stopped.stderr
    assert RESUME in stopped.stderr
    assert "Traceback" not in stopped.stderr and "exited unexpectedly" not in stopped.stderr


def test_a_zstd_file_made_with_a_long_window_is_said_as_such_not_as_corrupt(tmp_path):
    if shutil.which("zstd") is None:
        pytest.skip("zstd is not installed")
    folder = tmp_path / "in"
    folder.mkdir()
    (tmp_path / "w.txt").write_text("a line of text, which is fine\n")
    # From stdin: zstd does not know the size, so the window stays 256 MiB (for a file it
    # shrinks the window to the file's size).
    with (tmp_path / "w.txt").open("rb") as given, (folder / "w.txt.zst").open("wb") as made_file:
        made = subprocess.run(["zstd", "-q", "--long=28", "-c"], stdin=given, stdout=made_file,
                              stderr=subprocess.PIPE, text=True, check=False)
    assert made.returncode == 0, made.stderr
    done = _run([CURATE, "run", str(folder), "-o", str(tmp_path / "o"), "-q"], tmp_path)
    assert done.returncode == 0, done.stderr
    said = (tmp_path / "o" / "quarantine.jsonl").read_text()
    assert "needs a zstd decoding window of 256 MiB, over curate's limit of 128 MiB" in said
    assert "recompress the file without --long" in said and "corrupt" not in said


def test_an_xz_file_made_with_a_huge_dictionary_is_said_as_such_and_not_decoded_with_it(tmp_path):
    """liblzma decodes with the dictionary a stream declares, filling it as it goes: a
    312 kB .xz file declaring 4 GiB peaked at 2.4 GB expanding to 2 GiB. It is refused
    over 128 MiB, as a zstd window is; one made by the lzma module with 1.5 GiB, the most
    xz itself takes."""
    import lzma

    folder = tmp_path / "in"
    folder.mkdir()
    huge = [{"id": lzma.FILTER_LZMA2, "preset": 0, "dict_size": 1536 << 20}]
    (folder / "big.txt.xz").write_bytes(lzma.compress(b"a line of text, which is fine\n", filters=huge))
    (folder / "ok.txt.xz").write_bytes(lzma.compress(b"another line of text, which is read\n", preset=9))
    done = _run([CURATE, "run", str(folder), "-o", str(tmp_path / "o"), "-q"], tmp_path)
    assert done.returncode == 0, done.stderr
    [said] = [json.loads(line) for line in (tmp_path / "o" / "quarantine.jsonl").read_text().splitlines()]
    assert (said["source"], said["problem"]) == ("big.txt.xz", "needs an xz decoding dictionary of 1,536 MiB, "
                                                               "over curate's limit of 128 MiB")
    assert said["action"] == "skipped; recompress the file with xz -9 or a lower level (a dictionary of 64 MiB or less)"
    assert "another line" in (tmp_path / "o" / "corpus" / "part-00000.jsonl").read_text()


AGAIN = "then run the same command again"


def _injected_errno(paths: list[Path], errno_name: str) -> list[str]:
    """strace failing every open of these paths with ``errno_name`` (as _injected)."""
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    named = [arg for path in paths for arg in ("-P", str(path))]
    return ["strace", "-f", "-qq", "-o", "/dev/null", *named, "-e", "trace=openat",
            "-e", f"inject=openat:error={errno_name}"]


@pytest.mark.parametrize("errno_name", ["EMFILE", "ENFILE"])
@pytest.mark.parametrize("spot", ["folder", "inputs-from", "output-summary"])
def test_a_limit_met_finding_the_inputs_stops_before_the_run_instead_of_dropping_them(tmp_path, errno_name, spot):
    # Each was said of the folder or file, and the run went on without it: a folder
    # listed under a low ulimit -n was quarantined as "cannot read folder: Too many open
    # files", its files silently left out; the list of --inputs-from was "cannot read it;
    # check the path"; a run's summary.json that could not be opened made its folder no
    # run's output, to be walked as input.
    inputs = tmp_path / "in"
    for name in ("a", "b"):
        (inputs / name).mkdir(parents=True)
        (inputs / name / f"{name}.txt").write_text(f"a line of text in folder {name}, which is fine\n")
    out = tmp_path / "out"
    args = ["run", str(inputs), "-o", str(out), "-q"]
    if spot == "folder":
        failing, said = inputs / "b", "(listing the folder b)"
    elif spot == "inputs-from":
        failing = tmp_path / "list.txt"
        failing.write_text(f"{inputs / 'a'}\n{inputs / 'b'}\n")
        args = ["run", "--inputs-from", str(failing), "-o", str(out), "-q"]
        said = f"(reading --inputs-from {failing})"
    else:
        assert _here([CURATE, "run", str(inputs / "a"), "-o", str(inputs / "b" / "earlier"), "-q"],
                    tmp_path).returncode == 0
        failing = inputs / "b" / "earlier" / "summary.json"
        said = f"(reading {failing})"
    limit = ("too many open files" if errno_name == "EMFILE" else "the system's table of open files is full") + " "
    stopped = _run([*_injected_errno([failing], errno_name), CURATE, *args], tmp_path)
    assert stopped.returncode == 1, stopped.stderr
    assert f"Error: {limit}{said}: " in stopped.stderr and f"; {AGAIN}\n" in stopped.stderr
    assert "Traceback" not in stopped.stderr and not out.exists()  # stopped before the output was taken
    done = _here([CURATE, *args], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "folder b" in (out / "corpus" / "part-00000.jsonl").read_text()


def test_a_limit_met_reading_the_timings_file_blames_no_file(inputs, tmp_path):
    # It was "--timings FILE: exists and cannot be read (Too many open files); give another
    # FILE, or remove it first": a sound file, which the user was told to give up.
    timings = tmp_path / "timings.json"
    args = ["run", str(inputs), "-o", str(tmp_path / "out"), "-q", "--timings", str(timings)]
    assert _here([CURATE, *args], tmp_path).returncode == 0
    args[3] = str(tmp_path / "again")
    stopped = _run([*_injected_errno([timings], "EMFILE"), CURATE, *args], tmp_path)
    assert stopped.returncode == 1
    assert stopped.stderr == (f"Error: too many open files (reading --timings {timings}): raise the limit (ulimit -n); "
                              f"{AGAIN}\n")


def test_under_every_low_ulimit_n_a_run_stops_clearly_and_its_advice_finishes_it(inputs, tmp_path):
    # A real limit, lowered one descriptor at a time until the run fits: every run short
    # of it stops with the limit named (never a traceback, never a folder blamed: "cannot
    # write the output folder (Too many open files); fix its permissions"), and what the
    # stop advises (--resume, or the same command again) writes the run's bytes.
    if shutil.which("prlimit") is None:
        pytest.skip("prlimit is not installed")
    for sub in "xyz":  # folders to walk, files to read
        (inputs / sub).mkdir()
        (inputs / sub / "f.txt").write_text(f"a line of text in folder {sub}, which is fine\n")
    clean = tmp_path / "clean"
    assert _here([CURATE, "run", str(inputs), "-o", str(clean), "-q"], tmp_path).returncode == 0

    def limited(n: int, *args: str) -> subprocess.CompletedProcess:
        return _run(["prlimit", f"--nofile={n}", CURATE, *args], tmp_path)

    # From the fewest descriptors Python and curate's imports start with: fewer is no run.
    start = next(n for n in range(3, 64) if limited(n, "--version").returncode == 0)
    stops = 0
    for n in range(start, 64):
        out = tmp_path / f"out-{n}"
        args = ["run", str(inputs), "-o", str(out), "-q"]
        run = limited(n, *args)
        if run.returncode == 0:
            break
        stops += 1
        assert run.returncode == 1 and run.stderr.startswith("Error: too many open files"), (n, run.stderr)
        assert "raise the limit (ulimit -n)" in run.stderr and "Traceback" not in run.stderr, (n, run.stderr)
        assert "permissions" not in run.stderr and "cannot read" not in run.stderr, (n, run.stderr)
        advised = ["--resume"] if RESUME in run.stderr else []
        assert advised or run.stderr.endswith(f"; {AGAIN}\n"), (n, run.stderr)
        finished = _here([CURATE, *args, *advised], tmp_path)
        assert finished.returncode == 0, (n, finished.stderr)
        assert output_files(out) == output_files(clean), n
    else:
        raise AssertionError("no limit under 64 descriptors let the run finish")
    assert output_files(out) == output_files(clean)
    assert stops, "the first limit Python starts under let the run finish: nothing was tested"


def test_a_reader_out_of_memory_stops_the_run_instead_of_quarantining_the_file(tmp_path):
    # A real limit (ulimit -v) that lets curate start and run, but not hold the 64 MiB of
    # a record it reads up to --max-doc-bytes: the file was quarantined as "read error:
    # MemoryError; check the disk and the file", its other records lost, and the run
    # finished. A lack of memory is the machine's: the run stops, and --resume, with the
    # memory there, reads the file as a run that never stopped.
    if shutil.which("prlimit") is None:
        pytest.skip("prlimit is not installed")
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a.jsonl").write_text('{"text": "a small record, which is fine"}\n')
    with (inputs / "b.jsonl").open("w") as f:  # a record over --max-doc-bytes, then a good one
        f.write('{"text": "' + "word " * (16 << 20) + '"}\n{"text": "the record after the large one"}\n')

    def limited(megabytes: int, folder: Path, out: Path) -> subprocess.CompletedProcess:
        return _run(["prlimit", f"--as={megabytes << 20}", CURATE, "run", str(folder), "-o", str(out), "-q"],
                    tmp_path)

    # The least address space a run of the small file alone needs, to 16 MiB.
    small = tmp_path / "small"
    small.mkdir()
    shutil.copy(inputs / "a.jsonl", small)
    low, high = 64, 2048
    assert limited(high, small, tmp_path / "probe").returncode == 0
    while high - low > 16:
        middle = (low + high) // 2
        shutil.rmtree(tmp_path / "probe", ignore_errors=True)
        low, high = (low, middle) if limited(middle, small, tmp_path / "probe").returncode == 0 else (middle, high)
    out = tmp_path / "out"
    stopped = limited(high + 32, inputs, out)  # room for the run, not for the record
    assert stopped.returncode == 1, stopped.stderr
    assert stopped.stderr.startswith("Error: curate's main process ran out of memory (reading b.jsonl"), stopped.stderr
    assert RESUME in stopped.stderr and "Traceback" not in stopped.stderr
    assert not (out / "quarantine.jsonl").exists()
    resumed = _here([CURATE, "run", str(inputs), "-o", str(out), "-q", "--resume"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    clean = tmp_path / "clean"
    assert _here([CURATE, "run", str(inputs), "-o", str(clean), "-q"], tmp_path).returncode == 0
    assert output_files(out) == output_files(clean)
    assert "larger than --max-doc-bytes" in (out / "quarantine.jsonl").read_text()
