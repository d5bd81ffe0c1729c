"""A Ray cluster for the benchmarks to join, started once and stopped after.

`curate run --engine ray` without --address starts a cluster for the run and stops it at
the end: about 8 s on this machine, half of a 20 MB run. On a real cluster that cost is
paid once, when the cluster is started, so bench/compare.py times the engine both ways:
starting its own cluster, and joining one that is up (`--address`), started here.

    with running_cluster(cpus=2, cores="0,1") as join:
        subprocess.run([*join, "curate", "run", ..., "--engine", "ray", "--address", join.address])
"""

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
from collections.abc import Iterator
from pathlib import Path


class Join(list):
    """The command prefix that joins the cluster (`env` with its token), and its address."""

    address: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_cluster(cpus: int, cores: str | None = None, object_store_mb: int = 1000) -> Iterator[Join]:
    """A one-node cluster of ``cpus`` CPUs (its processes pinned to ``cores`` with taskset),
    in a process group and a temporary folder of its own, so that stopping it ends exactly
    its processes (never `ray stop`, which ends every Ray on the machine)."""
    token = secrets.token_hex(32)  # Ray >= 2.59 wants one shared by the nodes and the drivers
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token)
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="ray-bench-", dir="/tmp")  # socket paths must fit 107 bytes
    log = Path(temp) / "start.log"
    ray = str(Path(sys.executable).parent / "ray")
    pin = ["taskset", "-c", cores] if cores else []
    with open(log, "w") as out:
        proc = subprocess.Popen([*pin, ray, "start", "--head", "--block", "--node-ip-address=127.0.0.1",
                                 f"--port={port}", f"--num-cpus={cpus}", f"--temp-dir={temp}",
                                 f"--object-store-memory={object_store_mb * 1024 * 1024}",
                                 "--include-dashboard=false", "--disable-usage-stats"],
                                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    # `timeout` and a closed terminal stop a benchmark with SIGTERM or SIGHUP, whose default
    # action ends Python without running the finally below: the cluster, in a session of
    # its own, would live on. As exceptions they unwind through it.
    handlers = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        deadline = time.monotonic() + 120
        while "block forever" not in log.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"`ray start` failed:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        join = Join(["env", "-u", "RAY_ADDRESS", "RAY_USAGE_STATS_ENABLED=0", "RAY_AUTH_MODE=token",
                     f"RAY_AUTH_TOKEN={token}"])
        join.address = f"127.0.0.1:{port}"
        yield join
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        shutil.rmtree(temp, ignore_errors=True)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def _stop(number: int, _frame: object) -> None:
    raise SystemExit(f"stopped by {signal.Signals(number).name}; the Ray cluster is being shut down")
