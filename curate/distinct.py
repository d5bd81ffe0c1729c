"""The sorted distinct values of an array of integers, by one sort.

numpy 2.3 made ``np.unique`` (without return_index, return_inverse or return_counts) find
the distinct values with a hash table and then sort them. That is fast when few values
are distinct. curate's arrays are the other kind: candidate pairs, edges, paragraph ids
and line keys, nearly all distinct. On 1.7M random uint64, here with numpy 2.4,
``np.unique`` took 1.25 s and a sort with a mask of the changes 0.10 s. At 57k values it
was 8x slower. tests/test_distinct.py holds the result equal to ``np.unique``'s.
"""

from __future__ import annotations

import numpy as np


def distinct(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` for integers: their distinct values, sorted, flattened."""
    ordered = np.sort(np.asarray(values).ravel())
    if len(ordered) < 2:
        return ordered
    changes = np.empty(len(ordered), dtype=bool)
    changes[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=changes[1:])
    return ordered[changes]
