"""Sorted runs of (band key, paragraph id) on disk, for an index larger than its memory budget.

A spilled run is two flat files, the keys (uint64) and their ids (uint32), sorted by key
and then id. What stays in memory is what a lookup needs to skip the file for most queries:
a Bloom filter over the keys (bloom.py, 1.25 bytes a key), and a fence, every FENCE-th key,
so that a query the filter lets through reads only the few blocks of FENCE keys that can
hold it, through a map of the files whose pages are let go after every lookup (they stay
in the kernel's page cache, not in the process's memory).

Runs are merged by streaming (``merge``): every source is read a chunk at a time, and what
is surely before every source's unread rest is sorted and written. The same merge writes a
saved index's keys.npy and ids.npy.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from curate.stages.dedup.bloom import BloomFilter

# Keys per block read for a query the filter lets through (512 bytes of keys). The fences
# cost 8 bytes a block in memory, 1.75 bytes a paragraph of 14 bands at 64; blocks of 512
# keys (a page) made the barrier 13% slower at 1 GB spilled (bench/results/spill-fence-s46.txt):
# a query then gathered 512-1,024 entries where it needs one or two.
FENCE = 64
SPANS_MAPPED = 32  # spans of blocks gathered between two unmappings: ~32 x 2 x 64 kB mapped at most
KEY = np.dtype("<u8")
ID = np.dtype("<u4")
ENTRY_BYTES = KEY.itemsize + ID.itemsize


def _read(fd: int, path: Path, offset: int, count: int, dtype: np.dtype) -> np.ndarray:
    size = count * dtype.itemsize
    data = os.pread(fd, size, offset)
    while len(data) < size:  # a regular file reads short only at its end
        more = os.pread(fd, size - len(data), offset + len(data))
        if not more:
            raise OSError(f"{path}: cut short ({offset + len(data)} bytes, {offset + size} expected)")
        data += more
    return np.frombuffer(data, dtype=dtype)


class SpilledRun:
    """A sorted run of (key, id) in files, looked up through its filter and fences."""

    def __init__(self, keys_path: Path, ids_path: Path, length: int, bloom: BloomFilter, fences: np.ndarray,
                 keys_offset: int = 0, ids_offset: int = 0, owned: bool = True):
        self.keys_path, self.ids_path = keys_path, ids_path
        self.length = length
        self.bloom: BloomFilter | None = bloom  # None once released for a merge (release_filter)
        self.fences = fences  # keys[0], keys[FENCE], keys[2 * FENCE], ...
        self._keys_offset, self._ids_offset = keys_offset, ids_offset  # past a .npy header
        self.owned = owned  # its files are deleted with it (not a saved index's)
        self._keys_fd = os.open(keys_path, os.O_RDONLY)
        self._ids_fd = os.open(ids_path, os.O_RDONLY)
        self._maps: tuple[mmap.mmap, mmap.mmap] | None = None  # mapped at the first lookup
        self._key_view: np.ndarray | None = None
        self._id_view: np.ndarray | None = None

    @classmethod
    def of_npy(cls, keys_path: Path, ids_path: Path, chunk: int) -> SpilledRun:
        """A saved index's keys.npy and ids.npy (sorted by key, then id) as a run, left where
        they are; its filter and fences are built by reading the keys ``chunk`` at a time."""
        keys = np.load(keys_path, mmap_mode="r")
        ids = np.load(ids_path, mmap_mode="r")
        assert isinstance(keys, np.memmap) and isinstance(ids, np.memmap)
        bloom = BloomFilter(len(keys))
        run = cls(keys_path, ids_path, len(keys), bloom, np.empty(0, dtype=np.uint64),
                  keys.offset, ids.offset, owned=False)
        fences = []
        step = max(FENCE, chunk // FENCE * FENCE)
        for start in range(0, len(keys), step):
            part = run.keys(start, min(step, len(keys) - start))
            bloom.add(part)
            fences.append(part[::FENCE])
        run.fences = np.concatenate(fences) if fences else run.fences
        return run

    def __len__(self) -> int:
        return self.length

    @property
    def nbytes(self) -> int:
        """Memory held: the filter and the fences."""
        return (self.bloom.nbytes if self.bloom is not None else 0) + self.fences.nbytes

    def release_filter(self) -> None:
        """Let the filter go before this run is merged into a larger one: the merged run's
        filter holds every key of both, so keeping theirs while it is built would double
        the filters' memory (at 10 GB, ~330 MB over the budget). A run merged away is not
        looked up again, also when its merge fails: a disk error stops the run."""
        self.bloom = None

    @property
    def disk_bytes(self) -> int:
        return self.length * ENTRY_BYTES

    def keys(self, start: int, count: int) -> np.ndarray:
        return _read(self._keys_fd, self.keys_path, self._keys_offset + start * KEY.itemsize, count, KEY)

    def ids(self, start: int, count: int) -> np.ndarray:
        return _read(self._ids_fd, self.ids_path, self._ids_offset + start * ID.itemsize, count, ID)

    def read_for(self, ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For ``ordered`` queries (sorted), part of the run as (keys, ids): sorted, and
        holding every entry whose key is a query, to be searched as an in-memory run is.
        Only the blocks that may hold a query the filter lets through are read."""
        empty = np.empty(0, dtype=np.uint64)
        assert self.bloom is not None, "a run whose filter was released for a merge is not looked up"
        passed = ordered[self.bloom.might_hold(ordered)] if len(ordered) else empty
        if not len(passed):
            return empty, np.empty(0, dtype=np.uint32)
        # Blocks first .. last - 1 may hold the key: a block whose fence is below it (the
        # key may run on from there), up to the last one whose fence is not above it.
        first = np.maximum(np.searchsorted(self.fences, passed, side="left") - 1, 0)
        last = np.searchsorted(self.fences, passed, side="right")
        # Spans of blocks: a query's blocks join the previous span when they touch it.
        opens = np.r_[True, first[1:] > last[:-1]]  # both grow with the sorted queries
        span_first = first[opens]
        span_last = np.maximum.reduceat(last, np.flatnonzero(opens))
        starts = span_first * FENCE
        counts = np.minimum(span_last * FENCE, self.length) - starts
        starts, counts = starts[counts > 0], counts[counts > 0]
        if not len(counts):
            return empty, np.empty(0, dtype=np.uint32)
        # Every position of every span, flattened, gathered from the files mapped: one
        # page fault a page, where a read a span cost a system call and a few objects
        # (3x slower: a copy hits 5 to 10 blocks of the run that holds its original).
        bounds = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=bounds[1:])
        positions = np.repeat(starts - bounds[:-1], counts) + np.arange(int(bounds[-1]))
        keys_view, ids_view = self._views()
        keys, ids = np.empty(len(positions), dtype=KEY), np.empty(len(positions), dtype=ID)
        # A fault maps the 16 pages around the one asked for (the kernel's fault-around,
        # even with MADV_RANDOM): gathered a few spans at a time, and let go after each, the
        # pages mapped stay a few MB.
        for first_span in range(0, len(counts), SPANS_MAPPED):
            a, b = int(bounds[first_span]), int(bounds[min(first_span + SPANS_MAPPED, len(counts))])
            keys[a:b] = keys_view[positions[a:b]]
            ids[a:b] = ids_view[positions[a:b]]
            self._forget_pages()
        return keys, ids

    def _views(self) -> tuple[np.ndarray, np.ndarray]:
        if self._maps is None:
            maps = []
            for fd in (self._keys_fd, self._ids_fd):
                mapped = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
                if hasattr(mmap, "MADV_RANDOM"):  # no read-ahead, no neighbouring pages mapped
                    mapped.madvise(mmap.MADV_RANDOM)
                maps.append(mapped)
            self._maps = (maps[0], maps[1])
            self._key_view = np.frombuffer(maps[0], dtype=KEY, count=self.length, offset=self._keys_offset)
            self._id_view = np.frombuffer(maps[1], dtype=ID, count=self.length, offset=self._ids_offset)
        assert self._key_view is not None and self._id_view is not None
        return self._key_view, self._id_view

    def _forget_pages(self) -> None:
        """Unmap the pages a lookup touched: the kernel keeps them cached, but while mapped
        they count in the process's resident memory."""
        if self._maps is not None and hasattr(mmap, "MADV_DONTNEED"):
            for mapped in self._maps:
                mapped.madvise(mmap.MADV_DONTNEED)

    def close(self, delete: bool = True) -> None:
        self._key_view = self._id_view = None  # views first: a map with views cannot close
        if self._maps is not None:
            for mapped in self._maps:
                mapped.close()
            self._maps = None
        for fd in (self._keys_fd, self._ids_fd):
            if fd >= 0:
                os.close(fd)
        self._keys_fd = self._ids_fd = -1
        if delete and self.owned:
            for path in (self.keys_path, self.ids_path):
                path.unlink(missing_ok=True)


# -- streaming merge ----------------------------------------------------------------------
Source = tuple[np.ndarray, np.ndarray] | SpilledRun  # an in-memory run (keys, ids) or a spilled one


def _chunks(source: Source, chunk: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    if isinstance(source, SpilledRun):
        for start in range(0, len(source), chunk):
            count = min(chunk, len(source) - start)
            yield source.keys(start, count), source.ids(start, count)
    else:
        keys, ids = source
        for start in range(0, len(keys), chunk):
            yield keys[start:start + chunk], ids[start:start + chunk]


def merge(sources: list[Source], chunk: int, emit: Callable[[np.ndarray, np.ndarray], None]) -> None:
    """Merge runs sorted by (key, id), given oldest first (each one's ids below the next
    one's), into ``emit``'s calls, in (key, id) order; at most ``chunk`` entries of each
    source in memory at once.

    Every round takes, from each source, the entries not after the smallest last key of
    the sources' current chunks; a source whose chunk ends with that key may hold more of
    it in its next chunk, so of that key only the sources before the first such one are
    taken (their ids are smaller). The source that sets the bound gives its whole chunk,
    or the bound's key from every source before it, so each round moves on."""
    readers = [_chunks(source, chunk) for source in sources]
    pending: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for k, reader in enumerate(readers):
        first = next(reader, None)
        if first is not None:
            pending[k] = first
    while pending:
        live = sorted(pending)
        bound = min(int(pending[k][0][-1]) for k in live)
        # The first source that may hold more of the bound's key after its chunk.
        blocker = next(k for k in live if int(pending[k][0][-1]) == bound)
        key_parts, id_parts = [], []
        for k in live:
            keys, ids = pending[k]
            cut = int(np.searchsorted(keys, np.uint64(bound), side="right" if k <= blocker else "left"))
            if cut:
                key_parts.append(keys[:cut])
                id_parts.append(ids[:cut])
            if cut < len(keys):
                pending[k] = keys[cut:], ids[cut:]
            elif (following := next(readers[k], None)) is not None:
                pending[k] = following
            else:
                del pending[k]
        keys = np.concatenate(key_parts)
        ids = np.concatenate(id_parts)
        # The parts are sorted and in source order (older ids first): a stable sort by key
        # (timsort, which finds the parts) leaves them ordered by key and then id.
        order = np.argsort(keys, kind="stable")
        emit(keys[order], ids[order])


class RunWriter:
    """Writes merged entries to a run's two files while building its filter and fences."""

    def __init__(self, keys_path: Path, ids_path: Path, length: int):
        self.keys_path, self.ids_path = keys_path, ids_path
        self.length = length
        self.bloom = BloomFilter(length)
        self._fences: list[np.ndarray] = []
        self._written = 0
        self._keys = open(keys_path, "wb")  # noqa: SIM115 - closed in finish()
        self._ids = open(ids_path, "wb")  # noqa: SIM115

    def __call__(self, keys: np.ndarray, ids: np.ndarray) -> None:
        self._keys.write(keys.astype(KEY, copy=False).tobytes())
        self._ids.write(ids.astype(ID, copy=False).tobytes())
        self.bloom.add(keys)
        # Fences sit at every FENCE-th position of the whole run.
        first = -self._written % FENCE
        self._fences.append(keys[first::FENCE].astype(np.uint64, copy=True))
        self._written += len(keys)

    def finish(self) -> SpilledRun:
        self._keys.close()
        self._ids.close()
        assert self._written == self.length, (self._written, self.length)
        fences = np.concatenate(self._fences) if self._fences else np.empty(0, dtype=np.uint64)
        return SpilledRun(self.keys_path, self.ids_path, self.length, self.bloom, fences)

    def abandon(self) -> None:
        for f, path in ((self._keys, self.keys_path), (self._ids, self.ids_path)):
            f.close()
            path.unlink(missing_ok=True)
