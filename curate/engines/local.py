"""The local engine: the per-document stages in worker processes, the barrier here.

Results come back in input order and the barrier runs in this process, batch after
batch, so the output is the same for any number of workers."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator

from curate.engines import Engine, Progress
from curate.engines.pool import WorkerDied, ordered_map
from curate.errors import RunStopped
from curate.stages.base import Batch, Stage, run_stages
from curate.storage import Location


class LocalEngine(Engine):
    name = "local"

    def process(self, stages: list[Stage], barrier: Stage | None, batches: Iterator[Batch],
                on_progress: Progress | None = None, output: Location | None = None) -> Iterator[Batch]:
        for batch in self.map(stages, batches, output):
            if barrier is not None:
                started = time.perf_counter()
                batch = barrier(batch)
                batch.timings[barrier.name] = batch.timings.get(barrier.name, 0.0) + time.perf_counter() - started
            if on_progress is not None:
                on_progress(batch.size)  # once a batch: a progress bar update costs more than dedup does
            yield batch

    def map(self, stages: list[Stage], batches: Iterator[Batch], output: Location | None) -> Iterator[Batch]:
        """The stages over every batch, yielded in input order. A worker that dies stops the
        run with RunStopped, whose message says how to resume in ``output``."""
        if self.workers <= 1:
            _init_worker(stages)
            for batch in batches:
                yield _process_batch(batch)
            return
        if multiprocessing.get_start_method() == "fork":
            # Heavy state (the language model: ~0.2 s, 20 MB) is built once, here: forked
            # workers inherit it, and share its pages, instead of each building its own.
            for stage in stages:
                stage.setup()
        try:
            # A bounded window of batches in flight: enough to keep every worker busy,
            # few enough that memory does not grow with the corpus.
            yield from ordered_map(_process_batch, batches, self.workers, initializer=_init_worker,
                                   initargs=(stages, True), window=4 * self.workers)
        except WorkerDied as err:
            if output is None:
                raise
            raise RunStopped(output, str(err)) from err


_stages: list[Stage] = []


def _init_worker(stages: list[Stage], in_pool: bool = False) -> None:
    global _stages
    if in_pool:
        _die_with_parent()
    for stage in stages:
        stage.setup()
    _stages = stages


def process_batch(stages: list[Stage], batch: Batch) -> Batch:
    """The per-document stages over one batch (a seam the tests patch to break a worker)."""
    return run_stages(stages, batch)


def _process_batch(batch: Batch) -> Batch:
    return process_batch(_stages, batch)


def _die_with_parent() -> None:
    """End this worker when the parent dies, even by SIGKILL: a forked worker holds the
    write end of its own task pipe, so it would otherwise wait for work forever."""
    parent = os.getppid()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, signal.SIGTERM) == 0 and os.getppid() == parent:  # PR_SET_PDEATHSIG (Linux)
            return
    except (OSError, AttributeError):
        pass

    def watch() -> None:  # elsewhere: poll for the parent
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
