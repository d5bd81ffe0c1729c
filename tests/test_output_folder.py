"""The output folder: never replaced or continued unless asked (--overwrite, --resume),
never written by two runs at once, never a folder of someone else's files."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, file_size_limit, invoke, output_files

from curate.errors import UsageError

FILES = ("README.md", "corpus", "removed.jsonl", "quarantine.jsonl", "summary.json")


def _outputs(out: Path) -> dict[str, bytes]:
    return output_files(out)


def _clean(out: Path, *args: str) -> None:
    result = invoke("run", SEEDS, "-o", out, "-q", *args)
    assert result.exit_code == 0, result.output


def _curate(*args) -> list[str]:
    return [str(Path(sys.executable).parent / "curate"), *map(str, args)]


def stopped_at_commit(out: Path, *args) -> subprocess.CompletedProcess:
    """A real run of the seeds, one document per chunk, that stops in its final commit:
    joining the chunks makes removed.jsonl bigger than the file-size limit allows."""
    proc = subprocess.run(_curate("run", SEEDS, "-o", out, "-q", "--chunk-docs", "1", *args), cwd=ROOT / "tests",
                          capture_output=True, text=True, timeout=120, preexec_fn=file_size_limit(16_000),
                          check=False)
    assert proc.returncode == 1, proc.stderr
    assert f"Error: cannot write {out}/.partial/000000.removed.jsonl: File too large; finished chunks are kept" \
        in proc.stderr
    assert "--resume" in proc.stderr and "Traceback" not in proc.stderr
    assert (out / ".partial").is_dir() and not (out / "summary.json").exists()
    return proc


def test_a_finished_run_is_not_overwritten_without_overwrite(tmp_path):
    out = tmp_path / "out"
    _clean(out)
    before = _outputs(out)
    again = invoke("run", SEEDS, "-o", out, "-q")
    assert again.exit_code == 1
    assert f"Error: {out}: the folder holds a finished run (summary.json); use --overwrite to replace it" \
        in again.output
    assert _outputs(out) == before
    replaced = invoke("run", SEEDS, "-o", out, "-q", "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert _outputs(out) == before
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)


def test_overwrite_replaces_a_finished_run_with_other_settings(tmp_path):
    out = tmp_path / "out"
    _clean(out)
    assert invoke("dedup", SEEDS, "-o", out, "-q", "--overwrite").exit_code == 0
    reference = tmp_path / "reference"
    assert invoke("dedup", SEEDS, "-o", reference, "-q").exit_code == 0
    assert _outputs(out) == _outputs(reference)


def test_resume_of_a_finished_run_is_refused(tmp_path):
    out = tmp_path / "out"
    _clean(out)
    result = invoke("run", SEEDS, "-o", out, "-q", "--resume")
    assert result.exit_code == 1
    assert f"{out}: --resume found a finished run (summary.json) to continue there; use --overwrite" in result.output


def test_an_unfinished_run_is_neither_lost_nor_redone_without_a_flag(tmp_path):
    out = tmp_path / "out"
    stopped_at_commit(out)
    kept = sorted(p.name for p in (out / ".partial").iterdir())
    result = invoke("run", SEEDS, "-o", out, "-q", "--chunk-docs", "1")
    assert result.exit_code == 1
    assert (f"{out}: the folder holds an unfinished run (.partial/); use --resume to continue it, or --overwrite "
            "to discard it and start again") in result.output
    assert sorted(p.name for p in (out / ".partial").iterdir()) == kept
    reference = tmp_path / "reference"
    _clean(reference, "--chunk-docs", "1")  # the same shards
    assert invoke("run", SEEDS, "-o", out, "-q", "--chunk-docs", "1", "--resume").exit_code == 0
    assert _outputs(out) == _outputs(reference)


def test_overwrite_discards_an_unfinished_run(tmp_path):
    out = tmp_path / "out"
    stopped_at_commit(out)
    result = invoke("run", SEEDS, "-o", out, "-q", "--overwrite")
    assert result.exit_code == 0, result.output
    reference = tmp_path / "reference"
    _clean(reference)
    assert _outputs(out) == _outputs(reference)
    assert not (out / ".partial").exists()


def test_a_folder_of_other_files_is_refused_even_with_overwrite(tmp_path):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "todo.txt").write_text("my own notes\n")
    (out / "corpus.jsonl").write_text('{"text": "mine"}\n')
    for flag in ((), ("--overwrite",), ("--resume",)):
        result = invoke("run", SEEDS, "-o", out, "-q", *flag)
        assert result.exit_code == 1
        assert f"{out}: the folder holds files curate did not write (todo.txt)" in result.output
        assert "choose another folder with -o DIR" in result.output
        assert sorted(p.name for p in out.iterdir()) == ["corpus.jsonl", "todo.txt"]
        assert (out / "corpus.jsonl").read_text() == '{"text": "mine"}\n'


@pytest.mark.parametrize("made", ["summary", "corpus-file", "index-file", "audit", "corpus-not-folder"])
def test_a_folder_with_curates_names_but_not_its_files_is_refused_even_with_overwrite(tmp_path, made):
    """--overwrite deletes corpus/, index/, summary.json and the audit files: a user's own
    files under those names must not be taken for curate's (the names alone were)."""
    out = tmp_path / "mine"
    out.mkdir()
    expected = {
        "summary": ("summary.json", '{"f1": 0.9}\n', "summary.json (not a curate run's)"),
        "corpus-file": ("corpus/notes.txt", "my notes\n", "corpus/notes.txt"),
        "index-file": ("index/keys.txt", "my keys\n", "index/keys.txt"),
        "audit": ("removed.jsonl", '{"doc": "mine"}\n', "removed.jsonl (not curate's)"),
        "corpus-not-folder": ("corpus", "a file named corpus\n", "corpus (not a folder)"),
    }
    name, content, listed = expected[made]
    (out / name).parent.mkdir(parents=True, exist_ok=True)
    (out / name).write_text(content)
    before = output_files(out)
    for flag in ((), ("--overwrite",), ("--resume",)):
        result = invoke("run", SEEDS, "-o", out, "-q", *flag)
        assert result.exit_code == 1, result.output
        assert f"{out}: the folder holds files curate did not write ({listed})" in result.output
        assert "--overwrite" not in result.output, "the message must not advise what would delete them"
        assert output_files(out) == before


def test_overwrite_still_replaces_a_run_with_an_index_and_an_empty_audit(tmp_path):
    out = tmp_path / "out"
    _clean(out, "--save-index")
    assert (out / "index" / "index.json").is_file() and (out / "quarantine.jsonl").stat().st_size == 0
    _clean(out, "--overwrite")
    assert not (out / "index").exists()


def test_part_of_an_output_without_its_summary_needs_overwrite(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "corpus.jsonl").write_text("")
    result = invoke("run", SEEDS, "-o", out, "-q")
    assert result.exit_code == 1
    assert f"{out}: the folder holds part of an output (corpus.jsonl) but no summary.json; use --overwrite" \
        in result.output
    assert invoke("run", SEEDS, "-o", out, "-q", "--overwrite").exit_code == 0
    assert (out / "summary.json").exists()


def test_resume_and_overwrite_together_are_refused(tmp_path):
    result = invoke("run", SEEDS, "-o", tmp_path / "out", "--resume", "--overwrite")
    assert result.exit_code == 2  # a usage error
    assert "give one of them" in result.output
    assert not (tmp_path / "out").exists()


def test_an_empty_folder_and_a_stale_lock_file_are_fine(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".curate.lock").write_text("999999\n")  # left by a killed run: no process holds the lock
    _clean(out)
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)


def test_a_second_run_into_the_same_folder_is_refused_at_once(tmp_path):
    out = tmp_path / "out"
    reference = tmp_path / "reference"
    _clean(reference)
    for _attempt in range(3):  # on a loaded machine the first run may finish before it is paused
        if out.exists():
            shutil.rmtree(out)
        first = subprocess.Popen(_curate("run", SEEDS, "-o", out, "-q"), cwd=ROOT / "tests",
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lock = out / ".curate.lock"
        deadline = time.time() + 60
        while first.poll() is None and time.time() < deadline:
            if lock.exists() and lock.read_text().strip() == str(first.pid):
                break
            time.sleep(0.005)
        first.send_signal(signal.SIGSTOP)  # hold it mid-run, lock taken
        if first.poll() is None and lock.exists():
            break
        first.send_signal(signal.SIGCONT)
        first.communicate(timeout=60)
    try:
        started = time.time()
        second = subprocess.run(_curate("run", SEEDS, "-o", out, "-q", "--overwrite"), cwd=ROOT / "tests",
                                capture_output=True, text=True, timeout=60, check=False)
        assert time.time() - started < 30  # refused at once: it does not wait for the lock
        assert second.returncode == 1
        assert (f"Error: {out}: another curate run is writing this folder (pid {first.pid}); wait for it to end, "
                "or choose another folder with -o DIR") in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGCONT)
    _, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert _outputs(out) == _outputs(reference)
    assert not (out / ".curate.lock").exists()
    assert os.listdir(out) and sorted(os.listdir(out)) == sorted(FILES)


def test_a_run_stopped_on_an_engine_without_checkpoints_is_not_resumed(tmp_path):
    # A Ray run's chunks carry no dedup journal: continued by the local engine, the index
    # would lack every paragraph they kept, and their copies later in the input would stay.
    from curate.write import OutputWriter

    out = tmp_path / "out"
    OutputWriter(out, "fp", resumable=False).interrupt()
    kept = sorted(p.name for p in (out / ".partial").iterdir())
    with pytest.raises(UsageError, match=r"ran on an engine that keeps no checkpoints \(--engine ray\), so it "
                                         r"cannot be resumed; use --overwrite"):
        OutputWriter(out, "fp", resume=True)
    with pytest.raises(UsageError, match=r"unfinished run \(.partial/\) of an engine that keeps no checkpoints "
                                         r"\(--engine ray\); use --overwrite to discard it"):
        OutputWriter(out, "fp")  # not offered --resume, which cannot work
    assert sorted(p.name for p in (out / ".partial").iterdir()) == kept  # nothing discarded
    OutputWriter(out, "fp", overwrite=True).interrupt()  # what the messages say works
    OutputWriter(out, "fp", resume=True).interrupt()  # and a local run's folder resumes
