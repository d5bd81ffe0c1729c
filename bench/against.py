"""This checkout against an earlier commit, side by side: same output bytes? how fast?

    python bench/against.py c5bbcf8                 # seeds, noise-dev, a 20 MB corpus
    python bench/against.py main~5 --mb 5 --rounds 1

Checks out REV into a temporary git worktree and runs both versions of `curate` from
this venv (PYTHONPATH picks the code), in alternating rounds so both meet the same load:
`run` on the seeds, on noise-dev and on a generated corpus, and `dedup` on the corpus,
each with --workers 1 and 2. It then says, file by file, whether corpus.jsonl,
removed.jsonl and quarantine.jsonl are byte-identical (summary.json is compared too, but
its settings and rule list may change on purpose), and prints the median seconds and peak
memory of each side. Exits 1 if any JSONL file differs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate import ensure_corpus

JSONL = ("corpus.jsonl", "removed.jsonl", "quarantine.jsonl")


def jobs(mb: float) -> list[tuple[str, list[str]]]:
    corpus = str(ensure_corpus(mb))
    inputs = [("seeds", "run", str(ROOT / "seeds")),
              ("noise-dev", "run", str(ROOT / "tests" / "fixtures" / "noise-dev" / "input")),
              (f"corpus{mb:g}", "run", corpus), (f"corpus{mb:g}", "dedup", corpus)]
    return [(f"{command} {name} --workers {w}", [command, path, "--workers", str(w)])
            for name, command, path in inputs for w in (1, 2)]


def run_side(code: Path, args: list[str], out: Path) -> tuple[float, int]:
    """Seconds and peak resident kB of one `curate` command run from ``code``."""
    timed = subprocess.run(["/usr/bin/time", "-f", "%e %M", sys.executable, "-m", "curate", *args, "-o", str(out),
                            "-q", "--no-project-rules" if args[0] == "run" else "-q"],
                           env={"PYTHONPATH": str(code), "PATH": "/usr/bin:/bin"}, cwd=out.parent,
                           capture_output=True, text=True)
    if timed.returncode != 0:
        raise SystemExit(f"{code}: curate {' '.join(args)} failed:\n{timed.stderr}")
    seconds, kb = timed.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(kb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rev", help="the commit to compare with (e.g. c5bbcf8, main~3)")
    parser.add_argument("--mb", type=float, default=20.0, help="size of the generated corpus (default 20)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per job (default 3)")
    args = parser.parse_args()
    differs = False
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(base), args.rev], check=True)
        try:
            for label, job in jobs(args.mb):
                times: dict[str, list[float]] = {"base": [], "this": []}
                memory: dict[str, int] = {"base": 0, "this": 0}
                for _ in range(args.rounds):
                    for side, code in (("base", base), ("this", ROOT)):
                        out = Path(tmp) / "out" / side
                        subprocess.run(["rm", "-rf", str(out)], check=True)
                        out.parent.mkdir(exist_ok=True)
                        seconds, kb = run_side(code, job, out)
                        times[side].append(seconds)
                        memory[side] = max(memory[side], kb)
                same = [name for name in JSONL
                        if (Path(tmp) / "out" / "base" / name).read_bytes()
                        == (Path(tmp) / "out" / "this" / name).read_bytes()]
                differs |= len(same) < len(JSONL)
                verdict = ("identical" if len(same) == len(JSONL)
                           else "DIFFERS: " + ", ".join(sorted(set(JSONL) - set(same))))
                print(f"{label:<40} {verdict:<22} base {statistics.median(times['base']):6.2f} s "
                      f"{memory['base'] / 1024:5.0f} MB   this {statistics.median(times['this']):6.2f} s "
                      f"{memory['this'] / 1024:5.0f} MB   "
                      f"ratio {statistics.median(times['base']) / statistics.median(times['this']):.2f}x",
                      flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)
    sys.exit(1 if differs else 0)


if __name__ == "__main__":
    main()
