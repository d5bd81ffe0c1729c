from __future__ import annotations

from conftest import invoke, read_jsonl

from curate.stages.normalise import normalise_text


def test_mojibake_is_repaired():
    assert normalise_text("CafÃ© au lait") == "Café au lait"


def test_spaces_and_controls():
    assert normalise_text("\u00a0 two\u00a0\u00a0spaces\tand\u3000more \x07bell\x00 ") == "two spaces and more bell"
    assert normalise_text("zero\u200bwidth soft\u00adhyphen") == "zerowidth softhyphen"


def test_html_entities_in_ascii_lines():
    assert normalise_text("Fish &amp; chips") == "Fish & chips"


def test_typographic_quotes_and_full_width_forms_are_kept():
    assert normalise_text("“Quoted” — ＣＪＫ，标点") == "“Quoted” — ＣＪＫ，标点"


def test_lines_empty_after_cleaning_are_audited(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_bytes("A real line of text.\n\x07\x08\n\u200b\u200b\n".encode())
    out = tmp_path / "out"
    assert invoke("run", src, "-o", out, "-q", "--no-builtin-rules").exit_code == 0
    removed = read_jsonl(out / "removed.jsonl")
    assert [(r["line"], r["reason"], r["removed"]) for r in removed] == [
        (2, "empty-after-normalise", "\x07\x08"), (3, "empty-after-normalise", "\u200b\u200b")]
    assert read_jsonl(out / "quarantine.jsonl") == []


def test_provenance_points_at_the_original_bytes(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    raw = "  CafÃ© au lait\u00a0and more text here.  \r\nSecond line.\r\n".encode()
    (src / "a.txt").write_bytes(raw)
    out = tmp_path / "out"
    assert invoke("run", src, "-o", out, "-q", "--no-builtin-rules").exit_code == 0
    (rec,) = read_jsonl(out / "corpus.jsonl")
    assert rec["text"] == "Café au lait and more text here.\nSecond line."
    s, e = rec["lines"][0]["bytes"]
    assert raw[s:e].decode() == "  CafÃ© au lait\u00a0and more text here.  "


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
