"""Near-duplicate paragraphs across the corpus: the barrier stage, run in input order.

A paragraph is removed when it is a near-duplicate of an earlier *kept* paragraph;
it then points at the earliest such paragraph. Candidates come from LSH bands
and are verified on their signatures, so the verdict does not depend on the order
in which candidates are found, nor on how many workers made the signatures.
"""

from __future__ import annotations

from array import array
from itertools import chain

import numpy as np

from curate.document import Document, Line, ParagraphRef, Removal
from curate.stages.dedup.signature import DedupConfig


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

    def take_journal(self) -> tuple[bytes, bytes, list[tuple]]:
        """What was added since the last call, packed for a checkpoint: signatures and band
        keys as two byte strings, references as plain tuples. Pickling the adds as they are
        (a tuple of big ints and a record per paragraph) cost 4% of `curate dedup`."""
        entries, self.journal = self.journal or [], []
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

    def add(self, signature: bytes, keys: tuple[int, ...], ref: ParagraphRef) -> None:
        pid = len(self.refs)
        self.refs.append(ref)
        if self.journal is not None:
            self.journal.append((signature, keys, ref))
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
            index.add(signature, keys, paragraph_ref(doc, line))
            kept.append(line)
        else:
            pid, similarity = found
            dropped.append(duplicate_removal(line, index.refs[pid], similarity))
    doc.lines = kept
    doc.removed.extend(dropped)
    return doc


def paragraph_ref(doc: Document, line: Line) -> ParagraphRef:
    """How a removed copy names the kept paragraph it copies."""
    origin = line.origin
    return ParagraphRef(doc.id, doc.source, origin.line, origin.byte_start, origin.byte_end)


def duplicate_removal(line: Line, original: ParagraphRef, similarity: float) -> Removal:
    """The audit entry of a removed copy; both engines build it here, so they write the same bytes."""
    return Removal(line, "dedup", "duplicate", "near-duplicate of an earlier paragraph",
                   duplicate_of=original, similarity=round(similarity, 4))


# -- The same verdicts, computed where the paragraphs are (the Ray engine) ----------------
#
# Each signed paragraph has a uid that sorts in input order. Rows (band key, uid) are
# shuffled so that every bucket is complete in one place; each bucket yields its
# verified candidate edges; one pass over the edges in uid order then replays
# `deduplicate` exactly: j is removed iff an earlier *kept* paragraph shares a band and
# is similar enough, and points at the smallest one.


def bucket_edges(keys: np.ndarray, uids: np.ndarray, sig_uids: np.ndarray, sigs: np.ndarray,
                 threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Candidate edges of every bucket among rows (band key, uid).

    ``sigs[k]`` is the signature (uint32 row) of ``sig_uids[k]``; ``sig_uids`` is sorted.
    Returns (edges, mirrors). Edges are rows (i, j, equal positions) with i < j and
    ``equal / num_perm >= threshold``, the test `DedupIndex.find` makes. Paragraphs with
    identical signatures collide in every band and are equally similar to everything,
    so a later copy only gets a mirror row (first copy, copy) instead of edges: a bucket
    of n copies costs n rows, not n²/2.
    """
    no_edges = np.empty((0, 3), dtype=np.int64), np.empty((0, 2), dtype=np.int64)
    if len(keys) == 0:
        return no_edges
    order = np.lexsort((uids, keys))
    keys, uids = keys[order], uids[order]
    fresh = np.ones(len(keys), dtype=bool)  # one row per (key, uid): two bands may share a key
    fresh[1:] = (keys[1:] != keys[:-1]) | (uids[1:] != uids[:-1])
    keys, uids = keys[fresh], uids[fresh]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sizes = np.diff(np.r_[starts, len(keys)])
    num_perm = sigs.shape[1]
    edges: list[np.ndarray] = []
    mirrors: list[tuple[int, int]] = []
    for start, size in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist()):
        members = uids[start:start + size]
        rows = sigs[np.searchsorted(sig_uids, members)]
        reps = _group_copies(members, rows, mirrors)
        for t in range(len(reps) - 1):
            equal = np.count_nonzero(rows[reps[t + 1:]] == rows[reps[t]], axis=1)
            similar = equal / num_perm >= threshold
            if similar.any():
                later = members[reps[t + 1:]][similar]
                edges.append(np.column_stack([np.full(len(later), members[reps[t]]), later, equal[similar]]))
    out_edges = np.concatenate(edges).astype(np.int64) if edges else no_edges[0]
    out_mirrors = np.array(mirrors, dtype=np.int64).reshape(-1, 2)
    return out_edges, out_mirrors


def _group_copies(members: np.ndarray, rows: np.ndarray, mirrors: list[tuple[int, int]]) -> np.ndarray:
    """Positions of the first member of each distinct signature; later copies go to ``mirrors``."""
    first: dict[bytes, int] = {}
    reps = []
    for pos, row in enumerate(rows):
        sig = row.tobytes()
        seen = first.get(sig)
        if seen is None:
            first[sig] = pos
            reps.append(pos)
        else:
            mirrors.append((int(members[seen]), int(members[pos])))
    return np.array(reps, dtype=np.intp)


def cluster(edges: np.ndarray, mirrors: np.ndarray, num_perm: int) -> dict[int, tuple[int, int]]:
    """Verdicts from every bucket's edges and mirrors: removed uid -> (uid it copies, equal
    positions). Uids not in the result are kept.

    Visits uids in increasing (input) order, as `deduplicate` does, so a paragraph's
    earlier candidates are already decided: it goes to the smallest kept one. A mirror
    copy follows its first copy (kept: the copy points at it with similarity 1; removed:
    the copy points where the first copy points, with the same similarity).
    """
    edges = np.unique(edges, axis=0) if len(edges) else edges  # a pair meets in several buckets
    mirror_of = {copy: first for first, copy in np.unique(mirrors, axis=0).tolist()} if len(mirrors) else {}
    by_later: dict[int, list[tuple[int, int]]] = {}
    for i, j, equal in edges[np.lexsort((edges[:, 0], edges[:, 1]))].tolist() if len(edges) else ():
        by_later.setdefault(j, []).append((i, equal))
    removed: dict[int, tuple[int, int]] = {}
    for j in sorted(by_later.keys() | mirror_of.keys()):
        first = mirror_of.get(j)
        if first is not None:
            removed[j] = removed.get(first, (first, num_perm))
            continue
        for i, equal in by_later[j]:  # increasing i
            if i not in removed:
                removed[j] = (i, equal)
                break
    return removed
