"""An invalid rule file stops the run before anything is written, naming file, rule and fault."""

from __future__ import annotations

import os

import pytest
from conftest import SEEDS, in_process, invoke, run_process

GOOD_RULE = '''
[[rule]]
name = "{name}"
reason = "test rule"
pattern = '{pattern}'
examples.match = ["{match}"]
'''

_KEYED = '[[rule]]\nname = "{name}"\n{extra}\nexamples.match = ["a"]\n'

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
    # A string key given a value of another type is told so, not called missing.
    "reason-not-a-string": (_KEYED.format(name="r5", extra="reason = 5\npattern = \"a\""),
                            "rule 'r5': 'reason' must be a string in quotes, not a number",
                            'e.g. reason = "cookie banner"'),
    "reason-empty": (_KEYED.format(name="r0", extra='reason = " "\npattern = "a"'),
                     "rule 'r0': 'reason' is empty", "say in words what kind of noise this is"),
    "name-not-a-string": ('[[rule]]\nname = 7\nreason = "r"\npattern = "a"\nexamples.match = ["a"]\n',
                          "rule '#1': 'name' must be a string in quotes, not a number", 'name = "cookie-banner"'),
    "scope-not-a-string": (_KEYED.format(name="s", extra='reason = "r"\nscope = ["line"]\npattern = "a"'),
                           "rule 's': 'scope' must be a string in quotes, not a list", 'scope = "line"'),
    "pack-not-a-string": (_KEYED.format(name="p", extra='reason = "r"\npack = true\npattern = "a"'),
                          "rule 'p': 'pack' must be a string in quotes, not true or false", "pack = "),
    "pattern-not-a-string": (_KEYED.format(name="pt", extra='reason = "r"\npattern = 1.5'),
                             "rule 'pt': 'pattern' must be a string in quotes, not a number", "pattern = "),
    "detector-not-a-string": (_KEYED.format(name="d", extra='reason = "r"\nscope = "page"\ndetector = {a = 1}'),
                              "rule 'd': 'detector' must be a string in quotes, not a table",
                              'detector = "link-run"'),
    "stat-not-a-string": (_KEYED.format(name="st", extra='reason = "r"\nscope = "document"\nstat = 3\nmin = 1'),
                          "rule 'st': 'stat' must be a string in quotes, not a number", 'stat = "words"'),
    # inf crashed the run with OverflowError (int(inf), where the verdict shows its bound)
    "min-inf": (_KEYED.format(name="too-short", extra='reason = "r"\nscope = "document"\nstat = "words"\nmin = inf'),
                "rule 'too-short': 'min' must be a finite number, not inf", "leave 'min' out"),
    "max-minus-inf": (_KEYED.format(name="too-long", extra='reason = "r"\nscope = "document"\nstat = "words"\n'
                                                          'max = -inf'),
                      "rule 'too-long': 'max' must be a finite number, not -inf", "leave 'max' out"),
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
    assert result.exit_code == 2  # a usage error
    assert "no rule named no-such-rule" in result.output and "curate rules list" in result.output


@pytest.mark.parametrize("spelled", ["nope.toml", "nope/"])
def test_a_missing_rules_path_is_said_missing_and_what_rules_takes(tmp_path, spelled):
    for command in (["run", SEEDS, "-o", tmp_path / "out"], ["rules", "list"], ["rules", "test"]):
        args = [*command, spelled] if command[-1] == "test" else [*command, "--rules", spelled]
        result = in_process(*args, cwd=tmp_path)
        assert result.returncode == 2, result.stderr  # a usage error
        assert (f"Error: {spelled.rstrip('/')}: no such file or folder; check the path: rules come from a folder of "
                "*.toml files or one *.toml file (--rules DIR|FILE)") in result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_fifo_given_as_the_rule_file_is_said_not_a_regular_file(tmp_path):
    os.mkfifo(tmp_path / "x.toml")
    result = run_process("run", SEEDS, "-o", tmp_path / "out", "--rules", "x.toml", cwd=tmp_path)
    assert result.returncode == 1
    assert ("Error: x.toml: a named pipe (FIFO), not a regular file or folder; rules come from a folder of *.toml "
            "files or one *.toml file (--rules DIR|FILE)") in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


# Rule files a bug hunt found (most crashed with a Python traceback): each now stops `run`,
# `rules test` and curate.ruleset with the file, the rule and what to do. Real processes
# on real files, as a user meets them.
HUNTED = {
    "rule-items-not-tables": ("rule = [1, 2]\n",
                              "rule '#1': a rule must be a table of keys, not a number: begin each rule with a "
                              "line [[rule]]"),
    "min-inf": ('[[rule]]\nname = "too-short"\nreason = "short page"\nscope = "document"\nstat = "words"\n'
                'min = inf\nexamples.match = ["a b"]\n',
                "rule 'too-short': 'min' must be a finite number, not inf"),
    # A file that defines no rule loaded nothing and said nothing, empty or `rule = []` alike
    "empty-rule-list": ("rule = []\n", "defines no rule ('rule = []' is an empty list of rules): begin each rule "
                                       "with a line [[rule]]"),
    "empty-file": ("", "defines no rule (no [[rule]] table): begin each rule with a line [[rule]]"),
    "comments-only": ("# rules for the shop pages, to come\n\n", "defines no rule (no [[rule]] table)"),
    # Loaded, and ran as min_lines = 1: every short line alone was a menu
    "page-rule-negative-count": ('[[rule]]\nname = "menus"\nreason = "menu runs"\nscope = "page"\n'
                                 'detector = "link-run"\nparams = { min_lines = -3, max_words = 4 }\n'
                                 'examples.match = ["Home\\nNews\\nSport\\nWeather"]\n',
                                 "rule 'menus': parameter 'min_lines' of detector 'link-run' must be a whole number "
                                 "from 1 to 1,000,000,000, not -3"),
    # ValueError: math domain error, from the line model's math.log1p(sentence_words)
    "line-model-negative-words": ('[[rule]]\nname = "my-model"\nreason = "the line model"\nscope = "page"\n'
                                  'detector = "line-model"\nparams = { sentence_words = -3 }\n'
                                  'examples.match = ["Home\\nNews\\nSport\\nWeather"]\n',
                                  "rule 'my-model': parameter 'sentence_words' of detector 'line-model' must be a "
                                  "whole number from 1 to 1,000,000,000, not -3"),
    # Decimals out of the range their meaning allows, loaded and run as they were: a share
    # of -0.5 judged the region doubtful on every page it cut anything from, a threshold of
    # 7 is never reached (the model kept every line no rule hit), and a negative penalty
    # made the lines it costs worth keeping
    "line-model-negative-share": ('[[rule]]\nname = "my-model"\nreason = "the line model"\nscope = "page"\n'
                                  'detector = "line-model"\nparams = { region_share = -0.5 }\n'
                                  'examples.match = ["Home\\nNews\\nSport\\nWeather"]\n',
                                  "rule 'my-model': parameter 'region_share' of detector 'line-model' must be a "
                                  "share of words from 0 to 1, not -0.5; e.g. region_share = 0.4 (1 turns the "
                                  "region's doubt off)"),
    "line-model-threshold-past-one": ('[[rule]]\nname = "my-model"\nreason = "the line model"\nscope = "page"\n'
                                      'detector = "line-model"\nparams = { threshold = 7 }\n'
                                      'examples.match = ["Home\\nNews\\nSport\\nWeather"]\n',
                                      "rule 'my-model': parameter 'threshold' of detector 'line-model' must be a "
                                      "score from 0 to 1, or negative for the one fitted with the model, not 7; "
                                      "e.g. threshold = -1.0"),
    "article-region-negative-penalty": ('[[rule]]\nname = "region"\nreason = "outside the article"\n'
                                        'scope = "page"\ndetector = "article-region"\n'
                                        'params = { short_penalty = -2.0 }\n'
                                        'examples.match = ["Home\\nNews\\nSport\\nWeather"]\n',
                                        "rule 'region': parameter 'short_penalty' of detector 'article-region' "
                                        "must be a cost in words from 0 to 1,000,000,000, not -2.0; "
                                        "e.g. short_penalty = 2.0"),
    # Document rules' bounds past what the statistic measures loaded: max = 7 on a share (and
    # min = -3 on a count) never fired, so a rule that also had a bound in range ran half
    # silent; min above max dropped every document
    "document-rule-share-past-one": ('[[rule]]\nname = "bullets"\nreason = "a list, not prose"\n'
                                     'scope = "document"\nstat = "bullet_lines"\nmin = 0.01\nmax = 7\n'
                                     'examples.match = ["A plain sentence."]\n',
                                     "rule 'bullets': 'max' = 7 is outside what stat 'bullet_lines' measures "
                                     "(share of lines that start with '•' or '-'): a share from 0 to 1, so the rule "
                                     "would never fire; e.g. max = 0.9, or max = 0.07 for 7%"),
    "document-rule-negative-count": ('[[rule]]\nname = "too-short"\nreason = "short page"\nscope = "document"\n'
                                     'stat = "words"\nmin = -3\nexamples.match = ["Hi"]\n',
                                     "rule 'too-short': 'min' = -3 is outside what stat 'words' measures (words "
                                     "(tokens with a letter or digit)): a count of 0 or more, so the rule would "
                                     "never fire; e.g. min = 50"),
    "document-rule-min-above-max": ('[[rule]]\nname = "length"\nreason = "odd length"\nscope = "document"\n'
                                    'stat = "words"\nmin = 50\nmax = 10\nexamples.match = ["Hi"]\n',
                                    "rule 'length': 'min' = 50 is above 'max' = 10, so every document would be "
                                    "dropped (stat 'words' is a count of 0 or more); the rule keeps what lies "
                                    "between them: e.g. min = 10 and max = 50"),
    # Not a crash, but as bad: the audit's reason was "rule:app-promo\n", which --disable cannot name
    "name-with-a-newline": ('[[rule]]\nname = "app-promo\\n"\nreason = "app promotion"\n'
                            "pattern = '^download our app$'\nexamples.match = [\"Download our app\"]\n",
                            "rule 'app-promo\\n': 'name' must be lowercase letters, digits and hyphens"),
}


@pytest.mark.parametrize("case", sorted(HUNTED))
def test_a_bad_rule_file_the_bug_hunt_found_is_refused_by_run_rules_test_and_the_api(tmp_path, case):
    import curate
    from curate.errors import RuleError

    text, message = HUNTED[case]
    rules = tmp_path / "hunted.toml"
    rules.write_text(text, encoding="utf-8")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "p.txt").write_text("The council met on Monday and agreed on a new budget.\n")
    for args in (["rules", "test", "--no-builtin-rules", rules],
                 ["run", tmp_path / "in", "-o", tmp_path / "out", "--rules", rules, "--no-project-rules"]):
        result = in_process(*args, cwd=tmp_path)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert f"Error: {rules}: {message}" in result.stderr
    assert not (tmp_path / "out").exists()
    with pytest.raises(RuleError) as caught:
        curate.ruleset([rules], builtin=False)
    assert str(caught.value).startswith(f"{rules}: {message}")
