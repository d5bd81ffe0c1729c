"""The RE2 programs cut to the common alphabet (curate/common_alphabet.py) answer as the
full programs do on every text of that alphabet, match for match: for every built-in
rule's forms, on real pages and on characters at the alphabet's edges; the cut is exact
or not made; and a text outside the alphabet is never given a cut program."""

from __future__ import annotations

import random
import re

import pytest
from conftest import FIXTURES, ROOT
from hypothesis import given
from hypothesis import strategies as st

from curate.common_alphabet import COMMON, NEVER, _tokenized, common_form, in_common
from curate.pattern_table import _table
from curate.patterns import _re2_program, _re2_spans, compile_pattern, unanchored
from curate.rules import load_rules

pytestmark = pytest.mark.unit


def _built_in_forms() -> list[tuple[str, str]]:
    """(name, RE2 source) of every RE2 form, exact or prefilter, of every built-in rule,
    every pack on."""
    every_pack = load_rules(enabled=tuple(load_rules().packs()))
    forms = []
    for rule in every_pack.rules:
        if rule.regex is None:
            continue
        for kind, source in (("re2", rule.regex.re2), ("prefilter", rule.regex.prefilter)):
            if source is not None:
                forms.append((f"{rule.name} {kind}", source))
    return forms


def _edge_characters() -> list[str]:
    """Characters at the edges: each end of each COMMON range and its neighbours, letters
    whose case folding reaches other letters (long s, Kelvin sign, dotted and dotless i),
    marks, spaces of every width, digits of other scripts."""
    chars = []
    for lo, hi in COMMON:
        chars += [chr(lo), chr(hi)] + [chr(c) for c in (lo + 1, hi - 1) if lo < c < hi]
    chars += list("ſKİıßẞµΩΣσςÅÄÖÜäöüéèàçñøœæ\u0301\u0308\u00a0\u2009\u202f\u200b\u2028\t _-.,;:!?'\"«»„“”’")
    chars += list("0123456789٣١٢")[:10]  # ASCII digits (the Arabic-Indic ones are outside: left out below)
    return [c for c in chars if in_common(c)]


def _common_lines() -> list[str]:
    """Lines of the common alphabet from the seed pages, probes and gold sets, and lines
    made of the edge characters with words around them."""
    files = [*sorted((ROOT / "seeds").glob("*.txt")), *sorted((FIXTURES / "probes").rglob("*.txt")),
             *sorted((FIXTURES / "noise-dev" / "input").glob("*.txt"))[:40],
             *sorted((FIXTURES / "noise-train" / "input").rglob("*.txt"))[:40]]
    lines = [line.strip() for path in files for line in path.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line and in_common(line)]
    rng = random.Random(7)
    edges = _edge_characters()
    words = ["cookie", "Cookies", "Datenschutz", "Foto:", "©", "2024", "Share", "Teilen", "Anzeige", "ΑΠΟΔΟΧΗ",
             "Подписаться", "Read more", "Weiterlesen »", "Newsletter", "Impressum", "STRAẞE", "İmpressum"]
    made = [" ".join(rng.choice(words + edges) for _ in range(rng.randint(1, 12))) for _ in range(600)]
    return lines + made


def _matches(source: str, data: bytes) -> list[tuple[int, int]]:
    """Where the program finds a match from each start position: its whole answer."""
    program, anchor = _re2_program(source), unanchored()
    return [tuple(program.Match(anchor, data, pos, len(data))[0]) for pos in range(0, len(data) + 1, 7)]


def test_every_built_in_form_cut_to_the_common_alphabet_answers_as_the_full_one():
    forms = _built_in_forms()
    lines = _common_lines()
    assert len(forms) > 70 and len(lines) > 3000
    cut = [(name, source, common_form(source)) for name, source in forms]
    assert sum(small != source for _, source, small in cut) > 60  # most forms have classes to cut
    anchor = unanchored()
    matched = 0
    for name, source, small in cut:
        full_program, common_program = _re2_program(source), _re2_program(small)
        for line in lines:
            data = line.encode("utf-8")
            full = full_program.Match(anchor, data, 0, len(data))[0]
            assert common_program.Match(anchor, data, 0, len(data))[0] == full, (name, line)
            matched += full[0] >= 0
    assert matched > 1000


def test_the_cut_programs_find_the_same_spans_from_every_position():
    forms = _built_in_forms()
    lines = [line for line in _common_lines() if len(line) > 20][::5]
    checked = 0
    for _, source in forms[::3]:
        small = common_form(source)
        for line in lines[:150]:
            data = line.encode("utf-8")
            assert _matches(small, data) == _matches(source, data)
            assert _re2_spans(small, line) == _re2_spans(source, line)
            checked += 1
    assert checked > 2000


def test_the_table_keeps_each_built_in_patterns_common_forms_as_derived():
    entries = _table()
    kept = [entry for entry in entries.values() if entry.get("common_re2") or entry.get("common_prefilter")]
    assert len(kept) > 60
    for entry in kept:
        for kind in ("re2", "prefilter"):
            if entry.get(f"common_{kind}") is not None:
                assert entry[f"common_{kind}"] == common_form(entry[kind])
                assert len(entry[f"common_{kind}"]) < len(entry[kind])


@given(st.lists(st.sampled_from([r"\w", r"\W", r"\d", r"\D", r"\s", r"\S", ".", "[^a-z]", "[à-ž]", "ß", "é",
                                 "k", "s", "i", "[Ѐ-ӿ]", "[α-ω]", r"\b", "x+", "(?:ab|ſt)", "[^\\W\\d_]"]),
                min_size=1, max_size=6),
       st.booleans(), st.text(alphabet=st.sampled_from(_edge_characters() + list("abkstKS İı")), max_size=30))
def test_any_pattern_cut_to_the_common_alphabet_answers_as_python_does_on_its_texts(parts, ignore_case, text):
    pattern = "".join(parts)
    flags = re.IGNORECASE if ignore_case else 0
    try:
        compiled = compile_pattern(pattern, flags)
    except Exception:  # noqa: BLE001 - a pattern refused (one that matches an empty line...) is not this test's
        return
    if compiled.re2 is None or text.endswith("\n"):
        return
    assert in_common(text)
    expected = re.search(pattern, text, flags) is not None
    data = text.encode("utf-8")
    for common in (False, True):
        program = compiled.re2_program(common)
        assert (program.Match(unanchored(), data, 0, len(data))[0][0] >= 0) == expected, (pattern, text, common)
    assert compiled.search(text) == expected


def test_a_text_outside_the_alphabet_is_searched_with_the_full_program():
    compiled = compile_pattern(r"\w+ \w+", 0)
    assert compiled.re2 is not None and compiled.common_re2 is not None
    # CJK and Arabic letters are \w, and in no class of the cut program.
    for text in ("漢字 漢字", "مرحبا بك", "ok 漢字"):
        assert not in_common(text)
        assert compiled.search(text)
        assert compiled.spans(text) == [m.span() for m in re.finditer(r"\w+ \w+", text)]
        assert compiled.re2_program(True).Match(unanchored(), text.encode(), 0, len(text.encode()))[0][0] < 0


def test_the_alphabets_edges():
    for lo, hi in COMMON:
        assert in_common(chr(lo)) and in_common(chr(hi))
        if lo > 0:
            assert in_common(chr(lo - 1)) == any(a <= lo - 1 <= b for a, b in COMMON)
        if hi < 0x10FFFF:
            assert in_common(chr(hi + 1)) == any(a <= hi + 1 <= b for a, b in COMMON)
    assert in_common("") and in_common("plain ASCII") and in_common("Grüße — “so” ✓ 😀 Привет Ελλάδα")
    assert not in_common("x\ud800") and not in_common("日本") and not in_common("שלום") and not in_common("ก")


def test_what_the_cut_does_not_read_is_left_whole():
    assert common_form(r"[\d]x") == r"[\d]x"  # a class of other syntax
    assert common_form(r"(?i)[\x{41}]") == r"(?i)[\x{41}]"  # folding would reach past the cut
    assert common_form(r"\Q[\x{4E00}]\E") == r"\Q[\x{4E00}]\E"
    assert common_form("[[:alpha:]]") == "[[:alpha:]]"
    assert common_form(r"[\x{4E00}-\x{9FFF}]x") == NEVER + "x"  # nothing of it within the alphabet
    assert common_form(r"[\x{41}\x{4E00}\x{61}]") == r"[\x{41}\x{61}]"
    # A class of a few wide ranges is cheap as it is, and cut it would have more: kept.
    assert common_form(r"\A[^\x{30}-\x{39}]\z") == r"\A[^\x{30}-\x{39}]\z"
    word = compile_pattern(r"\W", 0).re2
    assert word is not None and len(common_form(word)) < len(word) / 10
    # An escaped bracket is read as the escape it is (the character by character reading).
    assert common_form(r"\[[\x{4E00}]\]") == r"\[" + NEVER + r"\]"


def test_both_readings_of_the_built_in_forms_agree():
    for _, source in _built_in_forms():
        if "[" in source:
            assert common_form(source) == _tokenized(source)
