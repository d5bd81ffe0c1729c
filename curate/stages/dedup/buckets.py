"""The same verdicts as the sequential index, computed where the paragraphs are (Ray).

Each signed paragraph has a uid that sorts in input order. Rows (band key, uid) are
shuffled so that every bucket is complete in one place; each bucket yields its
verified candidate edges; one pass over the edges in uid order then replays
`DedupIndex.decide` exactly: j is removed iff an earlier *kept* paragraph shares a band
and is similar enough, and points at the smallest one.
"""

from __future__ import annotations

import numpy as np


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
    for start, size in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist(), strict=True):
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

    Visits uids in increasing (input) order, as `DedupIndex.decide` does, so a paragraph's
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
