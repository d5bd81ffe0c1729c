"""curate against datatrove on the same corpus and the same cores, in one run.

    bash bench/peers/setup.sh              # once: datatrove 0.10.1 in bench/.venv-peers
    python bench/compare.py --mb 20        # corpus from bench/generate.py, 1 core each

Times, each pinned to the same cores (taskset) and measured as whole processes (wall time,
peak RSS of the process tree sampled every 50 ms):
- curate end to end (`curate run`) on the documents;
- datatrove's closest end-to-end pipeline on the documents (bench/peers/datatrove_e2e.py:
  reader, FTFY, fastText language filter, C4 line rules without the sentence count,
  MinHash dedup, writer);
- curate's dedup alone (`curate dedup`) on the paragraphs, one JSONL record each;
- datatrove's four MinHash stages on the same paragraphs (bench/peers/datatrove_minhash.py).
Then dedup quality from the generator's ground truth (bench/quality.py, on curate's
end-to-end output). Prints MB/s, documents/s, paragraphs/s, peak RSS and curate/peer
ratios, and writes bench/results/compare-<mb>mb.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402
from quality import dedup_quality  # noqa: E402
from run import measure  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=20.0, help="corpus size in MB (default 20)")
    parser.add_argument("--cores", default="0", help="taskset CPU list shared by every tool (default 0: one core)")
    args = parser.parse_args()
    data = HERE / "data" / f"corpus{args.mb:g}"
    corpus = data / "corpus.jsonl"
    if not corpus.exists():
        generate(args.mb, data)
    paras = data / "paragraphs.jsonl"
    n_paras = paragraphs_file(corpus, paras)
    meta = json.loads((data / "meta.json").read_text())
    workers = len(args.cores.replace("-", ",").split(","))
    pin = ["taskset", "-c", args.cores]
    curate = str(Path(sys.executable).parent / "curate")
    work = HERE / "out" / f"compare{args.mb:g}"
    work.mkdir(parents=True, exist_ok=True)
    peers_python = "python3"  # the peer scripts switch to bench/.venv-peers themselves
    jobs = {
        "curate run": (pin + [curate, "run", str(corpus), "-o", str(work / "curate-run"), "-q",
                              "--workers", str(workers)], corpus.stat().st_size, meta["documents"]),
        "datatrove e2e": (pin + [peers_python, str(HERE / "peers" / "datatrove_e2e.py"), str(corpus),
                                 str(work / "dt-e2e"), "--out", str(work / "dt-e2e.json"), "--tasks", str(workers)],
                          corpus.stat().st_size, meta["documents"]),
        "curate dedup": (pin + [curate, "dedup", str(paras), "-o", str(work / "curate-dedup"), "-q",
                                "--workers", str(workers)], paras.stat().st_size, n_paras),
        "datatrove minhash": (pin + [peers_python, str(HERE / "peers" / "datatrove_minhash.py"), str(paras),
                                     str(work / "dt-minhash"), "--out", str(work / "dt-minhash.json"),
                                     "--tasks", str(workers)], paras.stat().st_size, n_paras),
    }
    results = {}
    for name, (cmd, size, units) in jobs.items():
        print(f"{name} ...", flush=True)
        wall, peak = measure(cmd, cwd=HERE)
        results[name] = {"wall_s": round(wall, 3), "peak_rss_mb": round(peak / 1e6, 1), "mb_per_s": size / 1e6 / wall,
                         "units": units, "units_per_s": units / wall, "input_mb": size / 1e6}
    quality = dedup_quality(data, work / "curate-run")
    print(f"\ncorpus: {meta['documents']:,} documents, {corpus.stat().st_size / 1e6:.1f} MB; "
          f"{n_paras:,} paragraphs, {paras.stat().st_size / 1e6:.1f} MB; cores {args.cores}")
    print(f"{'tool':<18} {'seconds':>8} {'MB/s':>7} {'units/s':>9} {'peak RSS MB':>12}")
    for name, r in results.items():
        unit = "docs" if name in ("curate run", "datatrove e2e") else "paras"
        print(f"{name:<18} {r['wall_s']:>8.1f} {r['mb_per_s']:>7.2f} {r['units_per_s']:>7.0f} {unit:<5}"
              f"{r['peak_rss_mb']:>8.0f}")
    ratios = {"end_to_end": results["datatrove e2e"]["wall_s"] / results["curate run"]["wall_s"],
              "dedup": results["datatrove minhash"]["wall_s"] / results["curate dedup"]["wall_s"]}
    print(f"curate/datatrove speed: end to end {ratios['end_to_end']:.2f}x, dedup alone {ratios['dedup']:.2f}x")
    print(f"dedup quality: recall {quality['recall_ge_0.8']} at Jaccard >= 0.8, "
          f"false positives {quality['false_positive_rate_lt_0.5']} below 0.5")
    dest = HERE / "results" / f"compare-{args.mb:g}mb.json"
    dest.write_text(json.dumps({
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "cores": args.cores, "corpus": meta, "paragraphs": n_paras, "results": results,
        "speed_ratio_curate_over_datatrove": ratios, "dedup_quality": quality,
    }, indent=2) + "\n")
    print(f"figures written to {dest.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
