"""The benchmark runner: curate against datatrove, worker scaling, engines and memory at
scale, all in one run, on two corpus shapes and the same cores.

    bash bench/peers/setup.sh              # once: datatrove 0.10.1 in bench/.venv-peers
    python bench/compare.py                # ~40 min on 2 cores; figures in bench/results/
    python bench/compare.py --shape large --repeat 1 --scale-mb 0

Two corpus shapes from bench/generate.py (--shape, both by default), each with its truth:
- standard: --mb (20) MB of documents of about 2.9 kB; dedup alone on all of their
  paragraphs, one JSONL record each;
- large (issue 15's second shape): --large-mb (100) MB of documents of about 6 kB and 8
  paragraphs; dedup alone on the first --large-paragraphs-mb (20) MB of their paragraph
  records, body paragraphs only (blocks of --min-paragraph-bytes, 200, or more: the
  one-line boilerplate is left out), about 800 bytes each.

What it times, per shape, each as a whole process pinned with taskset (wall time, and
peak RSS of the process tree sampled every 50 ms; the median of --repeat rounds, 5 by
default, as the machine is shared; the two sides of each ratio run back to back in every
round, and every round runs both shapes):
1. one core each: `curate run` against datatrove's closest end-to-end pipeline (reader,
   FTFY, fastText language filter, C4 line rules without the spaCy sentence count,
   MinHash dedup, writer; bench/peers/datatrove_e2e.py);
2. one core each: `curate dedup` against datatrove's four MinHash stages on the same
   paragraph records (bench/peers/datatrove_minhash.py);
3. two cores: `curate run --workers 2` against `--workers 1`, and `curate dedup` the same,
   with the outputs compared byte for byte;
4. two cores: `curate run --engine ray` (when the `ray` extra is installed) against the
   local engine with `--workers 2`, compared byte for byte with the local engine, twice:
   joining a 2-CPU cluster started once before the rounds (`--address`; bench/raycluster.py),
   which is issue 15's ratio, and starting a cluster of its own in every run (about 8 s
   of Ray's start and stop);
Then, untimed: `curate dedup --timings` once more for the dedup index's bytes per
indexed paragraph; dedup quality from the generator's ground truth (recall of copies
with true Jaccard >= 0.8, false positives among copies below 0.5, and removals whose
exact Jaccard is below the threshold); and issue 15's floors, PASS or FAIL.
Last, once: memory at scale, `curate dedup --workers 2` on 10%, 50% and 100% of a corpus of
over a million paragraphs (--scale-mb, 560 MB; 0 skips it). bench/scale.py measures 1 to 10 GB.

Prints MB/s, documents/s, paragraphs/s, peak RSS and the ratios, and writes
bench/results/compare-<shapes>.json (compare-20mb.json, compare-large100mb.json, or
compare-20mb+large100mb.json for both).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import statistics
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import ensure_corpus
from quality import dedup_quality, exact_audit
from raycluster import Join, running_cluster
from run import compile_curate, measure, measure_tree
from scale import scale_rows

# Issue 15's speed floors: (label, ratio name, floor).
FLOORS = (
    ("dedup >= 5x", "curate_over_datatrove_dedup", 5.0),
    ("e2e >= 1.4x", "curate_over_datatrove_end_to_end", 1.4),
    ("dedup w2/w1 >= 1.6x", "workers_2_over_1_dedup", 1.6),
    ("ray/local w2 >= 0.9x", "ray_over_local_2_cores", 0.9),
)


def paragraphs_file(corpus: Path, dest: Path, limit_bytes: int | None = None, min_bytes: int = 0) -> int:
    """One JSONL record per paragraph (blank-line separated) of at least ``min_bytes`` of
    UTF-8, ids DOC#K, until ``limit_bytes`` of records are written; returns the count."""
    count = written = 0
    with open(corpus, encoding="utf-8") as src, open(dest, "w", encoding="utf-8") as out:
        for line in src:
            rec = json.loads(line)
            for k, para in enumerate(p for p in rec["text"].split("\n\n") if p.strip()):
                if min_bytes and len(para.encode("utf-8")) < min_bytes:
                    continue
                record = json.dumps({"id": f"{rec['id']}#{k}", "text": para}, ensure_ascii=False) + "\n"
                out.write(record)
                count += 1
                written += len(record.encode("utf-8"))
                if limit_bytes is not None and written >= limit_bytes:
                    return count
    return count


def same_output(a: Path, b: Path) -> bool:
    """Every file of two output folders (corpus/ shards included) byte for byte."""
    def files(folder: Path) -> dict[str, bytes]:
        return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    return files(a) == files(b)


@dataclass
class ShapeRun:
    """One corpus shape's inputs, output folder and timed jobs."""

    shape: str
    data: Path  # generate.py's folder: corpus.jsonl, truth.tsv, meta.json
    paragraphs: Path
    n_paragraphs: int
    work: Path
    jobs: dict  # name: (command, input bytes, units, unit name)

    @property
    def meta(self) -> dict:
        return json.loads((self.data / "meta.json").read_text())


def prepare(shape: str, args: argparse.Namespace, curate: str, with_peers: bool, cluster: Join | None) -> ShapeRun:
    one, two = ["taskset", "-c", "0"], ["taskset", "-c", "0,1"]
    if shape == "standard":
        data = ensure_corpus(args.mb)
        work = HERE / "out" / f"compare{args.mb:g}"
        limit, min_bytes = None, 0
    else:
        data = ensure_corpus(args.large_mb, shape)
        work = HERE / "out" / f"compare-{shape}{args.large_mb:g}"
        limit, min_bytes = int(args.large_paragraphs_mb * 1e6), args.min_paragraph_bytes
    work.mkdir(parents=True, exist_ok=True)
    corpus = data / "corpus.jsonl"
    paras = work / "paragraphs.jsonl"
    n_paras = paragraphs_file(corpus, paras, limit, min_bytes)
    docs = json.loads((data / "meta.json").read_text())["documents"]
    docs_b, paras_b = corpus.stat().st_size, paras.stat().st_size

    def curate_job(command: str, source: Path, out: str, workers: int, *extra: str) -> list[str]:
        return [curate, command, str(source), "-o", str(work / out), "--overwrite", "-q", "--workers", str(workers),
                *extra]

    def peer_job(script: str, source: Path, out: str) -> list[str]:
        # The peer scripts switch to bench/.venv-peers themselves.
        return ["python3", str(HERE / "peers" / script), str(source), str(work / out),
                "--out", str(work / f"{out}.json"), "--tasks", "1"]

    # With a cluster up: the engine joining it, and starting one of its own for each run.
    # (The first's peak RSS is the driver's alone: the actors are the cluster's processes.)
    ray_run = ("run", corpus, "run-ray", 2, "--engine", "ray")
    ray_jobs = {} if cluster is None else {
        "curate run ray": ([*cluster, *two, *curate_job(*ray_run, "--address", cluster.address)], docs_b, docs,
                           "docs"),
        "curate run ray own": (two + curate_job("run", corpus, "run-ray-own", 2, "--engine", "ray"), docs_b, docs,
                               "docs"),
    }
    # Each pair that makes a ratio runs back to back within a round, so both sides of it
    # meet the same load on this shared machine.
    jobs = {
        "datatrove e2e": (one + peer_job("datatrove_e2e.py", corpus, "dt-e2e"), docs_b, docs, "docs"),
        "curate run": (one + curate_job("run", corpus, "run-w1", 1), docs_b, docs, "docs"),
        "curate run w2": (two + curate_job("run", corpus, "run-w2", 2), docs_b, docs, "docs"),
        **ray_jobs,
        "curate dedup w2": (two + curate_job("dedup", paras, "dedup-w2", 2), paras_b, n_paras, "paras"),
        "curate dedup": (one + curate_job("dedup", paras, "dedup-w1", 1), paras_b, n_paras, "paras"),
        "datatrove minhash": (one + peer_job("datatrove_minhash.py", paras, "dt-minhash"), paras_b, n_paras,
                              "paras"),
    }
    if not with_peers:
        del jobs["datatrove e2e"], jobs["datatrove minhash"]
    return ShapeRun(shape, data, paras, n_paras, work, jobs)


def index_figures(run: ShapeRun, curate: str) -> dict:
    """An untimed `curate dedup --timings` (the deep index count costs time of its own):
    the dedup index's bytes per indexed paragraph, and that run's peak RSS."""
    out = run.work / "dedup-index"
    timings = run.work / "dedup-index.timings.json"
    m = measure_tree(["taskset", "-c", "0", curate, "dedup", str(run.paragraphs), "-o", str(out), "--overwrite",
                      "-q", "--workers", "1", "--timings", str(timings)], cwd=HERE)
    index = json.loads(timings.read_text()).get("index", {})
    paragraphs, size = index.get("index_paragraphs"), index.get("index_bytes")
    return {"index_paragraphs": paragraphs, "index_bytes": size,
            "index_bytes_per_paragraph": round(size / paragraphs) if paragraphs and size is not None else None,
            "peak_rss_mb": round(m["peak_tree_bytes"] / 1e6, 1)}


def summarise(run: ShapeRun, walls: dict, peaks: dict, with_peers: bool, with_ray: bool, curate: str) -> dict:
    results = {}
    for name, (cmd, size, units, unit) in run.jobs.items():
        wall = statistics.median(walls[name])
        results[name] = {"wall_s": round(wall, 3), "runs_s": [round(w, 3) for w in walls[name]],
                         "peak_rss_mb": round(max(peaks[name]) / 1e6, 1),
                         "mb_per_s": round(size / 1e6 / wall, 3), "units": units, "unit": unit,
                         "units_per_s": round(units / wall, 1), "input_mb": round(size / 1e6, 3),
                         "cores": cmd[cmd.index("taskset") + 2]}
    work = run.work
    identical = {"run --workers 2 vs 1": same_output(work / "run-w1", work / "run-w2"),
                 "dedup --workers 2 vs 1": same_output(work / "dedup-w1", work / "dedup-w2")}
    if with_ray:
        identical["run --engine ray vs local"] = same_output(work / "run-w1", work / "run-ray")
        identical["run --engine ray (own cluster) vs local"] = same_output(work / "run-w1", work / "run-ray-own")
    pairs = {"workers_2_over_1_run": ("curate run", "curate run w2"),
             "workers_2_over_1_dedup": ("curate dedup", "curate dedup w2")}
    if with_peers:
        pairs["curate_over_datatrove_end_to_end"] = ("datatrove e2e", "curate run")
        pairs["curate_over_datatrove_dedup"] = ("datatrove minhash", "curate dedup")
    if with_ray:
        pairs["ray_over_local_2_cores"] = ("curate run w2", "curate run ray")
        pairs["ray_own_cluster_over_local_2_cores"] = ("curate run w2", "curate run ray own")
    # The headline ratio is of the medians; each round's own ratio shows the spread.
    wall = {name: r["wall_s"] for name, r in results.items()}
    ratios = {name: round(wall[slow] / wall[fast], 3) for name, (slow, fast) in pairs.items()}
    ratio_rounds = {name: [round(a / b, 3) for a, b in zip(walls[slow], walls[fast], strict=True)]
                    for name, (slow, fast) in pairs.items()}
    floors = {label: {"ratio": ratios.get(key), "floor": floor,
                      "pass": None if key not in ratios else ratios[key] >= floor}
              for label, key, floor in FLOORS}
    meta = run.meta
    return {"corpus": meta, "corpus_mb": round((run.data / "corpus.jsonl").stat().st_size / 1e6, 3),
            "document_bytes_mean": round((run.data / "corpus.jsonl").stat().st_size / meta["documents"]),
            "paragraphs": run.n_paragraphs, "paragraphs_mb": round(run.paragraphs.stat().st_size / 1e6, 3),
            "paragraph_record_bytes_mean": round(run.paragraphs.stat().st_size / max(run.n_paragraphs, 1)),
            "results": results, "ratios": ratios, "ratio_rounds": ratio_rounds, "floors": floors,
            "identical_output": identical, "index": index_figures(run, curate),
            "dedup_quality": dedup_quality(run.data, work / "run-w1"),
            "exact_audit": exact_audit(run.data, work / "run-w1")}


def report(shape: str, figures: dict) -> None:
    print(f"\n== {shape} shape: {figures['corpus']['documents']:,} documents, {figures['corpus_mb']:.1f} MB "
          f"(mean {figures['document_bytes_mean']:,} B); {figures['paragraphs']:,} paragraph records, "
          f"{figures['paragraphs_mb']:.1f} MB (mean {figures['paragraph_record_bytes_mean']:,} B)")
    print(f"{'':<18} {'cores':>5} {'seconds':>8} {'MB/s':>7} {'units/s':>13} {'peak RSS MB':>12}")
    for name, r in figures["results"].items():
        print(f"{name:<18} {r['cores']:>5} {r['wall_s']:>8.1f} {r['mb_per_s']:>7.2f} {r['units_per_s']:>7.0f} "
              f"{r['unit']:<5} {r['peak_rss_mb']:>12.0f}")
    for name, value in figures["ratios"].items():
        rounds = ", ".join(f"{r:.2f}" for r in figures["ratio_rounds"][name])
        print(f"{name}: {value:.2f}x (rounds: {rounds})")
    for label, floor in figures["floors"].items():
        verdict = "not measured" if floor["pass"] is None else "PASS" if floor["pass"] else "FAIL"
        ratio = "" if floor["ratio"] is None else f": {floor['ratio']:.2f}x"
        print(f"floor {label}{ratio} {verdict}")
    for name, same in figures["identical_output"].items():
        print(f"output byte-identical, {name}: {same}")
    index = figures["index"]
    per = index["index_bytes_per_paragraph"]
    print(f"dedup index: {per if per is not None else '?'} bytes per indexed paragraph "
          f"({index['index_paragraphs'] or 0:,} paragraphs, {(index['index_bytes'] or 0) / 1e6:.1f} MB; "
          f"curate dedup --timings peak RSS {index['peak_rss_mb']:.0f} MB)")
    quality, audit = figures["dedup_quality"], figures["exact_audit"]
    print(f"dedup quality: recall {quality['recall_ge_0.8']} at Jaccard >= 0.8 "
          f"({quality['recall_ge_0.8_reaching_dedup']} of copies reaching dedup), "
          f"false positives {quality['removed_jaccard_lt_0.5']} of {quality['pairs_jaccard_lt_0.5']:,} "
          f"({quality['false_positive_rate_lt_0.5']}) below 0.5; "
          f"{audit['removed_below_threshold']} of {audit['removed_duplicates_checked']:,} removals below "
          f"the threshold {audit['threshold']} in exact Jaccard")


def time_rounds(runs: list[ShapeRun], repeat: int) -> tuple[dict, dict]:
    """Every job of every shape, ``repeat`` rounds: (wall seconds, peak RSS bytes) per
    shape and job. Rounds, not one job repeated back to back: a burst of load on this
    shared machine then lands on several tools' runs (and both shapes) instead of all runs
    of one tool."""
    walls: dict[str, dict[str, list[float]]] = {run.shape: {name: [] for name in run.jobs} for run in runs}
    peaks: dict[str, dict[str, list[int]]] = {run.shape: {name: [] for name in run.jobs} for run in runs}
    for round_no in range(repeat):
        for run in runs:
            for name, (cmd, _, _, _) in run.jobs.items():
                print(f"{run.shape}: {name} (run {round_no + 1} of {repeat}) ...", end=" ", flush=True)
                wall, peak = measure(cmd, cwd=HERE)  # from bench/: no ./rules folder here
                # As each job ends: a run stopped before the table still leaves its figures.
                print(f"{wall:.2f} s, {peak / 1e6:.0f} MB", flush=True)
                walls[run.shape][name].append(wall)
                peaks[run.shape][name].append(peak)
    return walls, peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", choices=("standard", "large", "both"), default="both",
                        help="which corpus shapes to run (default both, in the same rounds)")
    parser.add_argument("--mb", type=float, default=20.0, help="standard corpus size in MB (default 20)")
    parser.add_argument("--large-mb", type=float, default=100.0,
                        help="large-document corpus size in MB (default 100)")
    parser.add_argument("--large-paragraphs-mb", type=float, default=20.0,
                        help="paragraph records of the large shape for dedup alone, in MB (default 20)")
    parser.add_argument("--min-paragraph-bytes", type=int, default=200,
                        help="large shape: paragraphs shorter than this are left out of its paragraph records "
                             "(default 200: the boilerplate lines)")
    parser.add_argument("--scale-mb", type=float, default=560.0,
                        help="corpus for the memory-at-scale rows (default 560: over 1M paragraphs; 0 skips)")
    parser.add_argument("--no-peers", action="store_true", help="skip datatrove (no bench/.venv-peers)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs of each timed job; the median is reported (default 5)")
    args = parser.parse_args()
    compile_curate()
    shapes = ["standard", "large"] if args.shape == "both" else [args.shape]
    curate = str(Path(sys.executable).parent / "curate")
    with_peers = not args.no_peers
    with_ray = importlib.util.find_spec("ray") is not None
    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(running_cluster(cpus=2, cores="0,1")) if with_ray else None
        runs = [prepare(shape, args, curate, with_peers, cluster) for shape in shapes]
        walls, peaks = time_rounds(runs, args.repeat)
    figures = {}
    for run in runs:
        print(f"{run.shape}: dedup index and quality (untimed) ...", flush=True)
        figures[run.shape] = summarise(run, walls[run.shape], peaks[run.shape], with_peers, with_ray, curate)
    scale = scale_rows(args.scale_mb) if args.scale_mb else []

    for shape, shape_figures in figures.items():
        report(shape, shape_figures)
    if scale:
        print(f"\n{'share':>6} {'MB':>7} {'paragraphs':>11} {'indexed':>9} {'index MB':>9} {'B/para':>7} "
              f"{'seconds':>8} {'para/s':>8} {'peak RSS MB':>12}")
        for row in scale:
            print(f"{row['share']:>6.0%} {row['mb']:>7.0f} {row['paragraphs']:>11,} {row['indexed']:>9,} "
                  f"{row['index_mb']:>9.0f} {row['index_bytes_per_paragraph']:>7.0f} {row['wall_s']:>8.1f} "
                  f"{row['paragraphs'] / row['wall_s']:>8.0f} {row['peak_rss_mb']:>12.0f}")
    tags = {"standard": f"{args.mb:g}mb", "large": f"large{args.large_mb:g}mb"}
    dest = HERE / "results" / f"compare-{'+'.join(tags[s] for s in shapes)}.json"
    dest.write_text(json.dumps({
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "repeat": args.repeat, "shapes": figures, "scale": scale,
    }, indent=2) + "\n")
    print(f"figures written to {dest.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
