"""The built-in rules' patterns, translated ahead of time.

Translating a pattern (patterns.compile_pattern: Python's parser, the written-out classes,
the RE2 form and its trial compile, the backtracking form's checks) took ~0.9 s for the
built-in pack, at the start of every run and in no worker: a serial second before any
document is read. The translations are a pure function of (pattern, flags, line rule or
not), so the built-in ones ship in curate/rules/translated.json.gz, made by
tools/translate_patterns.py; tests/test_pattern_table.py checks that every entry equals a
fresh translation and that every built-in pattern has one. A pattern without an entry (a
user's rule, or a built-in one edited since) is translated as before.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from functools import cache
from importlib import resources

import orjson

from curate.patterns import CompiledPattern, PatternError, compile_pattern

TABLE_FILE = "translated.json.gz"  # in the curate/rules package folder


def pattern_key(source: str, flags: int, boolean: bool) -> str:
    return hashlib.sha256(json.dumps([source, flags, boolean]).encode("utf-8")).hexdigest()


def _table_bytes() -> bytes:
    return (resources.files("curate") / "rules" / TABLE_FILE).read_bytes()


@cache
def _table() -> dict[str, dict]:
    try:
        # orjson: 13 ms for the table's 7.9 MB, where json took 38 ms, in every curate process.
        table = orjson.loads(gzip.decompress(_table_bytes()))
    except (OSError, ValueError, EOFError):  # missing or damaged (orjson's error is a ValueError): translated afresh
        return {}
    return table if isinstance(table, dict) else {}


_recorded: dict[str, dict] | None = None  # while build_table runs: every pattern, translated afresh


def translate(source: str, flags: int, boolean: bool) -> CompiledPattern:
    """The rule pattern ready for either engine (compile_pattern), from the table when it
    has it. Raises PatternError, also for a pattern that matches an empty line."""
    if _recorded is None:
        entry = _table().get(pattern_key(source, flags, boolean))
        if entry is not None:
            return CompiledPattern(**entry)
    compiled = compile_pattern(source, flags, boolean=boolean)
    if re.compile(source, flags).search(""):  # Python's own engine: an empty text cannot take long
        raise PatternError("the pattern matches an empty line, so it would match everything; anchor it or make it "
                           "longer")
    if _recorded is not None:
        _recorded[pattern_key(source, flags, boolean)] = {**compiled.fingerprint(), **compiled.common_forms()}
    return compiled


def build_table() -> bytes:
    """The table's file for the built-in rules as they are: each of their patterns
    translated afresh (tools/translate_patterns.py writes it)."""
    global _recorded
    from curate.rules import load_rules

    _recorded = {}
    try:
        load_rules(check_examples=False)
        table = dict(sorted(_recorded.items()))
    finally:
        _recorded = None
    raw = json.dumps(table, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return gzip.compress(raw, compresslevel=9, mtime=0)
