"""A Bloom filter over 64-bit band keys: which keys a run spilled to disk surely lacks.

Most queries of a batch find nothing in a run, and a spilled run can only answer by
reading its file; the filter answers "not here" for ~99% of those from memory, at 10 bits
a key (1.25 bytes, a tenth of the 12 the key and id take on disk). Band keys are already
well mixed (splitmix-style, signature.py), so the bit positions are derived from the key
itself by double hashing (Kirsch and Mitzenmacher): position i = key + i * rotl(key, 32) mod
the filter's size, all with numpy on whole arrays.
"""

from __future__ import annotations

import numpy as np

BITS_PER_KEY = 10
HASHES = 7  # ~ln 2 * BITS_PER_KEY: the fewest false positives at 10 bits (0.8%)
ADD_SLICE = 1 << 15


class BloomFilter:
    """A set of uint64 keys that may say yes for a key it lacks, never no for one it holds."""

    def __init__(self, expected: int, bits_per_key: int = BITS_PER_KEY):
        words = max(1, -(-max(expected, 1) * bits_per_key // 64))
        self.words = np.zeros(words, dtype=np.uint64)
        self._size = np.uint64(64 * words)

    @property
    def nbytes(self) -> int:
        return self.words.nbytes

    def _positions(self, keys: np.ndarray) -> np.ndarray:
        """(HASHES, len(keys)) bit positions; uint64 arithmetic wraps, as the hashing wants."""
        keys = np.asarray(keys, dtype=np.uint64)
        step = ((keys << np.uint64(32)) | (keys >> np.uint64(32))) | np.uint64(1)
        rounds = np.arange(HASHES, dtype=np.uint64)[:, None]
        return (keys[None, :] + rounds * step[None, :]) % self._size

    def add(self, keys: np.ndarray) -> None:
        # In slices: the positions and masks take ~170 bytes a key while they last.
        for start in range(0, len(keys), ADD_SLICE):
            positions = self._positions(keys[start:start + ADD_SLICE]).ravel()
            np.bitwise_or.at(self.words, positions >> np.uint64(6), np.uint64(1) << (positions & np.uint64(63)))

    def might_hold(self, keys: np.ndarray) -> np.ndarray:
        """A bool per key: False means surely absent."""
        positions = self._positions(keys)
        bits = (self.words[positions >> np.uint64(6)] >> (positions & np.uint64(63))) & np.uint64(1)
        return bits.all(axis=0)
