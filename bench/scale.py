"""Memory and throughput at scale (issue 15, done-when 2): `curate dedup` and `curate run`
over 1, 5 and 10 GB of generated text.

    python bench/scale.py                        # 1, 5 and 10 GB; generates ~16 GB once
    python bench/scale.py --gb 0.05 0.2          # a quick try
    python bench/scale.py --gb 10 --budget-mb 4000 --curate-arg=--memory=4GB

Each size is a corpus of bench/generate.py's standard shape built from re-seeded pieces of
100 MB (bench/data/pieces<MB>/corpus.jsonl, made by two processes in a few minutes for
10 GB and kept for the next run); each piece after the first respells half its words, so
pieces share boilerplate but not content (generate.py says why). For every size and command it runs the real `curate`
(`--workers`, 2 by default, `--timings`, any --curate-arg) and prints: MB, paragraphs,
seconds, MB/s, paragraphs/s, peak RSS of the process tree summed, of its largest single
process and of curate's own process (the driver, with --curate-arg=--engine=ray; sampled
every 50 ms from /proc), and the dedup index's bytes per indexed paragraph
(from `--timings`). With --budget-mb, whether the largest process stayed under it. The
output folders are deleted after each run (--keep-output keeps them): a 10 GB run writes
about as much again. Writes bench/results/scale-<sizes>gb.json.

`scale_rows` (used by bench/compare.py) is the older, smaller view: the index's memory on
10%, 50% and 100% of a 560 MB corpus of over a million paragraphs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import ensure_corpus, ensure_pieces
from run import compile_curate, run_curate

MB = 560  # about 1.3M paragraphs at the generator's mean paragraph size


def _index_per_paragraph(index: dict) -> int | None:
    paragraphs, size = index.get("index_paragraphs"), index.get("index_bytes")
    return round(size / paragraphs) if paragraphs and size is not None else None


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
        index = r["index"]
        rows.append({"share": share, "mb": round(part.stat().st_size / 1e6, 1), "paragraphs": r["lines"]["read"],
                     "indexed": index.get("index_paragraphs", 0),
                     "index_mb": round(index.get("index_bytes", 0) / 1e6, 1),
                     "index_bytes_per_paragraph": _index_per_paragraph(index) or 0,
                     "wall_s": round(r["wall_s"], 1), "peak_rss_mb": round(r["peak_rss_mb"], 1)})
    return rows


def gb_rows(sizes_gb: list[float], commands: list[str], workers: int, extra: tuple[str, ...] = (),
            keep_output: bool = False) -> list[dict]:
    """One row per size and command: `curate COMMAND` on a generated corpus of that many GB."""
    rows = []
    for gb in sizes_gb:
        data = ensure_pieces(gb * 1000)
        corpus = data / "corpus.jsonl"
        size = corpus.stat().st_size
        for command in commands:
            out = HERE / "out" / f"scale-{gb:g}gb-{command}"
            print(f"curate {command} --workers {workers} on {size / 1e9:.2f} GB ...", flush=True)
            r = run_curate(corpus, out, workers, command=command, extra=extra)
            if not keep_output:
                shutil.rmtree(out, ignore_errors=True)
            paragraphs = r["lines"]["read"]
            rows.append({"gb": gb, "command": command, "workers": workers, "mb": round(size / 1e6, 1),
                         "documents": r["documents"], "paragraphs": paragraphs, "wall_s": round(r["wall_s"], 1),
                         "mb_per_s": round(size / 1e6 / r["wall_s"], 2),
                         "paragraphs_per_s": round(paragraphs / r["wall_s"]),
                         "peak_tree_rss_mb": round(r["peak_rss_mb"], 1),
                         "peak_process_rss_mb": round(r["peak_process_rss_mb"], 1),
                         "peak_driver_rss_mb": round(r["peak_driver_rss_mb"], 1),
                         "index_paragraphs": r["index"].get("index_paragraphs"),
                         "index_bytes_per_paragraph": _index_per_paragraph(r["index"])})
    return rows


def print_rows(rows: list[dict], budget_mb: float | None) -> None:
    print(f"\n{'GB':>5} {'command':<6} {'MB':>8} {'paragraphs':>11} {'seconds':>8} {'MB/s':>6} {'para/s':>8} "
          f"{'tree RSS MB':>11} {'max proc MB':>11} {'driver MB':>9} {'idx B/para':>10}"
          + ("  budget" if budget_mb else ""))
    for row in rows:
        per = row["index_bytes_per_paragraph"]
        line = (f"{row['gb']:>5g} {row['command']:<6} {row['mb']:>8.0f} {row['paragraphs']:>11,} "
                f"{row['wall_s']:>8.1f} {row['mb_per_s']:>6.2f} {row['paragraphs_per_s']:>8,} "
                f"{row['peak_tree_rss_mb']:>11.0f} {row['peak_process_rss_mb']:>11.0f} "
                f"{row['peak_driver_rss_mb']:>9.0f} "
                f"{per if per is not None else '?':>10}")
        if budget_mb:
            line += "  PASS" if row["peak_process_rss_mb"] <= budget_mb else "  FAIL"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gb", type=float, nargs="+", default=[1.0, 5.0, 10.0],
                        help="corpus sizes in GB (default 1 5 10; 0.05 to try it)")
    parser.add_argument("--commands", nargs="+", choices=("dedup", "run"), default=["dedup", "run"],
                        help="curate commands to run on each size (default: dedup run)")
    parser.add_argument("--workers", type=int, default=2, help="curate --workers (default 2)")
    parser.add_argument("--curate-arg", action="append", default=[], metavar="ARG",
                        help="an option passed on to curate, e.g. --curate-arg=--memory=4GB (repeatable)")
    parser.add_argument("--budget-mb", type=float,
                        help="memory budget: marks each row PASS when its largest process stayed under it")
    parser.add_argument("--keep-output", action="store_true", help="keep curate's output folders (bench/out/)")
    args = parser.parse_args()
    compile_curate()
    rows = gb_rows(args.gb, args.commands, args.workers, tuple(args.curate_arg), args.keep_output)
    print_rows(rows, args.budget_mb)
    dest = HERE / "results" / f"scale-{'-'.join(f'{gb:g}' for gb in args.gb)}gb.json"
    dest.write_text(json.dumps({
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "curate_args": args.curate_arg, "budget_mb": args.budget_mb, "rows": rows,
    }, indent=2) + "\n")
    print(f"figures written to {dest.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
