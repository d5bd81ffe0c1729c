"""A worker killed under --workers (the OOM killer, SIGKILL) ends the run within seconds
with the --resume hint, every time, and --resume then gives output byte-identical to a run
that was never stopped. The runs use --workers 3: the main process maps batches too, so
that forks two workers, and the kills alternate between them.

Ten trials kill a worker in each phase of its life: right after it is forked (still
setting up), at moments spread evenly over the first half of the run (mapping batches,
between them, sending results), and part-way through sending a result to the parent.
That last case hung concurrent.futures' pool in 3 of 75 random trials (the parent waited
forever for the rest of the message); it is made certain here by stopping the parent
(SIGSTOP, as a busy parent would be) until a worker blocks writing a result, a batch's
result being several times what a pipe holds, then killing that worker and letting the
parent go on, to read the header and part of the message and then nothing. The kill
points are chosen, not drawn: fifty random ones (as before) cost a minute and a half and
covered the same phases, the one that hung being the one forced."""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, output_files

sys.path.insert(0, str(ROOT / "bench"))
from generate import generate

FILES = ("corpus", "removed.jsonl", "quarantine.jsonl", "summary.json")
# (mode, share): "setup" kills a worker as soon as both are forked, "running" after
# ``share`` of a clean run's workers' lifetime, "writing" (after ``share``) while the
# parent is stopped and a worker is blocked part-way through writing a result. The
# victim alternates between the two workers.
TRIALS = (("setup", 0.0), ("running", 0.05), ("writing", 0.0), ("running", 0.15), ("writing", 0.2),
          ("setup", 0.0), ("running", 0.25), ("writing", 0.4), ("running", 0.35), ("running", 0.45))
RESUMED = (0, 1, 2, 9)  # trials also resumed and compared (each costs a run): one of each mode, and the latest kill
EXIT_LIMIT = 20.0  # seconds from the kill to the end of the run; it takes well under one
WRITE_SYSCALL = {"x86_64": 1, "aarch64": 64}.get(platform.machine())
CHUNK = ("--chunk-docs", "40")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    generate(2.0, folder)  # about 700 documents in 8 batches, with near-duplicates across them
    return folder / "corpus.jsonl"


def _start(corpus: Path, out: Path, *extra: str) -> subprocess.Popen:
    exe = Path(sys.executable).parent / "curate"
    # 64 kB pipes, not the 1 MB the pool asks for: a batch's result must be several times
    # what the pipe holds for a worker to be caught part-way through sending it.
    env = dict(os.environ, CURATE_TEST_PIPE_BYTES=str(64 << 10))
    # --site off: JSON Lines may carry URLs, so a run would first take a census of the
    # sites with workers of its own, and the kills here are aimed at the main pass's workers.
    return subprocess.Popen([str(exe), "run", str(corpus), "-o", str(out), "-q", "--workers", "3", "--site", "off",
                             *CHUNK, *extra],
                            cwd=ROOT / "tests", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _children(pid: int) -> list[int]:
    try:
        return [int(n) for n in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) of a process, or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], fields[19]


def _writing(pid: int) -> bool:
    """Is one of the process's threads inside write(2) (a worker sends its results so)?"""
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            if Path(f"/proc/{pid}/task/{tid}/syscall").read_text().split()[0] == str(WRITE_SYSCALL):
                return True
    except (OSError, IndexError):
        pass
    return False


def _workers_of(proc: subprocess.Popen) -> list[int]:
    deadline = time.monotonic() + 60
    while len(workers := _children(proc.pid)) < 2:
        assert proc.poll() is None, "the run ended before its workers started"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    return workers


def _kill_a_worker(proc: subprocess.Popen, mode: str, delay: float, which: int) -> tuple[int, bool]:
    """Kill one worker as ``mode`` says; returns its pid and whether it was caught writing."""
    workers = _workers_of(proc)
    time.sleep(delay)
    if mode == "writing":
        # Stopped before it sent a task, the parent leaves the workers nothing to send:
        # let it run a moment between tries.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            proc.send_signal(signal.SIGSTOP)
            try:
                for _ in range(1000):
                    for pid in workers:
                        if _writing(pid):
                            os.kill(pid, signal.SIGKILL)
                            return pid, True
                    time.sleep(0.001)
            finally:
                proc.send_signal(signal.SIGCONT)
            time.sleep(0.02)
    victim = workers[which % len(workers)]
    with contextlib.suppress(ProcessLookupError):  # the workers had finished and exited: too late to matter
        os.kill(victim, signal.SIGKILL)
    return victim, False


def _outputs(out: Path) -> dict[str, bytes]:
    return output_files(out)


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory) -> tuple[dict[str, bytes], float]:
    """A clean run's output, and how long its workers lived."""
    out = tmp_path_factory.mktemp("ref") / "out"
    proc = _start(corpus, out)
    workers = _workers_of(proc)
    started = time.monotonic()
    while any((now := _stat(pid)) is not None and now[0] != "Z" for pid in workers):
        time.sleep(0.005)
    lifetime = time.monotonic() - started
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    return _outputs(out), lifetime


def _kill_trial(corpus: Path, out: Path, mode: str, delay: float, which: int):
    """Start a run, kill one of its workers; returns (the run, its stderr, the worker's pid,
    whether it was caught writing, the workers' (pid, state, start time))."""
    proc = _start(corpus, out)
    workers = _workers_of(proc)
    starts = {pid: _stat(pid) for pid in workers}
    victim, writing = _kill_a_worker(proc, mode, delay, which)
    try:
        _, stderr = proc.communicate(timeout=EXIT_LIMIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"{out.name} ({mode}): the run did not end within {EXIT_LIMIT} s of the kill")
    return proc, stderr, victim, writing, starts


@pytest.mark.slow
def test_a_killed_worker_stops_the_run_with_the_resume_hint_every_time(corpus, reference, tmp_path):
    clean, lifetime = reference
    modes = {mode for mode, _ in TRIALS} if WRITE_SYSCALL else {"setup", "running"}
    trials = [(mode, share) for mode, share in TRIALS if mode in modes]
    caught_writing = too_late = 0
    for trial, (mode, share) in enumerate(trials):
        # Kills land in the first half of a clean run's workers' lifetime. A worker killed
        # after the parent has every result changes nothing (on a machine busier when the
        # reference ran, that moment can come earlier): the run must then finish with
        # the same output, and the trial is made again with an earlier kill.
        for attempt in range(5):
            out = tmp_path / f"out{trial}-{attempt}"
            proc, stderr, victim, writing, starts = _kill_trial(corpus, out, mode, share * lifetime / 2 ** attempt,
                                                                trial)
            if proc.returncode != 0:
                break
            assert _outputs(out) == clean, f"trial {trial}: the run went on after a kill and its output differs"
            too_late += 1
        caught_writing += writing
        what = f"trial {trial} ({mode}): {stderr[-600:]}"
        assert proc.returncode == 1, what
        assert f"(pid {victim}) died (killed by signal 9, SIGKILL; out of memory?)" in stderr, what
        assert f"finished chunks are kept in {out}/.partial/" in stderr and "--resume" in stderr, what
        assert "Traceback" not in stderr, what
        assert not (out / "summary.json").exists(), what
        # No worker outlives the run: each is gone, or a zombie waiting for init to reap it.
        for pid, start in starts.items():
            now = _stat(pid)
            assert now is None or now[1] != start[1] or now[0] == "Z", f"{what}\norphan worker {pid}: {now}"
        if trial in RESUMED:
            resumed = _start(corpus, out, "--resume")
            _, stderr = resumed.communicate(timeout=300)
            assert resumed.returncode == 0, stderr
            assert _outputs(out) == clean, f"trial {trial}: resumed output differs"
    # A kill part-way through a message is the case that used to hang: make sure the
    # trials really exercised it.
    assert caught_writing == sum(mode == "writing" for mode, _ in trials)
    assert too_late <= len(trials) // 5, f"{too_late} kills came after the work was done: use a bigger corpus"


def _as_from_a_terminal() -> None:
    """Start curate as a shell would (see tests/test_resume.py: pytest's process may pass
    on SIGINT ignored or blocked)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
def test_ctrl_c_under_workers_stops_every_process_and_says_how_to_resume(corpus, reference, tmp_path):
    clean, lifetime = reference
    exe = Path(sys.executable).parent / "curate"
    # A Ctrl-C that lands after the last chunk, or inside a __del__ method (Python prints
    # "Exception ignored" and goes on; the regex package's parser objects have one, and a
    # garbage collection at a fixed point of the run finalizes them), lets the run finish:
    # its output must then be complete and right, and the test tries again at another moment.
    for attempt, share in enumerate((0.3, 0.15, 0.45, 0.05)):
        out = tmp_path / f"out{attempt}"
        proc = subprocess.Popen([str(exe), "run", str(corpus), "-o", str(out), "-q", "--workers", "3", "--site", "off",
                                 *CHUNK],
                                cwd=ROOT / "tests", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                process_group=0,  # its own group: a Ctrl-C reaches it and its workers alone
                                preexec_fn=_as_from_a_terminal)  # safe: nothing here forks from a thread
        workers = _workers_of(proc)
        starts = {pid: _stat(pid) for pid in workers}
        time.sleep(share * lifetime)
        os.killpg(proc.pid, signal.SIGINT)  # the whole group, workers too, as a terminal's Ctrl-C
        _, stderr = proc.communicate(timeout=EXIT_LIMIT)
        if proc.returncode != 0:
            break
        assert _outputs(out) == clean
    assert proc.returncode == -signal.SIGINT, stderr  # ends by the signal, after its message
    assert "interrupted" in stderr and "--resume" in stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr  # not from the workers either
    for pid, start in starts.items():
        now = _stat(pid)
        assert now is None or now[1] != start[1] or now[0] == "Z", f"orphan worker {pid}: {now}"
    resumed = _start(corpus, out, "--resume")
    _, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    assert _outputs(out) == clean
