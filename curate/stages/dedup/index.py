"""Near-duplicate paragraphs across the corpus, decided in input order in one process.

A paragraph is removed when it is a near-duplicate of an earlier *kept* paragraph;
it then points at the earliest such paragraph. Candidates come from LSH bands
and are verified on their signatures, so the verdict does not depend on the order
in which candidates are found, nor on how many workers made the signatures.
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

if TYPE_CHECKING:
    from curate.stages.base import Batch


class DedupIndex:
    """Band key -> ids of kept paragraphs, plus the signatures needed to verify a candidate.

    Ids are dense and given in input order, so the smallest candidate is the first
    occurrence. Signatures sit in one growing byte buffer rather than one numpy
    object each (datasketch's MinHashLSH holds about 3.3 kB per entry).
    """

    def __init__(self, cfg: DedupConfig):
        self.cfg = cfg
        self.sig_bytes = 4 * cfg.num_perm
        self.buckets: dict[int, int | list[int]] = {}
        self.signatures = bytearray()
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

        total = sys.getsizeof(self.buckets) + sys.getsizeof(self.signatures) + sys.getsizeof(self.refs)
        for key, hit in self.buckets.items():
            total += sys.getsizeof(key) + sys.getsizeof(hit)
            if isinstance(hit, list):
                total += sum(sys.getsizeof(pid) for pid in hit)
        for ref in self.refs:
            # Strings are shared with the document and across its paragraphs; count the ints.
            total += sys.getsizeof(ref) + sum(sys.getsizeof(v) for v in (ref.line, ref.byte_start, ref.byte_end))
        return total

    def find(self, signature: bytes, keys: tuple[int, ...]) -> tuple[int, float] | None:
        """The earliest kept paragraph at or above the threshold, with its estimated Jaccard."""
        hits = [hit for hit in map(self.buckets.get, keys) if hit is not None]
        if not hits:  # most paragraphs: no band seen before
            return None
        candidates: set[int] = set()
        for hit in hits:
            if isinstance(hit, int):
                candidates.add(hit)
            else:
                candidates.update(hit)
        mine = np.frombuffer(signature, dtype=np.uint32)
        width = self.sig_bytes
        for cid in sorted(candidates):
            theirs = np.frombuffer(self.signatures, dtype=np.uint32, count=self.cfg.num_perm, offset=cid * width)
            similarity = float(np.count_nonzero(mine == theirs)) / self.cfg.num_perm
            if similarity >= self.cfg.threshold:
                return cid, similarity
        return None

    def take_journal(self, until: int | None = None) -> tuple[bytes, bytes, list[tuple]]:
        """What was added since the last call by items before ``until`` (all when None),
        packed for a checkpoint: signatures and band keys as two byte strings, references as
        plain tuples. Pickling the adds as they are (a tuple of big ints and a record per
        paragraph) cost 4% of `curate dedup`. A batch is decided whole before it is written,
        so a chunk can end in the middle of it: the rest of the batch's adds wait."""
        journal = self.journal or []
        cut = len(journal) if until is None else bisect_left(self.journal_items, until)
        entries, self.journal = journal[:cut], journal[cut:]
        self.journal_items = self.journal_items[cut:]
        return (b"".join(signature for signature, _, _ in entries),
                array("Q", chain.from_iterable(keys for _, keys, _ in entries)).tobytes(),
                [(ref.doc, ref.source, ref.line, ref.byte_start, ref.byte_end) for _, _, ref in entries])

    def replay(self, packed: tuple[bytes, bytes, list[tuple]]) -> None:
        """Add back what take_journal packed, in the same order."""
        signatures, keys, refs = packed
        if not refs:
            return
        flat = array("Q", keys).tolist()
        width, bands = len(signatures) // len(refs), len(flat) // len(refs)
        for k, ref in enumerate(refs):
            self.add(signatures[k * width:(k + 1) * width], tuple(flat[k * bands:(k + 1) * bands]), ParagraphRef(*ref))

    def add(self, signature: bytes, keys: tuple[int, ...], ref: ParagraphRef, item: int = 0) -> None:
        pid = len(self.refs)
        self.refs.append(ref)
        if self.journal is not None:
            self.journal.append((signature, keys, ref))
            self.journal_items.append(item)
        self.signatures += signature
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
        signatures = rows.signatures
        for k, ((pos, doc, line), keys) in enumerate(zip(row_lines(batch), rows.keys, strict=True)):
            signature = signatures[k].tobytes()
            band_keys = tuple(keys)
            found = self.find(signature, band_keys)
            if found is None:
                self.add(signature, band_keys, paragraph_ref(doc, line), batch.first_item + pos)
                verdicts.append(None)
            else:
                pid, similarity = found
                verdicts.append(duplicate_reason(self.refs[pid], similarity))
        return verdicts
