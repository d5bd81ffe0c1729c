"""The near-duplicate clusters of a run, from removed.jsonl: each kept paragraph and the
copies removed as its duplicates (docs/output.md, "Clusters").

Memory: the index holds two 8-byte numbers per removed copy (where its record starts in
removed.jsonl, and a 64-bit hash of the kept paragraph it names), so 5 million copies take
80 MB (about four times that while they are sorted); texts are read back by offset, a
batch of clusters at a time, and the kept paragraphs' texts from the corpus shards in one
pass per batch.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import xxhash

from curate.document import Line, Origin
from curate.report.folder import OutputFolder, kept_lines
from curate.stages.fences import fenced_blocks

DEDUP_STAGE = "dedup"
BATCH_COPIES = 50_000  # copies whose texts are held at once while clusters are written


def paragraph_key(doc: str, source: str, line: int, start: int, end: int, against: bool = False) -> int:
    """A 64-bit name of one paragraph (a line of a document), as duplicate_of gives it.
    ``against``: a paragraph of the --against index, which may have the doc, source, line
    and bytes of one of this run and is another paragraph (no line of the corpus has its key)."""
    name = f"{doc}\x00{source}\x00{line}\x00{start}\x00{end}" + ("\x00against" if against else "")
    return xxhash.xxh3_64_intdigest(name.encode("utf-8", "surrogatepass"))


def kept_key(record: dict[str, Any]) -> int:
    kept = record["duplicate_of"]
    start, end = kept["bytes"]
    return paragraph_key(kept["doc"], kept["source"], kept["line"], start, end, kept.get("against") is True)


def is_copy(record: dict[str, Any]) -> bool:
    return record.get("stage") == DEDUP_STAGE and isinstance(record.get("duplicate_of"), dict)


@dataclass(frozen=True, slots=True)
class Cluster:
    id: int  # 1 for the largest; ties in the order their first copy was removed
    key: int  # paragraph_key of the kept paragraph
    offsets: np.ndarray  # where each copy's record starts in removed.jsonl, in file order

    @property
    def copies(self) -> int:
        return len(self.offsets)


class ClusterIndex:
    """Every removed copy, grouped by the paragraph it copies."""

    def __init__(self) -> None:
        # array, not list: 8 bytes a number instead of a list slot and an int object (~40)
        self._offsets = array("q")
        self._keys = array("Q")
        self._order: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def add(self, offset: int, record: dict[str, Any]) -> None:
        """Count one removed.jsonl record (those that are not copies are ignored)."""
        if is_copy(record):
            self._offsets.append(offset)
            self._keys.append(kept_key(record))
            self._order = None

    @classmethod
    def of(cls, folder: OutputFolder) -> ClusterIndex:
        index = cls()
        for item in folder.removed():
            try:
                index.add(item.offset, item.record)
            except (KeyError, TypeError, ValueError) as err:
                raise folder.not_ours(item.offset, err) from None
        return index

    @property
    def total_copies(self) -> int:
        return len(self._offsets)

    def _ranked(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Offsets grouped by kept paragraph (file order inside a group), and each
        cluster's start, end and key in that array, largest cluster first."""
        if self._order is None:
            offsets = np.array(self._offsets, dtype=np.int64)  # a copy: a view would stop the arrays growing
            keys = np.array(self._keys, dtype=np.uint64)
            order = np.lexsort((offsets, keys))  # by kept paragraph, then file order
            offsets, keys = offsets[order], keys[order]
            starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, np.int64)
            ends = np.r_[starts[1:], len(keys)].astype(np.int64)
            rank = np.lexsort((offsets[starts], -(ends - starts)))  # largest first, then by first copy
            self._order = (offsets, starts[rank], ends[rank], keys[starts[rank]])
        return self._order

    def __len__(self) -> int:
        return len(self._ranked()[1])

    def sizes(self) -> np.ndarray:
        """The copies of each cluster, largest first."""
        _, starts, ends, _ = self._ranked()
        return ends - starts

    def clusters(self, limit: int | None = None) -> Iterator[Cluster]:
        """Largest first; clusters of one size in the order of their first copy in removed.jsonl."""
        offsets, starts, ends, keys = self._ranked()
        for n in range(len(starts) if limit is None else min(limit, len(starts))):
            yield Cluster(n + 1, int(keys[n]), offsets[starts[n]:ends[n]])


def kept_texts(folder: OutputFolder, wanted: set[int]) -> dict[int, str]:
    """The text of each wanted kept paragraph, by key, in one pass over the corpus."""
    found: dict[int, str] = {}
    if not wanted:
        return found
    for doc in folder.corpus():
        texts = kept_lines(doc)
        if len(texts) != len(doc.lines):
            continue  # not a record curate wrote; nothing of it can be matched by provenance
        for text, line in zip(texts, doc.lines, strict=True):
            start, end = line["bytes"]
            key = paragraph_key(doc.id, doc.source, line["line"], start, end)
            if key in wanted:
                found[key] = text
        found.update(_kept_blocks(doc, texts, wanted))
        if len(found) == len(wanted):
            break
    return found


def _kept_blocks(doc: Any, texts: list[str], wanted: set[int]) -> dict[int, str]:
    """The wanted fenced code blocks of a record (dedup's paragraph for a block runs from
    its opening fence's first byte to its closing fence's last), as the corpus holds them;
    the blocks found as dedup found them (fences.fenced_blocks)."""
    if not any("```" in text or "~~~" in text for text in texts):
        return {}
    found = {}
    for first, last in fenced_blocks([Line(k, text, text, Origin(0, 0, 0), False) for k, text in enumerate(texts)]):
        key = paragraph_key(doc.id, doc.source, doc.lines[first]["line"], doc.lines[first]["bytes"][0],
                            doc.lines[last]["bytes"][1])
        if key in wanted:
            found[key] = "\n".join(texts[first:last + 1])
    return found


def _where(record: dict[str, Any]) -> dict[str, Any]:
    return {"doc": record["doc"], "source": record["source"], "line": record["line"], "bytes": record["bytes"]}


def cluster_records(folder: OutputFolder, clusters: Iterable[Cluster],
                    max_copies: int | None = None) -> Iterator[dict[str, Any]]:
    """One record per cluster (the export's format; docs/output.md), texts read back in
    batches of about BATCH_COPIES copies. ``max_copies`` keeps only the first copies of
    each cluster (the report shows a few; the export writes all)."""
    batch: list[Cluster] = []
    held = 0
    for cluster in clusters:
        batch.append(cluster)
        held += min(cluster.copies, max_copies or cluster.copies)
        if held >= BATCH_COPIES:
            yield from _batch_records(folder, batch, max_copies)
            batch, held = [], 0
    if batch:
        yield from _batch_records(folder, batch, max_copies)


def _batch_records(folder: OutputFolder, batch: list[Cluster], max_copies: int | None) -> Iterator[dict[str, Any]]:
    texts = kept_texts(folder, {c.key for c in batch})
    for cluster in batch:
        offsets = cluster.offsets[:max_copies] if max_copies else cluster.offsets
        copies = folder.removed_at([int(o) for o in offsets])
        kept: dict[str, Any] = dict(copies[0]["duplicate_of"])
        kept["text"] = texts.get(cluster.key)  # None: in the --against index, or not in this corpus
        yield {
            "cluster": cluster.id,
            "size": cluster.copies + 1,
            "kept": kept,
            "copies": [{**_where(r), "text": r.get("removed", ""), "similarity": r.get("similarity")}
                       for r in copies],
        }
