"""A command started with a standard stream closed (`2>&-`, a cron job's or a service's
leftovers) runs as with it sent to /dev/null: Python leaves such a stream None, and the
run died at its first look at stderr, with no word, as its words go there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SEEDS, in_process, output_files

CURATE = Path(sys.executable).parent / "curate"


@pytest.mark.parametrize("closed", ["2>&-", "<&- >&- 2>&-"])
def test_a_run_with_closed_standard_streams_writes_what_a_run_with_them_writes(tmp_path: Path, closed: str) -> None:
    reference = in_process("run", SEEDS, "-o", tmp_path / "reference", "-q")
    assert reference.returncode == 0, reference.stderr
    out = tmp_path / "closed"
    # bash closes the descriptors itself; subprocess can only point them at something
    done = subprocess.run(["bash", "-c", f'"$0" run "$1" -o "$2" {closed}', CURATE, SEEDS, out], timeout=300)
    assert done.returncode == 0
    assert output_files(out) == output_files(tmp_path / "reference")


def test_a_file_opened_while_stderr_is_closed_never_takes_its_descriptor(tmp_path: Path) -> None:
    """With descriptor 2 free, the first file the run opened took it: what a library wrote
    to stderr would have gone into that file. Here, a child of the run writing to its
    descriptor 2 writes to /dev/null, and every output file is what it should be."""
    script = ("import os, sys; from curate.__main__ import _open_closed_standard_streams as f; f(); "
              "handle = open(sys.argv[1], 'w'); os.write(2, b'library noise'); handle.write('data'); handle.close()")
    target = tmp_path / "file.txt"
    done = subprocess.run(["bash", "-c", '"$0" -c "$1" "$2" 2>&-', sys.executable, script, target], timeout=60)
    assert done.returncode == 0
    assert target.read_text() == "data"
