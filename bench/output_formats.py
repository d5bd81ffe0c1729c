"""What each --output-format costs: `curate run` on a generated corpus, once per format,
in alternating rounds, with the seconds, the corpus folder's size and the ratio to jsonl.

    python bench/output_formats.py              # 20 MB corpus, 3 rounds
    python bench/output_formats.py --mb 5 --rounds 1
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
sys.path.insert(0, str(HERE))

from generate import ensure_corpus

FORMATS = ("jsonl", "jsonl.gz", "jsonl.zst", "parquet")


def run_once(corpus: Path, fmt: str, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "curate", "run", str(corpus), "-o", str(out), "-q", "--overwrite",
                    "--no-project-rules", "--output-format", fmt], check=True, cwd=out.parent)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=20.0, help="size of the generated corpus (default 20)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    args = parser.parse_args()
    corpus = ensure_corpus(args.mb) / "corpus.jsonl"
    seconds: dict[str, list[float]] = {fmt: [] for fmt in FORMATS}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for fmt in FORMATS:
                out = Path(tmp) / fmt
                seconds[fmt].append(run_once(corpus, fmt, out))
                sizes[fmt] = sum(p.stat().st_size for p in (out / "corpus").iterdir())
    base = statistics.median(seconds["jsonl"])
    print(f"curate run on {args.mb:g} MB, --workers 1, median of {args.rounds} rounds")
    for fmt in FORMATS:
        median = statistics.median(seconds[fmt])
        print(f"{fmt:<10} {median:7.2f} s  x{median / base:5.2f} of jsonl   corpus/ {sizes[fmt] / 1e6:7.2f} MB "
              f"({sizes[fmt] / sizes['jsonl']:.2f} of jsonl)")


if __name__ == "__main__":
    main()
