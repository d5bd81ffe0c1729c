"""Ctrl-C that is never lost.

Python raises KeyboardInterrupt wherever the main thread happens to be when SIGINT
arrives. If that is inside a finaliser (the regex module's parse trees have ``__del__``
methods and reference cycles, so the garbage collector runs them at arbitrary points),
the exception is printed as "Exception ignored in ..." and swallowed, and the run went on
to finish as if nobody had pressed Ctrl-C. Here the signal is also remembered, and the
driver checks for it once per written item, so a swallowed Ctrl-C still stops the run.

And once a run's output is in place (its summary.json renamed into the folder) a Ctrl-C
is too late to stop anything: from there to the end of the block it is ignored
(``too_late``), so that what is left (deleting .partial/) is done and the run ends as
the finished run it is, not as an interrupted one.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_pending = False
_too_late = False  # the work is done: a Ctrl-C has nothing left to stop
_active = False  # within a noticed() block that handles Ctrl-C


@contextmanager
def noticed() -> Iterator[None]:
    """Within this block, a Ctrl-C raises KeyboardInterrupt and is remembered for check()."""
    global _pending, _too_late, _active
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield  # SIGINT ignored or handled by someone else: leave it to them
        return

    def remember(signum, frame):
        global _pending
        if _too_late:
            return
        _pending = True
        raise KeyboardInterrupt

    _pending = _too_late = False
    signal.signal(signal.SIGINT, remember)
    _active = True
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _pending = _too_late = _active = False


def too_late() -> None:
    """From here to the end of the noticed() block, a Ctrl-C is ignored: what it would
    stop is done already (called just before the rename that finishes a run's output,
    so that a Ctrl-C that lands in the rename itself cannot report the finished run as
    interrupted). Outside a noticed() block it changes nothing."""
    global _too_late
    _too_late = _active


def check() -> None:
    """Raise KeyboardInterrupt if a Ctrl-C arrived and was swallowed on its way."""
    if _pending:
        raise KeyboardInterrupt
