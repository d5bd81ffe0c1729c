"""A rule's literal prefilter (its phrases, or `requires`) folds letters as Python's re
compares them under IGNORECASE (curate/ignorecase.py): it may skip a line only if the
pattern cannot match it. With str.lower it skipped "UYGULAMAMIZI İNDİR" for the phrase
"uygulamamızı indir", and "İletişim" for requires = ["iletişim"], both of which re matches."""  # noqa: RUF002

from __future__ import annotations

import re

import pytest
from conftest import in_process, read_jsonl
from hypothesis import example, given
from hypothesis import strategies as st

import curate
from curate.ignorecase import CASED_BELOW, _tables, fold, re2_literal
from curate.pattern_table import translate
from curate.patterns import _cased, _re2_program, unanchored
from curate.rule_filter import LineRuleFilter
from curate.rules import Rule, parse_rule_file
from curate.stages.noise import LineFacts, filtered_positions, line_rule_hits, text_lines

# Letters re takes for one another under IGNORECASE though str.lower does not lower them
# alike, and a few it does, with what may stand beside them in a line.
CLASSES = ["iIİı", "sSſ", "kKK", "µμΜ", "σΣς", "θΘϑϴ", "ßẞ", "åÅÅ", "ǆǄǅ", "ιΙͅι", "вВᲀ", "ṡṠẛ", "ﬅﬆ", "ΐΐ"]
LETTERS = "".join(CLASSES)
AROUND = LETTERS + "aAbz ̇-.Ωω"


@pytest.mark.unit
def test_every_pair_of_letters_re_matches_under_ignorecase_folds_alike():
    """Ask re itself, for every character with a case mapping, which others it matches."""
    _, cased = _cased()
    pairs = 0
    for char in cased:
        for found in re.finditer(re.escape(char), cased, re.IGNORECASE):
            assert fold(char) == fold(found.group()), (hex(ord(char)), hex(ord(found.group())))
            pairs += 1
    assert pairs > 2 * len(cased)  # a letter and its capital, at least


@pytest.mark.unit
def test_fold_is_one_character_for_one_and_lowercases_the_rest():
    """Folding a text folds each of its characters alone (str.lower makes "Σ" "ς" at the
    end of a word, and "İ" two characters), so a folded literal is in a folded line
    wherever the literal is, letter for letter, in the line."""
    text = "".join(map(chr, [*range(0xD800), *range(0xE000, CASED_BELOW)]))
    assert fold(text) == "".join(map(fold, text))
    assert all(len(fold(char)) == 1 for char in text)
    assert fold("ΟΔΟΣ ΣΟΦΟΣ") == fold("οδοσ σοφοσ") == fold("οδος σοφος")
    assert fold("UYGULAMAMIZI İNDİR") == fold("Uygulamamızı İndir") == fold("uygulamamızı indir")
    assert fold("Straße") == fold("STRAẞE") != fold("STRASSE")  # re pairs single letters only
    assert fold("Ünïcödé déjà vu") == "Ünïcödé déjà vu".lower()  # most text: str.lower's answer
    # no character above CASED_BELOW has a case mapping, so fold leaves them as they are
    assert all(chr(cp).lower() == chr(cp) == chr(cp).upper() for cp in range(CASED_BELOW, 0x110000))


@pytest.mark.unit
def test_the_re2_form_of_a_literal_spells_each_letter_as_every_letter_that_folds_alike():
    """noise.literal_program searches a line as it is for re2_literal(literal): each of its
    letters as the class of the letters that fold as it does, all of them and no other."""
    text = "".join(map(chr, [*range(0xD800), *range(0xE000, CASED_BELOW)]))
    groups: dict[str, set[str]] = {}
    for char in text:
        groups.setdefault(fold(char), set()).add(char)
    alike = _tables()[2]
    for char in text:
        assert set(alike.get(char, char)) == groups[fold(char)], hex(ord(char))
    dotted = r"[Ii\x{130}\x{131}]"
    assert re2_literal("iletişim") == rf"{dotted}[Ll][Ee][Tt]{dotted}[\x{{15e}}\x{{15f}}]{dotted}[Mm]"
    program = _re2_program(re2_literal(fold("uygulamamızı indir")))
    for line in ("UYGULAMAMIZI İNDİR", "Uygulamamızı İndir", "uygulamamizi indir"):
        data = line.encode()
        assert program.Match(unanchored(), data, 0, len(data))[0][0] >= 0, line


@pytest.mark.unit
@given(lit=st.text(LETTERS + "ab ", min_size=1, max_size=6), before=st.text(AROUND, max_size=6),
       after=st.text(AROUND, max_size=6), data=st.data())
@example(lit="uygulamamızı indir", before="", after="", data=None)
def test_whenever_re_finds_the_literal_ignoring_case_the_folded_line_holds_it(lit, before, after, data):
    # the literal in the line letter by letter as re may match it: each letter perhaps
    # swapped for another of its class
    swapped = "".join(data.draw(st.sampled_from(next((c for c in CLASSES if ch in c), ch))) if data else ch.upper()
                      for ch in lit)
    line = before + swapped + after
    if re.search(re.escape(lit), line, re.IGNORECASE):
        assert fold(lit) in fold(line)


PHRASE_RULE = """
[[rule]]
name = "phrase"
reason = "r"
phrases = [{phrases}]
examples.match = ["x"]

[[rule]]
name = "required"
reason = "r"
pattern = '{pattern}'
requires = [{phrases}]
examples.match = ["x"]
"""


def _rules(phrases: list[str]):
    listed = ", ".join(f'"{p}"' for p in phrases)
    pattern = "|".join(re.escape(p) for p in phrases)
    return parse_rule_file("p.toml", PHRASE_RULE.format(phrases=listed, pattern=pattern))


@pytest.mark.unit
@given(phrase=st.text(LETTERS + "ab", min_size=1, max_size=5),
       lines=st.lists(st.text(AROUND, max_size=12), min_size=1, max_size=6), data=st.data())
@example(phrase="uygulamamızı indir", lines=["Uygulamamızı İndir", "UYGULAMAMIZI İNDİR"], data=None)
@example(phrase="iletişim", lines=["İletişim", "İLETİŞİM", "ILETIŞIM"], data=None)
def test_a_phrase_or_requires_rule_hits_every_line_its_pattern_matches_on_every_path(phrase, lines, data):
    """The rule's hits with its prefilter, one rule at a time and through the line filter
    (FilteredRE2, whose atoms RE2 finds with its own case folding), against re.search of
    its pattern: the prefilter never skips a line re matches, and the compiled pattern
    (RE2, or the regex module) answers as re does."""
    if data is not None:  # a line holding the phrase, its letters swapped within their class
        swapped = "".join(data.draw(st.sampled_from(next((c for c in CLASSES if ch in c), ch))) for ch in phrase)
        lines = [*lines, data.draw(st.text(AROUND, max_size=4)) + swapped + data.draw(st.text(AROUND, max_size=4))]
    lines = [line for line in lines if line.strip() and "\n" not in line]
    if not lines or not phrase.strip():
        return
    rules = _rules([phrase.strip()])
    built = text_lines("\n".join(lines))
    on_re2 = [rule for rule in rules if rule.regex is not None and rule.regex.re2 is not None]
    filtered = dict(zip([r.name for r in on_re2], filtered_positions(LineRuleFilter(on_re2), built, LineFacts(built),
                                                                     _no_timeout), strict=True))
    for rule in rules:
        assert rule.literals and rule.regex is not None
        expected = {line.index for line in built if re.search(rule.regex.pattern, line.text, re.IGNORECASE)}
        assert {line.index for line in built if rule.regex.search(line.text)} == expected, rule.name
        assert line_rule_hits(rule, built) == expected, rule.name
        if rule.name in filtered:
            assert {built[k].index for k in filtered[rule.name]} == expected, rule.name


def _no_timeout(rule, line):
    raise AssertionError(f"{rule.name} ran over its time limit on {line.text!r}")


def _turkish_rules(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "tr.toml").write_text("""
[[rule]]
name = "tr-app-promo"
reason = "Turkish app download promotion"
phrases = ["uygulamamızı indir"]
max_words = 6
examples.match = ["Uygulamamızı indir", "UYGULAMAMIZI İNDİR"]

[[rule]]
name = "tr-contact"
reason = "footer link"
pattern = '^iletişim$'
requires = ["iletişim"]
examples.match = ["İletişim", "ILETIŞIM"]
""", encoding="utf-8")
    return rules


def test_turkish_capitals_are_removed_by_run_and_pass_rules_test(tmp_path):
    rules, src, out = _turkish_rules(tmp_path), tmp_path / "in", tmp_path / "out"
    src.mkdir()
    (src / "haber.txt").write_text(
        "Belediye meclisi pazartesi günü toplandı ve şehrin okulları için yeni bir bütçe üzerinde anlaştı.\n\n"
        "Uygulamamızı İndir\n\nUYGULAMAMIZI İNDİR\n\nUygulamamızı indir\n\nİletişim\n\nİLETİŞİM\n", encoding="utf-8")
    result = in_process("rules", "test", "--no-builtin-rules", rules)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   tr-app-promo (2 examples)" in result.stdout and "ok   tr-contact (2 examples)" in result.stdout
    result = in_process("run", src, "-o", out, "--rules", rules, "--no-builtin-rules", "-q")
    assert result.returncode == 0, result.stderr
    removed = {r["removed"]: r["reason"] for r in read_jsonl(out / "removed.jsonl")}
    assert removed == {"Uygulamamızı İndir": "rule:tr-app-promo", "UYGULAMAMIZI İNDİR": "rule:tr-app-promo",
                       "Uygulamamızı indir": "rule:tr-app-promo", "İletişim": "rule:tr-contact",
                       "İLETİŞİM": "rule:tr-contact"}
    cleaned = curate.clean_text((src / "haber.txt").read_text(encoding="utf-8"),
                                ruleset=curate.ruleset([rules], builtin=False))
    assert {r["removed"]: r["reason"] for r in cleaned.removed} == removed


@pytest.mark.unit
def test_the_line_filter_finds_every_letter_re_matches_ignoring_case():
    """The patterns RE2 runs spell out every letter as the letters Python's re takes for
    it (patterns.py), so RE2's own case folding, which differs ("İ" is not "i" to it), is
    never asked; but the line filter's atoms are lowercased by RE2 (rule_filter.py). For
    every letter with a case mapping, a rule `zq<letter>wv` is found by the filter in
    every line re matches it in."""
    _, cased = _cased()
    letters = [char for char in cased if char.isprintable()]
    rules = [Rule(name=f"r{k}", reason="r", scope="line", source="x",
                  regex=translate("zq" + re.escape(char) + "wv", re.IGNORECASE, boolean=True))
             for k, char in enumerate(letters)]
    assert all(rule.regex is not None and rule.regex.re2 is not None for rule in rules)
    checked = 0
    for first in range(0, len(rules), 256):
        flt = LineRuleFilter(rules[first:first + 256])
        for k in range(len(flt.rules)):
            letter = letters[first + k]
            for found in re.finditer(re.escape(letter), cased, re.IGNORECASE):
                for line in (f"zq{found.group()}wv", f"a ZQ{found.group()}WV b"):
                    assert k in flt.matching(line.encode()), (letter, line)
                    checked += 1
    assert checked > 4 * len(letters)
