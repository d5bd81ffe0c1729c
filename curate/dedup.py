"""Near-duplicate paragraphs across the corpus: the barrier stage, run in input order.

A paragraph is removed when it is a near-duplicate of an earlier *kept* paragraph;
it then points at the earliest such paragraph. Candidates come from LSH bands
and are verified on their signatures, so the verdict does not depend on the order
in which candidates are found, nor on how many workers made the signatures.
"""

from __future__ import annotations

import numpy as np

from curate.document import Document, ParagraphRef, Removal
from curate.signature import DedupConfig


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
        # what it added to the index and a resumed run can add it back.
        self.journal: list | None = None

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
        candidates: set[int] = set()
        for key in keys:
            hit = self.buckets.get(key)
            if hit is None:
                continue
            if isinstance(hit, int):
                candidates.add(hit)
            else:
                candidates.update(hit)
        if not candidates:
            return None
        mine = np.frombuffer(signature, dtype=np.uint32)
        width = self.sig_bytes
        for cid in sorted(candidates):
            theirs = np.frombuffer(self.signatures, dtype=np.uint32, count=self.cfg.num_perm, offset=cid * width)
            similarity = float(np.count_nonzero(mine == theirs)) / self.cfg.num_perm
            if similarity >= self.cfg.threshold:
                return cid, similarity
        return None

    def add(self, signature: bytes, keys: tuple[int, ...], ref: ParagraphRef) -> None:
        pid = len(self.refs)
        self.refs.append(ref)
        if self.journal is not None:
            self.journal.append((signature, keys, ref))
        self.signatures += signature
        for key in keys:
            hit = self.buckets.get(key)
            if hit is None:
                self.buckets[key] = pid
            elif isinstance(hit, int):
                self.buckets[key] = [hit, pid]
            else:
                hit.append(pid)


def deduplicate(doc: Document, index: DedupIndex) -> Document:
    """Check each signed line of the document against the index, in line order."""
    if not doc.signatures:
        return doc
    dropped = []
    kept = []
    for line in doc.lines:
        signed = doc.signatures.get(line.index)
        if signed is None:
            kept.append(line)
            continue
        signature, keys = signed
        found = index.find(signature, keys)
        if found is None:
            origin = line.origin
            index.add(signature, keys, ParagraphRef(doc.id, doc.source, origin.line, origin.byte_start, origin.byte_end))
            kept.append(line)
        else:
            pid, similarity = found
            dropped.append(Removal(line, "dedup", "duplicate", "near-duplicate of an earlier paragraph",
                                   duplicate_of=index.refs[pid], similarity=round(similarity, 4)))
    doc.lines = kept
    doc.removed.extend(dropped)
    return doc
