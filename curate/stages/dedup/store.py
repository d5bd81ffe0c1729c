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
    """Records (byte strings) numbered from 0 in the order they were appended."""

    def __init__(self, path: Path):
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        self._ends = np.zeros(1024, dtype=np.int64)  # record k ends at _ends[k]; grown by doubling
        self._count = 0
        self._size = 0

    @classmethod
    def existing(cls, path: Path, ends: np.ndarray) -> Self:
        """A file written before (a saved index), read only: record k ends at ``ends[k]``."""
        store = cls.__new__(cls)
        store.path = path
        store._fd = os.open(path, os.O_RDONLY)
        store._ends = np.asarray(ends, dtype=np.int64)
        store._count = len(ends)
        store._size = int(ends[-1]) if len(ends) else 0
        return store

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        """Memory held per record: the end offsets (allocated capacity)."""
        return self._ends.nbytes

    def append(self, data: bytes, lengths: np.ndarray) -> None:
        """Append consecutive records: ``data`` is their bytes one after another and
        ``lengths`` how many belong to each."""
        if not len(lengths):
            return
        written = 0
        view = memoryview(data)
        try:
            while written < len(view):  # os.write may write less than asked (a signal, a pipe)
                written += os.write(self._fd, view[written:])
        except OSError as err:  # os.write does not name the file
            raise OSError(err.errno, err.strerror, str(self.path)) from err
        need = self._count + len(lengths)
        if need > len(self._ends):
            grown = np.zeros(max(need, 2 * len(self._ends)), dtype=np.int64)
            grown[:self._count] = self._ends[:self._count]
            self._ends = grown
        np.cumsum(lengths, out=self._ends[self._count:need])
        self._ends[self._count:need] += self._size
        self._count = need
        self._size += len(data)

    @property
    def ends(self) -> np.ndarray:
        """End offset of every record."""
        return self._ends[:self._count]

    def span(self, k: int) -> tuple[int, int]:
        """(start, end) byte offsets of record k."""
        return (int(self._ends[k - 1]) if k else 0), int(self._ends[k])

    def read(self, k: int) -> bytes:
        start, end = self.span(k)
        data = os.pread(self._fd, end - start, start)
        if len(data) != end - start:
            raise OSError(f"{self.path}: record {k} is cut short ({len(data)} of {end - start} bytes)")
        return data

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
