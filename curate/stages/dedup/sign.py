"""The per-document half of dedup: a MinHash signature and LSH band keys for every kept
line long enough to deduplicate, kept beside the batch's documents for the barrier."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from curate.document import Document
from curate.stages.base import Batch, Stage
from curate.stages.dedup.signature import DedupConfig, Signer

if TYPE_CHECKING:
    from curate.driver import RunConfig


@dataclass
class SignedRows:
    """The signed lines of one batch, in input order (the order the barrier decides them in)."""

    owners: list[tuple[int, int]]  # (position in batch.items, line index) of each row
    signatures: np.ndarray  # (rows, num_perm) uint32
    keys: list[list[int]]  # each row's band keys

    def __len__(self) -> int:
        return len(self.owners)


def sign_batch(batch: Batch, signer: Signer) -> SignedRows:
    """Signatures of every kept line of a batch at once: most records of a paragraph-per-line
    JSONL hold one paragraph, and numpy's cost is per call."""
    owners = [(pos, line) for pos, doc in enumerate(batch.items) if isinstance(doc, Document) for line in doc.lines]
    counts, hashes = signer.shingle_hash_batch([line.text for _, line in owners])
    signed = [(pos, line.index) for (pos, line), count in zip(owners, counts, strict=True) if count is not None]
    if not signed:
        return SignedRows([], np.empty((0, signer.cfg.num_perm), dtype=np.uint32), [])
    matrix = signer.signatures_of_hashes(hashes, [count for count in counts if count is not None])
    return SignedRows(signed, matrix, signer.band_keys_matrix(matrix))


@dataclass
class Sign(Stage):
    """MinHash signatures (datasketch's, computed per batch in numpy) and band keys."""

    name: ClassVar[str] = "signature"
    dedup: DedupConfig = field(default_factory=DedupConfig)

    def __post_init__(self) -> None:
        self._signer: Signer | None = None

    @classmethod
    def from_config(cls, cfg: RunConfig) -> Sign:
        return cls(cfg.dedup)

    def setup(self) -> None:
        self._signer = Signer(self.dedup)

    def __getstate__(self) -> dict:
        return {"dedup": self.dedup}  # the permutations are rebuilt by setup() in each process

    def __setstate__(self, state: dict) -> None:
        self.dedup = state["dedup"]
        self._signer = None

    def __call__(self, batch: Batch) -> Batch:
        if self._signer is None:
            self.setup()
        assert self._signer is not None
        batch.signed = sign_batch(batch, self._signer)
        return batch
