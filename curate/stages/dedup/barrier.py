"""The dedup barrier: every signed paragraph against every kept paragraph before it.

A paragraph is removed when it is a near-duplicate of an earlier *kept* paragraph, and
then points at the earliest such paragraph. The stage runs the decision in input order
with one index, in the driver of every engine (local, Ray); buckets.py computes the same
verdicts from shuffled buckets, a reference for a dedup in distributed stages.
"""

from __future__ import annotations

import collections
import contextlib
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from curate.document import Reason
from curate.errors import CurateError, RunStopped
from curate.outdir import fsync_path, write_durably
from curate.stages.base import Batch, Stage
from curate.stages.dedup.apply import apply_verdicts
from curate.stages.dedup.budget import default_memory, index_budget
from curate.stages.dedup.index import DedupIndex
from curate.stages.dedup.parts import ReadFailed, RowStore, Verdicts, add_kept, settle
from curate.stages.dedup.saved import INDEX_JSON, DamagedIndex, SavedIndex, open_saved
from curate.stages.dedup.signature import DedupConfig

if TYPE_CHECKING:
    from curate.driver import RunConfig

PARTS_FOLDER = "dedup-parts"  # --dedup-parts' rows and verdicts, in the run's scratch folder
# Written there, last, once the verdicts are found: a resumed run that finds it takes them
# up and skips the first pass and the parts, which would give the same files again.
SETTLED = "settled.json"
# Written there during the first pass (keep_gathered): how many items the rows on disk
# come from, and the files' lengths then. A run resumed in the first pass cuts the files
# back to them and gathers from the next item on.
GATHERED = "gathered.json"


@dataclass
class Dedup(Stage):
    """Near-duplicate paragraphs, first occurrence kept."""

    name: ClassVar[str] = "dedup"
    barrier: ClassVar[bool] = True
    dedup: DedupConfig = field(default_factory=DedupConfig)
    # An earlier run's saved index (--against): its kept paragraphs come before this run's.
    against: Path | None = field(default=None, metadata={"fingerprint": False})  # by content: fingerprint()
    # The process's memory budget in bytes (--memory; None: budget.default_memory()). The
    # index spills to disk past its share; the verdicts are the same for any budget.
    memory: int | None = field(default=None, metadata={"fingerprint": False})
    # --dedup-parts: the verdicts found in parts between two passes (parts.py), not by one
    # index in input order. The same bytes; the run's fingerprint has it (RunConfig), so a
    # run stopped in one mode is never resumed in the other.
    parts: bool = field(default=False, metadata={"fingerprint": False})

    def __post_init__(self) -> None:
        self.index = DedupIndex(self.dedup)
        self.saved: SavedIndex | None = open_saved(self.against, self.dedup) if self.against is not None else None
        self._rows: RowStore | None = None  # --dedup-parts, first pass: the rows kept
        self._verdicts: Verdicts | None = None  # second pass: the verdicts found
        self._folder: Path | None = None
        self._for_resume = False  # the folder is where a resumed run looks (the output's scratch)
        self._bands = 0  # the band keys a stored row has, once the rows are settled
        # The pass that writes, for its checkpoints: the first uid and the items of the rows
        # of each batch decided since the last chunk ended (a chunk can end inside a batch).
        # None until the driver restores the checkpoints it will take (the Ray engine takes
        # none): as the index's journal, recorded only for them.
        self._decided: collections.deque[tuple[int, np.ndarray]] | None = None
        self._resume_uid = 0  # where a resumed run's pass that writes starts in the verdicts
        self._gathered = 0  # the items whose rows a resumed first pass found on disk
        self._gathered_all = False  # ... and whether they are the whole input's
        # The first pass: where the rows stood before each batch since the last keep_gathered
        # (its first item, RowStore.position()). The engine decides ahead of what the driver
        # has seen, so the rows gathered up to an item are those before its batch.
        self._starts: collections.deque[tuple[int, dict]] = collections.deque()
        self._output: Path | None = None  # the run's output folder, named when it stops

    def __reduce__(self) -> tuple:
        # Its settings only: an engine that hosts the barrier in another process (Ray's
        # decider) builds the index there, and pickling the earlier run's mapped index
        # would copy it whole. That process may work in another folder.
        against = self.against.absolute() if self.against is not None else None
        return type(self), (self.dedup, against, self.memory, self.parts)

    @classmethod
    def from_config(cls, cfg: RunConfig) -> Dedup:
        return cls(cfg.dedup, cfg.against, cfg.memory, cfg.dedup_parts)

    def decide(self, batch: Batch) -> list[Reason | None]:
        if self._rows is not None:  # the first pass: every row kept, nothing removed yet
            if self._decided is not None:  # checkpoints will be taken (restore() was called)
                self._starts.append((batch.first_item, self._rows.position()))
            if batch.signed is not None:
                with self._stopped_by_disk():
                    self._rows.append(batch.signed)
            return [None] * (len(batch.signed) if batch.signed is not None else 0)
        if self._verdicts is not None:
            rows = batch.signed
            if self._decided is not None and rows is not None and len(rows):
                items = np.fromiter((batch.first_item + pos for pos, _ in rows.owners), dtype=np.int64, count=len(rows))
                self._decided.append((self._verdicts.next_uid, items))
            return self._verdicts.decide(rows)
        with self._stopped_by_reading():
            return self.index.decide(batch)

    def settle(self, processes: int, spread: Callable[[Path], Any] | None = None) -> dict[str, float]:
        """--dedup-parts, between the passes: the verdicts of every row the first pass kept,
        found by ``processes`` processes (or the pool ``spread`` makes for the rows' folder);
        the next pass's batches get them. Returns the seconds of the settle's steps."""
        assert self._rows is not None and self._folder is not None, "settle is for a barrier in --dedup-parts"
        rows, self._rows = self._rows, None
        self._starts.clear()
        # A run that signed no paragraph stored no row to learn the band count from (0),
        # and --against's index, whose pairs are read as rows of this many keys, then cut
        # them into steps of 0: the settings' count, which the rows are signed with and the
        # index was checked to be saved with (saved.py), is the count then.
        bands = rows.bands or self.dedup.bands[0]
        self._bands = bands
        memory = self.memory if self.memory is not None else default_memory()
        try:
            with self._stopped_by_disk():
                rows.close()
                earlier = (self.saved.folder, self.saved.paragraphs) if self.saved is not None else None
                with self._stopped_by_reading(errors=DamagedIndex):  # said as the one index says it
                    steps = settle(self._folder, bands, self.dedup, processes, index_budget(memory),
                                   spread(self._folder) if spread is not None else None, earlier)
                self._mark_settled()
                verdicts = Verdicts(self._folder)  # read back at once: a disk that fails it stops the run here
        except BrokenProcessPool as err:
            raise RunStopped(self._output, f"a process finding the near-duplicates in parts died ({err}; out of "
                             "memory?): give a smaller --memory or fewer --workers") from err
        except MemoryError as err:  # raised in a process of the parts (sent back as itself), or in this one
            detail = f" ({err})" if str(err) else ""
            raise RunStopped(self._output, f"a process finding the near-duplicates in parts ran out of memory{detail}: "
                             "give a smaller --memory or fewer --workers") from err
        self._verdicts = verdicts
        self._verdicts.next_uid = self._resume_uid
        return steps

    def _mark_settled(self) -> None:
        """Every file of the folder on disk, then the mark that says they are whole."""
        assert self._folder is not None
        for path in sorted(self._folder.iterdir()):
            if path.is_file():
                fsync_path(path)
        write_durably(self._folder / SETTLED, json.dumps({"bands": self._bands}).encode())

    def settled(self) -> bool:
        return self._verdicts is not None

    def gathered(self) -> int:
        return self._gathered

    def gathered_all(self) -> bool:
        return self._gathered_all

    def keep_gathered(self, items: int, whole: bool = False) -> None:
        """The first pass has gathered the rows of the first ``items`` items (``whole``:
        of every item): on disk, and said so, for a resumed run to go on from there."""
        if self._rows is None or self._folder is None or not self._for_resume:
            return  # nothing gathered, or gathered where no resumed run will look
        while self._starts and self._starts[0][0] < items:
            self._starts.popleft()
        # The batch that starts at ``items`` is decided already, or is the next to be.
        at = self._starts[0][1] if self._starts and self._starts[0][0] == items else self._rows.position()
        with self._stopped_by_disk():
            self._rows.sync()
            record = {"items": items, "store": at, "whole": whole}
            write_durably(self._folder / GATHERED, json.dumps(record).encode())

    @contextlib.contextmanager
    def _stopped_by_disk(self) -> Iterator[None]:
        """A full or failing disk under --dedup-parts' files stops the run with what to do
        (such a run cannot be resumed: it starts again). A file the parts could not read
        back is said to be so: "cannot write" sent the user to look for room on the disk."""
        try:
            yield
        except OSError as err:
            doing = "read" if isinstance(err, ReadFailed) else "write"
            raise RunStopped(self._output, f"cannot {doing} {err.filename or self._folder}: {err.strerror or err}") \
                from err

    @contextlib.contextmanager
    def _stopped_by_reading(self, doing: str = "read", errors: type[OSError] = OSError) -> Iterator[None]:
        """A disk error reading the index (the earlier run's, --against, or this run's own
        files) stops the run with what to do, not a traceback: open_saved checked the
        saved files' sizes, but a disk can fail, or the files change, after that.
        ``doing``: what the message says could not be done (saving also writes);
        ``errors``: the errors said so."""
        try:
            yield
        except errors as err:
            # Raised in a Ray task (--dedup-parts' parts), it comes as a RayTaskError that
            # holds it as ``cause``, and whose own words are the task's traceback.
            cause = getattr(err, "cause", None)
            raised = cause if isinstance(cause, OSError) else err
            said = f"{raised.filename}: {raised.strerror}" if raised.filename else str(raised)
            cause = f"cannot {doing} the dedup index ({said})"
            if self.saved is not None:
                cause += f"; if the index --against {self.saved.folder} is damaged, save it again with --save-index"
            if self._output is None:  # no output folder to resume in (a run written in memory)
                raise CurateError(cause) from err
            raise RunStopped(self._output, cause) from err

    def __call__(self, batch: Batch) -> Batch:
        apply_verdicts(batch, self.decide(batch))
        return batch

    # -- checkpoints: what each finished chunk added to the index, replayed on --resume --
    def restore(self, journals: list) -> None:
        if self.parts:  # each chunk's journal says where the verdicts stood at its end
            self._resume_uid = journals[-1][1] if journals else 0
            self._decided = collections.deque()
            if self._verdicts is not None:  # settled before the stop (attach found them)
                self._verdicts.next_uid = self._resume_uid
            return
        for journal in journals:
            self.index.replay(journal)
        self.index.journal = []

    def attach(self, scratch: Path | None) -> None:
        self.index.close()
        memory = self.memory if self.memory is not None else default_memory()
        # The scratch folder is OUT/.partial/index: the output is two levels up.
        self._output = scratch.parent.parent if scratch is not None else None
        with self._stopped_by_reading():  # the saved index's files are opened here
            self.index = DedupIndex(self.dedup, scratch, self.saved, index_budget(memory))
        if self.parts:
            if scratch is None:
                self._folder = Path(tempfile.mkdtemp(prefix="dedup-parts-"))
                self._output = self._folder
                self._rows = RowStore(self._folder)
                return
            # The scratch folder is OUT/.partial/index: the output is two levels up. It
            # holds files only for --resume: a run that is not resumed starts without it.
            self._output = scratch.parent.parent
            self._folder = scratch / PARTS_FOLDER
            self._for_resume = True
            try:  # what a stopped run kept: its verdicts, else the rows it had gathered
                if (self._folder / SETTLED).exists():
                    self._bands = int(json.loads((self._folder / SETTLED).read_text())["bands"])
                    self._verdicts = Verdicts(self._folder)
                    return
                if (self._folder / GATHERED).exists():
                    record = json.loads((self._folder / GATHERED).read_text())
                    self._rows = RowStore(self._folder, record["store"])
                    self._gathered, self._gathered_all = int(record["items"]), record.get("whole") is True
                    return
            except (OSError, ValueError, KeyError, TypeError):  # damaged since: found again from the start
                self._verdicts = self._rows = None
                self._gathered, self._gathered_all = 0, False
            shutil.rmtree(self._folder, ignore_errors=True)  # nothing kept (or nothing usable)
            with self._stopped_by_disk():
                self._rows = RowStore(self._folder)

    def save(self, folder: Path) -> None:
        if self._verdicts is not None and self._folder is not None:
            # --dedup-parts has no index: the one the verdicts imply is built from the rows
            # kept, as the one-index run would have built it (the same files, byte for byte).
            with self._stopped_by_disk():
                add_kept(self.index, self._folder, self._bands)
        with self._stopped_by_reading("save"):  # the saved index is copied into the new one
            self.index.save(folder)

    def fingerprint(self) -> object:
        # The index it runs against by what it holds, not by where it is.
        found = super().fingerprint()
        if self.saved is not None:
            assert isinstance(found, dict)
            found["settings"]["against"] = (self.saved.folder / INDEX_JSON).read_text()
        return found

    def close(self, stopped: bool = False) -> None:
        """Delete the barrier's files; ``stopped``: the run is stopping (an error, Ctrl-C),
        and what a resumed run takes up is kept. Then nothing buffered is written (on a full
        disk that write failed again), and every step is taken whatever fails in another."""
        try:
            self.index.close()
        finally:
            try:
                if self._rows is not None:
                    rows, self._rows = self._rows, None
                    rows.close(discard=stopped)
            finally:
                self._close_folder(stopped)

    def _close_folder(self, stopped: bool) -> None:
        resumable = self._verdicts is not None or (self._folder is not None and (self._folder / GATHERED).exists())
        if self._folder is not None and not (stopped and resumable):
            shutil.rmtree(self._folder, ignore_errors=True)
        self._folder = None
        self._verdicts = None

    def take_journal(self, until: int) -> object:
        if self.parts:
            return ("parts", self._uid_at(until))
        return self.index.take_journal(until)

    def _uid_at(self, until: int) -> int:
        """--dedup-parts: the uid of the first row of an item at or after ``until`` (every
        row before it is decided), which a resumed run's verdicts start at."""
        assert self._decided is not None, "checkpoints are taken only after restore()"
        while self._decided and self._decided[0][1][-1] < until:
            self._decided.popleft()
        if not self._decided:
            return self._verdicts.next_uid if self._verdicts is not None else 0
        first_uid, items = self._decided[0]
        return first_uid + int(np.searchsorted(items, until))

    def measure(self, deep: bool = False) -> dict[str, float]:
        if self.parts:  # no index: the verdicts were found in parts
            return {}
        figures: dict[str, float] = {"index_paragraphs": len(self.index)}
        if deep:
            figures["index_bytes"] = self.index.memory_bytes()
            figures["index_disk_bytes"] = self.index.disk_bytes()
            figures["index_spills"] = self.index.keys.spills
        return figures
