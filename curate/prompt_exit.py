"""Ending the `curate` process without Python's teardown.

When a command is done, every output file is written, synced and renamed into place;
what the interpreter's own shutdown does after that (a last collection, clearing every
module, freeing every object one by one) changes nothing on disk and took 55-65 ms of
each run (`curate dedup`, measured with and without it, bench/results/exit-s43.txt):
serial time that every run pays, and a twentieth of a two-worker dedup of 20 MB.

What of that shutdown has an effect outside the process is done first, in the order
Python does it: threads that are not daemons are waited for, then the atexit functions
run (a temporary folder's finalizer, logging's flush, Ray's shutdown, coverage's data),
then the standard streams are flushed. Only the console script ends this way; a program
that calls curate's library keeps its own interpreter's exit.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn

# Python's own status when it cannot flush stdout at exit (a reader that went away).
FLUSH_FAILED = 120


def exit_status(code: object) -> int:
    """The process status of a SystemExit's code, as the interpreter reads it: None is
    0, an int is itself, anything else is printed to stderr and is 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def exit_promptly(code: object) -> NoReturn:
    status = exit_status(code)
    main = threading.main_thread()
    for thread in threading.enumerate():
        if thread is not main and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # closed, or its reader is gone
            if stream is sys.stdout and status == 0:
                status = FLUSH_FAILED
    os._exit(status)
