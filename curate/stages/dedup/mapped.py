"""Files mapped into memory as numpy arrays, for the per-paragraph arrays of --dedup-parts
(rows, labels, verdicts) that must not be held in a process's memory: the kernel keeps
what it can of them in its cache. Pages a process has touched count in its resident
memory until it lets them go (`forget`), so a reader lets them go as it moves on."""

from __future__ import annotations

import contextlib
import mmap
from pathlib import Path

import numpy as np


class MappedFile:
    """``path`` mapped read-only; with ``size``, created (or cut) to that many bytes and
    mapped for writing too (what is written goes to the file). An empty file maps to an
    empty array."""

    def __init__(self, path: Path, size: int | None = None):
        self._map: mmap.mmap | None = None
        if size is None:
            if path.stat().st_size:
                with open(path, "rb") as f:
                    self._map = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
            return
        with open(path, "w+b") as f:
            f.truncate(size)
            if size:
                self._map = mmap.mmap(f.fileno(), size)

    def array(self, dtype: type | np.dtype) -> np.ndarray:
        return np.frombuffer(self._map, dtype=dtype) if self._map is not None else np.empty(0, dtype=dtype)

    def forget(self) -> None:
        """Unmap the pages touched so far (the kernel keeps them cached, and writes back
        those written)."""
        if self._map is not None and hasattr(mmap, "MADV_DONTNEED"):
            self._map.madvise(mmap.MADV_DONTNEED)

    def close(self) -> None:
        if self._map is not None:
            with contextlib.suppress(BufferError):  # an array still looks at it: unmapped when that goes
                self._map.close()
            self._map = None
