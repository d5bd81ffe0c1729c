"""``--inputs-from FILE``: inputs listed in a file, one per line, as they would be given on
the command line (paths, URLs or patterns).

A crawl's file list does not fit a command line (Common Crawl's ``wet.paths.gz`` names
about 90,000 files, some 10 MB of text; Linux takes 2 MB of arguments), and it is already
a file. Lines are read as written but for their line break; blank lines and lines
starting with ``#`` are left out. FILE may be ``-`` (standard input, told compressed by
its first bytes), compressed (``.gz``, ``.zst``, ...: by its name) and a URL.
"""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from curate.errors import UsageError, raise_if_machine_limit
from curate.formats.base import NotRegularFile
from curate.formats.compressed import COMPRESSIONS, open_stream
from curate.storage import Location, as_location

LIMIT = 256 << 20  # bytes of a list, decompressed: Common Crawl's list of WET files is ~10 MB

# A stream has no name to tell its compression by; its first bytes do.
_MAGIC = {b"\x1f\x8b": ".gz", b"\x28\xb5\x2f\xfd": ".zst", b"BZh": ".bz2", b"\xfd7zXZ\x00": ".xz"}


@dataclass
class Listed:
    """The inputs a list names, in its order, and the lines of the list that name each
    (by every spelling an error may give it: as written, and as its path spells it), so
    that an error about one can say where it came from."""

    source: str
    inputs: list[Location] = field(default_factory=list)
    lines: dict[str, list[int]] = field(default_factory=dict)


def listed_inputs(source: str) -> list[Location]:
    """The inputs the file (or ``-``, standard input) lists, in its order."""
    return read_list(source).inputs


def read_list(source: str) -> Listed:
    """The inputs the file (or ``-``, standard input) lists, with the line of each."""
    try:
        if source == "-":
            data = _decompressed(sys.stdin.buffer.read(LIMIT + 1))
        else:
            with open_stream(as_location(source)) as stream:
                data = stream.read(LIMIT + 1)
    except (OSError, NotRegularFile, EOFError, ValueError) as err:
        # Too many open files is no fault of the list's: "check the path" sent the user
        # to a file that is fine.
        raise_if_machine_limit(err, f"reading --inputs-from {source}")
        raise UsageError(f"--inputs-from {source}: cannot read it ({err}); check the path") from err
    except MemoryError:  # no fault of the file's: "cannot read it ()" sent the user to check it
        raise
    except Exception as err:  # a compressed list's own decoding errors (zlib, zstd)
        raise UsageError(f"--inputs-from {source}: cannot read it ({err}); check the file") from err
    if len(data) > LIMIT:
        raise UsageError(f"--inputs-from {source}: a list of more than {LIMIT >> 20} MiB (millions of inputs); "
                         "split it into several runs")
    listed = Listed(source)
    for number, name in _names(data.splitlines()):
        location = as_location(name)
        listed.inputs.append(location)
        for spelling in {name, os.fspath(location)}:
            listed.lines.setdefault(spelling, []).append(number)
    if not listed.inputs:
        raise UsageError(f"--inputs-from {source}: the file lists no input (one path, URL or pattern a line)")
    return listed


def origins(message: str, listed: Listed, given: Sequence[str]) -> str:
    """Where the inputs an error message names came from, when one came from the list:
    " (sub/missing.txt is line 2002 of --inputs-from list.txt)"; "" when none did. An
    input is named when it stands whole in the message (after its start, a space or a
    bracket; before its end, a space, ':', ';', ',' or a bracket). ``given``: the inputs
    of the command line, as spelled."""
    on_command_line = set(given) | {os.fspath(as_location(name)) for name in given}
    notes = []
    for spelling, numbers in listed.lines.items():
        if spelling not in message or not re.search(rf"(?:^|[\s(]){re.escape(spelling)}(?:$|[\s:;,)])", message):
            continue
        lines = ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}" if len(numbers) > 1 else str(numbers[0])
        where = f"line{'s' if len(numbers) > 1 else ''} {lines} of --inputs-from {_list_name(listed.source)}"
        also = "given on the command line and on " if spelling in on_command_line else ""
        notes.append((message.index(spelling), f"{spelling} is {also}{where}"))
    if not notes:
        return ""
    notes.sort()  # in the order the message names them
    return " (" + "; ".join(text for _, text in notes[:3]) + ")"


def _list_name(source: str) -> str:
    return "- (standard input)" if source == "-" else source


def _decompressed(data: bytes) -> bytes:
    """Standard input's bytes, decompressed if they start as a compressed stream does
    (``curl .../wet.paths.gz | curate run --inputs-from -``)."""
    suffix = next((suffix for magic, suffix in _MAGIC.items() if data.startswith(magic)), None)
    if suffix is None:
        return data
    with COMPRESSIONS[suffix](io.BytesIO(data)) as stream:
        return stream.read(LIMIT + 1)


def _names(lines: list[bytes]) -> Iterator[tuple[int, str]]:
    """(line number, name) of every line that names an input."""
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith(b"#"):
            continue
        # A local name may hold bytes that are not UTF-8: kept as the file system spells them.
        yield number, os.fsdecode(line)
