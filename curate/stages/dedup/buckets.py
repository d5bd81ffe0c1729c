"""The same verdicts as the sequential index, computed where the paragraphs are, from
verified pairs: a reference (tests/test_dedup_distributed.py) for a dedup in distributed
stages. No engine uses it: both run the index in one process (the Ray engine in an actor
of its own). components.py computes the same verdicts by replaying the index itself per
connected component, which keeps its per-key quota and lists no pairs.

Each signed paragraph has a uid that sorts in input order. Rows (band key, uid) are
shuffled so that every bucket is complete in one place; each bucket yields its
verified candidate edges; one pass over the edges in uid order then replays
`DedupIndex.decide` exactly: j is removed iff an earlier *kept* paragraph shares a band
and is similar enough (exact Jaccard of the shingle sets), and points at the smallest one.
The index verifies a paragraph only against the first CANDIDATES_PER_KEY (64) kept
paragraphs of each of its band keys (index.py says why); this reference has no such
bound, so the two agree while no band key has more kept paragraphs than that.

Shingle sets travel as one flat uint32 array and int64 offsets (rows + 1 long), as in
`SignedRows`: set k is ``flat[offsets[k]:offsets[k + 1]]``.
"""

from __future__ import annotations

import numpy as np

from curate.stages.dedup.verify import could_be_similar, is_similar, similarity

Verdicts = dict[int, tuple[int, float]]  # removed uid -> (uid of the paragraph it copies, exact Jaccard)


def take_sets(flat: np.ndarray, offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sets of ``rows`` (indices into ``offsets``), in that order, as (flat, offsets)."""
    rows = np.asarray(rows, dtype=np.int64)
    starts = offsets[rows]
    sizes = offsets[rows + 1] - starts
    out_offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(sizes, out=out_offsets[1:])
    gather = np.repeat(starts - out_offsets[:-1], sizes) + np.arange(out_offsets[-1], dtype=np.int64)
    return flat[gather], out_offsets


def bucket_edges(keys: np.ndarray, uids: np.ndarray, set_uids: np.ndarray, flat: np.ndarray,
                 offsets: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Candidate edges of every bucket among rows (band key, uid).

    ``flat[offsets[k]:offsets[k + 1]]`` is the shingle set of ``set_uids[k]``; ``set_uids``
    is sorted. Returns (edges, mirrors). Edges are rows (i, j, intersection, union) with
    i < j and ``is_similar(intersection, union, threshold)``, the test `DedupIndex.find`
    makes. Paragraphs with identical shingle sets collide in every band and are equally
    similar to everything, so a later copy only gets a mirror row (first copy, copy)
    instead of edges: a bucket of n copies costs n rows, not n²/2.
    """
    no_edges = np.empty((0, 4), dtype=np.int64), np.empty((0, 2), dtype=np.int64)
    if len(keys) == 0:
        return no_edges
    order = np.lexsort((uids, keys))
    keys, uids = keys[order], uids[order]
    fresh = np.ones(len(keys), dtype=bool)  # one row per (key, uid): two bands may share a key
    fresh[1:] = (keys[1:] != keys[:-1]) | (uids[1:] != uids[:-1])
    keys, uids = keys[fresh], uids[fresh]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sizes = np.diff(np.r_[starts, len(keys)])
    edges: list[np.ndarray] = []
    mirrors: list[tuple[int, int]] = []
    for start, size in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist(), strict=True):
        members = uids[start:start + size]
        at = np.searchsorted(set_uids, members)
        reps = _group_copies(members, at, flat, offsets, mirrors)
        for t in range(len(reps) - 1):
            found = _similar_later(at[reps[t]], at[reps[t + 1:]], flat, offsets, threshold)
            if found is not None:
                later, inter, union = found
                i = members[reps[t]]
                edges.append(np.column_stack([np.full(len(later), i), members[reps[t + 1:]][later], inter, union]))
    out_edges = np.concatenate(edges).astype(np.int64) if edges else no_edges[0]
    out_mirrors = np.array(mirrors, dtype=np.int64).reshape(-1, 2)
    return out_edges, out_mirrors


def _similar_later(mine: int, others: np.ndarray, flat: np.ndarray, offsets: np.ndarray,
                   threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Which of ``others`` (set positions) are similar to set ``mine``: (their indices in
    ``others``, intersections, unions). All of them at once: every element of their sets
    looked up in mine, the hits summed per set."""
    own = flat[offsets[mine]:offsets[mine + 1]]
    size = len(own)
    other_sizes = offsets[others + 1] - offsets[others]
    maybe = np.flatnonzero([could_be_similar(size, s, threshold) for s in other_sizes.tolist()])
    if not len(maybe):
        return None
    theirs, bounds = take_sets(flat, offsets, others[maybe])
    at = np.minimum(np.searchsorted(own, theirs), size - 1)
    hit = (own[at] == theirs).astype(np.int64)
    inter = np.add.reduceat(hit, bounds[:-1])  # sets are never empty, so no bound repeats
    union = size + other_sizes[maybe] - inter
    similar = np.array([is_similar(i, u, threshold) for i, u in zip(inter.tolist(), union.tolist(), strict=True)],
                       dtype=bool)
    if not similar.any():
        return None
    return maybe[similar], inter[similar], union[similar]


def _group_copies(members: np.ndarray, at: np.ndarray, flat: np.ndarray, offsets: np.ndarray,
                  mirrors: list[tuple[int, int]]) -> np.ndarray:
    """Positions of the first member of each distinct shingle set; later copies go to ``mirrors``."""
    first: dict[bytes, int] = {}
    reps = []
    for pos, k in enumerate(at.tolist()):
        shingles = flat[offsets[k]:offsets[k + 1]].tobytes()
        seen = first.get(shingles)
        if seen is None:
            first[shingles] = pos
            reps.append(pos)
        else:
            mirrors.append((int(members[seen]), int(members[pos])))
    return np.array(reps, dtype=np.intp)


def cluster(edges: np.ndarray, mirrors: np.ndarray) -> Verdicts:
    """Verdicts from every bucket's edges and mirrors: removed uid -> (uid it copies, exact
    Jaccard). Uids not in the result are kept.

    Visits uids in increasing (input) order, as `DedupIndex.decide` does, so a paragraph's
    earlier candidates are already decided: it goes to the smallest kept one. A mirror
    copy follows its first copy (kept: the copy points at it with similarity 1; removed:
    the copy points where the first copy points, with the same similarity).
    """
    edges = np.unique(edges, axis=0) if len(edges) else edges  # a pair meets in several buckets
    mirror_of = {copy: first for first, copy in np.unique(mirrors, axis=0).tolist()} if len(mirrors) else {}
    by_later: dict[int, list[tuple[int, float]]] = {}
    for i, j, inter, union in edges[np.lexsort((edges[:, 0], edges[:, 1]))].tolist() if len(edges) else ():
        by_later.setdefault(j, []).append((i, similarity(inter, union)))
    removed: Verdicts = {}
    for j in sorted(by_later.keys() | mirror_of.keys()):
        first = mirror_of.get(j)
        if first is not None:
            removed[j] = removed.get(first, (first, 1.0))
            continue
        for i, jaccard in by_later[j]:  # increasing i
            if i not in removed:
                removed[j] = (i, jaccard)
                break
    return removed
