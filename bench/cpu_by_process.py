"""CPU seconds of every process on the machine while one command runs, by what it is.

    python bench/cpu_by_process.py -- curate run corpus.jsonl -o out --workers 2
    python bench/cpu_by_process.py --timeline 0.2 -- curate run ... --engine ray --address HOST:PORT

Runs the command and reads /proc/<pid>/stat of every process every 20 ms, so it counts
the processes the command does not start itself too: a Ray cluster's raylet and GCS,
and its worker processes, which the raylet starts. Each process is named by what it
shows at the moment (Ray renames a worker for the call it runs: `ray::Worker.map`,
`ray::Decider.decide`; `ray::IDLE` while it waits; a Python process by its script), and
the command's own process is "command". CPU a process spends between two samples counts
for the name it had at the second. Prints the command's wall time, the CPU seconds of
each name, their sum and the cores that sum kept busy on average; with --timeline, the
CPU of each name per interval of that many seconds (the cores can be at most busy
their number times the interval).

What it told (docs/scaling.md, section 4): on two cores, the Ray engine's own processes
(workers' start, the decider, the raylet) are what it spends beyond the local engine.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import time
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
PERIOD = 0.02


def cpu_ticks() -> dict[int, tuple[int, str]]:
    """Every process's user + system ticks and its name, as /proc has them now."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            cmdline = Path(entry.path, "cmdline").read_bytes().split(b"\0")
        except OSError:  # ended between the listing and the read
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        found[int(entry.name)] = (int(fields[11]) + int(fields[12]), name_of(cmdline, stat))
    return found


def name_of(cmdline: list[bytes], stat: str) -> str:
    """A Ray process's title (ray::...), else its program and, for Python, its script."""
    words = [w.decode(errors="replace") for w in cmdline if w]
    if not words:
        return stat[stat.find("(") + 1:stat.rfind(")")]  # a kernel thread, or gone
    if words[0].startswith("ray::"):
        return words[0].split()[0]
    program = Path(words[0].split()[0]).name
    if program.startswith("python") and len(words) > 1:
        script = next((w for w in words[1:] if not w.startswith("-")), "")
        return f"{program} {Path(script).name}"
    return program


def sample(command: list[str]) -> tuple[float, list[tuple[float, str, float]]]:
    """Run ``command``; (its wall seconds, (when, name, CPU seconds) of every change seen)."""
    me = os.getpid()
    previous = cpu_ticks()
    started = time.perf_counter()
    proc = subprocess.Popen(command)
    seen: list[tuple[float, str, float]] = []
    while True:
        ended = proc.poll() is not None
        now = cpu_ticks()
        at = time.perf_counter() - started
        for pid, (ticks, name) in now.items():
            if pid == me:
                continue
            spent = ticks - previous.get(pid, (0, ""))[0]  # a process new since the last sample: all of it
            if spent > 0:
                seen.append((at, "command" if pid == proc.pid else name, spent / TICK))
        previous = now
        if ended:
            break
        time.sleep(PERIOD)
    return time.perf_counter() - started, seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeline", type=float, metavar="SECONDS", help="also print CPU per interval")
    parser.add_argument("--top", type=int, default=10, help="names shown (the rest are summed as 'other')")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    wall, seen = sample(command)
    totals: dict[str, float] = collections.defaultdict(float)
    for _, name, seconds in seen:
        totals[name] += seconds
    shown = sorted(totals, key=lambda name: (-totals[name], name))[:args.top]
    print(f"wall {wall:.2f} s; CPU {sum(totals.values()):.2f} s, {sum(totals.values()) / wall:.2f} cores on average")
    for name in shown:
        print(f"  {totals[name]:8.2f} s  {name}")
    rest = sum(totals.values()) - sum(totals[name] for name in shown)
    if rest >= 0.005:  # not a rounding's remainder
        print(f"  {rest:8.2f} s  other")
    if args.timeline:
        bins: dict[int, dict[str, float]] = collections.defaultdict(lambda: collections.defaultdict(float))
        for at, name, seconds in seen:
            bins[int(at / args.timeline)][name if name in shown else "other"] += seconds
        heads = [*shown, "other"]
        print("\n" + f"{'from s':>7} {'all':>6} " + " ".join(f"{h[:16]:>16}" for h in heads))
        for b in range(max(bins) + 1 if bins else 0):
            row = bins.get(b, {})
            print(f"{b * args.timeline:7.2f} {sum(row.values()):6.2f} "
                  + " ".join(f"{row.get(h, 0.0):16.2f}" for h in heads))


if __name__ == "__main__":
    main()
