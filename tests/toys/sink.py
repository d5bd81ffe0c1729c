"""A toy sink that keeps each chunk as a shard instead of joining them into one file,
as a format that cannot be concatenated (Parquet) would: ``corpus.shards/000000.jsonl``,
``000001.jsonl``, ... Registered with ``curate.formats.register_sink(ShardSink())``."""

from __future__ import annotations

import os
from pathlib import Path

from curate.formats.jsonl_sink import JsonlPart
from curate.outdir import fsync_path


class ShardSink:
    name = "shards"
    suffix = ".shards"

    def open(self, path: Path) -> JsonlPart:
        return JsonlPart(path)

    def join(self, parts: list[Path], target: Path) -> None:
        """Move every part into a folder that becomes ``target`` by one rename at the end;
        a part already moved by a killed join is there under its shard name."""
        if target.exists():
            return
        building = target.with_name(target.name + ".building")
        building.mkdir(exist_ok=True)
        for k, part in enumerate(parts):
            if part.exists():
                os.replace(part, building / f"{k:06d}.jsonl")
        fsync_path(building)
        os.replace(building, target)
        fsync_path(target.parent)
