"""Find the inputs, in a deterministic order, and cut them into documents and lines.

Discovery and record parsing run in the parent process (they are cheap and must
be ordered); splitting a document into lines runs in the workers.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from curate.document import Line, Origin, Problem, RawDocument
from curate.errors import UsageError

TEXT_SUFFIXES = (".txt",)
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst")
# A NUL in the first block of a file that is not UTF-16 means it is binary, whatever
# its extension says (the same test git and grep use).
BINARY_SNIFF_BYTES = 8192


@dataclass(frozen=True, slots=True)
class InputFile:
    path: Path
    source: str  # relative to its input root, forward slashes
    size: int


@dataclass(frozen=True, slots=True)
class Discovery:
    files: list[InputFile]
    problems: list[Problem]  # skipped files: unsupported type, unreadable folder, symlink loop


def kind_of(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if name.endswith(TEXT_SUFFIXES):
        return "txt"
    return None


def discover(inputs: list[Path]) -> Discovery:
    """List input files: folders walked recursively and sorted, roots in the order given."""
    files: list[InputFile] = []
    problems: list[Problem] = []
    for root in inputs:
        if not root.exists() and not root.is_symlink():
            raise UsageError(f"{root}: no such file or folder; check the path")
        if root.is_dir():
            files.extend(_walk(root, problems))
        else:
            _add_file(root, root.name, files, problems)
    seen: dict[str, Path] = {}
    for f in files:
        if f.source in seen:
            raise UsageError(
                f"{seen[f.source]} and {f.path} both appear as source {f.source!r}; "
                "give each input once, or put them under one folder so their sources differ"
            )
        seen[f.source] = f.path
    return Discovery(files, problems)


def _walk(root: Path, problems: list[Problem]) -> list[InputFile]:
    found: list[InputFile] = []
    visited: set[str] = set()

    def onerror(err: OSError) -> None:
        rel = _rel(Path(err.filename), root) if err.filename else "."
        problems.append(Problem(rel, None, f"cannot read folder: {err.strerror}", "skipped; fix its permissions", lines=0))

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in visited:
            # A symlink that leads back to a folder already walked: following it would never end.
            problems.append(Problem(_rel(Path(dirpath), root), None, "symlink loop", "skipped; remove the link", lines=0))
            dirnames[:] = []
            continue
        visited.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            _add_file(path, _rel(path, root), found, problems)
    found.sort(key=lambda f: f.source)
    return found


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _add_file(path: Path, source: str, files: list[InputFile], problems: list[Problem]) -> None:
    if kind_of(path) is None:
        problems.append(Problem(source, None, "unsupported file type", "skipped; curate reads .txt, .jsonl, .jsonl.gz and .jsonl.zst", lines=0))
        return
    try:
        size = path.stat().st_size
    except OSError as err:
        problems.append(Problem(source, None, f"cannot read file: {err.strerror}", "skipped; check the path and its permissions", lines=0))
        return
    files.append(InputFile(path, source, size))


def read_documents(files: list[InputFile], text_field: str = "text") -> Iterator[RawDocument | Problem]:
    """Yield every document of every file, in order, and a Problem for whatever cannot be read."""
    for f in files:
        if kind_of(f.path) == "txt":
            yield from _read_txt(f)
        else:
            yield from _read_jsonl(f, text_field)


def _read_txt(f: InputFile) -> Iterator[RawDocument | Problem]:
    try:
        data = f.path.read_bytes()
    except OSError as err:
        yield Problem(f.source, None, f"cannot read file: {err.strerror}", "skipped; check its permissions", lines=0)
        return
    if not data:
        yield Problem(f.source, None, "empty file", "skipped; nothing to read", lines=0)
        return
    yield RawDocument(id=f.source, source=f.source, record_line=None, payload=data, size=len(data))


def _open_jsonl(path: Path):
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.open(path, "rb")
    if name.endswith(".zst"):
        import zstandard

        return zstandard.open(path, "rb")
    return open(path, "rb")


def _read_jsonl(f: InputFile, text_field: str) -> Iterator[RawDocument | Problem]:
    lineno = 0
    try:
        with _open_jsonl(f.path) as stream:
            for lineno, raw in enumerate(stream, start=1):
                if not raw.strip():
                    continue
                yield _parse_record(f.source, lineno, raw, text_field)
    except (PermissionError, FileNotFoundError, IsADirectoryError) as err:
        yield Problem(f.source, None, f"cannot read file: {err.strerror}", "skipped; check the path and its permissions",
                      lines=0)
    except Exception as err:  # noqa: BLE001  truncated gzip (EOFError), corrupt zstd (ZstdError), bad CRC (OSError)
        # The records before the fault have already been yielded and are kept.
        what = str(err) or type(err).__name__
        yield Problem(
            f.source, lineno + 1, f"corrupt or truncated compressed data: {what}",
            f"records after line {lineno} are lost; re-download or recompress the file" if lineno
            else "no record could be read; re-download or recompress the file",
            lines=1,
        )


def _preview(raw: bytes) -> str:
    return raw[:120].decode("utf-8", "replace").rstrip()


def _parse_record(source: str, lineno: int, raw: bytes, text_field: str) -> RawDocument | Problem:
    lenient = False
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        # orjson is strict where json is lenient (NaN, lone surrogate escapes, a BOM) and
        # words errors differently: json decides what such a line is, as it always did.
        try:
            record = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            return Problem(source, lineno, f"invalid JSON: {err}", "record skipped; fix or delete this line",
                           preview=_preview(raw))
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
    if lenient:  # only json lets a lone surrogate escape through; orjson refuses them
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return Problem(source, lineno, "text contains lone surrogates (invalid \\ud800-\\udfff escapes)",
                           "record skipped; fix the escapes in this line", preview=_preview(raw))
    rid = record.get("id")
    doc_id = str(rid) if isinstance(rid, (str, int)) and not isinstance(rid, bool) else f"{source}:{lineno}"
    return RawDocument(id=doc_id, source=source, record_line=lineno, payload=text, size=len(raw))


_BYTES_BREAK = re.compile(rb"\r\n|\n|\r")
_TEXT_BREAK = re.compile(r"\r\n|\n|\r")


UTF16_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}


def split_lines(doc: RawDocument) -> tuple[list[Line], list[Problem], int, str]:
    """Cut a document into its non-blank lines, each with its origin in the source bytes.

    Returns the lines, the lines that could not be decoded, the number of non-blank
    lines read (the accounting total), and the encoding the byte spans refer to.
    """
    if isinstance(doc.payload, bytes):
        encoding = UTF16_BOMS.get(doc.payload[:2])
        if encoding is not None:
            lines, problems, read = _split_utf16(doc, encoding)
        else:
            encoding = "utf-8"
            lines, problems, read = _split_bytes(doc)
    else:
        encoding = "utf-8"
        lines, problems, read = _split_text(doc)
    if read == 0 and not problems:
        where = "file" if doc.record_line is None else "record's text"
        problems.append(Problem(doc.source, doc.record_line, f"no text: the {where} holds only whitespace",
                                "nothing to keep; remove it or check how it was produced", lines=0))
    return lines, problems, read, encoding


def _split_utf16(doc: RawDocument, encoding: str) -> tuple[list[Line], list[Problem], int]:
    """A UTF-16 file with a byte order mark: spans count bytes of the UTF-16 file (2 per code
    unit, after the 2-byte mark), so they still cut the original bytes."""
    data: bytes = doc.payload  # type: ignore[assignment]
    try:
        text = data[2:].decode(encoding)
    except UnicodeDecodeError as err:
        count = max(1, data.count(b"\n\x00") + data.count(b"\x00\n"))
        return [], [Problem(doc.source, None, f"invalid {encoding.upper()} ({err.reason} at byte {2 + err.start})",
                            "skipped; convert the file to UTF-8 (e.g. iconv -f utf-16 -t utf-8)", lines=count)], count
    return _split_decoded(text, encoding, first_byte=2, record_line=None)


def _split_bytes(doc: RawDocument) -> tuple[list[Line], list[Problem], int]:
    data: bytes = doc.payload  # type: ignore[assignment]
    if b"\x00" in data[:BINARY_SNIFF_BYTES]:
        count = sum(1 for part in _BYTES_BREAK.split(data) if part.strip())
        return [], [Problem(doc.source, None, "binary file (NUL bytes in its first 8 KiB)",
                            "skipped; it is not text", lines=count)], count
    lines: list[Line] = []
    problems: list[Problem] = []
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0  # the UTF-8 byte order mark is not text
    lineno = 1
    gap = False
    read = 0
    for end, next_start in _line_bounds(_BYTES_BREAK, data, start):
        chunk = data[start:end]
        if chunk.strip():
            try:
                raw = chunk.decode("utf-8")
            except UnicodeDecodeError as err:
                read += 1
                problems.append(Problem(
                    doc.source, lineno, f"not valid UTF-8 ({err.reason} at byte {start + err.start})",
                    "line skipped; convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)",
                    byte_start=start, byte_end=end, preview=chunk[:120].decode("utf-8", "replace")))
                gap = False
            else:
                if raw.strip():
                    read += 1
                    lines.append(Line(len(lines), raw, raw, Origin(lineno, start, end), gap and bool(lines)))
                    gap = False
                else:
                    gap = True
        else:
            gap = True
        start = next_start
        lineno += 1
    return lines, problems, read


def _split_text(doc: RawDocument) -> tuple[list[Line], list[Problem], int]:
    return _split_decoded(doc.payload, "utf-8", first_byte=0, record_line=doc.record_line or 0)  # type: ignore[arg-type]


def _split_decoded(text: str, encoding: str, first_byte: int,
                   record_line: int | None) -> tuple[list[Line], list[Problem], int]:
    """Lines of already decoded text, with spans in bytes of ``encoding`` from ``first_byte``.

    ``record_line``: the JSONL record every line belongs to, or None to number the lines."""
    one_byte_chars = encoding == "utf-8" and text.isascii()
    if "\n" not in text and "\r" not in text:
        # One line (a paragraph-per-record JSONL holds nothing else): no scan for breaks.
        if not text.strip():
            return [], [], 0
        end = first_byte + (len(text) if one_byte_chars else len(text.encode(encoding)))
        return [Line(0, text, text, Origin(1 if record_line is None else record_line, first_byte, end), False)], [], 1
    lines: list[Line] = []
    unit = 2 if encoding.startswith("utf-16") else 1  # bytes per line-break character
    byte_pos, pos, lineno, gap = first_byte, 0, 1, False
    for end, next_start in _line_bounds(_TEXT_BREAK, text, 0):
        raw = text[pos:end]
        raw_len = len(raw) if one_byte_chars else len(raw.encode(encoding))
        if raw.strip():
            origin = Origin(lineno if record_line is None else record_line, byte_pos, byte_pos + raw_len)
            lines.append(Line(len(lines), raw, raw, origin, gap and bool(lines)))
            gap = False
        else:
            gap = True
        byte_pos += raw_len + unit * (next_start - end)
        pos = next_start
        lineno += 1
    return lines, [], len(lines)


def _line_bounds(pattern: re.Pattern, data, start: int) -> Iterator[tuple[int, int]]:
    """Yield (end of line, start of next line) for every line from ``start``, the last one included."""
    for m in pattern.finditer(data, start):
        yield m.start(), m.end()
    yield len(data), len(data)
