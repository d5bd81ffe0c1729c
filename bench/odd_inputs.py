"""Seconds per MB of `curate run` on odd inputs that once made it superlinear, beside
ordinary text: a guard that no stage's cost grows with the wrong thing.

    python bench/odd_inputs.py                # each case once, at two sizes
    python bench/odd_inputs.py --scale 4      # sizes four times as large

Each case is written at two sizes (the second twice the first) to a temporary folder and
run through `curate run --timings` (one process at a time, this checkout's curate). For
each it prints the wall seconds per MB, the slowest stage and its seconds, and the ratio
of the two sizes' times: about 2 is linear; about 4 means the cost grows with the square.

- prose: ordinary paragraphs (the yardstick);
- long word: a page of one line, a sentence and then one word of the given size; a dedup shingle
  holding it was hashed one interpreter pass per 16 bytes (12.8 s in the signature stage
  for 7 MB, before 2026-12-05);
- title parts: a page whose first line (a title) has thousands of " | " parts, then many
  short lines, then the article; each line above the article was compared with every part
  (146 s in the noise stage for 0.8 MB, before 2026-12-05);
- one-char lines: a page of one-character lines, the costliest shape per byte that is
  linear (every line pays the per-line steps of every stage: about 20-30 s per MB).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

WORDS = ["the", "council", "agreed", "on", "a", "new", "budget", "for", "schools", "after", "long", "debate",
         "while", "residents", "asked", "about", "transport", "plans", "and", "the", "mayor", "promised",
         "answers", "before", "winter", "because", "costs", "had", "risen"]


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(14, 28))).capitalize() + "."


def prose(size: int, rng: random.Random) -> str:
    lines: list[str] = []
    while sum(map(len, lines)) < size:
        lines.append(" ".join(_sentence(rng) for _ in range(3)))
    return "\n\n".join(lines)


def long_word(size: int, rng: random.Random) -> str:
    # After a sentence, so that the line is long enough to be deduplicated (--min-words);
    # alone on its page, so that the noise stage keeps it and it is signed.
    word = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(size))
    return _sentence(rng) + " " + word


def title_parts(size: int, rng: random.Random) -> str:
    title = " | ".join(f"section {k:07d}" for k in range(size // 2 // 20))
    menu = [f"Menu entry {k:07d}" for k in range(size // 2 // 19)]
    return "\n".join([title, *menu, prose(2000, rng)])


def one_char_lines(size: int, rng: random.Random) -> str:
    return "\n".join(rng.choice("abcdefghij.-|*#") for _ in range(size // 2))


CASES: dict[str, tuple[Callable[[int, random.Random], str], int]] = {
    # name: (generator, first size in bytes at --scale 1)
    "prose": (prose, 1_000_000),
    "long word": (long_word, 2_000_000),
    "title parts": (title_parts, 200_000),
    "one-char lines": (one_char_lines, 100_000),
}


def run_case(folder: Path, text: str) -> tuple[float, dict[str, float]]:
    page = folder / "page.txt"
    page.write_text(text, encoding="utf-8")
    timings = folder / "timings.json"
    curate = str(Path(sys.executable).parent / "curate")
    started = time.perf_counter()
    subprocess.run([curate, "run", str(page), "-o", str(folder / "out"), "--overwrite", "-q", "--no-project-rules",
                    "--timings", str(timings)], check=True)
    wall = time.perf_counter() - started
    seconds = json.loads(timings.read_text())["seconds"]
    return wall, {k: v for k, v in seconds.items() if k not in ("wall", "census")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every case's sizes (default 1)")
    args = parser.parse_args()
    print(f"{'case':<16}{'MB':>7}{'wall s':>9}{'s/MB':>8}  slowest stage")
    with tempfile.TemporaryDirectory(prefix="curate-odd-") as tmp:
        for name, (generate, first) in CASES.items():
            walls = []
            for size in (int(first * args.scale), int(2 * first * args.scale)):
                text = generate(size, random.Random(7))
                mb = len(text.encode("utf-8")) / 1e6
                wall, stages = run_case(Path(tmp), text)
                slowest = max(stages, key=stages.__getitem__)
                walls.append(wall)
                print(f"{name:<16}{mb:>7.2f}{wall:>9.2f}{wall / mb:>8.2f}  {slowest} {stages[slowest]:.2f} s")
            print(f"{'':<16}twice the size: {walls[1] / walls[0]:.2f}x the time")


if __name__ == "__main__":
    main()
