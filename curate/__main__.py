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
    try:
        from curate.cli import main as command
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not break the message
        sys.stderr.write("Aborted!\n")
        sys.stderr.flush()
        os._exit(INTERRUPTED)
    command()


if __name__ == "__main__":
    main()
