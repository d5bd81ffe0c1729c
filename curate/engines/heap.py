"""A worker's heap kept between batches instead of handed back to the system.

A worker maps a batch, sends it on and frees all of it: the top of its heap is free
after every batch. glibc's malloc gives free heap above its trim threshold back to the
system, and that threshold follows its mmap threshold (twice it), which starts at 128 kB
and rises only as far as the largest block freed so far (a few MB here). So a worker
gave back ~6.5 MB after every batch and faulted the same pages in again for the next:
262 MB of heap grown and 255 MB shrunk in a `curate dedup --workers 2` of 20 MB, 60-70%
of the run's page faults, counted with strace (brk) and perf (page-faults). The main
process churns less: what it keeps (the dedup index, the output) sits on its heap.

keep_freed_heap() sets both thresholds where glibc's own rule would end (the mmap
threshold's ceiling on 64-bit systems, 32 MB, and twice that for the trim): a worker
then holds at most 64 MB of freed heap for the next batch. `curate dedup --workers 2`
of 20 MB, 10 runs each beside the code before (bench/results/heap-s43.txt): page faults
95k -> 36k, CPU 2.70 -> 2.61 s, wall 1.47 -> 1.42 s, the same peak RSS. `curate run
--workers 2` (3 runs each): the same faults and peak RSS, wall 9.93 -> 9.68 s.

Elsewhere than glibc (musl, macOS) there is no mallopt with these settings: nothing changes.
"""

from __future__ import annotations

import ctypes

M_TRIM_THRESHOLD = -1  # glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit systems
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD  # as glibc sets it when it raises the mmap threshold


def keep_freed_heap() -> bool:
    """Keep up to TRIM_THRESHOLD of freed heap in this process; True when malloc took it."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success; setting either one also stops glibc's own adjustment.
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
