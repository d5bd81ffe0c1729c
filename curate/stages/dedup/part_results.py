"""--dedup-parts: each part's result kept on disk as it comes, so that a run stopped while
the parts run does only the missing ones again when it resumes.

The parts are a pure function of the rows and of how the work was cut (how many key
partitions and groups): the cut is written first (``plan.json``, with the rows it was made
for), and a resumed settle takes it, whatever --workers or --memory it runs with, so
that the results on disk fit. A plan made for other rows is discarded with its results.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from curate.outdir import write_durably

PLAN = "plan.json"


class PartResults:
    """The folder of one settle's part results: ``plan`` (the cut), then each part's
    arrays as ``{kind}-{number}.npz``, each written whole or not at all."""

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
            if k not in todo:
                with np.load(path, allow_pickle=False) as found:
                    yield tuple(found[f"p{i}"] for i in range(len(found.files)))
                continue
            result = next(computed)
            buffer = io.BytesIO()
            np.savez(buffer, **{f"p{i}": part for i, part in enumerate(result)})
            write_durably(path, buffer.getvalue())
            yield result

    def _path(self, kind: str, number: int) -> Path:
        return self.folder / f"{kind}-{number}.npz"

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

