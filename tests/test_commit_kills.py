"""A kill at any step of the final commit, then --resume: the output is byte-identical to
a run that was never stopped.

strace records which system calls the commit makes (each write, fsync, truncate, rename,
unlink and file creation of the main thread after the last chunk is written), then runs
are killed by strace just before such a call (``inject=...:signal=KILL``) and resumed.
The commit repeats its steps for each chunk of each file (a join is the same five calls
for chunk 2 as for chunk 3): every kind of step is killed at, its first and last time,
where a kind is the call, the names of the files it touches (chunk numbers aside, and
removed.jsonl and quarantine.jsonl alike: one function joins both) and the kind of step
before it. That is about 75 kills of a format's 139 calls, and every phase of the commit
(the last chunk's flush, the journal, the dedup index's files going once the journal is
written, each join's first, middle and last chunk, the first audit file's join begun and
the second's ended, the renames, the clean-up) is still killed at. The Parquet run's
commit makes the same calls on the same files as the JSON Lines run's, the corpus shards'
names aside (checked on both traces), so it is killed only where a corpus shard or folder
is in the step or the one before: 13 kills, for the part of the commit the format changes.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import ROOT, in_process, killed_at_open, output_files, traced_env

STRACE = shutil.which("strace") or "/usr/bin/strace"
FILES = ("README.md", "corpus", "removed.jsonl", "quarantine.jsonl", "summary.json")
TRACED = ("write", "fsync", "fdatasync", "ftruncate", "rename", "renameat", "renameat2", "unlink", "unlinkat",
          "openat", "mkdir", "rmdir")
CHANGES_DISK = re.compile(r"^(write|fsync|fdatasync|ftruncate|rename\w*|unlink\w*|mkdir|rmdir)\(|"
                          r"^openat\(.*O_CREAT")
PARAGRAPH = ("The river council met on Monday to discuss the spring flood defences and agreed to raise "
             "the northern embankment by half a metre before the rains.")


def _curate(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "curate"), *map(str, args)]


def _inputs(folder: Path) -> Path:
    """Eight documents with copied paragraphs (removed.jsonl), and broken JSONL records
    (quarantine.jsonl), so that every output file has several chunks to join."""
    src = folder / "in"
    src.mkdir()
    for i in range(8):
        text = f"Document {i} opens with its own words about topic number {i} and more.\n\n{PARAGRAPH}\n"
        (src / f"doc{i}.txt").write_text(text)
    lines = [json.dumps({"id": f"r{i}", "text": f"Record {i} has a sentence of its own, number {i}."})
             for i in range(6)]
    lines[2] = "{not json"
    lines[4] = "[1, 2]"
    (src / "records.jsonl").write_text("\n".join(lines) + "\n")
    return src


def _dedup(src: Path, out: Path, *extra: str) -> list[str]:
    return _curate("dedup", src, "-o", out, "-q", "--chunk-docs", "3", *extra)


def _outputs(out: Path) -> dict[str, bytes]:
    return output_files(out)


def _commit_calls(trace: str) -> list[tuple[str, int, str]]:
    """(syscall, its number among the main thread's calls of that name, the call as strace
    wrote it) for each call of the commit that changes the disk. The commit starts where
    the main thread creates the last chunk's .state file (earlier chunks are finished on
    another thread); the calls just before it flush and sync the last chunk, so they are
    included too."""
    lines = trace.splitlines()
    main = lines[0].split(None, 1)[0]
    counts: dict[str, int] = {}
    calls: list[tuple[str, int, str]] = []
    for tid, call in _whole_calls(lines):
        name = call.split("(", 1)[0]
        if tid != main or name not in TRACED:
            continue
        counts[name] = counts.get(name, 0) + 1
        calls.append((name, counts[name], call))
    start = next(i for i, (name, _, call) in enumerate(calls) if name == "openat" and ".state\"" in call)
    return [(name, n, call) for name, n, call in calls[max(start - 8, 0):] if CHANGES_DISK.match(call)]


def _whole_calls(lines: list[str]) -> list[tuple[str, str]]:
    """(thread id, call) for each call of strace -f's log, where a call another thread
    interrupted is written in two lines ('rename("a", "b" <unfinished ...>', then
    '<... rename resumed>) = 0'): joined into one, as an uninterrupted call is written."""
    waiting: dict[str, str] = {}  # thread id -> the first half of its unfinished call
    whole = []
    for line in lines:
        tid, call = line.split(None, 1)
        if call.endswith(" <unfinished ...>"):
            waiting[tid] = call.removesuffix(" <unfinished ...>")
            continue
        if call.startswith("<... ") and tid in waiting:
            call = waiting.pop(tid) + call.split(" resumed>", 1)[1]
        whole.append((tid, call))
    return whole


def _step(call: str) -> tuple[str, ...]:
    """What kind of step a call is: its name and the names of the files it touches (strace
    -y writes a descriptor's path after it, <...>), chunk numbers and sizes aside."""
    name, arguments = call.split("(", 1)
    if name == "write":
        arguments = arguments.split(", ", 1)[0]  # the descriptor, not the data written
    files = re.findall(r'<([^<>]*)>|"([^"]*/[^"]*)"', arguments.split(") = ", 1)[0])
    # The dedup index's folder has a name made up for each run (tempfile.mkdtemp).
    return (name, *(re.sub(r"\d+", "#", re.sub(r"^dedup-index-\w+$", "dedup-index-*", (a or b).rsplit("/", 1)[-1]))
                    for a, b in files))


def _near_corpus(calls: list[tuple[str, int, str]]) -> list[bool]:
    """Per call: whether it, or the call before it, names a corpus shard or the corpus folder."""
    named = [any("corpus" in name or name.startswith("part-") for name in _step(call)[1:]) for _, _, call in calls]
    return [here or (i > 0 and named[i - 1]) for i, here in enumerate(named)]


def _without_corpus(calls: list[tuple[str, int, str]]) -> list[tuple[str, ...]]:
    return [_step(call) for (_, _, call), near in zip(calls, _near_corpus(calls), strict=True) if not near]


def _traced_commit(command: list[str], log: Path) -> list[tuple[str, int, str]]:
    """The commit's calls (_commit_calls) of one run of ``command`` under strace."""
    subprocess.run([STRACE, "-f", "-y", "-o", str(log), "-e", f"trace={','.join(TRACED)}", *command],
                   cwd=ROOT / "tests", capture_output=True, timeout=60, check=True, env=traced_env())
    return _commit_calls(log.read_text())


def _audit_step(call: str) -> tuple[str, ...]:
    """_step, with the two audit files under one name: the commit joins removed.jsonl and
    then quarantine.jsonl by the same code (write.Output._join), so a step of the one join
    is of the same kind as the same step of the other."""
    return tuple(re.sub(r"^(#\.)?(removed|quarantine)\.jsonl", r"\1audit.jsonl", part) for part in _step(call))


def _kill_points(calls: list[tuple[str, int, str]]) -> list[tuple[str, int]]:
    """The first and the last call of each kind of step (see the module's docstring)."""
    first: dict[tuple, int] = {}
    last: dict[tuple, int] = {}
    before: tuple[str, ...] = ()
    for i, (_, _, call) in enumerate(calls):
        kind = (before, before := _audit_step(call))
        first.setdefault(kind, i)
        last[kind] = i
    return [calls[i][:2] for i in sorted({*first.values(), *last.values()})]


@pytest.mark.slow
@pytest.mark.skipif(not Path(STRACE).exists(), reason="needs strace")
@pytest.mark.parametrize("output_format", ["jsonl", "parquet"])
def test_kill_at_every_step_of_the_commit_then_resume_gives_identical_bytes(tmp_path, output_format):
    if output_format == "parquet":
        pytest.importorskip("pyarrow")
    src = _inputs(tmp_path)

    def _command(src: Path, out: Path, *extra: str) -> list[str]:
        return _dedup(src, out, "--output-format", output_format, *extra)

    reference = tmp_path / "reference"
    done = in_process(*_command(src, reference)[1:], cwd=ROOT / "tests")
    assert done.returncode == 0, done.stderr
    expected = _outputs(reference)
    assert all(expected.values()), "every file must have content, so that every join is exercised"

    traced = tmp_path / "traced"
    calls = _traced_commit(_command(src, traced), tmp_path / "trace.log")
    assert _outputs(traced) == expected
    assert len(calls) > 40, calls  # joins of 3 files x 3 chunks, renames, the deletion
    points = _kill_points(calls)
    # Every kind of call of the commit is killed at, and each join's steps at more than one chunk.
    assert {name for name, _ in points} == {name for name, _, _ in calls}
    assert len(points) > 40, points
    if output_format != "jsonl":
        # Outside the corpus, this commit is the JSON Lines run's, step for step: those
        # steps are killed at there.
        (tmp_path / "jsonl").mkdir()  # its output folder has the same name: strace -y writes it
        jsonl = _traced_commit(_dedup(src, tmp_path / "jsonl" / "traced"), tmp_path / "jsonl" / "trace.log")
        assert _without_corpus(calls) == _without_corpus(jsonl)
        near = {call[:2] for call, here in zip(calls, _near_corpus(calls), strict=True) if here}
        points = [point for point in points if point in near]
        assert {"write", "fsync", "mkdir", "rename"} <= {name for name, _ in points}, points
    assert len([name for name in expected if name.startswith("corpus/")]) == 5  # 14 items, 3 a chunk

    def kill(point: tuple[str, int]) -> str | None:
        name, n = point
        out = tmp_path / f"{name}-{n}"
        killed = subprocess.run([STRACE, "-f", "-o", "/dev/null", "-e", f"trace={name}",
                                 "-e", f"inject={name}:signal=KILL:when={n}", *_command(src, out)],
                                cwd=ROOT / "tests", capture_output=True, text=True, timeout=60, check=False,
                                env=traced_env())
        if killed.returncode == 0:
            return f"{name} #{n}: the run was not killed"
        return None

    def resume(point: tuple[str, int]) -> str | None:
        # In-process, one at a time (CliRunner swaps the process's streams and cwd): the
        # kill is the process's; the resume proves what --resume makes of the folder.
        name, n = point
        out = tmp_path / f"{name}-{n}"
        resumed = in_process(*_command(src, out, "--resume")[1:], cwd=ROOT / "tests")
        finished_already = resumed.returncode == 1 and "found a finished run" in resumed.stderr
        if resumed.returncode != 0 and not finished_already:
            return f"{name} #{n}: --resume failed: {resumed.stderr[-400:]}"
        if "Traceback" in resumed.stderr:
            return f"{name} #{n}: traceback: {resumed.stderr[-400:]}"
        if _outputs(out) != expected:
            return f"{name} #{n}: output differs from the uninterrupted run"
        leftovers = sorted(p.name for p in out.iterdir() if p.name not in FILES)
        if leftovers:
            return f"{name} #{n}: left {leftovers}"
        shutil.rmtree(out)
        return None

    with ThreadPoolExecutor(max_workers=2) as pool:
        kills = list(pool.map(kill, points))
    resumes = [resume(point) if failure is None else None for point, failure in zip(points, kills, strict=True)]
    failures = [f for f in kills + resumes if f is not None]
    assert not failures, "\n".join(failures)


@pytest.mark.skipif(not Path(STRACE).exists(), reason="needs strace")
def test_resume_redoes_chunks_whose_state_is_missing_or_damaged(tmp_path):
    src = _inputs(tmp_path)
    reference = tmp_path / "reference"
    assert in_process(*_dedup(src, reference)[1:], cwd=ROOT / "tests").returncode == 0
    out = tmp_path / "out"
    # Killed at the commit's first rename (run.json's is the first): every chunk finished.
    subprocess.run([STRACE, "-f", "-o", "/dev/null", "-e", "trace=rename", "-e", "inject=rename:signal=KILL:when=2",
                    *_dedup(src, out)], cwd=ROOT / "tests", capture_output=True, timeout=60, check=False,
                   env=traced_env())
    partial = out / ".partial"
    assert len(list(partial.glob("*.done"))) == 5 and not (partial / "commit.json").exists()
    # A marker whose state is gone (what the old clean-up could leave), and a garbled state.
    (partial / "000003.state").unlink()
    (partial / "000001.state").write_bytes((partial / "000001.state").read_bytes()[:40])
    resumed = in_process(*_dedup(src, out, "--resume")[1:], cwd=ROOT / "tests")
    assert resumed.returncode == 0, resumed.stderr
    assert _outputs(out) == _outputs(reference)


@pytest.mark.skipif(not Path(STRACE).exists(), reason="needs strace")
@pytest.mark.parametrize("saved_before", [False, True])
def test_save_index_on_the_resume_of_a_run_stopped_in_its_commit(tmp_path, saved_before):
    """The barrier's files go when the run seals its chunks: its --resume cannot save an
    index then, and says so (it was exit 0 with no index). A run that saved its index
    before the kill keeps it."""
    src = _inputs(tmp_path)
    out = tmp_path / "out"
    first = ("--save-index",) if saved_before else ()
    # Killed in the commit, as it journals the audit join.
    killed_at_open(out / ".partial" / "removed.jsonl.joined", *_dedup(src, out, *first), cwd=ROOT / "tests",
                   env=traced_env())
    assert (out / ".partial" / "commit.json").exists()
    resumed = in_process(*_dedup(src, out, "--resume", "--save-index")[1:], cwd=ROOT / "tests")
    if saved_before:
        assert resumed.returncode == 0, resumed.stderr
        assert (out / "index" / "index.json").is_file()
        return
    assert resumed.returncode == 1 and "Traceback" not in resumed.stderr
    assert "stopped in its final commit" in resumed.stderr and "resume without --save-index" in resumed.stderr
    assert not (out / "summary.json").exists() and (out / ".partial" / "commit.json").exists()
    resumed = in_process(*_dedup(src, out, "--resume")[1:], cwd=ROOT / "tests")
    assert resumed.returncode == 0, resumed.stderr
    reference = tmp_path / "reference"
    assert in_process(*_dedup(src, reference)[1:], cwd=ROOT / "tests").returncode == 0
    assert _outputs(out) == _outputs(reference)


@pytest.mark.skipif(not Path(STRACE).exists(), reason="needs strace")
def test_resume_redoes_chunks_whose_files_were_cut_short(tmp_path):
    """A finished chunk's part cut short or emptied since was joined as it was (a broken
    shard, audit records lost, exit 0): its marker records each part's length."""
    src = _inputs(tmp_path)
    reference = tmp_path / "reference"
    assert in_process(*_dedup(src, reference)[1:], cwd=ROOT / "tests").returncode == 0
    out = tmp_path / "out"
    killed_at_open(out / ".partial" / "000004.done", *_dedup(src, out), cwd=ROOT / "tests", env=traced_env())
    partial = out / ".partial"
    corpus, removed = partial / "000001.corpus.jsonl", partial / "000002.removed.jsonl"
    assert corpus.stat().st_size > 10 and removed.stat().st_size > 0
    with open(corpus, "r+b") as f:
        f.truncate(10)
    removed.write_bytes(b"")
    resumed = in_process(*_dedup(src, out, "--resume")[1:], cwd=ROOT / "tests")
    assert resumed.returncode == 0, resumed.stderr
    assert _outputs(out) == _outputs(reference)
