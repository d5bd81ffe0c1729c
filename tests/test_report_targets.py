"""`curate report -o FILE` and `curate clusters -o FILE` never write among a run's own
files: not over a corpus shard, summary.json or removed.jsonl, not into corpus/ or
index/, whatever links or `..` the path takes; and neither reads a folder a run is
writing. Driven through the CLI on real output folders; a refused command leaves every
byte of the folder as it was."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import SEEDS, SEEDS_GOLD, invoke, output_files

from curate.outdir import OutputLock

COMMANDS = ("report", "clusters")
DEFAULT = {"report": "report.html", "clusters": "clusters.jsonl"}
OUTSIDE = "give -o a file outside the output folder, or leave out -o to write"


@pytest.fixture(scope="module")
def seeds_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("seeds") / "out"
    result = invoke("run", SEEDS, "-o", out, "--quiet", "--save-index")
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def out(seeds_out, tmp_path) -> Path:
    """A copy of the seeds' run for one test to point at (and, if refused, to leave alone)."""
    return Path(shutil.copytree(seeds_out, tmp_path / "out", symlinks=True))


def _needs(command: str) -> None:
    if command == "report":
        pytest.importorskip("matplotlib", reason="curate report needs the report extra")


def _refused(command: str, out: Path, target: str | Path, *options: str) -> str:
    """The error of a refused command, checked for status 2 and an untouched folder."""
    before = output_files(out)
    result = invoke(command, out, "-o", target, *options)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert output_files(out) == before
    assert not list(out.rglob("*.tmp"))
    return result.output.splitlines()[-1]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", ["summary.json", "removed.jsonl", "quarantine.jsonl", "README.md"])
def test_a_file_of_the_run_is_refused_even_with_overwrite(command, name, out):
    _needs(command)
    line = _refused(command, out, out / name, "--overwrite")
    assert line == (f"Error: {out / name}: is curate's own {name} in the output folder {out.resolve()}; "
                    f"{OUTSIDE} {out / DEFAULT[command]}")


@pytest.mark.parametrize("command", COMMANDS)
def test_nothing_is_written_into_corpus_or_index(command, out):
    _needs(command)
    shard = next((out / "corpus").iterdir())
    for target, holds in [(shard, "the kept text (corpus shards) and nothing else"),
                          (out / "corpus" / "dups.jsonl", "the kept text (corpus shards) and nothing else"),
                          (next((out / "index").iterdir()), "the run's saved dedup index")]:
        line = _refused(command, out, target, "--overwrite")
        folder = target.parent.name
        assert line == (f"Error: {target}: lies in {out.resolve() / folder}/, which holds {holds}; {OUTSIDE} "
                        f"{out / DEFAULT[command]}")


@pytest.mark.parametrize("command", COMMANDS)
def test_links_and_dotdot_do_not_get_round_it(command, out, tmp_path):
    _needs(command)
    (tmp_path / "link").symlink_to(out / "corpus")
    assert "lies in" in _refused(command, out, tmp_path / "link" / "x.out")
    assert "is curate's own summary.json" in _refused(command, out, f"{out}/corpus/../summary.json", "--overwrite")
    # A link as the file itself is replaced by the rename, not followed: the shard stays.
    shard = next((out / "corpus").iterdir())
    (tmp_path / "to-shard").symlink_to(shard)
    before = output_files(out)
    result = invoke(command, out, "-o", tmp_path / "to-shard", "--overwrite")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "to-shard").is_symlink() and output_files(out) == before


@pytest.mark.parametrize("command", COMMANDS)
def test_other_names_in_the_folder_and_other_runs_are_refused(command, out, seeds_out, tmp_path):
    _needs(command)
    assert "would add a file the run did not write to its output folder" in _refused(command, out, out / "mine.txt")
    other = "clusters" if command == "report" else "report"
    assert f"is curate's own {DEFAULT[other]}" in _refused(command, out, out / DEFAULT[other])
    another = Path(shutil.copytree(seeds_out, tmp_path / "another"))
    assert f"lies in another run's output folder ({another.resolve()})" in _refused(
        command, out, another / DEFAULT[command])


@pytest.mark.parametrize("command", COMMANDS)
def test_the_default_file_and_a_file_elsewhere_are_still_written(command, out, tmp_path):
    _needs(command)
    assert invoke(command, out).exit_code == 0
    assert (out / DEFAULT[command]).exists()
    assert invoke(command, out, "-o", out / DEFAULT[command], "--overwrite").exit_code == 0
    assert invoke(command, out, "-o", tmp_path / "elsewhere.out").exit_code == 0


@pytest.mark.parametrize("command", [*COMMANDS, "score"])
def test_a_folder_a_run_is_writing_is_not_read(command, out, tmp_path):
    _needs(command)
    lock = OutputLock(out)  # what a run holds from its start to its end (curate.write)
    lock.acquire()
    try:
        args = [SEEDS_GOLD] if command == "score" else ["-o", tmp_path / "r.out"]
        result = invoke(command, out, *args)
    finally:
        lock.release()
    assert result.exit_code == (2 if command == "score" else 1)  # score's 1 says snippets missed
    assert result.output.splitlines()[-1] == (f"Error: {out}: a curate run is writing this folder (pid "
                                              f"{os.getpid()}); wait for it to end, then read the folder")
    assert not (tmp_path / "r.out").exists()



@pytest.mark.parametrize("command", COMMANDS)
def test_a_target_that_cannot_be_written_is_one_line(command, out):
    """/proc takes no new file, whoever runs the tests (a read-only folder would not stop root)."""
    _needs(command)
    result = invoke(command, out, "-o", "/proc/curate-report.out")
    assert result.exit_code == 1
    assert result.output == ("Error: /proc/curate-report.out: cannot write it (No such file or directory); choose "
                             "another file with -o FILE, or fix the permissions of its folder (/proc)\n")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_tmp_file_of_the_user_beside_the_target_is_left_alone(command, out, tmp_path):
    """The file is written under a temporary name of its own: NAME.tmp, the user's, was
    truncated and then deleted."""
    _needs(command)
    (tmp_path / "r.out.tmp").write_text("precious")
    before = sorted(p.name for p in tmp_path.iterdir())
    assert invoke(command, out, "-o", tmp_path / "r.out").exit_code == 0
    assert (tmp_path / "r.out.tmp").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "r.out"])


def test_what_a_killed_report_left_in_the_folder_does_not_stop_overwrite(out):
    """The temporary file of a report killed while writing it is curate's: `run
    --overwrite` removes it, where it refused the folder as holding files curate did not
    write."""
    (out / ".report.html.0123abcd.tmp").write_text("<html>half")
    result = invoke("run", SEEDS, "-o", out, "--quiet", "--overwrite")
    assert result.exit_code == 0, result.output
    assert not (out / ".report.html.0123abcd.tmp").exists()
