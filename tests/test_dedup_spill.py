"""The dedup index under a memory budget (--memory): band keys spilled to disk are found
exactly as in memory, and the output is byte-identical for any budget, resumed or not."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from conftest import ROOT, in_process, killed_at_open, needs_strace, output_files, run_process
from hypothesis import given
from hypothesis import strategies as st

from curate.stages.dedup import runs as runs_module
from curate.stages.dedup import spill
from curate.stages.dedup.bloom import BloomFilter
from curate.stages.dedup.budget import index_budget
from curate.stages.dedup.index import kept_order
from curate.stages.dedup.runs import SortedRuns
from curate.stages.dedup.sign import key_order

sys.path.insert(0, str(ROOT / "bench"))
from generate import generate

MIX = np.uint64(0x9E3779B97F4A7C15)  # spreads small numbers over 64 bits, as band keys are


def _keys(numbers: list[int]) -> np.ndarray:
    return np.array(numbers, dtype=np.uint64) * MIX


# -- the runs, in process -------------------------------------------------------------------
batches = st.lists(st.lists(st.integers(0, 40), min_size=1, max_size=30), min_size=1, max_size=25)


@pytest.mark.unit
@given(rows=st.lists(st.lists(st.integers(0, 6), min_size=3, max_size=3), min_size=1, max_size=40),
       kept=st.lists(st.booleans(), min_size=40, max_size=40))
def test_the_kept_rows_key_order_taken_from_the_batchs_equals_sorting_them_again(rows, kept):
    """The barrier takes the kept rows' order from the worker's order of the whole batch
    (index.kept_order) instead of sorting again; few distinct keys, so ties are many and
    stability is what is tested."""
    keys = _keys([k for row in rows for k in row]).reshape(len(rows), 3)
    mask = np.array(kept[:len(rows)], dtype=bool)
    order = key_order(keys)
    assert order.tolist() == np.argsort(keys.ravel(), kind="stable").tolist()
    expected = np.argsort(keys[mask].ravel(), kind="stable")
    assert kept_order(order, mask, 3).tolist() == expected.tolist()


@pytest.mark.unit
@given(batches=batches, queries=st.lists(st.integers(0, 50), max_size=40), budget=st.sampled_from([None, 0, 300, 3000]),
       fence=st.sampled_from([2, 3, 512]), directory_min=st.sampled_from([0, 1 << 16]))
def test_lookups_equal_a_dict_of_lists_with_and_without_spilling(tmp_path_factory, batches, queries, budget, fence,
                                                                 directory_min):
    """Few distinct keys, so a key has many ids, across blocks (small fences) and runs; a
    budget of 0 spills at every add and merges on disk most times. Runs in memory are
    looked up by their directories (every run has one at DIRECTORY_MIN 0) or bisected."""
    with mock.patch.object(spill, "FENCE", fence), mock.patch.object(runs_module, "MIN_CAP", 0), \
            mock.patch.object(runs_module, "DIRECTORY_MIN", directory_min):
        runs = SortedRuns(budget, tmp_path_factory.mktemp("runs"))
        reference: dict[int, list[int]] = {}
        next_id = 0
        try:
            for numbers in batches:
                keys = _keys(numbers)
                ids = np.arange(next_id, next_id + len(numbers), dtype=np.uint32) // 2  # two keys an id, at times
                next_id += len(numbers)
                runs.add(keys, ids)
                for key, pid in zip(keys.tolist(), ids.tolist(), strict=True):
                    reference.setdefault(key, []).append(pid)
                asked = _keys(queries + numbers[:3])
                found_queries, found_ids = runs.lookup(asked)
                expected = sorted((q, pid) for q, key in enumerate(asked.tolist()) for pid in reference.get(key, ()))
                assert sorted(zip(found_queries.tolist(), found_ids.tolist(), strict=True)) == expected
                # Bounded: a key's two smallest ids, however its entries are spread over runs.
                found_queries, found_ids = runs.lookup(asked, per_key=2)
                expected = sorted((q, pid) for q, key in enumerate(asked.tolist())
                                  for pid in sorted(reference.get(key, ()))[:2])
                assert sorted(zip(found_queries.tolist(), found_ids.tolist(), strict=True)) == expected
            if budget == 0:
                assert runs.spills == len(batches) and not runs.runs
            # Saved as np.save would save every entry sorted by key, then id.
            folder = tmp_path_factory.mktemp("saved")
            runs.save_npy(folder / "keys.npy", folder / "ids.npy")
            pairs = sorted((key, pid) for key, pids in reference.items() for pid in pids)
            assert np.load(folder / "keys.npy").tolist() == [key for key, _ in pairs]
            assert np.load(folder / "ids.npy").tolist() == [pid for _, pid in pairs]
            # A saved index's files looked up where they are, as a run on disk.
            saved = spill.SpilledRun.of_npy(folder / "keys.npy", folder / "ids.npy", chunk=5)
            keys_read, ids_read = saved.read_for(np.sort(_keys(queries)))
            wanted = set(_keys(queries).tolist())
            assert sorted((k, i) for k, i in zip(keys_read.tolist(), ids_read.tolist(), strict=True) if k in wanted) \
                == [(key, pid) for key, pid in pairs if key in wanted]
            saved.close()
            assert (folder / "keys.npy").exists()  # not this run's to delete
        finally:
            runs.close()


@pytest.mark.unit
@given(keys=st.lists(st.integers(0, (1 << 64) - 1), min_size=1, max_size=300),
       piles=st.lists(st.tuples(st.integers(0, 299), st.integers(1, 40)), max_size=3),
       queries=st.lists(st.integers(0, (1 << 64) - 1), max_size=50), top=st.sampled_from([64, 8, 1]),
       seed=st.integers(0, 2**32 - 1))
def test_a_directory_finds_what_bisection_finds(keys, piles, queries, top, seed):
    """The directory's scan against np.searchsorted, its reference: keys piled on one value
    past SCAN_STEPS, and key sets squeezed into the lowest slots (``top`` bits of spread),
    where a slot holds far more than ENTRIES_PER_SLOT and the scan gives up for bisection."""
    values = np.array(keys, dtype=np.uint64) >> np.uint64(64 - top)
    piled = [values[at % len(values)] for at, count in piles for _ in range(count)]
    run = np.sort(np.concatenate([values, np.array(piled, dtype=np.uint64)]))
    rng = np.random.default_rng(seed)
    asked = np.sort(np.concatenate([np.array(queries, dtype=np.uint64) >> np.uint64(64 - top),
                                    rng.choice(run, 20), run[:1], run[-1:]]))
    first = runs_module._Directory(run).left(asked)
    assert first.tolist() == np.searchsorted(run, asked, side="left").tolist()
    hit = np.flatnonzero(run[np.minimum(first, len(run) - 1)] == asked)
    assert runs_module._equal_from(run, first[hit].copy(), asked[hit]).tolist() == \
        (np.searchsorted(run, asked[hit], side="right") - first[hit]).tolist()


@pytest.mark.unit
@given(sources=st.lists(st.lists(st.integers(0, 6), max_size=12), min_size=1, max_size=5),
       chunk=st.integers(1, 4))
def test_a_streaming_merge_orders_by_key_then_id_in_chunks_of_any_size(sources, chunk):
    """Chunks of one or two entries end on a shared key as often as not: the merge must
    still give every key's ids in order, older sources first."""
    runs: list[spill.Source] = []
    next_id = 0
    for numbers in sources:
        keys = np.sort(np.array(numbers, dtype=np.uint64))
        runs.append((keys, np.arange(next_id, next_id + len(keys), dtype=np.uint32)))
        next_id += len(keys)
    out_keys: list[int] = []
    out_ids: list[int] = []
    spill.merge(runs, chunk, lambda k, i: (out_keys.extend(k.tolist()), out_ids.extend(i.tolist())))
    everything = sorted((int(k), int(i)) for keys, ids in runs for k, i in zip(keys, ids, strict=True))
    assert list(zip(out_keys, out_ids, strict=True)) == everything


@pytest.mark.unit
def test_the_bloom_filter_holds_every_key_and_lets_about_two_percent_of_others_through():
    rng = np.random.default_rng(15)
    keys = rng.integers(0, 1 << 63, size=50_000, dtype=np.uint64) * np.uint64(2)
    bloom = BloomFilter(len(keys))
    bloom.add(keys)
    assert bloom.might_hold(keys).all()
    others = keys + np.uint64(1)  # odd: none of them was added, and each is next to one that was
    assert 0 < bloom.might_hold(others).mean() < 0.025
    assert bloom.nbytes <= 1.3 * len(keys)  # 10 bits a key


@pytest.mark.unit
def test_the_index_gets_all_but_a_reserve_of_the_budget_and_at_least_half():
    assert index_budget(8 << 30) == (8 << 30) - (320 << 20)
    assert index_budget(100 << 20) == 50 << 20
    assert index_budget(1) == 1


def test_a_budget_a_process_cannot_keep_to_is_said_and_one_it_can_is_not(tmp_path):
    seeds = ROOT / "seeds"
    small = run_process("dedup", seeds, "-o", tmp_path / "small", "--memory", "64MiB")
    assert small.returncode == 0, small.stderr
    assert ("warning: --memory 64 MiB is under 640 MiB: a curate process holds up to ~320 MiB besides its dedup "
            "index") in small.stderr
    assert "the index keeps to 32 MiB and spills the rest to disk" in small.stderr
    enough = run_process("dedup", seeds, "-o", tmp_path / "enough", "--memory", "1GiB")
    assert enough.returncode == 0 and "warning: --memory" not in enough.stderr, enough.stderr


# -- the CLI: the same bytes for any budget -------------------------------------------------
@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    generate(1.0, folder)  # about 350 documents, with near-duplicates across them
    return folder / "corpus.jsonl"


def _dedup(corpus: Path, out: Path, *extra: str) -> dict[str, bytes]:
    done = in_process("dedup", corpus, "-o", out, "-q", "--chunk-docs", "50", "--save-index", *extra)
    assert done.returncode == 0, done.stderr
    return output_files(out)


@pytest.mark.slow
def test_a_tiny_budget_spills_at_every_batch_and_writes_the_same_bytes(corpus, tmp_path):
    default = _dedup(corpus, tmp_path / "default")
    timings = tmp_path / "timings.json"
    tiny = _dedup(corpus, tmp_path / "tiny", "--memory", "4K", "--timings", timings)
    assert tiny == default  # corpus shards, removed.jsonl, summary.json and the saved index/
    assert any(name.startswith("index/") for name in default)
    index = json.loads(timings.read_text())["index"]
    assert index["index_spills"] >= 4 and index["index_disk_bytes"] > 0, index  # 1 MB: 4 batches
    # In memory: the filters, fences and record offsets, less than the keys it spilled.
    assert index["index_bytes"] < index["index_disk_bytes"], index


@pytest.mark.slow
def test_a_run_against_a_saved_index_larger_than_the_budget_gives_the_same_bytes(corpus, tmp_path):
    """The saved index is looked up in its own files (a run on disk), not read in."""
    records = corpus.read_text(encoding="utf-8").splitlines(keepends=True)
    half = len(records) // 2
    (tmp_path / "a.jsonl").write_text("".join(records[:half]), encoding="utf-8")
    (tmp_path / "b.jsonl").write_text("".join(records[half:]), encoding="utf-8")
    _dedup(tmp_path / "a.jsonl", tmp_path / "A")
    default = _dedup(tmp_path / "b.jsonl", tmp_path / "B", "--against", tmp_path / "A")
    tiny = _dedup(tmp_path / "b.jsonl", tmp_path / "B-tiny", "--against", tmp_path / "A", "--memory", "4K")
    assert tiny == default
    assert b'"duplicate_of"' in default["removed.jsonl"]


@pytest.mark.slow
@needs_strace
def test_sigkill_with_a_tiny_budget_then_resume_with_another_gives_the_same_bytes(tmp_path):
    """The spilled runs of the killed run are left behind in .partial/index/; the resumed
    run rebuilds its index from the chunks' journals, spilling at its own budget (--memory
    is not part of the run's fingerprint)."""
    generate(2.0, tmp_path / "gen")  # about 700 documents: `curate run` takes seconds
    corpus = tmp_path / "gen" / "corpus.jsonl"
    reference = tmp_path / "reference"
    done = in_process("run", corpus, "-o", reference, "-q", "--chunk-docs", "40")
    assert done.returncode == 0, done.stderr

    out = tmp_path / "out"
    exe = Path(sys.executable).parent / "curate"
    # SIGKILL, the index's files staying where they were, by strace as the run marks its
    # seventh chunk (of about 18) finished: waiting for six markers to appear and then
    # killing it raced the run, which could end first.
    killed_at_open(out / ".partial" / "000006.done", exe, "run", corpus, "-o", out, "-q", "--chunk-docs", "40",
                   "--memory", "4K", cwd=ROOT)
    assert not (out / "summary.json").exists()
    assert len(list((out / ".partial").glob("*.done"))) == 6
    assert list((out / ".partial" / "index").glob("dedup-index-*/runs/*/run-*"))
    resumed = in_process("run", corpus, "-o", out, "-q", "--chunk-docs", "40", "--memory", "64K", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert output_files(out) == output_files(reference)


@pytest.mark.unit
@given(batches=st.lists(st.lists(st.binary(max_size=6), max_size=6), min_size=1, max_size=8),
       spill_after=st.sets(st.integers(0, 7)))
def test_records_read_back_the_same_with_their_ends_moved_to_disk_at_any_point(tmp_path_factory, batches,
                                                                               spill_after):
    from curate.stages.dedup.store import RecordFile

    folder = tmp_path_factory.mktemp("records")
    store = RecordFile(folder / "records")
    records: list[bytes] = []
    for n, batch in enumerate(batches):
        store.append(b"".join(batch), np.array([len(r) for r in batch], dtype=np.int64))
        records.extend(batch)
        if n in spill_after:
            store.spill_ends()
        assert [store.read(k) for k in range(len(store))] == records
        # All at once, as verification reads them: the same spans and bytes.
        ks = np.arange(len(store), dtype=np.int64)[::-1]
        starts, ends = store.spans(ks)
        assert list(zip(starts.tolist(), ends.tolist(), strict=True)) == [store.span(k) for k in ks.tolist()]
        assert store.read_spans(starts, ends) == b"".join(records[::-1])
    assert store.ends.tolist() == np.cumsum([len(r) for r in records], dtype=np.int64).tolist()
    # As a saved index's files: the ends read from a .npy file, not into memory.
    np.save(folder / "ends.npy", store.ends)
    saved = RecordFile.existing(folder / "records", np.load(folder / "ends.npy", mmap_mode="r"), in_memory=False)
    assert [saved.read(k) for k in range(len(saved))] == records and saved.nbytes == 0
    store.close()
    saved.close()


@pytest.mark.unit
def test_the_budget_is_not_part_of_the_fingerprint():
    """--memory cannot change a byte, so a run may be resumed with another budget."""
    from curate.stages.dedup.barrier import Dedup
    from curate.stages.dedup.signature import DedupConfig

    assert Dedup(DedupConfig(), memory=4096).fingerprint() == Dedup(DedupConfig()).fingerprint()
