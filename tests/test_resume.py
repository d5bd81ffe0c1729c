"""Killed and interrupted runs: no output that looks complete, and --resume finishes the job
with output byte-identical to a run that was never stopped."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, in_process, invoke, killed_at_open, needs_strace, output_files

sys.path.insert(0, str(ROOT / "bench"))
from generate import generate

FILES = ("corpus", "removed.jsonl", "quarantine.jsonl", "summary.json")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    # About 330 documents, with near-duplicates across them: 17 chunks of 20, so a kill
    # after the third leaves most of the run to resume.
    generate(1.0, folder)
    return folder / "corpus.jsonl"


def _as_from_a_terminal() -> None:
    """A child inherits ignored signals and the signal mask across exec, and after some
    tests in the same session pytest's process no longer passes SIGINT on as a terminal
    would (seen twice in full-suite runs, never alone): start curate as a shell would."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(corpus: Path, out: Path, *extra: str) -> subprocess.Popen:
    exe = Path(sys.executable).parent / "curate"
    return subprocess.Popen([str(exe), "run", str(corpus), "-o", str(out), "-q", "--chunk-docs", "20", *extra],
                            cwd=ROOT / "tests", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_as_from_a_terminal)


def _wait_for_chunks(out: Path, proc: subprocess.Popen, n: int) -> None:
    deadline = time.time() + 120
    while len(list((out / ".partial").glob("*.done"))) < n:
        assert proc.poll() is None, "the run ended before it could be interrupted; use a bigger corpus"
        assert time.time() < deadline
        time.sleep(0.05)


def _wait_until_no_process_writes_to(out: Path) -> None:
    deadline = time.time() + 10
    while time.time() < deadline:
        alive = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline_mentions(p, str(out))]
        if not alive:
            return
        time.sleep(0.2)
    raise AssertionError(f"curate processes still running after their parent was killed: {alive}")


def _cmdline_mentions(proc: Path, text: str) -> bool:
    try:
        return text in (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return False


def _outputs(out: Path) -> dict[str, bytes]:
    return output_files(out)


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("ref") / "out"
    proc = _start(corpus, out)
    assert proc.wait() == 0, proc.stderr.read()
    return _outputs(out)


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_gives_identical_bytes(corpus, reference, tmp_path):
    out = tmp_path / "out"
    proc = _start(corpus, out, "--workers", "2")
    _wait_for_chunks(out, proc, 3)
    proc.kill()  # SIGKILL: no handler runs, nothing is cleaned up
    proc.wait()
    # The workers die with their parent instead of waiting for work forever.
    _wait_until_no_process_writes_to(out)
    # Nothing that looks finished: no final file, only the partial folder.
    assert not any((out / name).exists() for name in FILES)
    assert (out / ".partial").is_dir()
    resumed = _start(corpus, out, "--workers", "2", "--resume")
    assert resumed.wait() == 0, resumed.stderr.read()
    assert _outputs(out) == reference
    assert not (out / ".partial").exists()


@pytest.mark.slow
@pytest.mark.parametrize("output_format", ["jsonl.zst", "parquet"])
def test_compressed_shards_are_identical_after_a_sigkill_and_resume(corpus, tmp_path, output_format):
    pytest.importorskip("pyarrow")
    options = ("--output-format", output_format)
    whole = _start(corpus, tmp_path / "whole", *options)
    assert whole.wait() == 0, whole.stderr.read()
    out = tmp_path / "out"
    proc = _start(corpus, out, "--workers", "2", *options)
    _wait_for_chunks(out, proc, 3)
    proc.kill()
    proc.wait()
    _wait_until_no_process_writes_to(out)
    resumed = _start(corpus, out, "--resume", *options)
    assert resumed.wait() == 0, resumed.stderr.read()
    assert _outputs(out) == _outputs(tmp_path / "whole")
    assert len(list((out / "corpus").iterdir())) > 3, "one shard per chunk, across the kill"


@pytest.mark.slow
def test_ctrl_c_says_how_to_resume(corpus, reference, tmp_path):
    # On a loaded machine this process can be starved past the child's last chunk, so the
    # signal lands after the run finished (exit 0 with a complete output): try again then.
    for attempt in range(3):
        out = tmp_path / f"out{attempt}"
        proc = _start(corpus, out)
        _wait_for_chunks(out, proc, 2)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
        if not (proc.returncode == 0 and (out / "summary.json").exists()):
            break
    assert proc.returncode == -signal.SIGINT, stderr[-500:]  # ends by the signal, after its message
    assert "interrupted" in stderr and "--resume" in stderr
    assert not (out / "summary.json").exists()
    resumed = _start(corpus, out, "--resume")
    assert resumed.wait() == 0, resumed.stderr.read()
    assert _outputs(out) == reference


def test_resume_refuses_other_options(tmp_path):
    out = tmp_path / "out"
    partial = out / ".partial"
    partial.mkdir(parents=True)
    (partial / "run.json").write_text('{"fingerprint": "from another run"}\n')
    result = invoke("run", SEEDS, "-o", out, "--resume")
    assert result.exit_code == 1
    assert "cannot be resumed; use --overwrite to discard it and start again" in result.output
    assert (partial / "run.json").exists()  # refused: nothing was touched


def test_resume_without_a_partial_run_is_refused(tmp_path):
    out = tmp_path / "out"
    result = invoke("run", SEEDS, "-o", out, "-q", "--resume")
    assert result.exit_code == 1
    assert f"{out}: --resume found nothing to continue there; run without --resume" in result.output
    assert not out.exists()


def _folder_of_texts(folder: Path) -> Path:
    folder.mkdir()
    for i in range(30):
        (folder / f"f{i:02d}.txt").write_text(f"Document {i} says hello to the river and the mountain.\n\n"
                                              f"Another line {i} about the city garden.\n")
    return folder


@needs_strace
@pytest.mark.parametrize(("before", "after", "extra"), [
    ({".f05.txt.swp": "swap"}, {}, ()),  # an editor's swap file, gone when the run is resumed
    ({}, {".hidden": "x"}, ("--workers", "2")),
    ({}, {"notes.md": "# notes"}, ("--dedup-parts",)),
])
def test_a_skipped_entry_that_came_or_went_refuses_the_resume(tmp_path, before, after, extra):
    """Discovery's skipped entries are the run's first items, counted in its chunks' bounds:
    one that came or went since the kill shifted every document the resume skipped (a file
    lost, or read twice, exit 0). The resume is refused; the folder as it was resumes."""
    inputs = _folder_of_texts(tmp_path / "in")
    for name, text in before.items():
        (inputs / name).write_text(text)
    out = tmp_path / "out"
    args = ("run", inputs, "-o", out, "-q", "--chunk-docs", "1", *extra)
    killed_at_open(out / ".partial" / "000010.done", Path(sys.executable).parent / "curate", *args, cwd=ROOT)
    for name in before:
        (inputs / name).rename(tmp_path / name)
    for name, text in after.items():
        (inputs / name).write_text(text)
    refused = in_process(*args, "--resume")
    assert refused.returncode == 1, refused.stderr
    assert "cannot be resumed" in refused.stderr and "Traceback" not in refused.stderr
    assert not (out / "summary.json").exists()
    for name in before:
        (tmp_path / name).rename(inputs / name)
    for name in after:
        (inputs / name).unlink()
    resumed = in_process(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    reference = tmp_path / "reference"
    assert in_process("run", inputs, "-o", reference, "-q", "--chunk-docs", "1", *extra).returncode == 0
    assert output_files(out) == output_files(reference)
