"""The user's cache folder: $CURATE_CACHE, else $XDG_CACHE_HOME/curate, else ~/.cache/curate.

It holds what curate derives from its installed data once and keeps between runs
(`language/`: langdetect's profiles as one table), and the folders where outputs bound for
object storage are built (`staging/`, unless $CURATE_STAGING or --staging say otherwise).
A derived entry may be deleted at any time: the next run derives it again, and a folder
that cannot be written only costs every run that time. Nothing a run outputs depends on
whether an entry was found. A staging folder is a stopped run's only copy of its work.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

CACHE_ENV = "CURATE_CACHE"


def cache_root() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "curate"


def write_entry(path: Path, write: Callable[[IO[bytes]], object]) -> bool:
    """Write one cache file whole or not at all (a temporary file beside it, renamed over
    it, so a process that reads it meanwhile, or a run stopped meanwhile, never sees part
    of one). False, with nothing left behind, if it could not be written (read-only home,
    full disk): the caller has what it derived and goes on without the cache."""
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(descriptor, "wb") as file:
            write(file)
        os.replace(temporary, path)
        return True
    except OSError:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        return False


def remove_other_entries(folder: Path, keep: set[str]) -> None:
    """Remove the files of a cache folder but those named (the entries an older curate, or
    other data, derived): best effort. A process still reading a removed file keeps it
    until it closes it."""
    with contextlib.suppress(OSError):
        for entry in folder.iterdir():
            if entry.name not in keep and not entry.name.startswith(".") and entry.is_file():
                with contextlib.suppress(OSError):
                    entry.unlink()
