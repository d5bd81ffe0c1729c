"""Ctrl-C that is never lost.

Python raises KeyboardInterrupt wherever the main thread happens to be when SIGINT
arrives. If that is inside a finaliser (the regex module's parse trees have ``__del__``
methods and reference cycles, so the garbage collector runs them at arbitrary points),
the exception is printed as "Exception ignored in ..." and swallowed, and the run went on
to finish as if nobody had pressed Ctrl-C. Here the signal is also remembered, and the
driver checks for it once per written item, so a swallowed Ctrl-C still stops the run.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_pending = False


@contextmanager
def noticed() -> Iterator[None]:
    """Within this block, a Ctrl-C raises KeyboardInterrupt and is remembered for check()."""
    global _pending
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield  # SIGINT ignored or handled by someone else: leave it to them
        return

    def remember(signum, frame):
        global _pending
        _pending = True
        raise KeyboardInterrupt

    _pending = False
    signal.signal(signal.SIGINT, remember)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _pending = False


def check() -> None:
    """Raise KeyboardInterrupt if a Ctrl-C arrived and was swallowed on its way."""
    if _pending:
        raise KeyboardInterrupt
