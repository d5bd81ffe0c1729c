"""The line model's tree walk over a page's rows at once, or SCORE_ROWS at a time.

    python bench/model_slices.py [--rows 200000] [--repeat 5]

Scores the same rows (random feature values: every row walks every tree to its full
depth, as real rows do) with the whole-page walk and with the slices curate uses, and
prints the best time of each, the peak memory numpy allocated for it (tracemalloc) and
whether the scores are identical. A page of a million lines took 3 GB in the whole walk.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from curate.linemodel.features import FEATURES
from curate.linemodel.model import SCORE_ROWS, load_model


def measure(score, rows: np.ndarray, repeat: int) -> tuple[float, float, np.ndarray]:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = score(rows)
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    score(rows)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak / 1e6, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000, help="rows (lines of one page) to score")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each; the best is printed")
    args = parser.parse_args()
    model = load_model()
    rows = np.random.default_rng(0).random((args.rows, len(FEATURES))) * 5
    print(f"{args.rows:,} rows, {model.trees} trees of depth {model.depth}; best of {args.repeat}")
    whole_s, whole_mb, whole = measure(model._scores, rows, args.repeat)
    sliced_s, sliced_mb, sliced = measure(model.scores, rows, args.repeat)
    print(f"{'all rows at once':<26} {whole_s:7.3f} s  peak {whole_mb:7.1f} MB")
    print(f"{f'slices of {SCORE_ROWS} rows':<26} {sliced_s:7.3f} s  peak {sliced_mb:7.1f} MB")
    print(f"slices / whole: time {sliced_s / whole_s:.2f}x, memory {sliced_mb / whole_mb:.2f}x; "
          f"scores identical: {np.array_equal(whole, sliced)}")


if __name__ == "__main__":
    main()
