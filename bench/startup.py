"""What a curate process spends before its first document, phase by phase.

    python bench/startup.py [--repeat N] [--against CHECKOUT]

Each phase is timed in a fresh Python process (nothing cached from the one before), N
times; the best and the median are printed, then the wall time of a whole `curate run`
of a one-line file. Every test that runs curate as a process, every Ray actor and every
small run pays this start: in the CLI test tier, 312 curate processes took 270 of its
~680 CPU seconds (2026-12-05), most of it this.

``--against CHECKOUT`` (another clone or worktree of curate, e.g. `git worktree add
/tmp/base HEAD~5`) times the same phases with that checkout's code beside this one's,
process by process alternately, and prints the ratio: the machine is shared, so compare
figures taken in one run, side by side, not across runs.
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

HERE = Path(__file__).resolve().parent.parent
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


def environment(checkout: Path) -> dict[str, str]:
    """This process's environment, importing curate from ``checkout``."""
    return dict(os.environ, PYTHONPATH=str(checkout))


def time_phase(checkout: Path, setup: str, timed: str) -> float:
    code = TIMER.format(setup=setup, timed=timed)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env=environment(checkout), cwd=checkout)
    return float(done.stdout.strip().splitlines()[-1])


def time_run(checkout: Path, folder: Path) -> float:
    text = folder / "one.txt"
    text.write_text("One line of text, enough to be read and kept.\n", encoding="utf-8")
    out = folder / "out"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "curate", "run", str(text), "-o", str(out), "--overwrite"],
                   capture_output=True, check=True, env=environment(checkout), cwd=folder)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="fresh processes per phase and checkout (default 5)")
    parser.add_argument("--against", type=Path, help="another curate checkout, timed beside this one")
    args = parser.parse_args()
    checkouts = [HERE] + ([args.against.resolve()] if args.against else [])
    names = ["this checkout"] + ([str(args.against)] if args.against else [])
    header = "".join(f" | {name[:24]:>24} best / median" for name in names)
    print(f"{'phase (seconds)':<30}{header}   ({args.repeat} fresh processes each)")
    with tempfile.TemporaryDirectory() as scratch:
        folders = [Path(scratch) / str(k) for k in range(len(checkouts))]
        for folder in folders:
            folder.mkdir()
        rows = [(name, (lambda c, f, s=setup, t=timed: time_phase(c, s, t))) for name, setup, timed in PHASES]
        rows.append(("curate run of one line (wall)", time_run))
        for name, measure in rows:
            seconds: list[list[float]] = [[] for _ in checkouts]
            for _ in range(args.repeat):  # alternately, so that both meet the same moments of the machine
                for k, checkout in enumerate(checkouts):
                    seconds[k].append(measure(checkout, folders[k]))
            cells = "".join(f" | {min(s):24.3f} / {statistics.median(s):6.3f}" for s in seconds)
            ratio = (f"   this / other: {statistics.median(seconds[0]) / statistics.median(seconds[1]):.2f}x"
                     if len(seconds) > 1 else "")
            print(f"{name:<30}{cells}{ratio}", flush=True)


if __name__ == "__main__":
    main()
