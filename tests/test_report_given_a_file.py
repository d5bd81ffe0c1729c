"""curate report and curate clusters given a file where the output folder goes say it is a
file (they said "no such folder" of a file that is there)."""

from __future__ import annotations

import pytest
from conftest import SEEDS, run_process


@pytest.mark.parametrize("command", ["report", "clusters"])
def test_a_file_given_as_the_output_folder_is_said_to_be_a_file(command):
    page = sorted(SEEDS.glob("*.txt"))[0]
    result = run_process(command, page)
    assert result.returncode == 1
    assert (f"Error: {page}: a file, not an output folder; give the output folder of a finished `curate run` "
            "(the folder given to -o, which holds summary.json)") in result.stderr
    assert "Traceback" not in result.stderr
