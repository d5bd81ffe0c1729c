"""Memory and time of the dedup index as the corpus grows: 100k, 500k and 1M+ paragraphs.

    python bench/scale.py               # generates ~560 MB once (bench/data/corpus560)

Runs the real `curate dedup` (read, dedup, write) with 2 workers on the first 10%,
50% and 100% of a generated corpus of over a million paragraphs, and prints, for each:
paragraphs, MB, seconds, peak RSS of the process tree, and the index's own bytes per
indexed paragraph (counted object by object, from `--timings`). Writes
bench/results/scale.json.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402
from run import run_curate  # noqa: E402

MB = 560  # about 1.3M paragraphs at the generator's mean paragraph size


def main() -> None:
    data = HERE / "data" / f"corpus{MB}"
    corpus = data / "corpus.jsonl"
    if not corpus.exists():
        print(f"generating {MB} MB in {data} ...", flush=True)
        generate(MB, data)
    meta = json.loads((data / "meta.json").read_text())
    lines = corpus.read_bytes().splitlines(keepends=True)
    rows = []
    for share in (0.1, 0.5, 1.0):
        part = data / f"part{int(share * 100)}.jsonl"
        if not part.exists():
            part.write_bytes(b"".join(lines[: int(len(lines) * share)]))
        out = HERE / "out" / f"scale{int(share * 100)}"
        print(f"curate dedup --workers 2 on {share:.0%} ...", flush=True)
        r = run_curate(part, out, 2, command="dedup")
        timings = json.loads(out.with_suffix(".timings.json").read_text())
        index = timings["index"]
        paragraphs = r["lines"]["read"]
        rows.append({"share": share, "mb": part.stat().st_size / 1e6, "paragraphs": paragraphs,
                     "indexed": index["index_paragraphs"], "index_mb": index["index_bytes"] / 1e6,
                     "index_bytes_per_paragraph": index["index_bytes"] / max(index["index_paragraphs"], 1),
                     "wall_s": r["wall_s"], "peak_rss_mb": r["peak_rss_mb"]})
    print(f"\n{'share':>6} {'MB':>7} {'paragraphs':>11} {'indexed':>9} {'index MB':>9} {'B/para':>7} "
          f"{'seconds':>8} {'para/s':>8} {'peak RSS MB':>12}")
    for row in rows:
        print(f"{row['share']:>6.0%} {row['mb']:>7.0f} {row['paragraphs']:>11,} {row['indexed']:>9,} "
              f"{row['index_mb']:>9.0f} {row['index_bytes_per_paragraph']:>7.0f} {row['wall_s']:>8.1f} "
              f"{row['paragraphs'] / row['wall_s']:>8.0f} {row['peak_rss_mb']:>12.0f}")
    dest = HERE / "results" / "scale.json"
    dest.write_text(json.dumps({"date": date.today().isoformat(), "corpus": meta, "rows": rows}, indent=2) + "\n")
    print(f"figures written to {dest.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
