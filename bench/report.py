"""What `curate report` and `curate clusters` cost on a generated run: `curate run` once
(--workers 1), then each command in alternating rounds, with the median seconds, the peak
memory (max RSS of the command's process) and the size of what it wrote.

    python bench/report.py              # 20 MB corpus, 3 rounds
    python bench/report.py --mb 5 --rounds 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import ensure_corpus


def timed(args: list[str], cwd: Path) -> tuple[float, int]:
    """Run ``python -m curate ARGS``; (seconds, the process's max RSS in bytes)."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "curate", *args], cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"curate {' '.join(args)} failed with status {process.returncode}")
    return time.perf_counter() - started, usage.ru_maxrss * 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=20.0, help="size of the generated corpus (default 20)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    args = parser.parse_args()
    corpus = ensure_corpus(args.mb) / "corpus.jsonl"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        run_seconds, _ = timed(["run", str(corpus), "-o", str(out), "-q", "--no-project-rules", "--workers", "1"],
                               Path(tmp))
        commands = {
            "report": ["report", str(out), "-o", str(Path(tmp) / "report.html"), "--overwrite"],
            "clusters": ["clusters", str(out), "-o", str(Path(tmp) / "clusters.jsonl"), "--overwrite"],
        }
        seconds: dict[str, list[float]] = {name: [] for name in commands}
        rss: dict[str, int] = dict.fromkeys(commands, 0)
        for _ in range(args.rounds):
            for name, command in commands.items():
                took, peak = timed(command, Path(tmp))
                seconds[name].append(took)
                rss[name] = max(rss[name], peak)
        sizes = {"report": (Path(tmp) / "report.html").stat().st_size,
                 "clusters": (Path(tmp) / "clusters.jsonl").stat().st_size}
        removed = (out / "removed.jsonl").stat().st_size
    print(f"curate run on {args.mb:g} MB ({corpus.relative_to(HERE.parent)}), --workers 1: {run_seconds:.1f} s; "
          f"removed.jsonl {removed / 1e6:.2f} MB")
    for name in commands:
        print(f"curate {name:<9} median {statistics.median(seconds[name]):5.2f} s of {args.rounds} rounds, "
              f"max RSS {rss[name] / 1e6:6.1f} MB, wrote {sizes[name] / 1e6:6.2f} MB")


if __name__ == "__main__":
    main()
