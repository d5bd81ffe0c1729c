"""Throughput and peak memory of `curate run`, per stage and in total, for 1 and 2 workers.

    python bench/run.py                 # 50 MB corpus, --workers 1 and 2
    python bench/run.py --mb 10 --workers 1 2

Generates the corpus with bench/generate.py if it is not there yet, runs the real
`curate` command on it once per worker count, and prints MB/s and documents/s per
stage (from `curate run --timings`) and overall, with the peak resident memory of
the whole process tree (parent and workers, summed, sampled every 50 ms). A tool for
finding where time goes; the figures quoted in the README come from bench/compare.py.
Writes bench/out/run-<mb>mb.json.

Per-stage figures are input MB divided by the seconds spent in that stage, summed
over all processes; with 2 workers they add up to more than the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import ensure_corpus

# line-model: inside noise; site and documents: 0 unless a census ran or a document rule is on
STAGES = ("read", "normalise", "site", "noise", "line-model", "language", "documents", "signature", "dedup", "write")


def tree_rss(root_pid: int) -> tuple[int, int]:
    """Resident memory of a process and all its descendants, from /proc: (sum over the
    tree, largest single process), in bytes.

    The tree is walked through each thread's ``children`` file, not by reading every
    process's stat: on a 2-core machine this sampler shares the cores with what it
    measures, and a scan of all of /proc every 50 ms (0.6 ms each) slowed a two-core run
    by 2-3% while a one-core run, pinned, left it the other core. Where the kernel has
    no ``children`` files, every process is read, as before."""
    if not os.path.exists(f"/proc/{root_pid}/task/{root_pid}/children"):
        return _tree_rss_by_scan(root_pid)
    total = largest = 0
    stack = [root_pid]
    while stack:
        pid = stack.pop()
        rss = _stat_rss(pid)
        total += rss
        largest = max(largest, rss)
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    stack.extend(int(child) for child in f.read().split())
            except (OSError, ValueError):
                continue
    return total, largest


def _stat_rss(pid: int) -> int:
    """A process's resident bytes as its stat file counts them (as the scan below reads
    them, so figures stay comparable with earlier runs; statm's count differs by ~10%)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[21]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def _tree_rss_by_scan(root_pid: int) -> tuple[int, int]:
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ppid, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        pid = int(entry)
        children.setdefault(ppid, []).append(pid)
        rss[pid] = pages * page
    total = largest = 0
    stack = [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        largest = max(largest, rss.get(pid, 0))
        stack.extend(children.get(pid, []))
    return total, largest


def measure_tree(cmd: list[str], cwd: Path) -> dict:
    """Run a command; return its wall seconds, the peak of its process tree's summed RSS and
    the peak RSS of its largest single process (bytes), sampled every 50 ms."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd)
    peak = largest = root = 0
    stop = threading.Event()

    def sample():
        nonlocal peak, largest, root
        while not stop.is_set():
            total, one = tree_rss(proc.pid)
            peak, largest, root = max(peak, total), max(largest, one), max(root, _rss(proc.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = proc.wait()
    wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    if code != 0:
        raise SystemExit(f"exit status {code}: {' '.join(cmd)}")
    # root: the command's own process (with --engine ray, the driver; its cluster's processes are in the tree)
    return {"wall_s": wall, "peak_tree_bytes": peak, "peak_process_bytes": largest, "peak_root_bytes": root}


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def compile_curate() -> None:
    """Write curate's bytecode before anything is timed. An installed package has it (pip
    compiles a wheel's modules); a checkout installed with -e does not, and where
    PYTHONDONTWRITEBYTECODE is set (as on this project's machine) every run would compile
    curate's ~40 modules again: about 0.1 s of each timed process."""
    import compileall

    compileall.compile_dir(str(HERE.parent / "curate"), quiet=1)


def measure(cmd: list[str], cwd: Path) -> tuple[float, int]:
    """Run a command; return its wall seconds and the peak RSS of its process tree (bytes)."""
    m = measure_tree(cmd, cwd)
    return m["wall_s"], m["peak_tree_bytes"]


def run_curate(corpus: Path, out: Path, workers: int, command: str = "run", extra: tuple[str, ...] = ()) -> dict:
    """Run `curate COMMAND CORPUS --timings` (plus ``extra`` options) as a process; its wall
    time, peak RSS (process tree summed, and largest single process), stage seconds, index
    figures and line counts."""
    timings = out.with_suffix(".timings.json")
    exe = Path(sys.executable).parent / "curate"
    cmd = [str(exe), command, str(corpus), "-o", str(out), "--overwrite", "--workers", str(workers), "-q",
           "--timings", str(timings), *extra]
    m = measure_tree(cmd, cwd=HERE)  # from bench/: no ./rules folder here
    data = json.loads(timings.read_text())
    summary = json.loads((out / "summary.json").read_text())
    return {"workers": workers, "wall_s": m["wall_s"], "peak_rss_mb": m["peak_tree_bytes"] / 1e6,
            "peak_process_rss_mb": m["peak_process_bytes"] / 1e6, "peak_driver_rss_mb": m["peak_root_bytes"] / 1e6,
            "stage_s": data["seconds"],
            "index": data.get("index", {}), "documents": summary["documents"]["read"], "lines": summary["lines"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=50.0, help="corpus size in MB (default 50)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    compile_curate()
    data_dir = ensure_corpus(args.mb)
    corpus = data_dir / "corpus.jsonl"
    size = corpus.stat().st_size
    meta = json.loads((data_dir / "meta.json").read_text())
    runs = []
    for workers in args.workers:
        out = HERE / "out" / f"corpus{args.mb:g}-w{workers}"
        print(f"curate run --workers {workers} on {size / 1e6:.1f} MB ...", flush=True)
        runs.append(run_curate(corpus, out, workers))
    def files(folder: Path) -> dict[str, bytes]:  # every file, corpus/ shards included
        return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

    first = files(HERE / "out" / f"corpus{args.mb:g}-w{runs[0]['workers']}")
    identical = all(files(HERE / "out" / f"corpus{args.mb:g}-w{r['workers']}") == first for r in runs[1:])

    mb, docs = size / 1e6, meta["documents"]
    print(f"\ncorpus: {mb:.1f} MB, {docs:,} documents, {meta['paragraphs']:,} paragraphs "
          f"({meta['copies']:,} copies)")
    header = f"{'stage':<12}" + "".join(f"  {'w' + str(r['workers']) + ' MB/s':>10} {'docs/s':>9}" for r in runs)
    print(header)
    for stage in STAGES:
        cells = ""
        for r in runs:
            s = r["stage_s"].get(stage, 0.0)
            cells += f"  {mb / s if s else float('inf'):>10.2f} {docs / s if s else float('inf'):>9.0f}"
        print(f"{stage:<12}{cells}")
    print(f"{'total (wall)':<12}" + "".join(f"  {mb / r['wall_s']:>10.2f} {docs / r['wall_s']:>9.0f}" for r in runs))
    for r in runs:
        print(f"--workers {r['workers']}: {r['wall_s']:.1f} s wall, peak RSS {r['peak_rss_mb']:.0f} MB (process tree)")
    if len(runs) >= 2:
        print(f"speed-up w{runs[-1]['workers']}/w{runs[0]['workers']}: {runs[0]['wall_s'] / runs[-1]['wall_s']:.2f}x; "
              f"output byte-identical: {identical}")
    results = {
        "date": date.today().isoformat(), "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}", "corpus": meta | {"path": str(corpus.relative_to(HERE.parent))},
        "runs": runs, "identical_output": identical,
    }
    dest = HERE / "out" / f"run-{args.mb:g}mb.json"
    dest.parent.mkdir(exist_ok=True)
    dest.write_text(json.dumps(results, indent=2) + "\n")
    print(f"figures written to {dest.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
