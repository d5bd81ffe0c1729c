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


def test_every_detector_parameter_is_in_its_readme_row_with_its_default():
    """The Detectors table named article-region's parameters but not its listing_* ones,
    nor repeated-line's prose word counts: each dataclass field of a detector is a
    parameter a rule may set, so its row must name it, and with its default where the row
    gives one right after the name (`cap` (60))."""
    import dataclasses
    import re

    from curate.detectors import DETECTORS

    rows = {}
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        found = re.match(r"\| `([a-z-]+)` \| .* \| (.*) \|$", line)
        if found and found[1] in DETECTORS:
            rows[found[1]] = found[2]
    assert set(rows) == set(DETECTORS)
    for name, cls in DETECTORS.items():
        for field in dataclasses.fields(cls):
            assert f"`{field.name}`" in rows[name], f"README's {name} row does not name {field.name}"
            given = re.search(rf"`{field.name}` \(([^)]*)\)", rows[name])
            if given and not isinstance(field.default, str) and not field.metadata.get("fitted"):
                default = field.default
                shown = str(default).lower() if isinstance(default, bool) else f"{default:g}"
                assert given[1] == shown, f"README gives {name}.{field.name} the default {given[1]}, not {shown}"
