"""The progress line: drawn on a terminal only, so the real CLI is run under a pty here,
with frames drawn on every batch (progress.INTERVAL = 0) to see each step of the bar."""

from __future__ import annotations

import gzip
import io
import json
import os
import pty
import random
import re
import select
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

from curate.discover import InputFile
from curate.document import RawDocument
from curate.progress import DiskCredit, ProgressLine, eta_seconds, expansion, frame

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "river", "harbour", "council", "meeting", "spring",
         "terminal", "city"]


def _jsonl(path: Path, docs: int = 700) -> Path:
    """~1 MB of distinct documents: four batches of input (driver.BATCH_BYTES)."""
    rng = random.Random(1)
    with open(path, "w") as f:
        for i in range(docs):
            text = "\n\n".join(" ".join(rng.choice(WORDS) for _ in range(40)) for _ in range(5))
            f.write(json.dumps({"id": f"d{i}", "text": text}) + "\n")
    return path


def _under_pty(*args: str, cwd: Path, env: dict[str, str] | None = None, columns: int = 100,
               listing_quiet: float | None = None) -> tuple[int, str]:
    """The CLI's exit status and all it wrote to a terminal ``columns`` wide (with
    ``listing_quiet``, progress.LISTING_QUIET set to it)."""
    import fcntl
    import struct
    import termios

    main, sub = pty.openpty()
    fcntl.ioctl(sub, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    quiet = f" p.LISTING_QUIET = {listing_quiet};" if listing_quiet is not None else ""
    code = f"import curate.progress as p; p.INTERVAL = 0;{quiet} from curate.cli import cli; cli()"
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    proc = subprocess.Popen([sys.executable, "-c", code, *args], cwd=cwd, stdin=sub, stdout=sub, stderr=sub,
                            env=full_env, close_fds=True)
    os.close(sub)
    raw = b""
    while True:
        ready, _, _ = select.select([main], [], [], 120)
        if not ready:
            proc.kill()
            break
        try:
            data = os.read(main, 65536)
        except OSError:  # EIO: the other end is closed
            break
        if not data:
            break
        raw += data
    os.close(main)
    return proc.wait(timeout=60), raw.decode("utf-8", "replace")


def _percents(text: str) -> list[int]:
    return [int(m.group(1)) for f in text.split("\r") if (m := re.search(r"(\d+)%", f))]


def test_the_bar_moves_with_one_worker_and_two(tmp_path):
    # --workers 1 emptied a batch's items before its size was counted: 0% all run long.
    _jsonl(tmp_path / "in.jsonl")
    for workers in ("1", "2"):
        status, text = _under_pty("dedup", "in.jsonl", "-o", f"out{workers}", "--workers", workers, cwd=tmp_path)
        assert status == 0, text
        shown = _percents(text)
        assert any(0 < p < 100 for p in shown), (workers, shown)
        assert shown == sorted(shown), shown


def test_a_compressed_input_is_full_only_at_its_end(tmp_path):
    # The total is the files' sizes on disk; the progress was the data's: 100% at a tenth in.
    with gzip.open(tmp_path / "in.jsonl.gz", "wb") as f:
        f.write(_jsonl(tmp_path / "plain.jsonl").read_bytes())
    (tmp_path / "plain.jsonl").unlink()
    status, text = _under_pty("dedup", "in.jsonl.gz", "-o", "out", cwd=tmp_path)
    assert status == 0, text
    shown = _percents(text)
    assert [p for p in shown if p >= 100] == [] or shown.index(100) == len(shown) - 1, shown
    assert len([p for p in shown if 0 < p < 100]) >= 2, shown  # it moves through the file
    assert "0.2 MB in" in text or "0.1 MB in" in text  # the closing line counts the file's bytes on disk


def test_a_narrow_dumb_terminal_gets_lines_that_fit_and_no_escape(tmp_path):
    _jsonl(tmp_path / "in.jsonl")
    status, text = _under_pty("dedup", "in.jsonl", "-o", "out", cwd=tmp_path, columns=40,
                              env={"TERM": "dumb", "NO_COLOR": "1", "COLUMNS": "40"})
    assert status == 0, text
    assert "\x1b" not in text
    frames = [f for f in text.split("\r") if "%" in f]
    assert frames and max(len(f.rstrip("\n")) for f in frames) < 40, frames
    table = [row for row in re.split(r"[\r\n]+", text) if ":" in row and "MB in" not in row]
    assert "files: 1" in table, table  # label: count, not padded out to 50 columns


def test_a_long_listing_of_the_inputs_is_counted_on_the_line(tmp_path):
    # Discovery drew nothing: a folder of 300,000 files was listed for seconds in silence.
    (tmp_path / "in").mkdir()
    for k in range(30):
        (tmp_path / "in" / f"page-{k:02d}.txt").write_text(f"Page {k} of a folder of many small pages.\n")
    status, text = _under_pty("dedup", "in", "-o", "out", cwd=tmp_path, listing_quiet=0)
    assert status == 0, text
    counts = [int(m.group(1)) for f in text.split("\r") if (m := re.match(r"listing the inputs: (\d+) files found", f))]
    assert counts == list(range(1, 31)), counts  # every file, drawn on every call (INTERVAL = 0)
    first_bar = next(k for k, f in enumerate(text.split("\r")) if "%" in f)
    last_listing = max(k for k, f in enumerate(text.split("\r")) if f.startswith("listing the inputs"))
    assert last_listing < first_bar  # the pass's bar draws over it
    # Listed within LISTING_QUIET (its default, 1 s), nothing is said.
    status, text = _under_pty("dedup", "in", "-o", "out2", cwd=tmp_path)
    assert status == 0 and "listing the inputs" not in text, text


def test_the_listing_is_said_after_a_quiet_second_and_no_oftener_than_the_bar():
    import curate.progress as progress

    clock = _Clock()
    out = io.StringIO()
    line = ProgressLine(True, out, now=clock)
    line.listed(1)
    clock.t += progress.LISTING_QUIET - 0.01
    line.listed(5000)
    assert out.getvalue() == ""  # a listing quicker than LISTING_QUIET is never said
    clock.t += 0.02
    line.listed(7000)
    clock.t += progress.INTERVAL / 2
    line.listed(9000)  # too soon after the last frame
    assert out.getvalue() == "\rlisting the inputs: 7,000 files found"
    clock.t += progress.INTERVAL
    line.listed(12000)
    line.begin("dedup", 100)  # the pass's frame pads over the longer listing line
    frames = out.getvalue().split("\r")[1:]
    assert frames[1] == "listing the inputs: 12,000 files found"
    assert frames[2].startswith("dedup") and len(frames[2]) >= len(frames[1])  # it covers the listing line
    hidden = io.StringIO()
    quiet = ProgressLine(False, hidden, now=clock)
    clock.t += progress.LISTING_QUIET + progress.INTERVAL
    quiet.listed(50000)
    assert hidden.getvalue() == ""  # not shown (-q, or no terminal): nothing drawn


def test_the_eta_is_the_pass_rate():
    assert eta_seconds(left=80, worked=20, elapsed=10.0) == 40.0
    assert eta_seconds(left=80, worked=0, elapsed=10.0) is None


class _Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_a_pass_is_timed_alone_and_skipped_work_takes_no_time():
    clock = _Clock()
    out = io.StringIO()
    line = ProgressLine(True, out, now=clock)
    line.begin("site census 1/2", 1000)
    clock.t += 1
    line(500)
    clock.t += 1
    line(500)  # a fast pass: 500 bytes a second
    line.begin("writing 2/2", 1000)
    line.skip(600)  # done before --resume: no time
    clock.t += 5
    line(100)  # the first batch starts the clock (workers start before it)
    clock.t += 10
    line(100)  # 100 bytes in 10 s: 200 left, 20 s
    last = out.getvalue().split("\r")[-1]
    assert last.startswith("writing 2/2 [") and " 80%" in last and "ETA  0:20" in last, last
    assert line.skipped == 600
    assert "\x1b" not in out.getvalue()


def test_frames_fit_any_width():
    for width in (10, 20, 40, 80, 200):
        line = frame("site census 1/2", 37, 100, 3725.0, width)
        assert len(line) <= width - 1
    assert "[" in frame("writing", 50, 100, None, 40)


def test_a_compressed_file_is_credited_by_its_bytes_on_disk(tmp_path):
    data = _jsonl(tmp_path / "in.jsonl").read_bytes()
    path = tmp_path / "in.jsonl.gz"
    path.write_bytes(gzip.compress(data))
    f = InputFile(path=path, source="in.jsonl.gz", size=path.stat().st_size)
    assert 3 < expansion(f) < 12  # type: ignore[operator]
    credit = DiskCredit([f])
    docs = [RawDocument(id=str(k), source=f.source, record_line=k + 1, payload=line, size=len(line) + 1)
            for k, line in enumerate(data.splitlines())]
    seen = []
    for item in credit.over(docs):
        seen.append(credit.take())
        assert sum(seen) < f.size, item.id  # never the whole file before its last item is read
    seen.append(credit.take())
    assert sum(seen) == f.size
    assert sum(seen[: len(seen) // 2]) > f.size / 4  # credited as it is read, not at the end


def test_one_worker_counts_a_batch_before_it_is_encoded():
    # The items of an encoded batch are let go: counted after, a batch was 0 bytes.
    from curate.driver import batches
    from curate.engines import engine_for

    docs = [RawDocument(id=str(k), source="a", record_line=k + 1, payload="x" * 99, size=100) for k in range(3000)]
    seen: list[int] = []
    with engine_for("local", 1) as engine:
        for _ in engine.process([], None, batches(docs), seen.append, None, render=repr):  # type: ignore[arg-type]
            pass
    assert sum(seen) == 300_000 and len(seen) > 1


def test_the_closing_line_of_a_resume_says_what_it_read_and_what_it_skipped(tmp_path, monkeypatch):
    # It said the whole input's MB in this process's seconds: 20 MB in 20.8 s for a resume
    # that read part of it.
    from conftest import in_process

    from curate import interrupts

    source = _jsonl(tmp_path / "in.jsonl", docs=300)
    out = tmp_path / "out"
    checks = iter(range(1000))
    real_check = interrupts.check

    def stop_at_the_fifth() -> None:
        if next(checks) == 5:
            raise KeyboardInterrupt
        real_check()

    with monkeypatch.context() as patched:
        patched.setattr(interrupts, "check", stop_at_the_fifth)
        stopped = in_process("dedup", source, "-o", out, "--chunk-docs", "20")
    assert stopped.returncode != 0 and "--resume" in stopped.stderr, stopped.stderr
    resumed = in_process("dedup", source, "-o", out, "--chunk-docs", "20", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    [closing] = [line for line in resumed.stderr.splitlines() if " MB in " in line]
    read, skipped = re.fullmatch(r"([\d.]+) MB in [\d.]+ s \([\d.]+ MB/s\); ([\d.]+) MB done before --resume; "
                                 r"output in .*/", closing).groups()  # type: ignore[union-attr]
    assert float(skipped) > 0 and abs(float(read) + float(skipped) - source.stat().st_size / 1e6) < 0.05, closing


def test_rays_colorama_writes_nothing_at_exit():
    # Ray's CLI logger runs colorama.init(), whose exit hook wrote ESC[0m to the terminal
    # whatever NO_COLOR and TERM said.
    code = """if True:
        import atexit, sys, types
        fake = types.ModuleType("colorama.initialise")
        fake.reset_all = lambda: print("\\x1b[0m", end="")
        sys.modules["colorama.initialise"] = fake
        atexit.register(fake.reset_all)
        from curate.progress import quiet_colorama
        quiet_colorama()
        print("exit")
    """
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert (done.returncode, done.stdout) == (0, "exit\n"), done.stderr


def test_the_summary_table_fits_a_narrow_terminal():
    from curate.cli import fitted_table

    table = "files                                   1\ndocuments emptied (every line removed)  0\n  rule-a     12,345"
    assert fitted_table(table, 100) == table
    assert fitted_table(table, 40).split("\n") == ["files: 1", "documents emptied (every line removed): 0",
                                                   "  rule-a: 12,345"]
