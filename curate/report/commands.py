"""What `curate report` and `curate clusters` do, for the CLI and for Python callers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import orjson

from curate.card import CARD
from curate.discover import is_curate_output
from curate.errors import ArgumentError, UsageError
from curate.outdir import CLUSTERS, CORPUS, CURATE_NAMES, DISCARDED, INDEX, INDEX_BUILDING, PARTIAL, REPORT
from curate.report.clusters import ClusterIndex, cluster_records
from curate.report.folder import OutputFolder
from curate.userfile import check_reachable, replace_file


@dataclass(frozen=True)
class Written:
    path: Path | None  # None: written to the stream given
    size: int  # bytes
    clusters: int
    copies: int


def target_of(out: Path, target: Path | None, default: str, overwrite: bool) -> Path:
    """Where to write: the given file or OUT/default; refuses a file of an output folder
    (see _refuse_inside_output) and an existing file unless overwrite."""
    path = target if target is not None else out / default
    check_reachable(path, "-o")
    if path.is_dir():
        raise UsageError(f"{path}: is a folder; give a file name with -o FILE")
    if not path.parent.is_dir():
        raise UsageError(f"{path.parent}: no such folder; create it, or choose another -o FILE")
    _refuse_inside_output(path, out, default)
    if path.exists() and not overwrite:
        raise UsageError(f"{path}: exists already; use --overwrite to replace it, or -o FILE to write elsewhere")
    return path


# What each of a run's own folders holds, for the message that refuses a file in it.
_HOLDS = {CORPUS: "the kept text (corpus shards) and nothing else", INDEX: "the run's saved dedup index",
          PARTIAL: "the chunks of a run being written", INDEX_BUILDING: "a dedup index being written",
          DISCARDED: "what a finished run left to delete"}


def _refuse_inside_output(path: Path, out: Path, default: str) -> None:
    """Refuse a file that would land among an output folder's own files: over a corpus
    shard, summary.json, removed.jsonl, ... (data lost), or anywhere in corpus/ (which
    holds the kept text and nothing else: a reader of the corpus would read the report).
    Only ``default`` (report.html, clusters.jsonl) may be written into the run's own
    folder: curate counts it as its own, so a later `curate run --overwrite` removes it."""
    # Where os.replace puts the file: the folder with its links and `..` resolved, and the
    # name as given (a link there is replaced, not followed, so it is no way in).
    landing = path.parent.resolve() / path.name
    home = out.resolve()
    folder = next((f for f in landing.parents if f == home or is_curate_output(f)), None)
    if folder is None:
        return
    inside = landing.relative_to(folder).parts
    if folder == home and inside == (default,):
        return
    if folder != home:
        why = f"lies in another run's output folder ({folder})"
    elif len(inside) > 1:
        why = f"lies in {folder / inside[0]}/, which holds {_HOLDS.get(inside[0], 'part of the run')}"
    elif inside[0] in CURATE_NAMES or inside[0] == CARD:
        why = f"is curate's own {inside[0]} in the output folder {folder}"
    else:
        why = f"would add a file the run did not write to its output folder {folder}"
    raise ArgumentError(f"{path}: {why}; give -o a file outside the output folder, or leave out -o to write "
                        f"{out / default}")


def make_report(out: Path | str, target: Path | None = None, overwrite: bool = False,
                stream: BinaryIO | None = None) -> Written:
    """Write OUT's report to ``target`` (default OUT/report.html), or to ``stream`` (the
    CLI's standard output, for -o -) when one is given."""
    from curate.report.charts import require_matplotlib

    require_matplotlib()
    from curate.report.figures import gather
    from curate.report.page import render

    folder = OutputFolder(out)
    path = None if stream is not None else target_of(folder.path, target, REPORT, overwrite)
    figures = gather(folder)
    size = _write(path, stream, [render(folder, figures).encode("utf-8")])
    return Written(path, size, len(figures.clusters), figures.clusters.total_copies)


def export_clusters(out: Path | str, target: Path | None = None, overwrite: bool = False,
                    stream: BinaryIO | None = None) -> Written:
    """Write OUT's clusters to ``target`` (default OUT/clusters.jsonl), or to ``stream``."""
    folder = OutputFolder(out)
    path = None if stream is not None else target_of(folder.path, target, CLUSTERS, overwrite)
    index = ClusterIndex.of(folder)
    records = cluster_records(folder, index.clusters())
    size = _write(path, stream, (orjson.dumps(record, option=orjson.OPT_SORT_KEYS) + b"\n" for record in records))
    return Written(path, size, len(index), index.total_copies)


def _write(path: Path | None, stream: BinaryIO | None, chunks: Iterable[bytes]) -> int:
    if path is not None:
        return replace_file(path, chunks)
    assert stream is not None
    size = 0
    for chunk in chunks:
        stream.write(chunk)
        size += len(chunk)
    stream.flush()
    return size
