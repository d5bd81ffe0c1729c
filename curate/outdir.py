"""The output folder: who may write it (a lock), what is in it already, and durable files.

One run at a time writes a folder: two runs into one folder interleave their chunks and
can leave files that disagree with their summary. And a folder is only ever replaced or
continued when the user says so (``--overwrite``, ``--resume``): a finished run, or the
finished chunks of a stopped one, can be hours of work.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

import orjson

from curate.card import AUDIT_FIELDS, CARD, is_own_card
from curate.errors import UsageError
from curate.userfile import TEMPORARY

CORPUS = "corpus"  # a folder of shards: part-00000.jsonl, ... (docs/output.md)
LEGACY_CORPUS = "corpus.jsonl"  # the single corpus file of curate before output schema 1
REMOVED = "removed.jsonl"
QUARANTINE = "quarantine.jsonl"
SUMMARY = "summary.json"
OUTPUT_FILES = (CORPUS, REMOVED, QUARANTINE)
PARTIAL = ".partial"
# A finished commit renames .partial here before deleting it, so that a kill during the
# deletion leaves a finished folder plus leftovers that the next run removes.
DISCARDED = ".partial-discarded"
LOCK = ".curate.lock"
RUN_FILE = "run.json"  # in .partial/: the fingerprint of the run it belongs to (curate.write)
INDEX = "index"  # the dedup index of a run with --save-index (curate/stages/dedup/saved.py)
INDEX_BUILDING = ".index-building"
# What `curate report` and `curate clusters` write into the folder by default: curate's
# own, so a later --overwrite neither refuses the folder as foreign nor keeps a stale report.
REPORT = "report.html"
CLUSTERS = "clusters.jsonl"
DERIVED = (REPORT, CLUSTERS)
CURATE_NAMES = frozenset({*OUTPUT_FILES, LEGACY_CORPUS, SUMMARY, PARTIAL, DISCARDED, LOCK, INDEX, INDEX_BUILDING,
                          *DERIVED})


@contextlib.contextmanager
def naming(path: Path | str) -> Iterator[None]:
    """An OSError raised inside that names no file (a buffered flush, an fsync: a full
    disk's usual way to fail) names ``path``, so the user's message says which file."""
    try:
        yield
    except OSError as err:
        if err.filename is None:
            err.filename = str(path)
        raise


def close_unwritten(f: IO[bytes]) -> None:
    """Close a buffered file without writing what it still holds: for a file no one reads
    after (scratch, or the files of a run that is stopping), whose last write would only
    fail again on a full disk, and be raised over the error that stopped the run."""
    raw = getattr(f, "raw", None)
    with contextlib.suppress(OSError):
        if raw is not None:
            raw.close()  # the buffer's own close() then finds its file closed, and writes nothing
        f.close()


def fsync_path(path: Path) -> None:
    """Flush a file's data, or a folder's entries (renames, new and deleted files), to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        with naming(path):
            os.fsync(fd)
    finally:
        os.close(fd)


def write_synced(path: Path, data: bytes | memoryview) -> None:
    """``data`` written to ``path`` and on disk before this returns, with no rename: for
    the files of a folder that is renamed whole once they are all written. A memoryview
    of a numpy array (its ``.data``) writes the array without copying it."""
    with naming(path), open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_durably(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` all at once, on disk before this returns: written to
    a temporary file, synced, renamed, and the folder synced."""
    tmp = path.with_name(path.name + ".tmp")
    write_synced(tmp, data)
    os.replace(tmp, path)
    fsync_path(path.parent)


class OutputLock:
    """An exclusive, non-blocking ``flock`` on ``OUT/.curate.lock``, which holds the pid of
    the run that owns the folder. The kernel drops the lock when its process dies, however
    it dies, so a killed run never leaves a folder locked."""

    def __init__(self, folder: Path):
        self.path = folder / LOCK
        self.fd: int | None = None

    def acquire(self) -> None:
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                owner = _read_pid(fd)
                os.close(fd)
                if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                folder = self.path.parent
                raise UsageError(
                    f"{folder}: another curate run is writing this folder (pid {owner or 'unknown'}); "
                    "wait for it to end, or choose another folder with -o DIR") from None
            # The run we waited behind may have removed the file after we opened it: then
            # we hold a lock on a file nobody else will open, so take the lock again.
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self.fd = fd

    def release(self) -> None:
        """Remove the lock file while still holding the lock (see acquire), then let go."""
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        with contextlib.suppress(OSError):  # a stale lock file is harmless: the lock itself is gone with the fd
            self.path.unlink(missing_ok=True)
        os.close(fd)


def lock_holder(folder: Path) -> str | None:
    """The pid of the run that holds the folder's lock (``"unknown"`` if it wrote none
    yet), or None when no run holds it: for the commands that read a finished folder,
    which must not read one a run is replacing. Only a file that exists is opened (a reader
    creates nothing in the folder), and a shared lock is taken and let go at once: a run
    that starts in that instant is refused as if a run held the folder, and says so."""
    try:
        fd = os.open(folder / LOCK, os.O_RDONLY)
    except OSError:
        return None  # no lock file: no run, or one that has ended
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as err:
        if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise
        return _read_pid(fd) or "unknown"
    finally:
        os.close(fd)  # closing the only descriptor of this open file drops its lock
    return None


def enclosing_output(folder: Path) -> str | None:
    """Why ``folder`` may not be an output folder because it lies inside a curate output
    folder (a parent at any depth, by the path as given or with its symlinks followed), or
    None: a run's own commit renames corpus/ and the audit files into its folder, and its
    --overwrite deletes them, so a run inside one was lost or mixed into the other."""
    seen: set[str] = set()
    for spelled in (os.path.abspath(folder), os.path.realpath(folder)):
        for parent in Path(spelled).parents:
            if str(parent) in seen:
                continue
            seen.add(str(parent))
            holder = lock_holder(parent)
            if holder is not None:
                return f"{parent}, which a curate run is writing (pid {holder})"
            summary = _head(parent / SUMMARY, 1 << 26)
            if summary is not None and is_curate_summary(summary):
                return f"{parent}, a finished curate output folder (it holds {SUMMARY})"
            if (parent / PARTIAL / RUN_FILE).is_file():
                return f"{parent}, the output folder of an unfinished curate run (it holds {PARTIAL}/)"
    return None


def not_a_folder(path: Path) -> str | None:
    """What ``path`` is when it is there and no folder (a file, a symlink that leads to
    nothing or to itself), said as -o's refusal; None when it is a folder or is not there."""
    if not os.path.lexists(path):
        return None
    if path.is_symlink():
        try:
            os.stat(path)
        except OSError as err:
            if err.errno == errno.ELOOP:
                return (f"{path}: a symlink loop (following it leads back to it, {os.readlink(path)!r}), not a folder; "
                        "give -o a folder, or point the symlink at one")
            if err.errno == errno.ENOENT:
                return (f"{path}: a symlink to {os.readlink(path)}, which does not exist; create that folder, point "
                        "the symlink at a folder, or give -o another folder")
            return None  # said as the folder's own error
    if path.is_dir():
        return None
    what = "a file" if path.is_file() else "a special file (not a regular file)"
    return (f"{path}: {what}, not a folder; -o names the output folder (curate makes it if it does not exist): "
            "give another path")


def rename_new(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst``, which must not exist: FileExistsError if it does, never
    replacing it (renameat2's RENAME_NOREPLACE, where the kernel and file system have it;
    else a check just before the rename). os.replace would replace a file there, or an
    empty folder, silently."""
    if _renameat2 is not None:
        if _renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # unsupported there: check, then rename
            raise OSError(code, os.strerror(code), str(src), None, str(dst))
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(src), None, str(dst))
    os.rename(src, dst)


def _load_renameat2() -> Callable[..., int] | None:
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):  # not Linux, or a libc without it (glibc before 2.28)
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    function.restype = ctypes.c_int
    return cast(Callable[..., int], function)


_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_renameat2 = _load_renameat2()


def _read_pid(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""


@dataclass(frozen=True)
class FolderState:
    """What an existing output folder holds: ``empty``, ``finished`` (summary.json, no
    .partial), ``unfinished`` (a .partial of a stopped run), ``incomplete`` (some of
    curate's files, no summary.json and no .partial) or ``foreign`` (files curate did not
    write)."""

    kind: str
    names: tuple[str, ...] = ()  # what is there, for the message


def inspect_folder(folder: Path) -> FolderState:
    names = sorted(entry.name for entry in os.scandir(folder))
    state = state_of(names, own_card=CARD in names and _own_card_file(folder / CARD))
    if state.kind == "foreign":
        return state
    # Names alone are not enough: --overwrite deletes these, and a user's own corpus/ or
    # summary.json must not be taken for curate's.
    impostors = not_curates(names, lambda name, size: _head(folder / name, size),
                            lambda name: _listing(folder / name))
    return FolderState("foreign", tuple(impostors)) if impostors else state


# A corpus shard, whatever the sink (plugins name their own suffixes): part-00000.jsonl, ...
SHARD_NAME = re.compile(r"part-\d{5,}\.[A-Za-z0-9_.-]+")
# How every record of each audit file starts: a JSON object whose keys are written sorted,
# and whose first key is always there.
AUDIT_START = {file: b'{"' + min(name for name, _ in AUDIT_FIELDS[kind]).encode() + b'":'
               for file, kind in ((REMOVED, "removed"), (QUARANTINE, "quarantine"))}
# Reads the first bytes of a file of the folder (None: not a file, or unreadable).
Head = Callable[[str, int], "bytes | None"]
# Lists a subfolder: each entry's name and whether it is a file (None: not a folder).
Listing = Callable[[str], "list[tuple[str, bool]] | None"]


def not_curates(names: list[str], head: Head, listing: Listing) -> list[str]:
    """The entries among curate's names in a folder (local or in a store) whose content
    curate did not write, for the message: a summary.json without curate's settings, a
    corpus/ or index/ that is not a folder or holds other files, an audit file that is
    not a file or whose first record is not one of curate's."""
    found = []
    if SUMMARY in names and not is_curate_summary(head(SUMMARY, 1 << 26) or b""):
        found.append(f"{SUMMARY} (not a curate run's)")
    for name, fits in ((CORPUS, SHARD_NAME.fullmatch), (INDEX, _index_file_name)):
        if name not in names:
            continue
        entries = listing(name)
        if entries is None:
            found.append(f"{name} (not a folder)")
        else:
            found.extend(f"{name}/{entry}" for entry, is_file in entries if not (is_file and fits(entry)))
    for name, start in AUDIT_START.items():
        first = head(name, len(start)) if name in names else b""
        if first is None or (first and not first.startswith(start)):
            found.append(f"{name} (not curate's)")
    return found


def _index_file_name(name: str) -> bool:
    from curate.stages.dedup.saved import INDEX_FILES  # it imports this module

    return name in INDEX_FILES


def _head(path: Path, size: int) -> bytes | None:
    if path.is_symlink() or not path.is_file():
        return None
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except OSError:
        return None


def _listing(path: Path) -> list[tuple[str, bool]] | None:
    if path.is_symlink() or not path.is_dir():
        return None
    return sorted((entry.name, entry.is_file(follow_symlinks=False)) for entry in os.scandir(path))


def is_curate_summary(data: bytes) -> bool:
    """The bytes of a summary.json with curate's settings in it."""
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    settings = parsed.get("settings") if isinstance(parsed, dict) else None
    return isinstance(settings, dict) and "curate" in settings


def _own_card_file(path: Path) -> bool:
    return is_own_card(lambda: open(path, "rb"))


def state_of(names: list[str], own_card: bool = False) -> FolderState:
    """The state of a folder holding these names (sorted): local, or in object storage.
    ``own_card``: its README.md is curate's dataset card (curate.card), not the user's."""
    foreign = [n for n in names if n not in CURATE_NAMES and not _is_temporary(n) and not (n == CARD and own_card)]
    if foreign:
        return FolderState("foreign", tuple(foreign))
    ours = [n for n in names if n not in (LOCK, DISCARDED) and not _is_temporary(n)]
    if PARTIAL in ours:
        return FolderState("unfinished", tuple(ours))
    if SUMMARY in ours:
        return FolderState("finished", tuple(ours))
    if ours:
        return FolderState("incomplete", tuple(ours))
    return FolderState("empty")


def finished_run_leftover(folder: Path) -> bool:
    """Whether the folder's .partial/ is what a finished run's commit could not delete (a
    Ctrl-C or a disk error in its last step): curate's summary.json is beside it, and the
    commit renames summary.json into place after every other output, so the run is
    finished and .partial/ holds nothing a later run needs. The next run into the folder
    deletes it, as it deletes .partial-discarded/. (Not so in a staging folder, which is
    uploaded after that: curate.staged.)"""
    partial = folder / PARTIAL
    if partial.is_symlink() or not partial.is_dir():
        return False
    summary = _head(folder / SUMMARY, 1 << 26)
    return summary is not None and is_curate_summary(summary)


def _is_temporary(name: str) -> bool:
    """A file write_durably left half-written, named after one of curate's own files, or
    the temporary file of a report or clusters file that `curate report` or `curate
    clusters` was writing into the folder when it was killed (curate.userfile)."""
    if name.endswith(".tmp") and name[:-4] in CURATE_NAMES:
        return True
    temporary = TEMPORARY.fullmatch(name)
    return temporary is not None and temporary["name"] in DERIVED


def refusal(folder: Path, state: FolderState, resume: bool, overwrite: bool) -> UsageError | None:
    """Why a run may not use this folder as it is asked to, or None if it may."""
    listed = ", ".join(state.names[:5]) + (", ..." if len(state.names) > 5 else "")
    if state.kind == "foreign":
        return UsageError(
            f"{folder}: the folder holds files curate did not write ({listed}); curate writes only into an "
            "empty folder or one of its own output folders, so choose another folder with -o DIR")
    if resume and state.kind in ("empty", "finished", "incomplete"):
        what = {"empty": "nothing", "finished": "a finished run (summary.json)",
                "incomplete": f"no unfinished run ({listed}, without summary.json or .partial/)"}[state.kind]
        again = "run without --resume" if state.kind == "empty" else "use --overwrite to run again into it"
        return UsageError(f"{folder}: --resume found {what} to continue there; {again}")
    if resume or overwrite or state.kind == "empty":
        return None
    if state.kind == "finished":
        return UsageError(f"{folder}: the folder holds a finished run (summary.json); use --overwrite to replace "
                          "it, or choose another folder with -o DIR")
    if state.kind == "unfinished":
        return UsageError(f"{folder}: the folder holds an unfinished run (.partial/); use --resume to continue it, "
                          "or --overwrite to discard it and start again")
    return UsageError(f"{folder}: the folder holds part of an output ({listed}) but no summary.json; use "
                      "--overwrite to replace it, or choose another folder with -o DIR")


def clear_folder(folder: Path) -> None:
    """Delete curate's own files from the folder, summary.json first: until a new one
    lands the folder must not look finished."""
    for name in (SUMMARY, *OUTPUT_FILES, LEGACY_CORPUS, *DERIVED):
        remove_tree(folder / name)
        (folder / f"{name}.tmp").unlink(missing_ok=True)
    for entry in os.scandir(folder):
        if _is_temporary(entry.name) and not entry.is_dir(follow_symlinks=False):
            os.unlink(entry.path)
    if _own_card_file(folder / CARD):  # the user's own README.md stays (a folder holding one is refused anyway)
        (folder / CARD).unlink()
    fsync_path(folder)
    for name in (PARTIAL, DISCARDED, INDEX, INDEX_BUILDING):
        remove_tree(folder / name)


def remove_tree(path: Path) -> None:
    """Delete a folder that may be there or not, or half-deleted already."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
