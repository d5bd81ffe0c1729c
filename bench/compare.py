"""The benchmark runner: curate against datatrove, worker scaling, engines and memory at
scale, all in one run, on one corpus and the same cores.

    bash bench/peers/setup.sh              # once: datatrove 0.10.1 in bench/.venv-peers
    python bench/compare.py                # ~15 min on 2 cores; figures in bench/results/

What it times, each as a whole process pinned with taskset (wall time, and peak RSS of
the process tree sampled every 50 ms; the median of --repeat rounds, 5 by default, as
the machine is shared; the two sides of each ratio run back to back in every round), on
a corpus from bench/generate.py (--mb, 20 MB):
1. one core each: `curate run` against datatrove's closest end-to-end pipeline (reader,
   FTFY, fastText language filter, C4 line rules without the spaCy sentence count,
   MinHash dedup, writer; bench/peers/datatrove_e2e.py);
2. one core each: `curate dedup` against datatrove's four MinHash stages on the same
   paragraphs, one JSONL record each (bench/peers/datatrove_minhash.py);
3. two cores: `curate run --workers 2` against `--workers 1`, and `curate dedup` the same,
   with the outputs compared byte for byte;
4. two cores: `curate run --engine ray` (when the `ray` extra is installed), compared
   byte for byte with the local engine;
5. memory at scale: `curate dedup --workers 2` on 10%, 50% and 100% of a corpus of over
   a million paragraphs (--scale-mb, 560 MB; 0 skips it), with the dedup index's own
   bytes per paragraph.
Then dedup quality from the generator's ground truth (recall of copies with true
Jaccard >= 0.8, false positives among copies below 0.5). Prints MB/s, documents/s,
paragraphs/s, peak RSS and the ratios, and writes bench/results/compare-<mb>mb.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import ensure_corpus
from quality import dedup_quality
from run import measure
from scale import scale_rows


def paragraphs_file(corpus: Path, dest: Path) -> int:
    """One JSONL record per paragraph (blank-line separated), ids DOC#K; returns the count."""
    count = 0
    with open(corpus, encoding="utf-8") as src, open(dest, "w", encoding="utf-8") as out:
        for line in src:
            rec = json.loads(line)
            for k, para in enumerate(p for p in rec["text"].split("\n\n") if p.strip()):
                out.write(json.dumps({"id": f"{rec['id']}#{k}", "text": para}, ensure_ascii=False) + "\n")
                count += 1
    return count


def same_output(a: Path, b: Path) -> bool:
    """Every file of two output folders (corpus/ shards included) byte for byte."""
    def files(folder: Path) -> dict[str, bytes]:
        return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    return files(a) == files(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=20.0, help="corpus size in MB (default 20)")
    parser.add_argument("--scale-mb", type=float, default=560.0,
                        help="corpus for the memory-at-scale rows (default 560: over 1M paragraphs; 0 skips)")
    parser.add_argument("--no-peers", action="store_true", help="skip datatrove (no bench/.venv-peers)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs of each timed job; the median is reported (default 5)")
    args = parser.parse_args()
    data = ensure_corpus(args.mb)
    corpus = data / "corpus.jsonl"
    paras = data / "paragraphs.jsonl"
    n_paras = paragraphs_file(corpus, paras)
    meta = json.loads((data / "meta.json").read_text())
    one, two = ["taskset", "-c", "0"], ["taskset", "-c", "0,1"]
    curate = str(Path(sys.executable).parent / "curate")
    work = HERE / "out" / f"compare{args.mb:g}"
    work.mkdir(parents=True, exist_ok=True)
    docs_mb, paras_mb = corpus.stat().st_size, paras.stat().st_size

    def curate_job(command: str, source: Path, out: str, workers: int, *extra: str) -> list[str]:
        return [curate, command, str(source), "-o", str(work / out), "--overwrite", "-q", "--workers", str(workers),
                *extra]

    def peer_job(script: str, source: Path, out: str) -> list[str]:
        # The peer scripts switch to bench/.venv-peers themselves.
        return ["python3", str(HERE / "peers" / script), str(source), str(work / out),
                "--out", str(work / f"{out}.json"), "--tasks", "1"]

    # Each pair that makes a ratio runs back to back within a round, so both sides of it
    # meet the same load on this shared machine.
    jobs = {  # name: (command, input bytes, units, unit name)
        "datatrove e2e": (one + peer_job("datatrove_e2e.py", corpus, "dt-e2e"), docs_mb, meta["documents"], "docs"),
        "curate run": (one + curate_job("run", corpus, "run-w1", 1), docs_mb, meta["documents"], "docs"),
        "curate run w2": (two + curate_job("run", corpus, "run-w2", 2), docs_mb, meta["documents"], "docs"),
        "curate run ray": (two + curate_job("run", corpus, "run-ray", 2, "--engine", "ray"), docs_mb,
                           meta["documents"], "docs"),
        "curate dedup w2": (two + curate_job("dedup", paras, "dedup-w2", 2), paras_mb, n_paras, "paras"),
        "curate dedup": (one + curate_job("dedup", paras, "dedup-w1", 1), paras_mb, n_paras, "paras"),
        "datatrove minhash": (one + peer_job("datatrove_minhash.py", paras, "dt-minhash"), paras_mb, n_paras,
                              "paras"),
    }
    if args.no_peers:
        del jobs["datatrove e2e"], jobs["datatrove minhash"]
    ray_installed = importlib.util.find_spec("ray") is not None
    if not ray_installed:
        del jobs["curate run ray"]
    results = {}
    # Rounds, not one job repeated back to back: a burst of load on this shared machine
    # then lands on several tools' runs instead of all runs of one tool.
    walls: dict[str, list[float]] = {name: [] for name in jobs}
    peaks: dict[str, list[int]] = {name: [] for name in jobs}
    for round_no in range(args.repeat):
        for name, (cmd, _, _, _) in jobs.items():
            print(f"{name} (run {round_no + 1} of {args.repeat}) ...", flush=True)
            wall, peak = measure(cmd, cwd=HERE)  # from bench/: no ./rules folder here
            walls[name].append(wall)
            peaks[name].append(peak)
    for name, (cmd, size, units, unit) in jobs.items():
        wall = statistics.median(walls[name])
        results[name] = {"wall_s": round(wall, 3), "runs_s": [round(w, 3) for w in walls[name]],
                         "peak_rss_mb": round(max(peaks[name]) / 1e6, 1),
                         "mb_per_s": round(size / 1e6 / wall, 3), "units": units, "unit": unit,
                         "units_per_s": round(units / wall, 1), "input_mb": round(size / 1e6, 3),
                         "cores": cmd[2]}
    identical = {"run --workers 2 vs 1": same_output(work / "run-w1", work / "run-w2"),
                 "dedup --workers 2 vs 1": same_output(work / "dedup-w1", work / "dedup-w2")}
    if ray_installed:
        identical["run --engine ray vs local"] = same_output(work / "run-w1", work / "run-ray")
    quality = dedup_quality(data, work / "run-w1")
    wall = {name: r["wall_s"] for name, r in results.items()}
    pairs = {"workers_2_over_1_run": ("curate run", "curate run w2"),
             "workers_2_over_1_dedup": ("curate dedup", "curate dedup w2")}
    if not args.no_peers:
        pairs["curate_over_datatrove_end_to_end"] = ("datatrove e2e", "curate run")
        pairs["curate_over_datatrove_dedup"] = ("datatrove minhash", "curate dedup")
    if ray_installed:
        pairs["ray_over_local_2_cores"] = ("curate run w2", "curate run ray")
    # The headline ratio is of the medians; each round's own ratio shows the spread.
    ratios = {name: wall[slow] / wall[fast] for name, (slow, fast) in pairs.items()}
    ratio_rounds = {name: [round(a / b, 3) for a, b in zip(walls[slow], walls[fast], strict=True)]
                    for name, (slow, fast) in pairs.items()}
    scale = scale_rows(args.scale_mb) if args.scale_mb else []

    print(f"\ncorpus: {meta['documents']:,} documents, {docs_mb / 1e6:.1f} MB; "
          f"{n_paras:,} paragraphs, {paras_mb / 1e6:.1f} MB")
    print(f"{'':<18} {'cores':>5} {'seconds':>8} {'MB/s':>7} {'units/s':>13} {'peak RSS MB':>12}")
    for name, r in results.items():
        print(f"{name:<18} {r['cores']:>5} {r['wall_s']:>8.1f} {r['mb_per_s']:>7.2f} {r['units_per_s']:>7.0f} "
              f"{r['unit']:<5} {r['peak_rss_mb']:>12.0f}")
    for name, value in ratios.items():
        print(f"{name}: {value:.2f}x (rounds: {', '.join(f'{r:.2f}' for r in ratio_rounds[name])})")
    for name, same in identical.items():
        print(f"output byte-identical, {name}: {same}")
    print(f"dedup quality: recall {quality['recall_ge_0.8']} at Jaccard >= 0.8, "
          f"false positives {quality['false_positive_rate_lt_0.5']} below 0.5")
    if scale:
        print(f"\n{'share':>6} {'MB':>7} {'paragraphs':>11} {'indexed':>9} {'index MB':>9} {'B/para':>7} "
              f"{'seconds':>8} {'para/s':>8} {'peak RSS MB':>12}")
        for row in scale:
            print(f"{row['share']:>6.0%} {row['mb']:>7.0f} {row['paragraphs']:>11,} {row['indexed']:>9,} "
                  f"{row['index_mb']:>9.0f} {row['index_bytes_per_paragraph']:>7.0f} {row['wall_s']:>8.1f} "
                  f"{row['paragraphs'] / row['wall_s']:>8.0f} {row['peak_rss_mb']:>12.0f}")
    dest = HERE / "results" / f"compare-{args.mb:g}mb.json"
    dest.write_text(json.dumps({
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "corpus": meta, "paragraphs": n_paras, "results": results, "ratios": ratios,
        "ratio_rounds": ratio_rounds,
        "identical_output": identical, "dedup_quality": quality, "scale": scale,
    }, indent=2) + "\n")
    print(f"figures written to {dest.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
