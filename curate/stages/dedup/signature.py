"""MinHash signatures and LSH band keys of paragraphs (the per-document half of dedup)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import xxhash

from curate.stages.dedup.shingles import word_shingles, xxh32_slices

# Shingles permuted in one (permutations x shingles) matrix: 128 x 8,192 x 4 bytes = 4 MB.
# Measured here: 2,048 to 8,192 per block ran 2x faster, and the transposed layout (each
# permutation a contiguous row, so reduceat runs along memory) 5x faster than the other.
BLOCK_SHINGLES = 8_192


@dataclass(frozen=True)
class DedupConfig:
    threshold: float = 0.8  # exact Jaccard of shingle sets at or above which a paragraph is a near-duplicate
    num_perm: int = 128
    shingle_words: int = 5  # word n-grams for spaced scripts
    shingle_chars: int = 5  # character n-grams for Chinese, Japanese, Thai and the like
    # Shorter lines are never deduplicated: a short line repeated on purpose ("Liang
    # Guangting said" before two different quotes) is content, not a copied paragraph.
    min_words: int = 8
    min_chars: int = 20  # the same minimum for character-shingled text
    seed: int = 1

    @cached_property
    def bands(self) -> tuple[int, int]:
        """(bands, rows) of the LSH index that proposes candidates: tuned so that a pair at
        the threshold is a candidate with probability CANDIDATE_RECALL, since every
        candidate is then verified on its exact Jaccard."""
        return candidate_bands(self.threshold, self.num_perm)


# The chance that a pair whose Jaccard is exactly the threshold shares at least one band.
# Verification is exact, so a lower chance only loses copies and a higher one only costs
# comparisons; pairs above the threshold are candidates more often still.
CANDIDATE_RECALL = 0.995


def candidate_probability(jaccard: float, bands: int, rows: int) -> float:
    """P(two sets of this Jaccard share a band) with ``bands`` bands of ``rows`` rows."""
    return 1.0 - (1.0 - jaccard ** rows) ** bands


# Rows per band at most. Fewer rows need fewer bands and permutations to reach the recall
# (signing is the cost of dedup) but propose more pairs below the threshold, each verified
# by reading its set back. Measured on bench/compare.py's paragraphs at 0.8: 5 rows (14
# bands, 70 permutations) took 10% less CPU than 6 (18, 108) with the same removals; 4
# rows (11, 44) saved no more and propose 1.4x the candidates at Jaccard 0.5.
MAX_ROWS = 5


def candidate_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows): the most rows per band, up to MAX_ROWS, for which some number of
    bands that fits in ``num_perm`` reaches CANDIDATE_RECALL at the threshold, and then
    the fewest such bands (fewer keys to store). One row per band when even that cannot
    reach it."""
    for rows in range(min(MAX_ROWS, num_perm), 0, -1):
        for bands in range(1, num_perm // rows + 1):
            if candidate_probability(threshold, bands, rows) >= CANDIDATE_RECALL:
                return bands, rows
    return num_perm, 1


def affine32_permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) of datasketch's affine32 MinHash scheme for this seed, drawn as it draws
    them (a test compares them with ``MinHash(...).permutations``)."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


class Signer:
    """MinHash signatures exactly as datasketch computes them (``MinHash(num_perm, seed,
    hashfunc=xxh32_intdigest)``, scheme affine32: each shingle hash is pre-mixed with the
    murmur3 finaliser, then permuted as ``a*h + b mod 2**32``), but for all paragraphs of a
    batch in a few numpy passes instead of one MinHash object each. Tests check the
    signatures are equal to datasketch's.
    """

    def __init__(self, cfg: DedupConfig):
        self.cfg = cfg
        self.bands, self.rows = cfg.bands
        # Only the permutations the bands use are computed: the rest would be signed and
        # thrown away (verification needs no signature).
        a, b = affine32_permutations(cfg.num_perm, cfg.seed)
        self.a, self.b = a[:self.bands * self.rows], b[:self.bands * self.rows]

    def _char_shingles(self, lowered: str) -> list[bytes] | None:
        chars = "".join(ch for ch in lowered if not ch.isspace())
        n = self.cfg.shingle_chars
        if len(chars) < self.cfg.min_chars:
            return None
        return list({chars[i:i + n].encode("utf-8") for i in range(max(1, len(chars) - n + 1))})

    def shingle_hash_batch(self, texts: list[str]) -> tuple[list[int | None], np.ndarray]:
        """xxh32 of the shingles of every text, flat and in text order, and how many belong
        to each text (None: too short to deduplicate). Repeated shingles may appear more
        than once, which cannot change a minimum.

        Word shingles are byte slices of one buffer for the batch, hashed by an xxh32 in
        numpy (both in curate/stages/dedup/shingles.py), so no bytecode runs per shingle; lines of
        unspaced scripts (rare) are shingled by characters one at a time."""
        cut = word_shingles(texts, self.cfg.shingle_words, self.cfg.min_words)
        word_hashes = xxh32_slices(cut.buffer, cut.starts, cut.ends)
        if not cut.unspaced:
            return cut.counts, word_hashes
        counts = cut.counts
        pieces, taken = [], 0
        by_chars = set(cut.unspaced)
        for i, count in enumerate(counts):
            if i in by_chars:
                found = self._char_shingles(texts[i].lower())  # word_shingles found it unspaced
                counts[i] = None if found is None else len(found)
                if found is not None:
                    pieces.append(np.fromiter(map(xxhash.xxh32_intdigest, found), dtype=np.uint32, count=len(found)))
            elif count is not None:
                pieces.append(word_hashes[taken:taken + count])
                taken += count
        return counts, np.concatenate(pieces) if pieces else np.empty(0, dtype=np.uint32)

    def signatures_of_hashes(self, hashes: np.ndarray, counts: list[int]) -> np.ndarray:
        """One signature row per run of ``counts`` hashes (each non-zero), as uint32.

        Runs are taken in groups of at most BLOCK_SHINGLES hashes, one matrix each; a run
        longer than that (a multi-megabyte line) is reduced block by block on its own."""
        mixed = _fmix32(hashes)
        out = np.empty((len(counts), len(self.a)), dtype=np.uint32)
        buffer = np.empty((len(self.a), BLOCK_SHINGLES), dtype=np.uint32)
        group_start = row = pos = 0
        size = 0
        for count in counts:
            if size + count > BLOCK_SHINGLES and size:
                self._reduce_group(mixed, pos - size, counts[group_start:row], out[group_start:row], buffer)
                group_start, size = row, 0
            if count > BLOCK_SHINGLES:
                out[row] = self._signature_by_blocks(mixed[pos:pos + count], buffer)
                group_start = row + 1
            else:
                size += count
            row += 1
            pos += count
        if size:
            self._reduce_group(mixed, pos - size, counts[group_start:row], out[group_start:row], buffer)
        return out

    def _reduce_group(self, mixed: np.ndarray, start: int, counts: list[int], out: np.ndarray,
                      buffer: np.ndarray) -> None:
        size = sum(counts)
        permuted = buffer[:, :size]
        # uint32 arithmetic wraps, which is the mod 2**32 of the affine32 scheme.
        np.multiply(self.a[:, None], mixed[None, start:start + size], out=permuted)
        np.add(permuted, self.b[:, None], out=permuted)
        offsets = np.zeros(len(counts), dtype=np.intp)
        np.cumsum(counts[:-1], out=offsets[1:])
        out[:] = np.minimum.reduceat(permuted, offsets, axis=1).T

    def _signature_by_blocks(self, mixed: np.ndarray, buffer: np.ndarray) -> np.ndarray:
        signature = np.full(len(self.a), np.iinfo(np.uint32).max, dtype=np.uint32)
        for start in range(0, len(mixed), BLOCK_SHINGLES):
            block = mixed[start:start + BLOCK_SHINGLES]
            permuted = buffer[:, :len(block)]
            np.multiply(self.a[:, None], block[None, :], out=permuted)
            np.add(permuted, self.b[:, None], out=permuted)
            np.minimum(signature, permuted.min(axis=1), out=signature)
        return signature

    def band_keys_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """64-bit keys of each row's bands, all rows at once. Plain integer mixing (multiply
        and xor-shift, as in splitmix64), so keys agree across processes, runs and machines;
        never Python's salted hash(). A key only proposes candidates: every candidate is
        checked on its signature, so a rare collision costs a comparison, not a verdict."""
        n = matrix.shape[0]
        bands = matrix[:, : self.bands * self.rows].reshape(n, self.bands, self.rows).astype(np.uint64)
        keys = np.broadcast_to(np.arange(1, self.bands + 1, dtype=np.uint64) * _GOLDEN, (n, self.bands)).copy()
        with np.errstate(over="ignore"):
            for r in range(self.rows):
                keys ^= bands[:, :, r]
                keys *= _MIX1
                keys ^= keys >> np.uint64(31)
            keys *= _MIX2
            keys ^= keys >> np.uint64(29)
        return keys


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _fmix32(hv: np.ndarray) -> np.ndarray:
    """The murmur3 32-bit finaliser, as datasketch applies it before permuting."""
    hv = hv ^ (hv >> np.uint32(16))
    hv = hv * np.uint32(0x85EBCA6B)
    hv = hv ^ (hv >> np.uint32(13))
    hv = hv * np.uint32(0xC2B2AE35)
    return hv ^ (hv >> np.uint32(16))
