"""Load rule files into a RuleSet and prove every rule against its own examples.

A rule file is TOML with one ``[[rule]]`` table per rule. Everything is checked
before the first document is read; any fault raises RuleError naming file,
rule and fault. Matching lives in noise.py.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib import resources
from pathlib import Path

from curate.errors import RuleError

NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
SCOPES = ("line", "block", "page")
KEYS = {
    "name", "reason", "scope", "pattern", "phrases", "max_words", "min_words", "lines",
    "case_sensitive", "enabled", "examples", "whole_line", "detector", "params", "requires",
}
EXAMPLE_KEYS = {"match", "keep"}
MAX_BLOCK_LINES = 12


@dataclass(frozen=True)
class Rule:
    name: str
    reason: str
    scope: str
    regex: re.Pattern | None  # None for a page rule, which runs a detector instead
    source: str  # file the rule came from, as shown to the user
    max_words: int | None = None
    min_words: int | None = None
    lines: int = 1  # window size of a block rule
    examples_match: tuple[str, ...] = ()
    examples_keep: tuple[str, ...] = ()
    enabled: bool = True
    # Lowercase literals one of which must occur in a line for the regex to be worth
    # running; empty means always run. Set only for phrase rules.
    literals: tuple[str, ...] = ()
    detector: object | None = None  # a curate.detectors instance, for scope = "page"


@dataclass
class RuleSet:
    rules: list[Rule] = field(default_factory=list)
    sources: list[tuple[str, int]] = field(default_factory=list)  # (origin, rules loaded)

    @property
    def active(self) -> list[Rule]:
        return [r for r in self.rules if r.enabled]

    @cached_property
    def in_order(self) -> list[Rule]:
        """Active rules in the order they run: line and block rules, then page rules, then
        the page rules that read everything the others removed (the article region); file
        order within each group."""
        def phase(rule: Rule) -> int:
            if rule.scope != "page":
                return 0
            return 2 if getattr(rule.detector, "runs_last", False) else 1

        return sorted(self.active, key=phase)

    def names(self) -> list[str]:
        return [r.name for r in self.rules]


def builtin_rule_files() -> list[tuple[str, str]]:
    """(display name, TOML text) of the built-in pack, in name order."""
    pack = resources.files("curate") / "rules"
    out = []
    for entry in sorted(pack.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            out.append((f"<builtin>/{entry.name}", entry.read_text(encoding="utf-8")))
    return out


def folder_rule_files(folder: Path) -> list[tuple[str, str]]:
    if not folder.is_dir():
        raise RuleError(str(folder), "not a folder of rule files; pass a folder that holds *.toml files")
    out = []
    for path in sorted(folder.rglob("*.toml")):
        try:
            out.append((str(path), path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as err:
            raise RuleError(str(path), f"cannot read: {err}") from err
    return out


def load_rules(
    folders: list[Path] = (),  # type: ignore[assignment]
    builtin: bool = True,
    disabled: tuple[str, ...] = (),
    check_examples: bool = True,
) -> RuleSet:
    """Load the built-in pack (unless turned off) and each folder, in that order."""
    ruleset = RuleSet()
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    if builtin:
        groups.append(("built-in pack", builtin_rule_files()))
    seen: set[Path] = set()
    for folder in folders:
        if Path(folder).resolve() in seen:
            continue  # ./rules given again with --rules: load it once
        seen.add(Path(folder).resolve())
        groups.append((str(folder), folder_rule_files(Path(folder))))
    where: dict[str, str] = {}
    for origin, files in groups:
        count = 0
        for display, text in files:
            for rule in parse_rule_file(display, text):
                if rule.name in where:
                    raise RuleError(display, f"duplicate rule name; it is already defined in {where[rule.name]}. "
                                    "Rename one of them", rule.name)
                where[rule.name] = display
                ruleset.rules.append(rule)
                count += 1
        ruleset.sources.append((origin, count))
    unknown = sorted(set(disabled) - set(where))
    if unknown:
        raise RuleError("--disable", f"no rule named {', '.join(unknown)}; `curate rules list` shows the names")
    if disabled:
        ruleset.rules = [_replace(r, enabled=False) if r.name in disabled else r for r in ruleset.rules]
    if check_examples:
        for rule in ruleset.rules:
            check_rule_examples(rule)
    return ruleset


def _replace(rule: Rule, **changes) -> Rule:
    return replace(rule, **changes)


def parse_rule_file(display: str, text: str) -> list[Rule]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise RuleError(display, f"not valid TOML: {err}") from err
    extra = sorted(set(data) - {"rule"})
    if extra:
        raise RuleError(display, f"unknown top-level key {extra[0]!r}; a rule file holds only [[rule]] tables")
    tables = data.get("rule", [])
    if not isinstance(tables, list):
        raise RuleError(display, "'rule' must be an array of tables: write [[rule]], not [rule]")
    return [_parse_rule(display, i, table) for i, table in enumerate(tables, start=1)]


def _parse_rule(display: str, number: int, table: dict) -> Rule:
    name = table.get("name")
    label = name if isinstance(name, str) else f"#{number}"

    def fail(msg: str) -> RuleError:
        return RuleError(display, msg, label)

    if not isinstance(name, str) or not NAME.match(name):
        raise fail("'name' must be lowercase letters, digits and hyphens, e.g. name = \"cookie-banner\"")
    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise fail(f"unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(KEYS))}")
    reason = table.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise fail("'reason' is required: say in words what kind of noise this is")
    scope = table.get("scope", "line")
    if scope not in SCOPES:
        raise fail(f"scope {scope!r} is unknown; choose from: {', '.join(SCOPES)}")
    examples_match, examples_keep = _examples(table, fail)
    enabled = _typed(table, "enabled", bool, True, fail)
    if scope == "page":
        return _parse_page_rule(table, name, reason.strip(), display, examples_match, examples_keep, enabled, fail)
    if "detector" in table or "params" in table:
        raise fail("'detector' and 'params' belong to page rules: add scope = \"page\"")
    case_sensitive = _typed(table, "case_sensitive", bool, False, fail)
    flags = 0 if case_sensitive else re.IGNORECASE
    pattern, phrases = table.get("pattern"), table.get("phrases")
    if "whole_line" in table and phrases is None:
        raise fail("'whole_line' works with 'phrases'; anchor a 'pattern' with ^...$ instead")
    if (pattern is None) == (phrases is None):
        raise fail("give exactly one of 'pattern' (a regular expression) or 'phrases' (a list of strings)")
    literals: tuple[str, ...] = ()
    if pattern is not None:
        if not isinstance(pattern, str) or not pattern:
            raise fail("'pattern' must be a non-empty string")
        source = pattern
    else:
        if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
            raise fail("'phrases' must be a non-empty list of non-empty strings")
        if scope != "line":
            raise fail("'phrases' work on single lines; use 'pattern' for a block rule")
        alternatives = "|".join(re.escape(p.strip()) for p in sorted(phrases, key=len, reverse=True))
        whole_line = _typed(table, "whole_line", bool, False, fail)
        if whole_line:
            # The whole line is the phrase, give or take punctuation, arrows and bullets.
            source = r"^[\W_]*(?:" + alternatives + r")[\W_]*$"
        else:
            # Word-bounded so that a phrase never matches inside a longer word.
            source = r"(?<!\w)(?:" + alternatives + r")(?!\w)"
        if not case_sensitive and not whole_line:
            literals = tuple(sorted({p.strip().lower() for p in phrases}))
    try:
        regex = re.compile(source, flags | (re.MULTILINE if scope == "block" else 0))
    except re.error as err:
        raise fail(f"bad regex: {err}") from err
    if regex.search(""):
        raise fail("the pattern matches an empty line, so it would match everything; anchor it or make it longer")
    lines = _typed(table, "lines", int, 1, fail)
    if scope == "block" and not 2 <= lines <= MAX_BLOCK_LINES:
        raise fail(f"a block rule needs 'lines' between 2 and {MAX_BLOCK_LINES} (the window it looks at)")
    if scope == "line" and "lines" in table:
        raise fail("'lines' is for block rules only")
    requires = table.get("requires")
    if requires is not None:
        if scope != "line" or pattern is None:
            raise fail("'requires' is a prefilter for line rules with a 'pattern'")
        if not isinstance(requires, list) or not requires or not all(isinstance(x, str) and x for x in requires):
            raise fail("'requires' must be a non-empty list of strings, one of which every match contains")
        # Checked on the lowercased line before the pattern runs: a cheap way past most lines.
        literals = tuple(sorted({x.lower() for x in requires}))
    max_words = _typed(table, "max_words", int, None, fail)
    min_words = _typed(table, "min_words", int, None, fail)
    if phrases is not None and whole_line and max_words is None:
        # A line that is one phrase has about as many words; skip longer lines unsearched.
        max_words = max(len(p.split()) for p in phrases) + 4
    return Rule(
        name=name, reason=reason.strip(), scope=scope, regex=regex, source=display,
        max_words=max_words, min_words=min_words, lines=lines,
        examples_match=examples_match, examples_keep=examples_keep, enabled=enabled, literals=literals,
    )


def _examples(table: dict, fail) -> tuple[tuple[str, ...], tuple[str, ...]]:
    examples = table.get("examples", {})
    if not isinstance(examples, dict) or set(examples) - EXAMPLE_KEYS:
        raise fail("'examples' takes only 'match' and 'keep', each a list of strings")
    match, keep = examples.get("match", []), examples.get("keep", [])
    for key, value in (("match", match), ("keep", keep)):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(f"examples.{key} must be a list of strings")
    if not match:
        raise fail("give at least one examples.match: a rule proves itself on its own examples")
    return tuple(match), tuple(keep)


def _parse_page_rule(table, name, reason, display, examples_match, examples_keep, enabled, fail) -> Rule:
    from curate.detectors import build_detector

    for key in ("pattern", "phrases", "whole_line", "lines", "max_words", "min_words", "case_sensitive"):
        if key in table:
            raise fail(f"{key!r} does not apply to a page rule; a page rule runs a detector, tuned by 'params'")
    kind, params = table.get("detector"), table.get("params", {})
    if not isinstance(kind, str):
        raise fail("a page rule needs detector = \"<name>\", e.g. detector = \"link-run\"")
    if not isinstance(params, dict):
        raise fail("'params' must be a table, e.g. params = { min_lines = 4 }")
    try:
        instance = build_detector(kind, params)
    except ValueError as err:
        raise fail(str(err)) from err
    return Rule(name=name, reason=reason, scope="page", regex=None, source=display,
                examples_match=examples_match, examples_keep=examples_keep, enabled=enabled, detector=instance)


def _typed(table: dict, key: str, kind: type, default, fail):
    value = table.get(key, default)
    if value is default:
        return value
    # bool is a subclass of int: reject `lines = true` as firmly as `lines = "3"`.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise fail(f"{key!r} must be {'an integer' if kind is int else 'true or false'}")
    if kind is int and value < 1:
        raise fail(f"{key!r} must be at least 1")
    return value


def example_failures(rule: Rule) -> list[str]:
    """Every way the rule fails its own examples (empty when it passes)."""
    from curate.noise import rule_hits_text

    failures = []
    for i, example in enumerate(rule.examples_match, start=1):
        if not rule_hits_text(rule, example):
            failures.append(f"examples.match #{i} does not match: {example!r}")
    for i, example in enumerate(rule.examples_keep, start=1):
        if rule_hits_text(rule, example):
            failures.append(f"examples.keep #{i} matches, but must not: {example!r}")
    return failures


def check_rule_examples(rule: Rule) -> None:
    """Raise RuleError unless the rule fires on every match example and on no keep example."""
    failures = example_failures(rule)
    if failures:
        raise RuleError(rule.source, failures[0], rule.name)
