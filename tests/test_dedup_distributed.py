"""The distributed dedup (bucket edges, then one clustering pass) gives the verdicts of the
incremental `DedupIndex`, whatever the batches and the number of partitions."""

from __future__ import annotations

import numpy as np
import pytest

from curate.document import ParagraphRef
from curate.stages.dedup.buckets import bucket_edges, cluster
from curate.stages.dedup.index import DedupIndex
from curate.stages.dedup.signature import DedupConfig, Signer

pytestmark = pytest.mark.unit


def _incremental(sigs: np.ndarray, cfg: DedupConfig) -> dict[int, tuple[int, float]]:
    """Position -> (position it copies, similarity), from the local engine's index."""
    index = DedupIndex(cfg)
    keys = Signer(cfg).band_keys_matrix(sigs)
    kept_at: list[int] = []
    removed = {}
    for pos, (row, row_keys) in enumerate(zip(sigs, keys, strict=True)):
        found = index.find(row.tobytes(), tuple(row_keys))
        if found is None:
            index.add(row.tobytes(), tuple(row_keys), ParagraphRef("d", "s", pos, 0, 0))
            kept_at.append(pos)
        else:
            removed[pos] = (kept_at[found[0]], round(found[1], 4))
    return removed


def _distributed(sigs: np.ndarray, cfg: DedupConfig, cuts: list[int], partitions: int) -> dict[int, tuple[int, float]]:
    """The same, as the Ray engine computes it: uids per batch, rows split by band key % R."""
    keys = np.array(Signer(cfg).band_keys_matrix(sigs), dtype=np.uint64)
    batch_of = np.searchsorted(np.array(cuts, dtype=np.int64), np.arange(len(sigs)), side="right")
    starts = np.array([0, *cuts], dtype=np.int64)[batch_of]
    uids = (batch_of.astype(np.int64) << 32) | (np.arange(len(sigs)) - starts)
    row_keys = keys.ravel()
    row_uids = np.repeat(uids, keys.shape[1])
    edges, mirrors = [], []
    for r in range(partitions):
        mine = row_keys % np.uint64(partitions) == r
        e, m = bucket_edges(row_keys[mine], row_uids[mine], uids, sigs, cfg.threshold)
        edges.append(e)
        mirrors.append(m)
    verdicts = cluster(np.concatenate(edges), np.concatenate(mirrors), cfg.num_perm)
    position = {int(u): p for p, u in enumerate(uids)}
    return {position[j]: (position[i], round(equal / cfg.num_perm, 4)) for j, (i, equal) in verdicts.items()}


def _variants(base: np.ndarray, rng: np.random.Generator, n: int, flips: int) -> np.ndarray:
    """n signatures, each a base row with a few positions changed (or none: exact copies)."""
    rows = base[rng.integers(0, len(base), n)].copy()
    for row in rows:
        k = rng.integers(0, flips + 1)
        row[rng.choice(len(row), k, replace=False)] = rng.integers(0, 1 << 32, k, dtype=np.uint32)
    return rows


@pytest.mark.parametrize("seed", range(12))
def test_distributed_verdicts_equal_the_incremental_index(seed):
    rng = np.random.default_rng(seed)
    cfg = DedupConfig(threshold=float(rng.choice([0.5, 0.7, 0.8])), num_perm=32)
    base = rng.integers(0, 1 << 32, (int(rng.integers(2, 8)), cfg.num_perm), dtype=np.uint32)
    sigs = _variants(base, rng, int(rng.integers(20, 200)), flips=int(rng.integers(1, 20)))
    cuts = sorted(set(rng.integers(1, len(sigs), int(rng.integers(0, 6))).tolist()))
    expected = _incremental(sigs, cfg)
    assert expected, "the random set should hold some duplicates"
    for partitions in (1, 3, 7):
        assert _distributed(sigs, cfg, cuts, partitions) == expected


def test_a_chain_keeps_both_ends_as_the_incremental_index_does():
    # A~B and B~C but A!~C: B goes (copy of A), so C has no kept match and stays.
    cfg = DedupConfig(threshold=0.75, num_perm=16)
    a = np.arange(16, dtype=np.uint32)
    b = a.copy()
    b[:4] += 100  # 12/16 equal to A
    c = b.copy()
    c[4:8] += 100  # 12/16 equal to B, 8/16 to A
    sigs = np.stack([a, b, c])
    expected = _incremental(sigs, cfg)
    assert expected == {1: (0, 0.75)}
    assert _distributed(sigs, cfg, [1, 2], partitions=2) == expected


def test_many_exact_copies_cost_mirrors_not_pairs():
    cfg = DedupConfig(num_perm=32)
    rng = np.random.default_rng(0)
    original = rng.integers(0, 1 << 32, cfg.num_perm, dtype=np.uint32)
    near = original.copy()
    near[0] += 1  # 31/32 similar
    sigs = np.stack([near] + [original] * 500 + [near] * 3)
    keys = np.array(Signer(cfg).band_keys_matrix(sigs), dtype=np.uint64)
    uids = np.arange(len(sigs), dtype=np.int64)
    edges, _ = bucket_edges(keys.ravel(), np.repeat(uids, keys.shape[1]), uids, sigs, cfg.threshold)
    assert len(np.unique(edges[:, :2], axis=0)) == 1  # only (near, original): copies are mirrored
    assert _distributed(sigs, cfg, [100, 300], partitions=4) == _incremental(sigs, cfg)
    assert _incremental(sigs, cfg) == {p: (0, 1.0 if p > 500 else 0.9688) for p in range(1, len(sigs))}
