"""The dedup verdicts computed in parts that can run apart: band keys partitioned by range,
connected components of "shares a band key", and the sequential rule replayed inside each
component. `--dedup-parts` runs it between two passes (parts.py); bench/components.py
measures it, and tests/test_dedup_distributed.py holds it equal to the one-process index.

Why the parts give the same verdicts as `DedupIndex` run over the whole corpus: a
paragraph's verdict depends only on the kept paragraphs before it that share one of its
band keys (the first CANDIDATES_PER_KEY of each key), and on theirs in turn. Every
paragraph that has a key is in the same component as every other paragraph with that key,
so running the very same index over one component's paragraphs, in input order, meets the
same candidates under every key, in the same order, and decides each paragraph as the
whole run does. A paragraph that shares no key with any other is kept and needs no replay.

Unlike `buckets.py` (verified pairs, then one pass over them), nothing here is quadratic in
a crowded key: a key shared by n paragraphs gives n - 1 edges (each to the key's first
paragraph), and the replay verifies at most CANDIDATES_PER_KEY candidates per key, as the
index does.

The three steps, each a pure function of its input:

1. `star_edges`, per key partition (`key_partition`): each key's paragraphs tied to its
   first one. Partitions by key range need only their own rows.
2. `component_roots`: every paragraph met in an edge, with the smallest uid of its component
   (numpy label propagation with pointer jumping: a few passes over the edges).
3. `replay`: the index over a group of components' paragraphs, in uid order; groups
   (`component_group`) are independent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from curate.stages.base import Batch
from curate.stages.dedup.buckets import take_sets
from curate.stages.dedup.index import DedupIndex
from curate.stages.dedup.sign import SignedRows, key_order

if TYPE_CHECKING:
    from curate.document import Reason
    from curate.stages.dedup.signature import DedupConfig

# Rows of paragraphs a replay hands the index at a time: its verdicts do not depend on how
# the rows are cut (the local engine's batches are cut anywhere too).
REPLAY_ROWS = 4096


def key_partition(keys: np.ndarray, parts: int) -> np.ndarray:
    """The partition of each band key, by range: partition p holds the keys whose top 32
    bits fall in the p-th of ``parts`` equal slices (band keys are mixed to be uniform)."""
    top = np.asarray(keys, dtype=np.uint64) >> np.uint64(32)
    return ((top * np.uint64(parts)) >> np.uint64(32)).astype(np.int64)


def star_edges(keys: np.ndarray, uids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges (first, other) tying every paragraph that has a key to the key's first (smallest
    uid) paragraph, for rows (band key, uid) of one partition, in any order. Both int64,
    one edge per (key, other paragraph): a paragraph twice under one key counts once."""
    keys = np.asarray(keys, dtype=np.uint64)
    uids = np.asarray(uids, dtype=np.int64)
    order = np.lexsort((uids, keys))
    keys, uids = keys[order], uids[order]
    fresh = np.ones(len(keys), dtype=bool)
    fresh[1:] = (keys[1:] != keys[:-1]) | (uids[1:] != uids[:-1])
    keys, uids = keys[fresh], uids[fresh]
    if not len(keys):
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    opens = np.ones(len(keys), dtype=bool)
    opens[1:] = keys[1:] != keys[:-1]
    first = uids[np.flatnonzero(opens)][np.cumsum(opens) - 1]  # each row's key's first uid
    later = ~opens
    return unique_pairs(first[later], uids[later])


def unique_pairs(first: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (first, other) pairs, sorted: two paragraphs that share several keys
    of a partition are tied once (on 1 GB of generated text, 7.5M edges were 1.3M pairs)."""
    if not len(first):
        return first, other
    if int(first.max()) < 1 << 31 and int(other.max()) < 1 << 31 and int(min(first.min(), other.min())) >= 0:
        packed = np.unique((first.astype(np.uint64) << np.uint64(32)) | other.astype(np.uint64))
        return (packed >> np.uint64(32)).astype(np.int64), (packed & np.uint64(0xFFFFFFFF)).astype(np.int64)
    order = np.lexsort((other, first))
    first, other = first[order], other[order]
    fresh = np.ones(len(first), dtype=bool)
    fresh[1:] = (first[1:] != first[:-1]) | (other[1:] != other[:-1])
    return first[fresh], other[fresh]


def component_roots(first: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(nodes, roots): every uid met in the edges, sorted, and the smallest uid of its
    connected component, for uids of any size: the nodes are numbered by one sort of both
    ends (a node's number is then below every larger uid's), then joined as
    `DenseComponents` joins them. (On 1 GB of generated text, 7.5M edges: 2.6-4.0 s, where
    propagating labels along every edge each round took 7.9 s.)"""
    both = np.concatenate([np.asarray(first, dtype=np.int64), np.asarray(other, dtype=np.int64)])
    if not len(both):
        return both, both
    order = np.argsort(both, kind="stable")
    ordered = both[order]
    fresh = np.empty(len(ordered), dtype=bool)
    fresh[0] = True
    fresh[1:] = ordered[1:] != ordered[:-1]
    nodes = ordered[fresh]
    number = np.empty(len(both), dtype=np.int64)
    number[order] = np.cumsum(fresh) - 1
    joined = DenseComponents(len(nodes))
    joined.add(number[:len(first)], number[len(first):])
    return nodes, nodes[joined.label]


class DenseComponents:
    """Connected components of paragraphs numbered 0 .. ``count`` - 1, edges given a set at
    a time and let go: memory is a label per paragraph and one set of edges, where holding
    every edge and sorting them all took --dedup-parts' driver to 4.8 GB at 5 GB under
    --memory 1GiB.

    A label is always a smaller or equal number, and a root's label is itself. Each round
    hooks, for every edge whose ends still have different roots, the larger root onto the
    smaller, then jumps the labels of every paragraph met so far to their roots; an edge
    whose ends share a root keeps sharing it, so it is dropped. The root that remains is
    the component's smallest number, and the edges of earlier sets stay joined when their
    roots are hooked later."""

    def __init__(self, count: int):
        # Four bytes a label while the numbers fit (4.3 billion paragraphs, some 1.8 TB of
        # text), not eight: the label array is the step's memory that grows with the corpus.
        self.dtype = np.uint32 if count <= np.iinfo(np.uint32).max else np.int64
        self.label = np.arange(count, dtype=self.dtype)
        self.seen = np.zeros(count, dtype=bool)

    def add(self, first: np.ndarray, other: np.ndarray) -> None:
        a, b = np.asarray(first, dtype=np.int64), np.asarray(other, dtype=np.int64)
        self.seen[a] = True
        self.seen[b] = True
        label = self.label
        touched = np.flatnonzero(self.seen)  # a paragraph never met points at itself
        while len(a):
            la, lb = label[a], label[b]
            apart = la != lb
            a, b, la, lb = a[apart], b[apart], la[apart], lb[apart]
            if not len(a):
                return
            np.minimum.at(label, np.maximum(la, lb), np.minimum(la, lb))
            while True:
                jumped = label[label[touched]]
                if np.array_equal(jumped, label[touched]):
                    break
                label[touched] = jumped

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(nodes, roots), as `component_roots` gives them."""
        nodes = np.flatnonzero(self.seen).astype(np.int64)
        return nodes, self.label[nodes].astype(np.int64)


def component_group(roots: np.ndarray, groups: int) -> np.ndarray:
    """The replay group of each component, by its root: a mix of the root, so that groups
    get about as many components whatever the uids' pattern."""
    mixed = np.asarray(roots, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    return ((mixed >> np.uint64(32)) % np.uint64(groups)).astype(np.int64)


def replay(cfg: DedupConfig, uids: np.ndarray, rows_of: Callable[[np.ndarray], SignedRows],
           scratch: Path | None = None, budget: int | None = None, kept_before: int = 0
           ) -> Iterator[tuple[int, Reason]]:
    """The removed paragraphs among ``uids`` (whole components, any order): (uid, reason),
    in uid order, as `DedupIndex` run over the whole corpus decides them. ``rows_of(uids)``
    gives the signed rows of the uids asked for (sorted), in that order; ``budget``: the
    index's bytes in memory, past which it spills (as the one index does under --memory).
    ``kept_before``: the uids below it are an earlier run's kept paragraphs (--against),
    indexed first as the one index holds them, never decided."""
    ordered = np.unique(np.asarray(uids, dtype=np.int64))
    index = DedupIndex(cfg, scratch, None, budget)
    try:
        earlier = ordered[:int(np.searchsorted(ordered, kept_before))]
        ordered = ordered[len(earlier):]
        for start in range(0, len(earlier), REPLAY_ROWS):
            part = earlier[start:start + REPLAY_ROWS]
            index.add_kept(rows_of(part), np.ones(len(part), dtype=bool), part)
        for start in range(0, len(ordered), REPLAY_ROWS):
            part = ordered[start:start + REPLAY_ROWS]
            rows = rows_of(part)
            for k, verdict in enumerate(index.decide(Batch(-1, [], start, rows))):
                if verdict is not None:
                    yield int(part[k]), verdict
    finally:
        index.close()


def partitioned_verdicts(cfg: DedupConfig, keys: np.ndarray, uids: np.ndarray,
                         rows_of: Callable[[np.ndarray], SignedRows], parts: int = 1,
                         groups: int = 1, scratch: Path | None = None) -> dict[int, Reason]:
    """Every removed uid's reason, the three steps run one after another in this process
    (the reference for running them apart): ``keys`` (rows, bands) are the band keys of
    the paragraphs ``uids``."""
    keys = np.asarray(keys, dtype=np.uint64)
    flat = keys.ravel()
    row_uids = np.repeat(np.asarray(uids, dtype=np.int64), keys.shape[1])
    part_of = key_partition(flat, parts)
    edges = [star_edges(flat[part_of == p], row_uids[part_of == p]) for p in range(parts)]
    nodes, roots = component_roots(np.concatenate([e[0] for e in edges]), np.concatenate([e[1] for e in edges]))
    group_of = component_group(roots, groups)
    found: dict[int, Reason] = {}
    for g in range(groups):
        found.update(replay(cfg, nodes[group_of == g], rows_of, scratch))
    return found


class RowsByUid:
    """`replay`'s ``rows_of`` over rows held in memory: the signed rows of paragraphs
    ``uids`` (sorted), their sets as one flat array and offsets (`SignedRows`' layout)."""

    def __init__(self, uids: np.ndarray, keys: np.ndarray, shingles: np.ndarray, offsets: np.ndarray,
                 refs: list[tuple[str, str, int, int, int]]):
        self.uids, self.keys, self.shingles, self.offsets, self.refs = uids, keys, shingles, offsets, refs

    def __call__(self, wanted: np.ndarray) -> SignedRows:
        at = np.searchsorted(self.uids, wanted)
        flat, offsets = take_sets(self.shingles, self.offsets, at)
        keys = np.asarray(self.keys[at], dtype=np.uint64)
        return SignedRows([(k, 0) for k in range(len(at))], keys, flat, offsets,
                          [self.refs[k] for k in at.tolist()], key_order(keys))
