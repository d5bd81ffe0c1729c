"""Killed and interrupted runs: no output that looks complete, and --resume finishes the job
with output byte-identical to a run that was never stopped."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, in_process, invoke, killed_at_open, needs_strace, output_files, read_jsonl

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
    ({"notes.md": "# notes"}, {}, ("--workers", "2")),  # an unsupported file, gone when the run is resumed
    ({}, {"notes.md": "# notes"}, ("--dedup-parts",)),
])
def test_a_skipped_entry_that_came_or_went_refuses_the_resume(tmp_path, before, after, extra):
    """Discovery's skipped entries (but hidden names and curate's own files, said last)
    are the run's first items, counted in its chunks' bounds: one that came or went since
    the kill shifted every document the resume skipped (a file lost, or read twice, exit
    0). The resume is refused; the folder as it was resumes."""
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


def _other_run(inputs: Path, name: str) -> None:
    """A finished run of curate's (a real one) written into the input folder as ``name``."""
    other = inputs.parent / f"src-{name}"
    other.mkdir()
    (other / "x.txt").write_text("Another experiment, with other rules, over other pages.\n")
    assert in_process("run", other, "-o", inputs / name, "-q").returncode == 0


def _timings(inputs: Path, name: str) -> None:
    """A --timings file of a real run, written into the input folder as ``name``."""
    other = inputs.parent / "src-timed"
    other.mkdir()
    (other / "x.txt").write_text("A page timed by a run of its own.\n")
    assert in_process("run", other, "-o", inputs.parent / "timed", "-q", "--timings", inputs / name).returncode == 0


def _swap(inputs: Path, name: str) -> None:
    """An editor's swap or lock file, made by opening an input to look at it."""
    (inputs / name).write_text("swap")


def _hidden_folder(inputs: Path, name: str) -> None:
    (inputs / name).mkdir()
    (inputs / name / "HEAD").write_text("ref: refs/heads/main\n")


_SAID = {_other_run: "output folder of a curate run skipped", _timings: "timings file of a curate run skipped",
         _swap: "hidden file skipped", _hidden_folder: "hidden folder skipped"}


@needs_strace
@pytest.mark.parametrize(("before", "after", "extra"), [
    ((), (("b", _other_run),), ()),  # `curate run data -o data/a`, stopped; then `... -o data/b`
    ((("old", _other_run),), (), ("--workers", "2")),  # an experiment deleted meanwhile
    ((), (("b", _other_run), ("t.json", _timings)), ("--dedup-parts",)),
    (((".f05.txt.swp", _swap),), (), ()),  # an editor's swap file, gone when the run is resumed
    ((), ((".~lock.f07.txt#", _swap), (".git", _hidden_folder)), ("--workers", "2")),
])
def test_entries_never_read_that_came_or_went_do_not_refuse_the_resume(tmp_path, before, after, extra):
    """Another run's output folder, a --timings file, or a hidden name (an editor's swap
    file, a .git/ folder) that came or went in the input folder while a run was stopped:
    never read, yet the resume was refused ('the entries skipped in the input folders:
    .f05.txt.swp (gone)'), its finished chunks only to be thrown away. They are said after
    every document now, as the folder is when the run is resumed: the output is byte for
    byte a run's never stopped over the folder as it is then."""
    inputs = _folder_of_texts(tmp_path / "in")
    for name, make in before:
        make(inputs, name)
    out = tmp_path / "out"
    args = ("run", inputs, "-o", out, "-q", "--chunk-docs", "1", *extra)
    killed_at_open(out / ".partial" / "000010.done", Path(sys.executable).parent / "curate", *args, cwd=ROOT)
    for name, _ in before:
        if (inputs / name).is_dir():
            shutil.rmtree(inputs / name)
        else:
            (inputs / name).unlink()
    for name, make in after:
        make(inputs, name)
    resumed = in_process(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    reference = tmp_path / "reference"
    assert in_process("run", inputs, "-o", reference, "-q", "--chunk-docs", "1", *extra).returncode == 0
    assert output_files(out) == output_files(reference)
    said = [(p["source"], p["problem"]) for p in read_jsonl(out / "quarantine.jsonl")]
    assert said == sorted((name, _SAID[make]) for name, make in after)


@needs_strace
def test_a_run_stopped_after_its_last_chunk_keeps_the_notes_it_said(tmp_path):
    """The one case the notes of curate's own files are not said as the folder is at the
    resume: the run was stopped in its commit, after its last chunk (which holds them all)
    was finished. Only the commit is left, and the output is the stopped run's: the notes
    said once, as the folder was then, never twice nor half."""
    inputs = _folder_of_texts(tmp_path / "in")
    _other_run(inputs, "old")
    out = tmp_path / "out"
    args = ("run", inputs, "-o", out, "-q", "--chunk-docs", "1")
    reference = tmp_path / "reference"
    assert in_process("run", inputs, "-o", reference, "-q", "--chunk-docs", "1").returncode == 0
    killed_at_open(out / ".partial" / "README.md.tmp", Path(sys.executable).parent / "curate", *args, cwd=ROOT)
    shutil.rmtree(inputs / "old")
    _other_run(inputs, "new")
    resumed = in_process(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert output_files(out) == output_files(reference)
    assert [p["source"] for p in read_jsonl(out / "quarantine.jsonl")] == ["old"]
