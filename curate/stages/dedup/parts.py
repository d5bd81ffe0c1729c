"""`--dedup-parts`: the dedup verdicts computed in parts that run side by side
(components.py), between two passes over the input, instead of one index deciding every
paragraph in input order.

1. The first pass runs every stage and keeps nothing but the signed rows, which the
   barrier appends here in input order (`RowStore`): a row's number in that order is its
   uid.
2. `settle` finds the verdicts: the key partitions' edges and the groups' replays run in
   a pool of processes (on Ray, tasks on the nodes that see these files) that read the
   rows from these files; the components are found in this process. With --against, the
   earlier run's saved index takes part as the rows before this run's. The removed rows'
   uids, similarities and references go to files sorted by uid.
3. The second pass runs every stage again, and the barrier answers each batch from those
   files (`Verdicts`), in the same input order.

No process holds an array with an entry per paragraph: the rows, the components' labels,
each replay group's paragraphs and the verdicts are files, mapped (mapped.py) or read a
block at a time. A process holds one key partition's rows, or one group's paragraphs and
its index, each cut to a share of --memory, or one block of the verdicts' merge.

A stopped run resumes where it stopped: the first pass keeps what it gathered every
--chunk-docs documents (`Dedup.keep_gathered`), each part its result (part_results.py),
and the verdicts are marked whole once written (barrier.py's SETTLED).

The output is byte-identical to the one-index run's (tests/test_dedup_parts.py): the
parts give the index's own verdicts, and the same reasons are built from them. The cost
is a second pass over the input; what it buys is a dedup whose work spreads over
processes, where the single index is one process that limits a run past a few cores
(docs/scaling.md, section 4).
"""

from __future__ import annotations

import contextlib
import json
import marshal
import multiprocessing
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np

from curate.distinct import distinct
from curate.document import ParagraphRef, Reason
from curate.engines.pool import die_with_parent
from curate.interrupts import STOPS
from curate.outdir import close_unwritten, fsync_path, write_synced
from curate.stages.dedup.apply import duplicate_reason
from curate.stages.dedup.buckets import take_sets
from curate.stages.dedup.components import (
    REPLAY_ROWS,
    DenseComponents,
    key_partition,
    replay,
    star_edges,
)
from curate.stages.dedup.index import DedupIndex, paragraph_ref
from curate.stages.dedup.mapped import MappedFile
from curate.stages.dedup.part_results import PartResults
from curate.stages.dedup.saved import DamagedIndex, check_ids
from curate.stages.dedup.sign import SignedRows, key_order
from curate.stages.dedup.signature import DedupConfig
from curate.stages.dedup.store import RecordFile

# The rows' band keys, shingle sets and references; where each row's set and reference
# ends (int64, from a first 0), so that a reader maps them and holds nothing per row.
_FILES = ("keys.u64", "sets.u32", "set-ends.i64", "refs.bin", "ref-ends.i64")
READ_ROWS = 1 << 18  # rows of a saved index's band keys read at a time
MIN_SHARE = 1 << 20  # the least memory a part is given, whatever the budget
PARTITION_BYTES = 96  # a key partition's memory per (band key, paragraph) row, at its peak
GROUP_BYTES = 176  # a replay group's per paragraph, at most (each removed), besides its index
STOP_WAIT = 5.0  # seconds a stopped run waits for a part's process, or the pool's thread, to end


class ReadFailed(OSError):
    """An OSError reading back a file of the parts (the rows, the pairs, a group's
    paragraphs, the verdicts, an earlier run's index): the run's stop says it could not
    read the file, where most of the parts' errors are a full disk's, writing."""


@contextlib.contextmanager
def reading() -> Iterator[None]:
    """An OSError of the block raised as ReadFailed (in a part's process too: it is sent
    back pickled, errno, message and file kept)."""
    try:
        yield
    except (ReadFailed, DamagedIndex):  # a saved index's damage is said as such (barrier.py)
        raise
    except OSError as err:
        raise (ReadFailed(err.errno, err.strerror, err.filename) if err.filename is not None
               else ReadFailed(*err.args)) from err


class RowStore:
    """The signed rows of a run, appended in input order to flat files in ``folder``;
    with ``kept`` (a `position()` taken before a stop, the files synced since), the files
    of the stopped run, cut back to that point and appended to from there."""

    def __init__(self, folder: Path, kept: dict | None = None):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.rows = 0 if kept is None else int(kept["rows"])
        self.bands = 0 if kept is None else int(kept["bands"])
        # "r+b" when continuing: the files are cut back (rows appended after the sync are
        # gathered again), not emptied.
        mode = "wb" if kept is None else "r+b"
        self._files: dict[str, IO[bytes]] = {name: open(folder / name, mode) for name in _FILES}  # noqa: SIM115
        if kept is not None:
            for name, f in self._files.items():
                f.truncate(int(kept["sizes"][name]))
                f.seek(0, 2)
        else:
            for name in ("set-ends.i64", "ref-ends.i64"):
                self._files[name].write(np.zeros(1, dtype=np.int64).tobytes())
        # Where the next row's set and reference start (what the files hold).
        self._set_end = self._files["sets.u32"].tell() // 4
        self._ref_end = self._files["refs.bin"].tell()

    def position(self) -> dict:
        """Where the rows end now: what a RowStore continuing from here takes."""
        return {"rows": self.rows, "bands": self.bands, "sizes": {name: f.tell() for name, f in self._files.items()}}

    def sync(self) -> None:
        """Everything appended so far on disk."""
        for f in self._files.values():
            f.flush()
            os.fsync(f.fileno())

    def append(self, rows: SignedRows) -> None:
        if not len(rows):
            return
        keys = np.ascontiguousarray(rows.keys, dtype=np.uint64)
        self.bands = keys.shape[1]
        packed = [marshal.dumps(tuple(ref)) for ref in rows.refs]
        self._files["keys.u64"].write(keys.tobytes())
        shingles = np.asarray(rows.shingles, dtype=np.uint32)
        self._files["sets.u32"].write(shingles.tobytes())
        offsets = np.asarray(rows.offsets, dtype=np.int64)
        self._files["set-ends.i64"].write((self._set_end + offsets[1:] - offsets[0]).tobytes())
        self._set_end += int(offsets[-1] - offsets[0])
        self._files["refs.bin"].write(b"".join(packed))
        ref_ends = self._ref_end + np.cumsum(np.fromiter(map(len, packed), dtype=np.int64, count=len(packed)))
        self._files["ref-ends.i64"].write(ref_ends.tobytes())
        self._ref_end = int(ref_ends[-1])
        self.rows += len(rows)

    def close(self, discard: bool = False) -> None:
        """Close the files; with ``discard`` (a stopped run), without writing what is still
        buffered: a resumed run cuts the files back to their last sync anyway."""
        for f in self._files.values():
            if discard:
                close_unwritten(f)
            else:
                f.close()


def stored_rows(folder: Path) -> int:
    """How many rows a `RowStore`'s folder holds."""
    with reading():
        return (folder / "set-ends.i64").stat().st_size // 8 - 1


class StoredRows:
    """The rows of a `RowStore`'s folder, read back: ``rows_of(uids)`` for `replay`. The
    files are mapped, and the pages a read touched are let go after it: mapped pages count
    in a process's resident memory, and a replay touches pages all over the files."""

    def __init__(self, folder: Path, bands: int):
        self.count = stored_rows(folder)
        names = ("keys.u64", "sets.u32", "refs.bin", "set-ends.i64", "ref-ends.i64")
        with reading():
            self._maps = [MappedFile(folder / name) for name in names]
        keys, sets, refs, set_ends, ref_ends = self._maps
        self.keys = keys.array(np.uint64).reshape(self.count, bands)
        self.shingles = sets.array(np.uint32)
        self.refs = refs.array(np.uint8)
        self.offsets = set_ends.array(np.int64)
        self.ref_ends = ref_ends.array(np.int64)

    def ref(self, uid: int) -> tuple:
        return marshal.loads(self.refs[self.ref_ends[uid]:self.ref_ends[uid + 1]].tobytes())

    def key_rows(self, start: int, count: int) -> np.ndarray:
        """A copy of rows ``start`` .. ``start + count - 1`` of the band keys."""
        part = np.array(self.keys[start:start + count])
        self.forget()
        return part

    def __call__(self, uids: np.ndarray) -> SignedRows:
        flat, offsets = take_sets(self.shingles, self.offsets, uids)
        keys = np.array(self.keys[uids], dtype=np.uint64)
        refs = [self.ref(uid) for uid in uids.tolist()]
        self.forget()
        return SignedRows([(k, 0) for k in range(len(uids))], keys, flat, offsets, refs, key_order(keys))

    def forget(self) -> None:
        for mapped in self._maps:
            mapped.forget()


def _saved_pairs(folder: Path, bands: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """A saved index's (band key, paragraph) pairs, a slice at a time (its keys.npy and
    ids.npy, sorted by key)."""
    keys = np.load(folder / "keys.npy", mmap_mode="r")
    ids = np.load(folder / "ids.npy", mmap_mode="r")
    step = READ_ROWS * max(bands, 1)
    for start in range(0, len(keys), step):
        yield np.asarray(keys[start:start + step]), np.asarray(ids[start:start + step]).astype(np.int64)


class SavedRows:
    """An earlier run's saved index (--against) read as rows: its paragraphs are uids 0 ..
    count - 1, before this run's. ``uids``: the ones a replay needs; their band keys are
    picked from the index's key file a slice at a time, their sets and references read
    where asked, as the one index reads them (`RecordFile`)."""

    def __init__(self, folder: Path, bands: int, uids: np.ndarray):
        picked_keys, picked_ids = [], []
        for keys, ids in _saved_pairs(folder, bands):
            mine = np.isin(ids, uids)
            picked_keys.append(keys[mine])
            picked_ids.append(ids[mine])
        found = np.concatenate(picked_ids) if picked_ids else np.empty(0, dtype=np.int64)
        flat = np.concatenate(picked_keys)[np.argsort(found, kind="stable")] if picked_keys else found
        self.uids = distinct(found)
        self.keys = flat.astype(np.uint64).reshape(len(self.uids), bands)  # each paragraph has one key a band
        ends = [np.load(folder / name, mmap_mode="r") for name in ("shingle_ends.npy", "ref_ends.npy")]
        self.sets = RecordFile.existing(folder / "shingles.u32", ends[0], in_memory=False)
        self.refs = RecordFile.existing(folder / "refs.jsonl", ends[1], in_memory=False)

    def __call__(self, uids: np.ndarray) -> SignedRows:
        sets = [np.frombuffer(self.sets.read(u), dtype=np.uint32) for u in uids.tolist()]
        offsets = np.zeros(len(uids) + 1, dtype=np.int64)
        np.cumsum([len(one) for one in sets], out=offsets[1:])
        flat = np.concatenate(sets) if sets else np.empty(0, dtype=np.uint32)
        refs = [self._ref(u) for u in uids.tolist()]
        keys = self.keys[np.searchsorted(self.uids, uids)]
        return SignedRows([(k, 0) for k in range(len(uids))], keys, flat, offsets, refs, key_order(keys))

    def _ref(self, uid: int) -> tuple:
        try:
            ref = json.loads(self.refs.read(uid))
            paragraph_ref(ref, against=True)  # five fields, as DedupIndex.ref reads them
            return tuple(ref)
        except (ValueError, TypeError) as err:  # changed in place, as DedupIndex.ref says
            raise DamagedIndex(f"refs.jsonl: reference {uid} is not [doc, source, line, start, end] ({err})") from err

    def close(self) -> None:
        self.sets.close()
        self.refs.close()


# An earlier run's saved index the parts run against: its folder and how many paragraphs it has.
Earlier = tuple[Path, int] | None


# A scatter task's memory per (band key, paragraph) pair, at its peak: the keys (8 bytes),
# their partitions (2, and 8 while they are found), the order that sorts them (8), then
# the keys and paragraph offsets in that order (8 and 4) written out.
SCATTER_BYTES = 40
PAIRS = "pairs-{}"  # a scatter task's folder, in the settle's (part_results.py) folder


def _scatter(task: tuple[Path, int, int, int, int, Earlier, Path]) -> tuple[np.ndarray]:
    """One pass over a range of rows that sends each (band key, paragraph) pair to its key
    partition, so that each partition's task reads only its own pairs: rows ``start`` ..
    ``stop - 1`` of this run, or with ``earlier`` (its folder and paragraph count) the
    pairs ``start`` .. ``stop - 1`` of that saved index. Writes to ``out`` the keys sorted
    by partition (keys.u64), each one's paragraph as an offset from the range's first
    (offsets.u32: this run's row ``start`` is offset 0, a saved paragraph is its own id),
    and where each partition's pairs end (ends.i64, from a first 0); all synced before it
    returns, as its result (the pairs it wrote) marks it done (part_results.py)."""
    folder, bands, parts, start, stop, earlier, out = task
    with reading():
        if earlier is None:
            keys = StoredRows(folder, bands).key_rows(start, stop - start).ravel()
            ids = None
        else:
            keys = np.array(np.load(earlier[0] / "keys.npy", mmap_mode="r")[start:stop])
            ids = np.asarray(np.load(earlier[0] / "ids.npy", mmap_mode="r")[start:stop], dtype=np.uint32)
            check_ids(ids, earlier[1])  # else taken for a paragraph of this run, or for none
    partition = key_partition(keys, parts)
    order = np.argsort(partition, kind="stable")
    ends = np.zeros(parts + 1, dtype=np.int64)
    np.cumsum(np.bincount(partition, minlength=parts), out=ends[1:])
    del partition
    shutil.rmtree(out, ignore_errors=True)  # a stopped run's
    out.mkdir(parents=True)
    files = {"keys.u64": keys[order], "ends.i64": ends}
    del keys
    if ids is None:
        order //= max(bands, 1)  # a pair's row, from the range's first
        files["offsets.u32"] = order.astype(np.uint32)
    else:
        files["offsets.u32"] = ids[order]
    del order
    for name, array in files.items():
        write_synced(out / name, array.data.cast("B"))
    fsync_path(out)
    return (np.array([len(files["keys.u64"])], dtype=np.int64),)


def _scatter_tasks(folder: Path, bands: int, parts: int, rows: int, scatter_rows: int, earlier: Earlier,
                   into: Path) -> tuple[list[tuple], list[int]]:
    """The scatter tasks, each ``scatter_rows`` rows (of an earlier index, as many pairs
    as that many rows have), and the uid each one's offsets count from."""
    tasks: list[tuple] = []
    bases: list[int] = []
    first_uid = earlier[1] if earlier is not None else 0
    for start in range(0, rows, scatter_rows):
        tasks.append((folder, bands, parts, start, min(start + scatter_rows, rows), None,
                      into / PAIRS.format(len(tasks))))
        bases.append(first_uid + start)
    if earlier is not None:
        pairs, step = len(np.load(earlier[0] / "keys.npy", mmap_mode="r")), scatter_rows * bands
        for start in range(0, pairs, step):
            tasks.append((folder, bands, parts, start, min(start + step, pairs), earlier,
                          into / PAIRS.format(len(tasks))))
            bases.append(0)
    return tasks, bases


def _edges(task: tuple[Path, tuple[int, ...], int]) -> tuple[np.ndarray, np.ndarray]:
    """A key partition's edges, from its pairs in each scatter task's files (a pool task:
    it reads and holds only the partition's pairs). ``bases``: each scatter's first uid."""
    into, bases, part = task
    keys, uids = [], []
    for k, base in enumerate(bases):
        pairs = into / PAIRS.format(k)
        with reading():
            lo, hi = np.fromfile(pairs / "ends.i64", dtype=np.int64, count=2, offset=8 * part).tolist()
            if hi > lo:
                keys.append(np.fromfile(pairs / "keys.u64", dtype=np.uint64, count=hi - lo, offset=8 * lo))
                uids.append(np.fromfile(pairs / "offsets.u32", dtype=np.uint32, count=hi - lo, offset=4 * lo)
                            .astype(np.int64) + base)
    if not keys:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    all_keys, all_uids = np.concatenate(keys), np.concatenate(uids)
    del keys, uids  # not held beside their copies while the edges are found
    return star_edges(all_keys, all_uids)


def _replay(task: tuple[Path, int, DedupConfig, Path, Path, int | None, Earlier]
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A group's removed uids (this run's own numbers, in order), similarities and
    references (marshalled, as one array of bytes, with their sizes): arrays only, as a
    part's result is kept on disk (part_results.py). The group's paragraphs are read from
    the file `DenseComponents.write_groups` wrote."""
    folder, bands, cfg, nodes, scratch, budget, earlier = task
    first_uid = earlier[1] if earlier is not None else 0
    with reading():
        uids = np.fromfile(nodes, dtype=np.int64)
        stored = StoredRows(folder, bands)
        saved = SavedRows(earlier[0], bands, uids[uids < first_uid]) if earlier is not None else None

    def rows_of(asked: np.ndarray) -> SignedRows:  # a replay asks for one side at a time
        if saved is not None and len(asked) and asked[0] < first_uid:
            with reading():
                return saved(asked)
        return stored(asked - first_uid)

    found = _Found()
    try:
        for uid, reason in replay(cfg, uids, rows_of, scratch, budget, first_uid):
            assert reason.duplicate_of is not None and reason.similarity is not None
            ref = reason.duplicate_of
            found.add(uid - first_uid, reason.similarity,
                      marshal.dumps((ref.doc, ref.source, ref.line, ref.byte_start, ref.byte_end, ref.against)))
    finally:
        if saved is not None:
            saved.close()  # a pool's process, or a Ray worker, runs part after part
    return found.arrays()


class _Found:
    """A replay's verdicts as they come, packed into arrays every REPLAY_ROWS of them:
    about 75 bytes a verdict, where Python's ints, floats and bytes took some 140."""

    def __init__(self) -> None:
        self.uids: list[int] = []
        self.similarity: list[float] = []
        self.refs: list[bytes] = []
        self.packed: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, uid: int, similarity: float, ref: bytes) -> None:
        self.uids.append(uid)
        self.similarity.append(similarity)
        self.refs.append(ref)
        if len(self.uids) == REPLAY_ROWS:
            self._pack()

    def _pack(self) -> None:
        self.packed.append((np.array(self.uids, dtype=np.int64), np.array(self.similarity, dtype=np.float64),
                            np.frombuffer(b"".join(self.refs), dtype=np.uint8),
                            np.fromiter(map(len, self.refs), dtype=np.int64, count=len(self.refs))))
        self.uids, self.similarity, self.refs = [], [], []

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(uids, similarities, the references' bytes, their sizes)."""
        self._pack()
        packed, self.packed = self.packed, []
        return (np.concatenate([p[0] for p in packed]), np.concatenate([p[1] for p in packed]),
                np.concatenate([p[2] for p in packed]), np.concatenate([p[3] for p in packed]))


def settle(folder: Path, bands: int, cfg: DedupConfig, processes: int, memory: int | None = None,
           pool: PartsPool | None = None, earlier: Earlier = None) -> dict[str, float]:
    """Every removed row's verdict, from the rows in ``folder``, written beside them
    (`write_verdicts`). ``memory``: bytes each process may use (None: no limit); the key
    partitions and the replay groups are cut small enough that one fits a process's
    share, and each replay's index spills past it. ``pool``: where the parts run, with as
    many at once as its ``slots`` (else a pool of ``processes`` processes on this
    machine). Where they run changes no verdict. ``earlier``: the saved index of an
    earlier run (--against), whose paragraphs come first, all kept, as the one index
    takes them.

    Nothing here holds an array per paragraph in memory: the components' labels are a
    mapped file (`DenseComponents`), each group's paragraphs go to a file of their own,
    and the groups' verdicts come back mapped from theirs and are merged a block at a
    time.

    The rows are first scattered into their key partitions in one pass (`_scatter`),
    so that each partition's task reads only its own pairs: picking them from the whole
    key file instead cost every partition a read of all the keys, a cost that grew as
    the square of the rows over the share.

    Returns the seconds of each step (--timings shows them)."""
    steps: dict[str, float] = {}
    began = time.perf_counter()

    def step(name: str) -> None:
        nonlocal began
        now = time.perf_counter()
        steps[name] = steps.get(name, 0.0) + now - began
        began = now

    processes = max(1, pool.slots if pool is not None else processes)
    own_rows = stored_rows(folder)
    rows = own_rows + (earlier[1] if earlier is not None else 0)
    share = None if memory is None else max(memory // 4, MIN_SHARE)
    # Measured peaks: a partition's pairs (key, uid) take 16 bytes each, and finding its
    # edges some 70 more (star_edges); a group's paragraphs 8 bytes each, made unique
    # with as much again, and each removed one's verdict about 75 (_Found) then as much
    # again to hand it back.
    parts = processes if share is None else max(processes, -(-rows * bands * PARTITION_BYTES // share))
    groups = processes if share is None else max(processes, -(-rows * GROUP_BYTES // share))
    scatter_rows = max(1, -(-rows // processes) if share is None else share // (max(bands, 1) * SCATTER_BYTES))
    scatter_rows = min(scatter_rows, 1 << 31)  # a pair's row is written as a 32-bit offset
    # A resumed settle keeps the cut its results on disk were made with (part_results.py).
    kept = PartResults(folder / "settle", rows, {"parts": parts, "groups": groups, "scatter_rows": scatter_rows})
    parts, groups, scatter_rows = kept.plan["parts"], kept.plan["groups"], kept.plan["scatter_rows"]
    scatters, bases = _scatter_tasks(folder, bands, parts, own_rows, scatter_rows, earlier, kept.folder)
    edge_tasks = [(kept.folder, tuple(bases), p) for p in range(parts)]
    scratch = folder / "replay"
    scratch.mkdir(exist_ok=True)
    with pool if pool is not None else _pool(processes) as parts_pool:
        if kept.missing("edges", parts):  # else the scatter's files may be gone, and are not needed
            for _ in kept.ordered("scatter", scatters, lambda tasks: parts_pool.map(_scatter, tasks)):
                pass
        step("scatter")
        components = DenseComponents(rows, scratch)
        for first, other in kept.ordered("edges", edge_tasks, lambda tasks: parts_pool.map(_edges, tasks)):
            step("edges")  # the joins are timed apart: this process, while the pool waits
            components.add(first, other)  # each partition's edges, let go once joined
            kept.forget()
            step("components")
        for k in range(len(scatters)):  # every partition's edges are kept: the pairs have done their work
            shutil.rmtree(kept.folder / PAIRS.format(k), ignore_errors=True)
        nodes = components.write_groups(groups, scratch)
        components.close()
        step("components")
        # A folder for each group's index: an index opening in a folder takes the indexes it
        # finds there for a killed run's, and deletes them.
        replays = [(folder, bands, cfg, nodes[g], scratch / f"group-{g}", share, earlier) for g in range(groups)]
        found = list(kept.ordered("group", replays, lambda tasks: parts_pool.map(_replay, tasks)))
        step("replay")
    write_verdicts(folder, found, kept.forget)
    del found
    shutil.rmtree(scratch, ignore_errors=True)
    kept.remove()
    step("merge")
    return steps


# Verdicts merged at a time, over all the groups: the references' bytes (about 50 a
# verdict) are gathered by an index of 8 bytes a byte, built with as much again, so a
# block takes about 30 MB.
MERGE_ROWS = 1 << 15


def write_verdicts(folder: Path, found: list[tuple[np.ndarray, ...]], forget: Callable[[], None]) -> None:
    """The groups' verdicts, each group's in uid order, merged into one uid order:
    removed.i64 (uids), similarity.f64, duplicate-of.bin (the references, marshalled) and
    duplicate-of-ends.i64 (where each ends, from a first 0). A block at a time: each step
    takes from every group the verdicts up to the smallest of their next blocks' last
    uids, so that none is left behind, and sorts only those; then ``forget`` lets go of
    the groups' pages read (they are mapped files)."""
    block = max(1, MERGE_ROWS // max(len(found), 1))
    at = [0] * len(found)  # the next verdict of each group
    byte_at = [0] * len(found)  # ... and where its reference starts
    written = 0
    names = ("removed.i64", "similarity.f64", "duplicate-of.bin", "duplicate-of-ends.i64")
    files = [open(folder / name, "wb") for name in names]  # noqa: SIM115 - closed below
    try:
        removed_out, similarity_out, refs_out, ends_out = files
        ends_out.write(np.zeros(1, dtype=np.int64).tobytes())
        while live := [g for g, result in enumerate(found) if at[g] < len(result[0])]:
            cutoff = min(int(found[g][0][min(at[g] + block, len(found[g][0])) - 1]) for g in live)
            uids, similarity, sizes, blobs = [], [], [], []
            for g in live:
                group_uids, group_similarity, group_refs, group_sizes = found[g]
                end = at[g] + int(np.searchsorted(group_uids[at[g]:at[g] + block], cutoff, side="right"))
                uids.append(np.array(group_uids[at[g]:end]))
                similarity.append(np.array(group_similarity[at[g]:end]))
                sizes.append(np.array(group_sizes[at[g]:end]))
                length = int(sizes[-1].sum())
                blobs.append(np.array(group_refs[byte_at[g]:byte_at[g] + length]))
                at[g], byte_at[g] = end, byte_at[g] + length
            forget()
            order = np.argsort(np.concatenate(uids), kind="stable")
            size = np.concatenate(sizes)
            starts = np.cumsum(size) - size
            size, starts = size[order], starts[order]
            ends = np.cumsum(size)
            gather = np.repeat(starts - (ends - size), size) + np.arange(int(ends[-1]) if len(ends) else 0)
            np.concatenate(uids)[order].tofile(removed_out)
            np.concatenate(similarity)[order].tofile(similarity_out)
            np.concatenate(blobs)[gather].tofile(refs_out)
            (written + ends).tofile(ends_out)
            written += int(ends[-1]) if len(ends) else 0
    finally:
        for f in files:
            f.close()


class PartsPool(Protocol):
    """Where the parts run: ``map`` gives ``function(task)`` for each task, in task order,
    running up to ``slots`` of them at once."""

    slots: int

    def __enter__(self) -> PartsPool: ...

    def __exit__(self, *exc: object) -> None: ...

    def map(self, function: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]: ...


class _InProcess:
    """A pool's map, run here: one process needs no pool."""

    def __enter__(self) -> _InProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    @staticmethod
    def map(function, tasks):
        return map(function, tasks)


def _pool(processes: int) -> _InProcess | _Processes:
    """Processes for the parts: started afresh ("spawn"), as the process that settles may
    hold threads that a fork would copy mid-way; an executor, not a Pool, so that a process
    killed (out of memory) fails the map instead of leaving it waiting forever."""
    if processes <= 1:
        return _InProcess()
    return _Processes(processes)


class _Processes:
    """A ProcessPoolExecutor whose processes leave Ctrl-C to this one. A Ctrl-C reaches
    every process of the terminal's group: a process still importing curate (a spawned
    one imports it all again, for a second or so) printed a KeyboardInterrupt traceback of
    its own, and an idle one its "Process SpawnProcess-1" traceback. Here each starts with
    SIGINT and SIGTERM blocked (a scheduler's SIGTERM reaches the group too), and ignores
    them before it unblocks them; this process, stopped by the signal (or by an error),
    cancels the parts not begun and ends the others at once, rather than wait for them (a
    resumed run redoes them: part_results.py)."""

    def __init__(self, processes: int):
        self.slots = processes
        self._context = _QuietSpawnContext()
        self._executor = ProcessPoolExecutor(processes, mp_context=self._context, initializer=_start_part_process)

    def __enter__(self) -> _Processes:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            try:  # a process started late may still be importing: a Ctrl-C can come here too
                self._executor.shutdown(wait=True)
            except BaseException:
                self._stop()
                raise
            return
        self._stop()

    def _stop(self) -> None:
        # shutdown(wait=False) lets go of the executor's queues but not of the thread that
        # hands out its tasks: that thread goes on until it sees the processes gone, and
        # once it had left threading's list (prompt_exit.py waits for the threads listed)
        # it freed the queues as it ended. Their semaphores' finalizers then raced this
        # process's exit, and one left unregistered made multiprocessing's resource
        # tracker warn of a "leaked semaphore" after the stop's message. So the thread is
        # held here, and waited for once the processes are gone: the queues are freed in
        # this thread. (A private attribute: None if Python renames it, and the wait is
        # skipped.)
        manager = getattr(self._executor, "_executor_manager_thread", None)
        self._executor.shutdown(wait=False, cancel_futures=True)
        # Every process started, the executor's count or not: one whose start the Ctrl-C
        # interrupted is not, and it went on alone, and failed once this process was gone.
        started = [process for process in self._context.processes if process.pid is not None]
        for process in started:
            process.kill()  # it ignores SIGTERM, this process's to handle (_start_part_process)
        for process in started:
            process.join(STOP_WAIT)
            if process.exitcode is None:
                process.kill()
                process.join()
        if isinstance(manager, threading.Thread):
            # Bounded, as the processes' joins are: a process ended midway through sending
            # a result can leave the thread reading the pipe for the rest of it.
            manager.join(STOP_WAIT)

    def map(self, function: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        return self._executor.map(function, tasks)


class _QuietSpawnProcess(multiprocessing.context.SpawnProcess):
    def start(self) -> None:
        """Start the process with SIGINT blocked: the signal mask outlives the exec, so it
        imports with SIGINT blocked. A Ctrl-C meanwhile (another thread of this process
        takes it, and the main thread's handler runs at once) is held until the process
        is started, and counted (Process.pid): raised part-way, it left a process that
        its pool did not know of, to go on alone and fail once this one was gone."""
        held: list[int] = []
        handlers = {stop: signal.getsignal(stop) for stop in STOPS}  # None: not Python's to change
        in_main = threading.current_thread() is threading.main_thread()
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
        taken = [stop for stop, handler in handlers.items() if in_main and handler is not None]
        for stop in taken:
            signal.signal(stop, lambda signum, _frame: held.append(signum))
        try:
            super().start()
        finally:
            for stop in taken:
                signal.signal(stop, handlers[stop])
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for signum in dict.fromkeys(held):
            signal.raise_signal(signum)  # to the handler it was meant for


class _QuietSpawnContext(multiprocessing.context.SpawnContext):
    """The spawn context, its processes _QuietSpawnProcess, each kept in ``processes``."""

    def __init__(self) -> None:
        super().__init__()
        self.processes: list[_QuietSpawnProcess] = []

    def Process(self, *args: Any, **kwargs: Any) -> _QuietSpawnProcess:  # type: ignore[override] # the executor calls it
        process = _QuietSpawnProcess(*args, **kwargs)
        self.processes.append(process)
        return process


def _start_part_process() -> None:
    """In a part's process, before any part: it ends with the process that settles, however
    that one ends (a SIGKILL left it under init, reading the executor's pipe forever, and
    holding the run's stdout and stderr); a Ctrl-C that came while it started (blocked
    until now) and every later one are left to the process that settles."""
    die_with_parent()
    for stop in STOPS:  # a SIGTERM to the whole group (Slurm, `docker stop`) too
        signal.signal(stop, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)


def add_kept(index: DedupIndex, folder: Path, bands: int) -> None:
    """Every row the verdicts in ``folder`` keep, added to ``index`` in uid order: the
    index the one-index run holds at its end, for --save-index. Only adds: no lookup, no
    verification."""
    rows = StoredRows(folder, bands)
    verdicts = Verdicts(folder)
    for start in range(0, rows.count, REPLAY_ROWS):
        uids = np.arange(start, min(start + REPLAY_ROWS, rows.count), dtype=np.int64)
        signed = rows(uids)
        keep = np.ones(len(uids), dtype=bool)
        keep[verdicts.removed_among(start, len(uids)) - start] = False
        index.add_kept(signed, keep, uids)


class Verdicts:
    """The verdicts `settle` wrote, read in uid order as the second pass asks for them,
    from the files mapped (the pages read are let go every FORGET_ROWS rows)."""

    FORGET_ROWS = 1 << 20

    def __init__(self, folder: Path):
        names = ("removed.i64", "similarity.f64", "duplicate-of-ends.i64", "duplicate-of.bin")
        with reading():
            self._maps = [MappedFile(folder / name) for name in names]
        removed, similarity, ends, refs = self._maps
        self.removed = removed.array(np.int64)
        self.similarity = similarity.array(np.float64)
        self.ends = ends.array(np.int64)
        self.refs = refs.array(np.uint8)
        if len(self.ends) != len(self.removed) + 1 or len(self.similarity) != len(self.removed):
            raise ValueError(f"{folder}: the verdicts' files do not match")
        self.next_uid = 0
        self._forgot_at = 0

    def removed_among(self, first: int, n: int) -> np.ndarray:
        """The removed uids from ``first`` to ``first + n - 1``."""
        lo, hi = np.searchsorted(self.removed, [first, first + n])
        return np.array(self.removed[lo:hi])

    def decide(self, rows: SignedRows | None) -> list[Reason | None]:
        """The next ``len(rows)`` rows' verdicts."""
        if rows is None or not len(rows):
            return []
        first, n = self.next_uid, len(rows)
        self.next_uid += n
        verdicts: list[Reason | None] = [None] * n
        lo, hi = np.searchsorted(self.removed, [first, first + n])
        for k in range(int(lo), int(hi)):
            ref = ParagraphRef(*marshal.loads(self.refs[self.ends[k]:self.ends[k + 1]].tobytes()))
            verdicts[int(self.removed[k]) - first] = duplicate_reason(ref, float(self.similarity[k]))
        if self.next_uid - self._forgot_at >= self.FORGET_ROWS:
            for mapped in self._maps:
                mapped.forget()
            self._forgot_at = self.next_uid
        return verdicts
