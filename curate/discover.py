"""Find the inputs, in a deterministic order: folders walked recursively and sorted,
hidden names and curate's own output folders skipped (and said), files no reader
claims, pipes, devices and unreadable entries reported, never opened. An input that is
itself a curate output folder (or the folder a pattern is matched in) stops the run: its
corpus is read by naming its corpus/ folder.

Which files a walk takes depends on ``--format``: with ``auto`` those a reader claims
by suffix (the others are reported as skipped); with a named format every file that
is not hidden, since the user said what they hold. A file named on the command line
that no reader claims is an error at once, not a skip found later.
"""

from __future__ import annotations

import contextvars
import errno
import functools
import os
import re
import stat
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from curate.document import (
    DATASET_CACHE,
    DATASET_METADATA,
    HIDDEN_FILE,
    HIDDEN_FOLDER,
    JOB_MARKER,
    JOB_MARKER_SKIPPED,
    OTHER_OUTPUT,
    OWN_OUTPUT,
    PARQUET_SUMMARY,
    PARQUET_SUMMARY_NAMES,
    TIMINGS_SKIPPED,
    Problem,
)
from curate.errors import UsageError, raise_if_machine_limit
from curate.formats import (
    AUTO,
    DEFAULT_READ,
    ReadOptions,
    check_format,
    reader_for,
    supported,
)
from curate.formats.base import (
    DEFAULT_MAX_DOC_BYTES,
    NotRegularFile,
    kind_of_mode,
    not_regular_problem,
    open_input,
)
from curate.globs import Glob, as_glob
from curate.outdir import CORPUS, PARTIAL, SUMMARY, is_curate_summary
from curate.paths import absolute, inside, spellings, unreachable
from curate.signed_urls import public_url
from curate.storage import (
    Location,
    RemoteEntry,
    as_location,
    base_name,
    check_location,
    comparable_url,
    is_remote,
    join,
    list_remote,
    object_at,
    spelled_bytes,
    url_text,
)
from curate.timings import TIMINGS_MAX_BYTES, holds_timings
from curate.walk import walk_folders

SKIP_ACTIONS = {
    HIDDEN_FILE: "not read; curate skips names that start with '.': rename it to read it",
    HIDDEN_FOLDER: "not read; curate skips names that start with '.': rename it to read it",
    OTHER_OUTPUT: "not read; to read its corpus, give its corpus/ folder as an input",
    DATASET_METADATA: "not read: not text; the dataset's data files (the .arrow files its state.json lists) are read",
    # A Spark or Hadoop job's output folder (part files beside them), or Dask's.
    JOB_MARKER_SKIPPED: ("not read: an empty file a Spark or Hadoop job leaves to say it finished; the part files "
                         "are read"),
    PARQUET_SUMMARY: ("not read: it holds the part files' footers or schema, no rows; the rows are in the part files, "
                      "which are read as files of their own"),
    TIMINGS_SKIPPED: ("not read: the seconds an earlier `curate run --timings` took, no text; to read it anyway, "
                      "name it as an input"),
    DATASET_CACHE: ("not read: datasets' map() or filter() wrote it there, and its rows are not the saved dataset's "
                    "(those are in the files state.json lists); to read it anyway, name it as an input"),
}

# A data file of a dataset saved by `datasets`, as save_to_disk names it.
_DATA_FILE = re.compile(r"data-\d{5}-of-\d{5}\.arrow")
STATE_ACTION = ("every .arrow file in the folder is read, the cache files of map() or filter() too; restore "
                "state.json (save the dataset again with save_to_disk) to read only its data files")


@dataclass(frozen=True, slots=True)
class DatasetFolder:
    """What a folder holds of a dataset saved by `datasets` (``dataset_folder``)."""

    metadata: frozenset[str] = frozenset()  # its metadata files: skipped, said by DATASET_METADATA
    # The data files its state.json lists, or None if it has no such list: then every
    # .arrow file is read. Any other file read as Arrow is a cache file of map() or
    # filter(), which load_from_disk writes into the folder: not the dataset's rows.
    data_files: frozenset[str] | None = None
    notes: tuple[tuple[str, str, str], ...] = ()  # (name, problem, what to do): a state.json not trusted
    missing: tuple[str, ...] = ()  # listed data files the folder lacks

    def skipped(self, name: str, reads_as: str | None) -> tuple[str, str] | None:
        """(problem, what to do) if the file ``name`` of the folder, read by the reader
        ``reads_as`` (None: none reads it), is not read as a document file; else None."""
        for noted, problem, action in self.notes:
            if noted == name:
                return problem, action
        if name in self.metadata:
            return DATASET_METADATA, SKIP_ACTIONS[DATASET_METADATA]
        if self.data_files is not None and name not in self.data_files and reads_as == "arrow":
            return DATASET_CACHE, SKIP_ACTIONS[DATASET_CACHE]
        return None


MISSING_DATA_FILE = "data file listed in the dataset folder's state.json is missing"
MISSING_ACTION = "its rows are not in the run; copy the whole folder save_to_disk wrote again"


def dataset_folder(names: list[str], read: Callable[[str], bytes | None]) -> DatasetFolder:
    """What the names among a folder's files (``read(name)``: that file's bytes, None if
    unreadable) are of a dataset saved by `datasets`: state.json with its list of data
    files and the dataset_info.json beside it, or a DatasetDict's dataset_dict.json with
    its splits. A state.json that cannot be read, or is not JSON, beside a dataset_info.json
    or a data file, or whose _data_files is not as datasets writes it, is said, and every
    .arrow file is read."""
    metadata = set()
    if "dataset_dict.json" in names and "splits" in (_json_object(read("dataset_dict.json")) or {}):
        metadata.add("dataset_dict.json")
    if "state.json" not in names:
        return DatasetFolder(frozenset(metadata))
    data = read("state.json")
    state = _json_object(data)
    if state is not None and "_data_files" in state:
        listed = _listed_files(state["_data_files"])
        if listed is not None:
            metadata.add("state.json")
            if "dataset_info.json" in names:
                metadata.add("dataset_info.json")
            present = set(names)
            return DatasetFolder(frozenset(metadata), frozenset(listed),
                                 missing=tuple(_sorted_names(list(set(listed) - present))))
        why = "does not list its data files as datasets writes them (_data_files: a list of {'filename': ...})"
    elif state is None and ("dataset_info.json" in names or any(_DATA_FILE.fullmatch(name) for name in names)):
        why = "cannot be read" if data is None else "is not valid JSON"  # cut off, or not written by datasets
    else:
        return DatasetFolder(frozenset(metadata))  # a state.json of something else: a file like any other
    if "dataset_info.json" in names:
        metadata.add("dataset_info.json")
    return DatasetFolder(frozenset(metadata),
                         notes=(("state.json", f"state.json of a Hugging Face dataset folder {why}", STATE_ACTION),))


def _listed_files(listed: object) -> list[str] | None:
    """The file names of a state.json's _data_files, or None if it is not as datasets
    writes it. A name with a '/' is not a file of the folder: not as datasets writes it."""
    if not isinstance(listed, list):
        return None
    names = [entry.get("filename") if isinstance(entry, dict) else None for entry in listed]
    if not all(isinstance(name, str) and name and "/" not in name and name not in (".", "..") for name in names):
        return None
    return names  # type: ignore[return-value]


def _file_in(folder: Path, name: str) -> bytes | None:
    return _small_file(folder / name)


def _small_file(path: Location, limit: int = DEFAULT_MAX_DOC_BYTES) -> bytes | None:
    """A metadata file's bytes (a summary.json, a saved dataset's state.json, a timings
    file), or None if it cannot be read or is larger than ``limit`` (too large to be one)."""
    try:
        with open_input(path) as f:
            data = f.read(limit + 1)
    except (OSError, NotRegularFile) as err:
        # Unread for a limit of the process, a run's summary.json would be taken for no
        # run's, and its folder walked as input.
        raise_if_machine_limit(err, f"reading {source_name(path)}")
        return None
    return data if len(data) <= limit else None


def _json_object(data: bytes | None) -> dict | None:
    """The JSON object the bytes hold, or None."""
    try:
        parsed = orjson.loads(data) if data is not None else None
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


@dataclass(frozen=True, slots=True)
class InputFile:
    path: Location  # the real path, for opening (may hold undecodable bytes as surrogates), or a URL
    # Its input root's label, "/", its path inside the root (forward slashes); with one root,
    # the path alone; always valid Unicode (see source_name).
    source: str
    size: int
    format: str = AUTO  # the reader that reads it (see curate.formats); auto: by its suffix, when read
    # What changes when the file does, for --resume: a local file's mtime in ns, an object's ETag.
    stamp: int | str | None = None


@dataclass(frozen=True, slots=True)
class InputRoot:
    """An input as given, and the label its sources start with ("" for the only input)."""

    root: str  # made absolute (symlinks kept as given); a URL as given; always valid Unicode
    label: str
    # A pattern's folder (curate.globs: up to its first segment with a wildcard), spelled as
    # root is: its sources are paths inside it, not inside root (which holds the wildcards).
    # None for any other input, whose summary entry has no such key.
    folder: str | None = None

    def to_json(self) -> dict[str, str]:
        spelled = {"root": self.root, "label": self.label}
        return spelled if self.folder is None else {**spelled, "folder": self.folder}


# What a walk says of entries that come and go while a run is stopped and are never read,
# so that the run does not depend on them: curate's own files (another run's output
# folder, a --timings file) and hidden names (an editor's swap or lock file, `.x.txt.swp`,
# `.~lock.x#`, `.#x`, made by opening an input to look at it). They are the run's last
# items, after every document, and out of its fingerprint: one that came or went while a
# run was stopped (`curate run data -o data/a`, stopped, then `curate run data -o
# data/b`; or `vim data/f05.txt`) made its --resume refused, its finished chunks thrown
# away. The others, a run's first items, are in the fingerprint: an unsupported file that
# came or went would shift every item a resumed run skips by (driver.skip_items).
TRAILING = frozenset({OTHER_OUTPUT, TIMINGS_SKIPPED, HIDDEN_FILE, HIDDEN_FOLDER})


def is_trailing(item: object) -> bool:
    """A note said after every document (see TRAILING)."""
    return isinstance(item, Problem) and item.problem in TRAILING


@dataclass(frozen=True, slots=True)
class Discovery:
    files: list[InputFile]
    problems: list[Problem]  # skipped entries: unsupported type, unreadable folder, hidden, not regular, ...
    roots: list[InputRoot] = field(default_factory=list)  # in the order given; none for records given in memory

    @property
    def leading(self) -> list[Problem]:
        """The skipped entries a run says first, in walk order: all but the trailing ones."""
        return [p for p in self.problems if p.problem not in TRAILING]

    @property
    def trailing(self) -> list[Problem]:
        """The notes said after every document (curate's own files, hidden names), in walk order."""
        return [p for p in self.problems if p.problem in TRAILING]


def source_name(name: str | os.PathLike) -> str:
    """The spelling of a file name in the output: its raw bytes decoded as UTF-8, with
    every byte that is not valid UTF-8 written as ``\\xNN``.

    It depends only on the bytes on disk, never on the locale (under LC_ALL=C Python sees
    ``café`` as ``caf\\udcc3\\udca9``), and it is always encodable, so it can be written as
    JSON. The real path is kept separately for opening the file. A URL's is spelled the
    same way (storage.url_text, which this is)."""
    return url_text(os.fsdecode(name))


# -- input roots ---------------------------------------------------------------------------


def root_labels(roots: list[str]) -> list[str]:
    """The label of each input root, which its files' sources start with: "" for a single
    root (sources as they always were); else the shortest trailing run of the root's path
    components that no other root ends with (``/d1/crawl``, ``/d2/crawl`` -> ``d1/crawl``,
    ``d2/crawl``). Pure on the strings as given, so ``s3://bucket/crawl`` is ``crawl`` too.

    When that gives no usable labels (two roots alike in every trailing run, or a label
    that starts another one, as ``a`` and ``a/b``, whose sources could meet), every root is
    named by its position instead: ``input-1``, ``input-2``, ..."""
    if len(roots) <= 1:
        return [""] * len(roots)
    parts = [tuple(_components(root)) for root in roots]
    # Counted once for all roots, so that tens of thousands of inputs (a shell's expansion
    # of a crawl's files) are labelled in linear time, not by comparing every pair.
    ends = Counter(own[-k:] for own in parts for k in range(1, len(own) + 1))
    labels = []
    for own in parts:
        unique = next((k for k in range(1, len(own) + 1) if ends[own[-k:]] == 1), None)
        if unique is None:
            return _by_position(roots)
        labels.append("/".join(own[-unique:]))
    return _by_position(roots) if _ambiguous(labels) else labels


def _by_position(roots: list[str]) -> list[str]:
    return [f"input-{n}" for n in range(1, len(roots) + 1)]


def _components(root: str) -> list[str]:
    # A web URL's as the output spells it: a signed URL's label holds no signature, and is
    # the same when it is signed again.
    return [source_name(part) for part in public_url(root).split("/") if part not in ("", ".")]


def _ambiguous(labels: list[str]) -> bool:
    """Two labels the same, or one a leading run of another's components."""
    if len(set(labels)) < len(labels):
        return True
    known = set(labels)
    return any(label[:cut] in known for label in labels for cut in _slashes(label))


def _slashes(text: str) -> Iterator[int]:
    """The positions of the "/"s in the text."""
    at = text.find("/")
    while at >= 0:
        yield at
        at = text.find("/", at + 1)


def input_root(given: str) -> str:
    """A root as summary.json names it: a URL as given, a local path made absolute (the
    link as given, not where it leads), both decoded as sources are."""
    return url_text(given) if is_remote(given) else source_name(absolute(given))


def _prefixed(label: str, rel: str) -> str:
    """A source under a root labelled ``label``; ``rel`` is "." for the root itself."""
    if not label:
        return rel
    return label if rel == "." else f"{label}/{rel}"


# -- discovery -----------------------------------------------------------------------------


class _Listing:
    """The files a discover() call has taken so far, told to its ``on_listed``."""

    def __init__(self, on_listed: Callable[[int], None]):
        self.on_listed = on_listed
        self.found = 0

    def took(self) -> None:
        self.found += 1
        self.on_listed(self.found)


# The listing of the discover() call under way, if it was given an on_listed: set for the
# call, so that the walks' helpers need not hand it down.
_LISTING: contextvars.ContextVar[_Listing | None] = contextvars.ContextVar("curate_listing", default=None)


def discover(inputs: list[Location] | list[Path], output: Location | None = None,
             options: ReadOptions | None = None, on_listed: Callable[[int], None] | None = None) -> Discovery:
    """List input files: folders walked recursively and sorted, roots in the order given.

    ``output``: this run's output folder. The run refuses to write over an input, and a
    walk skips the output folder, and any other folder holding a curate run's output,
    so a run never reads its own output back. ``options.format`` decides which files are
    taken (see the module's docstring) and is recorded on each file. A URL
    (``s3://bucket/crawl/``) is listed through fsspec (curate.storage) the same way.
    ``on_listed`` is called with the count of files taken so far as each is taken (the
    CLI's progress line: a folder of 300,000 files is listed for seconds)."""
    token = _LISTING.set(_Listing(on_listed) if on_listed is not None else None)
    try:
        return _discover(inputs, output, options)
    finally:
        _LISTING.reset(token)


def _took_file() -> None:
    listing = _LISTING.get()
    if listing is not None:
        listing.took()


def _discover(inputs: list[Location] | list[Path], output: Location | None,
              options: ReadOptions | None) -> Discovery:
    input_format = check_format((options or DEFAULT_READ).format)
    given = [os.fspath(p) for p in inputs]
    for spelled in given:  # every URL, before the first is listed: a run that cannot read one does not start
        check_location(as_location(spelled))
    globs = [as_glob(p) for p in given]
    walked = [glob.root if glob is not None else p for glob, p in zip(globs, given, strict=True)]
    roots = [as_location(p) for p in walked]
    labels = root_labels(walked)
    local_roots = [root for root in roots if isinstance(root, Path)]
    for local, glob, spelled in zip(roots, globs, given, strict=True):
        if not isinstance(local, Path):
            continue
        absolute(local)  # a relative path with the current folder gone: said so, not "no such file"
        try:
            if glob is not None and not local.is_dir():
                raise UsageError(f"{spelled}: no folder {local} to match the pattern in; check the path")
            if not local.exists() and not local.is_symlink():
                raise UsageError(f"{local}: no such file or folder; check the path")
        except OSError as err:  # Path.exists says False for a missing path, and raises the rest
            raise unreadable_input(spelled, err) from None
    # A pattern's folder is not read whole: two inputs meet only if a file is taken twice
    # (checked once the files are listed, below).
    _refuse_overlapping_roots([root for root, glob in zip(roots, globs, strict=True)
                               if isinstance(root, Path) and glob is None])
    _refuse_overlapping_urls([root for root, glob in zip(roots, globs, strict=True)
                              if isinstance(root, str) and glob is None],
                             output if output is not None and is_remote(output) else None,
                             [(spelled, glob) for root, glob, spelled in zip(roots, globs, given, strict=True)
                              if isinstance(root, str) and glob is not None])
    out_real = None
    local_output = Path(output) if output is not None and not is_remote(output) else None
    if local_output is not None:
        _refuse_output_over_inputs(local_roots, local_output)
        out_real = os.path.realpath(local_output)
    for local, glob, spelled in zip(roots, globs, given, strict=True):
        if isinstance(local, Path):
            _refuse_curate_output_root(local, spelled, glob is not None)
    files: list[InputFile] = []
    problems: list[Problem] = []
    visited: dict[str, str] = {}  # real path of every folder walked -> its source
    taken: dict[str, str] = {}  # with patterns: every file's real path (or URL) -> the input that took it
    for root, label, glob, spelled in zip(roots, labels, globs, given, strict=True):
        before = len(files), len(problems)
        if isinstance(root, str):
            files.extend(_walk_remote(root, label, problems, input_format, glob, spelled))
        elif root.is_dir():
            if local_output is not None:
                problems.extend(_own_output_notice(root, local_output, label))
            # A pattern's walk keeps its own record of the folders it went through: two
            # patterns may walk one folder for different files (checked by _refuse_taken_twice).
            files.extend(_walk(root, label, problems, visited if glob is None else {}, out_real, input_format, glob))
        else:
            _add_file(root, label or source_name(root.name), input_format, files, problems, named=True)
        if glob is not None and (len(files), len(problems)) == before:
            raise UsageError(f"{spelled}: no file matches the pattern; check it (quote it, so that the shell "
                             "leaves it to curate)")
        if glob is None and (len(files), len(problems)) == before:
            # As a pattern that matches nothing: a run over nothing would finish "successfully"
            # with an empty corpus, and a pipeline would go on with it.
            raise UsageError(f"{spelled}: the folder holds no files (nor any folder with files in it); check the path")
        if any(globs):
            _refuse_taken_twice(files[before[0]:], spelled, taken)
    # Labels keep roots apart; what is left is two names spelled alike in the output (a
    # name holding the text \xe9 beside one holding the byte 0xE9).
    seen: dict[str, Location] = {}
    for f in files:
        if f.source in seen:
            raise UsageError(
                f"{source_name(seen[f.source])} and {source_name(f.path)} both appear as source {f.source!r}; "
                "rename one of them"
            )
        seen[f.source] = f.path
    return Discovery(files, problems, [InputRoot(input_root(p), label, None if glob is None else input_root(glob.root))
                                       for p, label, glob in zip(given, labels, globs, strict=True)])


def _refuse_overlapping_roots(roots: list[Path]) -> None:
    """Two inputs that are the same, or one inside the other, would read files twice.
    Said of the first such pair in input order; found through each root's own path and
    its folders', so that many inputs cost linear time, not a check of every pair."""
    spelled = [spellings(root) for root in roots]
    is_dir = [root.is_dir() for root in roots]
    # Each spelling (as given, and resolved) of every root: the roots spelled so.
    at: list[dict[str, list[int]]] = [defaultdict(list), defaultdict(list)]
    for k, paths in enumerate(spelled):
        for kind, path in enumerate(paths):
            at[kind][path].append(k)
    pairs: set[tuple[int, int]] = set()  # (first, second) in input order
    for k, paths in enumerate(spelled):
        for kind, path in enumerate(paths):
            pairs.update((min(j, k), max(j, k)) for j in at[kind][path] if j != k)
            for folder in _folders_above(path):
                pairs.update((min(j, k), max(j, k)) for j in at[kind].get(folder, ()) if is_dir[j] and j != k)
    if not pairs:
        return
    i, j = min(pairs)
    a, b = roots[i], roots[j]
    if any(x == y for x, y in zip(spelled[i], spelled[j], strict=True)):
        raise UsageError(f"{a} and {b} are the same {'folder' if is_dir[i] else 'file'}; give it once")
    outer, inner = (a, b) if is_dir[i] and any(inside(x, y) for x, y in zip(spelled[j], spelled[i], strict=True)) \
        else (b, a)
    raise UsageError(f"{inner} is inside {outer}, so its files would be read twice; give only {outer}, or only {inner}")


def _folders_above(path: str, sep: str = os.sep) -> Iterator[str]:
    """Every folder the path is inside, nearest first, as _inside reads them."""
    head = path.rstrip(sep) or path
    while True:
        cut = head.rfind(sep)
        if cut < 0:
            return
        head = head[:cut] or sep
        yield head
        if head == sep:
            return


def _refuse_output_over_inputs(roots: list[Path], output: Path) -> None:
    out_paths = spellings(output)
    for root in roots:
        root_paths = spellings(root)
        if any(inside(r, o) for r, o in zip(root_paths, out_paths, strict=True)):
            what = "folder" if root.is_dir() else "file"
            how = "is" if any(r == o for r, o in zip(root_paths, out_paths, strict=True)) else "holds"
            raise UsageError(f"-o {output}: the output folder {how} the input {what} {root}, and curate never "
                             "writes over its inputs; choose another output folder with -o DIR")


def _own_output_notice(root: Path, output: Path, label: str) -> list[Problem]:
    """Say that the output folder, inside this input folder, is not read. Said whether or
    not the folder exists yet, so a run and its --resume see the same items."""
    for root_path, out_path in zip(spellings(root), spellings(output), strict=True):
        if inside(out_path, root_path):
            source = _prefixed(label, source_name(Path(os.path.relpath(out_path, root_path)).as_posix()))
            return [Problem(source, None, OWN_OUTPUT,
                            "not read; the output of a run is not its input", lines=0)]
    return []


def _refuse_curate_output_root(root: Path, spelled: str, pattern: bool) -> None:
    """An input (or the folder a pattern is matched in) that is a curate run's output
    folder: its summary.json, audit files and index are no text, and its corpus is read
    only when its corpus/ folder is named. A walk skips such a folder inside an input with
    a problem; named, it is a mistake to say at once, as a file no reader claims is."""
    try:
        found = root.is_dir() and is_curate_output(root)
    except OSError as err:  # ENAMETOOLONG and the like: the walk says it
        raise_if_machine_limit(err, f"reading {spelled}")
        return
    if found:
        raise UsageError(_output_as_input(spelled, source_name(root) if pattern else None,
                                          source_name(root / CORPUS) + os.sep))


def _output_as_input(spelled: str, pattern_root: str | None, corpus: str) -> str:
    """The refusal of an input that is a curate run's output folder (``pattern_root``:
    the folder a pattern is matched in, which is one)."""
    where = "" if pattern_root is None else f"the pattern is matched in {pattern_root}, "
    return (f"{spelled}: {where}a curate run's output folder, whose files curate does not read as input; to read "
            f"its corpus, give {corpus} as the input")


def _leads_into(path: Path, out_real: str | None) -> bool:
    """A link (or a path through one) that leads inside this run's output folder."""
    if out_real is None:
        return False
    return inside(os.path.realpath(path), out_real)


def _link_into_output(source: str) -> Problem:
    return Problem(source, None, OWN_OUTPUT, "not read; a symlink leads into this run's output folder, and the "
                   "output of a run is not its input", lines=0)


def _is_link_loop(path: Path) -> bool:
    """A symlink that leads back to itself. The stat's other errors (a path over the
    system's length limit) are _add_file's to say, as for any file."""
    if not os.path.islink(path):  # False on any error, which Path.is_symlink raises for ENAMETOOLONG
        return False
    try:
        path.stat()
    except OSError as err:
        return err.errno == errno.ELOOP
    return False


def _sorted_names(names: list[str]) -> list[str]:
    # By raw bytes: the same order whatever the locale decodes names as.
    return sorted(names, key=os.fsencode)


def _walk(root: Path, label: str, problems: list[Problem], visited: dict[str, str], out_real: str | None,
          input_format: str, glob: Glob | None = None) -> list[InputFile]:
    """The files under the folder (those ``glob`` takes, with one), in sorted order."""
    found: list[InputFile] = []

    def onerror(err: OSError) -> None:
        rel = _rel(Path(err.filename), root, label) if err.filename else _prefixed(label, ".")
        raise_if_machine_limit(err, f"listing the folder {rel}")  # else its files were dropped from the run
        problems.append(Problem(rel, None, f"cannot read folder: {err.strerror}", _folder_action(err), lines=0))

    # Each folder's real path, found from its parent's: realpath from scratch looks up
    # every folder above it, which in a tree 1,000 folders deep cost a minute.
    reals = {os.fspath(root): os.path.realpath(root)}
    for dirpath, dirnames, filenames in walk_folders(root, onerror, followlinks=True):
        here = _rel(Path(dirpath), root, label)
        real = reals.pop(dirpath)
        if real in visited:
            problems.append(_revisit_problem(here, real, dirpath, visited))
            dirnames[:] = []
            continue
        visited[real] = source_name(dirpath)  # as the user spelled it: it may be under another input
        kept = []
        for name in _sorted_names(dirnames):
            path = Path(dirpath) / name
            below = os.path.realpath(path) if os.path.islink(path) else os.path.join(real, name)
            if out_real is not None and below == out_real:
                continue  # this run's output: said once, by _own_output_notice
            if out_real is not None and inside(below, out_real):  # through a link
                problems.append(_link_into_output(_rel(path, root, label)))
                continue
            if glob is not None and not glob.may_hold(path.relative_to(root).as_posix()):
                continue  # not asked for: nothing to say of it
            skipped = _skipped_folder(path, _rel(path, root, label))
            if skipped is None or _into_corpus(glob, skipped, path.relative_to(root).as_posix()):
                kept.append(name)
                reals[os.path.join(dirpath, name)] = below
            elif glob is None or _holds_taken(path, root, glob):  # as a bucket's walk, which sees files only
                problems.append(skipped)
        dirnames[:] = kept
        dataset = dataset_folder(filenames, functools.partial(_file_in, Path(dirpath)))
        for name in _sorted_names([*filenames, *dataset.missing]):
            path = Path(dirpath) / name
            if glob is not None and not glob.takes(path.relative_to(root).as_posix()):
                continue
            if name in dataset.missing:
                problems.append(Problem(_rel(path, root, label), None, MISSING_DATA_FILE, MISSING_ACTION, lines=0))
                continue
            # Only a link can lead elsewhere: a folder reached through one was checked above.
            if os.path.islink(path) and _leads_into(path, out_real):  # --overwrite would delete it mid-run
                problems.append(_link_into_output(_rel(path, root, label)))
                continue
            skip = _skipped_file(name, path, dataset, input_format)
            if skip is not None:
                problems.append(Problem(_rel(path, root, label), None, *skip, lines=0))
                continue
            _add_file(path, _rel(path, root, label), input_format, found, problems)
    found.sort(key=lambda f: f.source)
    return found


def _skipped_file(name: str, path: Location, dataset: DatasetFolder, input_format: str) -> tuple[str, str] | None:
    """(problem, what to do) if a file met in a walk is skipped by design, else None."""
    if _hidden(name):
        return HIDDEN_FILE, SKIP_ACTIONS[HIDDEN_FILE]
    reader = reader_for(path, input_format)
    return dataset.skipped(name, reader.name if reader is not None else None)


def unreadable_input(spelled: str, err: OSError) -> UsageError:
    """The stop for an input named on the command line that cannot even be looked at
    (paths.unreachable); a limit of the process or machine is said as one."""
    raise_if_machine_limit(err, f"looking at {spelled}")
    return unreachable(source_name(spelled), err)


def _refuse_taken_twice(files: list[InputFile], spelled: str, taken: dict[str, str]) -> None:
    """With a pattern among the inputs, a file two inputs take would be read twice."""
    for file in files:
        where = file.path if isinstance(file.path, str) else os.path.realpath(file.path)
        first = taken.setdefault(where, spelled)
        if first != spelled:
            raise UsageError(f"{source_name(file.path)} is taken by both {first} and {spelled}, so it would be read "
                             "twice; narrow one of them")


def _holds_taken(folder: Path, root: Path, glob: Glob) -> bool:
    """Does the folder hold a file the pattern takes? (A subfolder that cannot be listed
    holds none that can be read; one the process cannot list for a limit of its own stops.)"""
    def onerror(err: OSError) -> None:
        raise_if_machine_limit(err, f"listing the folder {_rel(Path(err.filename or folder), root, '')}")

    for here, _, names in walk_folders(folder, onerror):
        if any(glob.takes((Path(here) / name).relative_to(root).as_posix()) for name in names):
            return True
    return False


def _revisit_problem(here: str, real: str, dirpath: str, visited: dict[str, str]) -> Problem:
    """A folder reached a second time through a symlink: a loop if it leads back to a
    folder above it, else a second way into a folder already read."""
    if inside(os.path.realpath(os.path.dirname(dirpath)), real):
        return Problem(here, None, "symlink loop", "skipped; remove the link", lines=0)
    return Problem(here, None, f"folder already read as {visited[real]!r} (a symlink leads to it)",
                   "skipped, so its files are read once", lines=0, kind="folder already read")


def _skipped_folder(path: Path, source: str) -> Problem | None:
    """Why a folder met in a walk is not entered, or None to enter it."""
    if path.name.startswith("."):
        return Problem(source, None, HIDDEN_FOLDER, SKIP_ACTIONS[HIDDEN_FOLDER], lines=0)
    try:
        if is_curate_output(path):
            return Problem(source, None, OTHER_OUTPUT, SKIP_ACTIONS[OTHER_OUTPUT], lines=0)
    except OSError as err:  # ENAMETOOLONG: Path.is_dir() lets it through
        raise_if_machine_limit(err, f"reading the folder {source}")
        return Problem(source, None, f"cannot read folder: {err.strerror}", _folder_action(err), lines=0)
    return None


def _into_corpus(glob: Glob | None, skipped: Problem, relative: str) -> bool:
    """A pattern that names an output folder's corpus/ (``'runs/*/corpus/*.jsonl'``) goes
    into it, as the shell's expansion (``runs/a/corpus/part-00000.jsonl ...``) would be
    read: it takes nothing else of the folder."""
    return glob is not None and skipped.problem == OTHER_OUTPUT and glob.names_below(relative, CORPUS)


def _folder_action(err: OSError) -> str:
    if err.errno == errno.ENAMETOOLONG:
        return ("skipped; its path is longer than this system allows: cd to a folder nearer to it and give the "
                "input as a path relative to there (the limit is on the path as given), or shorten the names above it")
    return "skipped; fix its permissions"


def _file_action(err: OSError) -> str:
    if err.errno == errno.ENAMETOOLONG:
        return ("skipped; its path is longer than this system allows: cd to a folder nearer to it and give the "
                "input as a path relative to there (the limit is on the path as given), or shorten its name or the "
                "names above it")
    return "skipped; check the path and its permissions"


def is_curate_output(folder: Path) -> bool:
    """A folder a curate run wrote: it has an unfinished run's ``.partial/``, or a
    summary.json with curate's settings in it."""
    return (folder / PARTIAL).is_dir() or _is_curate_summary(folder / SUMMARY)


def _is_curate_summary(summary: Location) -> bool:
    """A summary.json, on disk or in a store, with curate's settings in it."""
    data = _small_file(summary)
    return data is not None and is_curate_summary(data)


def _rel(path: Path, root: Path, label: str) -> str:
    # The label is spelled already (root_labels): decoded again, its characters would be
    # encoded in the locale's encoding first (``ü`` as the byte 0xFC under Latin-1, or an
    # error under ASCII), so only the path below the root is.
    return _prefixed(label, source_name(path.relative_to(root).as_posix()))


def _reader_or_skip(path: Location, source: str, input_format: str, problems: list[Problem],
                    named: bool) -> str | None:
    """The name of the reader that reads ``path``, or None after saying why it is skipped."""
    name = base_name(path)
    if not named and name == JOB_MARKER:  # empty, whatever --format says: never a document
        problems.append(Problem(source, None, JOB_MARKER_SKIPPED, SKIP_ACTIONS[JOB_MARKER_SKIPPED], lines=0))
        return None
    reader = reader_for(path, input_format)
    if reader is not None:
        return reader.name
    if not named and name in PARQUET_SUMMARY_NAMES:  # read as Parquet with --format parquet, which says the same
        problems.append(Problem(source, None, PARQUET_SUMMARY, SKIP_ACTIONS[PARQUET_SUMMARY], lines=0))
        return None
    if named:  # named on the command line: a mistake to say at once, not a skip to find later
        raise UsageError(f"{path}: unsupported file type; {supported()} files (a folder is walked for them), "
                         "or name the format of this one with --format")
    problems.append(Problem(source, None, "unsupported file type", f"skipped; {supported()}", lines=0))
    return None


def _add_file(path: Path, source: str, input_format: str, files: list[InputFile], problems: list[Problem],
              named: bool = False) -> None:
    if _is_link_loop(path):  # said as a folder's loop is, whatever the name's suffix
        problems.append(Problem(source, None, "symlink loop", "skipped; remove the link", lines=0))
        return
    reader = _reader_or_skip(path, source, input_format, problems, named)
    if reader is None:
        return
    try:
        st = path.stat()
    except OSError as err:
        raise_if_machine_limit(err, f"reading {source}")  # no kernel memory: no fault of the file's
        problems.append(Problem(source, None, f"cannot read file: {err.strerror}", _file_action(err), lines=0))
        return
    if not stat.S_ISREG(st.st_mode):
        problems.append(not_regular_problem(source, kind_of_mode(st.st_mode)))
        return
    if not named and _is_timings(path, st.st_size):  # as its own output folder: never read back
        problems.append(Problem(source, None, TIMINGS_SKIPPED, SKIP_ACTIONS[TIMINGS_SKIPPED], lines=0))
        return
    files.append(InputFile(path, source, st.st_size, reader, st.st_mtime_ns))
    _took_file()


def _is_timings(path: Path, size: int) -> bool:
    """A file `--timings FILE` wrote: told by its bytes, of a .json file small enough to be
    one (so a walk opens no other file, and reads at most 64 kB of one). One that cannot be
    read is not, and its reader says why."""
    if size > TIMINGS_MAX_BYTES or not path.name.lower().endswith(".json"):
        return False
    data = _small_file(path, TIMINGS_MAX_BYTES)
    return data is not None and holds_timings(data)


# -- object storage --------------------------------------------------------------------------


def _refuse_overlapping_urls(urls: list[str], output: Location | None,
                             patterns: Iterable[tuple[str, Glob]] = ()) -> None:
    """The checks of the local roots, on URLs (compared as storage.comparable_url spells
    them, so ``s3a://b/x/`` is ``s3://b/x``): the same input twice, one inside another, or
    the output folder among the inputs. ``patterns``: each pattern as given and its Glob,
    whose folder may hold other inputs' files (two patterns may take different files of
    one folder), but not the output folder's, nor be inside it."""
    def url_inside(child: str, parent: str) -> bool:
        return inside(comparable_url(child), comparable_url(parent), "/")

    # As for local roots: through each URL and the folders above it, not every pair.
    spelled: dict[str, list[int]] = defaultdict(list)
    for k, url in enumerate(urls):
        spelled[comparable_url(url)].append(k)
    pairs: set[tuple[int, int]] = set()
    for k, url in enumerate(urls):
        same = comparable_url(url)
        for other in (same, *_folders_above(same, "/")):
            pairs.update((min(j, k), max(j, k)) for j in spelled.get(other, ()) if j != k)
    if pairs:
        i, j = min(pairs)
        raise UsageError(f"{urls[i]} and {urls[j]} overlap, so files would be read twice; give each input once")
    if not isinstance(output, str):
        return
    for a in urls:
        if url_inside(a, output) or url_inside(output, a):
            raise UsageError(f"-o {output}: the output folder and the input {a} overlap, and curate never writes "
                             "over its inputs or reads its own output; choose another output with -o URL")
    for given, glob in patterns:
        if url_inside(glob.root, output):
            raise UsageError(f"-o {output}: the output folder holds the folder the pattern {given} is matched in "
                             f"({glob.root}), and curate never writes over its inputs or reads its own output; "
                             "choose another output with -o URL")
        out, root = comparable_url(output), comparable_url(glob.root)
        if url_inside(output, glob.root) and glob.may_hold(out[len(root) + 1:]):
            raise UsageError(f"-o {output}: the pattern {given} may take the output folder's files, and curate "
                             "never reads its own output; choose another output with -o URL, or a pattern that "
                             "leaves it out")


def _walk_remote(root: str, label: str, problems: list[Problem], input_format: str,
                 glob: Glob | None = None, spelled: str | None = None) -> list[InputFile]:
    """A bucket prefix walked as a local folder is (_walk), problems in the same order:
    in each folder its skipped subfolders, then its files, then each subfolder in turn."""
    folder, entries = list_remote(root)
    outputs = _remote_outputs(entries)  # told by their summary.json, which a pattern may leave out
    if folder and "" in outputs:  # the folder given is one, as _refuse_curate_output_root says of a local one
        raise UsageError(_output_as_input(spelled or root, root if glob is not None else None,
                                          join(root, CORPUS) + "/"))
    # Every object of a folder tells whether it holds a saved dataset, as a local walk
    # sees every file, whichever the pattern takes.
    every = _remote_tree(entries)
    if glob is not None:
        if not folder:
            raise UsageError(f"{root}: a file, not a folder to match a pattern in; check the pattern")
        entries = [entry for entry in entries if glob.takes(entry.relative)]
    if not folder:
        [entry] = entries
        source = label or source_name(base_name(root))
        reader = _reader_or_skip(entry.url, source, input_format, problems, named=True)
        return [InputFile(entry.url, source, entry.size, reader or AUTO, entry.stamp)]
    if glob is None and not root.endswith("/"):
        problems.extend(_object_named_as_root(root, label))
    found: list[InputFile] = []

    def walk(node: _RemoteFolder, whole: _RemoteFolder, here: str) -> None:
        entered = []
        for name in _by_bytes(node.folders):
            path = f"{here}{name}"
            kind = HIDDEN_FOLDER if _hidden(name) else OTHER_OUTPUT if path in outputs else None
            if kind == OTHER_OUTPUT and glob is not None and glob.names_below(path, CORPUS):
                kind = None  # as _into_corpus: the pattern takes only its corpus/
            if kind is None:
                entered.append(name)
            else:
                problems.append(Problem(_remote_source(label, path, root), None, kind, SKIP_ACTIONS[kind], lines=0))
        dataset = dataset_folder(list(whole.files), lambda name: _small_file(whole.files[name].url))
        for name in _by_bytes([*node.files, *dataset.missing]):
            if name in dataset.missing:
                if glob is None or glob.takes(f"{here}{name}"):
                    problems.append(Problem(_remote_source(label, f"{here}{name}", root), None, MISSING_DATA_FILE,
                                            MISSING_ACTION, lines=0))
                continue
            _take_remote(node.files[name], _remote_source(label, node.files[name].relative, root),
                         dataset, input_format, found, problems)
        for name in entered:
            walk(node.folders[name], whole.folders[name], f"{here}{name}/")

    walk(_remote_tree(entries), every, "")
    found.sort(key=lambda f: f.source)
    return found


@dataclass
class _RemoteFolder:
    """A folder in a bucket's walk. A name may be a file and a folder at once (keys
    ``x.jsonl`` and ``x.jsonl/a.jsonl``), which no disk allows: both are read, so the two
    are kept apart, never one in place of the other."""

    files: dict[str, RemoteEntry] = field(default_factory=dict)
    folders: dict[str, _RemoteFolder] = field(default_factory=dict)


def _remote_tree(entries: list[RemoteEntry]) -> _RemoteFolder:
    """The folders the keys spell, split at every '/' as written: ``a/../d.jsonl`` is
    ``d.jsonl`` in a folder ``..`` in a folder ``a``, and a key ending in '/' is a file
    named "" (see _take_remote)."""
    tree = _RemoteFolder()
    for entry in entries:
        *folders, name = entry.relative.split("/")
        node = tree
        for part in folders:
            node = node.folders.setdefault(part, _RemoteFolder())
        node.files[name] = entry
    return tree


def _by_bytes(names: Iterable[str]) -> list[str]:
    return sorted(names, key=spelled_bytes)  # as a local walk (_sorted_names), whatever the locale


def _hidden(name: str) -> bool:
    """A name that starts with '.', as on disk. A key's '.' and '..' segments are no
    hidden names but the spelling of the key (no disk has a file or folder so named):
    their objects are read, and counted, as any other."""
    return name.startswith(".") and name not in (".", "..")


def _remote_source(label: str, relative: str, root: str) -> str:
    """An object's source: its key below the input prefix, exactly as written, so that
    two keys (``a/../d.jsonl`` and ``d.jsonl``, ``crawl//e.jsonl`` and ``crawl/e.jsonl``)
    never meet as one source; ordinary keys are spelled as a disk's files are. The object
    named as the prefix itself with a '/' (relative "") is named by the prefix's last
    segment and that '/'."""
    if not relative:
        return (label or source_name(base_name(root))) + "/"
    return _prefixed(label, source_name(relative))  # the label is spelled already, as in _rel


def _take_remote(entry: RemoteEntry, source: str, dataset: DatasetFolder, input_format: str,
                 found: list[InputFile], problems: list[Problem]) -> None:
    """An object met in a bucket's walk: added to ``found``, or skipped with a problem."""
    if entry.relative.endswith("/") or not entry.relative:
        problems.append(Problem(source, None, "object key ends in '/'",
                                f"not read: fsspec opens {url_text(entry.url)} as a folder, not as the object; copy it "
                                "to a key without the trailing '/' to read it", lines=0))
        return
    skip = _skipped_file(entry.relative.rpartition("/")[2], entry.url, dataset, input_format)
    if skip is not None:
        problems.append(Problem(source, None, *skip, lines=0))
        return
    reader = _reader_or_skip(entry.url, source, input_format, problems, named=False)
    if reader is not None:
        found.append(InputFile(entry.url, source, entry.size, reader, entry.stamp))
        _took_file()


def _object_named_as_root(root: str, label: str) -> list[Problem]:
    """A folder given as ``s3://b/crawl/x.jsonl`` that is an object too (keys ``x.jsonl``
    and ``x.jsonl/a.jsonl``): listing the folder does not show the object, so it is said,
    never silently lost. It is read from the folder above, where both are."""
    entry = object_at(root)
    if entry is None:
        return []
    above = root.rstrip("/").rpartition("/")[0] + "/"
    return [Problem(label or source_name(base_name(root)), None, "object named as the folder given",
                    f"not read: {url_text(root)} is both an object and a folder, and the folder's objects are "
                    f"read; to read the object too, give the folder above it ({url_text(above)}) as the input",
                    lines=0)]


def _remote_outputs(entries: list[RemoteEntry]) -> set[str]:
    """The folders among a remote walk's entries that hold a curate run's output (see
    is_curate_output), by their path below the folder walked: "" for that folder itself."""
    outputs = set()
    for entry in entries:
        head, _, name = entry.relative.rpartition("/")
        if entry.relative.startswith(f"{PARTIAL}/"):  # the folder walked is an unfinished run's ("")
            outputs.add("")
        elif f"/{PARTIAL}/" in entry.relative:  # an unfinished run's folder
            outputs.add(entry.relative.split(f"/{PARTIAL}/")[0])
        elif name == SUMMARY and entry.size <= DEFAULT_MAX_DOC_BYTES and _is_curate_summary(entry.url):
            outputs.add(head)
    return outputs


def input_file(path: Path, input_format: str = AUTO) -> InputFile:
    """One file named by the user (``curate explain``), spelled as a run would spell it.
    UsageError if no reader reads it."""
    reader = reader_for(path, check_format(input_format))
    if reader is None:
        raise UsageError(f"{path}: unsupported file type; {supported()} files, or name its format with --format")
    return InputFile(path, source_name(path.name), path.stat().st_size, reader.name)


