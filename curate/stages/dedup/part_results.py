"""--dedup-parts: each part's result kept on disk as it comes, so that a run stopped while
the parts run does only the missing ones again when it resumes.

The parts are a pure function of the rows and of how the work was cut (how many key
partitions and groups): the cut is written first (``plan.json``, with the rows it was made
for), and a resumed settle takes it, whatever --workers or --memory it runs with, so
that the results on disk fit. A plan made for other rows is discarded with its results.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from curate.outdir import fsync_path, write_durably

PLAN = "plan.json"


class PartResults:
    """The folder of one settle's part results: ``plan`` (the cut), then each part's
    arrays as ``{kind}-{number}/{i}.npy``, the folder written whole or not at all. Results
    come back mapped from their files, so that holding every group's result (to merge
    them) holds no array in memory."""

    def __init__(self, folder: Path, rows: int, plan: dict[str, int]):
        self.folder = folder
        try:
            recorded = json.loads((folder / PLAN).read_text())
        except (OSError, ValueError):
            recorded = None
        if not isinstance(recorded, dict) or recorded.get("rows") != rows:
            shutil.rmtree(folder, ignore_errors=True)  # none, damaged, or made for other rows
            folder.mkdir(parents=True)
            recorded = {**plan, "rows": rows}
            write_durably(folder / PLAN, json.dumps(recorded, sort_keys=True).encode())
        self.plan: dict[str, int] = recorded

    def ordered(self, kind: str, tasks: Sequence[Any], run: Callable[[list], Iterator[tuple]]) -> Iterator[tuple]:
        """Each task's result (a tuple of arrays), in task order: read back if kept, else
        from ``run`` (given the tasks not kept, in order) and kept as it comes."""
        missing = [k for k in range(len(tasks)) if not self._path(kind, k).exists()]
        computed = run([tasks[k] for k in missing]) if missing else iter(())
        todo = set(missing)
        for k in range(len(tasks)):
            path = self._path(kind, k)
            if k in todo:
                self._keep(path, next(computed))
            yield self._read(path)

    @staticmethod
    def _keep(path: Path, result: tuple) -> None:
        building = path.with_name(path.name + ".tmp")
        shutil.rmtree(building, ignore_errors=True)  # a killed run's
        building.mkdir()
        for i, part in enumerate(result):
            with open(building / f"{i}.npy", "wb") as f:
                np.save(f, np.asarray(part), allow_pickle=False)
                f.flush()
                os.fsync(f.fileno())
        fsync_path(building)
        os.replace(building, path)
        fsync_path(path.parent)

    @staticmethod
    def _read(path: Path) -> tuple:
        count = len(list(path.glob("*.npy")))
        return tuple(np.load(path / f"{i}.npy", mmap_mode="r", allow_pickle=False) for i in range(count))

    def _path(self, kind: str, number: int) -> Path:
        return self.folder / f"{kind}-{number}"

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
