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

A command that SIGINT or SIGTERM stopped, once it has said so, ends by that signal
(curate/interrupts.py): the status a shell and a scheduler read as "stopped by it". One
that lands once the command has returned stops nothing: the work is done, and the process
ends with the command's status (a second one ends it at once).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from typing import NoReturn

from curate import interrupts
from curate.streams import lost_stdout_message, write_failed

# A stdout that could not be written (no space, an I/O error; not a reader gone, which
# is quiet): a command that would have ended well ends with this, the status of curate's
# other errors, and says why (streams.py). Python's own exit gives 120, with a traceback.
WRITE_FAILED = 1


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
    interrupts.command_returned()
    status = exit_status(code)
    main = threading.main_thread()
    for thread in threading.enumerate():
        if thread is not main and not thread.daemon:
            thread.join()
    end_child_processes()
    atexit._run_exitfuncs()
    for fd, stream in ((1, sys.stdout), (2, sys.stderr)):
        try:
            if stream is not None:
                stream.flush()
        except ValueError:  # closed
            pass
        except OSError as err:  # a stream the console script did not guard (streams.py): the same rules
            write_failed(fd, err)
    message = lost_stdout_message()
    if message is not None:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            sys.stderr.write(message + "\n")
            sys.stderr.flush()
        status = status or WRITE_FAILED
    signum = interrupts.stopped_by()
    if signum is not None and status != 0:  # a run that finished all the same ends as finished
        interrupts.end_by(signum)
    os._exit(status)


def end_child_processes() -> None:
    """Kill any worker process still running. Every pool of curate's stops its processes
    before the command returns, so none should be; but a worker ignores SIGINT and SIGTERM
    (the parent handles them), and multiprocessing's atexit function ends a daemon child
    with a SIGTERM and then joins it: one left running by mistake held the exit for ever
    (a Ctrl-C as a pool was forking once did; engines/pool.py). The work is done or
    given up by now: a run's output is in place, or its resume hint said."""
    import multiprocessing

    for child in multiprocessing.active_children():
        with contextlib.suppress(OSError, ValueError):
            child.kill()
