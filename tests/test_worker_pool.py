"""The worker pool: results in input order with a bounded window, an exception in a worker
raised in the parent with the worker's traceback, and a dead worker noticed every time
(even part-way through a large message), with no worker left behind."""

from __future__ import annotations

import multiprocessing
import os
import signal
import struct
import threading
import time
from pathlib import Path

import pytest
from conftest import SEEDS, invoke, output_files

from curate import driver
from curate.engines import local, pool
from curate.engines.pool import RemoteTraceback, WorkerDied, WorkerError, ordered_map
from curate.errors import RuleError


def _no_workers_left() -> bool:
    """No pool process outlives the pool: all reaped, none running."""
    return multiprocessing.active_children() == []


def _slow_square(n: int) -> int:
    time.sleep(0.02 * (n % 3))  # later tasks often finish first
    return n * n


def test_results_come_in_input_order():
    assert list(ordered_map(_slow_square, range(40), workers=2)) == [n * n for n in range(40)]
    assert _no_workers_left()


def test_tasks_are_taken_no_further_ahead_than_the_window():
    taken = []

    def tasks():
        for n in range(60):
            taken.append(n)
            yield n

    for yielded, _ in enumerate(ordered_map(_slow_square, tasks(), workers=2, window=5), start=1):
        assert len(taken) - yielded <= 5
    assert _no_workers_left()


def _fail_on_seven(n: int) -> int:
    if n == 7:
        raise ZeroDivisionError("seven is right out")
    return n


def test_an_exception_in_a_worker_is_raised_with_its_traceback():
    with pytest.raises(ZeroDivisionError, match="seven is right out") as caught:
        list(ordered_map(_fail_on_seven, range(20), workers=2))
    cause = caught.value.__cause__
    assert isinstance(cause, RemoteTraceback)
    assert "_fail_on_seven" in str(cause) and "ZeroDivisionError" in str(cause)
    assert _no_workers_left()


def _unpicklable_result(n: int):
    return threading.Lock()


def test_a_result_that_cannot_be_sent_is_an_error_not_a_hang():
    with pytest.raises(TypeError, match="pickle"):
        list(ordered_map(_unpicklable_result, range(3), workers=2))
    assert _no_workers_left()


class _Unrebuildable(Exception):
    def __init__(self, a, b):
        super().__init__(f"{a} and {b}")


def _raise_unrebuildable(n: int) -> int:
    raise _Unrebuildable(1, 2)


def test_an_exception_that_does_not_unpickle_still_comes_back_as_text():
    with pytest.raises(WorkerError, match="1 and 2"):
        list(ordered_map(_raise_unrebuildable, range(3), workers=2))
    assert _no_workers_left()


def _failing_setup() -> None:
    raise RuntimeError("cannot set up")


def test_an_exception_in_the_initializer_is_raised():
    with pytest.raises(RuntimeError, match="cannot set up"):
        list(ordered_map(_slow_square, range(3), workers=2, initializer=_failing_setup))
    assert _no_workers_left()


def _die_on_five(n: int) -> int:
    if n == 5:
        os.kill(os.getpid(), signal.SIGKILL)
    return n


def test_a_killed_worker_raises_worker_died_with_its_signal():
    started = time.monotonic()
    with pytest.raises(WorkerDied, match=r"worker process \d \(pid \d+\) died \(killed by signal 9, SIGKILL; "
                                         r"out of memory\?\)"):
        list(ordered_map(_die_on_five, range(20), workers=2))
    assert time.monotonic() - started < 10
    assert _no_workers_left()


def _exit_on_three(n: int) -> int:
    if n == 3:
        os._exit(7)
    return n


def test_a_worker_that_exits_is_noticed_too():
    with pytest.raises(WorkerDied, match="exited unexpectedly with status 7"):
        list(ordered_map(_exit_on_three, range(20), workers=2))
    assert _no_workers_left()


def _send_part_of_a_message_then_die(conn, outbox) -> None:
    """A worker's sender killed while it writes a large result: the length says 12 MB,
    4 MB of it arrive (far more than a pipe holds, so the parent is reading it), then the
    worker is gone. (The shared result pipe of concurrent.futures hung here.)"""
    outbox.get()
    message = struct.pack("!i", 12 << 20) + b"x" * (4 << 20)
    while message:
        message = message[os.write(conn.fileno(), message):]
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_killed_part_way_through_a_message_is_noticed(monkeypatch):
    monkeypatch.setattr(pool, "_send_results", _send_part_of_a_message_then_die)  # in the forked workers
    started = time.monotonic()
    with pytest.raises(WorkerDied, match="killed by signal 9"):
        list(ordered_map(_slow_square, range(4), workers=2))
    assert time.monotonic() - started < 20
    assert _no_workers_left()


def test_a_ctrl_c_held_back_during_a_fork_stops_the_worker_just_started(monkeypatch):
    """A Ctrl-C that lands while a worker is forked waits, blocked, until the fork is done
    and is raised as the signals are let through again. The worker just started ignores
    SIGINT and SIGTERM (the parent decides), so it must be stopped by the pool: once it
    was not yet known to the pool then, and the process's exit (multiprocessing's atexit:
    a terminate, then a join) waited for it for ever (`curate dedup --dedup-parts` under
    load, Ctrl-C as its parts' pool started)."""
    started = multiprocessing.process.BaseProcess.start

    def start_then_ctrl_c(self):
        started(self)
        # To this thread, which blocks it for the fork: raised as the pool unblocks it (sent to
        # the process, another thread of pytest-xdist's could take it, and the handler would
        # run at some other moment).
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", start_then_ctrl_c)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            pool.WorkerPool(2, _slow_square)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert _no_workers_left()


def test_closing_the_results_early_stops_every_worker():
    results = ordered_map(_slow_square, range(1000), workers=2)
    assert next(results) == 0
    results.close()
    assert _no_workers_left()


# Through the CLI: the pipeline's workers are forked from this process, so a patched
# stage runs in them. This process maps batches too (--workers 2 forks one worker), so
# a fault meant for a worker is made only in a forked one.

def _in_a_worker() -> bool:
    return multiprocessing.parent_process() is not None


def _batch_with_a_bug(stages, batch):
    if _in_a_worker():
        raise ZeroDivisionError("a bug in a stage")
    return _real_process_batch(stages, batch)


def _batch_with_a_bug_here(stages, batch):
    if not _in_a_worker():
        raise ZeroDivisionError("a bug in a stage, in the main process")
    return _real_process_batch(stages, batch)


_real_process_batch = local.process_batch


def _tiny_batches(monkeypatch) -> None:
    monkeypatch.setattr(driver, "BATCH_DOCS", 1)  # one seed page per batch: several in flight


@pytest.mark.parametrize(("bug", "where"), [(_batch_with_a_bug, "a worker"),
                                             (_batch_with_a_bug_here, "the main process")])
def test_cli_a_bug_in_a_stage_raises_with_its_traceback(monkeypatch, tmp_path, bug, where):
    # With one page a batch, the worker is given two batches to map ahead and the third is
    # the main process's own: each raises, as in one process, with the traceback of the
    # process it came from.
    _tiny_batches(monkeypatch)
    monkeypatch.setattr(local, "process_batch", bug)
    out = tmp_path / "out"
    with pytest.raises(ZeroDivisionError, match="a bug in a stage") as caught:
        invoke("run", SEEDS, "-o", out, "-q", "--workers", "2")
    if where == "a worker":
        assert isinstance(caught.value.__cause__, RemoteTraceback)
        assert "_batch_with_a_bug" in str(caught.value.__cause__)
    else:
        assert "in the main process" in str(caught.value)
        assert not isinstance(caught.value.__cause__, RemoteTraceback)
    assert not (out / "summary.json").exists()  # nothing that looks finished
    assert _no_workers_left()


def _batch_with_a_rule_error(stages, batch):
    raise RuleError("rules/slow.toml", "took over its time budget on line 3", rule="slow")


def test_cli_a_curate_error_in_a_worker_is_reported_as_one(monkeypatch, tmp_path):
    monkeypatch.setattr(local, "process_batch", _batch_with_a_rule_error)
    out = tmp_path / "out"
    result = invoke("run", SEEDS, "-o", out, "-q", "--workers", "2")
    assert result.exit_code == 1
    assert "Error: rules/slow.toml: rule 'slow': took over its time budget on line 3" in result.output
    assert "Traceback" not in result.output
    assert _no_workers_left()


def _batch_that_kills_its_worker(stages, batch):
    if _in_a_worker() and any(getattr(item, "id", "").startswith("001_") for item in batch.items):
        os.kill(os.getpid(), signal.SIGKILL)
    return _real_process_batch(stages, batch)


def test_cli_a_killed_worker_stops_the_run_with_the_resume_hint(monkeypatch, tmp_path):
    _tiny_batches(monkeypatch)
    monkeypatch.setattr(local, "process_batch", _batch_that_kills_its_worker)
    out = tmp_path / "out"
    result = invoke("run", SEEDS, "-o", out, "-q", "--workers", "2", "--chunk-docs", "1")
    assert result.exit_code == 1
    assert "killed by signal 9, SIGKILL; out of memory?" in result.output
    assert f"finished chunks are kept in {out}/.partial/" in result.output
    assert "--resume" in result.output and "Traceback" not in result.output
    assert not (out / "summary.json").exists()
    assert _no_workers_left()
    # What finished before the kill is kept, and --resume completes the run identically.
    monkeypatch.setattr(local, "process_batch", _real_process_batch)
    clean = tmp_path / "clean"
    assert invoke("run", SEEDS, "-o", clean, "-q", "--chunk-docs", "1").exit_code == 0
    assert invoke("run", SEEDS, "-o", out, "-q", "--workers", "2", "--chunk-docs", "1", "--resume").exit_code == 0
    assert output_files(out) == output_files(clean)


def _batch_out_of_memory(stages, batch):
    if _in_a_worker():
        raise MemoryError("std::bad_alloc")  # what RE2 raises when an allocation fails
    return _real_process_batch(stages, batch)


def _batch_out_of_memory_here(stages, batch):
    if any(getattr(item, "id", "").startswith("002_") for item in batch.items):
        raise MemoryError
    return _real_process_batch(stages, batch)


@pytest.mark.parametrize(("bug", "workers", "cause"), [
    (_batch_out_of_memory, "2", "worker process 1 (pid {pid}) ran out of memory (MemoryError: std::bad_alloc); "
                                "free memory, or use fewer --workers"),
    (_batch_out_of_memory_here, "1", "curate's main process ran out of memory; free memory, or give a smaller "
                                     "--memory")])
def test_cli_out_of_memory_stops_the_run_with_the_resume_hint(monkeypatch, tmp_path, bug, workers, cause):
    # A MemoryError (an allocation refused under `ulimit -v`, or by RE2) is the OOM killer's
    # SIGKILL by other means: the same stop, not a bug's traceback.
    _tiny_batches(monkeypatch)
    monkeypatch.setattr(local, "process_batch", bug)
    out = tmp_path / "out"
    result = invoke("run", SEEDS, "-o", out, "-q", "--workers", workers, "--chunk-docs", "1")
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    pid = line.split("(pid ", 1)[1].split(")", 1)[0] if "(pid " in line else ""
    assert line == (f"Error: {cause.format(pid=pid)}; finished chunks are kept in {out}/.partial/ and no final file "
                    "was written. Fix the cause, then run the same command with --resume to continue where it "
                    "stopped.")
    assert _no_workers_left()
    monkeypatch.setattr(local, "process_batch", _real_process_batch)
    clean = tmp_path / "clean"
    assert invoke("run", SEEDS, "-o", clean, "-q", "--chunk-docs", "1").exit_code == 0
    assert invoke("run", SEEDS, "-o", out, "-q", "--workers", workers, "--chunk-docs", "1", "--resume").exit_code == 0
    assert output_files(out) == output_files(clean)


def _address_space(extra: int) -> tuple[dict[str, str], object]:
    """The environment and preexec_fn of a curate process whose address space (ulimit -v)
    is what curate takes once imported, measured here (it differs between machines), plus
    ``extra`` bytes. OpenBLAS on one thread: its threads' buffers take more on more cores."""
    import resource
    import subprocess
    import sys

    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    probe = ("import curate.cli, curate.driver; print(next(line.split()[1] for line in open('/proc/self/status') "
             "if line.startswith('VmPeak:')))")
    imported = int(subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                                  check=True).stdout) * 1024
    limit = imported + extra
    return env, lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.mark.parametrize("where", ["rules", "inputs"])
def test_cli_out_of_memory_before_the_run_begins_is_one_line(tmp_path, where):
    # Room to start, not to load the built-in rules (~100 MB more at their peak) nor to read
    # an --inputs-from list (a 256 MiB buffer). The first ended in a traceback, the second
    # said the list could not be read "()", and to check it.
    import subprocess
    import sys

    from conftest import ROOT

    listed = tmp_path / "inputs.txt"
    listed.write_text(f"{SEEDS}\n")
    inputs = ("--inputs-from", listed) if where == "inputs" else (SEEDS,)
    out = tmp_path / "out"
    env, limit = _address_space(40 << 20)
    stopped = subprocess.run([str(Path(sys.executable).parent / "curate"), "run", *map(str, inputs), "-o", str(out),
                              "-q"], cwd=ROOT, env=env, preexec_fn=limit, capture_output=True, text=True, timeout=60,
                             check=False)
    assert stopped.returncode == 1, stopped.stderr
    assert "Traceback" not in stopped.stderr, stopped.stderr
    [line] = stopped.stderr.splitlines()
    assert line.startswith("Error: curate ran out of memory"), line
    assert line.endswith("; free memory, then run the same command again")
    assert not out.exists()


def _allocates_too_much(n: int) -> int:
    if n == 3:
        raise MemoryError("std::bad_alloc")
    return n


def _dies_out_of_memory(n: int) -> int:
    if n == 3:
        os._exit(pool.OUT_OF_MEMORY)  # what a worker does when it cannot even answer
    return n


@pytest.mark.parametrize("fn", [_allocates_too_much, _dies_out_of_memory])
def test_a_worker_out_of_memory_raises_worker_died(fn):
    with pytest.raises(WorkerDied, match=r"worker process \d \(pid \d+\) ran out of memory"):
        list(ordered_map(fn, range(8), workers=2))
    assert _no_workers_left()


def test_a_run_with_workers_leaves_nothing_frozen(tmp_path):
    # The engine freezes the collector's objects while its workers live (their pages stay
    # shared); a program that runs one folder after another must get them back after.
    import gc

    assert invoke("run", SEEDS, "-o", tmp_path / "out", "-q", "--workers", "2").exit_code == 0
    assert gc.get_freeze_count() == 0
    assert _no_workers_left()
