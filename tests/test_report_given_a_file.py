"""curate report and curate clusters given a file where the output folder goes say it is a
file (they said "no such folder" of a file that is there)."""

from __future__ import annotations

import pytest
from conftest import SEEDS, invoke, run_process


@pytest.mark.parametrize("command", ["report", "clusters"])
def test_a_file_given_as_the_output_folder_is_said_to_be_a_file(command):
    page = sorted(SEEDS.glob("*.txt"))[0]
    result = run_process(command, page)
    assert result.returncode == 1
    assert (f"Error: {page}: a file, not an output folder; give the output folder of a finished `curate run` "
            "(the folder given to -o, which holds summary.json)") in result.stderr
    assert "Traceback" not in result.stderr


ADVICE = ("give the output folder of a finished `curate run`, or make one: run into another folder (-o DIR), or "
          "move this summary.json away and run into this folder again (with --overwrite if it holds the rest of "
          "a run)")


@pytest.mark.parametrize(("content", "problem"), [
    ('{"seconds": {"wall": 1.0}}', "not a curate run's summary (it holds no curate settings)"),
    ("[1, 2]", "not a curate summary (a JSON object)"),
    ("{oops", "unreadable (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"),
])
@pytest.mark.parametrize("rest_of_a_run", [False, True], ids=["alone", "in-a-run"])
def test_a_summary_that_is_not_a_runs_gets_advice_that_works(tmp_path, content, problem, rest_of_a_run):
    """The advice was "run it again into this folder", which `curate run -o` refuses for such
    a folder, --overwrite or not (the summary.json may be another tool's). Each way it now
    advises is followed here, and leads to a folder the command reads."""
    page = sorted(SEEDS.glob("*.txt"))[0]
    out = tmp_path / "out"
    if rest_of_a_run:
        assert invoke("run", page, "-o", out, "-q").exit_code == 0
    else:
        out.mkdir()
    (out / "summary.json").write_text(content)
    result = invoke("clusters", out, "-o", tmp_path / "c.jsonl")
    assert result.exit_code == 1
    assert result.output == f"Error: {out / 'summary.json'}: {problem}; {ADVICE}\n"
    again = invoke("run", page, "-o", out, "-q", "--overwrite")
    assert again.exit_code == 1 and "curate did not write (summary.json (not a curate run's))" in again.output
    # Another folder.
    assert invoke("run", page, "-o", tmp_path / "other", "-q").exit_code == 0
    assert invoke("clusters", tmp_path / "other", "-o", tmp_path / "c1.jsonl").exit_code == 0
    # This folder, its summary.json moved away.
    (out / "summary.json").rename(tmp_path / "moved.json")
    rerun = invoke("run", page, "-o", out, "-q", *(["--overwrite"] if rest_of_a_run else []))
    assert rerun.exit_code == 0, rerun.output
    assert invoke("clusters", out, "-o", tmp_path / "c2.jsonl").exit_code == 0
