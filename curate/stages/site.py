"""Site-level boilerplate: lines repeated on many pages of one site.

A menu, a footer or a promo is the same line on every page of a site, and often looks like
nothing on one page alone (a long promo reads as prose). So before the main pass the
driver runs a census (`curate.stages.site_census`): every page's distinct lines are
counted by (site, line), over the whole input. This stage then removes, from each page, the
lines its site repeats on at least ``min_pages`` pages and on at least ``min_share`` of the
site's pages, each audited as ``site:repeated`` with the count.

The site of a document is the host of its ``url`` (a JSONL or Parquet field, or a WET
record's WARC-Target-URI), one key however the host is spelled (`curate.stages.site_host`:
lower case, no trailing dot or ``www.``, IDNA's Unicode form, IPv6 compressed), also of a
URL written without its scheme ("example.org/1"); with ``--site folder``, the folder its
file is in. A document without one is left alone.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

import numpy as np
import xxhash

from curate.distinct import distinct
from curate.document import Document, RawDocument, Reason
from curate.stages.base import Batch, Stage
from curate.stages.site_host import FIRST_SEGMENT_END, bare_host, site_key

if TYPE_CHECKING:
    from curate.driver import RunConfig

SITE_MODES = ("url", "folder", "off")
DEFAULT_MIN_PAGES = 3
# A line on 2% of a big site's pages is still its template (rotating promos, teasers of
# the week); below that, a line shared by a few pages is as likely a quote or a heading.
DEFAULT_MIN_SHARE = 0.02
REASON = "site:repeated"
URL_FIELD = "url"


def site_of(doc: Document | RawDocument, mode: str) -> str | None:
    """The site a document belongs to, or None (no URL, or ``mode`` off)."""
    if mode == "url":
        url = doc.metadata.get(URL_FIELD) if doc.metadata else None
        if not isinstance(url, str):
            return None
        return _site_of_url(_authority_part(url.strip()))
    if mode == "folder":
        return posixpath.dirname(doc.source) or "."
    return None


def _authority_part(url: str) -> str:
    """The start of ``url`` up to where its authority (the host) ends: urlsplit finds the
    same host in it as in the whole URL, and a site's pages share it, so its host is
    parsed once a site (urlsplit of a whole URL cost ~5 µs, twice a page: census and
    stage)."""
    at = url.find("//")
    if at < 0:
        # No authority: a scheme-less URL's host, if any, is its first segment, shared by its
        # site's pages. (urlsplit drops tabs and newlines, which can make a "//" of "/\t/":
        # such a URL is parsed whole.)
        return url if any(c in url for c in "\t\n\r") else FIRST_SEGMENT_END.split(url, maxsplit=1)[0]
    ends = [end for end in (url.find("/", at + 2), url.find("?", at + 2), url.find("#", at + 2)) if end >= 0]
    return url[:min(ends)] if ends else url


@lru_cache(maxsize=4096)
def _site_of_url(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # an unparsable URL (a bad IPv6 literal, ...): no site, not a crash
        return None
    if not parts.netloc:  # no "//": "example.org/1" may still start with its host
        host = bare_host(url)
    return site_key(host)


def line_key(site: str, text: str) -> int:
    """One 64-bit key for a line of a site: the census and the stage must agree on it."""
    # surrogatepass: a line read with undecodable bytes kept as surrogates still has a key
    return xxhash.xxh3_64_intdigest(f"{site}\n{text}".encode("utf-8", "surrogatepass"))


def line_keys(doc: Document, site: str) -> np.ndarray:
    """The key of each of a page's lines, in order."""
    return pages_line_keys([(doc, site)])


def pages_line_keys(pages: list[tuple[Document, str]]) -> np.ndarray:
    """line_keys of the pages (each with its site), one after another, in one array."""
    return np.fromiter((line_key(site, line.text) for doc, site in pages for line in doc.lines), dtype=np.uint64,
                       count=sum(len(doc.lines) for doc, _ in pages))


def page_keys(doc: Document, site: str) -> np.ndarray:
    """The keys of a page's distinct lines, sorted: a page counts once per line."""
    return distinct(line_keys(doc, site))


def page_key(doc: Document | RawDocument, mode: str) -> int:
    """One page, however many times the input holds it: its URL, or its source and id."""
    url = doc.metadata.get(URL_FIELD) if mode == "url" and doc.metadata else None
    name = url.strip() if isinstance(url, str) else f"{doc.source}\n{doc.id}"
    return xxhash.xxh3_64_intdigest(name.encode("utf-8", "surrogatepass"))


@dataclass(frozen=True)
class SiteTable:
    """The census's verdict: the key of every repeated line (sorted), the pages it is on,
    and the pages its site has (for the audit's detail)."""

    keys: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))
    counts: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint32))
    pages: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint32))

    def __len__(self) -> int:
        return len(self.keys)

    def find(self, keys: np.ndarray) -> np.ndarray:
        """Where each key is in the table, or -1."""
        if not len(self.keys) or not len(keys):
            return np.full(len(keys), -1, dtype=np.int64)
        pos = np.searchsorted(self.keys, keys)
        inside = np.minimum(pos, len(self.keys) - 1)
        return np.where(self.keys[inside] == keys, inside, -1)


def threshold(pages: np.ndarray, min_pages: int, min_share: float) -> np.ndarray:
    """Pages a line must be on to be its site's boilerplate, for sites of ``pages`` pages."""
    return np.maximum(min_pages, np.ceil(pages * min_share - 1e-9)).astype(np.int64)


@dataclass
class SiteBoilerplate(Stage):
    """Removes the lines the census found repeated across a site's pages."""

    name: ClassVar[str] = "site"
    mode: str = "url"
    min_pages: int = DEFAULT_MIN_PAGES
    min_share: float = DEFAULT_MIN_SHARE
    # The census's result: it follows from the inputs and the settings above, which the
    # fingerprint already holds.
    table: SiteTable = field(default_factory=SiteTable, metadata={"fingerprint": False})

    @classmethod
    def from_config(cls, cfg: RunConfig) -> SiteBoilerplate:
        return cls(cfg.site, cfg.site_min_pages, cfg.site_min_share)

    @property
    def active(self) -> bool:
        return self.mode != "off"

    def __call__(self, batch: Batch) -> Batch:
        if not len(self.table):
            return batch
        sited = [(doc, site) for doc in batch.documents()
                 if doc.lines and (site := site_of(doc, self.mode)) is not None]
        if not sited:
            return batch
        # The batch's lines looked up at once: a lookup a page cost more than the lookup.
        found = self.table.find(pages_line_keys(sited))
        rows = np.flatnonzero(found >= 0)
        if not len(rows):
            return batch
        sizes = [len(doc.lines) for doc, _ in sited]
        ends = np.cumsum(sizes)
        first = ends - sizes
        for page in distinct(np.searchsorted(ends, rows, side="right")).tolist():
            doc, site = sited[page]
            where = found[first[page]:ends[page]].tolist()
            doc.drop({line.index: self._reason(site, at) for line, at in zip(doc.lines, where, strict=True) if at >= 0})
        return batch

    def _reason(self, site: str, where: int) -> Reason:
        count, pages = int(self.table.counts[where]), int(self.table.pages[where])
        return Reason("site", REASON, f"repeated on {count} of {pages} pages of {site}")


