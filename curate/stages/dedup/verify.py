"""Exact verification of a candidate pair: the Jaccard of the two paragraphs' shingle sets.

A shingle set is the sorted, unique uint32 xxh32 hashes of a paragraph's shingles
(sign.py). Every engine decides with ``is_similar`` and reports ``similarity``, so one pair
gets the same verdict and the same float everywhere: it is one IEEE division of two ints.
"""

from __future__ import annotations

import numpy as np


def intersection_size(a: np.ndarray, b: np.ndarray) -> int:
    """|a ∩ b| of two sorted unique arrays: each element of the smaller looked up in the
    larger. Measured here against np.intersect1d(assume_unique=True) and np.isin: as fast
    for paragraphs of 20 to 200 shingles, twice as fast at 2,000."""
    if len(a) > len(b):
        a, b = b, a
    if not len(a):
        return 0
    at = np.searchsorted(b, a)
    np.minimum(at, len(b) - 1, out=at)
    return int(np.count_nonzero(b[at] == a))


def tagged_intersections(a: np.ndarray, a_sizes: np.ndarray, b: np.ndarray, b_sizes: np.ndarray) -> np.ndarray:
    """|a_k ∩ b_k| for every pair k of sets, given one after another (``a`` holds a_0,
    a_1, ... of ``a_sizes``; ``b`` likewise), each sorted and unique: what
    ``intersection_size`` gives pair by pair (tests hold them equal), for all the pairs in
    a few array passes. Each hash is tagged with its pair's number in the high 32 bits,
    so each side is one sorted array, and the smaller side is looked up in the larger:
    numpy's search takes the last position found as a start when the keys come sorted.
    It took 0.2x the time of sorting both sides together and counting the hashes met
    twice, which it replaced (20,000 pairs of 20 to 200 hashes)."""
    tags = np.arange(len(a_sizes), dtype=np.uint64) << np.uint64(32)
    left = np.repeat(tags, a_sizes) | np.asarray(a, dtype=np.uint64)
    right = np.repeat(tags, b_sizes) | np.asarray(b, dtype=np.uint64)
    if len(left) > len(right):
        left, right = right, left
    if not len(left):
        return np.zeros(len(a_sizes), dtype=np.int64)
    at = np.searchsorted(right, left)
    np.minimum(at, len(right) - 1, out=at)
    met = left[right[at] == left]
    return np.bincount((met >> np.uint64(32)).astype(np.int64), minlength=len(a_sizes))


def could_be_similar(size_a: int, size_b: int, threshold: float) -> bool:
    """Can two sets of these sizes reach the threshold? Their Jaccard is at most
    min / max, so most candidates of very different length need no intersection. (The
    same division as ``is_similar``: rounding is monotonic, so this never rejects a pair
    that ``is_similar`` would accept.)"""
    return is_similar(min(size_a, size_b), max(size_a, size_b), threshold)


def similarity(inter: int, union: int) -> float:
    return inter / union


def is_similar(inter: int, union: int, threshold: float) -> bool:
    return similarity(inter, union) >= threshold


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    inter = intersection_size(a, b)
    return similarity(inter, len(a) + len(b) - inter)
