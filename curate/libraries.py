"""The libraries whose releases can change the bytes a run writes, and their versions here.

A run is byte-identical on any machine with the same curate and the same versions of
these. They are recorded in summary.json (settings.libraries), so that a corpus says what
made it, and they are part of the run's fingerprint, so that `--resume` after an upgrade
(`pip install -U` between a kill and the resume) refuses to finish a run in shards of two
makes, naming the library that changed.

Only what the run uses is named: a Parquet library upgraded beside a JSON Lines run must
not stop its resume. Left out on purpose, because their releases keep their results:
numpy (curate sums float32 values in float64, exactly, in any order), orjson (its float
and string output is fixed by JSON and its own tests), xxhash (the hash is a
specification), datasketch, scipy.
"""

from __future__ import annotations

import platform
import unicodedata
import zlib
from collections.abc import Iterable
from functools import cache

# A stage's name -> the distributions its output depends on.
BY_STAGE = {
    "normalise": ("ftfy",),  # its fixes change between releases
    "noise": ("google-re2", "regex"),  # the pattern engines (built-in rules are proved per version)
    "language": ("langdetect",),  # its profiles (--language-model py3langid: that stage names its own)
}
# An input reader's name -> the distributions it reads with.
BY_READER = {"parquet": ("pyarrow",), "arrow": ("pyarrow",), "wet": ("fastwarc",)}
# An output format's name -> what encodes it (compressors may change their bytes between releases).
BY_SINK = {"parquet": ("pyarrow",), "jsonl.zst": ("zstandard",), "jsonl.gz": ("zlib",)}
LEGACY_ENCODINGS = "charset-normalizer"  # tells a legacy .txt file's encoding (--encoding auto)


def libraries_for(stages: Iterable[str], readers: Iterable[str], sink: str, encoding: str) -> dict[str, str]:
    """Name -> version of each library this run's output depends on, in name order, with
    Python's minor version and its Unicode database (str methods and curate's pattern
    classes follow it) always."""
    readers = set(readers)
    names = {name for stage in stages for name in BY_STAGE.get(stage, ())}
    names |= {name for reader in readers for name in BY_READER.get(reader, ())}
    names |= set(BY_SINK.get(sink, ()))
    if encoding == "auto" and "txt" in readers:
        names.add(LEGACY_ENCODINGS)
    found = {"python": ".".join(platform.python_version_tuple()[:2]), "unicode": unicodedata.unidata_version}
    found |= {name: _version(name) for name in names}
    return dict(sorted(found.items()))


def _version(name: str) -> str:
    if name == "zlib":
        return zlib.ZLIB_RUNTIME_VERSION
    return installed_version(name) or "not installed"


@cache  # a run asks twice (its fingerprint, its summary), a process that runs curate often more
def installed_version(distribution: str) -> str | None:
    """The version of an installed distribution, None if it is not installed."""
    from importlib import metadata  # ~18 ms to import: only when asked

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def library_changes(before: object, now: dict[str, str]) -> str:
    """What differs between two runs' libraries, in words ("" if nothing does)."""
    if not isinstance(before, dict):
        return "the libraries it was made with are not recorded (an earlier curate)"
    said = [f"{name} {now[name]} (was {before[name]})" for name in now if name in before and before[name] != now[name]]
    said += [f"{name} {now[name]} (not used before)" for name in now if name not in before]
    said += [f"{name} (no longer used)" for name in before if name not in now]
    return "libraries: " + ", ".join(said) if said else ""
