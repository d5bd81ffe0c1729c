"""Every RE2 line rule of a rule set over a line in one call (RE2's FilteredRE2).

Asking each line rule in turn cost a Python step per rule and line: ~45 µs a line for the
built-in rules, most of it the loop, not the matching. FilteredRE2 extracts from each
pattern the literal strings ("atoms") one of which any match must contain, finds all the
atoms of a line in one scan, and runs only the patterns whose atoms are there (and those
that have none), each with its own compiled RE2: the answer is exact, the rules that
match. Word bounds and the phrase rules' literal prefilter are applied afterwards, as
`noise.line_rule_hits` applies them, so every rule hits the same lines either way
(tests/test_rule_filter.py checks that against the rule-by-rule path).

The atoms are found by an RE2::Set of literals that the binding builds with RE2's
default memory budget. Its DFA adds at most one state per byte of a line, so lines of
at most MAX_LINE_BYTES stay well inside the cache; longer lines, and the few that RE2
does not take (a lone surrogate; a trailing newline, which no line has), go rule by rule.
That budget is per filter, and the atoms of every rule share it: past ~30 built-in rules
(their phrases in 20 languages) the set's DFA outgrew it on long lines, was thrown away
and rebuilt within a line, and the filter cost 4x the time of two filters over half the
rules each. So the rules are split into parts of at most PART_RULES, one filter each.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from functools import lru_cache
from typing import TYPE_CHECKING

from curate.common_alphabet import in_common
from curate.patterns import RE2_MAX_MEM, _re2_module, adopt_re2_program

if TYPE_CHECKING:
    from curate.rules import Rule, RuleSet

MAX_LINE_BYTES = 2048
# Rules per filter. Measured on 57 built-in rules (best of three, warm, µs a line): one
# filter 39.2 on bench/generate.py's paragraphs and 9.8 on noise-train's lines; two of
# 29 and 28 rules 9.8 and 4.5; three 11.4 and 5.7 (each filter costs its own scan).
PART_RULES = 32
# A rule whose RE2 form is longer than this gets a filter of its own: its atoms alone
# crowd a part (a user's list of 3,000 brand names, 410k characters once case-folded:
# beside 28 built-in rules, 13.0-13.7 µs a line on bench's paragraphs; alone, 10.6-11.4;
# the built-in rules without it 8.4-8.7; bench/rule_filter_parts.py). The largest
# built-in rule is 141k characters.
PART_ALONE_CHARS = 200_000
_CACHE_KEY = "_line_filter"  # where a RuleSet keeps its filter (not pickled: rules.RuleSet.__getstate__)


class LineRuleFilter:
    """The active line rules of a rule set that run on RE2, as FilteredRE2s of at most
    PART_RULES rules each (parts of about equal size, in the rules' order), and one of
    its own for each rule longer than PART_ALONE_CHARS. Two sets of them: over the
    patterns' common forms (common_alphabet.py), for lines of the common alphabet, made
    at once; over the patterns as they are, for the other lines, made when the first
    such line comes."""

    def __init__(self, rules: list[Rule]):
        self.rules = rules
        self.position = {rule.name: k for k, rule in enumerate(rules)}
        sources = []
        for rule in rules:
            assert rule.regex is not None and rule.regex.re2 is not None
            sources.append(rule.regex.re2)
        shared = [k for k, source in enumerate(sources) if len(source) <= PART_ALONE_CHARS]
        count = max(1, math.ceil(len(shared) / PART_RULES))  # filters needed
        size = max(1, math.ceil(len(shared) / count))  # rules in each, about as many
        self._groups = [shared[first:first + size] for first in range(0, len(shared), size)]
        self._groups += [[k] for k, source in enumerate(sources) if len(source) > PART_ALONE_CHARS]
        # (the positions of its rules, its filter), for lines of the common alphabet (True)
        # and for any line (False)
        self._parts: dict[bool, list[tuple[list[int], object]]] = {}
        self._parts_for(True)

    def _parts_for(self, common: bool) -> list[tuple[list[int], object]]:
        parts = self._parts.get(common)
        if parts is not None:
            return parts
        sources = []
        for rule in self.rules:
            assert rule.regex is not None
            source = rule.regex.re2_source(common)
            assert source is not None
            sources.append(source)
        parts = []
        for group in self._groups:
            try:
                compiled = _compiled_filter(tuple(sources[k] for k in group))
            except _Refused as err:
                raise RuntimeError(f"rule {self.rules[group[err.position]].name!r}: RE2's filter did not take its "
                                   "pattern") from None
            parts.append((group, compiled))
            # The filter compiled each pattern with the rules' own options: the rule's program
            # where it runs alone (a line too long for the filter) is that one, not a second.
            for j, k in enumerate(group):
                adopt_re2_program(sources[k], compiled.GetRE2(j))
        self._parts[common] = parts
        return parts

    def agrees_on_examples(self, names: Collection[str] | None = None) -> bool:
        """Does the filter find every rule (of ``names``, default all) on each of its own
        examples exactly when the rule's own program does? (A failure of the atoms' DFA
        would read as no match.)"""
        anchor = _re2_module()[1].RE2.Anchor.UNANCHORED
        for k, rule in enumerate(self.rules):
            if names is not None and rule.name not in names:
                continue
            assert rule.regex is not None
            for example in (*rule.examples_match, *rule.examples_keep):
                try:
                    data = example.encode("utf-8")
                except UnicodeEncodeError:
                    continue
                if "\n" in example or len(data) > MAX_LINE_BYTES:
                    continue
                common = in_common(example)  # the filter and the program a line like it would meet
                program = rule.regex.re2_program(common)
                if (program.Match(anchor, data, 0, len(data))[0][0] >= 0) != (k in self.matching(data, common)):
                    return False
        return True

    def matching(self, data: bytes, common: bool = False) -> list[int]:
        """Positions (in ``rules``) of the rules whose pattern matches the UTF-8 line,
        before word bounds and literal prefilters. ``common``: the line is all of the
        common alphabet (common_alphabet.in_common)."""
        return [group[k] for group, part in self._parts_for(common)
                for k in part.Match(data, False)]  # type: ignore[attr-defined]


class _Refused(Exception):
    """RE2's filter did not take the pattern at this position."""

    def __init__(self, position: int):
        super().__init__(position)
        self.position = position


# The compiled filter depends on the patterns alone: a process that loads the same rules
# again (a program calling curate's run() for one folder after another, the tests) builds
# it once, not for every rule set (0.2 s for the built-in rules).
@lru_cache(maxsize=16)
def _compiled_filter(sources: tuple[str, ...]):
    """RE2's FilteredRE2 over these patterns, compiled, with each rule's own options."""
    re2, _re2 = _re2_module()
    options = re2.Options()
    options.max_mem = RE2_MAX_MEM  # the same options as each rule's own program
    options.never_capture = True
    options.log_errors = False
    compiled = _re2.Filter()
    for k, source in enumerate(sources):
        if compiled.Add(source.encode("utf-8"), options) != k:
            raise _Refused(k)
    if not compiled.Compile():
        raise RuntimeError("RE2's filter could not compile the line rules' atoms")
    return compiled


# A rule with a word bound and a pattern this large (the keyword rules: alternations of
# thousands of phrases in eight languages) runs on its own, where its bound admits the line:
# inside the filter it ran on every line, 25 µs a line for the keyword rule of short lines.
MAX_BOUNDED_PATTERN_CHARS = 100_000


def filtered_rules(ruleset: RuleSet) -> list[Rule]:
    """The rules the filter answers for: active line rules with an RE2 form, except the
    large bounded ones."""
    return [rule for rule in ruleset.in_order
            if rule.scope == "line" and rule.regex is not None and rule.regex.re2 is not None
            and not (rule.max_words is not None and len(rule.regex.re2) > MAX_BOUNDED_PATTERN_CHARS)]


def line_filter(ruleset: RuleSet) -> LineRuleFilter | None:
    """The rule set's filter, made once per process (None with fewer than two such rules:
    one call per rule is then as cheap)."""
    cached = ruleset.__dict__.get(_CACHE_KEY, False)
    if cached is False:
        rules = filtered_rules(ruleset)
        cached = LineRuleFilter(rules) if len(rules) >= 2 else None
        # Built-in rules as the test suite proved them are checked there, every pack on
        # (tests/test_rule_filter.py): here the check compiled each rule's own program
        # again, 0.2-0.3 s of every process's start (0.3 s more with a user's rule
        # beside them). Other patterns in the filter can only let a pattern through its
        # prefilter more often (RE2 drops atoms many patterns share), and a pattern let
        # through is then matched by its own program: so only the rules nobody proved
        # are checked.
        unproven = {rule.name for rule in rules if rule.name not in ruleset.proven}
        if cached is not None and unproven and not cached.agrees_on_examples(unproven):
            cached = None  # never expected; the rules then run one by one, as before
        ruleset.__dict__[_CACHE_KEY] = cached
    return cached
