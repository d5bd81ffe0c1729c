"""Shingles cut one paragraph at a time and signatures through xxhash per shingle: the
definitions curate/stages/dedup/signature.py's batch code is tested equal to (and, through
datasketch, the definitions datasketch's MinHash is compared on)."""

from __future__ import annotations

import re

import numpy as np
import xxhash

from curate.stages.dedup.shingles import is_unspaced
from curate.stages.dedup.signature import Signer

_WORD = re.compile(r"\w+")


def shingles(signer: Signer, text: str) -> list[bytes] | None:
    """The paragraph's shingles, or None if it is too short to deduplicate: word n-grams of
    the lowercased \\w+ words, or character n-grams for unspaced scripts."""
    cfg = signer.cfg
    lowered = text.lower()
    if is_unspaced(lowered):
        return signer._char_shingles(lowered)
    words = _WORD.findall(lowered)
    if len(words) < cfg.min_words:
        return None
    n = cfg.shingle_words
    return list({" ".join(words[i:i + n]).encode("utf-8") for i in range(max(1, len(words) - n + 1))})


def shingle_hashes(signer: Signer, text: str) -> list[int] | None:
    """xxh32 of each of the paragraph's shingles as the batch code cuts them, or None."""
    counts, hashes = signer.shingle_hash_batch([text])
    return None if counts[0] is None else hashes.tolist()


def signatures(signer: Signer, shingle_sets: list[list[bytes]]) -> np.ndarray:
    """One signature row per shingle set (each set non-empty), as uint32."""
    hashes = [xxhash.xxh32_intdigest(s) for group in shingle_sets for s in group]
    return signer.signatures_of_hashes(np.array(hashes, dtype=np.uint32), [len(g) for g in shingle_sets])


def signature(signer: Signer, shingle_set: list[bytes]) -> np.ndarray:
    return signatures(signer, [shingle_set])[0]


def band_keys(signer: Signer, sig: np.ndarray) -> tuple[int, ...]:
    return tuple(signer.band_keys_matrix(sig[None, :])[0])
