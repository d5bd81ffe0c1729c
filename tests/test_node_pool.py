"""A Ray actor's forked workers (engines/node.py), without Ray: tasks from many threads,
each batch finished by the worker that mapped and keeps it, an error raised in the
caller's thread only, and a dead worker reported as the actor's loss."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

import pytest

from curate.document import Document
from curate.engines.node import NodePool
from curate.stages.base import Batch, Stage

pytestmark = pytest.mark.unit


class _Tagged(Stage):
    """Writes the pid of the process that maps a document into its metadata; a document
    whose id asks for it makes the stage fail, or sleep (so that a map is still running)."""

    name: ClassVar[str] = "tagged"
    set_up_in: ClassVar[list[int]] = []

    def setup(self) -> None:
        _Tagged.set_up_in.append(os.getpid())

    def __call__(self, batch: Batch) -> Batch:
        for doc in batch.documents():
            if doc.id == "fail":
                raise ValueError("a document that fails")
            if doc.id == "slow":
                time.sleep(0.5)
            doc.metadata = {"mapped by": os.getpid(), "set up in": list(_Tagged.set_up_in)}
        return batch


def _batch(number: int, doc_id: str = "d") -> Batch:
    return Batch(number, [Document(f"{doc_id}", "in.jsonl", 1, [])])


def _mapped_by(found) -> int:
    return found[0].metadata["mapped by"]


def _no_death(message: str) -> None:
    raise AssertionError(f"no worker should die here: {message}")


def test_batches_from_many_threads_are_finished_where_they_were_mapped():
    _Tagged.set_up_in.clear()
    stages = [_Tagged()]
    stages[0].setup()  # as the actor does, before its workers are forked
    pool = NodePool(stages, None, 2, _no_death)
    try:
        def one(number: int) -> tuple[int, int]:
            [mapped] = pool.map(_batch(number, "slow" if number % 3 == 0 else "d"), keep=True)
            assert mapped.count == 1
            finished = pool.finish((number, 0), [])
            return number, _mapped_by(finished)

        with ThreadPoolExecutor(6) as threads:
            where = dict(threads.map(one, range(24)))
        workers = set(where.values())
        assert len(workers) == 2 and os.getpid() not in workers  # both workers mapped, not this process
    finally:
        pool.close()


def test_the_workers_inherit_the_stages_set_up_before_the_fork():
    _Tagged.set_up_in.clear()
    stages = [_Tagged()]
    stages[0].setup()
    pool = NodePool(stages, None, 1, _no_death)
    try:
        pool.map(_batch(1), keep=True)
        [doc] = pool.finish((1, 0), [])
        # What the setup here built is the worker's too (then its own setup call runs,
        # which a stage's setup, building only what is missing, makes cheap).
        assert doc.metadata["set up in"] == [os.getpid(), doc.metadata["mapped by"]]
        assert doc.metadata["mapped by"] != os.getpid()
    finally:
        pool.close()


def test_an_error_is_raised_in_the_thread_whose_task_failed_only():
    stages = [_Tagged()]
    pool = NodePool(stages, None, 2, _no_death)
    try:
        with ThreadPoolExecutor(2) as threads:
            slow = threads.submit(pool.map, _batch(1, "slow"), True)
            failing = threads.submit(pool.map, _batch(2, "fail"), True)
            with pytest.raises(ValueError, match="a document that fails"):
                failing.result(timeout=30)
            assert slow.result(timeout=30)[0].count == 1
        assert pool.finish((1, 0), [])[0].id == "slow"  # the pool goes on
        with pytest.raises(KeyError, match="no batch 2 is held"):
            pool.finish((2, 0), [])  # the failed batch was not kept
    finally:
        pool.close()


def test_a_dead_worker_is_reported_as_the_pools_end():
    stages = [_Tagged()]
    deaths: list[str] = []
    reported = threading.Event()

    def on_death(message: str) -> None:
        deaths.append(message)
        reported.set()

    pool = NodePool(stages, None, 1, on_death)
    pool.map(_batch(1), keep=True)
    pid = pool.finish((1, 0), [])[0].metadata["mapped by"]
    os.kill(pid, 9)
    assert reported.wait(30)
    assert "worker process 1" in deaths[0] and "SIGKILL" in deaths[0]
    pool.close()
