"""MinHash signatures and LSH band keys of paragraphs (the per-document half of dedup)."""

from __future__ import annotations

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
    """Computes signatures with one datasketch MinHash template, copied per paragraph
    (building a MinHash from scratch draws its permutations again, which costs more
    than hashing the paragraph)."""

    def __init__(self, cfg: DedupConfig):
        self.cfg = cfg
        self.template = MinHash(num_perm=cfg.num_perm, seed=cfg.seed, hashfunc=xxhash.xxh32_intdigest)
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

    def signature(self, shingles: list[bytes]) -> np.ndarray:
        m = self.template.copy()
        m.update_batch(shingles)
        return m.digest()

    def band_keys(self, signature: np.ndarray) -> tuple[int, ...]:
        # Stable hashes only (never hash()): keys must agree across processes and runs.
        r = self.rows
        raw = signature.tobytes()
        width = 4 * r
        return tuple(xxhash.xxh3_64_intdigest(raw[i * width:(i + 1) * width], seed=i) for i in range(self.bands))


def sign(doc: Document, signer: Signer) -> Document:
    """Attach (signature bytes, band keys) to every kept line long enough to deduplicate."""
    signatures = {}
    for line in doc.lines:
        shingles = signer.shingles(line.text)
        if shingles is None:
            continue
        sig = signer.signature(shingles)
        signatures[line.index] = (sig.tobytes(), signer.band_keys(sig))
    doc.signatures = signatures
    return doc
