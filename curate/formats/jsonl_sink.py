"""JSON Lines output: one record per line, sorted keys, UTF-8 unescaped. Parts are
joined into one file by appending each to the first, with a journal of how far the join
got, so it needs free space for one part, not for a second copy of the output."""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import orjson

from curate.outdir import fsync_path, write_durably

COPY_BUFFER = 1 << 20

_LINE_BREAKERS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_LINE_BREAKER_BYTES = {ch.encode("utf-8"): escaped.encode("ascii") for ch, escaped in _LINE_BREAKERS.items()}


def dumps(record: dict) -> bytes:
    """One JSON line: sorted keys, no ASCII escaping (byte-identical across runs, readable).

    orjson writes the same bytes as ``json.dumps(ensure_ascii=False, sort_keys=True,
    separators=(",", ":"))`` for what records hold (strings, ints, lists, and floats rounded
    to 4 places, which never take an exponent) at a fraction of the cost; anything it
    refuses (a lone surrogate, an int beyond 64 bits) goes through json as before, which
    writes NaN and the infinities as null, as orjson does."""
    try:
        data = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        data = _json_dumps(record)
    # NEL and the Unicode line and paragraph separators stay raw in JSON, and readers that
    # split lines the Unicode way (str.splitlines, some JSONL loaders) would cut the record
    # in two. They can only occur inside strings, so escaping them keeps the JSON the same.
    if not data.isascii():
        for raw, escaped in _LINE_BREAKER_BYTES.items():
            if raw in data:
                data = data.replace(raw, escaped)
    return data


def _json_dumps(record: dict) -> bytes:
    """The record as json writes it, for the records orjson cannot write: the same bytes
    orjson would write but for a float with an exponent (json: 1e+300, orjson: 1e300)."""
    try:
        text = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except ValueError:
        # NaN or an infinity, which json's lenient parse reads: json would write them as
        # NaN and Infinity, which are not JSON, where orjson writes null. Rare: walk then.
        text = json.dumps(_non_finite_as_null(record), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.encode("utf-8")


def _non_finite_as_null(value: Any) -> Any:
    """The value with NaN and the infinities as None. Recursion is safe: records are at
    most 200 levels deep (curate.formats.jsonl.MAX_DEPTH)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _non_finite_as_null(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_non_finite_as_null(item) for item in value]
    return value


class JsonlPart:
    __slots__ = ("_file",)

    def __init__(self, path: Path):
        # Open across many calls, until close: no with-block fits.
        self._file = open(path, "wb")  # noqa: SIM115

    def write(self, record: dict) -> None:
        self._file.write(dumps(record) + b"\n")

    def write_line(self, data: bytes) -> None:
        self._file.write(data)

    def close(self) -> None:
        self._file.close()


class JsonlSink:
    name = "jsonl"
    suffix = ".jsonl"
    writes_lines = True  # its parts take encoded lines (LinePart)

    def open(self, path: Path) -> JsonlPart:
        return JsonlPart(path)

    def join(self, parts: list[Path], target: Path) -> None:
        """Append parts 2..n to part 1, recording after each append the parts done and
        the length so far (``TARGET.joined``) before deleting the part appended, then
        rename part 1 to ``target``. A resumed join cuts part 1 back to the recorded
        length, so a half-done append is redone, never doubled."""
        if target.exists():
            return
        first = parts[0]
        if len(parts) > 1:  # most runs have one chunk: nothing to copy
            journal = target.with_name(target.name + ".joined")
            try:
                done, size = json.loads(journal.read_bytes())
            except FileNotFoundError:
                # Nothing was appended before the journal's first record, so part 1 is whole.
                done, size = 1, first.stat().st_size
                write_durably(journal, json.dumps([done, size]).encode())
            for k in range(done, len(parts)):
                try:
                    size = _append(first, size, parts[k])
                except OSError as err:
                    raise OSError(err.errno, err.strerror, err.filename or str(first)) from err
                write_durably(journal, json.dumps([k + 1, size]).encode())
                parts[k].unlink()
        os.replace(first, target)
        fsync_path(target.parent)


def _append(joined: Path, size: int, part: Path) -> int:
    """Append ``part`` to the first ``size`` bytes of ``joined``, durably; the new size."""
    with open(joined, "r+b") as out:
        out.truncate(size)  # a kill or a full disk may have left part of this chunk
        out.seek(size)
        with open(part, "rb") as f:
            shutil.copyfileobj(f, out, COPY_BUFFER)
        out.flush()
        os.fsync(out.fileno())
        return out.tell()
