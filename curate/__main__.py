"""`python -m curate`, and the `curate` console script (pyproject.toml names ``main``).

Importing the command line takes a few tenths of a second (click, numpy, the rules'
modules), and a Ctrl-C in that time raised KeyboardInterrupt inside an import, before
the command had control: Python printed its traceback. Here it ends the command as a
Ctrl-C a moment later does (curate.cli.CurateGroup): "Aborted!", and the process ends by
the signal (status 130 to a shell). Nothing has been read or written by then. SIGTERM is
taken from here on too, and said the same way (curate/interrupts.py).
"""

from __future__ import annotations

import os
import signal
import sys


def main() -> None:
    try:
        from curate import interrupts  # small: the signals are taken before the long imports

        interrupts.install()
        _open_closed_standard_streams()
        from curate.cli import main as command
    except KeyboardInterrupt:
        from curate import interrupts

        # A second signal meanwhile ends the process at once (interrupts.py).
        signum = interrupts.received()
        sys.stderr.write(_STOPPED_STARTING if signum == signal.SIGTERM else "Aborted!\n")
        sys.stderr.flush()
        interrupts.end_by(signum)
    command()


_STOPPED_STARTING = "Error: stopped by SIGTERM while curate was starting; nothing was read or written. Run the " \
                    "same command again to start it.\n"


def _open_closed_standard_streams() -> None:
    """/dev/null in place of a standard stream the command was started without (`2>&-`).
    Python leaves such a stream None, and the run died on the first look at it, with no
    word, since its words go there. And the first file the run opened would take the free
    descriptor: whatever a library then wrote to "stderr" would have gone into the output."""
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(fd)
        except OSError:
            opened = os.open(os.devnull, os.O_RDWR)  # the lowest free descriptor: this one
            if opened != fd:
                os.close(opened)
                continue
            if getattr(sys, name) is None:
                setattr(sys, name, open(fd, mode, encoding="utf-8", errors="backslashreplace", closefd=False))  # noqa: SIM115 - the process's own stream, for its life


if __name__ == "__main__":
    main()
