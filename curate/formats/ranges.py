"""Inputs cut into byte ranges that worker processes read themselves.

A large uncompressed JSON Lines file is the common input (one record per paragraph or
page), and reading it was a third of what the writing process did: every record parsed
there, then pickled to a worker. Here that process only counts the file's lines (bytes
at a time, no parsing) to cut it at line starts about every batch's size, and sends
each worker a `ReadRange`; the worker yields the records `JsonlReader.read` would yield
for those lines (`jsonl.read_records`). Every other file is read here as before.

The one thing a range cannot know is whether an id was used earlier in the run: the
worker sends back each document's id and the engine checks them in input order with the
run's `IdRegistry`, putting the same problem before a duplicate that `read_documents` puts.

An engine whose workers may be on other machines (Ray) sends every other file as a
`WholeFile`, read whole by one worker, so that its driver reads no document text either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from curate.document import Problem, RawDocument
from curate.formats import AUTO, ReadOptions, read_file, reader_for
from curate.formats.compressed import compression_of
from curate.formats.jsonl import JsonlReader, read_records, read_whole
from curate.storage import base_name

if TYPE_CHECKING:
    from curate.discover import InputFile

SCAN_BYTES = 1 << 20  # read at a time while counting lines


@dataclass(frozen=True)
class ReadRange:
    """Lines ``lines_before + 1``... of file ``number`` of the run, starting in ``[start, end)``."""

    file: InputFile
    number: int
    start: int
    end: int
    lines_before: int
    options: ReadOptions


@dataclass(frozen=True)
class WholeFile:
    """File ``number`` of the run, read whole by a worker: one that cannot be cut into ranges
    (compressed, Parquet, WET, a URL, a file of whitespace)."""

    file: InputFile
    number: int
    options: ReadOptions
    batch_bytes: int | None = None  # the parts the worker cuts it into (None: driver.BATCH_BYTES)


def read_range(part: ReadRange | WholeFile) -> list[RawDocument | Problem]:
    """The items `read_file` yields for the part, without the duplicate-id problems (the
    engine checks the ids in input order)."""
    if isinstance(part, WholeFile):
        return list(read_file(part.file, part.number, part.options))
    return list(read_records(part.file, part.options, part.start, part.end, part.lines_before))


def splittable(file: InputFile, options: ReadOptions) -> bool:
    """A local, uncompressed file read as JSON Lines, whose whole-file problems cannot occur
    once it holds a record: not named .json (whose first bad line may make the whole file
    one problem)."""
    reader = reader_for(file.path, options.format if options.format != AUTO else file.format)
    return (isinstance(reader, JsonlReader) and isinstance(file.path, Path) and compression_of(file.path) is None
            and not base_name(file.path).lower().endswith(".json") and file.size > 0)


def cut_ranges(file: InputFile, number: int, options: ReadOptions, size_at: Callable[[int], int],
               before: int = 0) -> list[ReadRange] | None:
    """The file's ranges, each ending at a line end after at least ``size_at(done)`` bytes,
    ``done`` being the run's input before the range (``before`` this file, plus the range's
    start in it: `BatchSizes` shrinks them towards the end); None when the file cannot be
    read here, holds nothing but whitespace (then it is read whole, so that its problem
    is the one a whole read reports) or is one that ``jsonl.read_whole`` keeps whole (UTF-16
    or UTF-32, or a first record that is not JSON, as pretty-printed records are)."""
    if read_whole(file, options):
        return None
    ranges: list[ReadRange] = []
    start = lines_before = 0  # where the next range starts, and the lines before it
    offset = lines = 0  # bytes and lines scanned so far
    content = False
    try:
        with open(file.path, "rb") as f:
            while block := f.read(SCAN_BYTES):
                content = content or not block.isspace()
                at = 0  # within the block
                while start + (want := size_at(before + start)) < offset + len(block):
                    cut = block.find(b"\n", max(at, start + want - offset))
                    if cut < 0:
                        break
                    lines += block.count(b"\n", at, cut + 1)
                    at = cut + 1
                    ranges.append(ReadRange(file, number, start, offset + at, lines_before, options))
                    start, lines_before = offset + at, lines
                lines += block.count(b"\n", at)
                offset += len(block)
    except OSError:
        return None
    if not content:
        return None
    if start < offset:
        ranges.append(ReadRange(file, number, start, offset, lines_before, options))
    return ranges
