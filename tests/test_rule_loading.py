"""Rule files as they load through the real CLI and the API: keys every scope honours or
refuses (pack, max_words, requires), one line model, empty option values, each file once
however it is named, symlinked and hidden names in a rule folder, POSIX classes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, in_process, invoke, read_jsonl, run_process

import curate
from curate.errors import RuleError

PACKED = '''
[[rule]]
name = "promo-app"
reason = "app promotion"
pattern = '^download our app\\b'
pack = "promos"
enabled = false
examples.match = ["Download our app now"]

[[rule]]
name = "promo-pair"
reason = "share label over a network name"
scope = "block"
lines = 2
pattern = '^share this story\\nfacebook$'
pack = "promos"
enabled = false
examples.match = ["Share this story\\nFacebook"]

[[rule]]
name = "promo-menus"
reason = "menus"
scope = "page"
detector = "link-run"
params = { min_lines = 3 }
pack = "promos"
enabled = false
examples.match = ["News\\nSport\\nKultur"]
'''

ONE_RULE = '''
[[rule]]
name = "own-rule"
reason = "mine"
pattern = '^weiterlesen$'
examples.match = ["Weiterlesen"]
'''


PAGE = ("The harbour authority said on Monday that the new terminal would open in the spring, two years late.\n\n"
        "Download our app now\n\nShare this story\nFacebook\n\n"
        "Officials blamed the delay on a shortage of steel and on a dispute with the builders over pay.\n")


def _folder(tmp_path: Path, name: str, text: str, file: str = "r.toml") -> Path:
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / file).write_text(text, encoding="utf-8")
    return folder


def test_pack_turns_on_line_block_and_page_rules(tmp_path):
    # `pack` was kept by document rules only: --enable promos turned nothing on here.
    rules = _folder(tmp_path, "r", PACKED)
    page = tmp_path / "page.txt"
    page.write_text(PAGE, encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("run", page, "-o", out, "-q", "--no-builtin-rules", "--rules", rules, "--enable", "promos")
    assert result.exit_code == 0, result.output
    reasons = {r["reason"] for r in read_jsonl(out / "removed.jsonl")}
    assert {"rule:promo-app", "rule:promo-pair"} <= reasons
    listed = invoke("rules", "list", "--no-builtin-rules", "--rules", rules, "--enable", "promos")
    assert listed.exit_code == 0, listed.output
    assert "packs: promos (3 of 3 on)" in listed.output
    assert all(r.enabled for r in curate.ruleset([rules], builtin=False, enabled=["promos"]).rules)
    assert not any(r.enabled for r in curate.ruleset([rules], builtin=False).rules)


MODEL = '''
[[rule]]
name = "my-model"
reason = "stricter model"
scope = "page"
detector = "line-model"
params = { threshold = 0.9, rule_threshold = 0.9 }
examples.match = ["Home\\nNews\\nSport\\nContact"]
'''


def test_a_second_line_model_is_refused_naming_disable(tmp_path):
    # The last one alone decided, while `rules list` and summary.json named both as used.
    rules = _folder(tmp_path, "r", MODEL)
    out = tmp_path / "out"
    said = ("r.toml: rule 'my-model': a second line model: 'line-model' (<builtin>/model.toml) is on too, and a run "
            "takes one (it has the last word on the other rules' hits); turn the built-in one off with "
            "--disable line-model to run yours in its place")
    result = invoke("run", SEEDS, "-o", out, "-q", "--rules", rules)
    assert result.exit_code == 1 and said in result.output
    assert not out.exists()
    assert said in invoke("rules", "list", "--rules", rules).output
    with pytest.raises(RuleError, match="a second line model"):
        curate.ruleset([rules])
    assert invoke("rules", "list", "--rules", rules, "--disable", "line-model").exit_code == 0
    tested = invoke("rules", "test", rules)  # each rule on its own examples: both may be tested
    assert tested.exit_code == 0 and "ok   my-model" in tested.output


@pytest.mark.parametrize("scope, key, said", [
    ("block", "max_words = 1", "'max_words' is for line rules: it bounds one line's words"),
    ("block", "min_words = 1", "'min_words' is for line rules: it bounds one line's words"),
    ("page", 'requires = ["zzzz"]', "'requires' does not apply to a page rule"),
])
def test_keys_a_scope_would_ignore_are_refused_by_name(tmp_path, scope, key, said):
    body = ('lines = 2\npattern = \'^share this story\\nfacebook$\'\nexamples.match = ["Share this story\\nFacebook"]'
            if scope == "block" else
            'detector = "link-run"\nparams = { min_lines = 3 }\nexamples.match = ["News\\nSport\\nKultur"]')
    rules = _folder(tmp_path, "r", f'[[rule]]\nname = "k"\nreason = "r"\nscope = "{scope}"\n{key}\n{body}\n')
    for args in (["rules", "test", "--no-builtin-rules", rules], ["run", SEEDS, "-o", tmp_path / "out", "--rules",
                                                                  rules]):
        result = invoke(*args)
        assert result.exit_code == 1 and f"r.toml: rule 'k': {said}" in result.output, result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, said", [
    (["run", "page.txt", "-o", "out", "--rules", ""], "Invalid value for '--rules': an empty path"),
    (["rules", "list", "--rules", ""], "Invalid value for '--rules': an empty path"),
    (["rules", "test", ""], "an empty path"),
    (["run", "page.txt", "-o", "out", "--enable", ""], "Invalid value for '--enable': names no pack or rule"),
    (["rules", "list", "--enable", ","], "Invalid value for '--enable': names no pack or rule"),
    (["run", "page.txt", "-o", "out", "--disable", ""], "Invalid value for '--disable': names no rule"),
    (["explain", "page.txt", "--disable", " "], "Invalid value for '--disable': names no rule"),
])
def test_empty_rules_and_enable_values_are_refused(tmp_path, args, said):
    # An unset shell variable: --rules "" loaded every *.toml under the working folder.
    _folder(tmp_path, "old-experiments", MODEL.replace("my-model", "drop-all"))
    (tmp_path / "page.txt").write_text(PAGE, encoding="utf-8")
    result = in_process(*args, cwd=tmp_path)
    assert result.returncode == 2 and said in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()


def test_the_api_refuses_empty_rules_and_enable_values():
    with pytest.raises(curate.errors.ApiValueError, match="an empty path"):
        curate.ruleset([""])
    with pytest.raises(curate.errors.ApiValueError, match="names no pack or rule"):
        curate.ruleset(enabled=[""])
    with pytest.raises(curate.errors.ApiValueError, match="names no rule"):
        curate.ruleset(disabled=[""])


def test_a_rule_file_named_again_loads_once(tmp_path):
    # `rules test rules/app-promos.toml` in a project said the rule was a duplicate of itself.
    result = invoke("rules", "test", "rules/app-promos.toml", cwd=ROOT)
    assert result.exit_code == 0, result.output
    assert result.output.count("ok   app-promo") == 1
    rules = _folder(tmp_path, "r", PACKED)
    out = tmp_path / "out"
    result = invoke("run", SEEDS, "-o", out, "-q", "--no-builtin-rules", "--rules", rules, "--rules",
                    rules / "r.toml")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert [(f["origin"], f["file"]) for f in summary["rules"]] == [("--rules #1", "r.toml")]


def test_a_symlinked_subfolder_is_followed_once_and_a_loop_is_not(tmp_path):
    team = _folder(tmp_path, "team", PACKED)
    rules = _folder(tmp_path, "mine", ONE_RULE)
    (rules / "team").symlink_to(team)
    (rules / "team-again").symlink_to(team)  # the same folder twice: its rules once
    (team / "up").symlink_to(rules)  # a loop back
    result = run_process("rules", "list", "--no-builtin-rules", "--no-project-rules", "--rules", rules,
                         cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    names = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    assert names[:4] == ["own-rule", "promo-app", "promo-pair", "promo-menus"]
    assert "mine/team/r.toml" in result.stdout and "team-again" not in result.stdout


def test_hidden_names_in_a_rule_folder_are_skipped(tmp_path):
    # An editor's lock link broke every run of the project; a .backup/ copy was a duplicate.
    rules = _folder(tmp_path, "rules", ONE_RULE, "own.toml")
    (rules / ".#own.toml").symlink_to("user@host.1234:1700000000")
    _folder(rules, ".backup", ONE_RULE, "own.toml")
    (tmp_path / "page.txt").write_text("Weiterlesen\n\n" + PAGE, encoding="utf-8")
    result = in_process("run", "page.txt", "-o", "out", "-q", "--no-builtin-rules", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "rule:own-rule" in {r["reason"] for r in read_jsonl(tmp_path / "out" / "removed.jsonl")}
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [f["file"] for f in summary["rules"]] == ["own.toml"]


def test_a_posix_class_is_refused_naming_file_rule_and_what_to_write(tmp_path):
    rules = _folder(tmp_path, "r", '[[rule]]\nname = "digits-comments"\nreason = "comment counter"\n'
                                   "pattern = '^[[:digit:]]* ?comments?$'\nexamples.match = [\"12 comments\"]\n")
    (tmp_path / "page.txt").write_text(PAGE, encoding="utf-8")
    for args in (["run", "page.txt", "-o", "out", "--rules", "r"], ["rules", "test", "r"]):
        result = run_process(*args, cwd=tmp_path, env={**os.environ, "PYTHONWARNINGS": "default"})
        assert result.returncode == 1, result.stderr
        assert ("Error: r/r.toml: rule 'digits-comments': [[:digit:]] is not a POSIX class in a rule's pattern: "
                "patterns are Python's regular expressions, which have no POSIX classes") in result.stderr
        assert "write \\d (any digit) or [0-9] instead" in result.stderr
        assert "Warning" not in result.stderr and "Traceback" not in result.stderr
    rules.joinpath("r.toml").write_text('[[rule]]\nname = "x"\nreason = "r"\npattern = \'^[a--b]$\'\n'
                                        'examples.match = ["a"]\n')
    result = run_process("rules", "test", "r", cwd=tmp_path)
    assert result.returncode == 1 and "Warning" not in result.stderr
    assert "rule 'x': bad regex: Possible set difference at position 3" in result.stderr


@pytest.mark.unit
@pytest.mark.parametrize(("pattern", "refused"), [
    (r"^[:digit:]+ comments?$", "[:digit:]"), ("(?i)[:alpha:]{3}", "[:alpha:]"), (r"x[^:space:]y", "[^:space:]"),
    (r"[:,d]", None), (r"\[:digit:\]", None), ("a:digit:b", None), ("[:digit]", None), ("(?x) a  # [:digit:]", None)])
def test_a_posix_class_without_its_outer_brackets_is_refused_and_a_real_set_is_not(pattern, refused):
    """`[:digit:]` is Python's set of ':', 'd', 'i', 'g' and 't': a rule with it fired on
    every line holding a 'd', and nothing said so. A set that only looks alike (another
    spelling, escaped brackets, inside a comment of a verbose pattern) is taken."""
    from curate.patterns import PatternError, compile_pattern

    if refused is None:
        compile_pattern(pattern, 0)
        return
    with pytest.raises(PatternError) as caught:
        compile_pattern(pattern, 0)
    assert str(caught.value).startswith(f"{refused} is not a POSIX class in a rule's pattern: ")
    assert "write " in str(caught.value) and str(caught.value).endswith(" instead")


def test_a_posix_class_without_its_outer_brackets_names_file_rule_and_what_to_write(tmp_path):
    _folder(tmp_path, "r", '[[rule]]\nname = "digits-comments"\nreason = "comment counter"\n'
                           "pattern = '^[:digit:]+ comments?$'\nexamples.match = [\"12 comments\"]\n")
    result = invoke("rules", "test", "r", cwd=tmp_path)
    assert result.exit_code == 1
    assert ("Error: r/r.toml: rule 'digits-comments': [:digit:] is not a POSIX class in a rule's pattern: patterns "
            "are Python's regular expressions, which read it as one of the characters ':', 'd', 'i', 'g', 't'; "
            "write \\d (any digit) or [0-9] instead") in result.output
