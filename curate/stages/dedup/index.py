"""Near-duplicate paragraphs across the corpus, decided in input order in one process.

A paragraph is removed when it is a near-duplicate of an earlier *kept* paragraph;
it then points at the earliest such paragraph. Candidates come from LSH bands
and are verified on the exact Jaccard of their shingle sets, so the verdict does not
depend on the order in which candidates are found, nor on how many workers made them.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np

from curate.document import ParagraphRef, Reason
from curate.stages.dedup.apply import duplicate_reason, paragraph_ref, row_lines
from curate.stages.dedup.signature import DedupConfig
from curate.stages.dedup.verify import could_be_similar, intersection_size, is_similar, similarity

if TYPE_CHECKING:
    from curate.stages.base import Batch


class DedupIndex:
    """Band key -> ids of kept paragraphs, plus the shingle sets needed to verify a candidate.

    Ids are dense and given in input order, so the smallest candidate is the first
    occurrence. Shingle sets (sorted uint32 hashes) sit in one growing byte buffer with
    an offset per paragraph rather than one numpy object each; a paragraph's signature is
    not kept once its band keys are made.
    """

    def __init__(self, cfg: DedupConfig):
        self.cfg = cfg
        self.buckets: dict[int, int | list[int]] = {}
        self.shingles = bytearray()  # uint32 hashes, paragraph after paragraph
        self.offsets = array("q", [0])  # paragraph pid's set is shingles[4*offsets[pid]:4*offsets[pid + 1]]
        self.refs: list[ParagraphRef] = []
        # When a list, every add is also recorded here, so a chunk of the run can save
        # what it added to the index (take_journal) and a resumed run can add it back (replay).
        self.journal: list | None = None
        self.journal_items: list[int] = []  # the run's item ordinal of each journal entry

    def __len__(self) -> int:
        return len(self.refs)

    def memory_bytes(self) -> int:
        """What the index holds, counted object by object (what its RSS growth is made of)."""
        import sys

        total = (sys.getsizeof(self.buckets) + sys.getsizeof(self.shingles) + sys.getsizeof(self.offsets)
                 + sys.getsizeof(self.refs))
        for key, hit in self.buckets.items():
            total += sys.getsizeof(key) + sys.getsizeof(hit)
            if isinstance(hit, list):
                total += sum(sys.getsizeof(pid) for pid in hit)
        for ref in self.refs:
            # Strings are shared with the document and across its paragraphs; count the ints.
            total += sys.getsizeof(ref) + sum(sys.getsizeof(v) for v in (ref.line, ref.byte_start, ref.byte_end))
        return total

    def find(self, shingles: np.ndarray, keys: tuple[int, ...]) -> tuple[int, float] | None:
        """The earliest kept paragraph sharing a band whose exact Jaccard with ``shingles``
        (a sorted unique uint32 set) is at or above the threshold, with that Jaccard."""
        hits = [hit for hit in map(self.buckets.get, keys) if hit is not None]
        if not hits:  # most paragraphs: no band seen before
            return None
        candidates: set[int] = set()
        for hit in hits:
            if isinstance(hit, int):
                candidates.add(hit)
            else:
                candidates.update(hit)
        threshold, offsets, size = self.cfg.threshold, self.offsets, len(shingles)
        for cid in sorted(candidates):
            start, end = offsets[cid], offsets[cid + 1]
            if not could_be_similar(size, end - start, threshold):
                continue
            theirs = np.frombuffer(self.shingles, dtype=np.uint32, count=end - start, offset=4 * start)
            inter = intersection_size(shingles, theirs)
            union = size + (end - start) - inter
            del theirs  # a view of the buffer would stop add() from growing it
            if is_similar(inter, union, threshold):
                return cid, similarity(inter, union)
        return None

    def take_journal(self, until: int | None = None) -> tuple[bytes, bytes, bytes, list[tuple]]:
        """What was added since the last call by items before ``until`` (all when None),
        packed for a checkpoint: shingle sets, their sizes and band keys as byte strings,
        references as plain tuples. Pickling the adds as they are (a tuple of big ints and
        a record per paragraph) cost 4% of `curate dedup`. A batch is decided whole before
        it is written, so a chunk can end in the middle of it: the rest of the batch's adds
        wait."""
        journal = self.journal or []
        cut = len(journal) if until is None else bisect_left(self.journal_items, until)
        entries, self.journal = journal[:cut], journal[cut:]
        self.journal_items = self.journal_items[cut:]
        return (b"".join(shingles for shingles, _, _ in entries),
                array("q", (len(shingles) // 4 for shingles, _, _ in entries)).tobytes(),
                array("Q", chain.from_iterable(keys for _, keys, _ in entries)).tobytes(),
                [(ref.doc, ref.source, ref.line, ref.byte_start, ref.byte_end) for _, _, ref in entries])

    def replay(self, packed: tuple[bytes, bytes, bytes, list[tuple]]) -> None:
        """Add back what take_journal packed, in the same order."""
        shingles, sizes, keys, refs = packed
        if not refs:
            return
        flat = array("Q", keys).tolist()
        bands = len(flat) // len(refs)
        start = 0
        for k, (size, ref) in enumerate(zip(array("q", sizes).tolist(), refs, strict=True)):
            end = start + 4 * size
            self.add(shingles[start:end], tuple(flat[k * bands:(k + 1) * bands]), ParagraphRef(*ref))
            start = end

    def add(self, shingles: bytes, keys: tuple[int, ...], ref: ParagraphRef, item: int = 0) -> None:
        """Index a kept paragraph: ``shingles`` is its set as uint32 bytes."""
        pid = len(self.refs)
        self.refs.append(ref)
        if self.journal is not None:
            self.journal.append((shingles, keys, ref))
            self.journal_items.append(item)
        self.shingles += shingles
        self.offsets.append(len(self.shingles) // 4)
        buckets = self.buckets
        for key in keys:
            hit = buckets.setdefault(key, pid)  # one lookup when the band is new, as most are
            if hit is pid:
                continue
            if isinstance(hit, int):
                buckets[key] = [hit, pid]
            else:
                hit.append(pid)

    def decide(self, batch: Batch) -> list[Reason | None]:
        """Each signed line of the batch, in input order, against every kept paragraph
        before it: the reason it is a copy, or None (kept, and added to the index)."""
        rows = batch.signed
        if rows is None or not len(rows):
            return []
        verdicts: list[Reason | None] = []
        for k, ((pos, doc, line), keys) in enumerate(zip(row_lines(batch), rows.keys, strict=True)):
            shingles = rows.shingle_set(k)
            band_keys = tuple(keys)
            found = self.find(shingles, band_keys)
            if found is None:
                self.add(shingles.tobytes(), band_keys, paragraph_ref(doc, line), batch.first_item + pos)
                verdicts.append(None)
            else:
                pid, similarity = found
                verdicts.append(duplicate_reason(self.refs[pid], similarity))
        return verdicts
