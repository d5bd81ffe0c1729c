"""Dedup verdicts in parts (curate/stages/dedup/components.py) against the one-process index,
on real signatures: how much of the barrier's work can run apart, and at what rate.

    python bench/components.py                         # the 20 MB standard corpus's paragraphs
    python bench/components.py --corpus bench/data/pieces1000/corpus.jsonl --parts 4 --groups 4

Signs every line of the corpus's records (as `curate dedup` does, without its other
stages) in this process, then, on the same rows:

- the barrier as the engines run it: one `DedupIndex`, batches of 4,096 rows in input
  order, in memory (no --memory budget, so no spilling);
- the parts: band-key partitions (edges), components (one process), and the replay of each
  group of components; each part's seconds, their sum (the work) and the largest (what
  bounds the step when its parts run side by side);
- the same parts run side by side by a pool of --workers processes (forked: the rows are
  shared), wall seconds per step;

checks that both give the same verdicts, and prints how many paragraphs the replay needs
(those that share a band key with another). Figures go to bench/results/components-<name>.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from curate.stages.base import Batch
from curate.stages.dedup.components import (
    RowsByUid,
    component_group,
    component_roots,
    key_partition,
    replay,
    star_edges,
)
from curate.stages.dedup.index import DedupIndex
from curate.stages.dedup.sign import shingle_sets
from curate.stages.dedup.signature import DedupConfig, Signer

BATCH = 4096
_ROWS: RowsByUid | None = None  # the rows, for the forked pool's tasks
_PARTS: list[tuple[np.ndarray, np.ndarray]] = []  # each key partition's rows (band key, uid)
_CFG = DedupConfig()


def signed_rows(corpus: Path, limit_mb: float | None) -> tuple[RowsByUid, int]:
    """Every line of the records long enough to sign, as rows; and the bytes read."""
    signer = Signer(_CFG)
    keys, flats, sizes, refs = [], [], [], []
    read = 0
    texts: list[str] = []

    def flush() -> None:
        counts, hashes = signer.shingle_hash_batch(texts)
        kept = [k for k, c in enumerate(counts) if c is not None]
        if kept:
            lengths = [counts[k] for k in kept]
            matrix = signer.signatures_of_hashes(hashes, lengths)  # type: ignore[arg-type]
            flat, offsets = shingle_sets(hashes, lengths)  # type: ignore[arg-type]
            keys.append(signer.band_keys_matrix(matrix))
            flats.append(flat)
            sizes.append(np.diff(offsets))
            # A reference holds the paragraph's uid, so a verdict's pointer is that number.
            first = sum(len(k) for k in sizes[:-1])
            refs.extend(("", "bench", first + k, 0, 0) for k in range(len(kept)))
        texts.clear()

    with open(corpus, "rb") as f:
        for raw in f:
            read += len(raw)
            record = json.loads(raw)
            texts.extend(str(record.get("text", "")).split("\n"))
            if len(texts) >= BATCH:
                flush()
            if limit_mb is not None and read >= limit_mb * 1e6:
                break
    flush()
    all_sizes = np.concatenate(sizes)
    offsets = np.zeros(len(all_sizes) + 1, dtype=np.int64)
    np.cumsum(all_sizes, out=offsets[1:])
    uids = np.arange(len(all_sizes), dtype=np.int64)
    return RowsByUid(uids, np.concatenate(keys), np.concatenate(flats), offsets, refs), read


Verdicts = dict[int, tuple[int, float | None]]  # removed uid -> (uid it copies, similarity)


def sequential(rows: RowsByUid) -> tuple[Verdicts, float]:
    index = DedupIndex(_CFG)
    found: Verdicts = {}
    started = time.perf_counter()
    try:
        for start in range(0, len(rows.uids), BATCH):
            part = rows.uids[start:start + BATCH]
            for k, verdict in enumerate(index.decide(Batch(0, [], start, rows(part)))):
                if verdict is not None:
                    assert verdict.duplicate_of is not None
                    found[int(part[k])] = (verdict.duplicate_of.line, verdict.similarity)
    finally:
        index.close()
    return found, time.perf_counter() - started


def partition(rows: RowsByUid, parts: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each key partition's rows (band key, uid): what the signing workers would write to
    the partition's files, so not timed as part of the steps."""
    flat = rows.keys.ravel()
    uids = np.repeat(rows.uids, rows.keys.shape[1])
    part_of = key_partition(flat, parts)
    return [(flat[part_of == p], uids[part_of == p]) for p in range(parts)]


def _edges(p: int) -> tuple[np.ndarray, np.ndarray, float]:
    started = time.perf_counter()
    first, other = star_edges(*_PARTS[p])
    return first, other, time.perf_counter() - started


def _replay(uids: np.ndarray) -> tuple[np.ndarray, float]:
    """The group's removed uids, what they copy and how similar, as one array (rows of
    three): a replay stage would write them to a file, not return objects."""
    assert _ROWS is not None
    started = time.perf_counter()
    found = [(uid, verdict.duplicate_of.line, verdict.similarity) for uid, verdict in replay(_CFG, uids, _ROWS)
             if verdict.duplicate_of is not None]
    return np.array(found, dtype=np.float64).reshape(-1, 3), time.perf_counter() - started


def parted(rows: RowsByUid, parts: int, groups: int, pool=None) -> dict:
    """The three steps, each part timed; with ``pool``, the parts of a step run in it."""
    run = pool.map if pool is not None else (lambda f, xs: list(map(f, xs)))
    figures: dict = {}
    started = time.perf_counter()
    edges = run(_edges, range(parts))
    figures["edges_wall"] = time.perf_counter() - started
    figures["edges_parts"] = [e[2] for e in edges]
    started = time.perf_counter()
    nodes, roots = component_roots(np.concatenate([e[0] for e in edges]), np.concatenate([e[1] for e in edges]))
    figures["components_wall"] = time.perf_counter() - started
    group_of = component_group(roots, groups)
    figures["replayed"] = len(nodes)
    figures["components"] = len(np.unique(roots))
    started = time.perf_counter()
    replays = run(_replay, [nodes[group_of == g] for g in range(groups)])
    figures["replay_wall"] = time.perf_counter() - started
    figures["replay_parts"] = [r[1] for r in replays]
    found: Verdicts = {}
    for part, _ in replays:
        found.update({int(uid): (int(pointer), similarity) for uid, pointer, similarity in part.tolist()})
    figures["verdicts"] = found
    sizes = np.bincount(np.unique(roots, return_inverse=True)[1]) if len(roots) else np.zeros(1, dtype=np.int64)
    figures["largest_component"] = int(sizes.max())
    return figures


def main() -> None:
    global _ROWS, _PARTS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=HERE / "out" / "compare20" / "paragraphs.jsonl",
                        help="JSON Lines records with a text field (default: bench/compare.py's 20 MB paragraphs)")
    parser.add_argument("--mb", type=float, help="read only this many MB of it")
    parser.add_argument("--parts", type=int, default=4, help="band-key partitions (default 4)")
    parser.add_argument("--groups", type=int, default=4, help="replay groups of components (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="processes that run the parts side by side")
    args = parser.parse_args()
    if not args.corpus.exists():
        raise SystemExit(f"{args.corpus}: not found (bench/compare.py writes the default one)")
    started = time.perf_counter()
    _ROWS, read = signed_rows(args.corpus, args.mb)
    rows = _ROWS
    mb = read / 1e6
    print(f"{mb:.1f} MB, {len(rows.uids):,} signed paragraphs, {rows.keys.shape[1]} bands "
          f"(signed in {time.perf_counter() - started:.1f} s)")
    _PARTS = partition(rows, args.parts)
    one, one_s = sequential(rows)
    print(f"one index, in order:        {one_s:7.2f} s  {mb / one_s:7.1f} MB/s   {len(one):,} removed")
    alone = parted(rows, args.parts, args.groups)
    work = sum(alone["edges_parts"]) + alone["components_wall"] + sum(alone["replay_parts"])
    bound = max(alone["edges_parts"]) + alone["components_wall"] + max(alone["replay_parts"])
    print(f"parts, one process: edges {sum(alone['edges_parts']):.2f} s ({args.parts} parts, largest "
          f"{max(alone['edges_parts']):.2f}), components {alone['components_wall']:.2f} s, replay "
          f"{sum(alone['replay_parts']):.2f} s ({args.groups} groups, largest {max(alone['replay_parts']):.2f})")
    print(f"  work {work:.2f} s ({mb / work:.1f} MB/s a core); with every part on a core of its own "
          f"{bound:.2f} s ({mb / bound:.1f} MB/s)")
    print(f"  replayed {alone['replayed']:,} of {len(rows.uids):,} paragraphs "
          f"({alone['replayed'] / max(len(rows.uids), 1):.1%}), in {alone['components']:,} components, the largest "
          f"{alone['largest_component']:,} paragraphs")
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        side = parted(rows, args.parts, args.groups, pool)
    wall = side["edges_wall"] + side["components_wall"] + side["replay_wall"]
    print(f"parts, {args.workers} processes: edges {side['edges_wall']:.2f} s, components "
          f"{side['components_wall']:.2f} s, replay {side['replay_wall']:.2f} s: {wall:.2f} s "
          f"({mb / wall:.1f} MB/s), {one_s / wall:.2f}x one index")
    same = alone["verdicts"] == one and side["verdicts"] == one
    print(f"verdicts identical to one index: {same}")
    out = HERE / "results" / f"components-{args.corpus.parent.name}.json"
    out.write_text(json.dumps({
        "corpus": str(args.corpus.relative_to(HERE.parent)) if args.corpus.is_relative_to(HERE.parent)
        else str(args.corpus), "mb": round(mb, 1), "paragraphs": len(rows.uids),
        "one_index_s": round(one_s, 3), "removed": len(one), "parts": args.parts, "groups": args.groups,
        "one_process": {k: v for k, v in alone.items() if k != "verdicts"},
        "side_by_side": {k: v for k, v in side.items() if k != "verdicts"}, "workers": args.workers,
        "identical": same}, indent=2, default=float) + "\n")
    print(f"figures written to {out.relative_to(HERE.parent)}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
