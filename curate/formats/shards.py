"""The corpus as a folder of shards, one per chunk of the run, in JSON Lines, gzip or zstd.

A chunk is ``--chunk-docs`` items cut in input order, so the shards, their names and
their bytes depend only on the inputs and the settings, never on ``--workers`` or the
engine. Compressed shards are deterministic: gzip without a file name or a time stamp,
zstd in one frame without a content size; both at a fixed level.

A chunk that keeps no document leaves its part empty (0 bytes, not even a compressed
header), and the commit writes no shard for it: a reader of the folder never meets an
empty file, and the shard numbers say which chunk each came from.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import IO, Protocol

from curate.formats.jsonl_sink import dumps
from curate.outdir import fsync_path

# The version of the corpus record and folder layout (docs/output.md), in summary.json.
# 2: the folder holds README.md, a dataset card (curate.card); nothing else changed.
SCHEMA_VERSION = 2
GZIP_LEVEL = 6  # gzip's own default: about a third of level 9's time for 1-2% more bytes
ZSTD_LEVEL = 3  # zstd's own default


def shard_name(chunk: int, suffix: str) -> str:
    """``part-00000.jsonl.gz``: five digits sort in chunk order up to 100,000 shards
    (a billion documents at the default --chunk-docs)."""
    return f"part-{chunk:05d}{suffix}"


class _Stream(Protocol):
    def write(self, data: bytes, /) -> int: ...

    def close(self) -> None: ...


class _LazyPart:
    """One chunk's corpus shard: the file is created at once (the writer checks that a
    finished chunk's parts exist) but nothing is written into it before the first
    record, so an empty chunk leaves 0 bytes."""

    __slots__ = ("_file", "_stream")

    def __init__(self, path: Path):
        self._file: IO[bytes] = open(path, "wb")  # noqa: SIM115 - open across calls, until close
        self._stream: _Stream | None = None

    def _open_stream(self, raw: IO[bytes]) -> _Stream:
        return raw

    def write(self, record: dict) -> None:
        if self._stream is None:
            self._stream = self._open_stream(self._file)
        self._stream.write(dumps(record) + b"\n")

    def write_line(self, data: bytes) -> None:
        if self._stream is None:
            self._stream = self._open_stream(self._file)
        self._stream.write(data)

    def close(self) -> None:
        try:
            if self._stream is not None and self._stream is not self._file:
                self._stream.close()
        finally:
            self._file.close()


class _GzipPart(_LazyPart):
    __slots__ = ()

    def _open_stream(self, raw: IO[bytes]) -> _Stream:
        # No name and mtime 0: the header then holds nothing that differs between runs.
        return gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=GZIP_LEVEL, mtime=0)


class _ZstdPart(_LazyPart):
    __slots__ = ()

    def _open_stream(self, raw: IO[bytes]) -> _Stream:
        import zstandard

        # One thread: multi-threaded zstd cuts its jobs by timing-independent sizes too, but
        # one thread needs no argument. The checksum is of the content, so it is the same too.
        compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True, threads=0)
        return compressor.stream_writer(raw, closefd=False)


class JsonlShards:
    """``--output-format jsonl``, ``jsonl.gz`` or ``jsonl.zst``. Uncompressed, each shard
    holds exactly the lines the single corpus.jsonl of earlier versions held for its chunk."""

    writes_lines = True  # its parts take encoded lines (LinePart)

    def __init__(self, name: str, part: type[_LazyPart]):
        self.name = name
        self.suffix = "." + name
        self._part = part

    def open(self, path: Path) -> _LazyPart:
        return self._part(path)


JSONL = JsonlShards("jsonl", _LazyPart)
JSONL_GZ = JsonlShards("jsonl.gz", _GzipPart)
JSONL_ZST = JsonlShards("jsonl.zst", _ZstdPart)


def join_shards(parts: list[Path], target: Path, suffix: str) -> None:
    """Move each non-empty part into a folder that becomes ``target`` by one rename at the
    end. Called again after a kill, with the same parts: a part moved already is in the
    folder under its shard name, and once ``target`` exists there is nothing left to do."""
    if target.exists():
        return
    building = target.with_name(target.name + ".building")
    building.mkdir(exist_ok=True)
    for chunk, part in enumerate(parts):
        if not part.exists():
            continue  # moved by a join that a kill stopped, or empty and deleted
        if part.stat().st_size == 0:
            part.unlink()  # a chunk that kept no document has no shard
        else:
            os.replace(part, building / shard_name(chunk, suffix))
    fsync_path(building)
    os.replace(building, target)
    fsync_path(target.parent)
