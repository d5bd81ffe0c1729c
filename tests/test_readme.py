"""The README's first screen holds the two commands, and CI runs the test one verbatim."""

from __future__ import annotations

import pytest
from conftest import ROOT

pytestmark = pytest.mark.unit

RUN = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/curate run seeds/"
TEST = "python3 -m venv .venv && .venv/bin/pip install -e '.[test,ray,lint,report]' && .venv/bin/python tests/tiers.py"


def test_readme_first_screen_has_both_commands():
    first_screen = "\n".join((ROOT / "README.md").read_text().splitlines()[:20])
    assert RUN in first_screen and TEST in first_screen


def test_ci_runs_the_readme_test_command():
    assert TEST in (ROOT / ".ci" / "run").read_text().splitlines()
