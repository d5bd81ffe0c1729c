"""What is made in or around an output folder while a run writes it, or after its commit
stopped: a run inside another's folder, an entry made under an output's name, a committed
output deleted before --resume, a reader overtaken by an --overwrite, -o that names no
folder. Each is refused or stops the run, named; nothing is replaced or lost silently."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from conftest import SEEDS, invoke, output_files, read_corpus

import curate.write
from curate.outdir import OutputLock
from curate.report.folder import OutputFolder
from curate.write import OutputWriter


def _run(out: Path, *args: str):
    return invoke("run", SEEDS, "-o", out, "-q", "--chunk-docs", "2", *args)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, bytes]:
    """The seeds' output, from a run that nothing disturbed."""
    out = tmp_path_factory.mktemp("reference") / "out"
    assert _run(out).exit_code == 0
    return output_files(out)


def _during_commit(monkeypatch, action) -> None:
    """``action(out_dir)`` once the run has sealed its output, before its commit moves it
    (the driver seals before the commit does, which then finds it sealed)."""
    seal = OutputWriter.seal
    done = []

    def sealed(self, summary) -> None:
        seal(self, summary)
        if not done:  # once: not again in a run the action starts
            done.append(True)
            action(self.out_dir)

    monkeypatch.setattr(OutputWriter, "seal", sealed)


def test_a_run_into_a_folder_inside_a_running_output_is_refused_and_the_first_run_keeps_its_corpus(
        tmp_path, monkeypatch, reference):
    out = tmp_path / "out"
    inner = []
    _during_commit(monkeypatch, lambda folder: inner.append(invoke("run", SEEDS, "-o", out / "corpus", "-q")))
    first = _run(out)
    assert first.exit_code == 0, first.output
    assert inner[0].exit_code == 1
    assert inner[0].output == (
        f"Error: {out}/corpus: inside {out}, which a curate run is writing (pid {os.getpid()}); a run's commit "
        "moves its output into its folder, and --overwrite deletes it, so an output folder inside another is lost "
        "or mixed into it: choose a folder outside it with -o DIR\n")
    assert output_files(out) == reference


def test_o_inside_a_finished_output_folder_is_refused(tmp_path, reference):
    out = tmp_path / "out"
    assert _run(out).exit_code == 0
    nested = invoke("run", SEEDS, "-o", out / "corpus" / "x", "-q")
    assert nested.exit_code == 1
    assert (f"Error: {out}/corpus/x: inside {out}, a finished curate output folder (it holds summary.json); "
            in nested.output)
    assert not (out / "corpus" / "x").exists()
    assert output_files(out) == reference
    assert _run(out, "--overwrite").exit_code == 0  # still curate's own folder


@pytest.mark.parametrize("name, make", [
    ("corpus", lambda path: path.mkdir()),  # os.replace would have replaced an empty folder
    ("removed.jsonl", lambda path: path.mkdir()),
    ("quarantine.jsonl", lambda path: path.write_text("mine\n")),
    ("summary.json", lambda path: path.write_text("{}\n")),
    # A dataset card of the user's: curate replaces only its own (docs/bad-input.md).
    ("README.md", lambda path: path.write_text("# Harbour corpus\n\nLicence: CC-BY-4.0.\n")),
])
def test_an_entry_made_under_an_output_name_during_the_run_stops_the_commit_named(
        tmp_path, monkeypatch, reference, name, make):
    out = tmp_path / "out"
    _during_commit(monkeypatch, lambda folder: make(folder / name))
    stopped = _run(out)
    assert stopped.exit_code == 1
    assert stopped.output == (
        f"Error: {out}/{name}: made in the output folder while the run was writing it, not by this run; curate "
        f"never replaces what it did not write, so the run stopped before moving its {name} there. Its output is "
        f"kept in {out}/.partial/: move {out}/{name} out of the folder, then run the same command with --resume "
        "to finish the run\n")
    # Nothing moved: the user's entry is as it was, and no output of the run is beside it.
    assert sorted(p.name for p in out.iterdir()) == sorted({".partial", name})
    mine = tmp_path / "mine"
    os.rename(out / name, mine)
    monkeypatch.undo()
    resumed = _run(out, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert output_files(out) == reference


def _stop_at_summary(monkeypatch) -> None:
    """A disk error on the commit's last rename (summary.json into the folder): the folder
    is as a kill there leaves it, the other outputs moved into place."""
    rename = curate.write.rename_new

    def failing(src: Path, dst: Path) -> None:
        if dst.name == "summary.json":
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(dst))
        rename(src, dst)

    monkeypatch.setattr(curate.write, "rename_new", failing)


@pytest.mark.parametrize("deleted", ["corpus", "removed.jsonl", "README.md"])
def test_a_committed_output_deleted_before_resume_is_said_missing(tmp_path, monkeypatch, reference, deleted):
    out = tmp_path / "out"
    _stop_at_summary(monkeypatch)
    assert _run(out).exit_code == 1
    monkeypatch.undo()
    assert (out / deleted).exists() and not (out / "summary.json").exists()
    kept = tmp_path / "kept"
    os.rename(out / deleted, kept)  # "it looks unfinished": the user deletes it
    for _ in range(2):  # and says the same each time, never a misleading "cannot write"
        resumed = _run(out, "--resume")
        assert resumed.exit_code == 1
        assert resumed.output == (
            f"Error: {out}/{deleted}: missing; this run's stopped commit had moved it into the output folder, and "
            "it was deleted or moved away since, so the run cannot be finished: put it back, or run the same "
            "command with --overwrite (not --resume) to run again\n")
        assert not (out / "summary.json").exists()
    os.rename(kept, out / deleted)  # put back: the resume finishes the run
    assert _run(out, "--resume").exit_code == 0
    assert output_files(out) == reference


def test_a_commit_stopped_at_its_last_rename_resumes_to_the_same_bytes(tmp_path, monkeypatch, reference):
    out = tmp_path / "out"
    _stop_at_summary(monkeypatch)
    assert _run(out).exit_code == 1
    monkeypatch.undo()
    assert _run(out, "--resume").exit_code == 0
    assert output_files(out) == reference


def test_a_reader_overtaken_by_an_overwrite_says_so(tmp_path):
    out = tmp_path / "out"
    assert _run(out).exit_code == 0
    folder = OutputFolder(out)
    docs = folder.corpus()
    next(docs)  # reading the first shard
    assert _run(out, "--overwrite", "--chunk-docs", "3").exit_code == 0  # its shards are others now
    with pytest.raises(Exception, match=f"^{out}: a curate run started replacing this folder while it was read, "
                                        "so what was read is no one run's output; wait for the run to end"):
        list(docs)
    # Opened after that run, the folder reads whole.
    assert len(list(OutputFolder(out).corpus())) == len(read_corpus(out))


def test_rules_suggest_does_not_read_a_folder_a_run_is_writing(tmp_path):
    out = tmp_path / "out"
    assert _run(out).exit_code == 0
    lock = OutputLock(out)  # what a run holds from its start to its end
    lock.acquire()
    try:
        result = invoke("rules", "suggest", out, "-o", tmp_path / "s.toml")
    finally:
        lock.release()
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (f"Error: {out}: a curate run is writing this folder (pid "
                                              f"{os.getpid()}); wait for it to end, then read the folder")
    assert not (tmp_path / "s.toml").exists()


def test_an_empty_o_is_refused_and_nothing_is_written(tmp_path):
    result = invoke("run", SEEDS, "-o", "", "-q", cwd=tmp_path)
    assert result.exit_code == 2
    assert "Invalid value for '-o' / '--output': an empty path; give the output folder" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind, said", [
    ("file", "{o}: a file, not a folder; -o names the output folder (curate makes it if it does not exist): give "
             "another path"),
    ("dangling", "{o}: a symlink to /nonexistent/place, which does not exist; create that folder, point the symlink "
                 "at a folder, or give -o another folder"),
    ("loop", "{o}: a symlink loop (following it leads back to it, 'o'), not a folder; give -o a folder, or point "
             "the symlink at one"),
])
def test_o_that_is_no_folder_says_what_it_is(tmp_path, kind, said):
    o = tmp_path / "o"
    if kind == "file":
        o.write_text("notes\n")
    elif kind == "dangling":
        o.symlink_to("/nonexistent/place")
    else:
        o.symlink_to("o")
    result = invoke("run", SEEDS, "-o", o, "-q")
    assert result.exit_code == 1
    assert result.output == f"Error: {said.format(o=o)}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]
