"""The built-in rules pass their own examples, and the shipped record of that
(curate/rules_verified.py) matches the files: a run then skips the check for them, and
checks a built-in file whose bytes are not the ones proved."""

from __future__ import annotations

import hashlib
import json

import pytest

from curate import rules, rules_verified
from curate.errors import RuleError
from curate.rules import RuleText, builtin_rule_files, example_failures, load_rules

pytestmark = pytest.mark.unit


def test_every_built_in_rule_passes_its_own_examples():
    failures = [f"{rule.source}: {rule.name}: {failure}"
                for rule in load_rules(check_examples=False).rules for failure in example_failures(rule)]
    assert failures == []


def test_the_shipped_record_matches_the_built_in_files(recorded_engines):
    # The engines installed here may be newer than the record's (a fresh install): that
    # is the install's matter, not the record's (see the recorded_engines fixture).
    files = {f.relative: f.data for f in builtin_rule_files()}
    shipped = rules_verified.shipped_record()
    assert shipped == rules_verified.current_record(files, shipped), \
        "a built-in rule file or the line model changed: run python tools/translate_patterns.py"
    assert all(set(engines) == set(rules_verified.ENGINES) for engines in rules_verified.proved_engines(shipped))
    assert all(rules_verified.proven(name, hashlib.sha256(data).hexdigest()) for name, data in files.items())


def _count_checks(monkeypatch) -> list[str]:
    checked: list[str] = []
    real = rules.check_rule_examples

    def counting(rule):
        checked.append(rule.name)
        real(rule)

    monkeypatch.setattr(rules, "check_rule_examples", counting)
    return checked


def test_proven_files_load_unchecked_and_an_edited_one_is_checked(monkeypatch, recorded_engines):
    checked = _count_checks(monkeypatch)
    load_rules()
    assert checked == []
    # keywords.toml as if edited where it is installed: one example that no longer holds.
    files = builtin_rule_files()
    [keywords] = [f for f in files if f.relative == "keywords.toml"]
    edited = keywords.data.replace(b'"Bitte aktivieren Sie JavaScript', b'"Bitte aktivieren Sie Kaffee', 1)
    assert edited != keywords.data
    monkeypatch.setattr(rules, "builtin_rule_files", lambda: [
        RuleText(f.display, f.relative, edited) if f is keywords else f for f in files])
    with pytest.raises(RuleError, match=r"keywords\.toml.*does not match"):
        load_rules()
    names = {rule.name for rule in load_rules(check_examples=False).rules if rule.file == "built-in: keywords.toml"}
    assert set(checked) <= names and checked  # only the edited file's rules were checked


def test_another_engine_version_means_checking_every_built_in_file(monkeypatch, recorded_engines):
    record = json.loads(json.dumps(rules_verified.shipped_record()))
    record["engines"] = [{**engines, "google-re2": "0.0.1"} for engines in record["engines"]]
    monkeypatch.setattr(rules_verified, "shipped_record", lambda: record)
    rules_verified._setting_matches.cache_clear()
    try:
        checked = _count_checks(monkeypatch)
        loaded = load_rules()
        assert len(checked) == len(loaded.rules)
    finally:
        rules_verified._setting_matches.cache_clear()


def test_the_record_keeps_the_engine_versions_proved_for_the_same_files_and_model(recorded_engines):
    files = {f.relative: f.data for f in builtin_rule_files()}
    newer = {name: "9999.1.1" for name in rules_verified.ENGINES}
    earlier = json.loads(json.dumps(rules_verified.shipped_record()))
    earlier["engines"] = [newer]
    kept = rules_verified.current_record(files, earlier)
    assert recorded_engines in kept["engines"] and newer in kept["engines"] and len(kept["engines"]) == 2
    assert rules_verified.current_record(files, kept) == kept  # written again: the same
    other_files = {**earlier, "files": {**earlier["files"], "keywords.toml": "0" * 64}}
    assert rules_verified.current_record(files, other_files)["engines"] == [recorded_engines]
    other_model = {**earlier, "model": "0" * 64}
    assert rules_verified.current_record(files, other_model)["engines"] == [recorded_engines]
    first_format = {**earlier, "engines": newer}  # one set, as a dict
    assert rules_verified.proved_engines(first_format) == [newer]
    assert newer in rules_verified.current_record(files, first_format)["engines"]
