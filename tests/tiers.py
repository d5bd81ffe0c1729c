"""Run the test tiers in order, fastest first, and say how long each took.

    python tests/tiers.py [PYTEST_ARGS...]

unit (in-process, no curate process, no Ray), then lint (ruff and mypy, which must report
nothing: pip install -e '.[lint]'; they run beside the unit tier and report after it),
then cli (the CLI and integration tests: everything neither unit, slow nor ray), then
slow (noise-dev, kills and resumes), then ray (the tests that run a Ray cluster, marked
by conftest.py: beside the other tests' curate processes they ran 3-4x slower, so they
run apart). A failing tier stops the run, so a broken function is reported in seconds,
not after the slow tier. Each tier runs on every core, up to four (pytest-xdist, `-n auto
--maxprocesses 4`). Any arguments are passed to each pytest (e.g. -x; `-n 0` runs a tier
in one process). Exit status: pytest's, of the first tier that failed; 0 when every tier
passed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIERS = (
    ("unit", "unit"),
    ("lint", None),
    ("cli", "not unit and not slow and not ray"),
    ("slow", "slow and not ray"),
    ("ray", "ray"),
)
LINTERS = (("ruff", "check", "."), ("mypy",))  # mypy's settings (packages, overrides) are in pyproject.toml
# worksteal: a worker that runs out of tests takes some of the other's, so one long test
# (the commit kills take about a minute) does not leave a core idle at the end of a tier.
PARALLEL = ("-n", "auto", "--maxprocesses", "4", "--dist", "worksteal")
NO_TESTS_COLLECTED = 5  # pytest's status when a marker selects nothing: not a failure here
# The counts of pytest's last line ("3 failed, 150 passed, 2 skipped, 198 deselected in 21.99s").
COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)\b")


def parallel() -> tuple[str, ...]:
    """pytest-xdist's options, where it is installed (the test extra has it)."""
    try:
        import xdist  # noqa: F401
    except ImportError:
        return ()
    return PARALLEL


def run_tier(name: str, marker: str, extra: list[str]) -> tuple[int, str]:
    """Run one tier with its output shown as it comes; (exit status, its summary line)."""
    command = [sys.executable, "-m", "pytest", "-q", "-m", marker, *parallel(), *extra]
    print(f"== tier {name}: pytest -m {marker!r}", flush=True)
    started = time.monotonic()
    counts = ""
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          bufsize=1, env=pytest_environment()) as process:
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            found = COUNT.findall(line)
            if found and " in " in line:
                counts = ", ".join(f"{n} {what}" for n, what in found)
        status = process.wait()
    seconds = time.monotonic() - started
    if status == NO_TESTS_COLLECTED:
        status, counts = 0, "no tests"
    return status, f"tier {name}: {counts or 'no summary from pytest'} in {seconds:.1f} s"


def pytest_environment() -> dict[str, str]:
    """This environment, but with bytecode written. pytest rewrites the asserts of every
    test module it collects and caches the result only where bytecode may be written:
    under PYTHONDONTWRITEBYTECODE (CI's machines set it) each of a tier's processes (the
    controller and each xdist worker) rewrote all of them again, about 2 s each."""
    return {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def run_linters() -> tuple[int, str, str]:
    """ruff and mypy over the project, from the same environment as the tests: (exit
    status, what they printed, the tier's summary line)."""
    started = time.monotonic()
    said = ["== tier lint: " + " && ".join(" ".join(linter) for linter in LINTERS) + "\n"]
    bindir = Path(sys.executable).parent
    for linter in LINTERS:
        exe = bindir / linter[0]
        if not exe.exists():
            return 1, "".join(said), f"tier lint: {linter[0]} is not installed; pip install -e '.[lint]'"
        done = subprocess.run([str(exe), *linter[1:]], cwd=ROOT, check=False, capture_output=True, text=True)
        said += [done.stdout, done.stderr]
        status = done.returncode
        if status != 0:
            return status, "".join(said), f"tier lint: {linter[0]} found problems (exit status {status})"
    seconds = time.monotonic() - started
    return 0, "".join(said), f"tier lint: ruff and mypy clean in {seconds:.1f} s (beside the unit tier)"


def start_linters() -> Callable[[], tuple[int, str]]:
    """Start the lint tier now, beside the unit tier; the function returned waits for it,
    prints what the linters said and gives (exit status, summary line). mypy is one
    process for 20-25 s on a fresh clone (no cache yet): after the unit tier, one of the
    two cores idled for as long."""
    outcome: list[tuple[int, str, str]] = []
    thread = threading.Thread(target=lambda: outcome.append(run_linters()), daemon=True)
    thread.start()

    def finish() -> tuple[int, str]:
        thread.join()
        status, said, line = outcome[0]
        sys.stdout.write(said)
        return status, line

    return finish


def compile_package() -> None:
    """Write curate's bytecode once, before the tests start a few hundred curate processes.
    Where PYTHONDONTWRITEBYTECODE is set (CI's machines set it) and an editable install
    wrote none, every one of them compiled the whole package again: 0.25 s of CPU each, a
    third of a small run's."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", "curate"], cwd=ROOT, check=True)


def main(argv: list[str]) -> int:
    started = time.monotonic()
    compile_package()
    lines = []
    lint = start_linters()
    for name, marker in TIERS:
        status, line = lint() if marker is None else run_tier(name, marker, argv)
        lines.append(line)
        print(line, flush=True)
        if status != 0:
            print("\n".join(["", *lines, f"tier {name} failed (exit status {status}); later tiers not run"]))
            return status
    print("\n".join(["", *lines, f"all tiers passed in {time.monotonic() - started:.1f} s"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
