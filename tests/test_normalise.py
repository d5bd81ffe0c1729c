from __future__ import annotations

import pytest

from curate.stages.normalise import normalise_text

pytestmark = pytest.mark.unit


def test_mojibake_is_repaired():
    assert normalise_text("CafÃ© au lait") == "Café au lait"


def test_spaces_and_controls():
    assert normalise_text("\u00a0 two\u00a0\u00a0spaces\tand\u3000more \x07bell\x00 ") == "two spaces and more bell"
    assert normalise_text("zero\u200bwidth soft\u00adhyphen") == "zerowidth softhyphen"


def test_html_entities_in_ascii_lines():
    assert normalise_text("Fish &amp; chips") == "Fish & chips"


def test_typographic_quotes_and_full_width_forms_are_kept():
    assert normalise_text("“Quoted” — ＣＪＫ，标点") == "“Quoted” — ＣＪＫ，标点"


def test_ftfy_gate_changes_nothing_on_real_lines():
    """Lines the gate lets past ftfy come out exactly as if ftfy had seen them."""
    import ftfy
    from conftest import NOISE_DEV, SEEDS

    from curate.stages import normalise as n

    def always_ftfy(raw: str) -> str:
        text = n._SPACES.sub(" ", ftfy.fix_text(raw, n.FIXER))
        text = n._strip_controls(n._INVISIBLE.sub("", text))
        return text.strip()

    lines = [line for path in sorted(SEEDS.glob("*.txt")) + sorted(NOISE_DEV.glob("*.txt"))[::3]
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    lines += ["CafÃ© crÃ¨me", "â€œquotedâ€\x9d", "ﬁne ﬂour", "Fish &amp; chips", "broken \ufffd char", "\x93smart\x94"]
    assert len(lines) > 10_000
    assert [normalise_text(line) for line in lines] == [always_ftfy(line) for line in lines]


def test_space_runs_collapse_exactly_as_the_plain_pattern_does():
    """_SPACES skips runs that are one " " already; the result must equal replacing every
    run of spacing characters, whatever the mix."""
    import re

    from hypothesis import given
    from hypothesis import strategies as st

    from curate.stages.normalise import _SPACES, _SPACING

    every_run = re.compile(_SPACING + "+")

    pieces = st.sampled_from([" ", "  ", "\t", "\u00a0", "\u180e", "\u2028", "a", "é", "\u3000", "\x1c", "\x85", "\r"])

    @given(st.lists(pieces, max_size=14).map("".join))
    def check(text):
        assert _SPACES.sub(" ", text) == every_run.sub(" ", text)

    check()
