"""Noise removal on noise-dev: curate against text-only cleaners, in one run.

    python bench/noise.py            # needs pip install -e '.[bench]' for jusText

Runs the real `curate run` on tests/fixtures/noise-dev/input with default settings,
and C4's line filter and jusText on the same pages, then scores each with the gold
snippets (as ../shared/tools/score_gold.py counts them): content kept is the share of
keep snippets in the output, noise removed the share of drop snippets absent from it.
Writes the figures to bench/results/noise.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from baselines import JusText, c4_line_filter

from curate.gold import fold, score, score_texts

PAGES = ROOT / "tests" / "fixtures" / "noise-dev" / "input"
GOLD = ROOT / "tests" / "fixtures" / "noise-dev" / "gold"


def run_curate(out: Path) -> tuple[dict, float]:
    exe = Path(sys.executable).parent / "curate"
    start = time.perf_counter()
    subprocess.run([str(exe), "run", str(PAGES), "-o", str(out), "--overwrite", "-q", "--workers",
                    str(os.cpu_count() or 1)],
                   cwd=HERE, check=True)
    return score(out, GOLD)[0], time.perf_counter() - start


def run_baseline(clean) -> tuple[dict, float]:
    start = time.perf_counter()
    texts = {}
    for path in sorted(PAGES.glob("*.txt")):
        texts[path.name.split(".")[0]] = fold(clean(path.read_text(encoding="utf-8")))
    return score_texts(texts, GOLD)[0], time.perf_counter() - start


def main() -> None:
    results = {"curate": run_curate(HERE / "out" / "noise-dev"), "c4-line-filter": run_baseline(c4_line_filter)}
    try:
        results["justext"] = run_baseline(JusText())
    except ImportError:
        print("jusText is not installed (pip install -e '.[bench]'); skipping it", file=sys.stderr)
    print(f"{'cleaner':<16} {'content kept':>14} {'noise removed':>15} {'seconds':>8}")
    table = {}
    for name, (totals, seconds) in results.items():
        keep = totals["keep"][0] / totals["keep"][1]
        drop = totals["drop"][0] / totals["drop"][1]
        table[name] = {"content_kept": round(keep, 4), "noise_removed": round(drop, 4),
                       "keep": totals["keep"], "drop": totals["drop"], "seconds": round(seconds, 1)}
        print(f"{name:<16} {keep:>8.3f} ({totals['keep'][0]:>3}) {drop:>9.3f} ({totals['drop'][0]:>3}) {seconds:>8.1f}")
    dest = HERE / "results" / "noise.json"
    dest.parent.mkdir(exist_ok=True)
    dest.write_text(json.dumps({"date": date.today().isoformat(), "pages": len(list(PAGES.glob('*.txt'))),
                                "results": table}, indent=2) + "\n")
    print(f"figures written to {dest.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
