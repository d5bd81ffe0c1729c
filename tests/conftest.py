"""Shared fixtures: the real CLI, in-process (CliRunner) and as a subprocess."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import http.server
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from curate.cli import cli

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
FIXTURES = ROOT / "tests" / "fixtures"
SEEDS_GOLD = FIXTURES / "seeds-gold"
NOISE_DEV = FIXTURES / "noise-dev" / "input"
NOISE_DEV_GOLD = FIXTURES / "noise-dev" / "gold"
MIXED = FIXTURES / "mixed"
GOLDEN = ROOT / "tests" / "golden"


def pytest_sessionstart(session) -> None:
    """Compile curate's modules before any test runs. Several tests run curate under a
    file-size limit (RLIMIT_FSIZE), and CPython writes a module's .pyc with one write that
    the limit cuts short without an error: a process that was first to import a changed
    module left a truncated .pyc behind, and every later curate in the checkout stopped at
    "Aborted!" (EOFError: marshal data too short). Compiled here, no limited process has a
    .pyc left to write."""
    if os.environ.get("PYTHONDONTWRITEBYTECODE") or hasattr(session.config, "workerinput"):
        return  # no .pyc is written at all, or the controller compiled them for this worker
    import compileall

    compileall.compile_dir(str(ROOT / "curate"), quiet=1, force=True)  # a cut .pyc keeps a whole header


def file_size_limit(limit: int):
    """A preexec_fn that limits the files a run writes to ``limit`` bytes (a full-disk
    stand-in: writes past it fail with EFBIG, "File too large")."""
    import resource

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply

# Sentences of news prose, each of a different story: content every stage keeps, for
# tests that need real-looking documents (site pages, explain against run).
NEWS_SENTENCES = [
    "The harbour authority said on Monday that the new container terminal would open in the spring, two years late.",
    "Farmers in the valley reported that the late frost had damaged nearly half of the apricot blossoms this year.",
    "The city library will extend its opening hours during the exam period, the council announced on Tuesday.",
    "A new study of river otters found that the animals had returned to streams where they were absent for decades.",
    "The regional rail operator plans to replace its oldest trains by the end of next year, a spokesperson said.",
    "Volunteers planted more than three thousand trees along the river banks over the weekend, the organisers said.",
]
# A site's promo line, prose in shape, that a site repeats on its pages.
SITE_PROMO = "Support our independent journalism with a monthly donation today, it keeps us going."


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/ from this checkout's output instead of comparing with it; "
                          "review the change with `git diff tests/golden` before committing it")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `ray` every test that runs a Ray cluster: the session's (the ray_cluster
    fixture) or one of its own (test_ray_engine.py). tests/tiers.py runs them in a tier of
    their own, after the others: beside other tests' curate processes on two cores they ran
    3-4x slower."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "ray_cluster" in fixtures or "two_nodes" in fixtures or item.path.name == "test_ray_engine.py":
            item.add_marker(pytest.mark.ray)


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def invoke(*args: str, cwd: Path | None = None):
    """Run `curate ARGS` in-process, from ``cwd`` (default: a folder without ./rules)."""
    old = os.getcwd()
    os.chdir(cwd or ROOT / "tests")
    try:
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    finally:
        os.chdir(old)


def in_process(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`curate ARGS` in-process (CliRunner on the real `cli`), from ``cwd`` (default: the
    checkout, as run_process), with what it did as run_process gives it: the exit status as
    returncode, stdout and stderr apart. For a test that proves what a command does, not
    what the process does (signals, main()'s exit, env or rlimits given to the child,
    closed streams, stdin): it spares the ~1 s a curate process takes to start (imports,
    the built-in rules compiled), which a warm test process has cached."""
    result = invoke(*args, cwd=cwd or ROOT)
    return subprocess.CompletedProcess(["curate", *map(str, args)], result.exit_code, result.stdout, result.stderr)


def run_process(*args: str, cwd: Path | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run the installed `curate` console script as a real process."""
    exe = Path(sys.executable).parent / "curate"
    return subprocess.run([str(exe), *map(str, args)], cwd=cwd or ROOT, capture_output=True, text=True, **kwargs)


def signalled_after_the_closing_line(proc: subprocess.Popen, *signums: int, timeout: float = 120) -> str:
    """Read a running `curate run`'s stderr (a text pipe) to its closing line ("... MB in
    ... s; output in ..."), send it each signal in turn, wait for it to end; all it said."""
    assert proc.stderr is not None
    said = []
    for line in proc.stderr:
        said.append(line)
        if " MB in " in line:
            for signum in signums:
                proc.send_signal(signum)
            break
    said.append(proc.communicate(timeout=timeout)[1])
    return "".join(said)


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def corpus_shards(out: Path) -> list[Path]:
    """The shards of an output folder's corpus, in order (their names sort in chunk order)."""
    return sorted((out / "corpus").iterdir())


def corpus_bytes(out: Path) -> bytes:
    """The JSON Lines of the whole corpus, as the single corpus.jsonl of output schema 0
    held them: the shards decompressed and joined (not for Parquet)."""
    import gzip

    import zstandard

    data = []
    for shard in corpus_shards(out):
        raw = shard.read_bytes()
        if shard.name.endswith(".gz"):
            raw = gzip.decompress(raw)
        elif shard.name.endswith(".zst"):
            raw = zstandard.ZstdDecompressor().decompressobj().decompress(raw)
        data.append(raw)
    return b"".join(data)


def read_corpus(out: Path) -> list[dict]:
    """Every corpus record of an output folder, in order, whatever its --output-format; a
    Parquet row comes back as the JSON record (null fields dropped, metadata parsed)."""
    shards = corpus_shards(out)
    if shards and shards[0].name.endswith(".parquet"):
        import pyarrow.parquet as pq

        return [_json_record(row) for shard in shards for row in pq.read_table(shard).to_pylist()]
    return [json.loads(line) for line in corpus_bytes(out).decode("utf-8").split("\n") if line.strip()]


def _json_record(row: dict) -> dict:
    record = {key: value for key, value in row.items() if value is not None}
    record["lines"] = [{k: v for k, v in line.items() if v is not None} for line in record["lines"]]
    if "metadata" in record:
        record["metadata"] = json.loads(record["metadata"])
    return record


# What summary.json's "inputs" say instead of this checkout's folder, and a test's
# temporary one, in the golden copies: the same on every machine.
REPO_PLACEHOLDER = "<repository>"
TMP_PLACEHOLDER = "<tmp>"


def portable_summary(data: bytes, tmp: Path | None = None) -> bytes:
    """A summary.json with the absolute paths of this machine replaced by placeholders
    (longest first, so a tmp folder inside the checkout is named as tmp)."""
    text = data.decode("utf-8")
    places = {str(ROOT): REPO_PLACEHOLDER, **({str(tmp): TMP_PLACEHOLDER} if tmp is not None else {})}
    for path, placeholder in sorted(places.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(json.dumps(path, ensure_ascii=False)[1:-1], placeholder)
    # The libraries' versions are those of this install (a fresh one takes the newest
    # releases): which libraries a run names is compared, not their versions.
    text = _LIBRARIES.sub(lambda block: _VERSION.sub(f'": "{VERSION_PLACEHOLDER}"', block[0]), text)
    return text.encode("utf-8")


_LIBRARIES = re.compile(r'"libraries": \{[^}]*\}')
_VERSION = re.compile(r'": "[^"]*"')
VERSION_PLACEHOLDER = "<version>"


OUTPUT_NAMES = ("README.md", "corpus", "removed.jsonl", "quarantine.jsonl", "summary.json")


@pytest.fixture
def recorded_engines(monkeypatch) -> Iterator[dict[str, str]]:
    """The pattern engines' versions made the ones the shipped record of proven built-in
    rule files names (curate/rules_verified.py). A fresh install may get a newer engine
    than the record's: a run then checks every built-in file's examples as it loads them,
    as it should, and test_every_built_in_rule_passes_its_own_examples proves them with
    the engines installed. The tests of what a proven file is spared need the record to
    hold, whatever the install."""
    from curate import rules_verified

    proved = rules_verified.proved_engines(rules_verified.shipped_record())
    assert proved, "the shipped record names no engines"
    engines = proved[-1]
    monkeypatch.setattr(rules_verified, "_engine_versions", lambda: dict(engines))
    rules_verified._setting_matches.cache_clear()
    yield dict(engines)
    rules_verified._setting_matches.cache_clear()  # before the real versions come back


def session_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test session's temporary folder, shared by its xdist workers: under xdist each
    worker has a folder of its own inside the session's, whose parent is the session's
    (pytest-xdist's own advice for shared fixtures)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session", autouse=True)
def curate_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cache folder of every curate this session runs (in-process and in subprocesses,
    which inherit the environment): one for the session, shared by its xdist workers, so
    that the tests neither write into the user's ~/.cache nor depend on what is there."""
    folder = session_folder(tmp_path_factory) / "curate-cache"
    os.environ["CURATE_CACHE"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def noise_dev_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of `curate run noise-dev --workers 2 -q`, made once per test
    session however many xdist workers ask for it: the slow tests that check its
    accounting, its quality and its determinism each made their own (9-10 s a run).
    Read it, never write into it: other tests read the same folder."""
    shared = session_folder(tmp_path_factory)
    out = shared / "noise-dev-w2"
    with open(shared / "noise-dev-w2.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the first worker runs curate; the others wait for it
        if not (out / "summary.json").exists():
            shutil.rmtree(out, ignore_errors=True)  # a run that failed under another worker
            result = run_process("run", NOISE_DEV, "-o", out, "-q", "--workers", "2")
            assert result.returncode == 0, result.stderr
    return out


def output_files(out: Path) -> dict[str, bytes]:
    """Every file of a finished output folder by its path in it (corpus/part-00000.jsonl,
    removed.jsonl, ...), for byte-for-byte comparisons."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def traced_env() -> dict[str, str]:
    """The environment of a curate run that strace kills at its Nth call of a kind: no
    bytecode written. A module edited since it was last compiled has its bytecode written
    on import, with a write and a rename of its own, which moved the count: the run was
    killed while importing, before the call the test meant."""
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}


STRACE = shutil.which("strace") or "/usr/bin/strace"
needs_strace = pytest.mark.skipif(not Path(STRACE).exists(), reason="needs strace")


def killed_at_open(path: Path, *command: str | Path, nth: int = 1, timeout: float = 300, **kwargs) -> None:
    """``command`` run under strace, which kills it (SIGKILL: no handler runs) as it opens
    ``path`` for the ``nth`` time, before the call is made: a marker file killed at is
    never created. For the tests that killed a run once some marker had appeared: on a
    fast or loaded machine the run ended first, or went on past the step meant. -f: a
    thread (the chunks' sync thread) or a child may open it; strace counts each thread's
    calls apart, so ``nth`` > 1 wants a path one thread opens. Use ``needs_strace``.
    Fails unless the run died of that SIGKILL (strace dies of its tracee's signal): a run
    that failed, or ended before the call, is not the kill the test meant."""
    killed = subprocess.run([STRACE, "-f", "-qq", "-o", os.devnull, "-P", str(path), "-e", "trace=openat",
                             "-e", f"inject=openat:signal=KILL:when={nth}", *map(str, command)],
                            capture_output=True, text=True, timeout=timeout, **kwargs)
    assert killed.returncode == -signal.SIGKILL, f"not killed at {path} ({killed.returncode}):\n{killed.stderr}"


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def web_server(folder: Path | None = None,
               handler: type[http.server.BaseHTTPRequestHandler] | None = None) -> Iterator[str]:
    """Python's own web server on a free localhost port, serving ``folder`` (or answering
    with ``handler``), quiet; yields its base URL and stops with the block."""
    answer = handler or functools.partial(_QuietFiles, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def ray_env(**extra: str) -> dict[str, str]:
    """This process's environment without its RAY_ settings, usage stats off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    return {**env, **extra}


# Locales whose file-system encoding Python reads names and arguments in: UTF-8, and two
# that are not, where a name typed as ``ü`` (bytes C3 BC) is ``\udcc3\udcbc`` (ASCII) or
# ``Ã¼`` (Latin-1). ASCII needs no system locale; Latin-1 is built by the latin1 fixture.
UTF8_LOCALE = {"LC_ALL": "C.UTF-8", "PYTHONUTF8": "1"}
ASCII_LOCALE = {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}


def locale_env(settings: dict[str, str]) -> dict[str, str]:
    """This process's environment under the locale ``settings`` name, and no other."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LC_") and key != "LANG"}
    return {**env, "PYTHONCOERCECLOCALE": "0", **settings}


def fs_encoding(settings: dict[str, str]) -> str:
    """The file-system encoding Python has under the locale ``settings`` name."""
    done = subprocess.run([sys.executable, "-c", "import sys; print(sys.getfilesystemencoding())"],
                          env=locale_env(settings), capture_output=True, text=True, timeout=60)
    return done.stdout.strip()


@pytest.fixture(scope="session")
def latin1(tmp_path_factory) -> dict[str, str]:
    """The settings of a Latin-1 locale built for the tests by localedef (no system need
    have one installed); the test is skipped where it cannot be built."""
    localedef = shutil.which("localedef")
    if localedef is None:
        pytest.skip("needs localedef to build a Latin-1 locale")
    folder = tmp_path_factory.mktemp("locales")
    # localedef says 1 for warnings too: whether the locale works is asked of Python below.
    subprocess.run([localedef, "-i", "de_DE", "-f", "ISO-8859-1", str(folder / "de_DE.ISO-8859-1")],
                   capture_output=True, timeout=120, check=False)
    settings = {"LOCPATH": str(folder), "LC_ALL": "de_DE.ISO-8859-1", "PYTHONUTF8": "0"}
    if fs_encoding(settings) != "iso8859-1":
        pytest.skip("localedef could not build a Latin-1 locale here")
    return settings


@pytest.fixture(params=["ascii", "latin1"])
def other_locale(request) -> dict[str, str]:
    """A locale whose file-system encoding is not UTF-8: ASCII, then Latin-1."""
    settings = ASCII_LOCALE if request.param == "ascii" else request.getfixturevalue("latin1")
    assert fs_encoding(settings) in ("ascii", "iso8859-1")
    return settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Small on purpose: the object store holds a window of batches' rows and records in flight,
# never the corpus, so a run needs little of it (Ray's least is 75 MB).
OBJECT_STORE_BYTES = 200 * 1024 * 1024


def start_ray_node(log: Path, env: dict[str, str], *args: str, cpus: int = 1) -> subprocess.Popen:
    """`ray start --block ...` in a process group of its own, so the test can end exactly
    the processes of this node (never `ray stop`, which ends every Ray on the machine).
    Skips the test, with Ray's words, when a node cannot start here."""
    ray = Path(sys.executable).parent / "ray"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(ray), "start", "--block", "--node-ip-address=127.0.0.1", f"--num-cpus={cpus}",
                                 f"--object-store-memory={OBJECT_STORE_BYTES}", *args],
                                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                cwd=log.parent)
    deadline = time.monotonic() + 90
    while "block forever" not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_ray_nodes([proc])
            pytest.skip(f"`ray start` cannot run a node here:\n{log.read_text()[-2000:]}")
        time.sleep(0.2)
    return proc


def stop_ray_nodes(nodes: list[subprocess.Popen], grace: float = 3.0) -> None:
    """SIGTERM each node's process group, then SIGKILL whatever is left after ``grace``."""
    for proc in nodes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in nodes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    for proc in nodes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def ray_head(log: Path, env: dict[str, str], cpus: int,
             nodes: list[subprocess.Popen] | None = None) -> Iterator[str]:
    """A head node started apart (`ray start --head`) with a temporary folder of its own;
    yields its HOST:PORT. ``nodes``: other nodes the caller starts into this list, stopped
    with the head at the end, all at once (one grace period, not one each)."""
    port = free_port()
    # In /tmp, not tmp_path: Ray's socket paths must fit 107 bytes.
    temp = tempfile.mkdtemp(prefix="ray-head-", dir="/tmp")
    head: list[subprocess.Popen] = []
    try:
        head.append(start_ray_node(log, env, "--head", f"--port={port}", f"--temp-dir={temp}",
                                   "--include-dashboard=false", "--disable-usage-stats", cpus=cpus))
        yield f"127.0.0.1:{port}"
    finally:
        stop_ray_nodes([*(nodes or []), *head])
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory) -> Iterator[tuple[tuple[str, ...], dict[str, str]]]:
    """One Ray cluster of two CPUs for the session, for the tests that compare what the Ray
    engine writes with the local engine's bytes (starting a cluster for each run cost them
    most of their time; how a run starts its own cluster is tested in test_ray_engine.py).
    Yields the options that join it (--engine ray --address HOST:PORT) and the environment
    to run curate with: its actors then have two CPUs, as under --workers 2."""
    pytest.importorskip("ray")
    # Ray >= 2.59 wants a shared token between nodes and drivers.
    env = ray_env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    with ray_head(tmp_path_factory.mktemp("ray-cluster") / "head.log", env, cpus=2) as address:
        yield ("--engine", "ray", "--address", address), env


@pytest.fixture
def two_nodes(tmp_path):
    """A head and a second node, each a `ray start` process with one CPU and a temporary
    folder of its own; yields (HOST:PORT of the head, the environment to join with)."""
    pytest.importorskip("ray")
    # Ray >= 2.59 wants a shared token between nodes and drivers; give all three our own.
    env = ray_env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    # In /tmp, not tmp_path: Ray's socket paths must fit 107 bytes.
    temp = tempfile.mkdtemp(prefix="ray-node-", dir="/tmp")
    nodes: list[subprocess.Popen] = []
    try:
        # The head stops the node with itself at the end: one grace period, not two.
        with ray_head(tmp_path / "head.log", env, cpus=1, nodes=nodes) as address:
            nodes.append(start_ray_node(tmp_path / "node.log", env, f"--address={address}", f"--temp-dir={temp}"))
            yield address, env
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def peak_rss_mb(*args: str, timeout: float = 600) -> tuple[subprocess.CompletedProcess, float]:
    """Run curate with ``args`` in a fresh process; its result (stderr only) and its peak
    resident memory in MB, read from the child's rusage by a probe process around it."""
    probe = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
             "sys.stdout.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) + '\\n' + r.stderr); "
             "sys.exit(r.returncode)")
    exe = Path(sys.executable).parent / "curate"
    result = subprocess.run([sys.executable, "-c", probe, str(exe), *map(str, args)], capture_output=True,
                            text=True, timeout=timeout, cwd=ROOT / "tests", check=False)
    peak_kb, _, stderr = result.stdout.partition("\n")
    assert "Traceback" not in stderr, stderr
    return subprocess.CompletedProcess(result.args, result.returncode, "", stderr), int(peak_kb) / 1024


# Hypothesis: a modest number of examples in CI, many more with HYPOTHESIS_PROFILE=local.
from hypothesis import HealthCheck, settings  # noqa: E402 - beside the profiles it configures

settings.register_profile("ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("local", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def chrome_missed(pack, rule_name: str, lines: dict[str, str]) -> dict[str, str]:
    """Of ``lines`` (by language), those the pack's rule ``rule_name`` does not remove."""
    from curate.stages.noise import rule_hits_text

    rule = next(r for r in pack.rules if r.name == rule_name)
    return {lang: line for lang, line in lines.items() if not rule_hits_text(rule, line)}


def prose_fired(pack, texts: list[str]) -> dict[str, list[str]]:
    """Of ``texts``, those some line rule of the pack fires on, with the rules' names."""
    from curate.stages.noise import rule_hits_text

    line_rules = [rule for rule in pack.in_order if rule.scope == "line"]
    fired = {text: [rule.name for rule in line_rules if rule_hits_text(rule, text)] for text in texts}
    return {text: names for text, names in fired.items() if names}
