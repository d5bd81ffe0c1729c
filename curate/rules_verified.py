"""Which built-in rule files the test suite has proved on their own examples.

Every rule is checked against its examples when it loads, so that a rule that does not do
what it says stops the run before any output. For the built-in pack that check took about
0.7 s of every run (a thousand examples through the noise stage, and the backtracking
engine's patterns compiled to try them), and proved nothing new: the same bytes pass the
same examples on every machine with the same pattern engines. So the package ships a
record (curate/rules/verified.json, written by tools/translate_patterns.py) of each
built-in file's SHA-256, of the line model file that the model rule's examples run, and of
the pattern engines' versions; a built-in file that matches it loads without the check,
and one that does not (edited where it is installed, another engine version) is checked
as a user's file is. tests/test_rules_verified.py proves every built-in example afresh,
and fails until the record matches the files.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources

RECORD_FILE = "verified.json"  # in the curate/rules package folder
ENGINES = ("google-re2", "regex")  # the distributions whose engines run the patterns


def _engine_versions() -> dict[str, str]:
    from importlib import metadata  # ~18 ms to import: only when a built-in file is asked about

    versions = {}
    for name in ENGINES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def _model_sha256() -> str:
    from curate.linemodel.model import load_model

    return load_model().sha256  # the built-in model, loaded (and hashed) once per process anyway


def current_record(files: dict[str, bytes]) -> dict:
    """The record for these built-in rule files (name -> bytes) as they are here."""
    return {"engines": _engine_versions(), "model": _model_sha256(),
            "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}}


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
    return record.get("engines") == _engine_versions() and record.get("model") == _model_sha256()


def proven(name: str, sha256: str) -> bool:
    """Was the built-in file ``name``, with this SHA-256, proved on its examples by the
    test suite, with the engines and model file in use here?"""
    files = shipped_record().get("files")
    return isinstance(files, dict) and files.get(name) == sha256 and _setting_matches()


def record_bytes(files: dict[str, bytes]) -> bytes:
    """The record file for these built-in rule files, written the same way every time."""
    return (json.dumps(current_record(files), indent=1, sort_keys=True) + "\n").encode("utf-8")
