"""Batches that shrink towards the end of a run, so that the workers finish together.

With batches of one size the last ones are handed out early, each worker taking its own
few, and the run ends when the worker that drew the most work finishes: on 2 cores with
1 MB batches (half a second of work each) one of them idled for up to a second at the end
of a 20 MB run. Here each batch takes a share of the input still left, never more than
the engine's full size and never less than the driver's own batch size: full-sized
batches while plenty is left, then smaller and smaller ones (guided self-scheduling,
Polychronopoulos and Kuck, 1987). Where a run's batches are cut never changes its output.
"""

from __future__ import annotations

from dataclasses import dataclass

# A batch takes at most 1 / (TAPER * workers) of the input left: the workers' last batches
# together are then about half of what is left when they are handed out.
TAPER = 2


@dataclass(frozen=True)
class BatchSizes:
    """The input a batch holds, given the run's input before it (``done``)."""

    full: int  # while plenty is left
    least: int  # near the end
    total: int  # the run's input
    workers: int

    def __call__(self, done: int) -> int:
        left = self.total - done
        return max(self.least, min(self.full, left // (TAPER * max(1, self.workers))))
