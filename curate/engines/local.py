"""The local engine: the per-document stages in worker processes, the barrier here.

Results come back in input order and the barrier runs in this process, batch after
batch, so the output is the same for any number of workers."""

from __future__ import annotations

import collections
import contextlib
import gc
import multiprocessing
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from curate.document import Reason
from curate.engines import Engine, Progress
from curate.engines.heap import keep_freed_heap
from curate.engines.mapper import Mapped, Mapper, add_id_problems, check_ids, shell_of
from curate.engines.pool import WorkerDied, WorkerPool, die_with_parent, ordered_map
from curate.errors import RunStopped
from curate.stages.base import Batch, Stage, run_stages
from curate.storage import Location

if TYPE_CHECKING:
    from curate.formats import IdRegistry
    from curate.write import Renderer


class LocalEngine(Engine):
    name = "local"

    def process(self, stages: list[Stage], barrier: Stage | None, batches: Iterator[Batch],
                on_progress: Progress | None = None, output: Location | None = None,
                render: Renderer | None = None, ids: IdRegistry | None = None) -> Iterator[Batch]:
        if self.workers > 1 and render is not None:
            yield from self._pipelined(stages, barrier, batches, on_progress, output, render, ids)
            return
        for batch in self.map(stages, batches, output):
            if barrier is not None:
                started = time.perf_counter()
                batch = barrier(batch)
                batch.timings[barrier.name] = batch.timings.get(barrier.name, 0.0) + time.perf_counter() - started
            # Measured before _render empties the items: the bar stood at 0% (--workers 1).
            size = batch.size if on_progress is not None else 0
            if render is not None:
                _render(batch, render)
            if on_progress is not None:
                on_progress(size)  # once a batch: a progress bar update costs more than dedup does
            yield batch

    def reads_ranges(self) -> bool:
        return self.workers > 1  # the pipelined path, when the output takes encoded items

    def map(self, stages: list[Stage], batches: Iterator[Batch], output: Location | None) -> Iterator[Batch]:
        """The stages over every batch, yielded in input order. A worker that dies stops the
        run with RunStopped, whose message says how to resume in ``output``."""
        if self.workers <= 1:
            _init_worker(stages)
            for batch in batches:
                yield _process_batch(batch)
            return
        try:
            # A bounded window of batches in flight: enough to keep every worker busy,
            # few enough that memory does not grow with the corpus.
            with _set_up_to_fork(stages):
                yield from ordered_map(_process_batch, batches, self.workers, initializer=_init_worker,
                                       initargs=(stages, True), window=4 * self.workers)
        except WorkerDied as err:
            if output is None:
                raise
            raise RunStopped(output, str(err)) from err

    def _pipelined(self, stages: list[Stage], barrier: Stage | None, batches: Iterator[Batch],
                   on_progress: Progress | None, output: Location | None, render: Renderer,
                   ids: IdRegistry | None) -> Iterator[Batch]:
        """Batches whose documents never come to this process: a worker maps a batch and
        keeps it, sending back only its signed rows; the barrier decides on the rows here;
        the same worker applies the verdicts and encodes the output records, and this
        process gets bytes to append. (Sending documents back and forth, and encoding every
        record here, kept this process busier than both workers together.)

        This process is one of the ``workers``: it forks one fewer, and maps a batch
        itself whenever every worker has its fill of tasks and no answer is waiting. The
        barrier and the writer leave it idle most of the run, and a batch it maps is never
        pickled or piped (a third process on two cores cost ~0.4 s of CPU in 2.3)."""
        window = 4 * self.workers  # batches in flight (held here and in workers), as in map()
        next_item: int | None = None  # the run's ordinal of the next batch's first item
        try:
            with (_set_up_to_fork(stages),
                  WorkerPool(self.workers - 1, _task, _init_worker, (stages, True, render)) as pool):
                _init_worker(stages, False, render)  # this process's own Mapper, for the batches it maps
                # (seq of the map task, or its result when mapped here; worker, or HERE; batch)
                mapping: collections.deque[tuple[Any, Any, Batch]] = collections.deque()
                # (seq of the finish task, its result when finished here, or None: encoded when mapped; shell)
                finishing: collections.deque[tuple[Any, Batch]] = collections.deque()
                more = True

                def ready(pending: Any) -> bool:
                    return isinstance(pending, _Here) or pool.done(pending)

                def answer(pending: Any) -> Any:
                    return pending.result if isinstance(pending, _Here) else pool.result(pending)

                def send(task: tuple[str, Any], worker: Any) -> Any:
                    return _Here(_task(task)) if worker is HERE else pool.send(task, worker)

                def least_busy() -> Any:
                    """The worker with the fewest batches to map, if it has room for one more.
                    Counted in batches to map, not tasks: a finish task is short, and a worker
                    left with only those would idle while this process maps a batch."""
                    if not pool.workers:
                        return None
                    unmapped = collections.Counter(worker for pending, worker, _ in mapping
                                                   if worker is not HERE and not pool.done(pending))
                    worker = min(pool.workers, key=lambda w: unmapped[w])
                    return worker if unmapped[worker] < MAPS_AHEAD else None

                def map_next(worker: Any) -> bool:
                    """Give ``worker`` the next batch to map; False when there is none."""
                    nonlocal more
                    batch = next(batches, None)
                    if batch is None:
                        more = False
                        return False
                    # The barrier has nothing to decide without it: map and encode at once.
                    mapping.append((send((_MAP if barrier is not None else _MAP_AND_RENDER, batch), worker),
                                    worker, batch))
                    return True

                while True:
                    # Answers already in first: a worker's count of tasks must be current
                    # for it to be given more while this process is busy with its own.
                    pool.collect(block=False)
                    while more and len(mapping) + len(finishing) < window:
                        worker = least_busy()
                        if worker is None or not map_next(worker):
                            break
                    if finishing and (finishing[0][0] is None or ready(finishing[0][0])):
                        pending, shell = finishing.popleft()
                        if pending is not None:
                            shell.rendered = answer(pending)
                        add_id_problems(shell, render)
                        if on_progress is not None:
                            on_progress(shell.size)
                        yield shell
                    elif mapping and ready(mapping[0][0]):
                        pending, worker, batch = mapping.popleft()
                        mapped: Mapped = answer(pending)
                        shell = shell_of(batch, mapped)
                        if mapped.ids is not None:
                            assert ids is not None
                            check_ids(shell, mapped.ids, ids)  # a full disk under its files stops the run (driver)
                        # Counted here, in input order: a batch that read a range learns its length only now.
                        next_item = batch.first_item if next_item is None else next_item
                        shell.first_item = next_item
                        next_item += len(shell.items)
                        if barrier is None:
                            finishing.append((None, shell))
                            continue
                        started = time.perf_counter()
                        verdicts = decide(barrier, shell)
                        shell.timings[barrier.name] = (shell.timings.get(barrier.name, 0.0)
                                                       + time.perf_counter() - started)
                        finishing.append((send((_FINISH, (batch.number, verdicts)), worker), shell))
                    elif not mapping and not finishing and not more:
                        return
                    elif more and len(mapping) + len(finishing) < window and least_busy() is None:
                        map_next(HERE)  # every worker has its fill, and nothing waits for this process
                    else:
                        pool.collect()
        except WorkerDied as err:
            if output is None:
                raise
            raise RunStopped(output, str(err)) from err


@contextlib.contextmanager
def _set_up_to_fork(stages: list[Stage]) -> Iterator[None]:
    """Around the life of forked workers: their stages set up here first, and what is
    built so far kept out of the collector's reach until they are gone."""
    if multiprocessing.get_start_method() == "fork":
        # Heavy state (the language model: ~0.2 s, 40 MB) is built once, here: forked
        # workers inherit it, and share its pages, instead of each building its own.
        for stage in stages:
            stage.setup()
    # Everything built so far (modules, rule tables, models) lives as long as the workers:
    # frozen, its objects' headers are not written by a collection in a worker or here,
    # so their pages stay shared instead of being copied (what gc.freeze is for, says
    # Python's gc documentation), and no collection walks them again. `dedup --workers 2`:
    # 1.36-1.47 s against 1.47-1.55 s. Unfrozen after, so that a program that runs one
    # folder after another can collect what each run left.
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@dataclass
class _Here:
    """The answer to a task this process did itself."""

    result: Any


HERE = "here"  # the worker that is this process
MAPS_AHEAD = 2  # batches a worker is given to map ahead: one in hand, one waiting


def decide(barrier: Stage, batch: Batch) -> list[Reason | None]:
    """The barrier's verdict on each signed row of ``batch``, without applying them (the
    documents are in a worker)."""
    return barrier.decide(batch)


# What a worker is asked to do with a batch.
_MAP = "map"  # run the stages, keep the batch, send back its signed rows
_FINISH = "finish"  # apply the verdicts to the batch kept, send back its encoded items
_MAP_AND_RENDER = "map+render"  # no barrier: both at once

_stages: list[Stage] = []
_mapper: Mapper | None = None  # in a pool's worker: the batches it keeps until their verdicts come


def _init_worker(stages: list[Stage], in_pool: bool = False, render: Renderer | None = None) -> None:
    global _stages, _mapper
    if in_pool:
        die_with_parent()  # a forked worker holds the write end of its own task pipe: it would wait forever
        keep_freed_heap()  # a worker frees all of a batch's memory before the next batch
    for stage in stages:
        stage.setup()
    _stages = stages
    _mapper = Mapper(stages, render, lambda _, batch: _process_batch(batch))


def process_batch(stages: list[Stage], batch: Batch) -> Batch:
    """The per-document stages over one batch (a seam the tests patch to break a worker)."""
    return run_stages(stages, batch)


def _process_batch(batch: Batch) -> Batch:
    return process_batch(_stages, batch)


def _task(task: tuple[str, Any]) -> Any:
    kind, payload = task
    assert _mapper is not None
    if kind == _FINISH:
        number, verdicts = payload
        return _mapper.finish((number, 0), verdicts)
    [mapped] = _mapper.map(payload, keep=kind != _MAP_AND_RENDER)  # one part: this engine sends no WholeFile
    return mapped


def _render(batch: Batch, render: Renderer) -> None:
    batch.rendered = [render(item) for item in batch.items]
    batch.items = []
