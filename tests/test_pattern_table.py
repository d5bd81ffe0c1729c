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

