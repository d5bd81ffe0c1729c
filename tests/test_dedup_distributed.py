"""The distributed dedup (bucket edges, then one clustering pass; or components replayed
with the index itself) and the local engine's batched `DedupIndex` give the verdicts and
the exact similarities of the rule applied one paragraph at a time, whatever the batches
and the number of partitions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curate.stages.base import Batch
from curate.stages.dedup.buckets import bucket_edges, cluster, take_sets
from curate.stages.dedup.components import (
    RowsByUid,
    component_group,
    component_roots,
    key_partition,
    partitioned_verdicts,
    star_edges,
)
from curate.stages.dedup.index import CANDIDATES_PER_KEY, DedupIndex
from curate.stages.dedup.sign import SignedRows, shingle_sets
from curate.stages.dedup.signature import DedupConfig, Signer

pytestmark = pytest.mark.unit

Sets = tuple[np.ndarray, np.ndarray]  # flat sorted uint32 hashes, offsets


def _sets(groups: list[list[int]]) -> Sets:
    return shingle_sets(np.array([h for g in groups for h in g], dtype=np.uint32), [len(g) for g in groups])


def _keys(sets: Sets, cfg: DedupConfig) -> np.ndarray:
    flat, offsets = sets
    signer = Signer(cfg)
    return np.array(signer.band_keys_matrix(signer.signatures_of_hashes(flat, np.diff(offsets).tolist())),
                    dtype=np.uint64)


def _incremental(sets: Sets, cfg: DedupConfig) -> dict[int, tuple[int, float]]:
    """Position -> (position it copies, similarity): the rule itself, one row at a time
    with a dict of band key -> kept positions (the reference every engine must equal)."""
    flat, offsets = sets
    buckets: dict[int, list[int]] = {}
    removed = {}
    for pos, row_keys in enumerate(_keys(sets, cfg).tolist()):
        mine = flat[offsets[pos]:offsets[pos + 1]]
        for kept in sorted({i for key in row_keys for i in buckets.get(key, ())}):
            theirs = flat[offsets[kept]:offsets[kept + 1]]
            inter = len(np.intersect1d(mine, theirs))
            union = len(mine) + len(theirs) - inter
            if inter / union >= cfg.threshold:
                removed[pos] = (kept, inter / union)
                break
        else:
            for key in row_keys:
                buckets.setdefault(key, []).append(pos)
    return removed


def _batched(sets: Sets, cfg: DedupConfig, cuts: list[int]) -> dict[int, tuple[int, float]]:
    """The same from the local engine's DedupIndex, fed in batches cut at ``cuts`` (its
    vectorised lookups and in-batch groups must not change a verdict)."""
    flat, offsets = sets
    keys = _keys(sets, cfg)
    n = len(offsets) - 1
    index = DedupIndex(cfg)
    removed = {}
    try:
        for number, (start, end) in enumerate(zip([0, *cuts], [*cuts, n], strict=True)):
            part_flat, part_offsets = take_sets(flat, offsets, np.arange(start, end))
            refs = [("d", "s", pos, 0, 0) for pos in range(start, end)]
            rows = SignedRows([(k, 0) for k in range(end - start)], keys[start:end], part_flat, part_offsets, refs)
            for k, verdict in enumerate(index.decide(Batch(number, [], start, rows))):
                if verdict is not None:
                    assert verdict.duplicate_of is not None and verdict.similarity is not None
                    removed[start + k] = (verdict.duplicate_of.line, verdict.similarity)
    finally:
        index.close()
    return removed


def _rounded(verdicts: dict[int, tuple[int, float]]) -> dict[int, tuple[int, float]]:
    return {j: (i, round(jaccard, 4)) for j, (i, jaccard) in verdicts.items()}  # a Reason keeps 4 decimals


def _distributed(sets: Sets, cfg: DedupConfig, cuts: list[int], partitions: int) -> dict[int, tuple[int, float]]:
    """The same, as the Ray engine computes it: uids per batch, rows split by band key % R,
    each partition with the sets of the uids it names."""
    flat, offsets = sets
    keys = _keys(sets, cfg)
    n = len(offsets) - 1
    batch_of = np.searchsorted(np.array(cuts, dtype=np.int64), np.arange(n), side="right")
    starts = np.array([0, *cuts], dtype=np.int64)[batch_of]
    uids = (batch_of.astype(np.int64) << 32) | (np.arange(n) - starts)
    row_keys = keys.ravel()
    row_uids = np.repeat(uids, keys.shape[1])
    edges, mirrors = [], []
    for r in range(partitions):
        mine = row_keys % np.uint64(partitions) == r
        holds = np.unique(row_uids[mine])
        part_flat, part_offsets = take_sets(flat, offsets, np.searchsorted(uids, holds))
        e, m = bucket_edges(row_keys[mine], row_uids[mine], holds, part_flat, part_offsets, cfg.threshold)
        edges.append(e)
        mirrors.append(m)
    verdicts = cluster(np.concatenate(edges), np.concatenate(mirrors))
    position = {int(u): p for p, u in enumerate(uids)}
    return {position[j]: (position[i], jaccard) for j, (i, jaccard) in verdicts.items()}


def _variants(rng: np.random.Generator, n: int, bases: int, size: int, edits: int) -> list[list[int]]:
    """n shingle sets, each a base set with a few hashes replaced (or none: exact copies)."""
    base = [rng.choice(1 << 20, size, replace=False).tolist() for _ in range(bases)]
    out = []
    for _ in range(n):
        row = list(base[int(rng.integers(0, bases))])
        for _ in range(int(rng.integers(0, edits + 1))):
            row[int(rng.integers(0, len(row)))] = int(rng.integers(1 << 20, 1 << 32))
        out.append(row[:len(row) - int(rng.integers(0, 3))])
    return out


@pytest.mark.parametrize("seed", range(12))
def test_distributed_verdicts_equal_the_incremental_index(seed):
    rng = np.random.default_rng(seed)
    cfg = DedupConfig(threshold=float(rng.choice([0.5, 0.7, 0.8])), num_perm=32)
    sets = _sets(_variants(rng, int(rng.integers(20, 200)), int(rng.integers(2, 8)), 30, int(rng.integers(1, 12))))
    cuts = sorted(set(rng.integers(1, len(sets[1]) - 1, int(rng.integers(0, 6))).tolist()))
    expected = _incremental(sets, cfg)
    assert expected, "the random set should hold some duplicates"
    for partitions in (1, 3, 7):
        assert _distributed(sets, cfg, cuts, partitions) == expected
    assert _batched(sets, cfg, cuts) == _rounded(expected)
    assert _batched(sets, cfg, []) == _rounded(expected)  # one batch: every copy is found inside it


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sets(st.integers(0, 11), max_size=4)), min_size=1, max_size=40),
       st.sampled_from([0.5, 0.7, 0.8]), st.integers(1, 5), st.lists(st.integers(1, 39), max_size=4))
def test_distributed_equals_incremental_on_any_sets(rows, threshold, partitions, cuts):
    # Each set is one of four bases of 12 hashes with some of them removed: many pairs
    # sit near every threshold, and some sets are identical (mirrors).
    groups = [[base * 100 + h for h in range(12) if h not in dropped] for base, dropped in rows]
    cfg = DedupConfig(threshold=threshold, num_perm=16)
    sets = _sets(groups)
    cuts = sorted({c for c in cuts if c < len(groups)})
    expected = _incremental(sets, cfg)
    for jaccard in (j for _, j in expected.values()):
        assert jaccard >= threshold
    assert _distributed(sets, cfg, cuts, partitions) == expected
    assert _batched(sets, cfg, cuts) == _rounded(expected)


def test_a_chain_keeps_both_ends_as_the_incremental_index_does():
    # A~B and B~C but A!~C: B goes (copy of A), so C has no kept match and stays.
    cfg = DedupConfig(threshold=0.6, num_perm=128)
    a = list(range(20))
    b = list(range(4, 24))  # 16/24 with A
    c = list(range(8, 28))  # 16/24 with B, 12/28 with A
    sets = _sets([a, b, c])
    expected = _incremental(sets, cfg)
    assert expected == {1: (0, 16 / 24)}
    assert _distributed(sets, cfg, [1, 2], partitions=2) == expected
    assert _batched(sets, cfg, []) == _rounded(expected)


def test_many_exact_copies_cost_mirrors_not_pairs():
    cfg = DedupConfig(num_perm=32)
    original = list(range(1000, 1040))
    near = original[:-1]  # 39/40 similar
    sets = _sets([near] + [original] * 500 + [near] * 3)
    keys = _keys(sets, cfg)
    uids = np.arange(len(sets[1]) - 1, dtype=np.int64)
    edges, _ = bucket_edges(keys.ravel(), np.repeat(uids, keys.shape[1]), uids, *sets, cfg.threshold)
    assert len(np.unique(edges[:, :2], axis=0)) == 1  # only (near, original): copies are mirrored
    assert _distributed(sets, cfg, [100, 300], partitions=4) == _incremental(sets, cfg)
    assert _incremental(sets, cfg) == {p: (0, 1.0 if p > 500 else 39 / 40) for p in range(1, 504)}
    assert _batched(sets, cfg, [7, 250]) == _rounded(_incremental(sets, cfg))


# -- dedup in parts (components.py): key partitions, connected components, a replay per
# group of components, equal to one DedupIndex over the whole input in order, for any
# number of partitions and groups, crowded keys included (where the index verifies only
# the first CANDIDATES_PER_KEY kept paragraphs).
def _rows(groups: list[list[int]], cfg: DedupConfig, keys: np.ndarray | None = None,
          uid_step: int = 1) -> RowsByUid:
    """Rows of these shingle sets, their band keys from MinHash (or ``keys``), uids spaced
    ``uid_step`` apart (uids need only sort in input order)."""
    flat, offsets = shingle_sets(np.array([h for g in groups for h in g], dtype=np.uint32), [len(g) for g in groups])
    if keys is None:
        signer = Signer(cfg)
        keys = signer.band_keys_matrix(signer.signatures_of_hashes(flat, np.diff(offsets).tolist()))
    uids = np.arange(len(groups), dtype=np.int64) * uid_step + 7
    refs = [("d", "s", int(u), 0, 0) for u in uids]
    return RowsByUid(uids, np.asarray(keys, dtype=np.uint64), flat, offsets, refs)


def _sequential(rows: RowsByUid, cfg: DedupConfig, batch: int) -> dict[int, tuple[int, float | None]]:
    """removed uid -> (uid it copies, similarity): one index over every row in input order."""
    index = DedupIndex(cfg)
    out = {}
    try:
        for start in range(0, len(rows.uids), batch):
            part = rows.uids[start:start + batch]
            for k, verdict in enumerate(index.decide(Batch(0, [], start, rows(part)))):
                if verdict is not None:
                    assert verdict.duplicate_of is not None
                    out[int(part[k])] = (verdict.duplicate_of.line, verdict.similarity)
    finally:
        index.close()
    return out


def _parted(rows: RowsByUid, cfg: DedupConfig, parts: int, groups: int) -> dict[int, tuple[int, float | None]]:
    found = partitioned_verdicts(cfg, rows.keys, rows.uids, rows, parts, groups)
    out = {}
    for uid, verdict in found.items():
        assert verdict.duplicate_of is not None
        out[uid] = (verdict.duplicate_of.line, verdict.similarity)
    return out


@pytest.mark.parametrize("seed", range(10))
def test_parts_give_the_verdicts_of_one_index(seed):
    rng = np.random.default_rng(seed)
    cfg = DedupConfig(threshold=float(rng.choice([0.5, 0.7, 0.8])), num_perm=32)
    # Singletons among the families: paragraphs that share no key need no replay.
    groups = _variants(rng, int(rng.integers(50, 300)), int(rng.integers(3, 12)), 30, int(rng.integers(1, 12)))
    groups += [rng.choice(1 << 30, 25, replace=False).tolist() for _ in range(40)]
    order = rng.permutation(len(groups))
    rows = _rows([groups[k] for k in order], cfg, uid_step=int(rng.integers(1, 5)))
    expected = _sequential(rows, cfg, batch=int(rng.integers(5, 80)))
    assert expected, "the random set should hold some duplicates"
    for parts, n_groups in ((1, 1), (3, 2), (8, 5)):
        assert _parted(rows, cfg, parts, n_groups) == expected


def test_a_crowded_key_is_verified_as_the_index_does():
    # Every paragraph has one key in common (a template's band), so the index verifies a
    # paragraph under it only against the key's first CANDIDATES_PER_KEY kept paragraphs.
    # Copies of paragraphs 0-9 and 70-79 share only that key with their originals; copies
    # of 60-69 also share their originals' other keys. The replay must meet the same quota.
    rng = np.random.default_rng(5)
    cfg = DedupConfig(threshold=0.7, num_perm=32)
    n_unique = CANDIDATES_PER_KEY + 40
    uniques = [rng.choice(1 << 30, 30, replace=False).tolist() for _ in range(n_unique)]
    originals = [*range(0, 10), *range(60, 70), *range(70, 80)]
    groups = uniques + [uniques[k][:-1] for k in originals]  # 29/30 similar
    keys = np.column_stack([np.full(len(groups), 12345, dtype=np.uint64),
                            rng.integers(1 << 40, 1 << 62, (len(groups), 3)).astype(np.uint64)])
    keys[n_unique + 10:n_unique + 20, 1:] = keys[60:70, 1:]
    rows = _rows(groups, cfg, keys)
    expected = _sequential(rows, cfg, batch=16)
    copies = rows.uids[n_unique:].tolist()
    assert sorted(expected) == copies[:20]  # the copies of 70-79 are past the crowded key's quota
    for parts, n_groups in ((1, 1), (4, 3)):
        assert _parted(rows, cfg, parts, n_groups) == expected


def test_exact_copies_and_chains_as_the_index_decides():
    cfg = DedupConfig(threshold=0.6, num_perm=128)
    a, b, c = list(range(20)), list(range(4, 24)), list(range(8, 28))  # A~B, B~C, A!~C
    original = list(range(1000, 1040))
    rows = _rows([a, b, c, *([original] * 300), original[:-1]], cfg)
    expected = _sequential(rows, cfg, batch=64)
    assert expected[int(rows.uids[1])] == (int(rows.uids[0]), round(16 / 24, 4))
    assert int(rows.uids[2]) not in expected  # its only match, B, is removed
    assert len(expected) == 1 + 299 + 1
    assert _parted(rows, cfg, 5, 3) == expected


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sets(st.integers(0, 11), max_size=4)), min_size=1, max_size=40),
       st.sampled_from([0.5, 0.7, 0.8]), st.integers(1, 6), st.integers(1, 4), st.integers(1, 40))
def test_parts_equal_one_index_on_any_sets(rows, threshold, parts, groups, batch):
    sets = [[base * 100 + h for h in range(12) if h not in dropped] for base, dropped in rows]
    cfg = DedupConfig(threshold=threshold, num_perm=16)
    signed = _rows(sets, cfg)
    assert _parted(signed, cfg, parts, groups) == _sequential(signed, cfg, batch)


def test_star_edges_tie_each_key_to_its_first_paragraph():
    keys = np.array([5, 9, 5, 5, 9, 1, 5], dtype=np.uint64)
    uids = np.array([30, 11, 10, 20, 40, 50, 10], dtype=np.int64)  # (5, 10) twice: one edge
    first, other = star_edges(keys, uids)
    assert sorted(zip(first.tolist(), other.tolist(), strict=True)) == [(10, 20), (10, 30), (11, 40)]
    empty = star_edges(np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64))
    assert len(empty[0]) == len(empty[1]) == 0


def test_component_roots_are_the_smallest_uid_of_each_component():
    # A long chain given in the worst order for propagation, and a separate pair.
    chain = np.arange(1000, 0, -1, dtype=np.int64)
    first = np.concatenate([chain[1:], [7000]])
    other = np.concatenate([chain[:-1], [6000]])
    nodes, roots = component_roots(first, other)
    assert nodes.tolist() == [*range(1, 1001), 6000, 7000]
    assert roots.tolist() == [1] * 1000 + [6000, 6000]


def test_key_partitions_are_ranges_of_the_key_space():
    keys = np.array([0, (1 << 63) - 1, 1 << 63, (1 << 64) - 1], dtype=np.uint64)
    assert key_partition(keys, 2).tolist() == [0, 0, 1, 1]
    assert key_partition(keys, 1).tolist() == [0, 0, 0, 0]
    spread = np.bincount(key_partition(np.random.default_rng(0).integers(0, 1 << 63, 10_000, dtype=np.uint64) * 2,
                                       7), minlength=7)
    assert spread.min() > 1200  # uniform keys: about 10,000 / 7 each


def test_parts_of_nothing_and_of_one_paragraph():
    cfg = DedupConfig(num_perm=16)
    for groups in ([], [list(range(30))]):
        rows = _rows(groups, cfg, np.empty((0, 4), dtype=np.uint64) if not groups else None)
        assert _parted(rows, cfg, 3, 2) == _sequential(rows, cfg, 8) == {}
    nodes, roots = component_roots(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
    assert len(nodes) == len(roots) == 0


def _components_by_search(edges: list[tuple[int, int]]) -> dict[int, int]:
    """The reference: each node met in an edge and the smallest node of its component,
    found by a breadth-first search from each node not yet reached, smallest first."""
    near: dict[int, set[int]] = {}
    for a, b in edges:
        near.setdefault(a, set()).add(b)
        near.setdefault(b, set()).add(a)
    root: dict[int, int] = {}
    for start in sorted(near):
        if start in root:
            continue
        root[start], todo = start, [start]
        while todo:
            for nxt in near[todo.pop()]:
                if nxt not in root:
                    root[nxt] = start
                    todo.append(nxt)
    return root


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 59), st.integers(0, 59)), max_size=120), st.integers(1, 5),
       st.booleans())
def test_dense_components_fed_a_set_at_a_time_equal_a_search_of_all_edges(tmp_path_factory, edges, sets, mapped):
    from curate.stages.dedup.components import DenseComponents

    first = np.array([a for a, _ in edges], dtype=np.int64)
    other = np.array([b for _, b in edges], dtype=np.int64)
    folder = tmp_path_factory.mktemp("labels") if mapped else None
    dense = DenseComponents(60, folder)
    for part in range(sets):  # the sets in any order: here, edges dealt round-robin
        dense.add(first[part::sets], other[part::sets])
    nodes, roots = dense.result()
    expected = _components_by_search(edges)
    assert nodes.tolist() == sorted(expected)
    assert roots.tolist() == [expected[node] for node in sorted(expected)]
    by_function = component_roots(first, other)
    assert by_function[0].tolist() == nodes.tolist() and by_function[1].tolist() == roots.tolist()
    if folder is not None:  # each group's file holds its nodes, in order
        paths = dense.write_groups(3, folder)
        groups = component_group(roots, 3)
        for g, path in enumerate(paths):
            assert np.fromfile(path, dtype=np.int64).tolist() == nodes[groups == g].tolist()
        dense.close()


def test_mapped_components_over_several_slices_meet_a_chain_across_them(tmp_path, monkeypatch):
    """Labels in a file, finished a slice at a time: a chain that runs backwards across
    every slice, and pairs inside slices, join as they do in memory."""
    import curate.stages.dedup.components as components

    monkeypatch.setattr(components, "SLICE", 64)
    rng = np.random.default_rng(3)
    first = np.concatenate([np.arange(999, 0, -7), rng.integers(0, 1000, 300)])
    other = np.concatenate([np.arange(992, -7, -7).clip(0), rng.integers(0, 1000, 300)])
    found = []
    for folder in (None, tmp_path):
        dense = components.DenseComponents(1000, folder)
        for start in range(0, len(first), 50):
            dense.add(first[start:start + 50], other[start:start + 50])
        found.append(dense.result())
    expected = _components_by_search(list(zip(first.tolist(), other.tolist(), strict=True)))
    for nodes, roots in found:
        assert nodes.tolist() == sorted(expected)
        assert roots.tolist() == [expected[node] for node in sorted(expected)]
    assert (tmp_path / "labels.bin").stat().st_size == 1000 * 4  # four bytes a label


def test_dense_components_join_a_long_chain_given_backwards_in_pieces():
    from curate.stages.dedup.components import DenseComponents

    chain = np.arange(999, 0, -1, dtype=np.int64)
    dense = DenseComponents(2000)
    links = chain[1:], chain[:-1]  # (998, 999), (997, 998), ...
    for start in range(0, len(links[0]), 100):  # each piece shares one node with the next
        dense.add(links[0][start:start + 100], links[1][start:start + 100])
    dense.add(np.array([1500]), np.array([1999]))
    nodes, roots = dense.result()
    assert nodes.tolist() == [*range(1, 1000), 1500, 1999]
    assert roots.tolist() == [1] * 999 + [1500, 1500]
