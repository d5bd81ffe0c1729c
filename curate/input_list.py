"""``--inputs-from FILE``: inputs listed in a file, one per line, as they would be given on
the command line (paths, URLs or patterns).

A crawl's file list does not fit a command line (Common Crawl's ``wet.paths.gz`` names
about 90,000 files, some 10 MB of text; Linux takes 2 MB of arguments), and it is already
a file. Lines are read as written but for their line break; blank lines and lines
starting with ``#`` are left out. FILE may be ``-`` (standard input), compressed
(``.gz``, ``.zst``, ...) and a URL.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

from curate.errors import UsageError
from curate.formats.base import NotRegularFile
from curate.formats.compressed import open_stream
from curate.storage import Location, as_location


def listed_inputs(source: str) -> list[Location]:
    """The inputs the file (or ``-``, standard input) lists, in its order."""
    try:
        if source == "-":
            names = list(_names(sys.stdin.buffer.read().splitlines()))
        else:
            with open_stream(as_location(source)) as stream:
                names = list(_names(stream.read().splitlines()))
    except (OSError, NotRegularFile, EOFError, ValueError) as err:
        raise UsageError(f"--inputs-from {source}: cannot read it ({err}); check the path") from err
    except Exception as err:  # a compressed list's own decoding errors (zlib, zstd)
        raise UsageError(f"--inputs-from {source}: cannot read it ({err}); check the file") from err
    if not names:
        raise UsageError(f"--inputs-from {source}: the file lists no input (one path, URL or pattern a line)")
    return [as_location(name) for name in names]


def _names(lines: list[bytes]) -> Iterator[str]:
    for line in lines:
        if not line.strip() or line.lstrip().startswith(b"#"):
            continue
        # A local name may hold bytes that are not UTF-8: kept as the file system spells them.
        yield os.fsdecode(line)
