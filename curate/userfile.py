"""The files a command writes where the user says (a report, the clusters, suggested rules,
--timings): written whole or not at all, never over a file the user did not name, and a
failure said in one line that says what to do.

A file is written under a temporary name of its own, made with O_EXCL in the target's
folder (``.NAME.<8 hex digits>.tmp``), then renamed over the target: a fixed name such
as ``NAME.tmp`` would be truncated, and then deleted, were it the user's own file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path

from curate import paths
from curate.errors import MachineLimit, UsageError, machine_limit

# The temporary name of a file being written (what a killed command can leave behind).
TEMPORARY = re.compile(r"\.(?P<name>.+)\.[0-9a-f]{8}\.tmp")
_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def cannot_write(path: Path, err: OSError, option: str, folder: Path | None = None) -> UsageError | MachineLimit:
    """The one line for a file that could not be written: why, and what to do (``folder``:
    the one that refused it, if not the file's own). A limit of the process (too many
    open files) is no fault of the file's or its folder's, which the advice blamed: the
    limit's stop, as everywhere (curate.errors.machine_limit)."""
    limit = machine_limit(err, f"writing {path}")
    if limit is not None:
        return limit
    reason = err.strerror or str(err)
    if err.errno in _ROOM:
        advice = f"free space on its disk, or choose another file with {option}"
    else:
        advice = f"choose another file with {option}, or fix the permissions of its folder ({folder or path.parent})"
    return UsageError(f"{path}: cannot write it ({reason}); {advice}")


def check_reachable(path: Path, option: str) -> None:
    """Refuse a FILE the system cannot even look up (a path longer than it allows): every
    check of it, and then its write, raised the OSError, a traceback."""
    paths.check_reachable(path, f"{option} {path}", None)


def check_new_file(path: Path, option: str) -> None:
    """Refuse, before the work that makes it, a file whose folder cannot be: a file where
    a folder of its path should be, or a folder (the nearest that exists) this process
    may not write into. The write itself may still fail (a full disk, /proc), and says so."""
    folder = path.parent
    while not folder.exists() and not folder.is_symlink() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise UsageError(f"{path}: {folder} is a file, not a folder; choose another file with {option}")
    if not os.access(folder, os.W_OK):
        try:
            read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
        except OSError:
            read_only = False
        code = errno.EROFS if read_only else errno.EACCES
        raise cannot_write(path, OSError(code, os.strerror(code)), option, folder)


def _create_temporary(path: Path) -> tuple[int, Path]:
    """A new, empty file beside ``path`` under a name no other file has (the mode is the
    umask's, as for any new file), and its descriptor."""
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path.parent))


def replace_file(path: Path, chunks: Iterable[bytes], option: str = "-o FILE") -> int:
    """Write the chunks to a temporary file of their own and rename it to ``path``: a
    failed write never leaves half a file, and removes only what it created. Returns the
    bytes written. An OSError becomes a UsageError naming ``path`` (``option`` is how the
    command names the file, for the advice)."""
    try:
        fd, tmp = _create_temporary(path)
    except OSError as err:
        raise cannot_write(path, err, option) from None
    size = 0
    try:
        with open(fd, "wb") as f:
            for chunk in chunks:  # an error making them (reading the output folder) is not the target's
                with _writing(path, option):
                    f.write(chunk)
                size += len(chunk)
            with _writing(path, option):
                f.flush()
        with _writing(path, option):
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return size


@contextlib.contextmanager
def _writing(path: Path, option: str) -> Iterator[None]:
    try:
        yield
    except OSError as err:
        raise cannot_write(path, err, option) from None


def create_file(path: Path, data: bytes, option: str) -> None:
    """Write ``data`` to ``path``, a file that must not exist yet (O_EXCL: not even one
    made since the command checked); removes only what it created on failure."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        raise UsageError(f"{path}: exists; choose another file with {option}, or move it away first") from None
    except OSError as err:
        raise cannot_write(path, err, option) from None
    try:
        with open(fd, "wb") as f:
            f.write(data)
    except OSError as err:
        with contextlib.suppress(OSError):
            path.unlink()
        raise cannot_write(path, err, option) from None
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
