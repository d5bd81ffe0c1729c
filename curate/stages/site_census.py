"""The census before the main pass: every page's distinct lines counted by (site, line).

Workers read and normalise the pages and send back, per page, only its site and the
64-bit keys of its distinct lines (`CensusRenderer`, run where the page is, as the
output's renderer is); this process counts them (`Census`). The counts are a count by
key, like dedup's: past a memory budget the keys go to partition files on disk (by their
top bits, so the partitions are key ranges), and each partition is counted alone at the
end. What comes out is the table of repeated lines (`site.SiteTable`), which is small: a
site's template is tens of lines, whatever the number of its pages.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from curate.document import Document, Problem, RawDocument
from curate.formats import reader_for
from curate.stages.base import Batch, Stage, run_stages
from curate.stages.dedup.budget import default_memory
from curate.stages.site import SiteBoilerplate, SiteTable, page_key, page_keys, site_of, threshold

if TYPE_CHECKING:
    from curate.discover import InputFile
    from curate.driver import RunConfig
    from curate.engines import Engine, Progress
    from curate.formats import IdRegistry

PARTITION_BITS = 4  # 16 partitions: each a sixteenth of the keys when counted
KEY_BYTES = 8 + 4 + 8  # a key, its site's number and its page's
DEFAULT_BUDGET = 256 << 20

CensusRow = tuple[str, int, np.ndarray] | None  # site, page, the keys of its distinct lines


@dataclass(frozen=True)
class CensusRenderer:
    """What a worker sends back for each item of the census: (site, page, keys) or None.
    The page is a hash of its URL (of its source and id with --site folder): a page read
    twice, from two shards of a dump, counts once. ``stages`` (read, normalise) run here,
    and only on a page that has a site: a corpus without URLs costs the census no more
    than reading it."""

    mode: str
    stages: tuple[Stage, ...] = ()

    def __call__(self, item: object) -> CensusRow:
        if not isinstance(item, (RawDocument, Document)):
            return None  # a problem: the main pass reports it
        site = site_of(item, self.mode)
        if site is None:
            return None
        doc: object = item
        if self.stages:
            [doc] = run_stages(list(self.stages), Batch(0, [item])).items
        if not isinstance(doc, Document) or not doc.lines:
            return None
        return site, page_key(doc, self.mode), page_keys(doc, site)


class Census:
    """Counts pages per site and per (site, line) key, within ``budget`` bytes of memory."""

    def __init__(self, min_pages: int, min_share: float, scratch: Path | None = None,
                 budget: int = DEFAULT_BUDGET):
        self.min_pages = min_pages
        self.min_share = min_share
        self.sites: dict[str, int] = {}  # site -> its number
        self.page_sites: list[int] = []  # each page's site and key, in the order they came
        self.page_keys: list[int] = []
        self.keys: list[np.ndarray] = []  # each page's keys since the last _take: pages page_sites[held_from:]
        self.held_from = 0
        self.held = 0  # keys in memory
        self.limit = max(1 << 16, budget // KEY_BYTES)
        self.scratch = scratch
        self.folder: Path | None = None  # the partition files, once a spill made them

    def add(self, row: CensusRow) -> None:
        if row is None:
            return
        site, page, keys = row
        number = self.sites.setdefault(site, len(self.sites))
        self.page_sites.append(number)
        self.page_keys.append(page)
        self.keys.append(keys)
        self.held += len(keys)
        if self.held >= self.limit:
            self._spill()

    def table(self) -> SiteTable:
        """Every key repeated on enough of its site's pages, sorted, with its counts."""
        pages = self._site_pages()
        if not len(pages) or pages.max() < self.min_pages:
            self.close()
            return SiteTable()
        needed = threshold(pages, self.min_pages, self.min_share)
        parts = []
        if self.folder is None:
            parts.append(self._repeated(*self._take(), pages, needed))
        else:
            self._spill()
            for part in range(1 << PARTITION_BITS):
                parts.append(self._repeated(*self._read(part), pages, needed))
        self.close()
        keys = np.concatenate([p[0] for p in parts])
        return SiteTable(keys, np.concatenate([p[1] for p in parts]).astype(np.uint32),
                         np.concatenate([p[2] for p in parts]).astype(np.uint32))

    def close(self, stopped: bool = False) -> None:
        self.keys, self.held = [], 0
        self.held_from = len(self.page_sites)
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def _site_pages(self) -> np.ndarray:
        """The distinct pages of each site, by its number."""
        sites = np.asarray(self.page_sites, dtype=np.int64)
        first = _first_of_pairs(sites, np.asarray(self.page_keys, dtype=np.uint64))
        return np.bincount(sites[first], minlength=len(self.sites)).astype(np.int64)

    @staticmethod
    def _repeated(keys: np.ndarray, owners: np.ndarray, page_of: np.ndarray, pages: np.ndarray,
                  needed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # A key is one site's line (the site is hashed into it), so counting a key's
        # distinct pages counts the pages of that site that have the line.
        first = _first_of_pairs(keys, page_of)
        keys, owners = keys[first], owners[first]
        unique, first, counts = np.unique(keys, return_index=True, return_counts=True)
        site = owners[first]
        chosen = counts >= needed[site]
        return unique[chosen], counts[chosen], pages[site[chosen]]

    def _take(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        keys = np.concatenate(self.keys) if self.keys else np.empty(0, np.uint64)
        # Each key's site and page: its page's, repeated (two arrays a page cost more than the keys).
        counts = np.fromiter(map(len, self.keys), dtype=np.int64, count=len(self.keys))
        owners = np.repeat(np.asarray(self.page_sites[self.held_from:], dtype=np.uint32), counts)
        pages = np.repeat(np.asarray(self.page_keys[self.held_from:], dtype=np.uint64), counts)
        self.keys, self.held = [], 0
        self.held_from = len(self.page_sites)
        return keys, owners, pages

    def _spill(self) -> None:
        if self.folder is None:
            if self.scratch is not None:
                self.scratch.mkdir(parents=True, exist_ok=True)
            self.folder = Path(tempfile.mkdtemp(prefix="site-census-", dir=self.scratch))
        taken = self._take()
        part_of = taken[0] >> np.uint64(64 - PARTITION_BITS)
        for part in range(1 << PARTITION_BITS):
            chosen = part_of == part
            for name, values in zip(PARTS, taken, strict=True):
                with open(self.folder / f"{part:02d}.{name}", "ab") as out:
                    out.write(values[chosen].tobytes())

    def _read(self, part: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        assert self.folder is not None
        keys, owners, pages = (np.fromfile(self.folder / f"{part:02d}.{name}", dtype=kind)
                               for name, kind in zip(PARTS, (np.uint64, np.uint32, np.uint64), strict=True))
        return keys, owners, pages


PARTS = ("keys", "owners", "pages")  # a partition's files, as _take gives the arrays


def _first_of_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Indices of the first occurrence of each distinct (a, b) pair."""
    if not len(a):
        return np.empty(0, dtype=np.int64)
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    new = np.ones(len(a), dtype=bool)
    new[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    return np.sort(order[new])


# Readers whose documents never carry a URL: a run of them all needs no census by URL.
NO_METADATA_READERS = frozenset({"txt"})


def active_site_stage(stages: list[Stage]) -> SiteBoilerplate | None:
    """The pipeline's site stage, if it has one that is on (not --site off)."""
    return next((s for s in stages if isinstance(s, SiteBoilerplate) and s.active), None)


def census_stage_of(stages: list[Stage], files: list[InputFile]) -> SiteBoilerplate | None:
    """The site stage, when its census can find anything in these files."""
    stage = active_site_stage(stages)
    if stage is None or not files:
        return None
    if stage.mode == "url" and all(_reader_name(f) in NO_METADATA_READERS for f in files):
        return None
    return stage


def census_stage_of_items(stages: list[Stage], items: Iterable[RawDocument | Problem]) -> SiteBoilerplate | None:
    """The site stage, when its census can find anything in documents given in memory
    (the Python API): when one of them has a site. The census reads them before the main
    pass does, so with a site stage on they must be a Sequence, not an iterator."""
    stage = active_site_stage(stages)
    if stage is None:
        return None
    if not isinstance(items, Sequence):
        raise TypeError("documents given in memory are read twice when the site stage is on (a census first): "
                        f"give a Sequence, not {type(items).__name__}")
    return stage if any(isinstance(item, RawDocument) and site_of(item, stage.mode) is not None
                        for item in items) else None


def _reader_name(f: InputFile) -> str | None:
    reader = reader_for(f.path, f.format)
    return None if reader is None else reader.name


def take_census(stage: SiteBoilerplate, stages: list[Stage], engine: Engine,
                work: tuple[Iterator[Batch], IdRegistry | None], on_progress: Progress | None,
                cfg: RunConfig, scratch: Path | None) -> SiteTable:
    """Read and normalise every page on ``engine`` and count its lines by site: the table
    of the lines each site repeats."""
    batches, ids = work
    memory = cfg.memory if cfg.memory is not None else default_memory()
    census = Census(stage.min_pages, stage.min_share, scratch, budget=min(DEFAULT_BUDGET, memory // 4))
    try:
        # The engines call a renderer on each item where it is and hand back what it gave:
        # any picklable callable does, though their signatures name the output's Renderer.
        for batch in engine.process([], None, batches, on_progress, cfg.output,
                                    render=CensusRenderer(stage.mode, tuple(stages)), ids=ids):  # type: ignore[arg-type]
            for row in batch.rendered or ():
                census.add(row)  # type: ignore[arg-type]
        return census.table()
    finally:
        census.close()
        if ids is not None:
            ids.close()
