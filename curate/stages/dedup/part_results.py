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
        """Each task's result, in task order: read back if kept, else from ``run`` (given
        the tasks not kept, in order) and kept as it comes."""
        missing = [k for k in range(len(tasks)) if not self._path(kind, k).exists()]
        computed = run([tasks[k] for k in missing]) if missing else iter(())
        for k in range(len(tasks)):
            path = self._path(kind, k)
            if path.exists():
                with np.load(path, allow_pickle=False) as found:
                    yield tuple(_from_array(found[f"p{i}"]) for i in range(len(found.files)))
                continue
            result = next(computed)
            buffer = io.BytesIO()
            np.savez(buffer, **{f"p{i}": _to_array(part) for i, part in enumerate(result)})  # type: ignore[arg-type]
            write_durably(path, buffer.getvalue())
            yield result

    def _path(self, kind: str, number: int) -> Path:
        return self.folder / f"{kind}-{number}.npz"

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


# A result's bytes (marshalled references) kept as a 1-d array of bytes with this dtype
# name's marker: a numpy bytes scalar would drop their trailing zero bytes.
_BYTES = np.dtype([("byte", np.uint8)])


def _to_array(part: Any) -> np.ndarray:
    if isinstance(part, bytes):
        return np.frombuffer(part, dtype=_BYTES)
    return np.asarray(part)


def _from_array(array: np.ndarray) -> Any:
    return array.tobytes() if array.dtype == _BYTES else array
