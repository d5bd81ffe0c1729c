"""Where one local path lies against another, as the input and output checks read it:
the same spelling rules for discover (inputs, the output folder) and for --against's index."""

from __future__ import annotations

import os
from pathlib import Path

from curate.errors import UsageError

# A relative path is read against the current folder: once that is deleted (or moved away
# in a way the process cannot follow), os.getcwd() fails, and the path names nothing.
NO_CURRENT_FOLDER = ("the current folder no longer exists (deleted since the shell entered it), so a relative path "
                     "names nothing; cd to an existing folder and run again")


def inside(child: str, parent: str, sep: str = os.sep) -> bool:
    """``child`` is ``parent`` or below it (``sep``: "/" for URLs); a trailing separator
    does not count."""
    child = child.rstrip(sep) or child
    return child == parent.rstrip(sep) or child.startswith(parent.rstrip(sep) + sep)


def spellings(path: Path) -> tuple[str, str]:
    """The path as given (made absolute) and with every symlink resolved: a walk reaches
    files by the first, the disk holds them at the second. UsageError for a relative path
    when the current folder no longer exists."""
    try:
        return os.path.abspath(path), os.path.realpath(path)
    except FileNotFoundError:  # from os.getcwd(): no path on disk is looked up by either
        raise UsageError(NO_CURRENT_FOLDER) from None


def absolute(path: str | os.PathLike) -> str:
    """The path made absolute (os.path.abspath); UsageError as for spellings."""
    try:
        return os.path.abspath(path)
    except FileNotFoundError:
        raise UsageError(NO_CURRENT_FOLDER) from None
