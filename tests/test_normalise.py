from __future__ import annotations

import re

import pytest

from curate.stages.normalise import normalise_text

pytestmark = pytest.mark.unit


def test_mojibake_is_repaired():
    assert normalise_text("CafÃ© au lait") == "Café au lait"


def test_spaces_and_controls():
    assert normalise_text("\u00a0 two\u00a0\u00a0spaces\tand\u3000more \x07bell\x00 ") == "two spaces and more bell"
    assert normalise_text("zero\u200bwidth soft\u00adhyphen") == "zerowidth softhyphen"
    # Neither an invisible character nor a control between two spaces leaves them both.
    assert normalise_text("a \u200b b \x07 c\t\u200b\td") == "a b c d"


def test_html_entities_in_ascii_lines():
    assert normalise_text("Fish &amp; chips") == "Fish & chips"


def test_typographic_quotes_and_full_width_forms_are_kept():
    assert normalise_text("“Quoted” — ＣＪＫ，标点") == "“Quoted” — ＣＪＫ，标点"


def test_ftfy_gate_changes_nothing_on_real_lines():
    """Lines the gate lets past ftfy come out exactly as if ftfy had seen them."""
    import ftfy
    from conftest import NOISE_DEV, SEEDS

    from curate.stages import normalise as n

    every_run = re.compile(n._SPACING + "+")

    def always_ftfy(raw: str) -> str:
        text = every_run.sub(" ", n._INVISIBLE.sub("", ftfy.fix_text(raw, n.FIXER)))
        return every_run.sub(" ", n._strip_controls(text)).strip()

    noise_train = sorted((NOISE_DEV.parent.parent / "noise-train" / "input").glob("*.txt"))
    lines = [line for path in sorted(SEEDS.glob("*.txt")) + sorted(NOISE_DEV.glob("*.txt"))[::3] + noise_train[::6]
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    lines += ["CafÃ© crÃ¨me", "â€œquotedâ€\x9d", "ﬁne ﬂour", "Fish &amp; chips", "broken \ufffd char", "\x93smart\x94",
              "AT&T & Co", "P&EACUTE;REZ", "&#233;t&#xe9; &amp", "a &nosuch; b", "&lt;tag&gt;", "R&D; café",
              # a no-break space of UTF-8 read as cp1252 and then made a space; the object replacement character
              "1.Â Â Â Myth: fat", "your inbox.Â Sign up", "SÃ O Paulo", "it \ufffc. Anonymous", "a\u206ab",
              "â€ dash", "Ã  la carte"]
    assert len(lines) > 10_000
    assert [normalise_text(line) for line in lines] == [always_ftfy(line) for line in lines]


def test_space_runs_collapse_exactly_as_the_plain_pattern_does():
    """collapse_spacing splits on whitespace; the result must equal replacing every run of
    _SPACING characters with one space and stripping the ends, whatever the mix, and
    str.isspace must hold for exactly the characters of _SPACING but U+180E."""
    from hypothesis import given
    from hypothesis import strategies as st

    from curate.stages.normalise import _SPACING, collapse_spacing

    every_run = re.compile(_SPACING + "+")
    spacing = re.compile(_SPACING)
    assert [c for c in range(0x110000) if bool(spacing.fullmatch(chr(c))) != (chr(c).isspace() or c == 0x180E)] == []

    pieces = st.sampled_from([" ", "  ", "\t", "\u00a0", "\u180e", "\u2028", "a", "é", "\u3000", "\x1c", "\x85", "\r",
                              "\u200b", "\x00"])

    @given(st.lists(pieces, max_size=14).map("".join))
    def check(text):
        assert collapse_spacing(text) == every_run.sub(" ", text).strip()

    check()


def test_a_rows_cells_keep_their_tabs_in_the_output_text():
    from curate.stages.normalise import with_cells

    def output(raw: str) -> str:
        return with_cells(raw, normalise_text(raw))

    assert normalise_text("Tokyo\tJapan\t37,400,000") == "Tokyo Japan 37,400,000"  # what the rules see
    assert output("Tokyo\tJapan\t37,400,000") == "Tokyo\tJapan\t37,400,000"
    # Each cell is cleaned on its own; an empty cell stays a cell; the ends lose their tabs.
    assert output("\tCaf\u00c3\u00a9\u00a0 au lait\t\t 4,50\u00a0\u20ac \t") == "Caf\u00e9 au lait\t\t4,50 \u20ac"
    assert output("no tabs  here") == "no tabs here"
    # A tab inside a sentence parts no cells: a piece of more than CELL_WORDS words is prose.
    sentence = "The harbour master said that the new cafe on the quay would stay open\tuntil late."
    assert output(sentence) == normalise_text(sentence)
    # Not normalised (the stage off): the line is its text, tabs and all.
    assert with_cells("a\t b", "a\t b") == "a\t b"


def test_the_output_text_is_always_the_rules_text_with_tabs_for_some_spaces():
    """Whatever the line, the text written out collapses to exactly the text the rules
    saw: the tabs put back only part what the rules read as spaces."""
    from hypothesis import given
    from hypothesis import strategies as st

    from curate.stages.normalise import collapse_spacing, with_cells

    pieces = st.sampled_from(["\t", " ", "  ", "\u00a0", "a", "é", "Ã©", "&amp;", "\u200b", "\x07", "\ufffd", "1,5",
                              "ﬁ", "\u3000", "â€œ"])

    @given(st.lists(pieces, max_size=16).map("".join))
    def check(raw):
        text = normalise_text(raw)
        out = with_cells(raw, text)
        assert collapse_spacing(out) == text
        assert out == out.strip()
        assert "\t" not in out or "\t" in raw

    check()
