"""The first stage: each raw document cut into its non-blank lines, with their origins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from curate.document import Document, RawDocument
from curate.formats import DEFAULT_READ, ReadOptions, split_lines
from curate.formats.base import long_id_problem
from curate.stages.base import Batch, Stage

if TYPE_CHECKING:
    from curate.driver import RunConfig


@dataclass
class Split(Stage):
    """Decodes and cuts every RawDocument of the batch into a Document (problems pass through)."""

    name: ClassVar[str] = "read"
    read: ReadOptions = DEFAULT_READ

    @classmethod
    def from_config(cls, cfg: RunConfig) -> Split:
        return cls(cfg.read_options)

    def __call__(self, batch: Batch) -> Batch:
        batch.items = [self.document(item) if isinstance(item, RawDocument) else item for item in batch.items]
        return batch

    def document(self, raw: RawDocument) -> Document:
        lines, problems, read, encoding = split_lines(raw, self.read)
        if (note := long_id_problem(raw)) is not None:  # the reader named it source:LINE (names_a_document)
            problems.insert(0, note)
        return Document(raw.id, raw.source, raw.record_line, lines, problems=problems, lines_read=read,
                        size=raw.size, encoding=encoding, metadata=raw.metadata)
