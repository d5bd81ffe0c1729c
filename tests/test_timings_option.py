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
        "folder of a finished `curate run`, or run it again into this folder")
