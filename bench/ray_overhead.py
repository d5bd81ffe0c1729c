"""Where `curate run --engine ray` spends the time the local engine does not, on 2 cores.

    python bench/ray_overhead.py                       # 20 MB standard corpus, 3 rounds
    python bench/ray_overhead.py --shape large --mb 100 --rounds 2

Joins a 2-CPU Ray cluster started once (bench/raycluster.py, pinned to cores 0 and 1) and
runs, alternately, `curate run --engine ray --address ...` and `curate run --workers 2`
(pinned to the same cores) on one generated corpus, each with `--timings`. From each run
it takes:

- the process's wall time;
- the run's own wall time (`--timings`' "wall": from the engine's start to the last
  record written), so that the difference is what the process does around the run
  (imports, joining the cluster and leaving it, the commit);
- the census pass: on the Ray engine it is the first pass and waits for the actors'
  processes to start, so it shows the engine's start-up;
- the per-document stages' seconds summed over the workers (read, normalise, noise with
  the line model, language, signature): the same work on both engines, so their ratio
  is what the Ray processes beside the workers (driver, decider, raylet) cost the
  workers on two shared cores;
- the dedup barrier's seconds.

Prints the medians and the Ray/local ratio of each, and checks that the two engines
wrote the same corpus. Writes bench/results/ray-overhead-<corpus folder>.json (or --out).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from compare import same_output
from generate import ensure_corpus
from raycluster import running_cluster

STAGE_WORK = ("read", "normalise", "noise", "language", "signature")  # line-model is inside noise
ROWS = (("process wall", "process"), ("run wall (--timings)", "run"), ("around the run", "around"),
        ("census pass", "census"), ("per-document stages, summed", "stages"), ("dedup barrier", "dedup"))


def one_run(prefix: list[str], curate: str, corpus: Path, out: Path, engine_args: list[str]) -> dict[str, float]:
    timings = out.with_suffix(".timings.json")
    started = time.perf_counter()
    subprocess.run([*prefix, curate, "run", str(corpus), "-o", str(out), "--overwrite", "-q", "--no-project-rules",
                    "--timings", str(timings), *engine_args], check=True)
    wall = time.perf_counter() - started
    seconds = json.loads(timings.read_text())["seconds"]
    return {"process": wall, "run": seconds["wall"], "around": wall - seconds["wall"],
            "census": seconds.get("census", 0.0), "stages": sum(seconds.get(s, 0.0) for s in STAGE_WORK),
            "dedup": seconds.get("dedup", 0.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=20.0, help="corpus size in MB (default 20)")
    parser.add_argument("--shape", choices=("standard", "large"), default="standard",
                        help="bench/generate.py's corpus shape (default standard)")
    parser.add_argument("--rounds", type=int, default=3, help="pairs of runs, alternating (default 3)")
    parser.add_argument("--out", type=Path,
                        help="where the figures go (default: bench/results/ray-overhead-CORPUS.json)")
    args = parser.parse_args()
    curate = str(Path(sys.executable).parent / "curate")
    corpus = ensure_corpus(args.mb, args.shape) / "corpus.jsonl"
    work = HERE / "out" / "ray-overhead"
    work.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[dict[str, float]]] = {"ray": [], "local": []}
    with running_cluster(cpus=2, cores="0,1") as join:
        # engine -> (command prefix, curate's engine options): both on cores 0 and 1
        how = {"ray": ([*join], ["--engine", "ray", "--address", join.address]),
               "local": (["taskset", "-c", "0,1"], ["--workers", "2"])}
        for k in range(args.rounds):
            for engine, (prefix, options) in how.items():
                found = one_run(prefix, curate, corpus, work / engine, options)
                runs[engine].append(found)
                print(f"round {k + 1}: {engine:5} {found['process']:6.1f} s", flush=True)
    identical = same_output(work / "ray", work / "local")
    median = {engine: {key: statistics.median(r[key] for r in found) for _, key in ROWS}
              for engine, found in runs.items()}
    print(f"\n== {corpus.parent.name}: {corpus.stat().st_size / 1e6:.1f} MB, {args.rounds} rounds, medians in seconds")
    print(f"{'':32} {'ray':>7} {'local w2':>9} {'ray - local':>12} {'ray / local':>12}")
    for label, key in ROWS:
        ray, local = median["ray"][key], median["local"][key]
        ratio = f"{ray / local:.2f}x" if local > 0.05 else "-"
        print(f"{label:32} {ray:7.2f} {local:9.2f} {ray - local:12.2f} {ratio:>12}")
    per_round = [lo["process"] / r["process"] for r, lo in zip(runs["ray"], runs["local"], strict=True)]
    speed = statistics.median(per_round)
    print("ray speed / local --workers 2, per round: " + ", ".join(f"{x:.2f}x" for x in per_round)
          + f" (median {speed:.2f}x)")
    print(f"output byte-identical, ray vs local: {identical}")
    out = args.out or HERE / "results" / f"ray-overhead-{corpus.parent.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    figures = {"corpus": corpus.parent.name, "bytes": corpus.stat().st_size, "runs": runs, "median": median,
               "speed_ratio": speed, "identical": identical}
    out.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()
