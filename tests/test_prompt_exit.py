"""The console script ends without the interpreter's teardown, and still does what of it
reaches outside the process: threads finished, atexit functions run, output flushed,
the command's exit status kept."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from curate.prompt_exit import exit_status

SCRIPT = textwrap.dedent("""
    import atexit, sys, threading, time
    from pathlib import Path

    marks = Path(sys.argv[1])
    atexit.register(lambda: (marks / "atexit").write_text("ran"))

    def late():
        time.sleep(0.3)
        (marks / "thread").write_text("finished")

    threading.Thread(target=late).start()  # not a daemon: the exit must wait for it
    sys.argv = ["curate", *sys.argv[2:]]
    from curate.cli import main
    main()
    print("not reached")
""")


def _script(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, Path]:
    marks = tmp_path / f"marks-{len(list(tmp_path.glob('marks-*')))}"
    marks.mkdir()
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(marks), *args], capture_output=True, text=True,
                          timeout=120)
    return done, marks


@pytest.mark.unit
def test_exit_status_reads_a_systemexit_code_as_the_interpreter_does(capsys):
    assert exit_status(None) == 0
    assert exit_status(0) == 0
    assert exit_status(2) == 2
    assert capsys.readouterr().err == ""
    assert exit_status("cannot go on") == 1
    assert capsys.readouterr().err == "cannot go on\n"


def test_a_finished_command_waits_for_threads_runs_atexit_and_flushes(tmp_path):
    done, marks = _script(tmp_path, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("curate, version ")  # a pipe's buffered stdout, flushed
    assert "not reached" not in done.stdout
    assert (marks / "thread").read_text() == "finished"
    assert (marks / "atexit").read_text() == "ran"


def test_a_failed_command_keeps_its_status_and_message(tmp_path):
    done, marks = _script(tmp_path, "run", str(tmp_path / "missing"), "-o", str(tmp_path / "out"))
    assert done.returncode == 1
    assert "no such file or folder" in done.stderr
    assert (marks / "atexit").read_text() == "ran"
    usage, _ = _script(tmp_path, "run")
    assert usage.returncode == 2  # click's status for a usage error
    assert "Missing argument" in usage.stderr


def test_a_worker_left_running_does_not_hold_the_exit(tmp_path):
    """A daemon worker that ignores SIGTERM, still running when the command ends:
    multiprocessing's atexit function sends it SIGTERM and joins it, which waited for
    ever. The exit kills it instead."""
    script = textwrap.dedent("""
        import multiprocessing, signal, time
        from curate.prompt_exit import exit_promptly

        def worker():
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            time.sleep(600)

        if __name__ == "__main__":
            process = multiprocessing.get_context("fork").Process(target=worker, daemon=True)
            process.start()
            time.sleep(0.5)  # it ignores SIGTERM by now
            print(process.pid, flush=True)
            exit_promptly(0)
    """)
    path = tmp_path / "leaves_a_worker.py"
    path.write_text(script, encoding="utf-8")
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    worker = int(done.stdout.split()[0])
    stat = Path(f"/proc/{worker}/stat")
    # Gone, or a zombie for init to reap (the state follows the name, which may hold spaces).
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
