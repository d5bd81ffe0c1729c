"""Which built-in rule files the test suite has proved on their own examples.

Every rule is checked against its examples when it loads, so that a rule that does not do
what it says stops the run before any output. For the built-in pack that check took about
0.7 s of every run (a thousand examples through the noise stage, and the backtracking
engine's patterns compiled to try them), and proved nothing new: the same bytes pass the
same examples on every machine with the same pattern engines. So the package ships a
record (curate/rules/verified.json, written by tools/translate_patterns.py) of each
built-in file's SHA-256, of the line model file that the model rule's examples run, and of
each set of pattern engine versions the examples were proved with; a built-in file that
matches it loads without the check, and one that does not (edited where it is installed,
an engine version not proved) is checked as a user's file is. tests/test_rules_verified.py
proves every built-in example afresh, and fails until the record matches the files.

The engine versions are a list because a fresh install takes the newest release of each
engine: with only the versions of the machine that wrote the record, a `regex` released
the next day had every new install check the built-in files at every start (1.6 s
against 0.4 s to load the rules here). tools/translate_patterns.py adds the versions it
runs with to those already proved for the same files and model.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources

RECORD_FILE = "verified.json"  # in the curate/rules package folder
ENGINES = ("google-re2", "regex")  # the distributions whose engines run the patterns


def _engine_versions() -> dict[str, str]:
    from curate.libraries import installed_version  # only when a built-in file is asked about

    return {name: installed_version(name) or "absent" for name in ENGINES}


def _model_sha256() -> str:
    from curate.linemodel.model import load_model

    return load_model().sha256  # the built-in model, loaded (and hashed) once per process anyway


def current_record(files: dict[str, bytes], earlier: dict | None = None) -> dict:
    """The record for these built-in rule files (name -> bytes) as they are here; with
    ``earlier`` (the record before), the engine versions it proved the same files and
    model with are kept beside these."""
    hashes = {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}
    model = _model_sha256()
    engines = [_engine_versions()]
    if earlier and earlier.get("files") == hashes and earlier.get("model") == model:
        engines += [proved for proved in proved_engines(earlier) if proved not in engines]
    engines.sort(key=lambda one: json.dumps(one, sort_keys=True))
    return {"engines": engines, "model": model, "files": hashes}


def proved_engines(record: dict) -> list[dict]:
    """The sets of engine versions a record's files were proved with (one, as a dict, in
    the record's first format)."""
    engines = record.get("engines")
    if isinstance(engines, dict):
        return [engines]
    return [one for one in engines if isinstance(one, dict)] if isinstance(engines, list) else []


@cache
def shipped_record() -> dict:
    """The record the package ships; empty when it is missing or unreadable (then every
    built-in file is checked)."""
    try:
        record = json.loads((resources.files("curate") / "rules" / RECORD_FILE).read_bytes())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


@cache
def _setting_matches() -> bool:
    record = shipped_record()
    return _engine_versions() in proved_engines(record) and record.get("model") == _model_sha256()


def proven(name: str, sha256: str) -> bool:
    """Was the built-in file ``name``, with this SHA-256, proved on its examples by the
    test suite, with the engines and model file in use here?"""
    files = shipped_record().get("files")
    return isinstance(files, dict) and files.get(name) == sha256 and _setting_matches()


def record_bytes(files: dict[str, bytes], earlier: dict | None = None) -> bytes:
    """The record file for these built-in rule files (``earlier``: as `current_record`),
    written the same way every time."""
    return (json.dumps(current_record(files, earlier), indent=1, sort_keys=True) + "\n").encode("utf-8")
