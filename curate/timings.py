"""What a file ``--timings FILE`` wrote looks like, for the walk that meets one in an
input folder (``curate run . --timings timings.json`` twice read the first run's timings
back as a document of 25 lines, and --strict failed) and for the check before a run that
replaces one (cli.py)."""

from __future__ import annotations

import json

TIMINGS_KEYS = ("seconds", "input_bytes", "index", "workers", "engine")  # what --timings writes
# Larger than any timings file (a few kB: the seconds of each stage, the index's sizes),
# so a walk reads no more of a .json file than this to tell.
TIMINGS_MAX_BYTES = 64 * 1024


def holds_timings(data: bytes) -> bool:
    """The bytes of a file --timings wrote."""
    try:
        parsed = json.loads(data)
    except ValueError:
        return False
    return (isinstance(parsed, dict) and set(parsed) <= set(TIMINGS_KEYS)
            and isinstance(parsed.get("seconds"), dict) and "input_bytes" in parsed)
