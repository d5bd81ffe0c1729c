"""The one verdict loop: the barrier's decisions applied to a batch's documents.

Every engine decides differently (one index in input order, or buckets shuffled over a
cluster) but removes copies here, so they write the same bytes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from curate.document import Document, Line, ParagraphRef, Reason

if TYPE_CHECKING:
    from curate.stages.base import Batch


def row_lines(batch: Batch) -> Iterator[tuple[int, Document, Line]]:
    """(position in the batch, document, line) of each signed row, in row order."""
    rows = batch.signed
    if rows is None:
        return
    current, doc, by_index = -1, None, {}
    for pos, index in rows.owners:
        if pos != current:
            item = batch.items[pos]
            assert isinstance(item, Document)
            current, doc, by_index = pos, item, {line.index: line for line in item.lines}
        assert doc is not None
        yield pos, doc, by_index[index]


def apply_verdicts(batch: Batch, verdicts: list[Reason | None]) -> None:
    """Drop every signed line whose verdict is a reason, through ``Document.drop``."""
    rows = batch.signed
    if rows is None or not any(verdict is not None for verdict in verdicts):
        return
    dropped: dict[int, dict[int, Reason]] = {}
    blocks = rows.blocks or {}
    for row, ((pos, index), verdict) in enumerate(zip(rows.owners, verdicts, strict=True)):
        if verdict is not None:
            # A fenced code block's row removes the block, its fences included.
            for line_index in range(index, blocks.get(row, index) + 1):
                dropped.setdefault(pos, {})[line_index] = verdict
    for pos, reasons in dropped.items():
        doc = batch.items[pos]
        assert isinstance(doc, Document)
        doc.drop(reasons)


def paragraph_ref(doc: Document, line: Line) -> ParagraphRef:
    """How a removed copy names the kept paragraph it copies."""
    return ParagraphRef(*ref_fields(doc, line))


def ref_fields(doc: Document, line: Line) -> tuple[str, str, int, int, int]:
    """ParagraphRef's fields as a plain tuple: what signed rows carry (cheap to pickle)."""
    origin = line.origin
    return doc.id, doc.source, origin.line, origin.byte_start, origin.byte_end


def duplicate_reason(original: ParagraphRef, similarity: float) -> Reason:
    """Why a copy is removed; every engine builds it here, so they write the same bytes."""
    return Reason("dedup", "duplicate", "near-duplicate of an earlier paragraph",
                  duplicate_of=original, similarity=round(similarity, 4))
