"""How much memory a run may use (`--memory`), and the dedup index's share of it.

The dedup index is the one part of a run that grows with the corpus, and it lives in the
main process; the rest of that process is the same size for 20 MB or 10 GB of input
(measured on 20 MB: ~90 MB for `curate dedup`, ~260 MB for `curate run`, whose language
model is most of it). So the index gets the budget less a reserve for the rest, and spills
its band keys to disk past that (runs.py).
"""

from __future__ import annotations

import os

GIB = 1 << 30
DEFAULT_CEILING = 8 * GIB
# The main process without its index, with room to spare: `curate run` measured ~260 MB.
RESERVE = 320 << 20


def physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not a POSIX system that says
        return None


def default_memory() -> int:
    """min(8 GiB, a quarter of the machine's RAM): the rest is for the worker processes and
    for the kernel's page cache, which serves the index's files on disk (shingle sets,
    spilled keys) to its lookups. Past 8 GiB the index holds ~40M paragraphs in memory,
    and spilling the rest costs little, so more would buy little."""
    ram = physical_memory()
    return DEFAULT_CEILING if ram is None else min(DEFAULT_CEILING, ram // 4)


def index_budget(memory: int) -> int:
    """The dedup index's share of a process's ``memory``: all but the reserve for the rest
    of the process, and at least half (a budget below twice the reserve cannot be met by
    `curate run`; the index then still spills, as far as half of it)."""
    return memory - min(RESERVE, memory // 2)
