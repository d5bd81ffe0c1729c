"""Where each document id of a run was first used, to name the documents that use it again.

Ids are meant to be unique, and a document whose id was used before is kept after a
problem naming the first use. The run must remember every id it has seen, so this state
grows with the corpus: a Python dict from a 64-bit hash to the first use took ~120 bytes a
document, ~420 MB in the main process for 10 GB of text, outside any `--memory` budget.
Here the hashes are the keys of the dedup index's sorted runs (runs.py: 12 bytes a
document in memory, spilled to disk with a Bloom filter past a small budget) and the first
uses are 8 bytes a document in an anonymous temporary file, read only for a duplicate.

Ids are checked in chunks (``check_many``): a chunk's hashes are looked up at once, as the
dedup index looks up a batch's band keys.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import xxhash

from curate.document import Problem, RawDocument
from curate.errors import CurateError
from curate.outdir import close_unwritten
from curate.stages.dedup.runs import SortedRuns

if TYPE_CHECKING:
    from curate.discover import InputFile

BUDGET = 32 << 20  # bytes of sorted runs in memory before they spill to disk
CHUNK = 512  # documents a reader's ids are checked together (read_documents) ...
CHUNK_BYTES = 8 << 20  # ... or fewer, when they hold this much text
LINE_BITS = 40  # a first use is file number << 40 | record line
Entry = tuple[str, str, "int | None", int]  # id, source, record line, file number
DUPLICATE_ID = "duplicate id"  # the kind of a reused id's problem (summary.json's by_kind)


class IdRegistryError(CurateError):
    """The registry's files could not be made, written or read (a full disk, a temporary
    folder curate cannot write): the run stops (driver.run), its message naming the folder
    and what to do."""


class IdRegistry:
    """The first use of every document id of a run, in input order."""

    def __init__(self, files: list[InputFile], folder: Path | None = None):
        self.files = files
        self.numbers = {f.source: number for number, f in enumerate(files)}
        self.folder = folder
        with self._stopped_by_disk():
            if folder is not None:
                folder.mkdir(parents=True, exist_ok=True)
            self._runs = SortedRuns(BUDGET, folder)
            # int64 per id, by ordinal; closed by close(), and gone with the process anyway
            self._first_uses = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115
        self._count = 0

    @contextlib.contextmanager
    def _stopped_by_disk(self) -> Iterator[None]:
        """An OSError of the registry's files as the error that stops the run. Without a
        folder they are in the system's temporary folder, which the user never named: the
        message names it, and how to choose another."""
        try:
            yield
        except OSError as err:
            reason = err.strerror or str(err)
            if self.folder is not None:
                raise IdRegistryError(f"cannot write {err.filename or self.folder}: {reason}") from err
            room = "with room" if err.errno in (errno.ENOSPC, errno.EDQUOT) else "curate can write"
            raise IdRegistryError(f"cannot write the document ids' scratch file in the temporary folder "
                                  f"{tempfile.gettempdir()}: {reason}; set TMPDIR to a folder {room}") from err

    def close(self) -> None:
        """Delete the registry's files. What they still buffer is not written: no one reads
        it, and on a full disk that write failed (over the error that stopped the run)."""
        self._runs.close()
        close_unwritten(self._first_uses)

    def check_many(self, entries: Sequence[Entry]) -> list[Problem | None]:
        """For consecutive documents (id, source, record line, file number), in their order:
        None, or the problem to put before the document, whose id an earlier chunk's
        document or an earlier one of this chunk used first."""
        with self._stopped_by_disk():
            return self._check_many(entries)

    def _check_many(self, entries: Sequence[Entry]) -> list[Problem | None]:
        if not entries:
            return []
        keys = np.fromiter((xxhash.xxh3_64_intdigest(doc_id.encode("utf-8")) for doc_id, *_ in entries),
                           dtype=np.uint64, count=len(entries))
        here = np.fromiter((number << LINE_BITS | (line or 0) for _, _, line, number in entries),
                           dtype=np.int64, count=len(entries))
        first = np.full(len(entries), -1, dtype=np.int64)  # an earlier chunk's first use, or -1
        query, found = self._runs.lookup(keys)
        if len(query):
            first[query] = self._read_first_uses(found)
        # Within the chunk: the earliest position of each key not used before is its first use.
        _, earliest = np.unique(keys, return_index=True)
        new = np.zeros(len(entries), dtype=bool)
        new[earliest] = True
        new &= first < 0
        problems: list[Problem | None] = [None] * len(entries)
        reused = np.flatnonzero(~new).tolist()  # nearly always none: no Python step per id
        if reused:
            earliest_of = dict(zip(keys[new].tolist(), here[new].tolist(), strict=True))
            for k in reused:
                doc_id, source, line, _ = entries[k]
                use = int(first[k]) if first[k] >= 0 else earliest_of[int(keys[k])]
                problems[k] = self._problem(doc_id, source, line, use)
        self._add(keys[new], here[new])
        return problems

    def _add(self, keys: np.ndarray, here: np.ndarray) -> None:
        if not len(keys):
            return
        self._runs.add(keys, np.arange(self._count, self._count + len(keys), dtype=np.uint32))
        self._first_uses.seek(0, os.SEEK_END)
        self._first_uses.write(here.astype(np.int64).tobytes())
        self._count += len(keys)

    def _read_first_uses(self, ordinals: np.ndarray) -> np.ndarray:
        self._first_uses.flush()
        fd = self._first_uses.fileno()
        return np.array([int.from_bytes(os.pread(fd, 8, 8 * k), "little", signed=True) for k in ordinals.tolist()],
                        dtype=np.int64)

    def _problem(self, doc_id: str, source: str, record_line: int | None, first: int) -> Problem:
        first_line = first & ((1 << LINE_BITS) - 1)
        first_source = self.files[first >> LINE_BITS].source
        where = f"{first_source}:{first_line}" if first_line else first_source
        shown = doc_id if len(doc_id) <= 80 else doc_id[:79] + "…"
        return Problem(source, record_line, f"duplicate id {shown!r}, first used at {where}",
                       "kept; give each record its own id so records can be told apart", lines=0,
                       kind=DUPLICATE_ID)


def with_id_problems(items: Iterable[tuple[int, RawDocument | Problem]],
                     ids: IdRegistry) -> Iterator[RawDocument | Problem]:
    """The items (each with its file's number), with the problem of a reused id before its
    document; ids are checked CHUNK documents at a time."""
    pending: list[tuple[int, RawDocument | Problem]] = []
    documents = size = 0

    def flush() -> Iterator[RawDocument | Problem]:
        docs = [(item.id, item.source, item.record_line, number) for number, item in pending
                if isinstance(item, RawDocument)]
        problems = iter(ids.check_many(docs))
        for _, item in pending:
            if isinstance(item, RawDocument) and (problem := next(problems)) is not None:
                yield problem
            yield item

    for number, item in items:
        pending.append((number, item))
        if isinstance(item, RawDocument):
            documents += 1
            size += item.size
        if documents >= CHUNK or size >= CHUNK_BYTES:
            yield from flush()
            pending, documents, size = [], 0, 0
    yield from flush()
