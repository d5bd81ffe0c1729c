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

SIGTERM is a Ctrl-C too, said as one: batch schedulers (Slurm, Kubernetes, systemd,
`docker stop`) send it, often to every process of the job, and the log then said nothing
of what happened or what to do. The console script (curate/__main__.py) takes both
signals from its first moment (``install``); the command says what is kept and what to
run, and the process then ends *by* the signal (``end_by``: status 130 or 143 to a shell),
so that a shell loop or a scheduler sees it stopped, as the convention is. A second signal
while the first is handled ends the process at once, by that signal.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

STOPS = (signal.SIGINT, signal.SIGTERM)  # the signals that stop a command, said as a Ctrl-C

_pending = False
_too_late = False  # the work is done: a Ctrl-C has nothing left to stop
_active = False  # within a noticed() block that handles Ctrl-C
_received: int | None = None  # the signal that stopped the command, once one has


def _stop(signum: int, frame: object) -> None:
    """The handler of SIGINT and SIGTERM: a KeyboardInterrupt, whichever it is, with the
    signal remembered for the words and the exit."""
    global _pending, _received
    if _received is not None:
        end_by(signum)  # a second one, while the first is handled: at once
    for stop in STOPS:  # and so does any next one, even where no Python code runs
        if signal.getsignal(stop) is _stop:
            signal.signal(stop, signal.SIG_DFL)
    if _too_late:
        return  # the output is in place: nothing left to stop, and the run ends as finished
    _received = signum
    if _active:
        _pending = True
    raise KeyboardInterrupt


def _defaults() -> dict[int, Any]:
    return {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}


def install() -> None:
    """For the console script, as it starts: SIGINT and SIGTERM stop the command with its
    words, for the life of the process. One the process was started with ignored (a job a
    shell put in the background, `nohup`) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum, default in _defaults().items():
        if signal.getsignal(signum) == default:
            signal.signal(signum, _stop)


def is_installed(handler: object) -> bool:
    """Whether ``handler`` is curate's own (install): a library that replaces it for a while
    (Ray's, in ray.init) gives it back rather than take it over."""
    return handler is _stop


def stop(signum: int) -> None:
    """What curate's handler does for ``signum``, called by a handler that stood in for it:
    raises KeyboardInterrupt (or ends the process, if one was handled already)."""
    _stop(signum, None)


def received() -> int:
    """The signal that stopped the command: SIGTERM, or SIGINT (Python's own Ctrl-C too)."""
    return _received if _received is not None else signal.SIGINT


def stopped_by() -> int | None:
    """The signal the process must end by, if one stopped the command; None if none did."""
    return _received


def name(signum: int) -> str:
    return signal.Signals(signum).name


def end_by(signum: int) -> None:
    """End the process by ``signum``, as if its default action had been left: a shell then
    sees a command that the signal stopped (and stops a loop), a scheduler a job it ended."""
    signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})
    os.kill(os.getpid(), signum)
    os._exit(128 + signum)  # only if the signal could not end it


@contextmanager
def noticed() -> Iterator[None]:
    """Within this block, a Ctrl-C or SIGTERM raises KeyboardInterrupt and is remembered for
    check(). A signal that is ignored, or handled by someone else, is left to them."""
    global _pending, _too_late, _active, _received
    taken: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum, default in _defaults().items():
            handler = signal.getsignal(signum)
            if handler is _stop or handler == default:
                taken[signum] = handler
    if not taken:
        yield  # both ignored or handled by someone else: leave them to them
        return
    # Either one is enough: a run started with SIGINT ignored (a background job of a
    # script, nohup) still stops on SIGTERM, and once the block was left to it then, a
    # SIGTERM just after a finished run's summary said "nothing was written" (too_late()
    # needs the block).
    _pending = _too_late = False
    _received = None
    for signum in taken:
        signal.signal(signum, _stop)
    _active = True
    try:
        yield
    finally:
        console = any(handler is _stop for handler in taken.values())
        for signum, handler in taken.items():
            # The console script's stays for the rest of the process; but after a signal a
            # next one ends it at once (what _stop left).
            if not (console and _received is not None):
                signal.signal(signum, handler)
        _pending = _active = False
        if not console:  # a library's caller goes on: the next command starts afresh
            _too_late = False


def too_late() -> None:
    """From here to the end of the noticed() block, a Ctrl-C is ignored: what it would
    stop is done already (called just before the rename that finishes a run's output,
    so that a Ctrl-C that lands in the rename itself cannot report the finished run as
    interrupted). Outside a noticed() block it changes nothing. For the console script,
    to the end of the process: the summary said, a Ray cluster shut down, are the
    finished run's."""
    global _too_late
    _too_late = _active


def command_returned() -> None:
    """For the console script, once its command has returned and the process is ending
    (prompt_exit.exit_promptly): a Ctrl-C or SIGTERM from here on has nothing left to
    stop, so the process ends with the command's own status, its output flushed. Raised
    as a KeyboardInterrupt there, it came out of the ending itself (an import, an atexit
    function) as a traceback, and a finished `curate rules test` ended as if by SIGINT
    (tests/test_signals.py met it). A second signal still ends the process at once, so
    an ending that hangs can be stopped."""
    global _too_late
    _too_late = True


def check() -> None:
    """Raise KeyboardInterrupt if a Ctrl-C arrived and was swallowed on its way."""
    if _pending:
        raise KeyboardInterrupt
