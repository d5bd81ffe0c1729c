"""Append-only records on disk, read back by number: the dedup index's shingle sets and
paragraph references.

The index needs a kept paragraph's shingle set only when a later paragraph shares one of
its bands (to verify the pair), and its reference only when a copy points at it. Holding
them in memory would cost more than the rest of the index together (a 100-word paragraph
has ~400 bytes of shingle hashes), so they are written to a file as they come and read
with ``os.pread``: only an offset per record stays in memory, and the pages read are the
kernel's cache, not the process's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Self

import numpy as np


class RecordFile:
    """Records (byte strings) numbered from 0 in the order they were appended.

    Record k ends at byte ends[k]. The ends are an array in memory (8 bytes a record);
    under a memory budget, ``spill_ends`` moves the ones so far to a file beside the
    records (PATH.ends), and a record among them costs one more small read."""

    def __init__(self, path: Path):
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        self._ends = np.zeros(1024, dtype=np.int64)  # ends of records _disk.. ; grown by doubling
        self._count = 0
        self._size = 0
        # The first _disk ends are in a file (int64, from byte _ends_offset), not in _ends.
        self._disk = 0
        self._ends_path = path.with_name(path.name + ".ends")
        self._ends_fd = -1
        self._ends_offset = 0

    @classmethod
    def existing(cls, path: Path, ends: np.ndarray, in_memory: bool = True) -> Self:
        """A file written before (a saved index), read only: record k ends at ``ends[k]``.
        ``ends`` mapped from a .npy file and not ``in_memory`` are read from that file."""
        store = cls.__new__(cls)
        store.path = path
        store._fd = os.open(path, os.O_RDONLY)
        store._count = len(ends)
        store._size = int(ends[-1]) if len(ends) else 0
        store._ends_fd = -1
        if in_memory or not isinstance(ends, np.memmap) or ends.filename is None:
            store._ends = np.array(ends, dtype=np.int64)
            store._disk = 0
            store._ends_path, store._ends_offset = path.with_name(path.name + ".ends"), 0
        else:
            store._ends = np.zeros(0, dtype=np.int64)
            store._disk = len(ends)
            store._ends_path, store._ends_offset = Path(ends.filename), ends.offset
            store._ends_fd = os.open(store._ends_path, os.O_RDONLY)
        return store

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        """Memory held per record: the end offsets in memory (allocated capacity)."""
        return self._ends.nbytes

    def append(self, data: bytes, lengths: np.ndarray) -> None:
        """Append consecutive records: ``data`` is their bytes one after another and
        ``lengths`` how many belong to each."""
        if not len(lengths):
            return
        _write_all(self._fd, data, self.path)
        held, need = self._count - self._disk, self._count - self._disk + len(lengths)
        if need > len(self._ends):
            grown = np.zeros(max(need, 2 * len(self._ends)), dtype=np.int64)
            grown[:held] = self._ends[:held]
            self._ends = grown
        np.cumsum(lengths, out=self._ends[held:need])
        self._ends[held:need] += self._size
        self._count += len(lengths)
        self._size += len(data)

    def spill_ends(self) -> None:
        """Move the ends held in memory to the ends file."""
        held = self._count - self._disk
        if not held:
            return
        if self._ends_fd < 0:
            self._ends_fd = os.open(self._ends_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        _write_all(self._ends_fd, self._ends[:held].tobytes(), self._ends_path)
        self._disk = self._count
        self._ends = np.zeros(1024, dtype=np.int64)

    @property
    def ends(self) -> np.ndarray:
        """End offset of every record (read from the ends file for those spilled)."""
        held = self._ends[:self._count - self._disk]
        if not self._disk:
            return held
        return np.concatenate([self._read_ends(0, self._disk), held])

    def _read_ends(self, first: int, count: int) -> np.ndarray:
        size = 8 * count
        data = os.pread(self._ends_fd, size, self._ends_offset + 8 * first)
        if len(data) != size:
            raise OSError(f"{self._ends_path}: ends of records {first}.. cut short ({len(data)} of {size} bytes)")
        return np.frombuffer(data, dtype=np.int64)

    def span(self, k: int) -> tuple[int, int]:
        """(start, end) byte offsets of record k."""
        if 0 < k < self._disk:  # both ends in the file: one read
            start, end = self._read_ends(k - 1, 2).tolist()
            return start, end
        return (self._end(k - 1) if k else 0), self._end(k)

    def spans(self, ks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(starts, ends) of records ``ks`` (int64 array), as ``span`` gives them one by
        one; with the ends in memory, without a Python step per record."""
        ks = np.asarray(ks, dtype=np.int64)
        held = self._ends[:self._count - self._disk]
        if not self._disk:
            ends = held[ks]
            starts = np.where(ks > 0, held[np.maximum(ks - 1, 0)], 0)
            return starts, ends
        pairs = [self.span(k) for k in ks.tolist()]
        return (np.array([start for start, _ in pairs], dtype=np.int64),
                np.array([end for _, end in pairs], dtype=np.int64))

    def read_spans(self, starts: np.ndarray, ends: np.ndarray) -> bytes:
        """The bytes of the records at these spans, one after another."""
        return b"".join(self._pread(start, end) for start, end in zip(starts.tolist(), ends.tolist(), strict=True))

    def _pread(self, start: int, end: int) -> bytes:
        data = os.pread(self._fd, end - start, start)
        if len(data) != end - start:
            raise OSError(f"{self.path}: the record at byte {start} is cut short ({len(data)} of {end - start} bytes)")
        return data

    def _end(self, k: int) -> int:
        return int(self._read_ends(k, 1)[0]) if k < self._disk else int(self._ends[k - self._disk])

    def read(self, k: int) -> bytes:
        """Record k (one per duplicate found: no arrays for a single span)."""
        return self._pread(*self.span(k))

    def close(self) -> None:
        for fd in (self._fd, self._ends_fd):
            if fd >= 0:
                os.close(fd)
        self._fd = self._ends_fd = -1


def _write_all(fd: int, data: bytes, path: Path) -> None:
    view = memoryview(data)
    written = 0
    try:
        while written < len(view):  # os.write may write less than asked (a signal, a pipe)
            written += os.write(fd, view[written:])
    except OSError as err:  # os.write does not name the file
        raise OSError(err.errno, err.strerror, str(path)) from err
