"""Find the inputs, in a deterministic order, and cut them into documents and lines.

Discovery and record parsing run in the parent process (they are cheap and must
be ordered); splitting a document into lines runs in the workers.

Inputs are hostile until read: only regular files are opened, every read is bounded
(``--max-doc-bytes`` per document, ``--max-line-bytes`` per line), and whatever cannot
be read becomes a ``Problem`` naming the file, never an exception.
"""

from __future__ import annotations

import codecs
import errno
import gzip
import io
import json
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import orjson
import xxhash

from curate.document import (
    HIDDEN_FILE,
    HIDDEN_FOLDER,
    OTHER_OUTPUT,
    OWN_OUTPUT,
    Line,
    Origin,
    Problem,
    RawDocument,
)
from curate.errors import UsageError
from curate.outdir import PARTIAL, SUMMARY

TEXT_SUFFIXES = (".txt",)
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst")
SUPPORTED = "curate reads .txt, .jsonl, .jsonl.gz and .jsonl.zst"
# A NUL in the first block of a file that is not UTF-16 means it is binary, whatever
# its extension says (the same test git and grep use).
BINARY_SNIFF_BYTES = 8192

# Memory for a line is about 26-35 times its size (measured: a 200 MB line peaked at 5.3 GB,
# an 8 MB one at 408 MB for the whole process), so 8 MiB keeps one line under ~300 MB per
# worker while a whole page or chapter written as one line (several MB, seen in real
# crawls) is still read.
DEFAULT_MAX_LINE_BYTES = 8 << 20
# The largest document held in memory at once: a .txt file, or one JSONL record. 64 MiB
# is a long book many times over; beyond it a file is almost always a dump, a bomb or a
# mistake, and holding it (and its lines) would need gigabytes.
DEFAULT_MAX_DOC_BYTES = 64 << 20
SKIP_CHUNK = 1 << 20  # an over-long record is skipped in pieces of this size, never held

# Python's json.loads rejects integers longer than this (sys.int_info.str_digits_check_threshold).
_INT_DIGITS_MESSAGE = "Exceeds the limit"


@dataclass(frozen=True, slots=True)
class InputFile:
    path: Path  # the real path, for opening (may hold undecodable bytes as surrogates)
    source: str  # relative to its input root, forward slashes; always valid Unicode (see source_name)
    size: int


@dataclass(frozen=True, slots=True)
class Discovery:
    files: list[InputFile]
    problems: list[Problem]  # skipped entries: unsupported type, unreadable folder, hidden, not regular, ...


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How files are read: the encoding of .txt files and the bounds on what one document
    and one line may take."""

    encoding: str = "auto"  # "auto" or a codec name accepted by check_encoding
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    max_doc_bytes: int = DEFAULT_MAX_DOC_BYTES


DEFAULT_READ = ReadOptions()  # frozen: safe to share as a default


class NotRegularFile(Exception):
    """A path that is a FIFO, a device or a socket: opening or reading it could block
    forever or never end."""

    def __init__(self, kind: str):
        self.kind = kind
        super().__init__(kind)


def source_name(name: str | os.PathLike) -> str:
    """The spelling of a file name in the output: its raw bytes decoded as UTF-8, with
    every byte that is not valid UTF-8 written as ``\\xNN``.

    It depends only on the bytes on disk, never on the locale (under LC_ALL=C Python sees
    ``café`` as ``caf\\udcc3\\udca9``), and it is always encodable, so it can be written as
    JSON. The real path is kept separately for opening the file."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def kind_of(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if name.endswith(TEXT_SUFFIXES):
        return "txt"
    return None


# -- discovery -----------------------------------------------------------------------------


def discover(inputs: list[Path], output: Path | None = None) -> Discovery:
    """List input files: folders walked recursively and sorted, roots in the order given.

    ``output``: this run's output folder. The run refuses to write over an input, and a
    walk skips the output folder, and any other folder holding a curate run's output,
    so a run never reads its own output back."""
    roots = [Path(p) for p in inputs]
    for root in roots:
        if not root.exists() and not root.is_symlink():
            raise UsageError(f"{root}: no such file or folder; check the path")
    _refuse_overlapping_roots(roots)
    out_real = None
    if output is not None:
        _refuse_output_over_inputs(roots, Path(output))
        out_real = os.path.realpath(output)
    files: list[InputFile] = []
    problems: list[Problem] = []
    visited: dict[str, str] = {}  # real path of every folder walked -> its source
    for root in roots:
        if root.is_dir():
            if output is not None:
                problems.extend(_own_output_notice(root, Path(output)))
            files.extend(_walk(root, problems, visited, out_real))
        else:
            _add_file(root, source_name(root.name), files, problems, named=True)
    seen: dict[str, Path] = {}
    for f in files:
        if f.source in seen:
            raise UsageError(
                f"{seen[f.source]} and {f.path} both appear as source {f.source!r}; "
                "give each input once, or put them under one folder so their sources differ"
            )
        seen[f.source] = f.path
    return Discovery(files, problems)


def _inside(child: str, parent: str) -> bool:
    return child == parent or child.startswith(parent.rstrip(os.sep) + os.sep)


def _spellings(path: Path) -> tuple[str, str]:
    """The path as given (made absolute) and with every symlink resolved: a walk reaches
    files by the first, the disk holds them at the second."""
    return os.path.abspath(path), os.path.realpath(path)


def _refuse_overlapping_roots(roots: list[Path]) -> None:
    """Two inputs that are the same, or one inside the other, would read files twice."""
    spelled = [(root, _spellings(root), root.is_dir()) for root in roots]
    for i, (a, a_paths, a_dir) in enumerate(spelled):
        for b, b_paths, b_dir in spelled[i + 1:]:
            if any(x == y for x, y in zip(a_paths, b_paths)):
                raise UsageError(f"{a} and {b} are the same {'folder' if a_dir else 'file'}; give it once")
            for outer, outer_paths, outer_dir, inner, inner_paths in ((a, a_paths, a_dir, b, b_paths),
                                                                      (b, b_paths, b_dir, a, a_paths)):
                if outer_dir and any(_inside(x, y) for x, y in zip(inner_paths, outer_paths)):
                    raise UsageError(f"{inner} is inside {outer}, so its files would be read twice; "
                                     f"give only {outer}, or only {inner}")


def _refuse_output_over_inputs(roots: list[Path], output: Path) -> None:
    out_paths = _spellings(output)
    for root in roots:
        root_paths = _spellings(root)
        if any(_inside(r, o) for r, o in zip(root_paths, out_paths)):
            what = "folder" if root.is_dir() else "file"
            how = "is" if any(r == o for r, o in zip(root_paths, out_paths)) else "holds"
            raise UsageError(f"-o {output}: the output folder {how} the input {what} {root}, and curate never "
                             "writes over its inputs; choose another output folder with -o DIR")


def _own_output_notice(root: Path, output: Path) -> list[Problem]:
    """Say that the output folder, inside this input folder, is not read. Said whether or
    not the folder exists yet, so a run and its --resume see the same items."""
    for root_path, out_path in zip(_spellings(root), _spellings(output)):
        if _inside(out_path, root_path):
            source = source_name(Path(os.path.relpath(out_path, root_path)).as_posix())
            return [Problem(source, None, OWN_OUTPUT,
                            "not read; the output of a run is not its input", lines=0)]
    return []


def _sorted_names(names: list[str]) -> list[str]:
    # By raw bytes: the same order whatever the locale decodes names as.
    return sorted(names, key=os.fsencode)


def _walk(root: Path, problems: list[Problem], visited: dict[str, str], out_real: str | None) -> list[InputFile]:
    found: list[InputFile] = []

    def onerror(err: OSError) -> None:
        rel = _rel(Path(err.filename), root) if err.filename else "."
        problems.append(Problem(rel, None, f"cannot read folder: {err.strerror}", "skipped; fix its permissions", lines=0))

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=True):
        here = _rel(Path(dirpath), root)
        real = os.path.realpath(dirpath)
        if real in visited:
            problems.append(_revisit_problem(here, real, dirpath, visited))
            dirnames[:] = []
            continue
        visited[real] = source_name(dirpath)  # as the user spelled it: it may be under another input
        kept = []
        for name in _sorted_names(dirnames):
            path = Path(dirpath) / name
            if out_real is not None and os.path.realpath(path) == out_real:
                continue  # this run's output: said once, by _own_output_notice
            skipped = _skipped_folder(path, _rel(path, root))
            if skipped is not None:
                problems.append(skipped)
            else:
                kept.append(name)
        dirnames[:] = kept
        for name in _sorted_names(filenames):
            path = Path(dirpath) / name
            if name.startswith("."):
                problems.append(Problem(_rel(path, root), None, HIDDEN_FILE,
                                        "not read; curate skips names that start with '.': rename it to read it",
                                        lines=0))
                continue
            _add_file(path, _rel(path, root), found, problems)
    found.sort(key=lambda f: f.source)
    return found


def _revisit_problem(here: str, real: str, dirpath: str, visited: dict[str, str]) -> Problem:
    """A folder reached a second time through a symlink: a loop if it leads back to a
    folder above it, else a second way into a folder already read."""
    if _inside(os.path.realpath(os.path.dirname(dirpath)), real):
        return Problem(here, None, "symlink loop", "skipped; remove the link", lines=0)
    return Problem(here, None, f"folder already read as {visited[real]!r} (a symlink leads to it)",
                   "skipped, so its files are read once", lines=0)


def _skipped_folder(path: Path, source: str) -> Problem | None:
    """Why a folder met in a walk is not entered, or None to enter it."""
    if path.name.startswith("."):
        return Problem(source, None, HIDDEN_FOLDER,
                       "not read; curate skips names that start with '.': rename it to read it", lines=0)
    if is_curate_output(path):
        return Problem(source, None, OTHER_OUTPUT,
                       "not read; to read its corpus, give corpus.jsonl as an input", lines=0)
    return None


def is_curate_output(folder: Path) -> bool:
    """A folder a curate run wrote: it has an unfinished run's ``.partial/``, or a
    summary.json with curate's settings in it."""
    if (folder / PARTIAL).is_dir():
        return True
    summary = folder / SUMMARY
    try:
        with _open_regular(summary) as f:
            data = f.read(DEFAULT_MAX_DOC_BYTES + 1)
        parsed = orjson.loads(data)
    except (OSError, NotRegularFile, orjson.JSONDecodeError):
        return False
    settings = parsed.get("settings") if isinstance(parsed, dict) else None
    return isinstance(settings, dict) and "curate" in settings


def _rel(path: Path, root: Path) -> str:
    return source_name(path.relative_to(root).as_posix())


_FILE_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))


def _kind_of_mode(mode: int) -> str:
    return next((kind for test, kind in _FILE_KINDS if test(mode)), "not a regular file")


def _not_regular_problem(source: str, kind: str) -> Problem:
    return Problem(source, None, f"not a regular file: {kind}",
                   "skipped; curate reads regular files only (a pipe or device may never end): "
                   "copy the data into a file", lines=0)


def _add_file(path: Path, source: str, files: list[InputFile], problems: list[Problem], named: bool = False) -> None:
    if kind_of(path) is None:
        if named:  # named on the command line: a mistake to say at once, not a skip to find later
            raise UsageError(f"{path}: unsupported file type; {SUPPORTED} files (a folder is walked for them)")
        problems.append(Problem(source, None, "unsupported file type", f"skipped; {SUPPORTED}", lines=0))
        return
    try:
        st = path.stat()
    except OSError as err:
        what = "symlink loop" if err.errno == errno.ELOOP else err.strerror
        problems.append(Problem(source, None, f"cannot read file: {what}", "skipped; check the path and its permissions",
                                lines=0))
        return
    if not stat.S_ISREG(st.st_mode):
        problems.append(_not_regular_problem(source, _kind_of_mode(st.st_mode)))
        return
    files.append(InputFile(path, source, st.st_size))


def input_file(path: Path) -> InputFile:
    """One file named by the user (``curate explain``), spelled as a run would spell it."""
    return InputFile(path, source_name(path.name), path.stat().st_size)


def _open_regular(path: Path) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file, else raise NotRegularFile.

    Opened non-blocking and checked on the open descriptor: a check before opening could
    be raced, and a blocking open of a FIFO waits forever for a writer."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(_kind_of_mode(mode))
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


# -- reading ---------------------------------------------------------------------------------


def read_documents(files: list[InputFile], text_field: str = "text",
                   options: ReadOptions | None = None) -> Iterator[RawDocument | Problem]:
    """Yield every document of every file, in order, and a Problem for whatever cannot be read.

    A document whose id was used before is kept, after a problem (of 0 lines) naming
    where the id was first used: ids are meant to be unique."""
    options = options or DEFAULT_READ
    first_use: dict[int, int] = {}  # 64-bit hash of an id -> file number << 40 | record line
    for number, f in enumerate(files):
        items = _read_txt(f, options) if kind_of(f.path) == "txt" else _read_jsonl(f, text_field, options)
        for item in items:
            if isinstance(item, RawDocument):
                key = xxhash.xxh3_64_intdigest(item.id.encode("utf-8"))
                here = number << 40 | (item.record_line or 0)
                first = first_use.setdefault(key, here)
                if first != here:
                    yield _duplicate_id_problem(item, files[first >> 40].source, first & ((1 << 40) - 1))
            yield item


def _duplicate_id_problem(doc: RawDocument, first_source: str, first_line: int) -> Problem:
    where = f"{first_source}:{first_line}" if first_line else first_source
    shown = doc.id if len(doc.id) <= 80 else doc.id[:79] + "…"
    return Problem(doc.source, doc.record_line, f"duplicate id {shown!r}, first used at {where}",
                   "kept; give each record its own id so records can be told apart", lines=0)


def _cannot_read(source: str, err: OSError) -> Problem:
    return Problem(source, None, f"cannot read file: {err.strerror or err}", "skipped; check the path and its permissions",
                   lines=0)


def _too_big_problem(source: str, limit: int, lines: int) -> Problem:
    return Problem(source, None, f"file larger than --max-doc-bytes ({limit:,} bytes)",
                   "skipped; raise --max-doc-bytes to read it, or split the file", lines=lines)


def _read_txt(f: InputFile, options: ReadOptions) -> Iterator[RawDocument | Problem]:
    try:
        with _open_regular(f.path) as handle:
            size = os.fstat(handle.fileno()).st_size
            limit = options.max_doc_bytes
            data = b"" if size > limit else handle.read(limit + 1)
            if size > limit or len(data) > limit:  # checked before reading, and again if it grew
                yield _too_big_problem(f.source, limit, count_nonblank_lines(handle, data))
                return
    except NotRegularFile as err:
        yield _not_regular_problem(f.source, err.kind)
        return
    except OSError as err:
        yield _cannot_read(f.source, err)
        return
    if not data:
        yield Problem(f.source, None, "empty file", "skipped; nothing to read", lines=0)
        return
    yield RawDocument(id=f.source, source=f.source, record_line=None, payload=data, size=len(data))


def count_nonblank_lines(handle: BinaryIO, head: bytes = b"") -> int:
    """Non-blank lines of a file too big to read, counted in bounded memory from ``head``
    (what was read already) and the rest of ``handle``."""
    count = 0
    content = False  # the current, unfinished line has something other than whitespace
    chunk = head
    while True:
        parts = _BYTES_BREAK.split(chunk)
        for part in parts[:-1]:
            if content or part.strip():
                count += 1
            content = False
        content = content or bool(parts[-1].strip())
        chunk = handle.read(SKIP_CHUNK)
        if not chunk:
            return count + content


class _ZstdFrames(io.RawIOBase):
    """A zstd stream, every frame of it, that says when its last frame is cut off.

    python-zstandard's stream_reader returns what it has and no error when the input ends
    inside a frame (a truncated download would lose its last records silently), so frames
    are decoded here with one decompressor each, fed a few hundred bytes at a time: zstd
    can expand a byte about 32,000 times, and this bounds what one call can produce."""

    FEED = 512

    def __init__(self, raw: BinaryIO):
        import zstandard

        self._raw = raw
        self._dctx = zstandard.ZstdDecompressor()
        self._frame: zstandard.ZstdDecompressionObj | None = None  # the decompressor of the frame being read
        self._input = b""
        self._at = 0
        self._output = b""
        self._out_at = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self._out_at >= len(self._output):
            if not self._decode_more():
                return 0
        n = min(len(buffer), len(self._output) - self._out_at)
        buffer[:n] = self._output[self._out_at:self._out_at + n]
        self._out_at += n
        return n

    def _decode_more(self) -> bool:
        if self._at >= len(self._input):
            self._input, self._at = self._raw.read(1 << 16), 0
            if not self._input:
                if self._frame is not None:
                    import zstandard

                    raise zstandard.ZstdError("the data ends inside a frame (truncated file)")
                return False
        if self._frame is None:
            self._frame = self._dctx.decompressobj()
        piece = self._input[self._at:self._at + self.FEED]
        self._at += len(piece)
        self._output, self._out_at = self._frame.decompress(piece), 0
        if self._frame.eof:
            # What follows the frame's end (in the last piece fed) is the next frame: go back to it.
            self._at -= len(self._frame.unused_data)
            self._frame = None
        return True


def _decompressed(handle: BinaryIO, path: Path) -> BinaryIO:
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.GzipFile(fileobj=handle, mode="rb")  # type: ignore[return-value]
    if name.endswith(".zst"):
        return io.BufferedReader(_ZstdFrames(handle), buffer_size=1 << 16)  # type: ignore[return-value]
    return handle


class _StreamFault(Exception):
    """The file's bytes could not be read or decompressed at some record."""


def _records(stream: BinaryIO, limit: int) -> Iterator[tuple[int, bytes | int]]:
    """(line number, raw line) for every line of the stream, or (line number, its length)
    for a line longer than ``limit``, which is skipped without ever being held whole.
    A read or decompression error becomes _StreamFault; parsing happens elsewhere."""
    lineno = 0
    while True:
        try:
            raw = stream.readline(limit + 1)
        except Exception as err:  # EOFError, zlib.error, ZstdError, OSError: all of them stream faults
            raise _StreamFault(str(err) or type(err).__name__) from err
        if not raw:
            return
        lineno += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            yield lineno, len(raw) + _skip_line(stream)
        else:
            yield lineno, raw


def _skip_line(stream: BinaryIO) -> int:
    skipped = 0
    while True:
        try:
            piece = stream.readline(SKIP_CHUNK)
        except Exception as err:  # as in _records
            raise _StreamFault(str(err) or type(err).__name__) from err
        skipped += len(piece)
        if not piece or piece.endswith(b"\n"):
            return skipped


def _read_jsonl(f: InputFile, text_field: str, options: ReadOptions) -> Iterator[RawDocument | Problem]:
    lineno = 0
    records = 0
    try:
        with _open_regular(f.path) as handle, _decompressed(handle, f.path) as stream:
            for lineno, raw in _records(stream, options.max_doc_bytes):
                if isinstance(raw, int):
                    records += 1
                    yield Problem(f.source, lineno,
                                  f"record of {raw:,} bytes is larger than --max-doc-bytes ({options.max_doc_bytes:,} bytes)",
                                  "record skipped; raise --max-doc-bytes to read it, or split the record")
                    continue
                if not raw.strip():
                    continue
                records += 1
                yield _parse_record(f.source, lineno, raw, text_field)
    except NotRegularFile as err:
        yield _not_regular_problem(f.source, err.kind)
        return
    except _StreamFault as fault:
        # The records before the fault have already been yielded and are kept.
        compressed = f.path.name.lower().endswith((".gz", ".zst"))
        fix = "re-download or recompress the file" if compressed else "check the disk and the file"
        yield Problem(
            f.source, lineno + 1,
            f"corrupt or truncated compressed data: {fault}" if compressed else f"read error: {fault}",
            f"records after line {lineno} are lost; {fix}" if lineno else f"no record could be read; {fix}",
            lines=1,
        )
        return
    except OSError as err:
        yield _cannot_read(f.source, err)
        return
    if not records:
        problem = "empty file" if lineno == 0 else "no records: the file holds only blank lines"
        yield Problem(f.source, None, problem, "skipped; nothing to read", lines=0)


def _preview(raw: bytes) -> str:
    return raw[:120].decode("utf-8", "replace").rstrip()


def _json_error(err: Exception) -> tuple[str, str]:
    """(problem, action) for a record json cannot read."""
    if isinstance(err, RecursionError):
        return ("invalid JSON: nested too deeply (more levels than Python's json reads, about 1,000)",
                "record skipped; flatten or delete this line")
    if _INT_DIGITS_MESSAGE in str(err):
        return ("invalid JSON: a number with more than 4,300 digits (more than Python's json reads)",
                "record skipped; write the number as a string or delete this line")
    return f"invalid JSON: {err}", "record skipped; fix or delete this line"


def safe_text(value: str) -> str:
    """``value`` with every lone surrogate written out as the text ``\\udXXX``: json reads
    escapes like ``\\ud800`` into strings no UTF-8 file can hold."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _parse_record(source: str, lineno: int, raw: bytes, text_field: str) -> RawDocument | Problem:
    lenient = False
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        # orjson is strict where json is lenient (NaN, lone surrogate escapes, a BOM) and
        # words errors differently: json decides what such a line is, as it always did.
        try:
            record = json.loads(raw)
        except (ValueError, RecursionError) as err:  # also a number of 4,300+ digits, deep nesting
            problem, action = _json_error(err)
            return Problem(source, lineno, problem, action, preview=_preview(raw))
        lenient = True
    if not isinstance(record, dict):
        return Problem(source, lineno, f"record is a JSON {type(record).__name__}, not an object",
                       "record skipped; each line must be an object with a text field", preview=_preview(raw))
    if text_field not in record:
        return Problem(source, lineno, f"record has no {text_field!r} field",
                       "record skipped; add the field or choose another with --text-field", preview=_preview(raw))
    text = record[text_field]
    if not isinstance(text, str):
        return Problem(source, lineno, f"field {text_field!r} is a {type(text).__name__}, not a string",
                       "record skipped; the text field must be a string", preview=_preview(raw))
    rid = record.get("id")
    if lenient:  # only json lets a lone surrogate escape through; orjson refuses them
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return Problem(source, lineno, "text contains lone surrogates (invalid \\ud800-\\udfff escapes)",
                           "record skipped; fix the escapes in this line", preview=_preview(raw))
        if isinstance(rid, str):
            rid = safe_text(rid)
    doc_id = str(rid) if isinstance(rid, (str, int)) and not isinstance(rid, bool) else f"{source}:{lineno}"
    return RawDocument(id=doc_id, source=source, record_line=lineno, payload=text, size=len(raw))


# -- encodings -------------------------------------------------------------------------------


UTF16_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
_UTF16 = ("utf-16-le", "utf-16-be")


def check_encoding(name: str) -> str:
    """The canonical name of an encoding --encoding may name, or UsageError."""
    if name == "auto":
        return name
    try:
        codec = codecs.lookup(name)
    except LookupError:
        raise UsageError(f"--encoding {name}: unknown encoding; use auto, or a name such as cp1252, "
                         "iso8859-1, shift_jis or utf-16-le") from None
    if codec.name in _UTF16 or _ascii_compatible(codec.name):
        return codec.name
    raise UsageError(f"--encoding {name}: curate splits lines on ASCII line breaks, which {codec.name} does not "
                     "use; convert the files to UTF-8 (utf-16-le and utf-16-be are read too)")


def _ascii_compatible(encoding: str) -> bool:
    """Line breaks and ASCII letters are the same bytes as in ASCII, so a file can be cut
    into lines before it is decoded (UTF-7 spells some ASCII differently)."""
    sample = "\r\n azAZ09.,;:!?'\"()[]{}<>/\\-_+=*&%$#@~^`|"
    try:
        return encoding != "utf-7" and sample.encode(encoding) == sample.encode("ascii")
    except (UnicodeError, LookupError):
        return False


def utf16_by_nuls(data: bytes) -> str | None:
    """UTF-16 without a byte order mark, told by its NULs: text in Latin script puts a NUL
    in every other byte, the odd ones for little-endian, the even ones for big-endian."""
    head = data[:BINARY_SNIFF_BYTES]
    pairs = len(head) // 2
    if pairs == 0 or len(data) % 2:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if odd >= pairs * 0.3 and even <= pairs * 0.02:
        encoding = "utf-16-le"
    elif even >= pairs * 0.3 and odd <= pairs * 0.02:
        encoding = "utf-16-be"
    else:
        return None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    visible = [ch for ch in text[:BINARY_SNIFF_BYTES] if not ch.isspace()]
    # Text, not a binary that happens to decode: no NUL, and nearly every character printable.
    if "\x00" in text or len(visible) < 2 or sum(map(str.isprintable, visible)) < 0.95 * len(visible):
        return None
    return encoding


def detect_legacy_encoding(data: bytes) -> str | None:
    """The encoding of a file that is not UTF-8 and holds no UTF-8 at all, or None.

    charset-normalizer ranks the encodings that decode the bytes with the fewest
    oddities; among those about as good as the best, windows-1252 (the commonest legacy
    encoding of the web, and what browsers assume) wins, since on short Western text
    the ranking cannot tell it from its Central European and Baltic cousins."""
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        return None
    best = matches[0]
    for match in matches:
        if match.chaos <= best.chaos + 0.1 and "cp1252" in (match.encoding, *match.could_be_from_charset):
            return "cp1252"
    name = codecs.lookup(best.encoding).name
    return name if name != "utf-8" and _ascii_compatible(name) else None


# -- lines -----------------------------------------------------------------------------------


_BYTES_BREAK = re.compile(rb"\r\n|\n|\r")
_TEXT_BREAK = re.compile(r"\r\n|\n|\r")


def split_lines(doc: RawDocument, options: ReadOptions = DEFAULT_READ) -> tuple[list[Line], list[Problem], int, str]:
    """Cut a document into its non-blank lines, each with its origin in the source bytes.

    Returns the lines, the lines that could not be decoded (or were too long), the number
    of non-blank lines read (the accounting total), and the encoding the byte spans refer to.
    """
    # A line is never longer than the input it came from (a JSONL text's UTF-8 bytes are
    # no more than its raw record's), so only a document this big needs its lines measured.
    limit = options.max_line_bytes if doc.size > options.max_line_bytes else 0
    if isinstance(doc.payload, bytes):
        lines, problems, read, encoding = _split_file(doc, options.encoding, limit)
    else:
        encoding = "utf-8"
        lines, problems, read = _split_decoded(doc, doc.payload, encoding, first_byte=0,
                                               record_line=doc.record_line or 0, limit=limit)
    if read == 0 and not problems:
        where = "file" if doc.record_line is None else "record's text"
        problems.append(Problem(doc.source, doc.record_line, f"no text: the {where} holds only whitespace",
                                "nothing to keep; remove it or check how it was produced", lines=0))
    return lines, problems, read, encoding


def _split_file(doc: RawDocument, encoding: str, limit: int) -> tuple[list[Line], list[Problem], int, str]:
    """A .txt file: a byte order mark decides its encoding; else --encoding, or with
    ``auto``: UTF-8 if it is, UTF-16 if its NULs say so, a detected legacy encoding if no
    line is UTF-8, and per-line UTF-8 (invalid lines quarantined) for a mix."""
    data: bytes = doc.payload  # type: ignore[assignment]
    bom = UTF16_BOMS.get(data[:2])
    if bom is not None:
        return (*_split_utf16(doc, bom, 2, limit), bom)
    if encoding in _UTF16:
        return (*_split_utf16(doc, encoding, 0, limit), encoding)
    if b"\x00" in data[:BINARY_SNIFF_BYTES]:
        wide = utf16_by_nuls(data) if encoding == "auto" else None
        if wide is not None:
            return (*_split_utf16(doc, wide, 0, limit), wide)
        count = sum(1 for part in _BYTES_BREAK.split(data) if part.strip())
        return [], [Problem(doc.source, None, "binary file (NUL bytes in its first 8 KiB)",
                            "skipped; it is not text", lines=count)], count, "utf-8"
    if encoding != "auto":
        lines, problems, read, _, _ = _split_bytes(doc, encoding, limit)
        return lines, problems, read, encoding
    lines, problems, read, saw_utf8, undecodable = _split_bytes(doc, "utf-8", limit)
    if saw_utf8 or not undecodable:
        return lines, problems, read, "utf-8"
    legacy = detect_legacy_encoding(data)
    if legacy is None:
        return lines, problems, read, "utf-8"
    lines, problems, read, _, _ = _split_bytes(doc, legacy, limit)
    return lines, problems, read, legacy


def _split_utf16(doc: RawDocument, encoding: str, first_byte: int,
                 limit: int) -> tuple[list[Line], list[Problem], int]:
    """Spans count bytes of the UTF-16 file (2 per code unit, after the 2-byte mark if
    there is one), so they still cut the original bytes."""
    data: bytes = doc.payload  # type: ignore[assignment]
    try:
        text = data[first_byte:].decode(encoding)
    except UnicodeDecodeError as err:
        count = max(1, data.count(b"\n\x00") + data.count(b"\x00\n"))
        return [], [Problem(doc.source, None,
                            f"invalid {encoding.upper()} ({err.reason} at byte {first_byte + err.start})",
                            "skipped; convert the file to UTF-8 (e.g. iconv -f utf-16 -t utf-8)", lines=count)], count
    return _split_decoded(doc, text, encoding, first_byte=first_byte, record_line=None, limit=limit)


def _too_long(doc: RawDocument, limit: int, lineno: int, start: int, end: int, preview: str) -> Problem:
    return Problem(doc.source, lineno, f"line of {end - start:,} bytes is longer than --max-line-bytes "
                   f"({limit:,} bytes)", "line skipped; raise --max-line-bytes to read it",
                   byte_start=start, byte_end=end, preview=preview[:120])


def _split_bytes(doc: RawDocument, encoding: str, limit: int) -> tuple[list[Line], list[Problem], int, bool, int]:
    """Lines cut on byte line breaks, each decoded on its own (``encoding`` is ASCII
    compatible, so a break is a break in any of them): a line that does not decode is
    quarantined and the rest of the file is read. Also says whether any line decoded
    that is not plain ASCII (for UTF-8: the file holds real UTF-8), and how many lines
    did not decode."""
    data: bytes = doc.payload  # type: ignore[assignment]
    lines: list[Line] = []
    problems: list[Problem] = []
    utf8 = encoding == "utf-8"
    start = 3 if utf8 and data.startswith(b"\xef\xbb\xbf") else 0  # the UTF-8 byte order mark is not text
    lineno = 1
    gap = False
    read = 0
    saw_non_ascii = False
    undecodable = 0
    for end, next_start in _line_bounds(_BYTES_BREAK, data, start):
        chunk = data[start:end]
        if limit and end - start > limit and chunk.strip():
            read += 1
            problems.append(_too_long(doc, limit, lineno, start, end, chunk[:120].decode(encoding, "replace")))
            gap = False
        elif chunk.strip():
            try:
                raw = chunk.decode(encoding)
            except UnicodeDecodeError as err:
                read += 1
                undecodable += 1
                problems.append(_undecodable(doc, encoding, lineno, start, end, err, chunk))
                gap = False
            else:
                if raw.strip():
                    read += 1
                    saw_non_ascii = saw_non_ascii or not chunk.isascii()
                    lines.append(Line(len(lines), raw, raw, Origin(lineno, start, end), gap and bool(lines)))
                    gap = False
                else:
                    gap = True
        else:
            gap = True
        start = next_start
        lineno += 1
    return lines, problems, read, saw_non_ascii, undecodable


def _undecodable(doc: RawDocument, encoding: str, lineno: int, start: int, end: int,
                 err: UnicodeDecodeError, chunk: bytes) -> Problem:
    where = f"{err.reason} at byte {start + err.start}"
    if encoding == "utf-8":
        return Problem(doc.source, lineno, f"not valid UTF-8 ({where})",
                       "line skipped; convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)",
                       byte_start=start, byte_end=end, preview=chunk[:120].decode("utf-8", "replace"))
    return Problem(doc.source, lineno, f"not valid {encoding} ({where})",
                   "line skipped; convert the file to UTF-8, or name its encoding with --encoding",
                   byte_start=start, byte_end=end, preview=chunk[:120].decode(encoding, "replace"))


def _split_decoded(doc: RawDocument, text: str, encoding: str, first_byte: int,
                   record_line: int | None, limit: int) -> tuple[list[Line], list[Problem], int]:
    """Lines of already decoded text, with spans in bytes of ``encoding`` from ``first_byte``.

    ``record_line``: the JSONL record every line belongs to, or None to number the lines."""
    one_byte_chars = encoding == "utf-8" and text.isascii()
    if "\n" not in text and "\r" not in text and not limit:
        # One line (a paragraph-per-record JSONL holds nothing else): no scan for breaks.
        if not text.strip():
            return [], [], 0
        end = first_byte + (len(text) if one_byte_chars else len(text.encode(encoding)))
        return [Line(0, text, text, Origin(1 if record_line is None else record_line, first_byte, end), False)], [], 1
    lines: list[Line] = []
    problems: list[Problem] = []
    unit = 2 if encoding in _UTF16 else 1  # bytes per line-break character
    byte_pos, pos, lineno, gap = first_byte, 0, 1, False
    for end, next_start in _line_bounds(_TEXT_BREAK, text, 0):
        raw = text[pos:end]
        raw_len = len(raw) if one_byte_chars else len(raw.encode(encoding))
        if raw.strip():
            origin = Origin(lineno if record_line is None else record_line, byte_pos, byte_pos + raw_len)
            if limit and raw_len > limit:
                problems.append(_too_long(doc, limit, origin.line, byte_pos, byte_pos + raw_len, raw[:120]))
            else:
                lines.append(Line(len(lines), raw, raw, origin, gap and bool(lines)))
            gap = False
        else:
            gap = True
        byte_pos += raw_len + unit * (next_start - end)
        pos = next_start
        lineno += 1
    return lines, problems, len(lines) + len(problems)


def _line_bounds(pattern: re.Pattern, data, start: int) -> Iterator[tuple[int, int]]:
    """Yield (end of line, start of next line) for every line from ``start``, the last one included."""
    for m in pattern.finditer(data, start):
        yield m.start(), m.end()
    yield len(data), len(data)
