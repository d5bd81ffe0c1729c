"""One node's workers for the Ray engine: an actor sets up a pass's stages once and forks
a worker per CPU of its node, which inherit them, as the local engine's workers do.

An actor per CPU paid, each, a Python process started by Ray, Ray's and curate's
imports, the language profiles and the rules compiled (about 1.3 s of CPU an actor,
bench/results/cpu-by-process-s57.txt), and held its own copy of them: a node of 64 CPUs
held 64. Forked, the workers start in milliseconds and share those pages.

The actor serves Ray's calls in threads of its own (a threaded actor): each call hands
its task to this pool and waits for the answer. One thread of the pool's owns the
worker processes (they are bound to it: `pool.die_with_parent`), sends them the tasks
and collects their answers. A batch stays in the worker that mapped it, and its
verdicts go to that worker.

Nothing here imports Ray: a worker must not touch it (it runs in a fork of a process
whose Ray threads it does not have).
"""

from __future__ import annotations

import collections
import os
import queue
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from curate.engines.heap import keep_freed_heap
from curate.engines.mapper import Key, Mapped, Mapper
from curate.engines.pool import WorkerDied, WorkerPool, die_with_parent
from curate.stages.base import Batch, Stage

if TYPE_CHECKING:
    from curate.document import Reason
    from curate.write import Renderer

_MAP = "map"
_FINISH = "finish"
_CLOSE = object()


class NodePool:
    """The stages of one pass in ``workers`` forked processes, for calls from any thread.

    ``on_death`` is called, in the pool's thread, with what happened when a worker dies:
    the batches it held are gone, and the actor must be seen as lost (the engine maps
    them again elsewhere), so the Ray actor ends its process there."""

    def __init__(self, stages: list[Stage], render: Renderer | None, workers: int,
                 on_death: Callable[[str], None]):
        self._requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        self._on_death = on_death
        self._lock = threading.Lock()  # between a request put and the pool's thread failing
        self._broken: BaseException | None = None
        self._started: Future[None] = Future()
        self._thread = threading.Thread(target=self._serve, args=(stages, render, workers),
                                        name="curate-node-pool", daemon=True)
        self._thread.start()
        self._started.result()  # the workers' start failing is raised here

    def map(self, batch: Batch, keep: bool) -> list[Mapped]:
        """`Mapper.map` in the worker with the fewest batches to map; with ``keep``, the
        batch stays in that worker for `finish`."""
        found: list[Mapped] = self._call((_MAP, batch, keep))
        return found

    def finish(self, key: Key, verdicts: list[Reason | None]) -> list[Any]:
        """`Mapper.finish` in the worker that holds the batch."""
        found: list[Any] = self._call((_FINISH, key, verdicts))
        return found

    def close(self) -> None:
        """Stop the workers (they hold no batch between passes) and the pool's thread."""
        self._requests.put(_CLOSE)
        os.write(self._wake_write, b"x")
        self._thread.join()
        os.close(self._wake_read)
        os.close(self._wake_write)

    def _call(self, task: tuple) -> Any:
        answer: Future[Any] = Future()
        with self._lock:
            if self._broken is not None:
                raise self._broken
            self._requests.put((task, answer))
        os.write(self._wake_write, b"x")
        return answer.result()

    def _serve(self, stages: list[Stage], render: Renderer | None, workers: int) -> None:
        waiting: dict[int, tuple[Future[Any], Any, tuple]] = {}  # seq -> (answer, worker, task)
        try:
            # Forked from this thread, which lives as long as they do: a worker is ended
            # when the thread that started it ends (PR_SET_PDEATHSIG), or its actor.
            pool = WorkerPool(workers, _task, _init_worker, (stages, render), hand_back_failures=True)
        except BaseException as err:  # noqa: BLE001 - said by the caller, in its own thread
            self._started.set_exception(err)
            return
        self._started.set_result(None)
        mapping: collections.Counter[Any] = collections.Counter()  # worker -> maps in flight
        holder: dict[int, Any] = {}  # batch number -> the worker that holds its parts
        parts_left: dict[int, int] = {}  # batch number -> parts not yet finished
        try:
            with pool:
                while True:
                    while True:
                        try:
                            request = self._requests.get_nowait()
                        except queue.Empty:
                            break
                        if request is _CLOSE:
                            return
                        task, answer = request
                        if task[0] == _MAP:
                            worker = min(pool.workers, key=lambda w: (mapping[w], w.number))
                            mapping[worker] += 1
                        else:
                            number = task[1][0]
                            if number not in holder:  # not the engine's protocol: that call's error
                                answer.set_exception(KeyError(f"no batch {number} is held here"))
                                continue
                            worker = holder[number]
                            parts_left[number] -= 1
                            if not parts_left[number]:
                                del holder[number], parts_left[number]
                        waiting[pool.send(task, worker)] = (answer, worker, task)
                    pool.collect(also=[self._wake_read])
                    _drain(self._wake_read)
                    for seq in [seq for seq in waiting if pool.done(seq)]:
                        answer, worker, task = waiting.pop(seq)
                        try:
                            found = pool.result(seq)
                        except BaseException as err:  # noqa: BLE001 - the caller's to raise
                            answer.set_exception(err)
                            continue
                        if task[0] == _MAP:
                            mapping[worker] -= 1
                            if task[2]:  # kept: its parts wait for their verdicts in this worker
                                holder[task[1].number] = worker
                                parts_left[task[1].number] = len(found)
                        answer.set_result(found)
        except WorkerDied as err:
            self._on_death(str(err))
        except BaseException as err:  # noqa: BLE001 - a bug here: every caller raises it
            with self._lock:
                self._broken = err
            for answer, _, _ in waiting.values():
                answer.set_exception(err)
            while True:
                try:
                    request = self._requests.get_nowait()
                except queue.Empty:
                    break
                if request is not _CLOSE:
                    request[1].set_exception(err)


def end_actor(message: str) -> None:
    """A worker died with the batches it held: end the actor's process, so that Ray
    reports the actor lost and the engine maps its batches again on another."""
    print(f"curate: {message}; ending this actor", file=sys.stderr, flush=True)
    os._exit(1)


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


# In a worker process.

_mapper: Mapper | None = None


def _init_worker(stages: list[Stage], render: Renderer | None) -> None:
    global _mapper
    die_with_parent()  # the actor ended (killed by Ray, its node lost): so is this worker
    keep_freed_heap()
    for stage in stages:
        stage.setup()  # done before the fork: each finds its state built
    _mapper = Mapper(stages, render)


def _task(task: tuple) -> Any:
    assert _mapper is not None
    if task[0] == _MAP:
        return _mapper.map(task[1], task[2])
    return _mapper.finish(task[1], task[2])
