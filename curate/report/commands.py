"""What `curate report` and `curate clusters` do, for the CLI and for Python callers."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import orjson

from curate.errors import UsageError
from curate.outdir import CLUSTERS, REPORT
from curate.report.clusters import ClusterIndex, cluster_records
from curate.report.folder import OutputFolder


@dataclass(frozen=True)
class Written:
    path: Path
    size: int  # bytes
    clusters: int
    copies: int


def target_of(out: Path, target: Path | None, default: str, overwrite: bool) -> Path:
    """Where to write: the given file or OUT/default; refuses an existing file unless overwrite."""
    path = target if target is not None else out / default
    if path.is_dir():
        raise UsageError(f"{path}: is a folder; give a file name with -o FILE")
    if path.exists() and not overwrite:
        raise UsageError(f"{path}: exists already; use --overwrite to replace it, or -o FILE to write elsewhere")
    if not path.parent.is_dir():
        raise UsageError(f"{path.parent}: no such folder; create it, or choose another -o FILE")
    return path


def _replace(path: Path, chunks) -> int:
    """Write the chunks to path.tmp and rename it: a failed write never leaves half a file."""
    tmp = path.with_name(path.name + ".tmp")
    size = 0
    try:
        with open(tmp, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
                size += len(chunk)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return size


def make_report(out: Path | str, target: Path | None = None, overwrite: bool = False) -> Written:
    from curate.report.charts import require_matplotlib

    require_matplotlib()
    from curate.report.figures import gather
    from curate.report.page import render

    folder = OutputFolder(out)
    path = target_of(folder.path, target, REPORT, overwrite)
    figures = gather(folder)
    size = _replace(path, [render(folder, figures).encode("utf-8")])
    return Written(path, size, len(figures.clusters), figures.clusters.total_copies)


def export_clusters(out: Path | str, target: Path | None = None, overwrite: bool = False) -> Written:
    folder = OutputFolder(out)
    path = target_of(folder.path, target, CLUSTERS, overwrite)
    index = ClusterIndex.of(folder)
    records = cluster_records(folder, index.clusters())
    size = _replace(path, (orjson.dumps(record, option=orjson.OPT_SORT_KEYS) + b"\n" for record in records))
    return Written(path, size, len(index), index.total_copies)
