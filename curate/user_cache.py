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
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

CACHE_ENV = "CURATE_CACHE"


def cache_root() -> Path:
    if os.environ.get(CACHE_ENV):  # "~/..." as a shell would have expanded it unquoted
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # unset, or relative: the XDG spec says to ignore it
        base = os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):  # no home folder known (HOME unset, no passwd entry): not the working folder
        base = os.path.join(tempfile.gettempdir(), f"curate-{os.getuid()}")
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


# A claim to write an entry older than this is a stopped writer's, and is taken over.
CLAIM_SECONDS = 600


@contextlib.contextmanager
def writing_claim(path: Path) -> Iterator[bool]:
    """Whether this process is the one to write the entry at ``path``: one process at a
    time is (a claim file beside it, made exclusively), so that many runs started at once
    on an empty cache (a shard each, from a scheduler) write it once instead of each its
    own temporary copy at the same moment, on what may be a small home quota. The others
    use what they derived without writing it."""
    claim = path.with_name(f".{path.name}.claim")
    claimed = _claim(claim)
    try:
        yield claimed
    finally:
        if claimed:
            with contextlib.suppress(OSError):
                claim.unlink()


def _claim(claim: Path) -> bool:
    try:
        claim.parent.mkdir(parents=True, exist_ok=True)
        if claim.exists() and time.time() - claim.stat().st_mtime >= CLAIM_SECONDS:
            claim.unlink(missing_ok=True)  # a writer stopped before it could remove it
        os.close(os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        return True
    except OSError:  # another process holds it (FileExistsError), or the folder cannot be written
        return False


# An entry no process has used for this long is removed when another is written beside it.
UNUSED_DAYS = 30


def mark_used(path: Path) -> None:
    """Record that a process uses this entry now (its modification time): best effort."""
    with contextlib.suppress(OSError):
        os.utime(path)


def remove_unused_entries(folder: Path, keep: set[str]) -> None:
    """Remove the files of a cache folder, but those named, that no process has used for
    UNUSED_DAYS (the entries of an older curate or langdetect): best effort. Not sooner:
    where the folder is shared, as a home folder on NFS is by a cluster's nodes, another
    node's curate of another version may be reading its own entry, and a mapped file
    removed from under another NFS client fails its next read. A writer's temporary file
    or claim that old is a stopped writer's, and goes too."""
    limit = time.time() - UNUSED_DAYS * 86_400
    with contextlib.suppress(OSError):
        for entry in folder.iterdir():
            if entry.name in keep:
                continue
            with contextlib.suppress(OSError):
                if entry.is_file() and entry.stat().st_mtime < limit:
                    entry.unlink()
