"""A Ctrl-C that lands inside a finaliser is swallowed by Python ("Exception ignored in
..."); the driver must still stop the run."""

from __future__ import annotations

import os
import signal

import pytest

from curate import interrupts
from curate.document import Problem
from curate.driver import emit

pytestmark = pytest.mark.unit


class _SignalsWhileFinalised:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)  # handled at the next bytecode: inside __del__


@pytest.fixture
def sigint_as_from_a_terminal():
    """Python's own Ctrl-C handler, which noticed() takes over: a test run started in the
    background by a shell without job control inherits SIGINT ignored, and then noticed()
    rightly leaves it alone."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_ctrl_c_swallowed_by_a_finaliser_stops_the_next_emit(sigint_as_from_a_terminal):
    with interrupts.noticed():
        obj = _SignalsWhileFinalised()
        del obj  # the KeyboardInterrupt is raised inside __del__ and swallowed there...
        reached = True  # ...so the code goes on
        assert reached
        with pytest.raises(KeyboardInterrupt):
            emit(Problem("a.txt", 1, "p", "a"), writer=None, summary=None)  # type: ignore[arg-type]
    interrupts.check()  # the block is over: nothing pending any more


def test_an_ignored_sigint_stays_ignored():
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupts.noticed():
            os.kill(os.getpid(), signal.SIGINT)
            interrupts.check()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, old)
