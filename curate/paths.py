"""Where one local path lies against another, as the input and output checks read it:
the same spelling rules for discover (inputs, the output folder) and for --against's index."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from curate.errors import UsageError

# A relative path is read against the current folder: once that is deleted (or moved away
# in a way the process cannot follow), os.getcwd() fails, and the path names nothing.
NO_CURRENT_FOLDER = ("the current folder no longer exists (deleted since the shell entered it), so a relative path "
                     "names nothing; cd to an existing folder and run again")


def unreachable(shown: str, err: OSError, given: str | None = "give it") -> UsageError:
    """The stop for a path named on the command line that cannot even be looked at: longer
    than the system allows (ENAMETOOLONG), or below a folder without search permission.
    Path.exists says False only for a path that is not there, and raised these, a
    traceback. ``given``: how a path relative to a nearer folder would be given, for the
    advice; None where curate makes the path absolute (the output folder), so that only a
    shorter one helps."""
    if err.errno == errno.ENAMETOOLONG and given is None:
        return UsageError(f"{shown}: its path is longer than this system allows; give a shorter "
                          "one (or shorten the names above it)")
    if err.errno == errno.ENAMETOOLONG:
        return UsageError(f"{shown}: its path is longer than this system allows; cd to a folder nearer to it and "
                          f"{given} as a path relative to there (the limit is on the path as given), or shorten "
                          "the names above it")
    return UsageError(f"{shown}: cannot be looked at ({err.strerror}); check the path and the permissions of the "
                      "folders above it")


def check_reachable(path: str | os.PathLike, shown: str | None = None, given: str | None = "give it") -> None:
    """Raise `unreachable`'s stop if the system cannot even look ``path`` up; a path that
    is not there (yet) passes, for the caller to say so or to make it. ``shown``: how the
    stop names it (default: the path)."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        pass
    except OSError as err:
        raise unreachable(shown if shown is not None else os.fspath(path), err, given) from None


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


def followed(name: Path) -> Path:
    """The folder ``name`` leads to now, every symlink followed: a run that writes by this
    path writes one folder from start to end, though ``name`` (a symlink, or a folder on
    the way to it) is made to lead elsewhere meanwhile; by the name itself, its chunks,
    its lock and its commit could land in two folders."""
    return Path(os.path.realpath(name))


def still_leads(name: Path, folder: Path) -> bool:
    """``name`` still leads to ``folder`` (as ``followed`` found it)."""
    try:
        return os.path.realpath(name) == str(folder)
    except OSError:  # the current folder is gone: a relative name leads nowhere now
        return False


def spelled_as_given(path: str, folder: Path, name: Path) -> str:
    """``path``, in ``folder``, spelled under the ``name`` the user gave the folder when
    that still leads there: messages say what the user typed. Else the real path: a name
    repointed elsewhere must not send the user to the other folder."""
    if not inside(path, str(folder)) or not still_leads(name, folder):
        return path
    return str(name) + path[len(str(folder).rstrip(os.sep)):]
