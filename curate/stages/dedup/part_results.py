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

from curate.outdir import fsync_path, write_durably, write_synced
from curate.stages.dedup.mapped import MappedFile

PLAN = "plan.json"
TYPES = "types.json"  # each array's numpy type, in order


class PartResults:
    """The folder of one settle's part results: ``plan`` (the cut), then each part's
    arrays as ``{kind}-{number}/{i}.bin`` with their types in ``types.json``, the folder
    written whole or not at all. Results come back mapped from their files (mapped.py), so
    that holding every group's result (to merge them) holds no array in memory; `forget`
    lets go of the pages read so far."""

    def __init__(self, folder: Path, rows: int, plan: dict[str, int]):
        self.folder = folder
        self._maps: list[MappedFile] = []
        try:
            recorded = json.loads((folder / PLAN).read_text())
        except (OSError, ValueError):
            recorded = None
        if not isinstance(recorded, dict) or recorded.get("rows") != rows or set(recorded) != {*plan, "rows"}:
            shutil.rmtree(folder, ignore_errors=True)  # none, damaged, made for other rows or by another version
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

    def missing(self, kind: str, count: int) -> bool:
        """Whether any of the ``count`` results of ``kind`` is not kept."""
        return any(not self._path(kind, k).exists() for k in range(count))

    @staticmethod
    def _keep(path: Path, result: tuple) -> None:
        building = path.with_name(path.name + ".tmp")
        shutil.rmtree(building, ignore_errors=True)  # a killed run's
        building.mkdir()
        arrays = [np.ascontiguousarray(part) for part in result]
        for i, array in enumerate(arrays):
            write_synced(building / f"{i}.bin", array.data.cast("B"))
        write_synced(building / TYPES, json.dumps([array.dtype.str for array in arrays]).encode())
        fsync_path(building)
        os.replace(building, path)
        fsync_path(path.parent)

    def _read(self, path: Path) -> tuple:
        types = json.loads((path / TYPES).read_text())
        maps = [MappedFile(path / f"{i}.bin") for i in range(len(types))]
        self._maps += maps
        return tuple(mapped.array(np.dtype(kind)) for mapped, kind in zip(maps, types, strict=True))

    def _path(self, kind: str, number: int) -> Path:
        return self.folder / f"{kind}-{number}"

    def forget(self) -> None:
        """Let go of the pages of every result read so far."""
        for mapped in self._maps:
            mapped.forget()

    def remove(self) -> None:
        for mapped in self._maps:
            mapped.close()
        self._maps = []
        shutil.rmtree(self.folder, ignore_errors=True)
