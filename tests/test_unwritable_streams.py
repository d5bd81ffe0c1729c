"""A standard stream that cannot be written never crashes a command nor lies about it
(curate/streams.py). A stderr or stdout whose reader is gone is as /dev/null: the command
goes on and ends with the status it earned (a run used to stop silently with status 1,
or report a finished run as failed). A stdout that fails otherwise (a full device) is
said in one line on stderr, status 1, where it was a Python traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, output_files, run_process

CURATE = Path(sys.executable).parent / "curate"
FULL = ("Error: could not write to stdout (No space left on device); what this command printed there is "
        "incomplete. Send stdout somewhere that can take it.\n")


def _gone_reader() -> int:
    """The write end of a pipe whose reader has already closed it."""
    read, write = os.pipe()
    os.close(read)
    return write


@pytest.fixture
def page(tmp_path: Path) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "a", "text": "Hello world, this is a page.\\nAccept all cookies\\n"}\n')
    return path


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [("--help",), ("--version",), ("rules", "list"), ("explain", "PAGE")])
def test_stdout_on_a_full_device_is_one_line_and_status_1(tmp_path, page, args):
    args = [str(page) if a == "PAGE" else a for a in args]
    with open("/dev/full", "w") as full:
        done = subprocess.run([str(CURATE), *args], cwd=tmp_path, stdout=full, stderr=subprocess.PIPE, text=True,
                              timeout=60)
    assert (done.returncode, done.stderr) == (1, FULL)


@pytest.mark.parametrize("args", [("--help",), ("rules", "list"), ("explain", "PAGE")])
def test_a_listing_whose_reader_is_gone_ends_quietly_with_status_0(tmp_path, page, args):
    # `curate rules list | head -1`, made certain: the reader has gone before the first write.
    args = [str(page) if a == "PAGE" else a for a in args]
    write = _gone_reader()
    try:
        done = subprocess.run([str(CURATE), *args], cwd=tmp_path, stdout=write, stderr=subprocess.PIPE, text=True,
                              timeout=60)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (0, "")


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("ref") / "out"
    done = run_process("run", SEEDS, "-o", out, "--workers", "2")
    assert done.returncode == 0, done.stderr
    return output_files(out)


def test_a_run_whose_stderr_reader_is_gone_from_the_start_finishes_as_into_dev_null(tmp_path, reference):
    out = tmp_path / "out"
    write = _gone_reader()
    try:
        # from the repository, whose ./rules/ the run notes first thing on stderr
        done = subprocess.run([str(CURATE), "run", str(SEEDS), "-o", str(out), "--workers", "2"], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=write, timeout=300)
    finally:
        os.close(write)
    assert done.returncode == 0
    assert output_files(out) == reference


def test_a_run_whose_stderr_reader_leaves_after_a_line_finishes_with_its_true_status(tmp_path, reference):
    # `curate run ... 2>&1 | head -1`
    out = tmp_path / "out"
    proc = subprocess.Popen([str(CURATE), "run", str(SEEDS), "-o", str(out), "--workers", "2"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout.readline().startswith(b"note: also using the project rules")
    proc.stdout.close()
    assert proc.wait(300) == 0
    assert output_files(out) == reference


def test_a_failed_run_whose_stderr_reader_is_gone_keeps_its_status(tmp_path):
    write = _gone_reader()
    try:
        missing = subprocess.run([str(CURATE), "run", str(tmp_path / "missing"), "-o", str(tmp_path / "out")],
                                 cwd=tmp_path, stderr=write, timeout=60)
        usage = subprocess.run([str(CURATE), "run"], cwd=tmp_path, stderr=write, timeout=60)
    finally:
        os.close(write)
    assert (missing.returncode, usage.returncode) == (1, 2)  # a run's error; click's usage error
