"""Near-duplicate paragraphs across the corpus, decided in input order in one process.

A paragraph is removed when it is a near-duplicate of an earlier *kept* paragraph;
it then points at the earliest such paragraph. Candidates come from LSH bands
and are verified on the exact Jaccard of their shingle sets, so the verdict does not
depend on the order in which candidates are found, nor on how many workers made them.

Memory per kept paragraph is its band keys and ids in sorted arrays (runs.py, 12 bytes a
band) and two file offsets; its shingle set and reference are on disk (store.py) and read
back only for a candidate pair or a copy that points at it. Under a memory budget the keys
and the offsets spill to disk too (spill.py), leaving their Bloom filters in memory.
"""

from __future__ import annotations

import itertools
import json
import marshal
import shutil
import tempfile
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from curate.distinct import distinct
from curate.document import ParagraphRef, Reason
from curate.errors import RunStopped
from curate.stages.dedup.apply import duplicate_reason
from curate.stages.dedup.buckets import take_sets
from curate.stages.dedup.runs import SortedRuns
from curate.stages.dedup.saved import DamagedIndex, SavedIndex, check_ids, ref_line, write_index
from curate.stages.dedup.signature import DedupConfig
from curate.stages.dedup.spill import SpilledRun
from curate.stages.dedup.store import RecordFile
from curate.stages.dedup.verify import could_be_similar, intersection_size, is_similar, similarity, tagged_intersections

if TYPE_CHECKING:
    from collections.abc import Iterable

    from curate.stages.base import Batch
    from curate.stages.dedup.sign import SignedRows

RefTuple = tuple[str, str, int, int, int]  # ParagraphRef's fields, as rows carry them
# The record files' end offsets (16 bytes a kept paragraph) may hold 1/ENDS_SHARE of the
# index's budget before they go to disk (store.py); the band keys get the rest.
ENDS_SHARE = 8
# Candidates a paragraph is verified against under one band key: the first this many
# kept paragraphs (in input order) that have the key. A true copy shares most of its bands
# with its original, so it is found under the keys no crowd shares; without a bound, a
# corpus of templated paragraphs ("This is listing number N ...") puts thousands under one
# key and verifying them is quadratic (100,000 such paragraphs: 46 s of dedup, 0.1 s per
# 1,000 paragraphs more each 1,000).
CANDIDATES_PER_KEY = 64


@dataclass
class Added:
    """The paragraphs one batch added to the index, kept until a checkpoint takes them."""

    items: np.ndarray  # int64: the run's item ordinal of each paragraph's document
    keys: np.ndarray  # uint64, (paragraphs, bands)
    shingles: np.ndarray  # uint32: the sets, one after another
    sizes: np.ndarray  # int64: each set's length
    refs: list[RefTuple]


class DedupIndex:
    """Band keys -> ids of kept paragraphs, and where to find each one's shingle set and
    reference. Ids are dense and given in input order, so the smallest candidate is the
    first occurrence."""

    def __init__(self, cfg: DedupConfig, scratch: Path | None = None, against: SavedIndex | None = None,
                 budget: int | None = None):
        self.cfg = cfg
        # ``budget``: bytes the index may hold in memory (None: no limit); past it, band
        # keys spill to sorted files beside the shingle sets (runs.py).
        self.budget = budget
        self.keys = SortedRuns(budget)
        # An earlier run's saved index (--against): its paragraphs are ids 0 .. n - 1, as if
        # they had come first in this run's input.
        self.against = against
        self._base_sets: RecordFile | None = None
        self._base_refs: RecordFile | None = None
        self._base = 0
        # Ids below it are an earlier run's paragraphs (those of --against), which a copy
        # names as such: the saved index's, or those a replay of --dedup-parts adds first.
        self.earlier = 0
        if against is not None:
            self._base = self.earlier = against.paragraphs
            # Their ends read in, or read from the saved files when the budget is short.
            ends_fit = budget is None or 8 * (len(against.shingle_ends) + len(against.ref_ends)) <= budget // ENDS_SHARE
            self._base_sets = RecordFile.existing(against.folder / "shingles.u32", against.shingle_ends, ends_fit)
            self._base_refs = RecordFile.existing(against.folder / "refs.jsonl", against.ref_ends, ends_fit)
            self._add_saved(against)
        self._scratch_root = scratch
        self._folder: Path | None = None
        self._sets: RecordFile | None = None  # each kept paragraph's sorted uint32 shingle hashes
        self._refs: RecordFile | None = None  # each kept paragraph's reference, marshalled
        # When a list, every add is also recorded here, so a chunk of the run can save
        # what it added to the index (take_journal) and a resumed run can add it back (replay).
        self.journal: list[Added] | None = None

    def _add_saved(self, against: SavedIndex) -> None:
        """The saved index's keys: read into memory when they fit the budget's share for
        runs in memory, else looked up where they are, as a run on disk."""
        size = against.keys.nbytes + against.ids.nbytes
        cap = self.keys.cap
        if cap is None or size <= cap:
            self.keys.add_sorted(np.array(against.keys), np.array(against.ids))
        else:
            self.keys.add_spilled(SpilledRun.of_npy(against.folder / "keys.npy", against.folder / "ids.npy", cap // 64))

    # -- storage --------------------------------------------------------------------------
    def _open(self) -> tuple[RecordFile, RecordFile]:
        if self._sets is None or self._refs is None:
            if self._scratch_root is not None:
                self._scratch_root.mkdir(parents=True, exist_ok=True)
                # A run killed before could not delete its index; this run rebuilds it.
                for stale in self._scratch_root.glob("dedup-index-*"):
                    shutil.rmtree(stale, ignore_errors=True)
            self._folder = Path(tempfile.mkdtemp(prefix="dedup-index-", dir=self._scratch_root))
            self._sets = RecordFile(self._folder / "shingles.u32")
            self._refs = RecordFile(self._folder / "refs.marshal")
            self.keys.folder = self._folder / "runs"
        return self._sets, self._refs

    def close(self) -> None:
        """Delete the index's files (the index is empty afterwards)."""
        for store in (self._sets, self._refs, self._base_sets, self._base_refs):
            if store is not None:
                store.close()
        self.keys.close()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
        self._sets = self._refs = self._folder = self._base_sets = self._base_refs = None
        self.keys = SortedRuns(self.budget)

    def __len__(self) -> int:
        """Kept paragraphs of this run (an index given with --against not counted)."""
        return 0 if self._sets is None else len(self._sets)

    def memory_bytes(self) -> int:
        """What the index holds in memory: its arrays, and the filters and fences of the
        keys spilled to disk (the files themselves are on disk)."""
        return self.keys.nbytes + self._stores_bytes()

    def _stores_bytes(self) -> int:
        return sum(store.nbytes for store in (self._sets, self._refs, self._base_sets, self._base_refs)
                   if store is not None)

    def disk_bytes(self) -> int:
        """Band keys spilled to disk (the shingle sets and references are always there)."""
        return self.keys.disk_bytes

    def ref(self, pid: int) -> ParagraphRef:
        if pid < self._base:
            assert self._base_refs is not None
            record = self._base_refs.read(pid)
            try:
                return paragraph_ref(json.loads(record), against=True)
            except (ValueError, TypeError) as err:  # a saved file changed in place: its size was right
                # An OSError, so the run stops as on any damaged index file, with what to do.
                said = f"refs.jsonl: reference {pid} is not [doc, source, line, start, end] ({err})"
                raise DamagedIndex(said) from err
        _, refs = self._open()
        return paragraph_ref(marshal.loads(refs.read(pid - self._base)), against=pid < self.earlier)

    # -- deciding -------------------------------------------------------------------------
    def decide(self, batch: Batch) -> list[Reason | None]:
        """Each signed line of the batch, in input order, against every kept paragraph
        before it: the reason it is a copy, or None (kept, and added to the index)."""
        rows = batch.signed
        if rows is None or not len(rows):
            return []
        verdicts = self.decide_rows(rows)
        kept = np.array([verdict is None for verdict in verdicts], dtype=bool)
        self._add(rows, kept, np.array([batch.first_item + pos for pos, _ in rows.owners], dtype=np.int64),
                  rows.order)
        return verdicts

    def decide_rows(self, rows: SignedRows) -> list[Reason | None]:
        """The verdicts of a batch's rows (not added to the index).

        All the batch's keys are looked up in one vectorised pass, and every candidate
        pair with an earlier batch's paragraph is verified at once (those paragraphs are
        kept for good, so the pairs are independent). Only rows with a key that another
        row of the same batch also has are decided one by one, in order, since whether
        the earlier row is kept depends on that order."""
        keys = np.asarray(rows.keys, dtype=np.uint64)
        n, bands = keys.shape
        verdicts: list[Reason | None] = [None] * n
        flat = keys.ravel()
        order = rows.order if rows.order is not None else np.argsort(flat, kind="stable")
        query, found = self.keys.lookup(flat, order, per_key=CANDIDATES_PER_KEY)
        # This run's ids are dense: only a saved index's ids.npy changed in place gives one
        # past them, which no record file holds.
        check_ids(found, self._base + len(self), self._base)
        if len(query):
            # One (row, id) pair per candidate, however many bands it shares.
            pairs = distinct((query // bands).astype(np.uint64) << np.uint64(32) | found.astype(np.uint64))
            pair_rows = (pairs >> np.uint64(32)).astype(np.int64)
            for j, (pid, jaccard) in self._similar_in_index(rows, pair_rows, (pairs & np.uint64(0xFFFFFFFF))
                                                            .astype(np.int64)).items():
                verdicts[j] = duplicate_reason(self.ref(pid), jaccard)
        shared = _shared_in_batch(flat, order).reshape(n, bands)
        involved = np.flatnonzero(shared.any(axis=1)).tolist()
        # How many of a key's candidates the index gave (at most CANDIDATES_PER_KEY): the
        # rest of the key's quota goes to this batch's own earlier kept rows.
        from_index = np.bincount(query, minlength=len(flat))
        kept_by_key: dict[int, list[int]] = {}
        threshold = self.cfg.threshold
        for j in involved:
            if verdicts[j] is not None:  # a copy of a kept paragraph of an earlier batch
                continue
            mine = rows.shingle_set(j)
            my_bands = np.flatnonzero(shared[j])
            my_keys = keys[j][my_bands].tolist()
            earlier = sorted({i for key in my_keys for i in kept_by_key.get(key, ())})
            for i in earlier:
                theirs = rows.shingle_set(i)
                if not could_be_similar(len(mine), len(theirs), threshold):
                    continue
                inter = intersection_size(mine, theirs)
                union = len(mine) + len(theirs) - inter
                if is_similar(inter, union, threshold):
                    verdicts[j] = duplicate_reason(ParagraphRef(*rows.refs[i]), similarity(inter, union))
                    break
            else:
                room = (CANDIDATES_PER_KEY - from_index[j * bands + my_bands]).tolist()
                for key, left in zip(my_keys, room, strict=True):
                    earlier_rows = kept_by_key.setdefault(key, [])
                    if len(earlier_rows) < left:
                        earlier_rows.append(j)
        return verdicts

    def _similar_in_index(self, rows: SignedRows, pair_rows: np.ndarray,
                          pids: np.ndarray) -> dict[int, tuple[int, float]]:
        """For each row with a candidate pair (``pair_rows[k]``, ``pids[k]``), sorted by
        row then id: the earliest kept paragraph whose exact Jaccard with the row reaches
        the threshold, and that Jaccard. Every kept paragraph of the index is kept for
        good, so the pairs of a batch are independent and verified all at once
        (`tagged_intersections`)."""
        threshold = self.cfg.threshold
        row_sizes = (rows.offsets[1:] - rows.offsets[:-1])[pair_rows]
        # Each candidate's span once: under a budget, the end offsets may be read from disk.
        # Ids below _base are in the index run --against, the rest in this run's files.
        in_base = pids < self._base
        sets = self._open()[0]
        starts = np.empty(len(pids), dtype=np.int64)
        ends = np.empty(len(pids), dtype=np.int64)
        for store, mask, first in ((self._base_sets, in_base, 0), (sets, ~in_base, self._base)):
            if mask.any():
                assert store is not None
                starts[mask], ends[mask] = store.spans(pids[mask] - first)
        pid_sizes = (ends - starts) // 4
        # The Jaccard is at most min / max: most candidates of very different length need no read.
        possible = np.minimum(row_sizes, pid_sizes) / np.maximum(row_sizes, pid_sizes) >= threshold
        pair_rows, pids, row_sizes, pid_sizes, starts, ends, in_base = (
            a[possible] for a in (pair_rows, pids, row_sizes, pid_sizes, starts, ends, in_base))
        if not len(pids):
            return {}
        if in_base.any():  # pairs are sorted by row, not by file: join each pair's set in order
            data = [b""] * len(pids)
            for store, mask in ((self._base_sets, in_base), (sets, ~in_base)):
                picked = np.flatnonzero(mask)
                if len(picked):
                    assert store is not None
                    for k, record in zip(picked.tolist(), _records(store, starts[picked], ends[picked]), strict=True):
                        data[k] = record
            theirs = np.frombuffer(b"".join(data), dtype=np.uint32)
        else:
            theirs = np.frombuffer(sets.read_spans(starts, ends), dtype=np.uint32)
        mine, _ = take_sets(rows.shingles, rows.offsets, pair_rows)
        inter = tagged_intersections(mine, row_sizes, theirs, pid_sizes)
        union = row_sizes + pid_sizes - inter
        # The same IEEE division of two integers as verify.similarity (exact below 2**53).
        jaccard = inter / union
        found: dict[int, tuple[int, float]] = {}
        for k in np.flatnonzero(jaccard >= threshold).tolist():
            row = int(pair_rows[k])
            if row not in found:  # pairs are sorted by id within a row: the earliest wins
                found[row] = int(pids[k]), similarity(int(inter[k]), int(union[k]))
        return found

    # -- adding ---------------------------------------------------------------------------
    def add_kept(self, rows: SignedRows, kept: np.ndarray, items: np.ndarray) -> None:
        """Index the rows ``kept`` marks, whose verdicts were found elsewhere (--dedup-parts),
        as `decide` would have after deciding them: ``items`` are their ordinals."""
        self._add(rows, kept, items, rows.order)

    def _add(self, rows: SignedRows, kept: np.ndarray, items: np.ndarray, order: np.ndarray | None = None) -> None:
        """Index the kept rows. ``order``: the stable argsort of all the rows' keys, from
        which the kept rows' own is taken without sorting again."""
        if not kept.any():
            return
        picked = np.flatnonzero(kept)
        sizes = (rows.offsets[1:] - rows.offsets[:-1])[picked]
        if len(picked) == len(rows):
            shingles = rows.shingles
        else:
            shingles, _ = take_sets(rows.shingles, rows.offsets, picked)
        added = Added(items[picked], np.asarray(rows.keys, dtype=np.uint64)[picked], shingles, sizes,
                      [rows.refs[k] for k in picked.tolist()])
        self._store(added, None if order is None else kept_order(order, kept, added.keys.shape[1]))
        if self.journal is not None:
            self.journal.append(added)

    def _store(self, added: Added, order: np.ndarray | None = None) -> None:
        try:
            self._write(added, order)
        except OSError as err:
            where = err.filename or self._folder or self._scratch_root
            # The scratch folder is OUT/.partial/index, so the run's output is two levels up.
            output = self._scratch_root.parent.parent if self._scratch_root is not None else where
            raise RunStopped(output, f"cannot write {where}: {err.strerror or err}") from err

    def _write(self, added: Added, order: np.ndarray | None = None) -> None:
        sets, refs = self._open()
        first = self._base + len(sets)
        ids = np.repeat(np.arange(first, first + len(added.sizes), dtype=np.uint32), added.keys.shape[1])
        if self.budget is not None:
            # The record files' offsets go to disk past their share, and the keys get the rest.
            if sets.nbytes + refs.nbytes > self.budget // ENDS_SHARE:
                sets.spill_ends()
                refs.spill_ends()
            self.keys.budget = max(self.budget - self._stores_bytes(), 0)
        self.keys.add(added.keys.ravel(), ids, order)
        sets.append(added.shingles.astype(np.uint32, copy=False).tobytes(), 4 * added.sizes)
        packed = [marshal.dumps(tuple(ref)) for ref in added.refs]
        refs.append(b"".join(packed), np.fromiter(map(len, packed), dtype=np.int64, count=len(packed)))

    # -- saving (--save-index) -------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """Write the index, with the one it was run --against, as a folder (saved.py)."""
        sets, refs = self._open()
        files: list[Path] = []
        ends: list[np.ndarray] = []
        lines: list[Iterable[bytes]] = []
        if self._base_sets is not None and self._base_refs is not None:
            base_refs = self._base_refs
            files.append(self._base_sets.path)
            ends.append(self._base_sets.ends)
            lines.append(base_refs.read(k) for k in range(len(base_refs)))
        files.append(sets.path)
        ends.append(sets.ends + (int(ends[0][-1]) if ends and len(ends[0]) else 0))
        lines.append(ref_line(marshal.loads(refs.read(k))) for k in range(len(refs)))
        total = self._base + len(sets)

        def write_keys(keys_path: Path, ids_path: Path) -> None:  # a damaged id not carried on
            self.keys.save_npy(keys_path, ids_path, lambda ids: check_ids(ids, total, self._base))

        write_index(folder, self.cfg, write_keys, files, np.concatenate(ends), itertools.chain(*lines))

    # -- checkpoints ----------------------------------------------------------------------
    def take_journal(self, until: int | None = None) -> tuple[bytes, bytes, bytes, list[tuple]]:
        """What was added since the last call by items before ``until`` (all when None),
        packed for a checkpoint: shingle sets, their sizes and band keys as byte strings,
        references as plain tuples. A batch is decided whole before it is written, so a
        chunk can end in the middle of it: the rest of the batch's adds wait."""
        journal, taken = self.journal or [], []
        while journal:
            head = journal[0]
            cut = len(head.items) if until is None else bisect_left(head.items.tolist(), until)
            if cut == len(head.items):
                taken.append(journal.pop(0))
                continue
            if cut:
                taken.append(_slice(head, 0, cut))
                journal[0] = _slice(head, cut, len(head.items))
            break
        self.journal = journal
        return (b"".join(a.shingles.astype(np.uint32, copy=False).tobytes() for a in taken),
                b"".join(a.sizes.astype(np.int64).tobytes() for a in taken),
                b"".join(a.keys.astype(np.uint64).tobytes() for a in taken),
                [tuple(ref) for a in taken for ref in a.refs])

    def replay(self, packed: tuple[bytes, bytes, bytes, list[tuple]]) -> None:
        """Add back what take_journal packed, in the same order."""
        shingles, sizes, keys, refs = packed
        if not refs:
            return
        size_array = np.frombuffer(sizes, dtype=np.int64)
        key_array = np.frombuffer(keys, dtype=np.uint64).reshape(len(refs), -1)
        self._store(Added(np.zeros(len(refs), dtype=np.int64), key_array, np.frombuffer(shingles, dtype=np.uint32),
                          size_array, [tuple(ref) for ref in refs]))


def paragraph_ref(fields: Any, against: bool) -> ParagraphRef:
    """A reference read back as stored, [doc, source, line, start, end] (a ValueError or
    TypeError when it is not), and whether it names an earlier run's paragraph."""
    doc, source, line, start, end = fields
    return ParagraphRef(doc, source, line, start, end, against)


def _slice(added: Added, start: int, end: int) -> Added:
    bounds = np.zeros(len(added.sizes) + 1, dtype=np.int64)
    np.cumsum(added.sizes, out=bounds[1:])
    return Added(added.items[start:end], added.keys[start:end], added.shingles[bounds[start]:bounds[end]],
                 added.sizes[start:end], added.refs[start:end])


def _records(store: RecordFile, starts: np.ndarray, ends: np.ndarray) -> list[bytes]:
    data = store.read_spans(starts, ends)
    cut = np.concatenate([[0], np.cumsum(ends - starts)]).tolist()
    return [data[a:b] for a, b in itertools.pairwise(cut)]


def kept_order(order: np.ndarray, kept: np.ndarray, bands: int) -> np.ndarray:
    """The stable argsort of the kept rows' keys (row after row), from ``order``, the
    stable argsort of every row's: the kept entries in the same order, renumbered. Equal
    keys stay in row order, which is what a stable sort of the kept keys gives."""
    rows = order // bands
    mine = kept[rows]
    renumbered = (np.cumsum(kept) - 1)[rows[mine]] * bands + order[mine] % bands
    return renumbered.astype(np.int64, copy=False)


def _shared_in_batch(keys: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """For each key, does another entry of ``keys`` have the same value? ``order``: the
    stable argsort of ``keys``, when the caller has it."""
    if order is None:
        order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    same = ordered[1:] == ordered[:-1]
    shared = np.zeros(len(keys), dtype=bool)
    shared[order[1:][same]] = True
    shared[order[:-1][same]] = True
    return shared
