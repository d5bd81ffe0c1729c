"""The worker's half of the engines' protocol, the same in a local worker process and in a
Ray actor: map a batch and keep it, send back only what the barrier needs (`Mapped`);
then apply the barrier's verdicts to the batch kept and send back its encoded records.

And the engine's half that does not depend on where the workers are: the shell of a
batch that stayed in a worker, and the document-id checks in input order.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from curate.document import Document, Reason
from curate.formats.ranges import WholeFile, read_range
from curate.progress import DiskCredit
from curate.stages.base import Batch, Stage, run_stages
from curate.stages.dedup.apply import apply_verdicts

if TYPE_CHECKING:
    from curate.formats import IdRegistry
    from curate.stages.dedup.sign import SignedRows
    from curate.write import Rendered, Renderer

Key = tuple[int, int]  # (number of the batch sent, part): a batch read from a whole file comes back in parts


@dataclass
class Mapped:
    """What a worker sends back for a batch it mapped and keeps."""

    signed: SignedRows | None  # with each row's reference: the barrier needs no document
    count: int  # items
    size: int  # input bytes, for progress
    timings: dict[str, float]
    rendered: list[Rendered] | None  # when there was no barrier
    # (position, id, source, record line) of each document, when whether an id was used
    # before is for the engine to say, in input order (Batch.ids_unchecked).
    ids: list[tuple[int, str, str, int | None]] | None


class Mapper:
    """A worker's stages, its renderer and the batches it keeps until their verdicts come."""

    def __init__(self, stages: list[Stage], render: Renderer | None,
                 process: Callable[[list[Stage], Batch], Batch] = run_stages):
        self.stages = stages
        self.render = render
        self.process = process
        self.held: dict[Key, Batch] = {}

    def map(self, batch: Batch, keep: bool = True) -> list[Mapped]:
        """The stages over the batch (read here when it names a range or a file). With
        ``keep``, the batch stays here for `finish`; without (no barrier), its items come
        back encoded at once. A whole file comes back in batches cut as the driver cuts
        items it reads (`driver.batches`), each its own part."""
        parts = [batch]
        if batch.reads is not None:
            read = read_range(batch.reads)
            batch.items = list(read)
            if isinstance(batch.reads, WholeFile):
                from curate.driver import batches  # the driver imports the engines

                # Each part as big, for progress, as its share of the file on disk (a
                # compressed file's data is several times that: the bar was full early).
                credit = DiskCredit([batch.reads.file])
                parts = [Batch(batch.number, part.items, ids_unchecked=batch.ids_unchecked,
                               input_bytes=part.input_bytes)
                         for part in batches(credit.over_file(0, read), batch_bytes=batch.reads.batch_bytes,
                                             credit=credit)]
                if not parts:  # nothing in it, or only a problem: the whole file at once
                    batch.input_bytes = credit.take()
                    parts = [batch]
        found = []
        for number, part in enumerate(parts):
            part = self.process(self.stages, part)
            ids = None if not part.ids_unchecked else [(pos, item.id, item.source, item.record_line)
                                                       for pos, item in enumerate(part.items)
                                                       if isinstance(item, Document)]
            if not keep:
                found.append(Mapped(None, len(part.items), part.size, part.timings, self._rendered(part), ids))
                continue
            self.held[(batch.number, number)] = part
            found.append(Mapped(part.signed, len(part.items), part.size, part.timings, None, ids))
        return found

    def finish(self, key: Key, verdicts: list[Reason | None]) -> list[Rendered] | list[Any]:
        """The verdicts applied to a batch kept: its records encoded, or (with no renderer:
        the output takes items) the items themselves."""
        batch = self.held.pop(key)
        apply_verdicts(batch, verdicts)
        return batch.items if self.render is None else self._rendered(batch)

    def _rendered(self, batch: Batch) -> list[Rendered]:
        assert self.render is not None
        return [self.render(item) for item in batch.items]


def shell_of(sent: Batch, mapped: Mapped) -> Batch:
    """The batch as the engine keeps it: rows, timings and size. Its items are only
    places (the documents stay in the worker), so that ordinals and id problems count."""
    places: list[Any] = [None] * mapped.count
    return Batch(sent.number, places, sent.first_item, mapped.signed, dict(mapped.timings),
                 rendered=mapped.rendered, input_bytes=mapped.size)


def check_ids(shell: Batch, found: list[tuple[int, str, str, int | None]], ids: IdRegistry) -> list[int]:
    """Put the problem `read_documents` puts before a document whose id was used earlier
    into the shell (a placeholder item, its rows' positions moved past it); the problem
    itself is encoded when the batch comes back (`add_id_problems`). Returns the positions
    the problems went before, for rows that are not in the shell (`shift_owners`)."""
    numbers = ids.numbers
    problems = ids.check_many([(doc_id, source, line, numbers[source]) for _, doc_id, source, line in found])
    if not any(problems):  # the usual case, without a Python step per document
        return []
    inserts = [(pos, problem) for (pos, *_), problem in zip(found, problems, strict=True) if problem is not None]
    shell.id_problems = inserts
    for pos, problem in reversed(inserts):
        shell.items.insert(pos, problem)
    before = [pos for pos, _ in inserts]
    if shell.signed is not None:
        shell.signed = shift_owners(shell.signed, before)
    return before


def shift_owners(rows: SignedRows, before: list[int]) -> SignedRows:
    """``rows`` with each row's document position moved past the problems put before it
    (`check_ids`): a new rows object when any moves, never ``rows`` changed, since the
    rows of a batch the engine's own process mapped are those of the batch it keeps
    for the verdicts, whose positions have no problems among them."""
    if not before or not len(rows):
        return rows
    return dataclasses.replace(rows, owners=[(pos + bisect.bisect_right(before, pos), index)
                                             for pos, index in rows.owners])


def add_id_problems(shell: Batch, render: Renderer | None) -> None:
    """The duplicate-id problems `check_ids` found, in their places among the batch's
    encoded records (or items)."""
    if not shell.id_problems:
        return
    if shell.rendered is not None:
        assert render is not None
        for pos, problem in reversed(shell.id_problems):
            shell.rendered.insert(pos, render(problem))
    else:
        for pos, problem in reversed(shell.id_problems):
            shell.items.insert(pos, problem)

