"""Standard streams that cannot be written: the console script's stdout and stderr never
raise, so that no write to them crashes a command, or changes its status, by surprise.

A stream whose reader is gone (`curate run ... 2>&1 | head -1`, a log reader that died)
goes on as /dev/null, as a closed one does (curate/__main__.py): the command finishes
and its status is the one it earned. It used to stop at its next note with status 1 and
no word (click turns a broken pipe into that), or, the reader gone before the start, do
nothing at all. A listing read by `head` is the same case, and ends quietly with status
0 rather than claim an error that no one saw. Any other failure of stderr (a full disk
under a log file) is the same too: the words are lost, and there is nowhere to say so.

Stdout that fails otherwise (`--help > /dev/full`: no space, an I/O error) is said once,
on stderr, when the command ends, and its status is then not 0: what it printed is not
all there. It used to end in a Python traceback.

The stream's descriptor is pointed at /dev/null, not only the Python object muted: the
processes the command starts after that (workers, a part's process) inherit it, and
write nowhere rather than into the same broken pipe.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from typing import Any

# The reader of a pipe or socket went away: nothing is lost that anyone would read.
_READER_GONE = (errno.EPIPE, errno.ECONNRESET)

_lost_stdout: OSError | None = None  # why stdout could not be written, if it could not


class _Guarded:
    """A standard stream (or its binary buffer) whose writes and flushes do not raise."""

    def __init__(self, stream: Any, fd: int):
        self._stream = stream
        self._fd = fd

    def write(self, data: Any) -> int:
        try:
            return self._stream.write(data)
        except OSError as err:
            self._failed(err)
            return len(data)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as err:
            self._failed(err)

    @property
    def buffer(self) -> _Guarded:
        # click writes through a text stream of its own over the buffer when the stream's
        # encoding is one it does not trust (an ASCII locale): that one is guarded too.
        return _Guarded(self._stream.buffer, self._fd)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def _failed(self, err: OSError) -> None:
        write_failed(self._fd, err)
        with contextlib.suppress(OSError, ValueError):
            self._stream.flush()  # what the failed write left in the buffer goes to /dev/null


def write_failed(fd: int, err: OSError) -> None:
    """Descriptor 1 or 2 could not be written: it is /dev/null from now on, and a stdout
    that failed for a reason other than a reader gone is remembered, to be said at the end."""
    global _lost_stdout
    if fd == 1 and err.errno not in _READER_GONE and _lost_stdout is None:
        _lost_stdout = err
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, fd)
        finally:
            os.close(null)
    except OSError:
        pass


def guard_standard_streams() -> None:
    """For the console script only: a library's caller keeps its own streams."""
    for name, fd in (("stdout", 1), ("stderr", 2)):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, _Guarded):
            setattr(sys, name, _Guarded(stream, fd))


def lost_stdout_message() -> str | None:
    """What to say, at the end, of a stdout that could not be written; None if it could."""
    if _lost_stdout is None:
        return None
    why = _lost_stdout.strerror or str(_lost_stdout)
    return (f"Error: could not write to stdout ({why}); what this command printed there is incomplete. "
            "Send stdout somewhere that can take it.")
