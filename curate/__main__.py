"""`python -m curate`, and the `curate` console script (pyproject.toml names ``main``).

Importing the command line takes a few tenths of a second (click, numpy, the rules'
modules), and a Ctrl-C in that time raised KeyboardInterrupt inside an import, before
the command had control: Python printed its traceback. Here it ends the command as a
Ctrl-C a moment later does (curate.cli.CurateGroup): "Aborted!" and status 130. Nothing
has been read or written by then.
"""

from __future__ import annotations

import os
import signal
import sys

INTERRUPTED = 130  # as curate.cli.INTERRUPTED, which cannot be imported yet


def main() -> None:
    _open_closed_standard_streams()
    try:
        from curate.cli import main as command
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not break the message
        sys.stderr.write("Aborted!\n")
        sys.stderr.flush()
        os._exit(INTERRUPTED)
    command()


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
