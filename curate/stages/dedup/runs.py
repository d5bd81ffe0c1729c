"""Band key -> paragraph ids as a few sorted arrays: the in-memory part of the dedup index.

A Python dict from key to id cost ~100 bytes per band entry (a boxed int key, a boxed
value, a slot); two parallel numpy arrays cost 12 (uint64 key, uint32 id). Arrays cannot
take inserts cheaply, so additions come as sorted runs, one per batch, and runs are
merged when a younger one grows to half an older one's size (as a log-structured merge
tree does): there are O(log n) runs, each looked up with one vectorised binary search
per batch of queries, and every entry is re-sorted O(log n) times in all.
"""

from __future__ import annotations

import numpy as np

MERGE_RATIO = 2  # merge a run into the one before it once it is at least 1/MERGE_RATIO its size


class SortedRuns:
    """A multimap from uint64 keys to uint32 ids, ids added in increasing order."""

    def __init__(self) -> None:
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []  # (keys sorted, ids), oldest first

    def __len__(self) -> int:
        return sum(len(keys) for keys, _ in self.runs)

    @property
    def nbytes(self) -> int:
        return sum(keys.nbytes + ids.nbytes for keys, ids in self.runs)

    def add(self, keys: np.ndarray, ids: np.ndarray) -> None:
        """Add entries (key, id); every id must be larger than any added before, so that
        within a key, ids stay in the order they were added."""
        if not len(keys):
            return
        order = np.argsort(keys, kind="stable")
        self.runs.append((keys[order].astype(np.uint64, copy=False), ids[order].astype(np.uint32, copy=False)))
        while len(self.runs) > 1 and MERGE_RATIO * len(self.runs[-1][0]) >= len(self.runs[-2][0]):
            (old_keys, old_ids), (new_keys, new_ids) = self.runs[-2:]
            merged_keys = np.concatenate([old_keys, new_keys])
            # Two sorted runs back to back: a stable sort (timsort for 64-bit ints) finds
            # them and merges in linear time, and keeps the older entries of a key first.
            order = np.argsort(merged_keys, kind="stable")
            self.runs[-2:] = [(merged_keys[order], np.concatenate([old_ids, new_ids])[order])]

    def lookup(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every entry whose key is among ``queries``: (index of the query, id), as int64
        arrays. Most queries of a batch find nothing, so the work is one binary search per
        query and run (on the queries sorted: neighbouring searches then touch the same
        memory, which measured 40% faster), plus the hits."""
        if not self.runs or not len(queries):
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        order = np.argsort(queries, kind="stable")
        ordered = queries[order]
        found_queries, found_ids = [], []
        for keys, ids in self.runs:
            first = np.searchsorted(keys, ordered, side="left")
            hit = np.flatnonzero(keys[np.minimum(first, len(keys) - 1)] == ordered)
            if not len(hit):
                continue
            first = first[hit]
            counts = np.searchsorted(keys, ordered[hit], side="right") - first
            found_queries.append(np.repeat(order[hit], counts))
            # Positions first[h] .. first[h] + counts[h] - 1 of every hit h, flattened.
            starts = np.repeat(first - np.cumsum(counts) + counts, counts)
            found_ids.append(ids[starts + np.arange(int(counts.sum()))].astype(np.int64))
        if not found_queries:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        return np.concatenate(found_queries), np.concatenate(found_ids)
