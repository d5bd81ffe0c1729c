"""Memory and time of the dedup index as the corpus grows: 100k, 500k and 1M+ paragraphs.

    python bench/scale.py               # generates ~560 MB once (bench/data/corpus560)

bench/compare.py runs the same rows as part of the full benchmark; this prints them alone.

Runs the real `curate dedup` (read, dedup, write) with 2 workers on the first 10%,
50% and 100% of a generated corpus of over a million paragraphs, and prints, for each:
paragraphs, MB, seconds, peak RSS of the process tree, and the index's own bytes per
indexed paragraph (counted object by object, from `--timings`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import ensure_corpus
from run import run_curate

MB = 560  # about 1.3M paragraphs at the generator's mean paragraph size


def scale_rows(mb: float = MB) -> list[dict]:
    """curate dedup --workers 2 on 10%, 50% and 100% of a generated corpus of ``mb`` MB."""
    data = ensure_corpus(mb)
    corpus = data / "corpus.jsonl"
    lines = None
    rows = []
    for share in (0.1, 0.5, 1.0):
        part = data / f"part{int(share * 100)}.jsonl"
        if not part.exists():
            lines = lines or corpus.read_bytes().splitlines(keepends=True)
            part.write_bytes(b"".join(lines[: int(len(lines) * share)]))
        out = HERE / "out" / f"scale{mb:g}-{int(share * 100)}"
        print(f"curate dedup --workers 2 on {share:.0%} of {mb:g} MB ...", flush=True)
        r = run_curate(part, out, 2, command="dedup")
        timings = json.loads(out.with_suffix(".timings.json").read_text())
        index = timings["index"]
        rows.append({"share": share, "mb": round(part.stat().st_size / 1e6, 1), "paragraphs": r["lines"]["read"],
                     "indexed": index["index_paragraphs"], "index_mb": round(index["index_bytes"] / 1e6, 1),
                     "index_bytes_per_paragraph": round(index["index_bytes"] / max(index["index_paragraphs"], 1)),
                     "wall_s": round(r["wall_s"], 1), "peak_rss_mb": round(r["peak_rss_mb"], 1)})
    return rows


def main() -> None:
    rows = scale_rows()
    print(f"\n{'share':>6} {'MB':>7} {'paragraphs':>11} {'indexed':>9} {'index MB':>9} {'B/para':>7} "
          f"{'seconds':>8} {'para/s':>8} {'peak RSS MB':>12}")
    for row in rows:
        print(f"{row['share']:>6.0%} {row['mb']:>7.0f} {row['paragraphs']:>11,} {row['indexed']:>9,} "
              f"{row['index_mb']:>9.0f} {row['index_bytes_per_paragraph']:>7.0f} {row['wall_s']:>8.1f} "
              f"{row['paragraphs'] / row['wall_s']:>8.0f} {row['peak_rss_mb']:>12.0f}")


if __name__ == "__main__":
    main()
