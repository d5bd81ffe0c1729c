"""`curate dedup --dedup-parts` against the one index, on the same cores, one after the other.

    python bench/dedup_parts.py                                         # the 20 MB standard paragraphs
    python bench/dedup_parts.py --corpus bench/data/pieces1000/corpus.jsonl --curate-arg=--memory=1GiB

Runs the real `curate dedup --workers N` (pinned to the first N cores) without and with
--dedup-parts, --rounds times alternately, each with --timings, and prints per run its
wall time, the peak RSS of its process tree and of its largest process (sampled every
50 ms), and the seconds of the dedup steps: `dedup` (the barrier's calls), `dedup-parts`
(the first pass and the parts), `dedup-settle` (the parts alone). Checks that the two
outputs are byte-identical.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import compile_curate, measure_tree

STEPS = ("dedup", "dedup-parts", "dedup-settle", "read", "signature", "write")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=HERE / "out" / "compare20" / "paragraphs.jsonl",
                        help="input (default: bench/compare.py's 20 MB paragraph records)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1, help="pairs of runs, alternating (default 1)")
    parser.add_argument("--curate-arg", action="append", default=[], help="one more option for both runs")
    args = parser.parse_args()
    if not args.corpus.exists():
        raise SystemExit(f"{args.corpus}: not found (bench/compare.py writes the default one)")
    compile_curate()
    curate = str(Path(sys.executable).parent / "curate")
    cores = ",".join(str(k) for k in range(args.workers))
    work = HERE / "out" / "dedup-parts"
    work.mkdir(parents=True, exist_ok=True)
    outs = {}
    for _ in range(args.rounds):
        for name, extra in (("one index", []), ("--dedup-parts", ["--dedup-parts"])):
            out = work / ("parts" if extra else "one")
            timings = out.with_suffix(".timings.json")
            m = measure_tree(["taskset", "-c", cores, curate, "dedup", str(args.corpus.absolute()), "-o", str(out),
                              "--overwrite", "-q", "--workers", str(args.workers), "--timings", str(timings),
                              *args.curate_arg, *extra], cwd=work)
            seconds = json.loads(timings.read_text())["seconds"]
            steps = " ".join(f"{k} {seconds[k]:.1f}" for k in STEPS if k in seconds)
            print(f"{name:14s} wall {m['wall_s']:6.1f} s  tree peak {m['peak_tree_bytes'] / 1e6:6.0f} MB  largest "
                  f"{m['peak_process_bytes'] / 1e6:6.0f} MB  {steps}", flush=True)
            outs[name] = out
    same = subprocess.run(["diff", "-rq", str(outs["one index"]), str(outs["--dedup-parts"])],
                          capture_output=True).returncode == 0
    print(f"identical: {same}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
