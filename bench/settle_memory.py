"""The memory of --dedup-parts' settle (the parts between the two passes) as the rows grow.

    python bench/settle_memory.py                       # 1 GB of bench/data/pieces1000, once and four times over
    python bench/settle_memory.py --times 1 2 8 --memory 512MiB

Runs the first pass of `curate dedup --dedup-parts` over the corpus and keeps its signed
rows (copied from the output's .partial/ once they are whole; the run is then stopped).
Then, for each --times k, writes the rows k times over (every paragraph then has k - 1
exact copies later in the input, so the edges and the removed paragraphs grow with k too)
and settles them in a fresh process with --workers part processes and --memory, as a run
does. Prints per k: the rows, the seconds, the paragraphs removed, the settling process's
peak RSS (sampled every 10 ms) and the largest part process's (its maximum resident set),
the settling process's peak above its start per row, and the seconds of each of the
settle's steps. A settle that holds an array per paragraph grows with k; one that holds
only its parts stays flat.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import compile_curate

from curate.cli import ByteSize

ROW_FILES = ("keys.u64", "sets.u32", "set-ends.i64", "refs.bin", "ref-ends.i64")
ENDS = {"set-ends.i64": "sets.u32", "ref-ends.i64": "refs.bin"}  # an ends file and what it indexes
BLOCK = 1 << 26  # bytes copied at a time


def first_pass_rows(corpus: Path, folder: Path, workers: int, memory: str) -> dict:
    """The signed rows of the corpus's first pass, in ``folder`` (kept from an earlier
    call for the same corpus); and how many bands a row has."""
    record = folder / "rows.json"
    stamp = {"corpus": str(corpus.absolute()), "bytes": corpus.stat().st_size}
    if record.exists() and json.loads(record.read_text()).get("stamp") == stamp:
        return json.loads(record.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    out = folder.parent / "settle-first-pass"
    command = [str(Path(sys.executable).parent / "curate"), "dedup", str(corpus.absolute()), "-o", str(out),
               "--overwrite", "-q", "--workers", str(workers), "--memory", memory, "--dedup-parts"]
    proc = subprocess.Popen(command, start_new_session=True)
    gathered = out / ".partial" / "index" / "dedup-parts" / "gathered.json"
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit("the first pass ended before its rows were copied")
            try:
                found = json.loads(gathered.read_text())
            except (OSError, ValueError):
                found = {}
            if found.get("whole") is True:  # the rows are whole and written no more
                break
            time.sleep(0.2)
        folder.mkdir(parents=True)
        for name in ROW_FILES:
            shutil.copyfile(gathered.parent / name, folder / name)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        shutil.rmtree(out, ignore_errors=True)
    result = {"stamp": stamp, "rows": int(found["store"]["rows"]), "bands": int(found["store"]["bands"])}
    record.write_text(json.dumps(result))
    return result


def repeated(rows: Path, times: int, folder: Path) -> None:
    """The rows in ``rows`` written ``times`` times over into ``folder`` (each ends file
    moved on by what the earlier copies hold)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name in ROW_FILES:
        with open(folder / name, "wb") as out:
            if name in ENDS:
                ends = np.fromfile(rows / name, dtype=np.int64)
                step = (rows / ENDS[name]).stat().st_size // (4 if name == "set-ends.i64" else 1)
                out.write(ends[:1].tobytes())
                for k in range(times):
                    (ends[1:] + k * step).tofile(out)
                continue
            for _ in range(times):
                with open(rows / name, "rb") as source:
                    while block := source.read(BLOCK):
                        out.write(block)


SETTLE = """
import json, os, resource, sys, threading, time
from pathlib import Path

def main():
    from curate.stages.dedup.parts import Verdicts, settle
    from curate.stages.dedup.signature import DedupConfig
    folder, bands, workers, memory = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    page = os.sysconf("SC_PAGE_SIZE")
    peak, stop = [0], [False]

    def sample():
        while not stop[0]:
            with open("/proc/self/statm") as f:
                peak[0] = max(peak[0], int(f.read().split()[1]) * page)
            time.sleep(0.01)

    threading.Thread(target=sample, daemon=True).start()
    time.sleep(0.05)
    start = peak[0]
    began = time.perf_counter()
    steps = settle(folder, bands, DedupConfig(), workers, memory) or {}  # code before it timed its steps: None
    seconds = time.perf_counter() - began
    stop[0] = True
    parts = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "steps": steps, "start": start, "peak": peak[0], "parts": parts,
                      "removed": len(Verdicts(folder).removed)}))

if __name__ == "__main__":
    main()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=HERE / "data" / "pieces1000" / "corpus.jsonl",
                        help="input (default: bench/data/pieces1000, 1 GB; bench/generate.py --pieces writes it)")
    parser.add_argument("--times", type=int, nargs="+", default=[1, 4], help="how many times over (default 1 4)")
    parser.add_argument("--workers", type=int, default=2, help="part processes (default 2)")
    parser.add_argument("--memory", default="1GiB", help="the run's --memory (default 1GiB)")
    args = parser.parse_args()
    if not args.corpus.exists():
        raise SystemExit(f"{args.corpus}: not found")
    budget = ByteSize().convert(args.memory, None, None)  # as the run's --memory reads it
    compile_curate()
    work = HERE / "out" / "settle-memory"
    rows = first_pass_rows(args.corpus, work / "rows", args.workers, args.memory)
    print(f"{args.corpus}: {rows['rows']:,} signed paragraphs, {rows['bands']} bands; settled with --workers "
          f"{args.workers} --memory {args.memory}", flush=True)
    script = work / "settle.py"
    script.write_text(SETTLE)
    for times in args.times:
        folder = work / f"x{times}"
        repeated(work / "rows", times, folder)
        done = subprocess.run([sys.executable, str(script), str(folder), str(rows["bands"]), str(args.workers),
                               str(budget)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        found = json.loads(done.stdout.strip().splitlines()[-1])
        count = rows["rows"] * times
        print(f"x{times}: {count:,} rows  {found['seconds']:6.1f} s  {found['removed']:,} removed  settling process "
              f"{found['peak'] / 1e6:5.0f} MB ({(found['peak'] - found['start']) / count:5.1f} B a row above its "
              f"start of {found['start'] / 1e6:.0f} MB)  largest part process {found['parts'] / 1e6:5.0f} MB",
              flush=True)
        if found["steps"]:
            print("    steps: " + ", ".join(f"{name} {t:.1f} s" for name, t in found["steps"].items()), flush=True)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
