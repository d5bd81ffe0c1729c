"""`curate explain`, `curate rules list` and `curate rules test` through the real CLI."""

from __future__ import annotations

import hashlib
import json

from conftest import ROOT, SEEDS, invoke, read_jsonl

BAD_EXAMPLE = '''
[[rule]]
name = "too-eager"
reason = "test"
pattern = 'comment'
examples.match = ["Leave a comment"]
examples.keep = ["He would not comment on the case."]
'''


def test_explain_shows_each_line_with_its_reason():
    result = invoke("explain", SEEDS / "003_42baa09dbcf2e687.txt", "--width", "40")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "== 003_42baa09dbcf2e687.txt: 8 kept, 9 dropped, 0 quarantined"
    assert any(line.split()[:3] == ["5", "drop", "rule:byline"] for line in lines)
    assert any(line.split()[:3] == ["27", "drop", "rule:comment-widget"] for line in lines)
    assert any(line.split()[:2] == ["13", "keep"] for line in lines)


def test_explain_names_the_duplicate():
    result = invoke("explain", SEEDS / "002_4f028733fb7c46e8.txt", "--only", "drop")
    assert "duplicate of 002_4f028733fb7c46e8.txt:3 (1.00)" in result.output
    assert all(" keep " not in line for line in result.output.splitlines()[1:])


def test_rules_list_shows_source_and_reason():
    result = invoke("rules", "list", cwd=ROOT)
    assert result.exit_code == 0
    rows = {line.split()[0]: line for line in result.output.splitlines() if line and not line.startswith(" ")}
    assert "<builtin>/cookies.toml" in rows["cookie-banner"] and "cookie or consent banner" in rows["cookie-banner"]
    assert "rules/app-promos.toml" in rows["app-promo"]
    assert "from: built-in pack" in result.output


def test_rules_list_marks_disabled_rules():
    result = invoke("rules", "list", "--disable", "byline")
    byline = next(line for line in result.output.splitlines() if line.startswith("byline "))
    assert byline.split()[2] == "off"


def test_rules_test_passes_the_shipped_rules():
    result = invoke("rules", "test", cwd=ROOT)
    assert result.exit_code == 0
    assert "ok   app-promo (4 examples)" in result.output
    assert result.output.rstrip().endswith("rules pass their examples")


def test_rules_test_fails_and_lists_the_failure(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "eager.toml").write_text(BAD_EXAMPLE)
    result = invoke("rules", "test", tmp_path / "r", "--no-builtin-rules")
    assert result.exit_code == 1
    assert (f"FAIL {tmp_path / 'r' / 'eager.toml'}: rule 'too-eager': examples.keep #1 matches, but must not: "
            "'He would not comment on the case.'") in result.output
    assert "0 of 1 rules pass their examples" in result.output


def test_project_rules_named_again_load_once():
    result = invoke("rules", "test", "rules/", cwd=ROOT)
    assert result.exit_code == 0, result.output
    assert result.output.count("ok   app-promo") == 1


ONE_RULE = '''
[[rule]]
name = "printed-with-love"
reason = "a shop's signature line"
pattern = '^printed with love in \\w+$'
examples.match = ["Printed with love in Tallinn"]
examples.keep = ["The book was printed with love in Tallinn by a small press in 1921."]
'''


def test_rules_takes_one_toml_file_as_well_as_a_folder(tmp_path):
    rule_file = tmp_path / "shop.toml"
    rule_file.write_text(ONE_RULE, encoding="utf-8")
    page = tmp_path / "page.txt"
    page.write_text("The shop opened on Monday after two years of building work in the old town.\n\n"
                    "Printed with love in Tallinn\n", encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("run", page, "-o", out, "-q", "--no-project-rules", "--rules", rule_file)
    assert result.exit_code == 0, result.output
    assert [r["reason"] for r in read_jsonl(out / "removed.jsonl")] == ["rule:printed-with-love"]
    summary = json.loads((out / "summary.json").read_text())
    assert {"file": "shop.toml", "origin": "--rules #1", "rules": 1,
            "sha256": hashlib.sha256(rule_file.read_bytes()).hexdigest()} in summary["rules"]
    tested = invoke("rules", "test", rule_file, "--no-builtin-rules")
    assert tested.exit_code == 0 and "ok   printed-with-love (2 examples) [re2]" in tested.output
    listed = invoke("rules", "list", "--no-builtin-rules", "--no-project-rules", "--rules", rule_file)
    assert listed.output.split()[:3] == ["printed-with-love", "line", "on"]


def test_rules_refuses_a_file_not_named_toml(tmp_path):
    other = tmp_path / "shop.txt"
    other.write_text(ONE_RULE, encoding="utf-8")
    result = invoke("run", SEEDS, "-o", tmp_path / "out", "-q", "--rules", other)
    assert result.exit_code == 1
    assert "shop.txt: not a rule file: rule files end in .toml" in result.output
    assert not (tmp_path / "out").exists()


def test_rules_test_leaves_out_project_rules_when_told(tmp_path):
    """`rules test mine/ --no-builtin-rules` beside a ./rules/ tested ./rules/ too and said to
    use --no-project-rules, which `rules test` did not take ("No such option")."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "eager.toml").write_text(BAD_EXAMPLE)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "shop.toml").write_text(ONE_RULE, encoding="utf-8")
    alone = invoke("rules", "test", "mine", "--no-builtin-rules", "--no-project-rules", cwd=tmp_path)
    assert alone.exit_code == 0, alone.output
    assert alone.output == "ok   printed-with-love (2 examples) [re2]\n\n1 of 1 rules pass their examples\n"
    both = invoke("rules", "test", "mine", "--no-builtin-rules", cwd=tmp_path)
    assert both.exit_code == 1
    assert both.output.startswith("note: also using the project rules in ./rules/ (1 file, 1 rule) found in the "
                                  "working directory; --no-project-rules leaves them out\n")
    assert "FAIL rules/eager.toml: rule 'too-eager'" in both.output
    assert "1 of 2 rules pass their examples" in both.output


# What `rules test --help` says of each engine, one pattern per claim, with the engine
# `rules test` reports for it (patterns.py decides). The help once sent every \b and
# lookaround to the backtracking engine, where these run on RE2.
ENGINES = {
    "line": [
        ("\\bsubscribe\\b", "subscribe now", "re2"),  # \b at the edges
        ("^we\\b.{0,60}\\buse cookies", "we and our partners use cookies", "re2"),  # \b in the middle
        ("(?<=x)subscribe", "xsubscribe", "re2"),  # a one-character lookaround at the start
        ("(?<!\\w)subscribe(?!\\w)", "subscribe", "re2"),  # ... at both ends
        ("^(\\w+) \\1$", "bye bye", "backtracking"),  # a backreference
        ("sub(?=s)scribe", "subscribe", "backtracking"),  # a lookaround in the middle
        ("(?<=xy)subscribe", "xysubscribe", "backtracking"),  # a longer one
        ("\\Bscribe", "subscribe", "backtracking"),  # \B beside characters not known
        ("(?>sub)scribe", "subscribe", "backtracking"),  # an atomic group
        ("(?:foo|x?\\b)bar", "a bar", "backtracking; re2 on ASCII lines"),  # \b beside what can match nothing
    ],
    "block": [
        ("^subscribe\\b[^\\n]*\\n[^\\n]+$", "subscribe now\\nor later", "backtracking; re2 on ASCII lines"),
    ],
}


def test_rules_test_names_the_engine_its_help_says(tmp_path):
    rules = []
    expected = []
    for scope, cases in ENGINES.items():
        for n, (pattern, example, engine) in enumerate(cases):
            lines = "lines = 2\n" if scope == "block" else ""
            rules.append(f"[[rule]]\nname = \"{scope}-{n}\"\nreason = \"t\"\nscope = \"{scope}\"\n{lines}"
                         f"pattern = '''{pattern}'''\nexamples.match = [\"{example}\"]\n")
            expected.append(f"ok   {scope}-{n} (1 examples) [{engine}]")
    (tmp_path / "engines.toml").write_text("\n".join(rules), encoding="utf-8")
    result = invoke("rules", "test", tmp_path / "engines.toml", "--no-builtin-rules", "--no-project-rules")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:len(expected)] == expected
    helped = " ".join(invoke("rules", "test", "--help").output.split())
    assert ("[re2] (linear time, whatever the line) for every pattern RE2 can say exactly, which in a line rule "
            "includes \\b (at its edges, and in its middle") in helped
    assert "one-character lookaround at its start or end" in helped
    assert "[backtracking] (a time limit per line) for the rest: backreferences, any other lookaround" in helped
