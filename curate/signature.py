"""MinHash signatures and LSH band keys of paragraphs (the per-document half of dedup)."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import xxhash
from datasketch import MinHash
from datasketch.lsh import _optimal_param

from curate.document import Document

_WORD = re.compile(r"\w+")
# Scripts written without spaces between words: word shingles would make one
# shingle of a whole paragraph, so these paragraphs are shingled by characters.
_UNSPACED = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
)
UNSPACED_SHARE = 0.3
# Shingles permuted in one matrix: 2,048 x 128 permutations x 4 bytes = 1 MB, which stays
# in cache (blocks of 512-2,048 ran 2x faster than 32k in the notes' measurements).
BLOCK_SHINGLES = 2_048


@dataclass(frozen=True)
class DedupConfig:
    threshold: float = 0.8  # estimated Jaccard at or above which a paragraph is a near-duplicate
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
        """(bands, rows) that minimise false positives plus false negatives at the threshold,
        the same choice datasketch's MinHashLSH makes."""
        return _optimal_param(self.threshold, self.num_perm, 0.5, 0.5)


class Signer:
    """MinHash signatures exactly as datasketch computes them (``MinHash(num_perm, seed,
    hashfunc=xxh32_intdigest)``, scheme affine32: each shingle hash is pre-mixed with the
    murmur3 finaliser, then permuted as ``a*h + b mod 2**32``), but for all paragraphs of a
    document in one numpy pass instead of one MinHash object each. The permutations are
    datasketch's own, taken from a template MinHash; tests check the signatures are equal.
    """

    def __init__(self, cfg: DedupConfig):
        self.cfg = cfg
        self.template = MinHash(num_perm=cfg.num_perm, seed=cfg.seed, hashfunc=xxhash.xxh32_intdigest)
        a, b = self.template.permutations
        self.a = a.astype(np.uint32)
        self.b = b.astype(np.uint32)
        self.bands, self.rows = cfg.bands

    def shingles(self, text: str) -> list[bytes] | None:
        """The paragraph's shingles, or None if it is too short to deduplicate."""
        lowered = text.lower()
        unspaced = len(_UNSPACED.findall(lowered))
        if unspaced and unspaced >= UNSPACED_SHARE * sum(ch.isalpha() for ch in lowered):
            chars = "".join(ch for ch in lowered if not ch.isspace())
            n = self.cfg.shingle_chars
            if len(chars) < self.cfg.min_chars:
                return None
            return list({chars[i:i + n].encode("utf-8") for i in range(max(1, len(chars) - n + 1))})
        words = _WORD.findall(lowered)
        if len(words) < self.cfg.min_words:
            return None
        n = self.cfg.shingle_words
        return list({" ".join(words[i:i + n]).encode("utf-8") for i in range(max(1, len(words) - n + 1))})

    def shingle_hashes(self, text: str) -> list[int] | None:
        """xxh32 of each of the paragraph's shingles (the same bytes ``shingles`` gives, in
        order and with repeats, which cannot change a minimum), or None if too short.

        Word shingles are cut as byte slices of the words joined once, instead of joining
        and encoding every 5-gram: the same bytes at a third of the cost."""
        lowered = text.lower()
        if not lowered.isascii() and _UNSPACED.search(lowered):
            unspaced = len(_UNSPACED.findall(lowered))
            if unspaced >= UNSPACED_SHARE * sum(map(str.isalpha, lowered)):
                found = self.shingles(text)
                return None if found is None else list(map(xxhash.xxh32_intdigest, found))
        words = _WORD.findall(lowered)
        count = len(words)
        if count < self.cfg.min_words:
            return None
        joined = " ".join(words)
        data = joined.encode("utf-8")
        lengths = map(len, words) if len(data) == len(joined) else map(len, map(str.encode, words))
        # Word k starts one byte after word k-1 ends; the extra last entry closes the last word.
        starts = list(itertools.accumulate(map((1).__add__, lengths), initial=0))
        n = min(self.cfg.shingle_words, count)
        hash32 = xxhash.xxh32_intdigest
        return [hash32(data[starts[i]:starts[i + n] - 1]) for i in range(count - n + 1)]

    def signatures(self, shingle_sets: list[list[bytes]]) -> np.ndarray:
        """One signature row per shingle set (each set non-empty), as uint32."""
        return self.signatures_of_hashes([list(map(xxhash.xxh32_intdigest, group)) for group in shingle_sets])

    def signatures_of_hashes(self, hash_sets: list[list[int]]) -> np.ndarray:
        """One signature row per list of shingle hashes (each non-empty), as uint32.

        Lists are taken in groups of at most BLOCK_SHINGLES hashes, one matrix each; a list
        longer than that (a multi-megabyte line) is reduced block by block on its own."""
        rows: list[np.ndarray] = []
        group: list[list[int]] = []
        size = 0
        for hashes in hash_sets:
            if len(hashes) > BLOCK_SHINGLES:
                if group:
                    rows.append(self._signatures_of_group(group, size))
                    group, size = [], 0
                rows.append(self._signature_by_blocks(hashes)[None, :])
                continue
            if size + len(hashes) > BLOCK_SHINGLES:
                rows.append(self._signatures_of_group(group, size))
                group, size = [], 0
            group.append(hashes)
            size += len(hashes)
        if group:
            rows.append(self._signatures_of_group(group, size))
        return rows[0] if len(rows) == 1 else np.vstack(rows)

    def _signatures_of_group(self, hash_sets: list[list[int]], total: int) -> np.ndarray:
        counts = [len(s) for s in hash_sets]
        hv = np.fromiter(itertools.chain.from_iterable(hash_sets), dtype=np.uint32, count=total)
        hv = _fmix32(hv)
        starts = np.zeros(len(counts), dtype=np.intp)
        np.cumsum(counts[:-1], out=starts[1:])
        # One (shingles x permutations) matrix for the document; uint32 arithmetic wraps,
        # which is the mod 2**32 of the affine32 scheme.
        permuted = hv[:, None] * self.a[None, :] + self.b[None, :]
        return np.minimum.reduceat(permuted, starts, axis=0)

    def _signature_by_blocks(self, hashes: list[int]) -> np.ndarray:
        signature = np.full(len(self.a), np.iinfo(np.uint32).max, dtype=np.uint32)
        for start in range(0, len(hashes), BLOCK_SHINGLES):
            hv = _fmix32(np.array(hashes[start:start + BLOCK_SHINGLES], dtype=np.uint32))
            np.minimum(signature, (hv[:, None] * self.a[None, :] + self.b[None, :]).min(axis=0), out=signature)
        return signature

    def signature(self, shingles: list[bytes]) -> np.ndarray:
        return self.signatures([shingles])[0]

    def band_keys(self, signature: np.ndarray) -> tuple[int, ...]:
        return tuple(self.band_keys_matrix(signature[None, :])[0])

    def band_keys_matrix(self, matrix: np.ndarray) -> list[list[int]]:
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
        return keys.tolist()


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


def sign_batch(docs: list[Document], signer: Signer) -> None:
    """Attach (signature bytes, band keys) to every kept line long enough to deduplicate,
    for all documents with one matrix: most records of a paragraph-per-line JSONL hold one
    paragraph, and numpy's cost is per call."""
    owners, sets = [], []
    for doc in docs:
        doc.signatures = {}
        for line in doc.lines:
            hashes = signer.shingle_hashes(line.text)
            if hashes is not None:
                owners.append((doc, line.index))
                sets.append(hashes)
    if not sets:
        return
    matrix = signer.signatures_of_hashes(sets)
    keys = signer.band_keys_matrix(matrix)
    for (doc, index), row, row_keys in zip(owners, matrix, keys):
        doc.signatures[index] = (row.tobytes(), tuple(row_keys))
