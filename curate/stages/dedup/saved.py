"""A finished run's dedup index as a folder, so a later run can deduplicate against it
(`--save-index`, then `--against`) without reading the earlier text again.

    index/index.json        format, paragraph count, the dedup settings the keys depend on,
                            and a digest of the other files (what a resumed run checks)
    index/keys.npy          uint64 band keys, sorted
    index/ids.npy           uint32 paragraph id of each key (ids in input order)
    index/shingles.u32      each kept paragraph's sorted shingle hashes, one after another
    index/shingle_ends.npy  int64 end (in bytes) of each paragraph's set
    index/refs.jsonl        each kept paragraph's reference: [doc, source, line, byte_start, byte_end]

Everything is plain numpy and JSON, readable without curate.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curate.errors import ArgumentError, UsageError
from curate.outdir import INDEX
from curate.paths import inside, spellings
from curate.stages.dedup.signature import DedupConfig
from curate.storage import Location

FORMAT = 1
INDEX_FOLDER = INDEX  # inside a finished output folder
INDEX_JSON = "index.json"


def settings_of(cfg: DedupConfig) -> dict:
    """What band keys and shingle sets depend on: an index is usable only with the same."""
    bands, rows = cfg.bands
    return {"threshold": cfg.threshold, "num_perm": cfg.num_perm, "bands": bands, "rows": rows, "seed": cfg.seed,
            "shingle_words": cfg.shingle_words, "shingle_chars": cfg.shingle_chars, "min_words": cfg.min_words,
            "min_chars": cfg.min_chars}


class DamagedIndex(OSError):
    """A saved index's file found damaged as a run reads it, past what `open_saved`
    checks (a byte changed in place keeps every size right): the run stops with one line
    that says to save the index again, as on any file of it it cannot read."""


def check_ids(ids: np.ndarray, paragraphs: int, saved: int | None = None) -> None:
    """Every paragraph id of ``ids`` (a saved index's, or those of an index that holds
    one) is below ``paragraphs``, the paragraphs there are: else the saved index's ids.npy
    was changed in place (``saved``: its paragraph count, when not ``paragraphs``). One
    comparison per id looked up or copied, where a scan of ids.npy at open would read 4
    bytes a band of every paragraph of every crawl so far."""
    if len(ids) and (largest := int(ids.max())) >= paragraphs:
        held = paragraphs if saved is None else saved
        raise DamagedIndex(f"ids.npy: paragraph id {largest}, but the index holds {held} paragraphs")


@dataclass
class SavedIndex:
    """A saved index, opened: keys in memory, sets and references read on demand."""

    folder: Path
    paragraphs: int
    keys: np.ndarray
    ids: np.ndarray
    shingle_ends: np.ndarray
    ref_ends: np.ndarray

    def describe(self) -> dict:
        """What summary.json says of it."""
        return {"index": str(self.folder.absolute()), "paragraphs": self.paragraphs}


def find_index(path: Path) -> Path:
    """The index folder named by ``--against PATH``: an earlier output folder holding one,
    or the index folder itself."""
    for folder in (path / INDEX_FOLDER, path):
        if (folder / INDEX_JSON).is_file():
            return folder
    raise UsageError(f"--against {path}: no dedup index there (no {INDEX_FOLDER}/{INDEX_JSON}); run the earlier "
                     "corpus with --save-index to write one into its output folder")


def refuse_index_in_output(path: Path, output: Location) -> None:
    """Refuse an ``--against`` index that ``-o`` holds (or that holds ``-o``): --overwrite
    deletes the folder before the run reads the index, and a resumed or finished run
    writes its own index over it, so the earlier run would be lost. Called before the
    output folder is touched. Both spellings of each path are compared, as given (made
    absolute: ``..`` folded) and with symlinks resolved, since either can reach the other:
    deleting ``-o`` removes a symlinked ``index/`` the run would read through."""
    if not isinstance(output, Path):  # a URL: never where a local index is
        return
    index = next((folder for folder in (path / INDEX_FOLDER, path) if (folder / INDEX_JSON).is_file()), None)
    if index is None:  # no index: open_saved says so
        return
    outs, indexes = spellings(output), spellings(index)
    fix = "give another -o DIR, or copy the earlier output elsewhere and give --against that copy"
    if any(inside(i, o) for i in indexes for o in outs):
        if any(inside(a, o) and inside(o, a) for a in spellings(path) for o in outs):
            raise ArgumentError(f"--against {path} and -o {output} are the same folder: this run would delete or "
                                f"write over the index it reads ({index}); {fix}")
        raise ArgumentError(f"-o {output} holds the index --against {path} reads ({index}): this run would "
                            f"delete or write over it; {fix}")
    if any(inside(o, i) for i in indexes for o in outs):
        raise ArgumentError(f"-o {output} is inside the index --against {path} reads ({index}); give an -o DIR "
                            "outside it")


def open_saved(path: Path, cfg: DedupConfig) -> SavedIndex:
    """The index ``--against PATH`` names, checked whole before the run starts: a cut or
    damaged index is said here, with what to do, not met half-way through the run."""
    folder = find_index(path)
    try:
        meta = _read_meta(folder)
        _check_settings(folder, meta, cfg)
        saved = _load(folder, meta)
        _check_sizes(saved)
    except (OSError, ValueError, KeyError) as err:
        raise UsageError(f"--against {folder}: cannot read the index ({err}); save it again with --save-index") \
            from err
    return saved


def _read_meta(folder: Path) -> dict:
    """index.json, with every field the run reads of the type it reads it as (a list, or
    a string for "dedup", failed with an AttributeError)."""
    meta = json.loads((folder / INDEX_JSON).read_text())
    if not isinstance(meta, dict):
        raise ValueError(f"{INDEX_JSON} holds {type(meta).__name__}, not an object")
    if meta.get("format") != FORMAT:  # another format may hold other fields: said before they are checked
        return meta
    paragraphs, dedup = meta.get("paragraphs"), meta.get("dedup")
    if not isinstance(paragraphs, int) or isinstance(paragraphs, bool) or paragraphs < 0:
        raise ValueError(f"{INDEX_JSON}: \"paragraphs\" is {paragraphs!r}, not a count")
    if not isinstance(dedup, dict):
        raise ValueError(f"{INDEX_JSON}: \"dedup\" is {dedup!r}, not an object of settings")
    return meta


def _check_settings(folder: Path, meta: dict, cfg: DedupConfig) -> None:
    if meta.get("format") != FORMAT:
        raise UsageError(f"--against {folder}: index format {meta.get('format')}, this curate reads {FORMAT}; "
                         "save the earlier run's index again with this version")
    differs = {k: (v, meta["dedup"].get(k)) for k, v in settings_of(cfg).items() if meta["dedup"].get(k) != v}
    if differs:
        said = ", ".join(f"{k} {theirs} there, {ours} here" for k, (ours, theirs) in differs.items())
        raise UsageError(f"--against {folder}: the index was made with other dedup settings ({said}); "
                         "give the same --threshold, --num-perm, --shingle-* and --min-words")


# What write_index saves each array as: another type would be read as garbage.
ARRAYS = {"keys": np.uint64, "ids": np.uint32, "shingle_ends": np.int64, "ref_ends": np.int64}


def _load(folder: Path, meta: dict) -> SavedIndex:
    # Mapped, not read: a run reads them into memory, or looks them up in the files,
    # as its memory budget allows (index.py). np.load checks each file holds its shape.
    arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in ARRAYS}
    for name, dtype in ARRAYS.items():
        if arrays[name].dtype != dtype or arrays[name].ndim != 1:
            raise ValueError(f"{name}.npy holds {arrays[name].dtype} {arrays[name].shape}, not one row of "
                             f"{np.dtype(dtype)}")
    return SavedIndex(folder, meta["paragraphs"], **arrays)


def _check_sizes(saved: SavedIndex) -> None:
    """Every file as long as the others say: a copy cut short, or one file of another
    save, is found here, not by a read half-way through the run.

    Sizes, not the digest in index.json: checking it reads every byte of the index
    (0.94 GB for a 1 GB corpus took 2.4 s here, warm, about 3% of a run over a 1 GB
    crawl), and the index a crawl runs against holds every crawl before it, so the cost
    would grow with the corpus while a run under a memory budget reads only the sets it
    verifies. A file cut or left from another save changes a size; a byte changed in
    place does not, and a resumed run still checks index.json (the fingerprint)."""
    n = saved.paragraphs
    if not len(saved.shingle_ends) == len(saved.ref_ends) == n:
        raise ValueError(f"{INDEX_JSON} says {n} paragraphs, shingle_ends.npy has {len(saved.shingle_ends)} and "
                         f"ref_ends.npy {len(saved.ref_ends)}")
    # Each whole .npy file is as long as its header says (np.load checks it); the two
    # must be as long as each other. Not n * bands: an index need not hold every band of
    # every paragraph (a test's crafted index does not), and nothing read assumes it.
    if len(saved.keys) != len(saved.ids):
        raise ValueError(f"keys.npy has {len(saved.keys)} keys and ids.npy {len(saved.ids)} ids")
    for ends, name, unit in ((saved.shingle_ends, "shingles.u32", 4), (saved.ref_ends, "refs.jsonl", 1)):
        _check_ends(ends, saved.folder / name, unit)


def _check_ends(ends: np.ndarray, path: Path, unit: int) -> None:
    """Record k of ``path`` ends at byte ends[k]: the ends must climb (by whole
    ``unit``-byte values) from 0 to the file's size. Read a block at a time, as a run
    under a tight memory budget reads them from the file."""
    size = path.stat().st_size
    last = int(ends[-1]) if len(ends) else 0
    if last != size:
        raise ValueError(f"{path.name} holds {size} bytes, its ends say {last} (cut short, or from another save?)")
    before = 0
    for start in range(0, len(ends), ENDS_BLOCK):
        block = np.asarray(ends[start:start + ENDS_BLOCK], dtype=np.int64)
        steps = np.diff(block, prepend=before)
        if (steps < 0).any() or (steps % unit).any():
            raise ValueError(f"the ends of {path.name}'s records go back, or cut its values (from record "
                             f"{start + int(np.flatnonzero((steps < 0) | (steps % unit != 0))[0])})")
        before = int(block[-1])


ENDS_BLOCK = 1 << 20  # 8 MB of ends at a time


def write_index(folder: Path, cfg: DedupConfig, write_keys: Callable[[Path, Path], None], shingle_files: list[Path],
                shingle_ends: np.ndarray, ref_lines: Iterable[bytes]) -> None:
    """Write an index folder: ``write_keys(keys_path, ids_path)`` writes keys.npy and ids.npy
    (sorted by key, then id), the shingle files are joined in order, and ``ref_lines`` are
    the JSON lines of refs.jsonl. Built beside it and renamed, so it is whole or absent."""
    building = folder.with_name(f".{folder.name}-building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    write_keys(building / "keys.npy", building / "ids.npy")
    with open(building / "shingles.u32", "wb") as joined:
        for part in shingle_files:
            with open(part, "rb") as f:
                shutil.copyfileobj(f, joined, 1 << 20)
    np.save(building / "shingle_ends.npy", shingle_ends)
    lengths = array("q")  # 8 bytes a line, not a Python int's 36
    with open(building / "refs.jsonl", "wb") as refs:
        for line in ref_lines:
            refs.write(line)
            lengths.append(len(line))
    np.save(building / "ref_ends.npy", np.cumsum(np.frombuffer(lengths, dtype=np.int64)))
    meta = {"format": FORMAT, "paragraphs": len(lengths), "dedup": settings_of(cfg), "digest": digest_of(building)}
    (building / INDEX_JSON).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(building, folder)


# The files a digest covers, in the order it reads them.
DIGESTED = ("keys.npy", "ids.npy", "shingles.u32", "shingle_ends.npy", "refs.jsonl", "ref_ends.npy")
INDEX_FILES = frozenset({INDEX_JSON, *DIGESTED})  # all an index folder holds


def digest_of(folder: Path) -> str:
    """What an index folder holds, as one hash of its files: a run deduplicated against
    an index is fingerprinted by index.json (barrier.py), so that a resumed run refuses
    an index saved again over the first, and its paragraph count and settings alone can
    be the same for other text. One read of files just written: 0.64 GB a second here."""
    digest = hashlib.blake2b(digest_size=16)
    for name in DIGESTED:
        with open(folder / name, "rb") as f:
            digest.update(hashlib.file_digest(f, lambda: hashlib.blake2b(digest_size=16)).digest())
    return "blake2b-128:" + digest.hexdigest()


def ref_line(ref: tuple | list) -> bytes:
    return (json.dumps(list(ref), ensure_ascii=False) + "\n").encode("utf-8")
