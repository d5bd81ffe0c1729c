"""Rule files are user input: no pattern may hang a run, no rule file may crash or exhaust
it, and summary.json says which rule files were used, the same way on every machine."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
from pathlib import Path

import pytest
from conftest import in_process, invoke, read_corpus, read_jsonl, run_process

# On the backtracking engine (a lookbehind), and exponential there: (a|aa)+ splits a run of
# a's in Fibonacci-many ways, each refused by the lookbehind. Its examples pass at once.
SLOW_RULE = """
[[rule]]
name = "slow-rule"
reason = "a rule that backtracks catastrophically"
pattern = '^(?:a|aa)+(?<=b)|^spam!$'
examples.match = ["spam!"]
examples.keep = ["an ordinary sentence"]
"""
HOSTILE_LINE = "a" * 40 + "!"
CONTENT = "A sentence of real content that must survive whatever sits next to it in the folder."
TIME_LIMIT = 120  # seconds: a hang would take minutes to hours


def _rule_folder(tmp_path: Path, text: str, name: str = "slow.toml") -> Path:
    folder = tmp_path / "rules-in"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def _inputs(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    src.mkdir()
    (src / "a-good.txt").write_text(f"{CONTENT}\n\nspam!\n", encoding="utf-8")
    (src / "b-hostile.txt").write_text(f"{CONTENT}\nspam!\n{HOSTILE_LINE}\nspam!\n{CONTENT} Again.\n",
                                       encoding="utf-8")
    (src / "c-good.txt").write_text("Another line of content, long enough to be kept as it is.\nspam!\n",
                                    encoding="utf-8")
    return src


def _nonblank(path: Path) -> int:
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def _assert_accounting(src: Path, out: Path) -> None:
    """For every input file: kept + removed + quarantined lines = non-blank lines read."""
    counts: dict[str, int] = {}
    for rec in read_corpus(out):
        counts[rec["source"]] = counts.get(rec["source"], 0) + len(rec["lines"])
    for rec in read_jsonl(out / "removed.jsonl"):
        counts[rec["source"]] = counts.get(rec["source"], 0) + 1
    for rec in read_jsonl(out / "quarantine.jsonl"):
        counts[rec["source"]] = counts.get(rec["source"], 0) + rec["lines"]
    for path in sorted(src.rglob("*.txt")):
        assert counts.get(path.name, 0) == _nonblank(path), path.name


@pytest.mark.parametrize("workers", ["1", "2"])
def test_catastrophic_pattern_is_stopped_named_and_skipped(tmp_path, workers):
    src, rules = _inputs(tmp_path), _rule_folder(tmp_path, SLOW_RULE)
    out = tmp_path / "out"
    result = run_process("run", src, "-o", out, "--rules", rules, "--workers", workers, "--no-builtin-rules",
                         timeout=TIME_LIMIT)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    [problem] = read_jsonl(out / "quarantine.jsonl")
    assert problem["source"] == "b-hostile.txt" and problem["line"] == 3 and problem["lines"] == 0
    assert "rule 'slow-rule' (--rules #1: slow.toml) ran over its time limit" in problem["problem"]
    assert "--disable slow-rule" in problem["action"] and problem["preview"] == HOSTILE_LINE
    assert "warning: b-hostile.txt:3: rule 'slow-rule'" in result.stderr
    removed = {(r["source"], r["line"]): r["reason"] for r in read_jsonl(out / "removed.jsonl")}
    # before the timeout the rule works; after it, it is skipped for the rest of that document only
    assert removed[("b-hostile.txt", 2)] == "rule:slow-rule" and ("b-hostile.txt", 4) not in removed
    assert removed[("a-good.txt", 3)] == removed[("c-good.txt", 2)] == "rule:slow-rule"
    kept = {r["source"]: r["text"] for r in read_corpus(out)}
    assert HOSTILE_LINE in kept["b-hostile.txt"]  # left to the other rules (there are none)
    _assert_accounting(src, out)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["lines"]["quarantined"] == 0 and len(summary["problems"]) == 1
    # the other documents come out as they do without the hostile one
    clean_src = tmp_path / "clean"
    clean_src.mkdir()
    for name in ("a-good.txt", "c-good.txt"):
        (clean_src / name).write_bytes((src / name).read_bytes())
    clean = tmp_path / "clean-out"
    assert run_process("run", clean_src, "-o", clean, "--rules", rules, "--no-builtin-rules", "-q",
                       timeout=TIME_LIMIT).returncode == 0
    assert [r for r in read_corpus(out) if r["source"] != "b-hostile.txt"] == \
        read_corpus(clean)


def test_explain_reports_the_rule_over_its_time_limit(tmp_path):
    src, rules = _inputs(tmp_path), _rule_folder(tmp_path, SLOW_RULE)
    result = run_process("explain", src / "b-hostile.txt", "--rules", rules, "--no-builtin-rules",
                         timeout=TIME_LIMIT)
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert "rule 'slow-rule' (--rules #1: slow.toml) ran over its time limit" in result.stdout
    assert "rule:slow-rule" in result.stdout


@pytest.mark.parametrize("kind", ["match", "keep"])
def test_a_catastrophic_example_fails_the_rule_instead_of_hanging(tmp_path, kind):
    extra = ", " + repr(HOSTILE_LINE) if kind == "keep" else ""
    rule = SLOW_RULE.replace('examples.keep = ["an ordinary sentence"]',
                             f'examples.keep = ["an ordinary sentence"{extra}]')
    if kind == "match":
        rule = rule.replace('examples.match = ["spam!"]', f'examples.match = ["spam!", "{HOSTILE_LINE}"]')
    rules = _rule_folder(tmp_path, rule)
    tested = run_process("rules", "test", rules, "--no-builtin-rules", timeout=TIME_LIMIT)
    assert tested.returncode == 1 and "Traceback" not in tested.stderr
    assert f"rule 'slow-rule': examples.{kind} #2 takes more than 0.5 s to match" in tested.stdout
    out = tmp_path / "out"
    run = run_process("run", _inputs(tmp_path), "-o", out, "--rules", rules, timeout=TIME_LIMIT)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "slow.toml: rule 'slow-rule': examples." in run.stderr and not out.exists()


def test_nested_quantifier_rule_runs_in_linear_time_on_re2(tmp_path):
    """The issue's ^(a+)+$ runs on RE2: no budget needed, the verdict is Python's."""
    rules = _rule_folder(tmp_path, SLOW_RULE.replace("^(?:a|aa)+(?<=b)|^spam!$", "^(a+)+$").replace(
        '["spam!"]', '["aaaa"]'))
    src = tmp_path / "in"
    src.mkdir()
    (src / "page.txt").write_text(f"{CONTENT}\n{HOSTILE_LINE}\n{'a' * 5000}\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run_process("run", src, "-o", out, "--rules", rules, "--no-builtin-rules", "-q", timeout=TIME_LIMIT)
    assert result.returncode == 0, result.stderr
    assert [r["line"] for r in read_jsonl(out / "removed.jsonl")] == [3]
    assert read_jsonl(out / "quarantine.jsonl") == []
    tested = run_process("rules", "test", rules, "--no-builtin-rules", timeout=TIME_LIMIT)
    assert "ok   slow-rule (2 examples) [re2]" in tested.stdout


def test_rules_test_says_when_a_backtracking_rule_runs_on_re2_for_ascii_lines(tmp_path):
    rules = _rule_folder(tmp_path, SLOW_RULE.replace("^(?:a|aa)+(?<=b)|^spam!$", r"^(we|wir)(?:\s?\bspam|!)")
                         .replace('"spam!"', '"We spam"'))
    result = invoke("rules", "test", rules, "--no-builtin-rules")
    assert "ok   slow-rule (2 examples) [backtracking; re2 on ASCII lines]" in result.output, result.output


def test_rules_test_says_a_word_bound_in_the_middle_runs_on_re2(tmp_path):
    """A \\b between a word and `.{0,20}` is rewritten for RE2 (pattern_bounds): the
    rule runs there on every line, ASCII or not."""
    rules = _rule_folder(tmp_path, SLOW_RULE.replace("^(?:a|aa)+(?<=b)|^spam!$", r"^(we|wir)\b.{0,20}\bspam\b")
                         .replace('"spam!"', '"Wir verkaufen spam"'))
    result = invoke("rules", "test", rules, "--no-builtin-rules")
    assert "ok   slow-rule (2 examples) [re2]" in result.output, result.output


def test_rules_test_flags_exponential_backtracking_patterns(tmp_path):
    rules = _rule_folder(tmp_path, SLOW_RULE)
    result = invoke("rules", "test", rules, "--no-builtin-rules")
    assert "ok   slow-rule (2 examples) [backtracking]" in result.output
    assert f"RISK {rules / 'slow.toml'}: rule 'slow-rule': a repeat whose iterations vary" in result.output
    other = tmp_path / "other"
    other.mkdir()
    (other / "alternation.toml").write_text(SLOW_RULE.replace("(?:a|aa)+", "(?:ab|[ab]b)+"), encoding="utf-8")
    result = invoke("rules", "test", other, "--no-builtin-rules")
    assert "rule 'slow-rule': a repeated alternation whose branches can start alike" in result.output


def test_rules_test_says_what_a_bounded_repeat_of_a_word_class_costs_and_what_to_write(tmp_path):
    """[\\w ]{1,200} is two hundred copies of \\w written out for RE2: a program compiled at the
    start of every process. The same rule bounded by words is not flagged."""
    costly = SLOW_RULE.replace("^(?:a|aa)+(?<=b)|^spam!$", r"^please\ enter\ your\ [\w\ ]{1,200}$").replace(
        '"spam!"', '"please enter your email address"')
    rules = _rule_folder(tmp_path, costly)
    result = invoke("rules", "test", rules, "--no-builtin-rules")
    assert result.exit_code == 0, result.output
    cost = [line for line in result.output.splitlines() if line.startswith("COST")]
    assert len(cost) == 1 and f"COST {rules / 'slow.toml'}: rule 'slow-rule': its RE2 program has" in cost[0]
    assert "bound it by words" in cost[0]
    size = int(cost[0].split("has ", 1)[1].split(" instructions")[0].replace(",", ""))
    assert size > 150_000
    fixed = tmp_path / "fixed"
    fixed.mkdir()
    (fixed / "slow.toml").write_text(costly.replace(r"[\w\ ]{1,200}", r"\w+(\ \w+){0,5}"), encoding="utf-8")
    result = invoke("rules", "test", fixed, "--no-builtin-rules")
    assert result.exit_code == 0 and "COST" not in result.output and "ok   slow-rule" in result.output, result.output


def test_builtin_pack_runs_on_re2_or_passes_the_exponential_check():
    result = invoke("rules", "test")
    assert result.exit_code == 0 and "RISK" not in result.output and "COST" not in result.output
    engines = {line.split()[1]: line.rsplit("[", 1)[1].rstrip("]")
               for line in result.output.splitlines() if line.startswith("ok ")}
    assert engines["pagination"] == "re2"
    assert set(engines.values()) <= {"re2", "backtracking", "backtracking; re2 on ASCII lines", "detector",
                                     "statistic"} and len(engines) >= 40
    assert engines["cookie-banner"] == "re2"  # its \b beside `.{0,60}`, rewritten (pattern_bounds)
    assert engines["teaser-card"] == "backtracking"  # a back-reference: the headline shown twice


def _page_number_line(last: int = 129) -> str:
    """The shape of the noise-train line that made the built-in pagination rule spin for
    minutes: a run of page numbers, then a word."""
    return " ".join(str(n) for n in range(1, last + 1)) + " Page"


def test_pagination_rule_on_a_long_run_of_page_numbers_finishes(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    lines = [CONTENT, _page_number_line(), _page_number_line(400), "1 2 3 … 10 »", CONTENT + " More."]
    (src / "directory.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run_process("run", src, "-o", out, "-q", timeout=TIME_LIMIT)
    assert result.returncode == 0, result.stderr
    assert read_jsonl(out / "quarantine.jsonl") == []
    removed = {r["line"]: r["reason"] for r in read_jsonl(out / "removed.jsonl")}
    assert removed[4] == "rule:pagination"
    assert removed.get(2) != "rule:pagination" and removed.get(3) != "rule:pagination"  # "Page" ends no pager
    _assert_accounting(src, out)


# The article region's cost of a run of removed lines shrinks by junk_decay a line: a
# junk_decay past 1 grew it instead, past any float on a long enough run.
GROWING_DECAY = ('[[rule]]\nname = "my-region"\nreason = "outside the article"\nscope = "page"\n'
                 'detector = "article-region"\nparams = {{ junk_decay = {decay} }}\n'
                 'examples.match = ["Page title\\n\\nNews\\nSport\\n\\nFirst paragraph of the article, with '
                 'enough words to be prose.\\n\\nSecond paragraph of the story goes on for a while and ends '
                 'here.\\n\\nMore from us\\n\\nImprint"]\n')


def test_a_page_rule_whose_cost_grows_along_a_run_is_refused_before_it_overflows(tmp_path):
    # junk_decay = 1.5 loaded, and the run ended in an OverflowError traceback on a page
    # with 2,000 share buttons in a row (each removed by a built-in rule). Refused at
    # load now, with what to write; 1, the most the range allows, runs the same page.
    src = tmp_path / "in"
    src.mkdir()
    (src / "buttons.txt").write_text("\n".join(["How to repot an orchid", "", CONTENT, "",
                                                *["Share on Facebook"] * 2000]) + "\n", encoding="utf-8")
    folder = _rule_folder(tmp_path, GROWING_DECAY.format(decay=1.5), "region.toml")
    result = run_process("run", src, "-o", tmp_path / "out", "--rules", folder, timeout=TIME_LIMIT)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert (f"Error: {folder / 'region.toml'}: rule 'my-region': parameter 'junk_decay' of detector "
            "'article-region' must be a factor from 0 to 1, not 1.5; e.g. junk_decay = 0.7 (1: every line of "
            "a run costs junk_penalty)") in result.stderr
    assert not (tmp_path / "out").exists()
    (folder / "region.toml").write_text(GROWING_DECAY.format(decay=1.0), encoding="utf-8")
    result = run_process("run", src, "-o", tmp_path / "out", "-q", "--rules", folder, timeout=TIME_LIMIT)
    assert result.returncode == 0, result.stderr
    (page,) = read_corpus(tmp_path / "out")
    assert [line["line"] for line in page["lines"]] == [1, 3]  # the title and the content; every button goes
    _assert_accounting(src, tmp_path / "out")


# --- unusual rule files: the usual "file: rule: fault" error, never a traceback ----------

def _deep_toml() -> str:
    return "x = " + "[" * 5000 + "]" * 5000 + "\n"


def _dotted_key() -> str:
    return ".".join(["a"] * 100_000) + " = 1\n"


UNUSUAL = {
    "huge-repeat": (SLOW_RULE.replace("^(?:a|aa)+(?<=b)|^spam!$", "a{4294967296}"),
                    "rule 'slow-rule': bad regex: the repetition number is too large"),
    "nested-groups": (SLOW_RULE.replace("^(?:a|aa)+(?<=b)|^spam!$", "(" * 5000 + "spam!" + ")" * 5000),
                      "rule 'slow-rule': bad regex: groups nested too deeply"),
    "nested-groups-100": (SLOW_RULE.replace("^(?:a|aa)+(?<=b)|^spam!$", "(" * 150 + "spam!" + ")" * 150),
                          "nested more than 100 levels deep"),
    "deep-toml": (_deep_toml(), "line 1: arrays or tables nested more than 32 deep"),
    "dotted-key": (_dotted_key(), "line 1: a dotted key of more than 64 parts"),
    "too-big": ("# " + "x" * (1 << 20) + "\n", "a rule file may hold at most 1,048,576"),
    "not-utf8": (None, "not UTF-8"),
}


@pytest.mark.parametrize("case", sorted(UNUSUAL))
def test_unusual_rule_file_is_a_rule_error(tmp_path, case):
    text, message = UNUSUAL[case]
    folder = tmp_path / "rules-in"
    folder.mkdir()
    if text is None:
        (folder / "odd.toml").write_bytes(b"# caf\xe9\n[[rule]]\n")
    else:
        (folder / "odd.toml").write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = in_process("run", _inputs(tmp_path), "-o", out, "--rules", folder)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"Error: {folder / 'odd.toml'}: " in result.stderr and message in result.stderr
    assert not out.exists()


@pytest.mark.unit
def test_the_built_in_files_pass_the_shape_check_a_run_skips_for_them():
    """A run parses the built-in files without the shape check (they are the package's own:
    45 ms of every start); here they pass it, so an edit that broke it is caught."""
    from curate.rules import builtin_rule_files, check_toml_shape

    files = builtin_rule_files()
    assert len(files) > 20
    for text in files:
        check_toml_shape(text.display, text.data.decode("utf-8"))


def test_a_rule_file_saved_with_a_byte_order_mark_is_read(tmp_path):
    """Windows Notepad starts a UTF-8 file with a byte order mark: it was "not valid TOML:
    Invalid statement (at line 1, column 1)"."""
    folder = tmp_path / "rules-in"
    folder.mkdir()
    (folder / "bom.toml").write_bytes(b"\xef\xbb\xbf" + SLOW_RULE.encode())
    result = in_process("rules", "test", "--no-builtin-rules", folder)
    assert result.returncode == 0 and "ok   slow-rule" in result.stdout, result.stderr
    out = tmp_path / "out"
    result = in_process("run", _inputs(tmp_path), "-o", out, "--rules", folder, "--no-builtin-rules")
    assert result.returncode == 0, result.stderr
    assert "rule:slow-rule" in {r["reason"] for r in read_jsonl(out / "removed.jsonl")}
    (folder / "bom.toml").write_bytes(SLOW_RULE.encode("utf-16"))
    result = in_process("rules", "test", "--no-builtin-rules", folder)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"Error: {folder / 'bom.toml'}: saved as UTF-16; save it as UTF-8" in result.stderr


def test_rules_naming_a_self_referencing_symlink(tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    result = in_process("run", _inputs(tmp_path), "-o", tmp_path / "out", "--rules", loop)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"Error: {loop}: symlink loop" in result.stderr


def test_fifo_named_toml_in_a_rule_folder_is_refused_not_waited_on(tmp_path):
    folder = _rule_folder(tmp_path, SLOW_RULE)
    os.mkfifo(folder / "pipe.toml")
    result = run_process("run", _inputs(tmp_path), "-o", tmp_path / "out", "--rules", folder, timeout=TIME_LIMIT)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"Error: {folder / 'pipe.toml'}: not a regular file" in result.stderr


def test_fifo_in_project_rules_is_refused_too(tmp_path):
    project = tmp_path / "project"
    (project / "rules").mkdir(parents=True)
    os.mkfifo(project / "rules" / "pipe.toml")
    result = run_process("rules", "list", cwd=project, timeout=TIME_LIMIT)
    assert result.returncode == 1 and "rules/pipe.toml: not a regular file" in result.stderr


def test_rules_folder_without_rule_files_is_an_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a rule file")
    result = invoke("run", _inputs(tmp_path), "-o", tmp_path / "out", "--rules", empty)
    assert result.exit_code == 1
    assert f"{empty}: no *.toml rule files in this folder" in result.output
    assert not (tmp_path / "out").exists()


# --- where the rules come from -------------------------------------------------------------

GOOD_RULE = """
[[rule]]
name = "app-promo-test"
reason = "app promotion"
pattern = '^download our app\\b'
examples.match = ["Download our app now"]
"""


def test_summary_names_each_rule_file_the_same_however_it_was_spelled(tmp_path):
    project = tmp_path / "project"
    (project / "my-rules" / "sub").mkdir(parents=True)
    (project / "my-rules" / "sub" / "promo.toml").write_text(GOOD_RULE, encoding="utf-8")
    src = _inputs(project)
    summaries = []
    for spelling in ("my-rules", "./my-rules/", str(project / "my-rules"), "my-rules/sub/.."):
        out = tmp_path / f"out-{len(summaries)}"
        result = in_process("run", src, "-o", out, "--rules", spelling, "-q", cwd=project)
        assert result.returncode == 0, result.stderr
        summaries.append((out / "summary.json").read_bytes())
    assert len(set(summaries)) == 1
    rules = json.loads(summaries[0])["rules"]
    digest = hashlib.sha256((project / "my-rules" / "sub" / "promo.toml").read_bytes()).hexdigest()
    assert rules[-1] == {"origin": "--rules #1", "file": "sub/promo.toml", "sha256": digest, "rules": 1}
    assert {r["origin"] for r in rules[:-1]} == {"built-in"} and rules[0]["file"] == "accounts.toml"
    # Nothing names this machine's folders but the input roots, which must (to resolve sources).
    assert str(tmp_path) not in json.dumps({k: v for k, v in json.loads(summaries[0]).items() if k != "inputs"})


def test_project_rules_picked_up_implicitly_are_announced(tmp_path):
    project = tmp_path / "project"
    (project / "rules").mkdir(parents=True)
    (project / "rules" / "promo.toml").write_text(GOOD_RULE, encoding="utf-8")
    src = _inputs(project)
    loud = in_process("run", src, "-o", tmp_path / "a", cwd=project)
    assert "note: also using the project rules in ./rules/ (1 file, 1 rule)" in loud.stderr
    assert "--no-project-rules" in loud.stderr
    quiet = in_process("run", src, "-o", tmp_path / "b", "-q", cwd=project)
    assert "note:" not in quiet.stderr
    rules = json.loads((tmp_path / "b" / "summary.json").read_text())["rules"]
    assert rules[-1]["origin"] == "project ./rules" and rules[-1]["file"] == "promo.toml"
    skipped = in_process("run", src, "-o", tmp_path / "c", "--no-project-rules", cwd=project)
    assert "note:" not in skipped.stderr
    assert all(r["origin"] == "built-in" for r in json.loads((tmp_path / "c" / "summary.json").read_text())["rules"])


@pytest.mark.unit
def test_rule_is_a_frozen_dataclass_whose_fields_describe_it():
    from curate.rules import Rule, load_rules

    ruleset = load_rules([])
    rule = next(r for r in ruleset.rules if r.name == "pagination")
    assert dataclasses.is_dataclass(Rule) and Rule.__dataclass_params__.frozen
    names = {f.name for f in dataclasses.fields(Rule)}
    assert {"name", "reason", "scope", "regex", "max_words", "min_words", "lines", "literals", "enabled"} <= names
    assert pickle.loads(pickle.dumps(rule)) == rule
    assert rule.regex.fingerprint()["engine"] == "re2" and rule.regex.fingerprint()["flags"] & 2  # IGNORECASE
