"""The per-document half of dedup: LSH band keys (from a MinHash signature) and the shingle
set of every kept line long enough to deduplicate, kept beside the batch's documents for
the barrier, which finds candidates by band key and verifies them on the shingle sets."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from curate.document import Document, Line
from curate.stages.base import Batch, Stage
from curate.stages.dedup.apply import ref_fields
from curate.stages.dedup.signature import DedupConfig, Signer
from curate.stages.fences import fenced_blocks

if TYPE_CHECKING:
    from curate.driver import RunConfig


@dataclass
class SignedRows:
    """The signed lines of one batch, in input order (the order the barrier decides them in)."""

    owners: list[tuple[int, int]]  # (position in batch.items, line index) of each row
    keys: np.ndarray  # uint64 (rows, bands): each row's band keys
    # Row k's shingle set is shingles[offsets[k]:offsets[k + 1]]: the xxh32 hashes of its
    # shingles, sorted and unique (what exact verification intersects).
    shingles: np.ndarray  # uint32
    offsets: np.ndarray  # int64, rows + 1 long
    # How a copy of each row would point at it (ParagraphRef's fields), so the barrier
    # decides from the rows alone, without the documents.
    refs: list[tuple[str, str, int, int, int]]
    # The stable argsort of keys.ravel(), made here in the worker: the barrier, one process
    # for the whole run, needs this order three times a batch (its lookups, the keys shared
    # within the batch, the kept rows' run), and sorting was a quarter of its time.
    order: np.ndarray | None = None  # int32
    # Row -> the index of the last line of the fenced code block the row stands for (its
    # owner is the opening fence): a block is one paragraph, removed whole or kept whole.
    blocks: dict[int, int] | None = None

    def __len__(self) -> int:
        return len(self.owners)

    def shingle_set(self, k: int) -> np.ndarray:
        return self.shingles[self.offsets[k]:self.offsets[k + 1]]


def empty_rows() -> SignedRows:
    return SignedRows([], np.empty((0, 0), dtype=np.uint64), np.empty(0, dtype=np.uint32),
                      np.zeros(1, dtype=np.int64), [], np.empty(0, dtype=np.int32))


def shingle_sets(hashes: np.ndarray, counts: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Each run of ``counts`` hashes as a sorted set: (flat hashes, offsets). One sort of
    (row, hash) pairs packed in 64 bits for the whole batch, not one np.unique per row."""
    rows = np.repeat(np.arange(len(counts), dtype=np.uint64), counts)
    packed = np.sort((rows << np.uint64(32)) | hashes.astype(np.uint64))
    fresh = np.ones(len(packed), dtype=bool)
    fresh[1:] = packed[1:] != packed[:-1]
    packed = packed[fresh]
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(np.bincount((packed >> np.uint64(32)).astype(np.int64), minlength=len(counts)), out=offsets[1:])
    return (packed & np.uint64(0xFFFFFFFF)).astype(np.uint32), offsets


def sign_batch(batch: Batch, signer: Signer) -> SignedRows:
    """Band keys and shingle sets of every kept line of a batch at once: most records of a
    paragraph-per-line JSONL hold one paragraph, and numpy's cost is per call. The
    signatures are dropped once the keys are made: verification uses the sets. A fenced
    code block is one row, its code lines' text (fences.py): a copy of a block goes whole,
    where a copied line of code taken out of a block would leave the rest broken."""
    owners: list[tuple[int, Line, Line | None]] = []  # (position, line or opening fence, closing fence)
    texts: list[str] = []
    for pos, doc in enumerate(batch.items):
        if isinstance(doc, Document):
            for line, closing, text in _paragraphs(doc.lines):
                owners.append((pos, line, closing))
                texts.append(text)
    counts, hashes = signer.shingle_hash_batch(texts)
    kept = [owner for owner, count in zip(owners, counts, strict=True) if count is not None]
    if not kept:
        return empty_rows()
    sizes = [count for count in counts if count is not None]
    matrix = signer.signatures_of_hashes(hashes, sizes)
    flat, offsets = shingle_sets(hashes, sizes)
    refs = []
    blocks_of: dict[int, int] = {}
    for row, (pos, line, closing) in enumerate(kept):
        doc = batch.items[pos]
        assert isinstance(doc, Document)
        if closing is None:
            refs.append(ref_fields(doc, line))
        else:
            # A copy of the block points at the whole kept block: its opening fence's line,
            # and the bytes from there to the end of its closing fence.
            doc_id, source, number, start, _ = ref_fields(doc, line)
            refs.append((doc_id, source, number, start, closing.origin.byte_end))
            blocks_of[row] = closing.index
    keys = signer.band_keys_matrix(matrix)
    return SignedRows([(pos, line.index) for pos, line, _ in kept], keys, flat, offsets, refs, key_order(keys),
                      blocks_of or None)


def _paragraphs(lines: list[Line]) -> Iterator[tuple[Line, Line | None, str]]:
    """What dedup signs of a document, in order: each line as (line, None, its text), and
    each fenced code block as (opening fence, closing fence, its code lines' text)."""
    k = 0
    for first, last in fenced_blocks(lines):  # none, at the cost of a memchr a line, most pages
        yield from ((line, None, line.text) for line in lines[k:first])
        yield lines[first], lines[last], "\n".join(line.text for line in lines[first + 1:last])
        k = last + 1
    yield from ((line, None, line.text) for line in lines[k:])


def key_order(keys: np.ndarray) -> np.ndarray:
    """The stable argsort of a batch's band keys, row after row (int32: a batch holds far
    fewer than 2**31 keys)."""
    return np.argsort(np.asarray(keys, dtype=np.uint64).ravel(), kind="stable").astype(np.int32)


@dataclass
class Sign(Stage):
    """Band keys from MinHash signatures (datasketch's, computed per batch in numpy), and shingle sets."""

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
