"""What every stage is: a small object with one batch call, a setup and a fingerprint.

A batch is consecutive items of the input, in input order. Per-document stages change
the documents of a batch and nothing else, so an engine may run them in any process and
the output stays the same; a barrier stage (dedup) needs every earlier batch, so the
engine computes it (see curate/engines). Data a stage makes for a later stage (dedup's
signatures) travels beside the documents, in the batch, never inside a Document.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from curate.document import Document, Problem, RawDocument, Reason

if TYPE_CHECKING:
    from curate.driver import RunConfig
    from curate.formats.ranges import ReadRange, WholeFile
    from curate.stages.dedup.sign import SignedRows
    from curate.write import Rendered

Item = RawDocument | Document | Problem


@dataclass
class Batch:
    """Consecutive items of the input with what stages computed about them."""

    number: int  # position among the run's batches: Ray's paragraph ids are built on it
    items: list[Item]
    first_item: int = 0  # ordinal of items[0] in the run (documents and problems), for checkpoints
    signed: SignedRows | None = None  # the Sign stage's band keys and shingle sets, read by the dedup barrier
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds spent on this batch
    # The items as the writer takes them (write.Rendered), when an engine encoded them where
    # they were processed; then ``items`` may be empty and the driver writes these instead.
    rendered: list[Rendered] | None = None
    input_bytes: int | None = None  # ``size`` of a batch whose items stayed in a worker
    reads: ReadRange | WholeFile | None = None  # where a worker reads the items itself (then ``items`` is empty)
    ids_unchecked: bool = False  # whether an id was used before is left to the engine (ranges)
    # Problems (duplicate ids) the engine found for a batch a worker read: (position, problem).
    id_problems: list[tuple[int, Problem]] | None = None

    def documents(self) -> list[Document]:
        return [item for item in self.items if isinstance(item, Document)]

    @property
    def size(self) -> int:
        """Input bytes the batch was read from, for progress."""
        if self.input_bytes is not None:
            return self.input_bytes
        return sum(item.size for item in self.items if not isinstance(item, Problem))


class Stage:
    """One step of the pipeline. Subclasses are dataclasses of their settings (so the
    fingerprint is derived from them) and implement ``__call__``; heavy state (models,
    tables) is built in ``setup``, once per process, and never pickled with the stage."""

    name: ClassVar[str]
    barrier: ClassVar[bool] = False  # needs every earlier batch: computed by the engine

    @classmethod
    def from_config(cls, cfg: RunConfig) -> Stage:
        """The stage as the run's settings configure it."""
        return cls()

    def setup(self) -> None:
        """Build what the stage needs before its first batch in this process."""

    def __call__(self, batch: Batch) -> Batch:
        raise NotImplementedError

    # -- barrier stages keep state across batches; a checkpoint saves what each chunk added --
    def take_journal(self, until: int) -> object:
        """What the items before ordinal ``until`` added to the state since the last call."""
        return None

    def restore(self, journals: list) -> None:
        """Add back what the finished chunks' journals hold (--resume)."""

    def attach(self, scratch: Path | None) -> None:
        """Where the stage may keep files for the run (None: the system's temporary folder)."""

    def close(self, stopped: bool = False) -> None:
        """Let go of the run's state and files: after the last batch, or on a stop
        (``stopped``), when it may keep the files a resumed run would take up."""

    def decide(self, batch: Batch) -> list[Reason | None]:
        """A barrier's verdict on each signed row of ``batch`` from the rows alone (the
        documents may be in another process); ``__call__`` applies them."""
        raise NotImplementedError(f"the {self.name} stage cannot decide without the documents")

    def settled(self) -> bool:
        """Whether what settle() finds is there already: a resumed run found it whole."""
        return False

    def gathered(self) -> int:
        """How many items' worth a resumed first pass (--dedup-parts) found gathered already."""
        return 0

    def gathered_all(self) -> bool:
        """Whether what a resumed first pass found gathered is the whole input's."""
        return False

    def keep_gathered(self, items: int, whole: bool = False) -> None:
        """Make what the first pass gathered from the first ``items`` items (``whole``: from
        every item) last past a stop."""

    def settle(self, processes: int, spread: Callable[[Path], Any] | None = None) -> dict[str, float]:
        """Between a first pass that only gathered (--dedup-parts) and the pass that writes:
        decide everything gathered, with up to ``processes`` processes; ``spread``, given
        the folder of what was gathered, makes the pool that runs the parts instead (the
        Ray engine's: tasks on the cluster's nodes). Returns the seconds of its steps."""
        raise NotImplementedError(f"the {self.name} stage gathers nothing to settle")

    def save(self, folder: Path) -> None:
        """Write the state as files a later run can start from (--save-index)."""
        raise NotImplementedError(f"the {self.name} stage has no state to save")

    def measure(self, deep: bool = False) -> dict[str, float]:
        """Figures for --timings (``deep``: also those that are slow to count)."""
        return {}

    def fingerprint(self) -> object:
        """What makes the stage's output what it is: its name and its settings. A resumed
        run refuses a checkpoint made with another fingerprint."""
        from curate.fingerprint import canonical

        settings: Any = {f.name: canonical(getattr(self, f.name)) for f in dataclasses.fields(self)
                         if f.metadata.get("fingerprint", True)} if dataclasses.is_dataclass(self) else {}
        return {"stage": self.name, "class": f"{type(self).__module__}.{type(self).__qualname__}",
                "settings": settings}


def run_stages(stages: list[Stage], batch: Batch) -> Batch:
    """The per-document stages over one batch, each timed."""
    clock = time.perf_counter
    for stage in stages:
        started = clock()
        batch = stage(batch)
        batch.timings[stage.name] = batch.timings.get(stage.name, 0.0) + clock() - started
    return batch
