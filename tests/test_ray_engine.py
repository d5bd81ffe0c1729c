"""--engine ray writes the local engine's bytes: on a cluster it starts itself, after a
worker dies mid-run, and on a running cluster of two nodes it joins with --address auto."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import NOISE_DEV, SEEDS, output_files, run_process

pytest.importorskip("ray")  # CI installs the extra (.ci/run), so there these tests run

pytestmark = pytest.mark.slow  # noise-dev through Ray, several times: about a minute in all

INPUTS = (SEEDS, NOISE_DEV)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    return {**env, **extra}


def _run(out: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, bytes]:
    result = run_process("run", *INPUTS, "-o", out, "-q", *args, env=env or _env())
    assert result.returncode == 0, result.stderr
    return output_files(out)


@pytest.fixture(scope="module")
def local_output(tmp_path_factory) -> dict[str, bytes]:
    out = _run(tmp_path_factory.mktemp("local") / "out", "--workers", "2")
    assert b'"reason":"duplicate"' in out["removed.jsonl"]  # the input has copies to find
    return out


def _assert_same(ray_output: dict[str, bytes], local_output: dict[str, bytes]) -> None:
    assert ray_output.keys() == local_output.keys()
    for name in local_output:
        assert ray_output[name] == local_output[name], f"{name} differs between --engine ray and local"


def test_ray_on_a_local_cluster_writes_the_local_engines_bytes(tmp_path, local_output):
    _assert_same(_run(tmp_path / "ray", "--engine", "ray", "--workers", "2"), local_output)


def test_a_worker_that_dies_mid_run_is_retried_without_losing_or_repeating_a_document(tmp_path, local_output):
    marks = tmp_path / "marks"
    marks.mkdir()
    env = _env(CURATE_TEST_RAY_FAIL_ONCE=str(marks))
    _assert_same(_run(tmp_path / "ray", "--engine", "ray", env=env), local_output)
    assert (marks / "failed-once").exists(), "the worker of batch 1 should have died once"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_node(log: Path, env: dict[str, str], *args: str) -> subprocess.Popen:
    """`ray start --block ...` in a process group of its own, so the test can end exactly
    the processes of this node (never `ray stop`, which ends every Ray on the machine)."""
    ray = Path(sys.executable).parent / "ray"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(ray), "start", "--block", "--node-ip-address=127.0.0.1", "--num-cpus=1", *args],
                                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.monotonic() + 90
    while "block forever" not in log.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, f"ray start failed:\n{log.read_text()}"
        time.sleep(0.2)
    return proc


def _stop_nodes(nodes: list[subprocess.Popen], grace: float = 3.0) -> None:
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


def test_ray_joins_a_running_two_node_cluster_with_address_auto(tmp_path, local_output):
    # Ray >= 2.59 wants a shared token between nodes and drivers; give all three our own.
    env = _env(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    nodes: list[subprocess.Popen] = []
    try:
        nodes.append(_start_node(tmp_path / "head.log", env, "--head", f"--port={port}", f"--temp-dir={temp}",
                                 "--include-dashboard=false", "--disable-usage-stats"))
        nodes.append(_start_node(tmp_path / "worker.log", env, f"--address=127.0.0.1:{port}"))
        joined = _run(tmp_path / "ray", "--engine", "ray", "--address", "auto",
                      env={**env, "RAY_ADDRESS": f"127.0.0.1:{port}"})
    finally:
        _stop_nodes(nodes)
        shutil.rmtree(temp, ignore_errors=True)
    _assert_same(joined, local_output)
