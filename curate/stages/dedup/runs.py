"""Band key -> paragraph ids as a few sorted arrays: the in-memory part of the dedup index,
spilled to disk past a memory budget.

A Python dict from key to id cost ~100 bytes per band entry (a boxed int key, a boxed
value, a slot); two parallel numpy arrays cost 12 (uint64 key, uint32 id). Arrays cannot
take inserts cheaply, so additions come as sorted runs, one per batch, and runs are
merged when a younger one grows to half an older one's size (as a log-structured merge
tree does): there are O(log n) runs, each looked up with one vectorised binary search
per batch of queries, and every entry is re-sorted O(log n) times in all.

With a budget, the runs in memory are capped at a quarter of it (a merge in memory briefly
needs about three times what it merges, on top of what is held); past the cap they are
merged, by streaming, into one run on disk (spill.py), which keeps only a Bloom filter and
fences in memory. Runs on disk are merged on disk by the same rule, so there are O(log n)
of them too, each costing a filter check per query and a small read for the ~2% of
queries that pass it without a match.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from curate.stages.dedup.spill import ENTRY_BYTES, ID, KEY, RunWriter, Source, SpilledRun, merge

MERGE_RATIO = 2  # merge a run into the one before it once it is at least 1/MERGE_RATIO its size
MERGE_PEAK = 4  # what the runs in memory may reach, as a share of the budget: 1 / MERGE_PEAK
MIN_CAP = 64 * ENTRY_BYTES  # runs in memory never have to be smaller than this
# Bytes of transient arrays per entry of a streaming merge's round: the chunk read, joined,
# its sort order, the sorted copy, and the filter's bit positions.
MERGE_BYTES_PER_ENTRY = 64
# Runs of at least this many entries get a directory (see _Directory); smaller ones are
# searched by np.searchsorted, whose first steps then stay in the CPU's cache anyway.
DIRECTORY_MIN = 1 << 16
ENTRIES_PER_SLOT = 2  # a slot per ~2 entries: ~1.3 bytes per entry (uint32); 4 was 1.8x slower
SCAN_STEPS = 8  # entries a directory lookup scans in a slot before it falls back to bisection


class SortedRuns:
    """A multimap from uint64 keys to uint32 ids, ids added in increasing order.

    ``budget`` (bytes, None: unlimited) bounds what the runs hold in memory, filters of
    spilled runs included, and what their merges need; spilled runs go into ``folder``
    (a temporary folder when None)."""

    def __init__(self, budget: int | None = None, folder: Path | None = None):
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []  # (keys sorted, ids), oldest first
        self.spilled: list[SpilledRun] = []  # on disk, oldest first, all older than self.runs
        self.budget = budget
        self.folder = folder  # where a folder for the spilled runs is made, when one is needed
        self._folder: Path | None = None
        self._files = 0
        self.spills = 0  # how many times the runs in memory went to disk (for --timings)
        self._directories: dict[int, _Directory] = {}  # by id() of a run's keys

    def __len__(self) -> int:
        return sum(len(keys) for keys, _ in self.runs) + sum(len(run) for run in self.spilled)

    @property
    def nbytes(self) -> int:
        """Memory held: the runs in memory, and the filters and fences of those on disk."""
        return self._memory_runs_bytes + sum(run.nbytes for run in self.spilled)

    @property
    def disk_bytes(self) -> int:
        return sum(run.disk_bytes for run in self.spilled)

    @property
    def _memory_runs_bytes(self) -> int:
        return (sum(keys.nbytes + ids.nbytes for keys, ids in self.runs)
                + sum(directory.nbytes for directory in self._directories.values()))

    @property
    def cap(self) -> int | None:
        """Bytes the runs in memory may hold (None: no limit)."""
        if self.budget is None:
            return None
        filters = sum(run.nbytes for run in self.spilled)
        return max((self.budget - filters) // MERGE_PEAK, MIN_CAP)

    def add(self, keys: np.ndarray, ids: np.ndarray, order: np.ndarray | None = None) -> None:
        """Add entries (key, id); every id must be larger than any added before, so that
        within a key, ids stay in the order they were added. ``order``: the stable argsort
        of ``keys``, when the caller has it already."""
        if not len(keys):
            return
        if order is None:
            order = np.argsort(keys, kind="stable")
        self.runs.append((keys[order].astype(np.uint64, copy=False), ids[order].astype(np.uint32, copy=False)))
        cap = self.cap
        if cap is not None and self._memory_runs_bytes > cap:
            self._spill()
            return
        while len(self.runs) > 1 and MERGE_RATIO * len(self.runs[-1][0]) >= len(self.runs[-2][0]):
            (old_keys, old_ids), (new_keys, new_ids) = self.runs[-2:]
            merged_keys = np.concatenate([old_keys, new_keys])
            # Two sorted runs back to back: a stable sort (timsort for 64-bit ints) finds
            # them and merges in linear time, and keeps the older entries of a key first.
            order = np.argsort(merged_keys, kind="stable")
            self.runs[-2:] = [(merged_keys[order], np.concatenate([old_ids, new_ids])[order])]
        self._drop_stale_directories()

    def add_sorted(self, keys: np.ndarray, ids: np.ndarray) -> None:
        """Add a run already sorted by key and then id, older than anything added after it
        (an earlier run's saved index)."""
        self.runs.append((np.asarray(keys, dtype=np.uint64), np.asarray(ids, dtype=np.uint32)))

    def add_spilled(self, run: SpilledRun) -> None:
        """Add a run on disk, older than anything added after it; only before any other."""
        assert not self.runs, "a run on disk must be older than the runs in memory"
        self.spilled.append(run)

    # -- spilling ---------------------------------------------------------------------------
    def _path(self) -> Path:
        if self._folder is None:
            if self.folder is not None:
                self.folder.mkdir(parents=True, exist_ok=True)
            self._folder = Path(tempfile.mkdtemp(prefix="runs-", dir=self.folder))
        self._files += 1
        return self._folder / f"run-{self._files:06d}"

    def _chunk(self, sources: int) -> int:
        """Entries per source read by a round of a streaming merge, within the cap."""
        cap = self.cap
        room = cap if cap is not None else 1 << 26
        return max(1024, room // (MERGE_BYTES_PER_ENTRY * (sources + 1)))

    def _write(self, sources: list[Source]) -> SpilledRun:
        base = self._path()
        length = sum(len(source) if isinstance(source, SpilledRun) else len(source[0]) for source in sources)
        writer = RunWriter(base.with_suffix(".keys"), base.with_suffix(".ids"), length)
        try:
            merge(sources, self._chunk(len(sources)), writer)
        except BaseException:
            writer.abandon()
            raise
        return writer.finish()

    def _spill(self) -> None:
        """Every run in memory into one run on disk, then runs on disk merged by the same
        rule as in memory."""
        spilled = self._write(list(self.runs))
        self.runs = []
        self._directories = {}  # they hold the runs' keys
        self.spilled.append(spilled)
        self.spills += 1
        while len(self.spilled) > 1 and MERGE_RATIO * len(self.spilled[-1]) >= len(self.spilled[-2]):
            older, newer = self.spilled[-2:]
            older.release_filter()
            newer.release_filter()
            self.spilled[-2:] = [self._write([older, newer])]
            older.close()
            newer.close()

    def close(self) -> None:
        """Delete the runs on disk (the multimap is empty afterwards)."""
        for run in self.spilled:
            run.close()
        self.spilled, self.runs, self._directories = [], [], {}
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    # -- looking up -------------------------------------------------------------------------
    def lookup(self, queries: np.ndarray, order: np.ndarray | None = None,
               per_key: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Every entry whose key is among ``queries``: (index of the query, id), as int64
        arrays; with ``per_key``, only the ``per_key`` smallest ids of each key. Most
        queries of a batch find nothing, so the work is one binary search per query and run
        (on the queries sorted: neighbouring searches then touch the same memory, which
        measured 40% faster), plus the hits. A run on disk is searched in
        the blocks it reads for the queries that pass its filter. ``order``: the stable
        argsort of ``queries``, when the caller has it already."""
        if not (self.runs or self.spilled) or not len(queries):
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        if order is None:
            order = np.argsort(queries, kind="stable")
        ordered = np.asarray(queries[order], dtype=np.uint64)
        found_queries, found_ids = [], []
        searched = [run.read_for(ordered) for run in self.spilled]
        directories = self._current_directories()
        for keys, ids in [*searched, *self.runs]:
            if not len(keys):
                continue
            directory = directories.get(id(keys))
            first = np.searchsorted(keys, ordered, side="left") if directory is None else directory.left(ordered)
            hit = np.flatnonzero(keys[np.minimum(first, len(keys) - 1)] == ordered)
            if not len(hit):
                continue
            first = first[hit]
            counts = _equal_from(keys, first, ordered[hit])
            if per_key is not None:
                # Within a key a run holds ids in ascending order, so the smallest ids of
                # all runs are among each run's first per_key.
                counts = np.minimum(counts, per_key)
            found_queries.append(np.repeat(order[hit], counts))
            # Positions first[h] .. first[h] + counts[h] - 1 of every hit h, flattened.
            starts = np.repeat(first - np.cumsum(counts) + counts, counts)
            found_ids.append(ids[starts + np.arange(int(counts.sum()))].astype(np.int64))
        if not found_queries:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        query, found = np.concatenate(found_queries), np.concatenate(found_ids)
        if per_key is not None and len(found_queries) > 1:
            query, found = _smallest_per_query(query, found, per_key)
        return query, found

    def _drop_stale_directories(self) -> None:
        """Drop the directories of runs merged away: each holds its run's keys."""
        held = {id(keys) for keys, _ in self.runs}
        self._directories = {key: directory for key, directory in self._directories.items() if key in held}

    def _current_directories(self) -> dict[int, _Directory]:
        """The directory of every large run in memory, made for the runs that have none yet."""
        self._drop_stale_directories()
        held = {id(keys): keys for keys, _ in self.runs if len(keys) >= DIRECTORY_MIN}
        for key, keys in held.items():
            if key not in self._directories:
                self._directories[key] = _Directory(keys)
        return self._directories

    # -- saving -----------------------------------------------------------------------------
    def save_npy(self, keys_path: Path, ids_path: Path, check: Callable[[np.ndarray], None] | None = None) -> None:
        """Every entry, sorted by key and then id, as two .npy files (np.load reads them),
        written by streaming: as np.save would write the whole arrays. ``check``: called
        with each block of ids before it is written."""
        sources: list[Source] = [*self.spilled, *self.runs]
        length = len(self)
        with open(keys_path, "wb") as keys_file, open(ids_path, "wb") as ids_file:
            keys_file.write(_npy_header(KEY, length))
            ids_file.write(_npy_header(ID, length))

            def emit(keys: np.ndarray, ids: np.ndarray) -> None:
                if check is not None:
                    check(ids)
                keys_file.write(keys.astype(KEY, copy=False).tobytes())
                ids_file.write(ids.astype(ID, copy=False).tobytes())

            merge(sources, self._chunk(len(sources)), emit)


class _Directory:
    """Where each slot of the key space starts in a sorted run of uniform 64-bit keys (band
    keys are mixed as splitmix64 mixes): a query's first candidate is then one read away,
    and a slot holds ~ENTRIES_PER_SLOT entries to scan. np.searchsorted instead bisects the
    whole run, ~25 steps of which the last dozen each miss the CPU's cache: on 1 GB of text
    (26M band entries) it was a third of `curate dedup`'s time. Keys piled in one slot (a
    skewed key set) cost a bisection after SCAN_STEPS steps, never a long scan."""

    def __init__(self, keys: np.ndarray):
        self.keys = keys  # held, so that the run's id() stays its own while cached
        bits = max(1, int(len(keys) // ENTRIES_PER_SLOT).bit_length() - 1)
        self.shift = np.uint64(64 - bits)
        counts = np.bincount((keys >> self.shift).astype(np.intp), minlength=1 << bits)
        self.starts = np.zeros((1 << bits) + 1, dtype=np.uint32 if len(keys) < 1 << 32 else np.int64)
        np.cumsum(counts, out=self.starts[1:])

    @property
    def nbytes(self) -> int:
        return self.starts.nbytes

    def left(self, queries: np.ndarray) -> np.ndarray:
        """np.searchsorted(keys, queries, side="left"), by the directory."""
        slot = (queries >> self.shift).astype(np.intp)
        pos = self.starts[slot].astype(np.int64)
        end = self.starts[slot + 1].astype(np.int64)
        todo = np.flatnonzero(pos < end)
        for _ in range(SCAN_STEPS):
            if not len(todo):
                return pos
            todo = todo[self.keys[pos[todo]] < queries[todo]]
            pos[todo] += 1
            todo = todo[pos[todo] < end[todo]]
        if len(todo):
            pos[todo] = np.searchsorted(self.keys, queries[todo], side="left")
        return pos


def _smallest_per_query(query: np.ndarray, found: np.ndarray, per_key: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs (query, id) with only the ``per_key`` smallest ids of each query, sorted
    by query then id: the same pairs however the entries are spread over runs."""
    order = np.lexsort((found, query))
    query, found = query[order], found[order]
    starts = np.flatnonzero(np.concatenate([[True], query[1:] != query[:-1]]))
    rank = np.arange(len(query)) - np.repeat(starts, np.diff(np.concatenate([starts, [len(query)]])))
    keep = rank < per_key
    return query[keep], found[keep]


def _equal_from(keys: np.ndarray, first: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """How many entries from ``first`` on equal each query (each keys[first] does):
    np.searchsorted(keys, queries, "right") - first, scanning the usual one or two before
    bisecting."""
    end = first + 1
    todo = np.flatnonzero(end < len(keys))
    for _ in range(SCAN_STEPS):
        if not len(todo):
            return end - first
        todo = todo[keys[end[todo]] == queries[todo]]
        end[todo] += 1
        todo = todo[end[todo] < len(keys)]
    if len(todo):
        end[todo] = np.searchsorted(keys, queries[todo], side="right")
    return end - first


def _npy_header(dtype: np.dtype, length: int) -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": np.lib.format.dtype_to_descr(dtype),
                                                  "fortran_order": False, "shape": (length,)})
    return header.getvalue()
