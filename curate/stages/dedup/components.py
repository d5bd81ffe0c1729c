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
   first one. Partitions by key range need only their own rows (`--dedup-parts` scatters
   the rows into their partitions in one pass first, parts.py).
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

from curate.distinct import distinct
from curate.stages.base import Batch
from curate.stages.dedup.buckets import take_sets
from curate.stages.dedup.index import DedupIndex
from curate.stages.dedup.mapped import MappedFile
from curate.stages.dedup.sign import SignedRows, key_order

if TYPE_CHECKING:
    from curate.document import Reason
    from curate.stages.dedup.signature import DedupConfig

# Rows of paragraphs a replay hands the index at a time: its verdicts do not depend on how
# the rows are cut (the local engine's batches are cut anywhere too).
REPLAY_ROWS = 4096
# Paragraphs a step over every paragraph (the components' labels) takes at a time.
SLICE = 1 << 20


def key_partition(keys: np.ndarray, parts: int) -> np.ndarray:
    """The partition of each band key, by range: partition p holds the keys whose top 32
    bits fall in the p-th of ``parts`` equal slices (band keys are mixed to be uniform).
    The smallest unsigned type that holds them: a partition's scatter sorts by them, and
    numpy sorts 16-bit numbers by radix, in linear time. Worked in place, so that the
    step holds one temporary of 8 bytes a key."""
    top = np.asarray(keys, dtype=np.uint64) >> np.uint64(32)
    top *= np.uint64(parts)
    top >>= np.uint64(32)
    return top.astype(np.uint16 if parts <= 1 << 16 else np.uint32)


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
        packed = distinct((first.astype(np.uint64) << np.uint64(32)) | other.astype(np.uint64))
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
    joined.finish()  # every label its root's
    return nodes, nodes[joined.label]


class DenseComponents:
    """Connected components of paragraphs numbered 0 .. ``count`` - 1, edges given a set at
    a time and let go. A label per paragraph (4 bytes while the numbers fit in 32 bits)
    and a byte for whether an edge has met it are all it keeps; with ``folder``, they are
    files mapped into memory whose pages are let go after each step, so the process holds
    one set of edges and a slice, whatever the corpus (the labels of 1 TB of text are
    some 12 GB: the kernel keeps what it can of them in its cache and writes back the rest).

    A union-find: each round finds the roots of both ends of every edge whose ends are
    still apart, by following labels (and points the ends straight at them), and hooks the
    larger root onto the smaller (the smallest wins where several edges hook one root);
    an edge whose ends share a root keeps sharing it, so it is dropped. A label is always
    a smaller or equal number, so the root that remains is the component's smallest
    number. `finish` points every label at its root, a slice at a time in number order:
    a slice's labels point below it or into it, and those below are done already."""

    def __init__(self, count: int, folder: Path | None = None):
        self.count = count
        self.dtype = np.dtype(np.uint32 if count <= np.iinfo(np.uint32).max else np.int64)
        self._maps: list[MappedFile] = []
        if folder is None:
            self.label = np.arange(count, dtype=self.dtype)
            self.seen = np.zeros(count, dtype=bool)
        else:
            labels = MappedFile(folder / "labels.bin", count * self.dtype.itemsize)
            seen = MappedFile(folder / "seen.bin", count)
            self._maps = [labels, seen]
            self.label, self.seen = labels.array(self.dtype), seen.array(np.dtype(bool))
            for start in range(0, count, SLICE):
                self.label[start:start + SLICE] = np.arange(start, min(start + SLICE, count), dtype=self.dtype)
                self._forget()
        self._finished = False

    def add(self, first: np.ndarray, other: np.ndarray) -> None:
        a, b = np.asarray(first, dtype=np.int64), np.asarray(other, dtype=np.int64)
        self.seen[a] = True
        self.seen[b] = True
        self._finished = False
        while len(a):
            ra, rb = self._roots(a), self._roots(b)
            apart = ra != rb
            a, b, ra, rb = a[apart], b[apart], ra[apart], rb[apart]
            if len(a):
                np.minimum.at(self.label, np.maximum(ra, rb), np.minimum(ra, rb).astype(self.dtype))
        self._forget()

    def _roots(self, nodes: np.ndarray) -> np.ndarray:
        """The roots of ``nodes``, which are then labelled with them (ancestors, so the
        components are the same, and the next search is one step)."""
        found = self.label[nodes].astype(np.int64)
        while True:
            up = self.label[found].astype(np.int64)
            if np.array_equal(up, found):
                break
            # Two steps, and what was passed points two steps on (path halving): the
            # nodes of a long chain, all walking at once, halve their paths each round.
            grand = self.label[up].astype(np.int64)
            self.label[found] = grand
            found = grand
        self.label[nodes] = found
        return found

    def finish(self) -> None:
        """Every label pointed at its root."""
        if self._finished:
            return
        for start in range(0, self.count, SLICE):
            own = self.label[start:start + SLICE].astype(np.int64)
            while True:  # pointer jumping: the slice's labels are read back as they move
                up = self.label[own].astype(np.int64)
                if np.array_equal(up, own):
                    break
                self.label[start:start + SLICE] = up
                own = up
            self._forget()
        self._finished = True

    def slices(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(nodes, roots) a slice of numbers at a time, in number order: each paragraph met
        in an edge and the smallest number of its component."""
        self.finish()
        for start in range(0, self.count, SLICE):
            nodes = start + np.flatnonzero(self.seen[start:start + SLICE])
            roots = self.label[nodes].astype(np.int64)
            self._forget()
            yield nodes, roots

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(nodes, roots), as `component_roots` gives them, all at once."""
        found = list(self.slices())
        if not found:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        return np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found])

    def write_groups(self, groups: int, folder: Path) -> list[Path]:
        """Each replay group's nodes (`component_group`), in number order, as a file of
        int64 in ``folder`` (``nodes-{g}.i64``), written a slice at a time."""
        paths = [folder / f"nodes-{g}.i64" for g in range(groups)]
        for path in paths:
            path.write_bytes(b"")
        for nodes, roots in self.slices():
            group_of = component_group(roots, groups)
            order = np.argsort(group_of, kind="stable")
            bounds = np.searchsorted(group_of[order], np.arange(groups + 1))
            for g in np.flatnonzero(np.diff(bounds)).tolist():
                with open(paths[g], "ab") as out:
                    nodes[order[bounds[g]:bounds[g + 1]]].tofile(out)
        return paths

    def _forget(self) -> None:
        for mapped in self._maps:
            mapped.forget()

    def close(self) -> None:
        """Unmap the files (a mapped-file component set only; the files stay)."""
        self.label = self.seen = np.empty(0)
        for mapped in self._maps:
            mapped.close()
        self._maps = []


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
    ordered = distinct(np.asarray(uids, dtype=np.int64))
    index = DedupIndex(cfg, scratch, None, budget)
    try:
        earlier = ordered[:int(np.searchsorted(ordered, kept_before))]
        ordered = ordered[len(earlier):]
        for start in range(0, len(earlier), REPLAY_ROWS):
            part = earlier[start:start + REPLAY_ROWS]
            index.add_kept(rows_of(part), np.ones(len(part), dtype=bool), part)
        index.earlier = len(earlier)  # its first ids: a copy of one names it as the earlier run's
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
