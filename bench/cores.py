"""How much a second core gives on this machine: the ceiling of any two-worker speed-up.

    python bench/cores.py                       # bench/compare.py's paragraph file, 3 rounds
    python bench/cores.py --input FILE --rounds 5

Runs the same single-process job alone on core 0, then two copies at once, one on each
core, and prints the wall time of each. With two whole cores the pair takes as long as
one job alone; on shared or hyperthreaded virtual cores each copy runs slower, and
2 x alone / pair is the most that splitting one job in two can gain here, however the
work is split. Two jobs, each round back to back so that both meet the same load:

- `curate dedup --workers 1` on the paragraph file (what `dedup --workers 2` splits);
- a pure-Python loop of a fixed number of steps (no I/O, no numpy, no memory traffic).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CURATE = Path(sys.executable).parent / "curate"
LOOP = "s = 0\nfor i in range(30_000_000):\n    s += i * i % 7\n"


def timed(commands: list[list[str]]) -> float:
    """Wall seconds until every command, started together, has finished."""
    start = time.perf_counter()
    running = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for c in commands]
    for process in running:
        _, err = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"{' '.join(process.args)} failed:\n{err.decode(errors='replace')}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, default=HERE / "out" / "compare20" / "paragraphs.jsonl",
                        help="paragraph records for the dedup job (default: bench/compare.py's, run that first)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not args.input.exists():
        raise SystemExit(f"{args.input} is not there: run python bench/compare.py first, or pass --input")
    with tempfile.TemporaryDirectory(prefix="curate-cores-") as tmp:
        def dedup(core: int, name: str) -> list[str]:
            return ["taskset", "-c", str(core), str(CURATE), "dedup", str(args.input), "-o", f"{tmp}/{name}",
                    "--overwrite", "-q", "--workers", "1"]

        def loop(core: int) -> list[str]:
            return ["taskset", "-c", str(core), sys.executable, "-c", LOOP]

        jobs = {"curate dedup --workers 1": (lambda: [dedup(0, "a")], lambda: [dedup(0, "a"), dedup(1, "b")]),
                "pure-Python loop": (lambda: [loop(0)], lambda: [loop(0), loop(1)])}
        for label, (alone, pair) in jobs.items():
            ratios = []
            for _ in range(args.rounds):
                one, two = timed(alone()), timed(pair())
                ratios.append(2 * one / two)
                print(f"{label}: alone {one:.2f} s, two at once {two:.2f} s, ceiling of a 2-way split "
                      f"{2 * one / two:.2f}x", flush=True)
            print(f"{label}: median ceiling {statistics.median(ratios):.2f}x over {args.rounds} rounds\n", flush=True)


if __name__ == "__main__":
    main()
