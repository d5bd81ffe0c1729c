"""This checkout against an earlier commit, side by side: same output bytes? how fast?

    python bench/against.py c5bbcf8                 # seeds, noise-dev, a 20 MB corpus
    python bench/against.py main~5 --mb 5 --rounds 1
    python bench/against.py main~5 --ray --kill     # also --engine ray, and a killed and resumed run

Checks out REV into a temporary git worktree and runs both versions of `curate` from
this venv (PYTHONPATH picks the code), in alternating rounds so both meet the same load:
`run` on the seeds, on noise-dev and on a generated corpus, and `dedup` on the corpus,
each with --workers 1 and 2. It then says, file by file, whether corpus.jsonl,
removed.jsonl and quarantine.jsonl are byte-identical (summary.json is compared too, but
its settings and rule list may change on purpose; the sharded corpus/ folder of later
versions is compared as its shards joined), and prints the median seconds and peak
memory of each side. Exits 1 if any JSONL file differs.

--ray adds the corpus jobs with --engine ray (2 CPUs) on both sides. --kill adds, for this
checkout only, a run of the corpus killed (SIGKILL) part-way and finished with --resume,
compared with the base side's uninterrupted run.
"""

from __future__ import annotations

import argparse
import os
import signal
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


def jobs(mb: float, with_ray: bool = False) -> list[tuple[str, list[str]]]:
    corpus = str(ensure_corpus(mb))
    inputs = [("seeds", "run", str(ROOT / "seeds")),
              ("noise-dev", "run", str(ROOT / "tests" / "fixtures" / "noise-dev" / "input")),
              (f"corpus{mb:g}", "run", corpus), (f"corpus{mb:g}", "dedup", corpus)]
    found = [(f"{command} {name} --workers {w}", [command, path, "--workers", str(w)])
             for name, command, path in inputs for w in (1, 2)]
    if with_ray:
        found += [(f"{command} corpus{mb:g} --engine ray", [command, corpus, "--engine", "ray", "--workers", "2"])
                  for command in ("run", "dedup")]
    return found


def kill_and_resume(code: Path, args: list[str], out: Path, after: float) -> int:
    """Run ``args`` from ``code``, SIGKILL it after ``after`` seconds, then --resume it;
    returns how many finished chunks the killed run left."""
    command = [sys.executable, "-m", "curate", *args, "-o", str(out), "-q", "--chunk-docs", "500",
               *(["--no-project-rules"] if args[0] == "run" else [])]
    env = {"PYTHONPATH": str(code), "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen(command, env=env, cwd=out.parent, start_new_session=True)
    try:
        proc.wait(timeout=after)
        raise SystemExit(f"curate {' '.join(args)} finished before the kill at {after:.1f} s; use a bigger --mb")
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    chunks = len(list((out / ".partial").glob("*.done")))
    resumed = subprocess.run([*command, "--resume"], check=False, env=env, cwd=out.parent, capture_output=True,
                             text=True)
    if resumed.returncode != 0:
        raise SystemExit(f"--resume failed:\n{resumed.stderr}")
    return chunks


def same_files(a: Path, b: Path) -> list[str]:
    return [name for name in JSONL if output_bytes(a, name) == output_bytes(b, name)]


def output_bytes(out: Path, name: str) -> bytes:
    """One output file's bytes; the corpus of output schema 1 (OUT/corpus/ shards, JSON
    Lines) joined in shard order, so a version before the shards compares with one after."""
    shards = out / name.removesuffix(".jsonl")
    if name == "corpus.jsonl" and shards.is_dir():
        return b"".join(p.read_bytes() for p in sorted(shards.glob("part-*.jsonl")))
    return (out / name).read_bytes()


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
    parser.add_argument("--ray", action="store_true", help="also run the corpus with --engine ray")
    parser.add_argument("--kill", action="store_true", help="also kill a run of this checkout and --resume it")
    args = parser.parse_args()
    differs = False
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(base), args.rev], check=True)
        try:
            seconds_of: dict[str, float] = {}
            for label, job in jobs(args.mb, args.ray):
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
                same = same_files(Path(tmp) / "out" / "base", Path(tmp) / "out" / "this")
                differs |= len(same) < len(JSONL)
                seconds_of[label] = statistics.median(times["this"])
                summaries = ((Path(tmp) / "out" / side / "summary.json").read_bytes() for side in ("base", "this"))
                if len(set(summaries)) > 1:
                    label += " (summary differs)"
                verdict = ("identical" if len(same) == len(JSONL)
                           else "DIFFERS: " + ", ".join(sorted(set(JSONL) - set(same))))
                print(f"{label:<40} {verdict:<22} base {statistics.median(times['base']):6.2f} s "
                      f"{memory['base'] / 1024:5.0f} MB   this {statistics.median(times['this']):6.2f} s "
                      f"{memory['this'] / 1024:5.0f} MB   "
                      f"ratio {statistics.median(times['base']) / statistics.median(times['this']):.2f}x",
                      flush=True)
            if args.kill:
                differs |= not kill_jobs(args.mb, base, Path(tmp), seconds_of)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)
    sys.exit(1 if differs else 0)


def kill_jobs(mb: float, base: Path, tmp: Path, seconds_of: dict[str, float]) -> bool:
    """This checkout killed at 40% of its run and resumed, against the base's whole run."""
    corpus = str(ensure_corpus(mb))
    ok = True
    for command, workers in (("run", 1), ("run", 2), ("dedup", 1)):
        job = [command, corpus, "--workers", str(workers)]
        label = f"{command} corpus{mb:g} --workers {workers}"
        whole, resumed = tmp / "out" / "base", tmp / "out" / "resumed"
        for out in (whole, resumed):
            subprocess.run(["rm", "-rf", str(out)], check=True)
        run_side(base, job, whole)
        chunks = kill_and_resume(ROOT, job, resumed, 0.4 * seconds_of.get(label, 10.0))
        same = same_files(whole, resumed)
        ok &= len(same) == len(JSONL)
        verdict = "identical" if len(same) == len(JSONL) else "DIFFERS: " + ", ".join(sorted(set(JSONL) - set(same)))
        print(f"{'killed+resumed ' + label:<40} {verdict:<22} (killed with {chunks} chunks done)", flush=True)
    return ok


if __name__ == "__main__":
    main()
