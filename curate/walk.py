"""Folders walked without recursion: Python 3.11's os.walk calls itself for every level,
and a tree some 1,000 folders deep (short names, far from any path limit) stopped a run
with a RecursionError, whichever folder it was: an input folder, a rule folder."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path


def walk_folders(top: Path | str, onerror: Callable[[OSError], None],
                 followlinks: bool = False) -> Iterator[tuple[str, list[str], list[str]]]:
    """os.walk, top-down, in the same order and with the same results, from an explicit
    stack (the loop of Python 3.12's os.walk). The caller may prune ``dirnames`` in place,
    as with os.walk."""
    stack: list[str] = [os.fspath(top)]
    while stack:
        here = stack.pop()
        dirs: list[str] = []
        nondirs: list[str] = []
        try:
            entries = os.scandir(here)
        except OSError as err:
            onerror(err)
            continue
        with entries:
            try:
                for entry in entries:
                    try:
                        is_dir = entry.is_dir()
                    except OSError:
                        is_dir = False
                    (dirs if is_dir else nondirs).append(entry.name)
            except OSError as err:
                onerror(err)
                continue
        yield here, dirs, nondirs
        for name in reversed(dirs):
            below = os.path.join(here, name)
            if followlinks or not os.path.islink(below):
                stack.append(below)
