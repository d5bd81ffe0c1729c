"""A finished output folder, read back: its summary, its corpus shards and removed.jsonl."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from curate.discover import InputFile
from curate.document import RawDocument
from curate.errors import UsageError
from curate.formats import reader_for
from curate.formats.base import ReadOptions
from curate.formats.jsonl import json_kind
from curate.outdir import CORPUS, LEGACY_CORPUS, PARTIAL, QUARANTINE, REMOVED, SUMMARY, is_curate_summary, lock_holder
from curate.paths import check_reachable

# A corpus record can be as large as the biggest input document, which --max-doc-bytes
# caps at 64 MiB by default; read back without a cap, so no kept document is skipped.
_READ = ReadOptions(max_doc_bytes=1 << 62, max_line_bytes=1 << 62, max_doc_lines=1 << 62)


@dataclass(frozen=True, slots=True)
class CorpusDoc:
    """A corpus record, as the report needs it."""

    id: str
    source: str
    text: str
    language: str | None
    lines: list[dict[str, Any]]  # each line's provenance: line, bytes, and language if its own
    metadata: dict[str, Any] | None  # the input record's other fields (its url, ...)


@dataclass(frozen=True, slots=True)
class Removed:
    """A record of removed.jsonl and the byte offset it starts at."""

    offset: int
    record: dict[str, Any]


# What to do about a summary.json curate cannot take for a run's. Not "run it again into
# this folder": `curate run -o` refuses a folder whose summary.json is not a run's, even
# with --overwrite (outdir.not_curates), since that file may be another tool's.
NOT_A_RUN = ("give the output folder of a finished `curate run`, or make one: run into another folder "
             "(-o DIR), or move this summary.json away and run into this folder again (with --overwrite "
             "if it holds the rest of a run)")


class OutputFolder:
    """A finished curate output folder (summary.json present, no run in progress): what
    `curate report`, `curate clusters` and `curate score` read."""

    def __init__(self, where: Path | str):
        if re.match(r"^[a-z][a-z0-9+.-]*://", str(where)):
            raise UsageError(f"{where}: a URL; curate report and curate clusters read a local output folder: copy "
                             "it here first (aws s3 sync, gsutil rsync, ...)")
        path = self.path = Path(where)
        check_reachable(path, given=None)  # a path too long for the system: Path.exists raised it
        if path.exists() and not path.is_dir():
            raise UsageError(f"{path}: a file, not an output folder; give the output folder of a finished "
                             "`curate run` (the folder given to -o, which holds summary.json)")
        if not path.is_dir():
            raise UsageError(f"{path}: no such folder; give the output folder of a finished `curate run` "
                             "(the folder given to -o, which holds summary.json)")
        # A run that replaces a finished folder (--overwrite) holds its lock while its
        # summary.json is still there: reading it then would read files being deleted.
        writer = lock_holder(path)
        if writer is not None:
            raise UsageError(f"{path}: a curate run is writing this folder (pid {writer}); wait for it to end, "
                             "then read the folder")
        summary = path / SUMMARY
        if not summary.is_file():
            if (path / PARTIAL).exists():
                raise UsageError(f"{path}: the run writing this folder has not finished (no {SUMMARY} yet); "
                                 "wait for it, or finish a stopped run with `curate run ... --resume`")
            raise UsageError(f"{path}: not a curate output folder (no {SUMMARY}); give the folder given to "
                             "`curate run -o`")
        try:
            self._stamp: tuple[int, ...] | None = _stamp(summary)
            data = summary.read_bytes()
            self.summary: dict[str, Any] = json.loads(data.decode("utf-8"))
        except (ValueError, OSError) as err:
            raise UsageError(f"{summary}: unreadable ({err}); {NOT_A_RUN}") from None
        if not isinstance(self.summary, dict):
            raise UsageError(f"{summary}: not a curate summary (a JSON object); {NOT_A_RUN}")
        # A JSON object is not enough: another tool's summary.json (or a --timings file
        # written over it) was read as a run's, and its folder scored or reported on.
        if not is_curate_summary(data):
            raise UsageError(f"{summary}: not a curate run's summary (it holds no curate settings); {NOT_A_RUN}")
        _check_shapes(summary, self.summary)
        if (path / LEGACY_CORPUS).exists() and not (path / CORPUS).is_dir():
            raise UsageError(f"{path}: written by curate before output schema 1 (one corpus.jsonl); "
                             "run `curate run` again to make a folder this version reads")
        if not (path / REMOVED).is_file():
            raise UsageError(f"{path}: {REMOVED} is missing; the folder is incomplete, run `curate run` again")
        written = self.summary.get("documents", {}).get("written")
        # What the corpus must hold: each document that kept a line is one record (a
        # shard deleted or cut short scored as text removed, and a report drew 0 documents).
        self.written: int | None = written if isinstance(written, int) and not isinstance(written, bool) else None
        if self.written and not self.shards():
            self.still_finished()
            raise UsageError(f"{path}: {CORPUS}/ holds no shard, but {SUMMARY} says the run wrote "
                             f"{_documents(self.written)}; the folder is damaged, run `curate run` again")

    def still_finished(self) -> None:
        """UsageError if a run started replacing the folder since it was opened: a run
        holds its lock, or summary.json is gone or another file (an --overwrite deletes it
        first, and a finished one renames a new one in). Checked when a file the reader
        listed cannot be read, before calling a folder damaged, and when a whole file has
        been read: what a reader read across such a run is no one run's output."""
        holder = lock_holder(self.path)
        try:
            now: tuple[int, ...] | None = _stamp(self.path / SUMMARY)
        except OSError:
            now = None
        if holder is not None or now != self._stamp:
            by = f" (pid {holder})" if holder is not None else ""
            raise UsageError(f"{self.path}: a curate run started replacing this folder while it was read{by}, so "
                             "what was read is no one run's output; wait for the run to end, then run this command "
                             "again")

    @property
    def removed_path(self) -> Path:
        return self.path / REMOVED

    def shards(self) -> list[Path]:
        """The corpus shards, in name order (which is input order: docs/output.md)."""
        corpus = self.path / CORPUS
        if not corpus.is_dir():
            return []
        return sorted(p for p in corpus.iterdir() if p.is_file() and reader_for(p) is not None)

    def corpus(self) -> Iterator[CorpusDoc]:
        """Every corpus record, in order, read by the format registry's reader of its shard."""
        read = 0
        for shard in self.shards():
            reader = reader_for(shard)
            assert reader is not None  # shards() keeps only files a reader claims
            try:
                file = InputFile(path=shard, source=f"{CORPUS}/{shard.name}", size=shard.stat().st_size)
                items = reader.read(file, _READ)
                for item in items:
                    if not isinstance(item, RawDocument):
                        self.still_finished()
                        raise UsageError(f"{self.path / item.source}:{item.line or ''}: {item.problem}; the output "
                                         "folder is damaged, run `curate run` again")
                    read += 1
                    yield _corpus_doc(item)
            except OSError as err:
                self.still_finished()
                raise UsageError(f"{shard}: cannot be read ({err.strerror or err}); the output folder is damaged "
                                 "or unreadable, fix it or run `curate run` again") from None
        self.still_finished()
        if self.written is not None and read != self.written:
            raise UsageError(f"{self.path}: {CORPUS}/ holds {_documents(read)}, but {SUMMARY} says the run wrote "
                             f"{self.written:,}; the folder is damaged (a shard missing or cut short), run "
                             "`curate run` again")

    def removed(self) -> Iterator[Removed]:
        """Every record of removed.jsonl with its byte offset (for reading it again later)."""
        try:
            f = open(self.removed_path, "rb")  # noqa: SIM115 - closed below, its open's error said apart
        except OSError as err:
            self.still_finished()
            raise UsageError(f"{self.removed_path}: cannot be read ({err.strerror}); the output folder is damaged "
                             "or unreadable, fix it or run `curate run` again") from None
        with f:
            for offset, record in _records(self.removed_path, f):
                yield Removed(offset, record)
        self.still_finished()

    def quarantined(self) -> Iterator[dict[str, Any]]:
        """Every record of quarantine.jsonl (none if the run wrote no such file)."""
        path = self.path / QUARANTINE
        if not path.is_file():
            return
        with open(path, "rb") as f:
            for _, record in _records(path, f):
                yield record

    def not_ours(self, offset: int, err: Exception) -> UsageError:
        """The error for a removed.jsonl record of the wrong shape (curate never writes one)."""
        return UsageError(f"{self.removed_path}: the record at byte {offset} is not one curate writes ({err!r}); "
                          "the output folder is damaged, run `curate run` again")

    def removed_at(self, offsets: list[int]) -> list[dict[str, Any]]:
        """The records of removed.jsonl that start at these offsets, in that order."""
        found = []
        with open(self.removed_path, "rb") as f:
            for offset in offsets:
                f.seek(offset)
                found.append(orjson.loads(f.readline()))
        return found


def _stamp(path: Path) -> tuple[int, ...]:
    """Which file ``path`` is, and as what: a file renamed over it, or rewritten, differs."""
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _documents(n: int) -> str:
    return f"{n:,} document{'' if n == 1 else 's'}"


# The fields of summary.json that `curate report` (and this class) read, and the JSON
# type curate writes each as: one of another type was a traceback deep in the report.
# A field that is not there is left to the reader (an older or newer run's summary).
_SHAPES: tuple[tuple[tuple[str, ...], type], ...] = (
    (("documents",), dict), (("documents", "written"), int), (("lines",), dict), (("inputs",), list),
    (("rules",), list), (("removed_by_reason",), dict), (("problem_counts",), dict),
    (("problem_counts", "by_kind"), dict), (("settings",), dict))


def _check_shapes(summary: Path, data: dict[str, Any]) -> None:
    for keys, kind in _SHAPES:
        value: Any = data
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            continue
        if not isinstance(value, kind) or isinstance(value, bool):
            want = {dict: "an object", list: "an array", int: "a whole number"}[kind]
            raise UsageError(f"{summary}: {'.'.join(keys)} is {json_kind(value)}, not {want} as curate writes it; "
                             "the summary is damaged, run `curate run` again")


def _corpus_doc(raw: RawDocument) -> CorpusDoc:
    fields = raw.metadata or {}
    lines = fields.get("lines") or []
    # Parquet has every column, with null where a JSON record has no field.
    lines = [{k: v for k, v in line.items() if v is not None} for line in lines]
    text = raw.payload if isinstance(raw.payload, str) else raw.payload.decode("utf-8", "replace")
    metadata = fields.get("metadata")
    if isinstance(metadata, str):  # Parquet holds it as a JSON string (docs/output.md)
        try:
            metadata = json.loads(metadata)
        except ValueError:
            metadata = None
    return CorpusDoc(id=raw.id, source=str(fields.get("source", "")), text=text, language=fields.get("language"),
                     lines=lines, metadata=metadata if isinstance(metadata, dict) else None)


def kept_lines(doc: CorpusDoc) -> list[str]:
    """The text of each kept line, in the order of ``doc.lines``: kept lines are never
    blank, and a blank line or a removed one in between is an empty segment."""
    return [segment for segment in doc.text.split("\n") if segment]


def _records(path: Path, f: BinaryIO) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each record of an audit file curate wrote (removed.jsonl, quarantine.jsonl) with the
    byte offset it starts at; one that is not a JSON object means the folder is damaged."""
    offset = 0
    for number, raw in enumerate(f, 1):
        if raw.strip():
            try:
                record = orjson.loads(raw)
            except orjson.JSONDecodeError as err:
                raise UsageError(f"{path}:{number}: invalid JSON ({err}); the output folder is damaged, run "
                                 "`curate run` again") from None
            if not isinstance(record, dict):
                raise UsageError(f"{path}:{number}: a JSON {type(record).__name__}, not a record; the output "
                                 "folder is damaged, run `curate run` again")
            yield offset, record
        offset += len(raw)
