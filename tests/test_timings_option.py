"""`--timings FILE` of `curate run` and `curate dedup`: FILE is checked before the run,
kept out of every output folder (as --help says), never written over a file that holds no
earlier timings (another run's summary.json was replaced, and then scored and reported on
as a summary), and a FILE that cannot be written is one line, not a traceback after the
whole run. And `score` and `report` refuse a summary.json that is not a curate run's."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import SEEDS, SEEDS_GOLD, invoke, output_files

KEEP_OUT = ("the timings are kept out of the output folder, whose files are byte-identical between runs; give "
            "--timings a FILE outside it")


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("timings") / "out"
    result = invoke("dedup", SEEDS, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    return out


def _refused(tmp_path: Path, timings: Path | str, command: str = "dedup") -> str:
    """The error line of a run refused for its --timings FILE, which wrote no output."""
    result = invoke(command, SEEDS, "-o", tmp_path / "new", "-q", "--timings", timings)
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "new").exists()
    return result.output.splitlines()[-1]


@pytest.mark.parametrize("command", ["run", "dedup"])
def test_a_file_in_the_output_folder_is_refused_before_the_run(command, tmp_path):
    """--help says the file is kept out of the output folder; it was written there, and the
    next run into the folder with --overwrite refused it as holding files curate did not write."""
    assert _refused(tmp_path, tmp_path / "new" / "t.json", command) == (
        f"Error: --timings {tmp_path / 'new' / 't.json'}: lies in the output folder {tmp_path / 'new'}; {KEEP_OUT}")


def test_another_runs_summary_is_not_replaced(finished, tmp_path):
    before = output_files(finished)
    line = _refused(tmp_path, finished / "summary.json")
    assert line == (f"Error: --timings {finished / 'summary.json'}: lies in another run's output folder "
                    f"({finished.resolve()}); {KEEP_OUT}")
    assert output_files(finished) == before


def test_a_file_that_holds_no_timings_is_not_replaced(finished, tmp_path):
    copy = Path(shutil.copy(finished / "summary.json", tmp_path / "summary-copy.json"))
    assert _refused(tmp_path, copy) == f"Error: --timings {copy}: is a curate run's summary.json; give another FILE"
    notes = tmp_path / "notes.json"
    notes.write_text('{"mine": true}\n')
    assert _refused(tmp_path, notes) == (f"Error: --timings {notes}: exists and holds no timings of an earlier run, "
                                         "which alone --timings replaces; give another FILE, or remove it first")
    assert notes.read_text() == '{"mine": true}\n'
    assert copy.read_bytes() == (finished / "summary.json").read_bytes()


def test_an_earlier_runs_timings_are_replaced(tmp_path):
    timings = tmp_path / "t.json"
    for out in ("a", "b"):
        result = invoke("dedup", SEEDS, "-o", tmp_path / out, "-q", "--timings", timings)
        assert result.exit_code == 0, result.output
        assert "wall" in json.loads(timings.read_text())["seconds"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "t.json"]


def test_a_missing_folder_is_refused_before_the_run(tmp_path):
    """It was a traceback after the whole run."""
    assert _refused(tmp_path, tmp_path / "nodir" / "t.json") == (
        f"Error: --timings {tmp_path / 'nodir' / 't.json'}: {tmp_path / 'nodir'}: no such folder; create it, or "
        "give --timings a FILE in a folder that exists")
    (tmp_path / "afile").write_text("mine\n")
    assert _refused(tmp_path, tmp_path / "afile" / "t.json") == (
        f"Error: --timings {tmp_path / 'afile' / 't.json'}: {tmp_path / 'afile'}: is a file, not a folder; give "
        "--timings a FILE in a folder that exists")


def test_a_file_that_cannot_be_written_is_one_line(tmp_path):
    """/proc takes no new file (and root may write any folder, so this one is only found
    at the end): the line says the run's output is there all the same."""
    result = invoke("dedup", SEEDS, "-o", tmp_path / "new", "-q", "--timings", "/proc/curate-timings.json")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        "Error: /proc/curate-timings.json: cannot write it (No such file or directory); choose another file with "
        f"--timings FILE, or fix the permissions of its folder (/proc); the run itself finished, its output is in "
        f"{tmp_path / 'new'}/")
    assert (tmp_path / "new" / "summary.json").is_file()


@pytest.mark.parametrize(("command", "status"), [("score", 2), ("report", 1), ("clusters", 1)])
def test_a_summary_that_is_not_a_curate_runs_is_refused(command, status, finished, tmp_path):
    """A timings file over summary.json (what --timings once wrote) was scored as a run."""
    if command == "report":
        pytest.importorskip("matplotlib", reason="curate report needs the report extra")
    out = Path(shutil.copytree(finished, tmp_path / "out"))
    (out / "summary.json").write_text(json.dumps({"seconds": {"wall": 1.0}, "input_bytes": 10, "index": {},
                                                  "workers": 1, "engine": "local"}))
    result = invoke(command, out, SEEDS_GOLD) if command == "score" else invoke(command, out, "-o", tmp_path / "x")
    assert result.exit_code == status, result.output
    assert result.output.splitlines()[-1] == (
        f"Error: {out / 'summary.json'}: not a curate run's summary (it holds no curate settings); give the output "
        "folder of a finished `curate run`, or make one: run into another folder (-o DIR), or move this "
        "summary.json away and run into this folder again (with --overwrite if it holds the rest of a run)")


def test_a_timings_file_met_in_a_walk_is_skipped_not_read_back(tmp_path):
    """`curate run . --timings timings.json` twice: the second run read the first run's
    timings back as a document (a JSON document of 25 lines, quarantined), and --strict
    exited 3. Now a walk skips it, said as its own output folder is, which --strict
    passes; named on the command line, it is read."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.jsonl").write_text('{"id": "a", "text": "The harbour authority said on Monday that the new '
                                  'terminal would open in the spring."}\n')
    (data / "notes.json").write_text('{"text": "Notes on the timing of the ferries, taken on the pier.", '
                                     '"seconds": {"wall": 1.0}, "input_bytes": 5}\n')  # no timings: read
    first = invoke("run", ".", "-q", "--timings", "timings.json", cwd=data)
    assert first.exit_code == 0, first.output
    assert "wall" in json.loads((data / "timings.json").read_text())["seconds"]
    second = invoke("run", ".", "-q", "--timings", "timings.json", "--strict", "-o", "second", cwd=data)
    assert second.exit_code == 0, second.output
    summary = json.loads((data / "second" / "summary.json").read_text())
    assert [(p["source"], p["problem"], p["action"]) for p in summary["problems"]
            if p["source"] == "timings.json"] == [
        ("timings.json", "timings file of a curate run skipped",
         "not read: the seconds an earlier `curate run --timings` took, no text; to read it anyway, name it as "
         "an input")]
    assert summary["lines"] == json.loads((data / "output" / "summary.json").read_text())["lines"]
    assert summary["files"] == 2  # a.jsonl, notes.json
    named = invoke("run", data / "timings.json", "-q", "-o", tmp_path / "named", "--no-builtin-rules")
    assert named.exit_code == 0, named.output
    assert json.loads((tmp_path / "named" / "summary.json").read_text())["files"] == 1


def test_timings_are_told_by_their_shape():
    from curate.timings import holds_timings

    written = json.dumps({"seconds": {"wall": 1.0}, "input_bytes": 3, "index": {}, "workers": 1, "engine": "local"},
                         indent=2, sort_keys=True).encode()
    assert holds_timings(written)
    for data in (b'{"seconds": {}}', b"[]", b"{", b'{"seconds": {}, "input_bytes": 1, "x": 2}'):
        assert not holds_timings(data)
