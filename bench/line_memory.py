"""Peak memory of `curate run` on one long .txt page, per line: the bound docs/bad-input.md
gives for --max-doc-lines (about 2.2 kB a line: a page of a million lines in 2.2 GB).

    python bench/line_memory.py                          # 250,000 and 500,000 lines of each shape
    python bench/line_memory.py --lines 999000           # one size, as the default limits allow
    python bench/line_memory.py --shapes same --lines 100000 200000

Shapes: every line the same 57-byte sentence (dedup removes all but the first: each is an
audit record); every line different (sentences of words from seeds/, seeded); two-byte
lines. For each shape and size, a fresh `curate run` process of this checkout (one
worker), its peak resident memory (its own maximum resident set, from wait4: not sampled,
so no peak is missed), and that peak over the lines; with two sizes or more, also the
growth per line between the smallest and the largest, which leaves out the fixed cost of
the models and tables (~250 MB). A stage that holds something per word or per character of
the whole page at once shows here as kilobytes a line; one that takes a page a bounded run
of lines at a time does not.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SENTENCE = "The same sentence is written on every line of this page."
SHAPES = ("same", "unique", "short")


def page(shape: str, lines: int) -> str:
    """The page's text: ``lines`` lines of the shape, each ended by a newline."""
    if shape == "same":
        return (SENTENCE + "\n") * lines
    if shape == "short":
        return "ab\n" * lines
    words = sorted({w for path in sorted((ROOT / "seeds").glob("*.txt"))
                    for w in re.findall(r"[A-Za-z]{2,12}", path.read_text(encoding="utf-8"))})
    rng = random.Random(1)
    out = []
    for _ in range(lines):
        picked: list[str] = []
        while sum(len(w) + 1 for w in picked) < 52:  # about the sentence's length
            picked.append(rng.choice(words))
        out.append(" ".join(picked).capitalize() + ".\n")
    return "".join(out)


def peak_rss(args: list[str]) -> int:
    """Bytes: the maximum resident set of a `python -m curate ...` process run from the
    checkout (so its curate, not an installed one)."""
    proc = subprocess.Popen([sys.executable, "-m", "curate", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"curate {' '.join(args)}: exit status {proc.returncode}")
    return usage.ru_maxrss * 1024  # kB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, nargs="+", default=[250_000, 500_000])
    parser.add_argument("--shapes", nargs="+", choices=SHAPES, default=list(SHAPES))
    args = parser.parse_args()
    sizes = sorted(args.lines)
    print(f"{'shape':8} {'lines':>9} {'MB in':>7} {'peak MB':>8} {'B/line':>7}")
    with tempfile.TemporaryDirectory(prefix="line-memory-") as tmp:
        for shape in args.shapes:
            peaks = []
            for lines in sizes:
                source, out = Path(tmp) / f"{shape}{lines}.txt", Path(tmp) / "out"
                source.write_text(page(shape, lines), encoding="utf-8")
                peak = peak_rss(["run", str(source), "-o", str(out), "-q", "--workers", "1"])
                peaks.append(peak)
                print(f"{shape:8} {lines:9,} {source.stat().st_size / 1e6:7.1f} {peak / 1e6:8.0f} "
                      f"{peak / lines:7,.0f}", flush=True)
                source.unlink()
                shutil.rmtree(out)
            if len(sizes) > 1:
                growth = (peaks[-1] - peaks[0]) / (sizes[-1] - sizes[0])
                print(f"{shape:8} growth from {sizes[0]:,} to {sizes[-1]:,} lines: {growth:,.0f} bytes a line")


if __name__ == "__main__":
    main()
