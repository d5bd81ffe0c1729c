"""A toy stage (docs/architecture.md): drop lines shorter than a number of characters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from curate.document import Reason
from curate.stages.base import Batch, Stage

TOO_SHORT = Reason("short-lines", "too-short", "fewer characters than the stage's minimum")


@dataclass
class DropShortLines(Stage):
    name: ClassVar[str] = "short-lines"
    min_chars: int = 20  # a setting: part of the stage's fingerprint, so --resume sees a change

    def __call__(self, batch: Batch) -> Batch:
        for doc in batch.documents():
            doc.drop({line.index: TOO_SHORT for line in doc.lines if len(line.text) < self.min_chars})
        return batch
