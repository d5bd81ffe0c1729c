"""The shipped translations of the built-in patterns (curate/pattern_table.py) are what
translating them afresh gives, every built-in pattern has one, and loading the rules with
them gives the same rules as without."""

from __future__ import annotations

import gzip
import json
from importlib import resources

import pytest

from curate import pattern_table
from curate.rules import load_rules

pytestmark = pytest.mark.unit


def _shipped() -> bytes:
    return (resources.files("curate") / "rules" / pattern_table.TABLE_FILE).read_bytes()


def test_the_shipped_table_is_what_translating_the_built_in_patterns_gives():
    fresh = pattern_table.build_table()
    assert json.loads(gzip.decompress(fresh)) == json.loads(gzip.decompress(_shipped())), \
        "a built-in pattern or the translation changed: run python tools/translate_patterns.py"
    assert fresh == _shipped()  # and the file is written the same way every time


def test_rules_loaded_with_the_table_are_the_rules_translated_afresh(monkeypatch):
    with_table = load_rules(check_examples=False)
    monkeypatch.setattr(pattern_table, "_table", lambda: {})
    afresh = load_rules(check_examples=False)
    assert [r.regex.fingerprint() if r.regex else None for r in with_table.rules] == \
        [r.regex.fingerprint() if r.regex else None for r in afresh.rules]
    assert len([r for r in with_table.rules if r.regex is not None]) >= 40


def test_a_damaged_table_means_translating_afresh(monkeypatch):
    monkeypatch.setattr(pattern_table, "_table_bytes", lambda: b"not gzip")
    pattern_table._table.cache_clear()
    try:
        assert pattern_table._table() == {}
        assert load_rules(check_examples=False).rules
    finally:
        pattern_table._table.cache_clear()



# The built-in rules the backtracking engine runs (RE2 cannot express them: the teaser
# rules' back-references, a headline shown twice). A rule that lands here by an edit runs
# line by line in Python's speed class: a keyword tier there took the noise stage to 2.2x
# its time. Until pattern_bounds, six line rules with a Unicode \b beside characters not
# known in advance were here too.
BACKTRACKING = {"teaser-card", "teaser-excerpt"}


def test_the_built_in_rules_on_the_backtracking_engine_are_the_known_few():
    rules = [rule for rule in load_rules(check_examples=False).rules
             if rule.regex is not None and rule.file.startswith("built-in")]
    assert {rule.name for rule in rules if rule.regex.engine != "re2"} == BACKTRACKING
    assert len(rules) - len(BACKTRACKING) == 73  # the README's count
