"""What a stopped `curate dedup --dedup-parts` costs to resume, by where it stopped.

    python bench/resume_parts.py                                   # the 20 MB standard corpus
    python bench/resume_parts.py --corpus bench/data/pieces1000/corpus.jsonl --curate-arg=--memory=1GiB

Runs the real `curate dedup --dedup-parts --workers N` (pinned to the first N cores) once
whole, then, for each stop, once more killed with SIGKILL at that point and resumed with
`--resume`, timing the resumed run alone:

- `first pass`: once the first pass has kept the rows of half the documents;
- `parts`: once half the parts (key ranges' edges, then groups' replays) have kept their
  results;
- `writing`: once the pass that writes has finished half its chunks;
- `writing, parts folder removed`: the same stop with `.partial/index/dedup-parts/`
  deleted before the resume, which is what every resume did before the folder was kept
  (the first pass and the parts again from the start).

Each resumed output is checked byte for byte against the whole run's. Prints the wall
seconds of each run and the resumed run's `--timings` steps (`dedup-parts`: its first
pass and parts; `dedup-settle`: the parts alone).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from compare import same_output
from generate import ensure_corpus
from run import compile_curate

from curate.stages.dedup.barrier import GATHERED, PARTS_FOLDER

CHUNK = 10_000  # curate's default --chunk-docs


def count_documents(corpus: Path) -> int:
    with open(corpus, "rb") as f:
        return sum(1 for line in f if line.strip())


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def killed_when(command: list[str], ready) -> None:
    """Run ``command`` until ``ready()`` holds, then SIGKILL it."""
    proc = subprocess.Popen(command)
    while not ready():
        if proc.poll() is not None:
            raise SystemExit(f"the run ended before it could be stopped: {' '.join(command)}")
        time.sleep(0.01)
    proc.kill()
    proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, help="a JSON Lines corpus (default: the 20 MB standard one)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--curate-arg", action="append", default=[], help="one more option for curate")
    args = parser.parse_args()
    compile_curate()
    corpus = args.corpus or ensure_corpus(20.0) / "corpus.jsonl"
    documents = count_documents(corpus)
    chunk = max(1, min(CHUNK, documents // 20))  # enough records and chunks to stop halfway on a small corpus
    work = HERE / "out" / "resume-parts"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    curate = str(Path(sys.executable).parent / "curate")
    pin = ["taskset", "-c", ",".join(str(c) for c in range(args.workers))]

    def command(out: Path, *more: str) -> list[str]:
        return [*pin, curate, "dedup", str(corpus), "-o", str(out), "-q", "--dedup-parts", "--workers",
                str(args.workers), "--chunk-docs", str(chunk), *args.curate_arg, *more]

    whole = work / "whole"
    print(f"{corpus}: {corpus.stat().st_size / 1e6:.0f} MB, {documents} documents, --chunk-docs {chunk}", flush=True)
    rows = [("whole run", timed(command(whole)), None)]
    half = documents // 2

    def gathered_half(out: Path):
        record = out / ".partial" / "index" / PARTS_FOLDER / GATHERED
        return lambda: record.exists() and json.loads(record.read_text())["items"] >= half

    def parts_half(out: Path):
        folder = out / ".partial" / "index" / PARTS_FOLDER / "settle"

        def ready() -> bool:
            try:
                plan = json.loads((folder / "plan.json").read_text())
            except (OSError, ValueError):
                return False
            return len(list(folder.glob("*-*.npz"))) * 2 >= plan["parts"] + plan["groups"]
        return ready

    def written_half(out: Path):
        return lambda: len(list((out / ".partial").glob("*.done"))) >= documents // chunk // 2

    for label, ready, remove in (("first pass", gathered_half, False), ("parts", parts_half, False),
                                 ("writing", written_half, False),
                                 ("writing, parts folder removed", written_half, True)):
        out = work / label.replace(" ", "-").replace(",", "")
        killed_when(command(out), ready(out))
        if remove:
            shutil.rmtree(out / ".partial" / "index" / PARTS_FOLDER)
        timings = out.with_suffix(".timings.json")
        seconds = timed(command(out, "--resume", "--timings", str(timings)))
        if not same_output(out, whole):
            raise SystemExit(f"{label}: the resumed output differs from the whole run's")
        rows.append((f"resumed after a stop in: {label}", seconds, json.loads(timings.read_text())["seconds"]))
        print(f"{label}: resumed in {seconds:.1f} s", flush=True)
    print(f"\n{'':58} {'wall s':>7} {'dedup-parts':>12} {'dedup-settle':>13}")
    for label, seconds, steps in rows:
        parts = f"{steps['dedup-parts']:.1f}" if steps and "dedup-parts" in steps else "-"
        settle = f"{steps['dedup-settle']:.1f}" if steps and "dedup-settle" in steps else "-"
        print(f"{label:58} {seconds:7.1f} {parts:>12} {settle:>13}")
    print("every resumed output byte-identical to the whole run's")


if __name__ == "__main__":
    main()
