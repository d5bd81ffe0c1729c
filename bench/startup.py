"""What a curate process spends before its first document, phase by phase.

    python bench/startup.py [--repeat N]

Each phase is timed in a fresh Python process (nothing cached from the one before), N
times; the best and the median are printed, then the wall time of a whole `curate run`
of a one-line file. Every test that runs curate as a process, every Ray worker and every
small run pays this start, so it sets most of the CLI test tier's time. The machine is
shared: compare figures taken in one run, side by side, not across runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Each phase: the code run before the clock starts, then the code timed. A phase's setup
# runs the phases before it, so each figure is that phase's own cost as a run meets it.
PHASES = (
    ("import curate.cli", "", "import curate.cli"),
    ("load the built-in rules", "import curate.cli\nfrom curate.rules import load_rules",
     "ruleset = load_rules()"),
    ("compile their RE2 programs", "import curate.cli\nfrom curate.rules import load_rules\n"
     "from curate.rule_filter import line_filter\nfrom curate.stages.noise import compile_programs\n"
     "ruleset = load_rules()", "line_filter(ruleset)\ncompile_programs(ruleset)"),
    ("build the language table", "import curate.cli\nfrom curate.stages.language import model", "model()"),
)
TIMER = """
import time
{setup}
started = time.perf_counter()
{timed}
print(time.perf_counter() - started)
"""


def time_phase(setup: str, timed: str) -> float:
    code = TIMER.format(setup=setup, timed=timed)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def time_run(folder: Path) -> float:
    curate = Path(sys.executable).parent / "curate"
    text = folder / "one.txt"
    text.write_text("One line of text, enough to be read and kept.\n", encoding="utf-8")
    out = folder / "out"
    started = time.perf_counter()
    subprocess.run([str(curate), "run", str(text), "-o", str(out), "--overwrite"], capture_output=True, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="fresh processes per phase (default 5)")
    args = parser.parse_args()
    print(f"{'phase':<32} {'best s':>8} {'median s':>9}  ({args.repeat} fresh processes each)")
    for name, setup, timed in PHASES:
        seconds = [time_phase(setup, timed) for _ in range(args.repeat)]
        print(f"{name:<32} {min(seconds):8.3f} {statistics.median(seconds):9.3f}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        seconds = [time_run(Path(folder)) for _ in range(args.repeat)]
    print(f"{'curate run of one line (wall)':<32} {min(seconds):8.3f} {statistics.median(seconds):9.3f}")


if __name__ == "__main__":
    main()
