"""`curate dedup --dedup-parts` against the one index, on the same cores, one after the other.

    python bench/dedup_parts.py                                         # the 20 MB standard paragraphs
    python bench/dedup_parts.py --corpus bench/data/pieces1000/corpus.jsonl --curate-arg=--memory=1GiB

Runs the real `curate dedup --workers N` (pinned to the first N cores) without and with
--dedup-parts, --rounds times alternately, each with --timings, and prints per run its
wall time, the peak RSS of its process tree and of its largest process (sampled every
50 ms), and the seconds of the dedup steps: `dedup` (the barrier's calls), `dedup-parts`
(the first pass and the parts), `dedup-settle` (the parts alone). Checks that the two
outputs are byte-identical. With --parts-only, only the --dedup-parts run, and each of
its processes' peak RSS by what it is (the driver, a forked worker, a part's process), and
the driver's peak in each step (the first pass, the parts, the pass that writes).
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


PHASES = ("first pass", "parts", "pass that writes")


def phase_of(out: Path, last: int) -> int:
    """Which step a --dedup-parts run in ``out`` is at (an index into PHASES), from its
    files: the parts' results folder exists while they run, the verdicts' mark once they
    are written; never an earlier step than ``last``."""
    folder = out / ".partial" / "index" / "dedup-parts"
    if (folder / "settled.json").exists():
        return 2
    return max(last, 1 if (folder / "settle").exists() else 0)


def per_process_peaks(command: list[str], cwd: Path, peaks: dict[tuple[int, str], int],
                      out: Path | None = None, driver_by_phase: dict[str, int] | None = None) -> dict:
    """Run the command; each curate process's peak RSS into ``peaks`` by (pid, what it is),
    sampled every 0.1 s; the wall seconds and the largest peak as measure_tree gives them.
    With ``out`` and ``driver_by_phase``, the driver's peak in each step of the run too."""
    import os
    import time

    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd)
    page = os.sysconf("SC_PAGE_SIZE")
    phase = 0
    driver = proc.pid  # taskset execs curate: the same process
    while proc.poll() is None:
        if out is not None:
            phase = phase_of(out, phase)
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
                with open(f"/proc/{entry}/statm") as f:
                    rss = int(f.read().split()[1]) * page
            except (OSError, IndexError, ValueError):
                continue
            what = "a part's process" if "spawn_main" in cmdline else "curate" if " dedup " in cmdline else None
            if what is not None:
                key = (int(entry), what)
                peaks[key] = max(peaks.get(key, 0), rss)
            if int(entry) == driver and driver_by_phase is not None:
                driver_by_phase[PHASES[phase]] = max(driver_by_phase.get(PHASES[phase], 0), rss)
        time.sleep(0.1)
    if proc.returncode != 0:
        raise SystemExit(f"exit status {proc.returncode}: {' '.join(command)}")
    largest = max(peaks.values(), default=0)
    return {"wall_s": time.perf_counter() - started, "peak_tree_bytes": sum(peaks.values()),
            "peak_process_bytes": largest}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=HERE / "out" / "compare20" / "paragraphs.jsonl",
                        help="input (default: bench/compare.py's 20 MB paragraph records)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1, help="pairs of runs, alternating (default 1)")
    parser.add_argument("--curate-arg", action="append", default=[], help="one more option for both runs")
    parser.add_argument("--parts-only", action="store_true",
                        help="only the --dedup-parts run, with each process's peak RSS (a large corpus: no one-index "
                             "run to wait for)")
    args = parser.parse_args()
    if not args.corpus.exists():
        raise SystemExit(f"{args.corpus}: not found (bench/compare.py writes the default one)")
    compile_curate()
    curate = str(Path(sys.executable).parent / "curate")
    cores = ",".join(str(k) for k in range(args.workers))
    work = HERE / "out" / "dedup-parts"
    work.mkdir(parents=True, exist_ok=True)
    outs = {}
    runs = (("--dedup-parts", ["--dedup-parts"]),) if args.parts_only else (
        ("one index", []), ("--dedup-parts", ["--dedup-parts"]))
    for _ in range(args.rounds):
        for name, extra in runs:
            out = work / ("parts" if extra else "one")
            timings = out.with_suffix(".timings.json")
            command = ["taskset", "-c", cores, curate, "dedup", str(args.corpus.absolute()), "-o", str(out),
                       "--overwrite", "-q", "--workers", str(args.workers), "--timings", str(timings),
                       *args.curate_arg, *extra]
            per_process: dict[tuple[int, str], int] = {}
            by_phase: dict[str, int] = {}
            m = measure_tree(command, cwd=work) if not args.parts_only else per_process_peaks(
                command, work, per_process, out, by_phase)
            seconds = json.loads(timings.read_text())["seconds"]
            steps = " ".join(f"{k} {seconds[k]:.1f}" for k in STEPS if k in seconds)
            tree = "sum of the peaks" if per_process else "tree peak"  # each process's own peak, not at once
            print(f"{name:14s} wall {m['wall_s']:6.1f} s  {tree} {m['peak_tree_bytes'] / 1e6:6.0f} MB  largest "
                  f"{m['peak_process_bytes'] / 1e6:6.0f} MB  {steps}", flush=True)
            outs[name] = out
            for (pid, what), rss in sorted(per_process.items(), key=lambda kv: -kv[1])[:5]:
                print(f"  {rss / 1e6:6.0f} MB  {what} ({pid})")
            if by_phase:
                print("  the driver's peak in each step: " + ", ".join(
                    f"{phase} {by_phase[phase] / 1e6:.0f} MB" for phase in PHASES if phase in by_phase))
    if args.parts_only:
        return
    same = subprocess.run(["diff", "-rq", str(outs["one index"]), str(outs["--dedup-parts"])],
                          capture_output=True).returncode == 0
    print(f"identical: {same}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
