"""What a resumed run must share with the run it continues, derived from the objects.

A hand-made list of fields goes stale the day a field is added (a resumed run then
mixes two versions of a rule silently), so the fingerprint walks the run's settings
generically: dataclasses by all their fields, recursively; objects that know how to
fingerprint themselves by their ``fingerprint()``; compiled patterns by pattern and
flags; anything else by its class and attributes. The only fields left out are those
marked ``field(metadata=NOT_FINGERPRINTED)``: they must not change a byte of output.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any

from curate import __version__
from curate.document import Problem
from curate.libraries import library_changes

# Field metadata for the settings that cannot change the output (workers, output folder).
NOT_FINGERPRINTED = {"fingerprint": False}
# Changed when what a finished chunk saves changes, so an older unfinished run is not resumed.
CHECKPOINT_FORMAT = 6  # 5: a chunk's .done marker records its parts' lengths; 6: the summary follows metadata types
MAX_DEPTH = 64


class Fingerprint(str):
    """A run's fingerprint (its hash, as the writer keeps it in run.json) that carries its
    ``parts``: kept beside it, they let a refused resume say what changed (``changes``)."""

    parts: dict

    def __new__(cls, parts: dict) -> Fingerprint:
        own = super().__new__(cls, _digest(parts))
        own.parts = parts
        return own


# Past this many input files, run.json keeps only the digest of their list, not the list
# itself: a refused resume then says the inputs changed, not which.
LISTED_FILES = 20_000


def fingerprint(cfg: Any, files: list, skipped: Sequence[Problem] = (),
                libraries: dict[str, str] | None = None) -> Fingerprint:
    """A hash of the settings in ``cfg``, of the discovered input files (their sources,
    sizes and modification times or ETags, as discovery saw them: an edited input changes
    what is already written) and of the entries discovery skipped (``skipped``: its
    problems). Those are items too, the first of the run, in its first chunk's quarantine
    and counted in every chunk's bounds: a hidden or unsupported file that came or went
    since the run was stopped would shift every document a resumed run skips by, losing
    one or reading one twice, and the quarantine would name a file that is not there.
    Not the notes of curate's own files (another run's output folder, a --timings file:
    discover.TRAILING), which the plan leaves out of ``skipped``: said after every
    document, they are said again as they are when a run is resumed.

    The settings are hashed one by one (a dataclass's fields, a mapping's items, the
    fields of a dataclass in a mapping), the same work as hashing them whole, so that
    the parts name the setting that changed. ``libraries``: the versions of those the
    output depends on (curate.libraries), so that a resume after an upgrade is refused."""
    inputs = [[f.source, f.size, f.stamp] for f in files]
    parts = {"settings": _setting_digests(cfg), "inputs": _digest(inputs), "curate": __version__,
             "checkpoint_format": CHECKPOINT_FORMAT,
             "skipped": [skipped_entry(p) for p in skipped]}
    if libraries is not None:
        parts["libraries"] = libraries
    if len(inputs) <= LISTED_FILES:
        parts["files"] = inputs
    return Fingerprint(parts)


def _digest(value: Any) -> str:
    blob = json.dumps(value, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(blob.encode("ascii")).hexdigest()


def _setting_digests(cfg: Any, prefix: str = "", depth: int = 0) -> dict[str, str]:
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type) and not callable(getattr(cfg, "fingerprint", None)):
        named = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.metadata.get("fingerprint", True)}
    elif isinstance(cfg, Mapping) and all(isinstance(key, str) for key in cfg):
        named = dict(cfg)
    else:
        return {prefix: _digest([_class_name(cfg), canonical(cfg)])}
    found: dict[str, str] = {}
    for name, value in named.items():
        if depth == 0 and dataclasses.is_dataclass(value) and not isinstance(value, type):
            found.update(_setting_digests(value, f"{prefix}{name}.", depth + 1))
        else:
            found[f"{prefix}{name}"] = _digest(canonical(value))
    return found


def changes(before: dict, now: dict, most: int = 5) -> str:
    """What differs between two fingerprints' parts, in words (the first ``most`` files
    added, gone or changed; the settings by name); "" if the parts say nothing."""
    said = []
    if before.get("curate") != now.get("curate") or before.get("checkpoint_format") != now.get("checkpoint_format"):
        said.append(f"it was made by curate {before.get('curate')}, this is {now.get('curate')}")
    if "libraries" in now and before.get("libraries") != now["libraries"]:
        said.append(library_changes(before.get("libraries"), now["libraries"]))
    if before.get("inputs") != now.get("inputs"):
        said.append(_list_changes("input files", before.get("files"), now.get("files"), most))
    if before.get("skipped") != now.get("skipped"):
        said.append(_list_changes("entries skipped in the input folders (hidden, unsupported, ...)",
                                  before.get("skipped"), now.get("skipped"), most))
    old, new = before.get("settings") or {}, now.get("settings") or {}
    settings = sorted(name for name in {*old, *new} if old.get(name) != new.get(name))
    if settings:
        shown = ", ".join(setting_name(name) for name in settings[:most])
        more = f" and {len(settings) - most} more" if len(settings) > most else ""
        said.append(f"other settings: {shown}{more}")
    return "; ".join(said)


def _list_changes(what: str, before: list | None, now: list | None, most: int) -> str:
    if not isinstance(before, list) or not isinstance(now, list):
        return f"the {what} changed"
    old = {str(entry[0]): entry for entry in before if isinstance(entry, list) and entry}
    new = {str(entry[0]): entry for entry in now if isinstance(entry, list) and entry}
    said = [f"{name} (gone)" for name in old if name not in new]
    said += [f"{name} (new)" for name in new if name not in old]
    said += [f"{name} (changed)" for name in old if name in new and old[name] != new[name]]
    if not said:
        return f"the {what} changed (their order)"
    more = f" and {len(said) - most} more" if len(said) > most else ""
    return f"the {what}: {', '.join(sorted(said)[:most])}{more}"


# How a setting is spelled on the command line, where it is one option.
OPTIONS = {"chunk_items": "--chunk-docs", "text_field": "--text-field", "encoding": "--encoding",
           "input_format": "--format", "sink": "--output-format",
           "max_line_bytes": "--max-line-bytes", "max_doc_bytes": "--max-doc-bytes",
           "max_doc_lines": "--max-doc-lines", "site": "--site",
           "site_min_pages": "--site-min-pages", "site_min_share": "--site-min-share",
           "language_model": "--language-model", "dedup_parts": "--dedup-parts",
           "ruleset": "the rules (--rules, --enable, --disable, their files)",
           "dedup": "the dedup settings", "stages": "the stages run"}


def setting_name(name: str) -> str:
    """A setting's name in a refusal: its option, where it is one (RunConfig's fields,
    under "config." in a run's plan), or its stage."""
    if name.startswith("stage "):
        return f"the {name[len('stage '):]} stage's settings or rules"
    name = name.removeprefix("config.")
    return OPTIONS.get(name, name)


def skipped_entry(problem: Problem) -> list:
    """What the quarantine says of an entry discovery skipped: its name, why and what to do."""
    return [problem.source, problem.problem, problem.action]


def canonical(obj: Any, depth: int = 0, seen: frozenset[int] = frozenset()) -> Any:
    """A JSON-able value that is equal for two objects exactly when they would run alike,
    and the same in every process (no addresses, no salted hashes, no set order)."""
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return ["float", repr(obj)]
    if isinstance(obj, (bytes, bytearray)):
        return ["bytes", bytes(obj).hex()]
    if isinstance(obj, enum.Enum):
        return [_class_name(obj), obj.name]
    if isinstance(obj, PurePath):
        return ["path", str(obj)]
    if isinstance(obj, re.Pattern):
        return ["re", canonical(obj.pattern), obj.flags]
    if depth > MAX_DEPTH or id(obj) in seen:
        raise ValueError(f"cannot fingerprint {_class_name(obj)}: nested too deeply or refers to itself")
    seen = seen | {id(obj)}
    deeper = depth + 1
    own = getattr(obj, "fingerprint", None)
    if callable(own) and not isinstance(obj, type):
        return [_class_name(obj), canonical(own(), deeper, seen)]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return [_class_name(obj), {f.name: canonical(getattr(obj, f.name), deeper, seen)
                                   for f in dataclasses.fields(obj) if f.metadata.get("fingerprint", True)}]
    if isinstance(obj, Mapping):
        items = [[canonical(k, deeper, seen), canonical(v, deeper, seen)] for k, v in obj.items()]
        return ["map", sorted_items(items)]
    if isinstance(obj, (list, tuple)):
        return [canonical(x, deeper, seen) for x in obj]
    if isinstance(obj, (set, frozenset)):
        return ["set", sorted((canonical(x, deeper, seen) for x in obj), key=_sort_key)]
    if isinstance(obj, type) or (callable(obj) and hasattr(obj, "__qualname__")):
        return ["code", f"{getattr(obj, '__module__', '')}.{obj.__qualname__}"]
    return [_class_name(obj), canonical(_attributes(obj), deeper, seen)]


def _attributes(obj: Any) -> dict:
    if hasattr(obj, "__dict__"):
        return dict(vars(obj))
    slots = [name for cls in type(obj).__mro__ for name in getattr(cls, "__slots__", ())]
    if not slots:
        # Its repr would carry an address, different in every process: better to fail
        # loudly (a test sees it) than to refuse every resume or to ignore a setting.
        raise TypeError(f"cannot fingerprint a {_class_name(obj)}: give it a fingerprint() method")
    return {name: getattr(obj, name) for name in slots if hasattr(obj, name)}


def _class_name(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=True)


def sorted_items(items: list[list]) -> list[list]:
    """[key, value] pairs in the order of their JSON text, as ``sorted(items,
    key=_sort_key)`` puts them, found from the keys' text alone where the keys differ.
    The pair's text is "[" + key + ", " + value + "]", and no key's text is a proper prefix
    of another's but an integer's (1, 12), whose next character, a digit, sorts after the
    ",": so the keys decide. Encoding each pair encoded every value again at every level
    of nesting: with the rules' written-out patterns (9 MB of JSON), 0.2 s of each run's
    start."""
    keys = [_sort_key(key) for key, _ in items]
    if len(set(keys)) < len(keys):  # keys alike in text (two objects equal by attributes)
        return sorted(items, key=_sort_key)
    return [items[i] for i in sorted(range(len(items)), key=keys.__getitem__)]
