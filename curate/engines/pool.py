"""Worker processes: tasks in, results out in input order, and a prompt stop with a
message when a worker dies.

Not concurrent.futures: its workers share one result pipe, so a worker killed while it
sends a result leaves the parent waiting forever for the rest of the message (the other
workers keep that pipe open), and a dead worker surfaces as a raw BrokenProcessPool.
Here every worker has a pipe of its own whose far end no other process holds, and the
parent waits on the pipes and on the processes' sentinels together: a dead worker shows
as end-of-file, a broken pipe or a ready sentinel, whichever comes first, every time.

No side ever blocks on a send while the other blocks on its own send (a deadlock): a
worker receives tasks and sends results in threads of its own, so its pipe is drained
while it computes, and the parent sends at most TASKS_PER_WORKER tasks ahead to each.
"""

from __future__ import annotations

import collections
import errno
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, wait
from typing import Any, Self

from curate.errors import CurateError, MachineLimit, machine_limit, thread_limit
from curate.interrupts import STOPS

TASKS_PER_WORKER = 2  # one being computed, one waiting: a worker never idles between tasks
# A worker's exit status when it ran out of memory where it could not even say so (the
# exception's traceback, or its answer, needed memory too).
OUT_OF_MEMORY = 99
# A worker's exit status when it could not start its threads (RLIMIT_NPROC, the system's
# threads-max): a limit of the machine, said by the parent, with no traceback.
NO_THREAD = 98
STOP_SECONDS = 2.0  # how long workers get to exit on their own before they are killed
_END = object()


class WorkerDied(CurateError):
    """A worker process ended while the pool still needed it (killed, out of memory)."""


class WorkerError(RuntimeError):
    """An exception in a worker that could not be sent back as itself."""


class RemoteTraceback(Exception):
    """Where an exception was raised inside a worker: set as its ``__cause__``, so the
    parent's traceback shows the worker's too."""


def ordered_map(fn: Callable[[Any], Any], tasks: Iterable[Any], workers: int,
                initializer: Callable[..., None] | None = None, initargs: tuple = (),
                window: int | None = None) -> Iterator[Any]:
    """``fn(task)`` for every task, computed in ``workers`` processes, yielded in task order.

    At most ``window`` tasks (default 4 per worker) are taken from ``tasks`` and not yet
    yielded, so memory does not grow with their number. An exception in ``fn`` is raised
    here, with the worker's traceback as its cause; a worker that dies raises WorkerDied.
    Whatever ends the iteration early (an error, Ctrl-C, closing the generator) stops
    every worker before it returns.
    """
    with WorkerPool(workers, fn, initializer, initargs) as pool:
        yield from pool.imap(tasks, window or 4 * workers)


class _Worker:
    def __init__(self, number: int, process: multiprocessing.process.BaseProcess, tasks: Connection,
                 results: Connection):
        self.number = number
        self.process = process
        self.conn = tasks  # the parent writes tasks here
        self.results = results  # and reads results here
        self.tasks = 0  # sent and not yet answered


class WorkerPool:
    def __init__(self, workers: int, fn: Callable[[Any], Any],
                 initializer: Callable[..., None] | None = None, initargs: tuple = ()):
        context = multiprocessing.get_context()  # fork on Linux: workers inherit what the parent built
        self._workers: list[_Worker] = []
        # What collect() waits on, built once: it runs for every answer, and building
        # these anew each time (Process.sentinel is a property that checks the process)
        # was 1% of a `dedup --workers 2`'s main process by py-spy.
        self._by_sentinel: dict[Any, _Worker] = {}
        self._by_conn: dict[Any, _Worker] = {}
        self._finished: dict[int, Any] = {}  # results by sequence number, until taken
        self._next_seq = 0
        try:
            for number in range(1, workers + 1):
                # One pipe each way, each as large as Linux allows: a batch's task or result
                # then fits in the pipe and goes in one write, where a 64 kB pipe made the
                # sender wait, piece by piece, for the other side's reading thread to get
                # its turn at the GIL (about a second of a 3-second `curate dedup`).
                their_tasks, our_tasks = context.Pipe(duplex=False)
                our_results, their_results = context.Pipe(duplex=False)
                ours, theirs = [our_tasks, our_results], [their_tasks, their_results]
                for end in ours:
                    _enlarge_pipe(end)
                # The worker closes its copies of the parent's ends (its own and earlier
                # workers'), so that a parent that is gone reads as end-of-file there too.
                parent_ends = [end for w in self._workers for end in (w.conn, w.results)] + ours
                process = context.Process(target=_serve, name=f"curate-worker-{number}", daemon=True,
                                          args=(their_tasks, their_results, parent_ends, fn, initializer,
                                                initargs))
                # A Ctrl-C or SIGTERM during the fork would interrupt the new worker before it
                # ignores them (a traceback from it); blocked, they wait for the parent alone.
                signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
                try:
                    process.start()
                finally:
                    try:
                        # A worker forked is known to close() at once, whatever interrupts us: a
                        # Ctrl-C that waited for the unblock below and was raised there (or one
                        # another thread took, raised here in start()) once left a started worker
                        # nobody stopped. It ignores SIGTERM, so the exit's join of it
                        # (multiprocessing's atexit: a terminate, then a join) waited for ever.
                        if process.pid is not None:
                            worker = _Worker(number, process, our_tasks, our_results)
                            self._workers.append(worker)
                            self._by_sentinel[process.sentinel] = worker
                            self._by_conn[our_results] = worker
                        else:
                            for end in ours:
                                end.close()
                    finally:
                        # From here on only the worker holds its end: its death is end-of-file
                        # here. Closed before the next fork, so no later worker inherits it.
                        for end in theirs:
                            end.close()
                        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)
        except BaseException as err:
            self.close(kill=True)
            limit = _start_limit(err, f"starting worker process {len(self._workers) + 1}")
            if limit is not None:
                raise limit from err
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(kill=exc_type is not None)

    def imap(self, tasks: Iterable[Any], window: int) -> Iterator[Any]:
        tasks = iter(tasks)
        pending: collections.deque[int] = collections.deque()  # sequence numbers, in task order
        more = True
        while True:
            while more and len(pending) < window:
                worker = self.idle_worker()
                if worker is None:
                    break
                task = next(tasks, _END)
                if task is _END:
                    more = False
                    break
                pending.append(self.send(task, worker))
            if pending and pending[0] in self._finished:
                yield self._finished.pop(pending.popleft())
            elif not pending and not more:
                return
            else:
                self.collect()

    @property
    def workers(self) -> list[_Worker]:
        return self._workers

    def idle_worker(self) -> _Worker | None:
        """The worker with the fewest tasks, if it can take one more without idling another."""
        worker = min(self._workers, key=lambda w: w.tasks)
        return worker if worker.tasks < TASKS_PER_WORKER else None

    def send(self, task: Any, worker: _Worker) -> int:
        """Give ``task`` to ``worker`` (whatever its load: a task may need the worker that
        holds its data); returns the sequence number its result is kept under."""
        seq = self._next_seq
        self._next_seq += 1
        data = pickle.dumps((seq, task), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            worker.conn.send_bytes(data)
        except OSError:  # a broken pipe: the worker is gone
            raise self._died(worker) from None
        worker.tasks += 1
        return seq

    def done(self, seq: int) -> bool:
        return seq in self._finished

    def result(self, seq: int) -> Any:
        """The result of task ``seq``, waiting for it if need be."""
        while seq not in self._finished:
            self.collect()
        return self._finished.pop(seq)

    def collect(self, block: bool = True) -> None:
        """Wait until a worker answers or dies (without ``block``: only look); keep the
        answers, raise on the rest."""
        by_sentinel, by_conn = self._by_sentinel, self._by_conn
        ready = wait([*by_sentinel, *by_conn], timeout=None if block else 0)
        for obj in ready:
            if obj in by_sentinel:
                raise self._died(by_sentinel[obj])
        for obj in ready:
            worker = by_conn[obj]
            try:
                data = worker.results.recv_bytes()
            except (EOFError, OSError):  # OSError: it died part-way through a message
                raise self._died(worker) from None
            seq, ok, payload = pickle.loads(data)
            worker.tasks -= 1
            if not ok:
                err = _reraise(worker, payload)
                if isinstance(err, MemoryError):  # as the OOM killer's SIGKILL: a stop, not a bug
                    raise self._out_of_memory(worker, str(err)) from err
                raise err
            self._finished[seq] = payload

    def _out_of_memory(self, worker: _Worker, detail: str) -> WorkerDied:
        said = f" (MemoryError: {detail})" if detail else ""
        return WorkerDied(f"worker process {worker.number} (pid {worker.process.pid}) ran out of memory{said}; "
                          "free memory, or use fewer --workers")

    def _died(self, worker: _Worker) -> WorkerDied:
        worker.process.join(STOP_SECONDS)  # end-of-file can come just before the exit status
        code = worker.process.exitcode
        if code == OUT_OF_MEMORY:
            return self._out_of_memory(worker, "")
        if code == NO_THREAD:
            return WorkerDied(str(thread_limit(f"worker process {worker.number}, pid {worker.process.pid}, could "
                                               "not start a thread", ", or use fewer --workers")))
        if code is None:
            how = "closed its pipe"
        elif code < 0:
            how = f"died (killed by signal {-code}{_signal_name(-code)}"
            how += "; out of memory?)" if -code == signal.SIGKILL else ")"
        else:
            how = f"exited unexpectedly with status {code}"
        return WorkerDied(f"worker process {worker.number} (pid {worker.process.pid}) {how}")

    def close(self, kill: bool) -> None:
        """Stop every worker: idle ones exit when their pipe closes; with ``kill`` (an
        error, Ctrl-C) busy ones are killed at once (SIGKILL: a worker ignores SIGTERM, which
        is the parent's to handle). None outlives this call."""
        for worker in self._workers:
            worker.conn.close()
            worker.results.close()
        if kill:
            for worker in self._workers:
                worker.process.kill()
        deadline = time.monotonic() + STOP_SECONDS
        for worker in self._workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.exitcode is None:
                worker.process.kill()
                worker.process.join()
            worker.process.close()


PIPE_BYTES = 1 << 20  # Linux's default ceiling for an unprivileged process (fs/pipe-max-size)
# Only tests set this: a smaller pipe, so that a worker blocks part-way through sending a
# result and can be killed there (tests/test_worker_kill.py).
PIPE_BYTES_ENV = "CURATE_TEST_PIPE_BYTES"


def die_with_parent() -> None:
    """End this process (a worker, a part's process) the moment the process that started it
    dies, by any signal, SIGKILL included. Left alive, it waits on its pipes forever
    under init, holding the run's stdout and stderr (a `curate run ... | cat` never ends),
    or goes on writing into a .partial/ folder that a --resume may already be using.

    SIGKILL, not SIGTERM: a forked worker inherits the parent's Python handlers, and an
    API caller's SIGTERM handler would run in it instead of ending it. The parent is the
    one multiprocessing recorded when it made the process, not getppid() now: a process
    whose parent died before this call (a spawned one imports curate for a second first)
    is already init's, and is ended here. Linux ties PR_SET_PDEATHSIG to the thread that
    started the process: curate's pools live within the call of the thread that made them.
    """
    recorded = multiprocessing.parent_process()
    parent = recorded.pid if recorded is not None and recorded.pid is not None else os.getppid()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, signal.SIGKILL) == 0:  # PR_SET_PDEATHSIG
            if os.getppid() != parent:  # died before the prctl: the kernel will not say so now
                os._exit(1)
            return
    except (OSError, AttributeError):
        pass

    def watch() -> None:  # not Linux: poll for the parent
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=watch, daemon=True).start()


def _enlarge_pipe(conn: Connection) -> None:
    """Ask for PIPE_BYTES of pipe buffer; where that is refused (another system, a lower
    ceiling) the pipe keeps its size, which is only slower."""
    try:
        import fcntl

        fcntl.fcntl(conn.fileno(), fcntl.F_SETPIPE_SZ, int(os.environ.get(PIPE_BYTES_ENV, PIPE_BYTES)))
    except (ImportError, AttributeError, OSError):
        pass


def _start_limit(err: BaseException, where: str) -> MachineLimit | None:
    """The stop a failure to start a worker (its pipes, its fork) makes if it is a limit of
    the process or the machine: too many open files, or (EAGAIN from fork) processes."""
    fewer = ", or use fewer --workers"
    if isinstance(err, OSError) and err.errno == errno.EAGAIN:
        return thread_limit(where, fewer)
    return machine_limit(err, where, fewer)


def _signal_name(number: int) -> str:
    try:
        return f", {signal.Signals(number).name}"
    except ValueError:
        return ""


def _reraise(worker: _Worker, payload: tuple[bytes | None, str]) -> BaseException:
    """The worker's exception, as itself when it survives pickling, with its traceback."""
    blob, text = payload
    err = None
    if blob is not None:
        try:
            err = pickle.loads(blob)
        except Exception:  # noqa: BLE001 - any failure to rebuild it: fall back to the text
            err = None
    if not isinstance(err, BaseException):
        err = WorkerError(f"worker process {worker.number} raised:\n{text}")
    err.__cause__ = RemoteTraceback(text)
    return err


# In the worker.

def _serve(tasks: Connection, results: Connection, parent_ends: list[Connection], fn: Callable[[Any], Any],
           initializer: Callable[..., None] | None, initargs: tuple) -> None:
    """A worker's life: set up, then compute each task its receiver thread reads and hand
    the result to its sender thread, until the parent closes the pipe."""
    try:
        # Ctrl-C reaches the whole process group, and so does a scheduler's SIGTERM (Slurm,
        # `docker stop` on a shell): the parent decides and says why, then stops the workers.
        # Left to them, they died first, and the parent reported a worker's death.
        for stop in STOPS:
            signal.signal(stop, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)  # blocked by the parent for the fork
        for end in parent_ends:
            end.close()
        failure = None
        try:
            if initializer is not None:
                initializer(*initargs)
        except BaseException as err:  # noqa: BLE001 - whatever it is, the parent must raise it
            failure = _failure(err)  # sent as the answer to every task, so the parent raises it
        inbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        outbox: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        try:
            threading.Thread(target=_receive_tasks, args=(tasks, inbox), daemon=True).start()
            threading.Thread(target=_send_results, args=(results, outbox), daemon=True).start()
        except RuntimeError:  # "can't start new thread": a limit of the machine, said by the parent
            os._exit(NO_THREAD)
        while (data := inbox.get()) is not None:
            seq, task = pickle.loads(data)
            outbox.put(_answer(seq, fn, task, failure))
    except MemoryError:  # no traceback: the parent reports it, as it reports the OOM killer's SIGKILL
        os._exit(OUT_OF_MEMORY)
    except BaseException:  # noqa: BLE001 - a worker must never run on past a fault
        traceback.print_exc()  # a bug in this loop: the parent reports the exit status
        os._exit(1)
    # Not the usual exit: it would flush stdio buffers inherited from the parent.
    os._exit(0)


def _answer(seq: int, fn: Callable[[Any], Any], task: Any, failure: tuple[bytes | None, str] | None) -> bytes:
    if failure is None:
        try:
            return pickle.dumps((seq, True, fn(task)), protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError as err:
            # Small, and without the traceback's text, which takes memory to format; the
            # parent stops the run with the out-of-memory message, which needs no traceback.
            failure = (pickle.dumps(MemoryError(str(err))), "MemoryError")
        except BaseException as err:  # noqa: BLE001 - a bug, or a result that cannot be pickled
            failure = _failure(err)
    return pickle.dumps((seq, False, failure), protocol=pickle.HIGHEST_PROTOCOL)


def _failure(err: BaseException) -> tuple[bytes | None, str]:
    """An exception as (pickled, if it unpickles as itself; traceback text)."""
    text = "".join(traceback.format_exception(err))
    try:
        blob = pickle.dumps(err)
        pickle.loads(blob)
    except Exception:  # noqa: BLE001 - whatever breaks the round trip
        # An error with its own __init__ arguments does not unpickle; keep what the CLI
        # needs of a CurateError (its class family and message) so it is reported as one.
        return (pickle.dumps(CurateError(str(err))) if isinstance(err, CurateError) else None), text
    return blob, text


def _receive_tasks(conn: Connection, inbox: queue.SimpleQueue) -> None:
    try:
        while True:
            inbox.put(conn.recv_bytes())
    except (EOFError, OSError):  # the parent closed the pipe (done, or stopping) or is gone
        inbox.put(None)
    except MemoryError:  # a task too large to take in: the worker cannot go on (see _serve)
        os._exit(OUT_OF_MEMORY)


def _send_results(conn: Connection, outbox: queue.SimpleQueue) -> None:
    while True:
        data = outbox.get()
        try:
            conn.send_bytes(data)
        except OSError:  # the parent is gone or stopping this worker
            os._exit(0)
        except MemoryError:
            os._exit(OUT_OF_MEMORY)
