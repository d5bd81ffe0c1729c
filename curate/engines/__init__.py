"""Engines: how batches are mapped over processes or a cluster, and how the barrier is
computed. Nothing else: the driver (curate/driver.py) owns discovery, writing,
checkpoints, progress and the summary, the same for every engine.

An engine is registered here by name, as "module:Class", and imported only when chosen,
so Ray costs nothing to a local run and need not be installed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, ClassVar

from curate.errors import UsageError
from curate.stages.base import Batch, Stage
from curate.storage import Location

if TYPE_CHECKING:
    from curate.engines.tapering import BatchSizes
    from curate.formats import IdRegistry
    from curate.write import Renderer

ENGINES: dict[str, str] = {
    "local": "curate.engines.local:LocalEngine",
    "ray": "curate.engines.ray:RayEngine",
}

Progress = Callable[[int], None]  # input bytes done since the last call


class Engine:
    """Runs the per-document stages over batches and the barrier after them; yields the
    batches in input order, so every engine writes the same bytes."""

    name: ClassVar[str]
    resumable: ClassVar[bool] = True  # can continue a run from its checkpoints

    def __init__(self, workers: int = 1, address: str | None = None):
        self.workers = workers
        self.address = address

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def host_barrier(self, barrier: Stage) -> Stage:
        """Where the barrier runs: this process (the default), or a stand-in for it that
        forwards its calls to where the engine hosts it (Ray: an actor of its own)."""
        return barrier

    def reads_ranges(self) -> bool:
        """Whether its workers read `formats.ranges.ReadRange` batches themselves."""
        return False

    def reads_whole_files(self) -> bool:
        """Whether its workers also read the files that cannot be cut into ranges
        (`formats.ranges.WholeFile` batches), so that this process reads no document."""
        return False

    def batch_bytes(self, input_bytes: int) -> int | BatchSizes | None:
        """How much input a batch of ranges holds, for a run over ``input_bytes`` (one size,
        or sizes that shrink towards the end: `tapering.BatchSizes`); None: the driver's
        BATCH_BYTES."""
        return None

    def process(self, stages: list[Stage], barrier: Stage | None, batches: Iterator[Batch],
                on_progress: Progress | None = None, output: Location | None = None,
                render: Renderer | None = None, ids: IdRegistry | None = None) -> Iterator[Batch]:
        """Each batch through ``stages`` then ``barrier``, in input order. ``output`` is only
        named in the message of a stop (a dead worker), with the --resume hint. With
        ``render``, an engine may hand back batches with their items already encoded
        (``Batch.rendered``) instead of the items. ``ids`` is the run's registry of document
        ids, for batches that name a range of a file to read instead of their items (only
        given to an engine whose ``reads_ranges`` says it takes them)."""
        raise NotImplementedError


def engine_for(name: str, workers: int = 1, address: str | None = None) -> Engine:
    """The engine registered under ``name``; a bad name or a missing extra is a UsageError."""
    where = ENGINES.get(name)
    if where is None:
        raise UsageError(f"unknown engine {name!r}; choose from: {', '.join(ENGINES)}")
    if address is not None and name == "local":
        raise UsageError("--address only goes with --engine ray")
    module, _, cls = where.partition(":")
    engine: type[Engine] = getattr(importlib.import_module(module), cls)
    return engine(workers=workers, address=address)
