"""A full disk or a file-size limit stops the run with a message that names the file and
says how to resume; finished chunks are kept, and once there is room, --resume gives the
bytes of a run that never stopped."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, file_size_limit, in_process, output_files

sys.path.insert(0, str(ROOT / "bench"))
from generate import generate

FILES = ("README.md", "corpus", "removed.jsonl", "quarantine.jsonl", "summary.json")


def _curate(*args) -> list[str]:
    return [str(Path(sys.executable).parent / "curate"), *map(str, args)]


def _run(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(_curate(*args), cwd=ROOT / "tests", capture_output=True, text=True, timeout=120,
                          check=False, **kwargs)


def _here(*args) -> subprocess.CompletedProcess:
    """_run in-process: for the reference runs and the resumes, which run with room to
    write and prove what the command makes of the folder; the runs that meet a full disk
    or a file-size limit stay processes."""
    return in_process(*args, cwd=ROOT / "tests")


def _outputs(out: Path) -> dict[str, bytes]:
    return output_files(out)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    generate(1.0, folder)  # about 350 documents, with near-duplicates across them
    return folder / "corpus.jsonl"


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("ref") / "out"
    done = _here("dedup", corpus, "-o", out, "-q", "--chunk-docs", "50")
    assert done.returncode == 0, done.stderr
    return _outputs(out)


@contextlib.contextmanager
def _tmpfs(mount: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` at ``mount``, unmounted at the end; skipped where mounting is
    not allowed."""
    mount.mkdir()
    tried = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
                           capture_output=True, text=True, check=False)
    if tried.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {tried.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB tmpfs."""
    with _tmpfs(tmp_path / "disk", "1m") as mount:
        yield mount


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 kB tmpfs: full within --dedup-parts' first pass, before any chunk is written."""
    with _tmpfs(tmp_path / "disk", "64k") as mount:
        yield mount


def _assert_stopped_cleanly(proc: subprocess.CompletedProcess, out: Path, cause: str) -> None:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"Error: cannot write {out}/.partial/"), proc.stderr
    assert f": {cause}; finished chunks are kept in {out}/.partial/" in proc.stderr
    assert "run the same command with --resume" in proc.stderr
    assert not any((out / name).exists() for name in FILES)


def test_full_disk_stops_with_the_resume_hint_and_resumes_identically(corpus, reference, small_disk):
    out = small_disk / "out"
    stopped = _run("dedup", corpus, "-o", out, "-q", "--chunk-docs", "50")
    _assert_stopped_cleanly(stopped, out, "No space left on device")
    assert list((out / ".partial").glob("*.done")), "the chunks finished before the disk filled up are kept"
    # Room for the chunks and their dedup journals (the journals are about as big as the text).
    size = sum(map(len, reference.values())) * 3 + (512 << 10)
    subprocess.run(["mount", "-o", f"remount,size={size}", str(small_disk)], check=True)
    resumed = _here("dedup", corpus, "-o", out, "-q", "--chunk-docs", "50", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert _outputs(out) == reference
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_full_disk_under_dedup_parts_stops_with_the_resume_hint(corpus, reference, tiny_disk, workers):
    # The rows --dedup-parts keeps fill the disk; closing their files flushed their buffers
    # onto the full disk again, and that error (and with --workers 2, the document ids'
    # registry's) was raised over the stop, as tracebacks, with the folder left locked.
    out = tiny_disk / "out"
    command = ("dedup", corpus, "-o", out, "-q", "--chunk-docs", "50", "--dedup-parts", "--workers", workers)
    stopped = _run(*command)
    assert stopped.stderr == (f"Error: cannot write {out}/.partial/index/dedup-parts: No space left on device; "
                              f"finished chunks are kept in {out}/.partial/ and no final file was written. Fix the "
                              "cause, then run the same command with --resume to continue where it stopped.\n")
    assert stopped.returncode == 1
    assert not (out / ".curate.lock").exists()
    assert not list((out / ".partial").glob("[0-9]*")), "the unfinished chunk is dropped"
    subprocess.run(["mount", "-o", "remount,size=16m", str(tiny_disk)], check=True)
    resumed = _here(*command, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert _outputs(out) == reference
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)


def test_file_size_limit_while_writing_a_chunk(corpus, reference, tmp_path):
    out = tmp_path / "out"
    stopped = _run("dedup", corpus, "-o", out, "-q", "--chunk-docs", "50", preexec_fn=file_size_limit(100_000))
    _assert_stopped_cleanly(stopped, out, "File too large")
    resumed = _here("dedup", corpus, "-o", out, "-q", "--chunk-docs", "50", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert _outputs(out) == reference


@pytest.fixture(scope="module")
def copied_corpus(tmp_path_factory) -> Path:
    """The same documents eight times over: the dedup index (files of the kept paragraphs'
    shingle sets) stays small while removed.jsonl grows with every copy."""
    folder = tmp_path_factory.mktemp("copied")
    generate(0.15, folder)
    records = (folder / "corpus.jsonl").read_text().splitlines()
    path = folder / "copied.jsonl"
    path.write_text("".join(line.replace('"id": "', f'"id": "copy{n}-') + "\n" for n in range(8) for line in records))
    return path


def test_file_size_limit_while_joining_the_chunks(copied_corpus, tmp_path):
    corpus, out = copied_corpus, tmp_path / "out"
    # Every chunk's files and the index fit, the joined removed.jsonl does not: the commit
    # stops part-way.
    whole = tmp_path / "whole"
    assert _here("dedup", corpus, "-o", whole, "-q", "--chunk-docs", "20").returncode == 0
    assert (whole / "removed.jsonl").stat().st_size > 2 * 130_000
    stopped = _run("dedup", corpus, "-o", out, "-q", "--chunk-docs", "20", preexec_fn=file_size_limit(130_000))
    _assert_stopped_cleanly(stopped, out, "File too large")
    assert (out / ".partial" / "commit.json").exists()
    resumed = _here("dedup", corpus, "-o", out, "-q", "--chunk-docs", "20", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert _outputs(out) == _outputs(whole)
    assert not (out / ".partial").exists()


@pytest.fixture(scope="module")
def many_ids(tmp_path_factory) -> Path:
    """3,000 short documents: their ids take 24 kB of the id registry's scratch file, more
    than a small disk holds, before a chunk of output is written."""
    path = tmp_path_factory.mktemp("ids") / "ids.jsonl"
    path.write_text("".join(f'{{"id": "d{n}", "text": "document {n} of many, each one with a short text"}}\n'
                            for n in range(3000)))
    return path


def test_a_full_temporary_folder_under_the_id_registry_stops_with_what_to_do(many_ids, tmp_path):
    # --workers 1 keeps the document ids' registry in the system's temporary folder, which
    # the user never named: filling it ended the run with a traceback.
    out = tmp_path / "out"
    with _tmpfs(tmp_path / "tmp", "8k") as tmp:
        stopped = _run("dedup", many_ids, "-o", out, "-q", "--workers", "1", env={**os.environ, "TMPDIR": str(tmp)})
    assert stopped.stderr == (f"Error: cannot write the document ids' scratch file in the temporary folder {tmp}: No "
                              "space left on device; set TMPDIR to a folder with room; finished chunks are kept in "
                              f"{out}/.partial/ and no final file was written. Fix the cause, then run the same "
                              "command with --resume to continue where it stopped.\n")
    assert stopped.returncode == 1
    assert not (out / ".curate.lock").exists()
    resumed = _here("dedup", many_ids, "-o", out, "-q", "--workers", "1", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    whole = tmp_path / "whole"
    assert _here("dedup", many_ids, "-o", whole, "-q").returncode == 0
    assert _outputs(out) == _outputs(whole)


def test_a_full_disk_under_the_id_registry_on_ray_stops_with_the_overwrite_hint(many_ids, small_disk, ray_cluster):
    # The Ray driver checks the ids its actors read in a registry beside the output, and a
    # full disk there ended the run with a traceback; a stop on Ray says to start again.
    joined, cluster_env = ray_cluster
    out = small_disk / "out"
    # Full at the ids (their 24 kB are checked before any chunk is written), past run.json.
    subprocess.run(["mount", "-o", "remount,size=16k", str(small_disk)], check=True)
    stopped = _run("dedup", many_ids, "-o", out, "-q", *joined, env=cluster_env)
    assert stopped.stderr == (f"Error: cannot write {out}/.partial/ids: No space left on device; no final file was "
                              "written. A run on --engine ray cannot be resumed: fix the cause, then run the same "
                              "command with --overwrite to start again.\n")
    assert stopped.returncode == 1
    assert not (out / ".curate.lock").exists()
