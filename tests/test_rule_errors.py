"""An invalid rule file stops the run before anything is written, naming file, rule and fault."""

from __future__ import annotations

import pytest
from conftest import SEEDS, invoke

GOOD_RULE = '''
[[rule]]
name = "{name}"
reason = "test rule"
pattern = '{pattern}'
examples.match = ["{match}"]
'''

CASES = {
    "toml-syntax": ('[[rule]]\nname = "x\n', "not valid TOML", "line 2"),
    "bad-regex": (GOOD_RULE.format(name="broken", pattern="(unclosed", match="x"),
                  "rule 'broken': bad regex", "missing )"),
    "unknown-key": ('[[rule]]\nname = "k"\nreason = "r"\npattern = "a"\ncolour = "red"\nexamples.match = ["a"]\n',
                    "rule 'k': unknown key 'colour'", "allowed keys"),
    "failing-example": (GOOD_RULE.format(name="picky", pattern="^cookie$", match="biscuit"),
                        "rule 'picky': examples.match #1 does not match", "biscuit"),
    "matches-everything": (GOOD_RULE.format(name="greedy", pattern=".*", match="x"),
                           "rule 'greedy'", "matches an empty line"),
    "requires-not-a-list": (
        '[[rule]]\nname = "req"\nreason = "r"\npattern = "a"\nrequires = "a"\nexamples.match = ["a"]\n',
        "rule 'req': 'requires' must be a non-empty list of strings", "every match contains"),
    "requires-too-narrow": (
        '[[rule]]\nname = "narrow"\nreason = "r"\npattern = "cookie|consent"\nrequires = ["cookie"]\n'
        'examples.match = ["consent"]\n',
        "rule 'narrow': examples.match #1 does not match", "consent"),
    "final-not-a-bool": ('[[rule]]\nname = "fin"\nreason = "r"\npattern = "a"\nfinal = "no"\nexamples.match = ["a"]\n',
                         "rule 'fin': 'final' must be true or false", "bad.toml"),
    "final-on-a-document-rule": (
        '[[rule]]\nname = "docfin"\nreason = "r"\nscope = "document"\nstat = "words"\nmin = 3\nfinal = false\n'
        'examples.match = ["a b"]\n',
        "rule 'docfin': 'final' is for line, block and page rules", "does not judge documents"),
    "no-examples": ('[[rule]]\nname = "lazy"\nreason = "r"\npattern = "a"\n',
                    "rule 'lazy'", "at least one examples.match"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_invalid_rule_file_stops_before_output(tmp_path, case):
    text, fault, detail = CASES[case]
    rules = tmp_path / "my-rules"
    rules.mkdir()
    (rules / "bad.toml").write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("run", SEEDS, "-o", out, "--rules", rules)
    assert result.exit_code == 1
    assert f"{rules / 'bad.toml'}" in result.output
    assert fault in result.output and detail in result.output
    assert not out.exists()


def test_duplicate_rule_name_across_files(tmp_path):
    rules = tmp_path / "r"
    rules.mkdir()
    rule = GOOD_RULE.format(name="twin", pattern="^twin$", match="twin")
    (rules / "a.toml").write_text(rule)
    (rules / "b.toml").write_text(rule)
    result = invoke("run", SEEDS, "-o", tmp_path / "out", "--rules", rules)
    assert result.exit_code == 1
    assert (f"{rules / 'b.toml'}: rule 'twin': duplicate rule name; it is already defined in {rules / 'a.toml'}"
            in result.output)


def test_duplicate_of_a_builtin_rule_name(tmp_path):
    rules = tmp_path / "r"
    rules.mkdir()
    (rules / "a.toml").write_text(GOOD_RULE.format(name="byline", pattern="^by$", match="by"))
    result = invoke("run", SEEDS, "-o", tmp_path / "out", "--rules", rules)
    assert "already defined in <builtin>/bylines.toml" in result.output


def test_disable_unknown_rule_lists_where_to_look(tmp_path):
    result = invoke("run", SEEDS, "-o", tmp_path / "out", "--disable", "no-such-rule")
    assert result.exit_code == 1
    assert "no rule named no-such-rule" in result.output and "curate rules list" in result.output
