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
