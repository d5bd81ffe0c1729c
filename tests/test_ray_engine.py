"""--engine ray writes the local engine's bytes: on a cluster it starts itself, after an
actor dies holding batches (before and after their verdicts were decided), and on a
running cluster of two nodes (two `ray start` processes) it joins with --address HOST:PORT."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import (
    FIXTURES,
    MIXED,
    NOISE_DEV,
    ROOT,
    SEEDS,
    file_size_limit,
    killed_at_open,
    needs_strace,
    output_files,
    ray_env,
    run_process,
    signalled_after_the_closing_line,
)

pytest.importorskip("ray")  # CI installs the extra (.ci/run), so there these tests run

pytestmark = pytest.mark.slow  # part of noise-dev through Ray, several times: about half a minute in all

# Where the input's size is not what is tested: pages, and JSON Lines plain, gzip and zstd,
# which the actors read themselves.
SMALL = (SEEDS, MIXED)
SITES = FIXTURES / "sites" / "crawl"  # pages with URLs: a census first, of JSON Lines the workers read


_env = ray_env


def _run(out: Path, *args: str, inputs: tuple, env: dict[str, str] | None = None) -> dict[str, bytes]:
    result = run_process("run", *inputs, "-o", out, "-q", *args, env=env or _env())
    assert result.returncode == 0, result.stderr
    return output_files(out)


@pytest.fixture(scope="module")
def fault_inputs(tmp_path_factory) -> tuple[Path, Path]:
    """The seeds and the first noise-dev pages, enough for five batches: an actor then dies
    with others in flight, in a third of the time of all of noise-dev (what is left is
    mostly a Ray run's fixed cost: actors started, and one started again)."""
    from curate.driver import BATCH_BYTES

    folder = tmp_path_factory.mktemp("noise-dev-part")
    size = 0
    for page in sorted(NOISE_DEV.glob("*.txt")):
        if size > 5 * BATCH_BYTES:
            break
        shutil.copy(page, folder / page.name)
        size += page.stat().st_size
    assert size > 5 * BATCH_BYTES
    return SEEDS, folder


@pytest.fixture(scope="module")
def local_output(tmp_path_factory, fault_inputs) -> dict[str, bytes]:
    out = _run(tmp_path_factory.mktemp("local") / "out", "--workers", "2", inputs=fault_inputs)
    assert b'"reason":"duplicate"' in out["removed.jsonl"]  # the input has copies to find
    return out


@pytest.fixture(scope="module")
def small_local_output(tmp_path_factory) -> dict[str, bytes]:
    return _run(tmp_path_factory.mktemp("small") / "out", "--workers", "2", inputs=SMALL)


def _faults(cluster_env: dict[str, str], marks: Path, phase: str) -> dict[str, str]:
    """The environment of a run on the session's cluster whose actors leave their marks in
    ``marks`` and die once in ``phase`` (the engine's test settings; "none": no death)."""
    from curate.engines.ray import FAIL_ONCE_ENV, FAIL_PHASE_ENV

    return {**cluster_env, FAIL_ONCE_ENV: str(marks), FAIL_PHASE_ENV: phase}


def _assert_same(ray_output: dict[str, bytes], local_output: dict[str, bytes]) -> None:
    assert ray_output.keys() == local_output.keys()
    for name in local_output:
        assert ray_output[name] == local_output[name], f"{name} differs between --engine ray and local"


def test_ray_on_a_local_cluster_writes_the_local_engines_bytes(tmp_path, small_local_output):
    # The cluster the run starts for itself is what is tested here, so the inputs are small.
    out = tmp_path / "ray"
    result = run_process("run", *SMALL, "-o", out, "-q", "--engine", "ray", "--workers", "2", env=_env())
    assert result.returncode == 0, result.stderr
    # Ray's notice that it turned token authentication on is no news for a run's own cluster.
    assert "Token authentication" not in result.stderr
    _assert_same(output_files(out), small_local_output)


def test_ray_takes_the_site_census_and_writes_the_local_engines_bytes(tmp_path, ray_cluster):
    local = _run(tmp_path / "local", "--workers", "2", inputs=(SITES,))
    assert b'"reason":"site:repeated"' in local["removed.jsonl"]
    marks = tmp_path / "marks"  # where actors say they started (no fault is asked for in phase "none")
    marks.mkdir()
    joined, cluster_env = ray_cluster  # two CPUs, as --workers 2
    _assert_same(_run(tmp_path / "ray", *joined, inputs=(SITES,), env=_faults(cluster_env, marks, "none")), local)
    # The census's two actors go on to the run's pass: no second start of Ray workers.
    assert len(list(marks.glob("actor-started-*"))) == 2


def test_ray_batches_larger_than_the_local_engines_write_the_same_bytes(tmp_path, ray_cluster):
    # Past 16 local batches (8 MB on two CPUs) the Ray engine cuts larger ones (up to 1 MB):
    # ranges of a plain file, and parts of a compressed one an actor reads whole.
    import gzip
    import json
    import random

    from curate.driver import BATCH_BYTES
    from curate.engines.ray import batch_bytes_for

    rng = random.Random(7)
    words = [f"w{k}" for k in range(3000)]
    paragraphs = [" ".join(rng.choices(words, k=60)) for _ in range(6000)]
    records = []
    for k in range(28000):
        text = paragraphs[k % len(paragraphs)] if k % 5 else " ".join(rng.choices(words, k=60))
        records.append(json.dumps({"id": f"p{k}", "text": text}))
    folder = tmp_path / "in"
    folder.mkdir()
    plain = "\n".join(records[:20000]) + "\n"
    (folder / "a.jsonl").write_text(plain)
    (folder / "b.jsonl.gz").write_bytes(gzip.compress(("\n".join(records[20000:]) + "\n").encode()))
    size = sum(f.stat().st_size for f in folder.iterdir())
    assert batch_bytes_for(size, 2)(0) > BATCH_BYTES and len(plain) > 2 * batch_bytes_for(size, 2)(0)
    local = output_files(_dedup(tmp_path / "local", folder, "--workers", "2"))
    assert b'"reason":"duplicate"' in local["removed.jsonl"]
    joined, cluster_env = ray_cluster
    _assert_same(output_files(_dedup(tmp_path / "ray", folder, *joined, env=cluster_env)), local)


def _dedup(out: Path, folder: Path, *args: str, env: dict[str, str] | None = None) -> Path:
    result = run_process("dedup", folder, "-o", out, "-q", *args, env=env or _env())
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.parametrize("phase", ["map", "rows", "finish"])
def test_an_actor_that_dies_holding_batches_changes_no_byte(tmp_path, fault_inputs, local_output, ray_cluster,
                                                           phase):
    # "map": batch 1's actor dies mapping it; "rows": it dies just after answering, while
    # the decider (held back by the test) has not yet read the rows it put in the object
    # store; "finish": it dies when batch 1's verdicts, already decided, come to it. Every
    # batch it held is mapped again on another actor (and given its verdicts), and the
    # decider takes the lost rows and every part after them again, in order, so no
    # document is lost, repeated or decided twice.
    # On the session's cluster of two CPUs (the actors are given the fault asked for by the
    # run that starts them): starting a cluster for each phase cost more than the run.
    joined, cluster_env = ray_cluster
    marks = tmp_path / "marks"
    marks.mkdir()
    _assert_same(_run(tmp_path / "ray", *joined, inputs=fault_inputs, env=_faults(cluster_env, marks, phase)),
                 local_output)
    assert (marks / "failed-once").exists(), f"the actor of batch 1 should have died once ({phase})"
    if phase == "rows":
        assert (marks / "rows-lost").exists(), "the decider should have found rows lost"
    # In the other phases the actor may die holding the rows of an earlier batch that the
    # decider has not read yet (they are the dead actor's objects): rows lost too, or not,
    # as the two race; the bytes are the same either way, as asserted above.


def test_ray_on_two_nodes_started_apart_writes_the_local_engines_bytes(tmp_path, small_local_output, two_nodes):
    # Each node has one CPU and each actor takes one, so the run's two actors are one on
    # each node: both read their files from disk and encode their records. The inputs are
    # named relative to the driver's folder, which is not the nodes' (they run in tmp_path).
    address, env = two_nodes
    relative = tuple(path.relative_to(ROOT) for path in SMALL)
    _assert_same(_run(tmp_path / "ray", "--engine", "ray", "--address", address, env=env, inputs=relative),
                 small_local_output)


@needs_strace
def test_a_killed_ray_run_is_not_resumed_by_the_local_engine(tmp_path, ray_cluster):
    # Its chunks hold no dedup journal: the local engine would continue without the
    # paragraphs they kept, and keep their copies (it did, silently, until this test).
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    from generate import generate

    generate(1.0, tmp_path / "gen")
    corpus = tmp_path / "gen" / "corpus.jsonl"
    out = tmp_path / "out"
    joined, cluster_env = ray_cluster
    args = ["run", str(corpus), "-o", str(out), "-q", "--no-project-rules", "--chunk-docs", "20"]
    # The driver writes the output, so strace follows it alone (the actors are the
    # cluster's processes) and kills it as it marks its second chunk finished: waiting for
    # the first marker to appear and then killing it raced the run, which could end first.
    killed_at_open(out / ".partial" / "000001.done", Path(sys.executable).parent / "curate", *args, *joined,
                   env=cluster_env)
    assert not (out / "summary.json").exists()
    assert [path.name for path in (out / ".partial").glob("*.done")] == ["000000.done"]
    refused = run_process(*args, "--resume")
    assert refused.returncode == 1
    assert "keeps no checkpoints (--engine ray), so it cannot be resumed; use --overwrite" in refused.stderr
    assert "Traceback" not in refused.stderr
    again = run_process(*args, "--overwrite")
    assert again.returncode == 0, again.stderr
    reference = run_process(*args[:3], str(tmp_path / "reference"), *args[4:])
    assert reference.returncode == 0, reference.stderr
    assert output_files(out) == output_files(tmp_path / "reference")


def test_a_stopped_ray_run_does_not_advise_resume(tmp_path, ray_cluster):
    # A file-size limit on the driver, which writes the output: the stop's message, which
    # on the local engine says --resume, must say what a Ray run can do.
    import subprocess
    import sys

    out = tmp_path / "out"
    joined, cluster_env = ray_cluster
    stopped = subprocess.run([str(Path(sys.executable).parent / "curate"), "dedup", str(SEEDS), "-o", str(out), "-q",
                              "--chunk-docs", "1", *joined], env=cluster_env, capture_output=True, text=True,
                             timeout=300, preexec_fn=file_size_limit(4_000), check=False)
    assert stopped.returncode == 1, stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert "File too large" in stopped.stderr and "--engine ray cannot be resumed" in stopped.stderr
    assert "--overwrite to start again" in stopped.stderr and "with --resume" not in stopped.stderr


def test_the_api_on_ray_does_not_advise_resume_either(tmp_path, ray_cluster):
    # The same stop through curate.run(engine="ray"): only the CLI reworded it, and the
    # API's message advised a resume that a Ray run cannot make.
    import subprocess
    import sys

    joined, cluster_env = ray_cluster
    script = (
        "import resource, sys, ray, curate\n"
        f"ray.init(address={joined[-1]!r}, log_to_driver=False)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4_000, 4_000))  # this process writes the output\n"
        "try:\n"
        f"    curate.run([{str(SEEDS)!r}], {str(tmp_path / 'out')!r}, engine='ray', workers=2, dedup_only=True,\n"
        "               chunk_items=1)\n"
        "except curate.errors.CurateError as err:\n"
        "    print(err)\n"
        "    sys.exit(1)\n"
    )
    stopped = subprocess.run([sys.executable, "-c", script], env=cluster_env, capture_output=True, text=True,
                             timeout=300, check=False)
    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    assert "File too large" in stopped.stdout and "--engine ray cannot be resumed" in stopped.stdout, stopped.stdout
    assert "--overwrite to start again" in stopped.stdout and "with --resume" not in stopped.stdout


def test_the_api_caller_keeps_its_environment(ray_cluster):
    # Ray's switch for its stack dump on a SIGTERM was set in os.environ to connect and left
    # there: every process an API caller started afterwards had it.
    import subprocess
    import sys

    joined, cluster_env = ray_cluster
    script = (
        "import os\n"
        "from curate.engines import engine_for\n"
        "from curate.engines.ray import SIGNAL_HANDLER_SWITCH as SWITCH\n"
        "os.environ.pop(SWITCH, None)\n"
        f"with engine_for('ray', 2, {joined[-1]!r}):\n"
        "    import ray\n"
        "    assert ray.is_initialized()\n"
        "print(repr(os.environ.get(SWITCH)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], env=cluster_env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "None\n"


@needs_strace
def test_a_machine_limit_in_an_actor_stops_in_its_own_words(tmp_path):
    # Too many open files met by an actor reading a file: Ray raises the actor's stop again
    # in the driver wrapped in its RayTaskError, whose text is the actor's traceback, and
    # that traceback was the whole message. A cluster of the run's own, so that strace
    # follows the actors (the session's cluster is not this process's).
    import subprocess
    import sys

    from conftest import STRACE

    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in "ab":
        (inputs / f"{name}.jsonl").write_text(f'{{"text": "a record of file {name}, which is fine"}}\n')
    traced = [STRACE, "-f", "--seccomp-bpf", "-qq", "-o", "/dev/null", "-P", str(inputs / "b.jsonl"),
              "-e", "trace=openat", "-e", "inject=openat:error=EMFILE"]
    curate = [str(Path(sys.executable).parent / "curate"), "run", str(inputs), "-o", str(tmp_path / "out"), "-q",
              "--engine", "ray", "--workers", "1"]
    stopped = subprocess.run([*traced, *curate], env=_env(), capture_output=True, text=True, timeout=300, check=False)
    assert stopped.returncode == 1, stopped.stderr
    assert stopped.stderr == (
        "Error: too many open files (reading b.jsonl): raise the limit (ulimit -n); no final file was written. A run "
        "on --engine ray cannot be resumed: fix the cause, then run the same command with --overwrite to start "
        "again.\n")


_STOP_ADVICE = ("; no final file was written. A run on --engine ray cannot be resumed: fix the cause, then run the "
                "same command with --overwrite to start again.\n")


def test_a_dead_decider_is_said_in_curates_words(tmp_path, ray_cluster):
    # Its death was said in Ray's dozen lines (ids, namespace, a tip on a `ray start` flag)
    # after the decider's name, and nothing said what to do.
    import re

    joined, cluster_env = ray_cluster
    marks = tmp_path / "marks"
    marks.mkdir()
    stopped = run_process("run", SEEDS, "-o", tmp_path / "out", "-q", *joined,
                          env=_faults(cluster_env, marks, "decider"), timeout=300)
    assert stopped.returncode == 1, stopped.stderr
    assert re.fullmatch(r"Error: the Ray actor that holds the dedup index \(the decider, pid \d+\) died \(killed, "
                        r"or out of memory\?\)" + re.escape(_STOP_ADVICE), stopped.stderr), stopped.stderr


def _held_run(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    """A run on a cluster of its own, started and held in its first map call (the engine's
    "hold" phase) until the test ends it; with its output folder."""
    from curate.engines.ray import FAIL_ONCE_ENV, FAIL_PHASE_ENV

    marks = tmp_path / "marks"
    marks.mkdir()
    out = tmp_path / "out"
    run = subprocess.Popen([str(Path(sys.executable).parent / "curate"), "run", str(SEEDS), "-o", str(out), "-q",
                            "--engine", "ray", "--workers", "1", "--no-project-rules"], cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           env=_env(**{FAIL_ONCE_ENV: str(marks), FAIL_PHASE_ENV: "hold"}),
                           start_new_session=True)  # its own group, for a signal to the group
    deadline = time.monotonic() + 240
    while not (marks / "holding").exists():
        assert run.poll() is None, run.communicate()[1]
        assert time.monotonic() < deadline, "the run never mapped its first batch"
        time.sleep(0.1)
    return run, out


def _descendants(pid: int) -> dict[int, str]:
    """Every process under ``pid``, by pid, with its name (from /proc)."""
    children: dict[int, list[int]] = {}
    names = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, rest = text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()
        names[int(stat.parent.name)] = name
        children.setdefault(int(rest[1]), []).append(int(stat.parent.name))
    found, todo = {}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = names[child]
            todo.append(child)
    return found


def _gone(pids: dict[int, str], seconds: float = 90) -> dict[int, str]:
    """Those of ``pids`` still running (not zombies) after ``seconds`` at most."""
    deadline = time.monotonic() + seconds
    while True:
        left = {}
        for pid, name in pids.items():
            with contextlib.suppress(OSError):
                if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    left[pid] = name
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


@pytest.mark.parametrize("to", ["pid", "group"])
def test_a_sigterm_ends_a_ray_run_as_a_local_one(tmp_path, to):
    # Ray's handler in C printed a stack dump ("*** SIGTERM received ... PC: @ 0x...") and no
    # word of curate's; the default action left the cluster's agents running, orphaned.
    # Now the run says what stopped it, as a local run does, and ends by the signal, with
    # its cluster. To the whole group (a shell's `kill -TERM -PGID`), the signal reached the
    # cluster's processes too, and Ray ended curate by a C exit (status 1, its log line
    # only): they are in a group of their own now.
    run, _ = _held_run(tmp_path)
    cluster = _descendants(run.pid)
    assert "raylet" in cluster.values(), cluster
    if to == "group":
        os.killpg(run.pid, signal.SIGTERM)
    else:
        run.send_signal(signal.SIGTERM)
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == -signal.SIGTERM, stderr
    assert stderr == ("Error: stopped by SIGTERM; no final file was written. A run on --engine ray cannot be "
                      "resumed: run the same command with --overwrite to start again.\n"), stderr
    assert _gone(cluster) == {}


def test_a_sigterm_after_the_run_finished_leaves_its_status(tmp_path):
    # The cluster's shutdown, after the summary, takes seconds on a loaded machine: a SIGTERM
    # then made a finished run exit 143.
    run = subprocess.Popen([str(Path(sys.executable).parent / "curate"), "run", str(SEEDS), "-o", str(tmp_path / "out"),
                            "--engine", "ray", "--workers", "1"], cwd=ROOT, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True, env=_env())
    said = signalled_after_the_closing_line(run, signal.SIGTERM)
    assert run.returncode == 0, said
    assert (tmp_path / "out" / "summary.json").exists()


def test_a_lost_raylet_is_said_and_frees_the_folder(tmp_path):
    # Ray ends its driver when the raylet dies (a C exit, at its next use of the object
    # store): its log lines only, and no word on what to do. The watch says it first.
    import fcntl

    run, out = _held_run(tmp_path)
    cluster = _descendants(run.pid)
    raylet = next(pid for pid, name in cluster.items() if name == "raylet")
    os.kill(raylet, signal.SIGKILL)
    _, stderr = run.communicate(timeout=120)
    for pid in _gone(cluster, seconds=0):  # the killed raylet's agents end on their own only minutes later
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert run.returncode == 1, stderr
    # In, not at the end: a line Ray's C++ threads log as the process goes may come after it.
    assert (f"Error: the Ray cluster started for this run lost its raylet (pid {raylet}, killed by signal 9), the "
            "process that runs its actors and object store: a process of the cluster was killed, or ran out of "
            "memory" + _STOP_ADVICE) in stderr, stderr
    assert "Traceback" not in stderr
    with (out / ".curate.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the run's lock went with it
