"""The report's figures: one pass over removed.jsonl, one over the corpus shards.

Memory grows with the number of documents with a removed line (24 bytes each, to join
removed lines to their document's language, site and length) and of copies (16 bytes each,
ClusterIndex), and with the distinct reasons, sources, sites and languages; the samples are
capped, and no text is held but theirs.
"""

from __future__ import annotations

import heapq
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xxhash

from curate.document import RawDocument
from curate.report.clusters import ClusterIndex, is_copy
from curate.report.folder import CorpusDoc, OutputFolder
from curate.stages.site import SITE_MODES, site_of

EXAMPLES_PER_REASON = 5
EXAMPLE_CHARS = 300
# Document lengths in characters (of non-blank lines), binned on a log scale from 1 to 10^8.
LENGTH_BINS = np.concatenate([[0.0], np.logspace(0, 8, 49)])
SIMILARITY_STEPS = 50  # bins of 0.02; 1.0 falls in the last
SIMILARITY_BINS = np.linspace(0.0, 1.0, SIMILARITY_STEPS + 1)
EMPTIED = "(document emptied)"  # the language (and site) of a removed line whose document kept nothing
NO_LANGUAGE = "(none)"


def doc_key(doc: str, source: str) -> int:
    return xxhash.xxh3_64_intdigest(f"{doc}\x00{source}".encode("utf-8", "surrogatepass"))


@dataclass
class Example:
    source: str
    line: int
    text: str
    detail: str


@dataclass
class Figures:
    removed_lines: Counter = field(default_factory=Counter)  # reason -> lines
    removed_chars: Counter = field(default_factory=Counter)  # reason -> characters
    by_stage: Counter = field(default_factory=Counter)  # stage -> lines
    source_removed: Counter = field(default_factory=Counter)  # source -> lines removed
    source_kept: Counter = field(default_factory=Counter)  # source -> lines kept
    # source -> lines quarantined (a source with a problem is listed even if its problem holds no line)
    source_quarantined: Counter = field(default_factory=Counter)
    site_removed: Counter = field(default_factory=Counter)  # its document's site -> lines removed
    site_kept: Counter = field(default_factory=Counter)  # site -> lines kept (none without a site stage)
    language_kept: Counter = field(default_factory=Counter)  # language -> lines kept
    language_removed: Counter = field(default_factory=Counter)  # its document's language -> lines removed
    length_before: np.ndarray = field(default_factory=lambda: np.zeros(len(LENGTH_BINS) - 1, np.int64))
    length_after: np.ndarray = field(default_factory=lambda: np.zeros(len(LENGTH_BINS) - 1, np.int64))
    documents: int = 0  # documents with a line read: in the corpus or emptied
    emptied: int = 0
    similarity: np.ndarray = field(default_factory=lambda: np.zeros(len(SIMILARITY_BINS) - 1, np.int64))
    examples: dict[str, list[Example]] = field(default_factory=dict)  # reason -> sample, in file order
    clusters: ClusterIndex = field(default_factory=ClusterIndex)


class _Samples:
    """Up to k records per reason: those with the smallest hash of their place, so the
    sample is spread over the whole run and the same on every read."""

    def __init__(self, k: int):
        self.k = k
        self.heaps: dict[str, list[tuple[int, int, Example]]] = {}

    def offer(self, reason: str, offset: int, record: dict[str, Any]) -> None:
        rank = -xxhash.xxh3_64_intdigest(f"{record.get('source')}\x00{offset}".encode("utf-8", "surrogatepass"))
        heap = self.heaps.setdefault(reason, [])
        if len(heap) < self.k or rank > heap[0][0]:
            text = str(record.get("removed", ""))
            example = Example(str(record.get("source", "")), int(record.get("line") or 0),
                              text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS] + "…",
                              str(record.get("detail", "")))
            item = (rank, offset, example)
            if len(heap) < self.k:
                heapq.heappush(heap, item)
            else:
                heapq.heapreplace(heap, item)

    def result(self) -> dict[str, list[Example]]:
        return {reason: [example for _, _, example in sorted(heap, key=lambda item: item[1])]
                for reason, heap in self.heaps.items()}


def _site_mode(summary: dict[str, Any]) -> str:
    """How the run told a document's site (--site), "off" when summary.json does not say."""
    site = summary.get("settings", {}).get("site") if isinstance(summary.get("settings"), dict) else None
    mode = site.get("from") if isinstance(site, dict) else None
    return mode if mode in SITE_MODES else "off"


def site_of_doc(doc: CorpusDoc, mode: str) -> str | None:
    """The site the run gave the document (curate.stages.site.site_of, on the record read back)."""
    return site_of(RawDocument(doc.id, doc.source, None, "", 0, doc.metadata), mode)


def gather(folder: OutputFolder) -> Figures:
    fig = Figures()
    mode = _site_mode(folder.summary)
    samples = _Samples(EXAMPLES_PER_REASON)
    per_doc = _PerDocument()
    for item in folder.removed():
        try:
            _count_removed(fig, samples, per_doc, item.offset, item.record)
        except (KeyError, TypeError, ValueError) as err:
            raise folder.not_ours(item.offset, err) from None
    fig.examples = samples.result()
    for record in folder.quarantined():
        lines = record.get("lines")
        fig.source_quarantined[str(record.get("source", ""))] += lines if isinstance(lines, int) else 0

    key_array = np.array(per_doc.keys, dtype=np.uint64)
    order = np.argsort(key_array, kind="stable")
    key_array = key_array[order]
    line_array = np.array(per_doc.lines, dtype=np.int64)[order]
    char_array = np.array(per_doc.chars, dtype=np.int64)[order]
    matched = np.zeros(len(key_array), dtype=bool)
    before: list[int] = []
    after: list[int] = []
    for doc in folder.corpus():
        language = doc.language or NO_LANGUAGE
        fig.documents += 1
        fig.source_kept[doc.source] += len(doc.lines)
        site = site_of_doc(doc, mode) if mode != "off" else None
        if site is not None:
            fig.site_kept[site] += len(doc.lines)
        for line in doc.lines:
            fig.language_kept[line.get("language") or language] += 1
        kept_chars = len(doc.text) - doc.text.count("\n")
        removed_chars = 0
        at = int(np.searchsorted(key_array, doc_key(doc.id, doc.source)))
        if at < len(key_array) and key_array[at] == doc_key(doc.id, doc.source) and not matched[at]:
            matched[at] = True
            fig.language_removed[language] += int(line_array[at])
            if site is not None:
                fig.site_removed[site] += int(line_array[at])
            removed_chars = int(char_array[at])
        before.append(kept_chars + removed_chars)
        after.append(kept_chars)
        if len(before) >= 65_536:
            _bin(fig, before, after)
    # Documents with removed lines and none kept: emptied.
    unmatched = ~matched
    fig.emptied = int(unmatched.sum())
    fig.documents += fig.emptied
    fig.language_removed[EMPTIED] += int(line_array[unmatched].sum())
    if fig.language_removed[EMPTIED] == 0:
        del fig.language_removed[EMPTIED]
    elif fig.site_kept:
        fig.site_removed[EMPTIED] += fig.language_removed[EMPTIED]
    before.extend(int(c) for c in char_array[unmatched])
    _bin(fig, before, [])
    _bin(fig, [], after)
    return fig


class _PerDocument:
    """Lines and characters removed per document, one entry per document (removed.jsonl
    holds a document's lines together, in input order)."""

    def __init__(self) -> None:
        self.keys = array("Q")  # 8 bytes a number, as in ClusterIndex
        self.lines = array("q")
        self.chars = array("q")
        self.last: tuple[str, str] | None = None

    def add(self, doc: str, source: str, chars: int) -> None:
        if (doc, source) != self.last:
            self.keys.append(doc_key(doc, source))
            self.lines.append(0)
            self.chars.append(0)
            self.last = (doc, source)
        self.lines[-1] += 1
        self.chars[-1] += chars


def _count_removed(fig: Figures, samples: _Samples, per_doc: _PerDocument, offset: int, record: dict[str, Any]) -> None:
    """Count one removed.jsonl record."""
    reason = str(record.get("reason", "(no reason)"))
    text = record.get("removed", "")
    size = len(text) if isinstance(text, str) else 0
    fig.removed_lines[reason] += 1
    fig.removed_chars[reason] += size
    fig.by_stage[str(record.get("stage", "?"))] += 1
    source = str(record.get("source", ""))
    fig.source_removed[source] += 1
    samples.offer(reason, offset, record)
    if is_copy(record):
        fig.clusters.add(offset, record)
        similarity = record.get("similarity")
        if isinstance(similarity, (int, float)):
            fig.similarity[min(max(int(similarity * SIMILARITY_STEPS), 0), SIMILARITY_STEPS - 1)] += 1
    per_doc.add(str(record.get("doc", "")), source, size)


def _bin(fig: Figures, before: list[int], after: list[int]) -> None:
    """Add lengths to the histograms and empty the lists (so memory stays bounded)."""
    if before:
        fig.length_before += np.histogram(np.maximum(before, 0.5), LENGTH_BINS)[0]
    if after:
        fig.length_after += np.histogram(np.maximum(after, 0.5), LENGTH_BINS)[0]
    before.clear()
    after.clear()
