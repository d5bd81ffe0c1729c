"""SIGTERM and Ctrl-C, as a batch scheduler and a terminal send them, on real processes.

Slurm, Kubernetes, systemd and `docker stop` send SIGTERM, often to every process of the
job; a terminal's Ctrl-C reaches every process of its group. Either way the run says, in
one line, what stopped it, what is kept and what to run; its workers (--workers, the part
processes of --dedup-parts) leave the signal to it, so the message is never a worker's
death; and the process then ends by the signal (status 143 or 130 to a shell), so that a
scheduler sees the job it ended and a shell loop stops at the first Ctrl-C. --resume then
gives output byte-identical to a run that was never stopped. A second signal while the
first is handled ends the process at once, without a traceback.

Each run waits for a chunk to be sealed in .partial/ before it is stopped, rather than
sleep for a guessed while: a 0.5 MB corpus in chunks of 20 documents.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, output_files, signalled_after_the_closing_line

sys.path.insert(0, str(ROOT / "bench"))
from generate import generate

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds processes in /proc")

CHUNK = ("--chunk-docs", "20", "--site", "off")
LIMIT = 60.0  # seconds from the signal to the end of the process; it takes about one

KEPT = ("Error: {word}; finished chunks are kept in {out}/.partial/ and no final file was written. Run the same "
        "command with --resume to continue where it stopped.\n")
STARTING = ("Error: stopped by SIGTERM while curate was starting; nothing was read or written. Run the same command "
            "again to start it.\n")
UNTOUCHED = ("Error: {word} before the run began; nothing was written to {out}/. Run the same command again to "
             "start it.\n")
WORD = {signal.SIGTERM: "stopped by SIGTERM", signal.SIGINT: "interrupted"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    generate(0.5, folder)
    return folder / "corpus.jsonl"


@pytest.fixture(scope="module")
def finished(corpus, tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("finished") / "out"
    done = subprocess.run(_command(corpus, out), cwd=ROOT / "tests", capture_output=True, text=True, env=_env())
    assert done.returncode == 0, done.stderr
    return output_files(out)


def _command(corpus: Path, out: Path, *extra: str, command: str = "run") -> list[str]:
    return [sys.executable, "-m", "curate", command, str(corpus), "-o", str(out), "-q", "--workers", "2", *CHUNK,
            *extra]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT))


def _as_from_a_terminal() -> None:
    """Signals as a shell passes them on: pytest's process may have SIGINT ignored or blocked."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _as_a_background_job() -> None:
    """Signals as a non-interactive shell leaves them to `cmd &` (or nohup to its command):
    SIGINT ignored, SIGTERM at its default."""
    _as_from_a_terminal()
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _start(command: list[str], sigint_ignored: bool = False) -> subprocess.Popen:
    # Its own group: a signal to the group reaches it and its workers alone.
    return subprocess.Popen(command, cwd=ROOT / "tests", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(), start_new_session=True,
                            preexec_fn=_as_a_background_job if sigint_ignored else _as_from_a_terminal)


def _children(pid: int) -> list[int]:
    try:
        return [int(n) for n in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        for child in _children(todo.pop()):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_for_a_chunk(proc: subprocess.Popen, out: Path) -> None:
    deadline = time.monotonic() + 120
    # A chunk's files are named by its number: the second one begun, the first is sealed.
    while not any((out / ".partial").glob("000001.*")):
        assert proc.poll() is None, f"the run ended before a chunk was sealed:\n{proc.communicate()[1]}"
        assert time.monotonic() < deadline, "no chunk sealed within 120 s"
        time.sleep(0.01)


def _send(proc: subprocess.Popen, signum: int, to: str) -> None:
    if to == "group":
        os.killpg(proc.pid, signum)
    else:
        os.kill(proc.pid, signum)


@pytest.mark.parametrize(("signum", "to", "extra", "sigint_ignored"), [
    (signal.SIGTERM, "pid", (), False),
    (signal.SIGTERM, "group", (), False),
    (signal.SIGINT, "group", (), False),
    (signal.SIGTERM, "group", ("--dedup-parts",), False),
    (signal.SIGTERM, "pid", (), True),
], ids=["sigterm-pid", "sigterm-group", "sigint-group", "sigterm-group-dedup-parts", "sigterm-pid-sigint-ignored"])
def test_a_signal_mid_run_is_said_ends_by_the_signal_and_resume_finishes(corpus, finished, tmp_path, signum, to,
                                                                        extra, sigint_ignored):
    out = tmp_path / "out"
    proc = _start(_command(corpus, out, *extra), sigint_ignored)
    _wait_for_a_chunk(proc, out)
    everyone = _descendants(proc.pid)
    assert everyone, "no worker was seen"
    _send(proc, signum, to)
    _, stderr = proc.communicate(timeout=LIMIT)
    assert proc.returncode == -signum, stderr
    assert stderr == KEPT.format(word=WORD[signum], out=out)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in everyone):  # the workers went with it (PR_SET_PDEATHSIG)
        assert time.monotonic() < deadline, [pid for pid in everyone if _alive(pid)]
        time.sleep(0.05)
    resumed = subprocess.run(_command(corpus, out, *extra, "--resume"), cwd=ROOT / "tests", capture_output=True,
                             text=True, env=_env())
    assert resumed.returncode == 0, resumed.stderr
    assert output_files(out) == finished


@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["from-a-terminal", "sigint-ignored"])
def test_a_sigterm_just_after_the_summary_leaves_the_finished_run_finished(corpus, finished, tmp_path, sigint_ignored):
    """The run is stopped (SIGSTOP) as its closing line is read, sent SIGTERM, and let go:
    the signal lands after the summary every time. Its output is in place, so it has
    nothing to stop. Started with SIGINT ignored (a background job of a script, nohup),
    curate once left both signals to their handler outside the run's block, and said
    "stopped by SIGTERM before the run began; nothing was written", status 143."""
    out = tmp_path / "out"
    proc = _start([part for part in _command(corpus, out) if part != "-q"], sigint_ignored)  # the summary said
    said = signalled_after_the_closing_line(proc, signal.SIGSTOP, signal.SIGTERM, signal.SIGCONT, timeout=LIMIT)
    assert proc.returncode == 0, said
    assert "Error" not in said
    assert output_files(out) == finished


@pytest.mark.parametrize(("signum", "to"), [(signal.SIGTERM, "group"), (signal.SIGINT, "pid")])
def test_a_signal_at_start_up_is_said_and_ends_by_the_signal(corpus, tmp_path, signum, to):
    # Before the run began: while curate is imported, its inputs found or its rules loaded.
    out = tmp_path / "out"
    for delay in (0.0, 0.6):
        proc = _start(_command(corpus, out))
        time.sleep(delay)
        _send(proc, signum, to)
        _, stderr = proc.communicate(timeout=LIMIT)
        assert proc.returncode == -signum, stderr
        said = ({STARTING, UNTOUCHED.format(word=WORD[signum], out=out)} if signum == signal.SIGTERM
                else {"Aborted!\n", UNTOUCHED.format(word=WORD[signum], out=out)})
        if delay == 0.0:
            said.add("")  # before the interpreter ran a line of curate's: the signal's default, silent
        if stderr != KEPT.format(word=WORD[signum], out=out):  # a fast machine may be under way by 0.6 s
            assert stderr in said
            assert not out.exists()


def test_a_second_signal_ends_the_process_at_once_without_a_traceback(corpus, tmp_path):
    out = tmp_path / "out"
    proc = _start(_command(corpus, out))
    _wait_for_a_chunk(proc, out)
    os.killpg(proc.pid, signal.SIGTERM)
    os.killpg(proc.pid, signal.SIGTERM)
    _, stderr = proc.communicate(timeout=LIMIT)
    assert proc.returncode == -signal.SIGTERM, stderr
    assert "Traceback" not in stderr and len(stderr.splitlines()) <= 1, stderr


@pytest.mark.parametrize("argv", [
    ("explain", "{corpus}", "--only", "drop"),
    ("rules", "test"),
])
def test_other_commands_end_quietly_by_the_signal(corpus, tmp_path, argv):
    proc = _start([sys.executable, "-m", "curate", *(a.format(corpus=corpus) for a in argv)])
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGTERM)
    _, stderr = proc.communicate(timeout=LIMIT)
    if proc.returncode == 0:
        pytest.skip("finished before the signal")
    assert proc.returncode == -signal.SIGTERM, stderr
    assert "Traceback" not in stderr and len(stderr.splitlines()) <= 1, stderr


# The command as the console script runs it, with a SIGTERM that lands as the process
# ends, after the command returned (in prompt_exit's clean-up, where the test above once
# met it: a traceback out of an import, and a finished command ended as if by SIGINT).
_LATE = """
import os, signal, sys
from curate import prompt_exit
from curate.__main__ import main

end_child_processes, note = prompt_exit.end_child_processes, sys.argv[1]

def signalled_end_child_processes():
    os.kill(os.getpid(), signal.SIGTERM)  # its handler runs here, in the process's ending
    with open(note, "w") as out:  # which leaves the default in its place: it ran
        out.write("handled" if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL else "not handled")
    end_child_processes()

prompt_exit.end_child_processes = signalled_end_child_processes
sys.argv = ["curate", *sys.argv[2:]]
main()
"""


@pytest.mark.parametrize("argv", [
    ("explain", "{corpus}", "--only", "drop"),
    ("rules", "test"),
])
def test_a_signal_that_lands_as_a_finished_command_ends_stops_nothing(corpus, tmp_path, argv):
    args, note = [a.format(corpus=corpus) for a in argv], tmp_path / "handled.txt"
    undisturbed = subprocess.run([sys.executable, "-m", "curate", *args], cwd=ROOT / "tests", capture_output=True,
                                 text=True, env=_env())
    assert undisturbed.returncode == 0, undisturbed.stderr
    proc = _start([sys.executable, "-c", _LATE, str(note), *args])
    stdout, stderr = proc.communicate(timeout=LIMIT)
    # The work was done: the command's own status and words, its whole output, no traceback...
    assert (proc.returncode, stderr) == (0, undisturbed.stderr)
    assert stdout == undisturbed.stdout
    # ... though the signal came, and curate's handler took it, as the process ended.
    assert note.read_text() == "handled"


# A lock whose release runs the SIGINT handler, as the interpreter runs it when the signal
# comes at that moment: its KeyboardInterrupt is raised just as a threading.Condition has
# let its lock go (in its _release_save), where a Ctrl-C once landed in the writer's thread
# pool at random; the Condition's `with` then released the lock again ("RuntimeError:
# release unlocked lock", a traceback, status 1).
_RACE = """
import signal, sys, threading
from curate import write

class SignalsOnRelease:
    def __init__(self):
        self._lock, self.armed = threading.Lock(), True
    def acquire(self, *args):
        return self._lock.acquire(*args)
    def release(self):
        self._lock.release()
        if self.armed:  # the handler, as the interpreter runs it at this point when SIGINT has come
            self.armed = False
            signal.getsignal(signal.SIGINT)(signal.SIGINT, sys._getframe())
    __enter__ = acquire
    def __exit__(self, *exc):
        self.release()

end_chunk, calls, note = write.OutputWriter.end_chunk, [], sys.argv[1]

def racing_end_chunk(self, *args):
    end_chunk(self, *args)
    calls.append(1)
    if len(calls) == 2:
        condition = threading.Condition(SignalsOnRelease())
        try:
            with condition:
                condition.wait(0)
        except BaseException as err:
            with open(note, "w") as out:
                out.write(f"{type(err).__name__}: {err} after {type(err.__context__).__name__}")
            raise

write.OutputWriter.end_chunk = racing_end_chunk
sys.argv = ["curate", *sys.argv[2:]]
from curate.__main__ import main
main()
"""


def test_a_ctrl_c_that_breaks_a_lock_on_its_way_is_still_the_stop_and_resume_finishes(corpus, finished, tmp_path):
    out, note = tmp_path / "out", tmp_path / "raised.txt"
    command = [sys.executable, "-c", _RACE, str(note), *_command(corpus, out)[3:]]
    proc = _start(command)
    _, stderr = proc.communicate(timeout=LIMIT + 60)
    # The hazard was met: the lock released again, its error raised over the KeyboardInterrupt...
    assert note.read_text() == "RuntimeError: release unlocked lock after KeyboardInterrupt"
    # ... and the run still stopped as a Ctrl-C stops it: its words, its status, its chunks kept.
    assert proc.returncode == -signal.SIGINT, stderr
    assert stderr == KEPT.format(word=WORD[signal.SIGINT], out=out)
    resumed = subprocess.run(_command(corpus, out, "--resume"), cwd=ROOT / "tests", capture_output=True, text=True,
                             env=_env())
    assert resumed.returncode == 0, resumed.stderr
    assert output_files(out) == finished
