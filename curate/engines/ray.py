"""`curate run --engine ray`: the local engine's protocol with Ray actors as its workers,
so the output is byte-identical by construction.

Imported only when that engine is chosen (Ray is the optional extra `curate-corpus[ray]`).

1. The driver cuts the inputs as for the local engine with workers (`driver.range_batches`),
   but reads no document: a batch names a byte range of an uncompressed JSON Lines file
   (`ReadRange`) or a file to read whole (`WholeFile`: compressed, Parquet, WET, a URL).
   Only the problems found while discovering the inputs travel as items.
2. An actor reads the batch where the data lives (a path every node sees, or a URL), runs
   the per-document stages and keeps the batch; it sends back each part's counts and
   document ids (`mapper.Mapped` without its rows), and puts the signed rows in the
   object store (a batch read from a whole file comes in several parts).
3. The barrier (the dedup index) runs in an actor of its own, the decider, on the driver's
   node (its spill files and --save-index folder are local paths). The driver numbers
   the parts in input order and hands the decider each part's rows by reference: the
   rows go from the actor that signed them to the decider, never through the driver,
   and the decider holds the index within --memory. Its verdicts come back to the
   driver, which sends them to the actor that holds the part.
4. That actor applies them and returns the part's encoded records (`write.Renderer`); the
   driver appends the bytes to the output folder, in input order.

So the driver holds file lists, counters and what is in flight, nothing for the whole
corpus; the object store holds a window of batches' rows and records, never the corpus.
An actor that dies (killed, out of memory, its node lost) takes the batches it holds with
it: each is mapped again on another actor (a batch is a pure function of its input) and
given the verdicts already decided for it, so a loss changes no byte of the output. The
decider takes parts only in input order (a sequence number): when a part's rows were lost
before it read them, it decides nothing more until they come again, mapped anew, and the
parts after it are sent again. A decider that dies stops the run (it holds the index).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import importlib
import logging
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from curate import interrupts
from curate.document import Reason
from curate.errors import UsageError
from curate.storage import Location

try:
    import ray
    from ray.exceptions import (
        NodeDiedError,
        ObjectLostError,
        OutOfMemoryError,
        RayActorError,
        WorkerCrashedError,
    )
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
except ImportError as err:  # pragma: no cover - depends on what is installed
    raise UsageError("--engine ray needs Ray: pip install 'curate-corpus[ray]' (or pip install -e '.[ray]' "
                     "in a checkout)") from err

from curate.engines import Engine, Progress
from curate.engines.heap import keep_freed_heap
from curate.engines.mapper import Key, Mapped, Mapper, add_id_problems, check_ids, shell_of, shift_owners
from curate.engines.pool import WorkerDied
from curate.engines.tapering import BatchSizes
from curate.formats.ranges import WholeFile
from curate.stages.base import Batch, Stage

if TYPE_CHECKING:
    from curate.formats import IdRegistry
    from curate.write import Renderer

# An actor lost with the batches it holds: they are mapped again elsewhere. Exceptions raised
# by our own code are not in this list: they would fail the same way again, and stop the run.
LOST = (RayActorError, ObjectLostError, WorkerCrashedError, NodeDiedError)
# How often a batch may lose its actor before the run stops (it may be what kills them).
MAX_LOSSES = 3
MAPS_PER_ACTOR = 2  # one being mapped, one waiting: an actor never idles between batches
WINDOW_PER_ACTOR = 4  # batches in flight or held, as the local engine's window
BATCH_BYTES_MAX = 1 << 20  # 1 MB of input a batch (see batch_bytes_for)
BATCHES_PER_ACTOR = 8
# Only tests set these: a folder where the first attempt of batch 1 leaves a mark and then
# kills its actor's process, in the phase named (map; rows: just after its map call was
# answered, before the decider read the rows; or finish: after its verdicts were decided;
# or part: the first --dedup-parts part task kills its worker), to show that a lost actor
# or task changes no byte of the output. Two phases stop a run instead: decider, where the
# decider's process dies at its first call to decide; and hold, where every map call
# leaves the mark "holding" and waits, so that a test acts on a run under way (an
# actor that waits is ended with the run; a decider that waited would hold up its close).
FAIL_ONCE_ENV = "CURATE_TEST_RAY_FAIL_ONCE"
FAIL_PHASE_ENV = "CURATE_TEST_RAY_FAIL_PHASE"
# Only tests set this: a folder where each --dedup-parts part task leaves a mark naming its node.
PARTS_MARKS_ENV = "CURATE_TEST_RAY_PARTS_MARKS"


def _actor_options() -> dict[str, Any]:
    """Ray options for a new actor: the test settings above, when the driver has them, go
    with it (an actor on a cluster the run joined has its node's environment, not ours)."""
    asked = {name: os.environ[name] for name in (FAIL_ONCE_ENV, FAIL_PHASE_ENV, PARTS_MARKS_ENV)
             if name in os.environ}
    return {"runtime_env": {"env_vars": asked}} if asked else {}


# -- in the actors -----------------------------------------------------------------------


def _fail_once_if_asked(phase: str, batch_no: int, after: float = 0.0) -> None:
    folder = os.environ.get(FAIL_ONCE_ENV)
    if folder and batch_no == 1 and os.environ.get(FAIL_PHASE_ENV, "finish") == phase:
        try:
            open(os.path.join(folder, "failed-once"), "x").close()
        except FileExistsError:
            return
        if after:
            threading.Timer(after, os._exit, (1,)).start()
        else:
            os._exit(1)


def _hold_decider_if_asked() -> None:
    """In the "rows" phase, the decider's first call waits until batch 1's actor has
    died after answering its map call, so that the rows it put are lost unread (the test
    sees them lost by the mark left, `_mark_if_asked`)."""
    folder = os.environ.get(FAIL_ONCE_ENV)
    if not folder or os.environ.get(FAIL_PHASE_ENV) != "rows":
        return
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(folder, "failed-once")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(2.0)


def _mark_if_asked(name: str) -> None:
    folder = os.environ.get(FAIL_ONCE_ENV)
    if folder:
        open(os.path.join(folder, name), "a").close()


class Worker:
    """One worker of the run: rules, language profiles and permutations set up once, and
    the batches it mapped, kept until their verdicts come (`mapper.Mapper`)."""

    def __init__(self, stages: list[Stage], render: Renderer | None):
        _mark_if_asked(f"actor-started-{os.getpid()}")
        keep_freed_heap()  # as a local engine's worker: it frees all of a batch's memory before the next
        self.mapper = Mapper([], None)
        if not stages:
            _warm_up()  # started bare, before the run's stages exist
        self.configure(stages, render)

    def configure(self, stages: list[Stage], render: Renderer | None) -> bool:
        """Take the stages of the run's next pass (a site census, then the run itself): an
        actor serves every pass of a run, as starting one costs a process, Ray's import and
        the stages' setup. Only between passes, when it holds no batch."""
        assert not self.mapper.held, "an actor is given new stages while it holds batches"
        for stage in stages:
            stage.setup()
        self.mapper = Mapper(stages, render)
        return True

    def ready(self) -> bool:
        return True

    def map(self, batch: Batch, keep: bool) -> list[Any]:
        """Each part's `Mapped` and a ref to its rows (for the decider: they never go
        through the driver); for a whole file, a ref to each such pair, which the driver
        fetches one at a time (a large file's counts and ids could be many)."""
        _fail_once_if_asked("map", batch.number)
        if os.environ.get(FAIL_PHASE_ENV) == "hold":
            _mark_if_asked("holding")
            time.sleep(300)  # the test ends the run long before
        found = []
        for mapped in self.mapper.map(batch, keep):
            rows = None if mapped.signed is None else ray.put(mapped.signed)
            found.append((dataclasses.replace(mapped, signed=None), rows))
        _fail_once_if_asked("rows", batch.number, after=0.5)  # dies just after answering
        if isinstance(batch.reads, WholeFile):
            return [ray.put(pair) for pair in found]
        return found

    def finish(self, key: Key, verdicts: list[Reason | None]) -> list[Any]:
        _fail_once_if_asked("finish", key[0])
        return self.mapper.finish(key, verdicts)


def _warm_up() -> None:
    """What every run's stages set up the same way, whatever its rules: the modules the
    stages' unpickling imports and the language profiles (~0.2 s, built once per process).
    A bare actor does it while the driver still loads the rules, so `configure` has only
    the rules left to build."""
    import curate.stages.dedup.sign
    import curate.stages.noise
    import curate.stages.normalise  # noqa: F401 - imported for their import time alone
    from curate.linemodel.model import load_model
    from curate.stages.language import model

    model()
    load_model()


# Each actor takes a CPU: as many actors as the cluster has CPUs. Ray does not restart or
# retry them: the engine maps a lost actor's batches again itself, knowing which it held.
_RemoteWorker: Any = ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0)(Worker)

# What the decider answers: verdicts, or why there are none.
DECIDED = "decided"
SKIPPED = "skipped"  # an earlier part was not decided: this one must come again after it
ROWS_LOST = "rows lost"  # the part's rows were lost with their actor or node: map it again


class Decider:
    """The barrier, hosted in an actor: decides the parts in input order (``seq``) from
    their rows, which it reads from the object store itself."""

    def __init__(self, stage: Stage, scratch: Path | None):
        self.stage = stage
        stage.attach(scratch)
        self.next_seq = 0

    def ready(self) -> bool:
        return True

    def decide(self, seq: int, first_item: int, before: list[int], box: list[Any]) -> tuple[str, Any]:
        """(DECIDED, (verdicts, seconds)); or SKIPPED, or ROWS_LOST, with nothing
        added to the index. The rows' ref comes in a list so that this actor reads it
        here: as an argument of its own, Ray would fail a lost one before the call, and
        the calls after it would be decided without it."""
        if seq == 0:
            _hold_decider_if_asked()
            _fail_once_if_asked("decider", 1)
        if seq != self.next_seq:
            return SKIPPED, None
        try:
            rows = ray.get(box[0])
        except LOST as err:
            _mark_if_asked("rows-lost")
            return ROWS_LOST, str(err)
        started = time.perf_counter()
        rows = shift_owners(rows, before)
        verdicts = self.stage.decide(Batch(-1, [], first_item, rows))
        self.next_seq += 1
        return DECIDED, (verdicts, time.perf_counter() - started)

    def measure(self, deep: bool) -> dict[str, float]:
        return self.stage.measure(deep)

    def settle(self, processes: int) -> dict[str, float]:
        """--dedup-parts, between its passes: the verdicts found by part tasks on the nodes
        that see the rows' folder (`PartsOnNodes`); the next pass's parts are numbered from
        0 again. Returns the seconds of the settle's steps."""
        steps = self.stage.settle(processes, PartsOnNodes)
        self.next_seq = 0
        return steps

    def save(self, folder: Path) -> None:
        self.stage.save(folder)

    def close(self) -> None:
        self.stage.close()


def _part(function: Any, task: Any) -> Any:
    _fail_once_if_asked("part", 1)  # the first part task to run dies, once
    mark_folder = os.environ.get(PARTS_MARKS_ENV)
    if mark_folder:
        open(os.path.join(mark_folder, f"part-on-{ray.get_runtime_context().get_node_id()}"), "a").close()
    return function(task)


# No CPU of their own: between the passes the actors that map batches are idle but hold the
# CPUs; PartsOnNodes runs no more parts at once on a node than it has CPUs.
_remote_sees: Any = ray.remote(num_cpus=0, max_retries=0)(os.path.exists)
_remote_part: Any = ray.remote(num_cpus=0, max_retries=0)(_part)


class PartsOnNodes:
    """--dedup-parts' parts (key partitions' edges, groups' replays) as Ray tasks, as many
    at once on each node as it has CPUs, on the nodes that see the folder of the rows
    (the decider's own always does; others do when it is on storage they share). A task
    whose node is lost runs again on another; the results come in task order, and where a
    part ran changes no verdict."""

    PROBE_SECONDS = 60

    def __init__(self, folder: Path):
        here = ray.get_runtime_context().get_node_id()
        cpus = {node["NodeID"]: int(node.get("Resources", {}).get("CPU", 0)) for node in ray.nodes()
                if node.get("Alive")}
        mark = folder / f".seen-by-nodes-{os.getpid()}"
        mark.touch()
        try:
            probes = {node: _remote_sees.options(scheduling_strategy=NodeAffinitySchedulingStrategy(
                node, soft=False)).remote(str(mark.absolute())) for node, n in cpus.items() if n > 0 and node != here}
            seen = {here}
            for node, probe in probes.items():
                with contextlib.suppress(Exception):  # a node that cannot answer runs no part
                    if ray.get(probe, timeout=self.PROBE_SECONDS):
                        seen.add(node)
        finally:
            mark.unlink(missing_ok=True)
        # Sorted, so the same cluster hands out its parts the same way run after run.
        self.cpus = {node: max(1, cpus.get(node, 1)) for node in sorted(seen)}
        self.slots = sum(self.cpus.values())
        self.losses = 0

    def __enter__(self) -> PartsOnNodes:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, function: Any, tasks: Any) -> Iterator[Any]:
        tasks = list(tasks)
        waiting = collections.deque(range(len(tasks)))
        running: dict[Any, tuple[int, str]] = {}
        load = dict.fromkeys(self.cpus, 0)
        results: dict[int, Any] = {}
        for number in range(len(tasks)):
            while number not in results:
                while waiting and any(load[node] < n for node, n in self.cpus.items()):
                    node = min((node for node, n in self.cpus.items() if load[node] < n), key=lambda m: load[m])
                    k = waiting.popleft()
                    call = _remote_part.options(scheduling_strategy=NodeAffinitySchedulingStrategy(
                        node, soft=False)).remote(function, tasks[k])
                    running[call] = (k, node)
                    load[node] += 1
                [call], _ = ray.wait(list(running), num_returns=1)
                k, node = running.pop(call)
                load[node] -= 1
                try:
                    results[k] = ray.get(call)
                except (*LOST, ray.exceptions.TaskUnschedulableError) as err:
                    self._lost(node, err)
                    waiting.appendleft(k)
            yield results.pop(number)

    def _lost(self, node: str, err: Exception) -> None:
        """A part's node (or its worker) was lost: that node takes no more parts (unless it
        is the last), and the part runs again."""
        self.losses += 1
        if self.losses > MAX_LOSSES * max(1, self.slots):
            raise WorkerDied(f"the tasks finding the near-duplicates in parts keep failing ({self.losses} lost); "
                             f"the last: {died('one', err)}")
        if len(self.cpus) > 1 and not any(n.get("Alive") for n in ray.nodes() if n["NodeID"] == node):
            del self.cpus[node]
            self.slots = sum(self.cpus.values())


# No CPU of its own: the actors mapping batches take them all, and the decider's share of
# the work is what the driver's was when it held the index.
_RemoteDecider: Any = ray.remote(num_cpus=0, max_restarts=0, max_task_retries=0)(Decider)


class HostedBarrier(Stage):
    """The driver's stand-in for a barrier hosted by a `Decider` on the driver's node.
    A Ray run is not resumable, so it keeps no journal."""

    name: ClassVar[str] = "barrier"
    barrier: ClassVar[bool] = True

    def __init__(self, stage: Stage):
        self.stage = stage
        self.saved = getattr(stage, "saved", None)  # what summary.json says of --against
        self.actor: Any = None
        self.starting: Any = None  # its ready call, until waited for

    def attach(self, scratch: Path | None) -> None:
        here = ray.get_runtime_context().get_node_id()
        self.actor = _RemoteDecider.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False), **_actor_options()).remote(
                self.stage, scratch.absolute() if scratch is not None else None)  # its folder is not ours
        # Not waited for here: it starts while the actors that map batches start.
        self.starting = self.actor.ready.remote()

    def wait_ready(self) -> None:
        """Until the decider is up (it fails here, with what went wrong, if it cannot be)."""
        if self.starting is not None:
            starting, self.starting = self.starting, None
            self.result(starting)

    def restore(self, journals: list) -> None:
        assert not journals, "a Ray run is never resumed"

    def take_journal(self, until: int) -> object:
        return None

    def measure(self, deep: bool = False) -> dict[str, float]:
        found: dict[str, float] = self._call("measure", deep)
        return found

    def save(self, folder: Path) -> None:
        self._call("save", folder.absolute())

    def settle(self, processes: int, spread: Any = None) -> dict[str, float]:
        """The decider settles, with part tasks on the cluster's nodes (it picks them)."""
        return self._call("settle", processes)

    def close(self, stopped: bool = False) -> None:
        # A Ray run is never resumed: the decider keeps nothing for one (stopped=False).
        if self.actor is None:
            return
        with contextlib.suppress(Exception):
            self._call("close")
        with contextlib.suppress(Exception):
            ray.kill(self.actor, no_restart=True)
        self.actor = None

    def fingerprint(self) -> object:
        return self.stage.fingerprint()

    def _call(self, method: str, *args: Any) -> Any:
        return self.result(getattr(self.actor, method).remote(*args))

    @staticmethod
    def result(call: Any) -> Any:
        """A decider call's answer; its death stops the run (it holds the index)."""
        try:
            return ray.get(call)
        except LOST as err:
            raise WorkerDied(died("the Ray actor that holds the dedup index (the decider)", err)) from err


def died(what: str, err: BaseException) -> str:
    """What died, and likely why, in curate's words. Ray's text for a dead actor is a
    dozen lines (its ids, namespace and address, a list of common causes, a tip on a
    `ray start` flag), and none of it says what to do about a curate run; the caller's
    message does (driver.unresumable)."""
    if _ClusterWatch.current is not None:
        # The actors die with their node: when it is going, that is what to say (the watch
        # says it, and ends the run, if the raylet ends within the second).
        _ClusterWatch.current.wait_for_loss(1.0)
    text = str(err)
    pid = re.search(r"^\s*pid: (\d+)\s*$", text, re.MULTILINE)
    who = f"{what[:-1]}, pid {pid[1]})" if pid and what.endswith(")") else f"{what} (pid {pid[1]})" if pid else what
    if isinstance(err, OutOfMemoryError) or "NODE_OUT_OF_MEMORY" in text:
        return f"{who} was killed by Ray, as its node ran low on memory; free memory, or give a smaller --memory"
    if isinstance(err, NodeDiedError) or "because its node has died" in text:
        return f"{who} was lost with its Ray node"
    if isinstance(err, RayActorError) and err.actor_init_failed:
        return f"{who} failed to start: {text.splitlines()[-1] if text else type(err).__name__}"
    if isinstance(err, RayActorError | WorkerCrashedError):
        return f"{who} died (killed, or out of memory?)"
    first = text.splitlines()[0] if text else type(err).__name__
    return f"{who} died ({first})"


# -- on the driver -----------------------------------------------------------------------


class RayEngine(Engine):
    """The local engine's protocol over Ray actors (see the module docstring). Not
    resumable: a stopped run is started again."""

    name = "ray"
    resumable = False

    _entered = 0  # nested `with`s: the CLI enters before it loads the rules, the driver again

    def __enter__(self) -> RayEngine:
        self._entered += 1
        if self._entered > 1:
            return self
        # Before the driver takes the output folder: a bad --address changes nothing.
        self._owns_cluster = _connect(self.address, self.workers)
        self._watch = None
        self._idle: list[Any] = []
        try:
            self._watch = _ClusterWatch() if self._owns_cluster else None
            # Actors of a finished pass, for the next one. The first pass's are started now,
            # bare: their processes come up, and warm up, while this process loads the rules
            # and prepares the output folder.
            actors = _cluster_cpus()
            self._idle = [_RemoteWorker.options(**_actor_options()).remote([], None) for _ in range(actors)]
        except BaseException as err:
            # A Ctrl-C or SIGTERM here (or an error) left the cluster to ray's atexit, which
            # ends its raylet and GCS server but not their agents: they ran on, orphaned.
            self.__exit__(type(err), err, err.__traceback__)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._entered -= 1
        ending = exc[1] if exc else None
        if _Sigterm.terminating:
            # Raised in a Ray call, our _Terminated comes out of it as Ray's SystemExit(1).
            ending = _Terminated()
        elif ending is None or isinstance(ending, SystemExit):
            # The run finished (the driver's `with` ends after its commit) and is said by the
            # CLI while the cluster shuts down, which takes seconds on a loaded machine: a
            # SIGTERM from now on must not make a finished run a failure (status 143).
            _Sigterm.held = True
        if self._entered > 0:
            return
        if self._watch is not None:
            self._watch.end()
        try:
            # On a cluster we joined, they would outlive the run.
            self._close_idle()
            if self._owns_cluster:
                ray.shutdown()
        finally:
            came = _Sigterm.release()
        if isinstance(ending, _Terminated):
            _end_by_sigterm()
        if came and (ending is None or isinstance(ending, SystemExit)):
            # Ended as asked, with the status it had (an error that stops a run is said first).
            raise SystemExit(ending.code if ending is not None else 0)

    def host_barrier(self, barrier: Stage) -> Stage:
        return HostedBarrier(barrier)

    def reads_ranges(self) -> bool:
        return True

    def reads_whole_files(self) -> bool:
        return True

    def batch_bytes(self, input_bytes: int) -> BatchSizes:
        return batch_bytes_for(input_bytes, _cluster_cpus())

    def process(self, stages: list[Stage], barrier: Stage | None, batches: Iterator[Batch],
                on_progress: Progress | None = None, output: Location | None = None,
                render: Renderer | None = None, ids: IdRegistry | None = None) -> Iterator[Batch]:
        if barrier is not None and not isinstance(barrier, HostedBarrier):
            raise TypeError("the Ray engine decides with the barrier it hosts: pass host_barrier(barrier)")
        actors = _cluster_cpus()
        run = _Run(ray.put(stages), barrier, render, ids, actors, self._idle)
        self._idle = []
        try:
            if barrier is not None:
                barrier.wait_ready()  # started with the run's other actors
            yield from run.drive(batches, on_progress)
        except BaseException:
            run.close()
            raise
        # Finished: the actors hold nothing, and the run's next pass takes them as they are.
        self._idle = run.release()

    def _close_idle(self) -> None:
        _end(self._idle)
        self._idle = []


def _cluster_cpus() -> int:
    """The cluster's CPUs, so its actors: one per CPU, and at least one."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def batch_bytes_for(input_bytes: int, actors: int) -> BatchSizes:
    """Input a batch holds on this engine: more than the local engine's BATCH_BYTES, as a
    batch costs the driver, the raylet and the decider about 30 ms of CPU in calls and
    object-store traffic whatever its size (a tenth of a 256 kB batch's work); up to
    BATCH_BYTES_MAX, while every actor still gets BATCHES_PER_ACTOR batches to finish
    together. (On 2 CPUs, 1 MB batches took a 100 MB run from 0.82x the local engine's
    speed to 0.94x; 2 MB gave 0.91x.) Towards the end of the run batches shrink back to
    BATCH_BYTES, so that the actors finish together (`tapering`)."""
    from curate.driver import BATCH_BYTES

    full = max(BATCH_BYTES, min(BATCH_BYTES_MAX, input_bytes // (max(1, actors) * BATCHES_PER_ACTOR)))
    return BatchSizes(full=full, least=BATCH_BYTES, total=input_bytes, workers=actors)


class _Terminated(SystemExit):
    """A SIGTERM, unwinding a Ray run so that its cluster is shut down (`_keep_sigterm`)."""

    def __init__(self) -> None:
        super().__init__(128 + signal.SIGTERM)


class _Sigterm:
    """curate's SIGTERM handling while a Ray run holds a cluster (`_keep_sigterm`)."""

    previous: Any = None  # the handler before ray.init, put back when the cluster is let go
    held = False  # the run finished: a SIGTERM ends the process once its cluster is down
    came = False
    terminating = False  # a SIGTERM is unwinding the run

    @classmethod
    def release(cls) -> bool:
        """Put back the handler there was before ray.init; whether a SIGTERM was held."""
        came, cls.held, cls.came, cls.terminating = cls.came, False, False, False
        if cls.previous is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, cls.previous)
        cls.previous = None
        return came


def _keep_sigterm(previous: Any) -> None:
    """After ray.init, a SIGTERM handler of curate's. Ray's own (a sys.exit(15), which a Ray
    call the run was waiting in raises as SystemExit(1)) ended the run with status 15 or 1,
    after the handler its core worker installs in C had printed a stack dump ("*** SIGTERM
    received ... PC: @ 0x...": `_init` turns that one off). The default action would leave
    the cluster's agents running, orphaned (Ray's fate sharing ends its raylet and GCS
    server, not them). So it unwinds the run as an error would, the cluster is shut down
    (RayEngine.__exit__), and the process ends by the signal. A handler of the caller's own
    (the Python API's) is left as it was; so is the console script's (curate/interrupts.py),
    which unwinds the run as a Ctrl-C does, and says so, then ends by the signal."""
    if previous is None or threading.current_thread() is not threading.main_thread():
        return
    _Sigterm.previous = previous
    signal.signal(signal.SIGTERM, _on_sigterm if previous == signal.SIG_DFL else previous)


def _on_sigterm(signum: int, frame: object) -> None:
    if _Sigterm.held:
        if _Sigterm.came:  # a second one: a shutdown that hangs must not keep the process alive
            _end_by_sigterm()
        _Sigterm.came = True
        return
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second one ends the process at once
    _Sigterm.terminating = True
    raise _Terminated


def _end_by_sigterm() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.raise_signal(signal.SIGTERM)  # ends by the signal, as the default would have
    raise _Terminated  # only if the signal is blocked


class _ClusterWatch:
    """A watch on the raylet, its agents and the GCS server of a cluster started for the
    run. When one of them dies (killed, out of memory; a raylet ends when an agent dies),
    Ray ends this process itself at its next use of the object store, by a C exit that runs
    no Python (no handler, no atexit: its log lines, status 1, and not a word on what to do),
    or else fails each call after many seconds. The watch, woken by the death itself, says
    what happened and ends the run first: it cannot go on without them."""

    current: ClassVar[_ClusterWatch | None] = None  # the watch of the cluster up now

    def __init__(self) -> None:
        self.ending = False  # set before the cluster is shut down on purpose
        self.said = threading.Lock()
        node = getattr(getattr(ray, "_private", None), "worker", None)
        node = getattr(node, "_global_node", None)
        self.watched: dict[int, tuple[str, int, Any]] = {}  # pidfd -> (what, pid, Popen or None)
        for kind in ("raylet", "gcs_server"):
            # Ray's own record of the processes it started (a private one: without it, or
            # without pidfd_open, there is no watch, and the limit README states applies).
            for info in getattr(node, "all_processes", {}).get(kind, []):
                process = getattr(info, "process", None)
                if process is not None:
                    self._add(kind, process.pid, process)
                    if kind == "raylet":
                        self._add_agents(process.pid)
        if self.watched:
            _ClusterWatch.current = self
            threading.Thread(target=self._watch, name="curate-ray-watch", daemon=True).start()

    def _add(self, kind: str, pid: int, process: Any) -> None:
        with contextlib.suppress(AttributeError, OSError):  # no pidfd_open (Linux < 5.3), or gone
            self.watched[os.pidfd_open(pid)] = (kind, pid, process)

    def _add_agents(self, raylet: int) -> None:
        """The raylet's agents (dashboard, runtime env), which it ends with: it stops its
        actors first, and Ray's exit came before the raylet's own end could be seen."""
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                text = stat.read_text()
                if int(text[text.rindex(")") + 2:].split()[1]) == raylet:
                    name = (stat.parent / "cmdline").read_bytes().split(b"\0")[0].decode("ascii", "replace")
                    if name.startswith("ray::") and name.endswith("Agent"):
                        self._add(name.removeprefix("ray::"), int(stat.parent.name), None)

    def _watch(self) -> None:
        self.wait_for_loss()
        for fd in self.watched:  # the cluster was shut down: a process of the API's makes more
            os.close(fd)

    def wait_for_loss(self, seconds: float | None = None) -> None:
        """Until one of the cluster's processes ends (then the run ends, said), or ``seconds``."""
        ended, _, _ = select.select(list(self.watched), [], [], seconds)
        if not ended or self.ending:
            return
        self.said.acquire()  # never let go: the first to say it ends the process
        kind, pid, process = self.watched[ended[0]]
        code = process.poll() if process is not None else None
        how = f", killed by signal {-code}" if code is not None and code < 0 else ""
        what = {"raylet": f"raylet (pid {pid}{how}), the process that runs its actors and object store",
                "gcs_server": f"GCS server (pid {pid}{how}), the process that keeps its state"}.get(
                    kind, f"{kind} (pid {pid}), a process its raylet ends with")
        said = (f"Error: the Ray cluster started for this run lost its {what}: a process of the cluster was "
                "killed, or ran out of memory; no final file was written. A run on --engine ray cannot be "
                "resumed: fix the cause, then run the same command with --overwrite to start again.\n")
        # Past sys.stderr's buffer: the main thread may be writing to it (its lock would refuse us).
        with contextlib.suppress(OSError):
            os.write(2, said.encode("utf-8", "backslashreplace"))
        os._exit(1)

    def end(self) -> None:
        """The cluster is shut down on purpose, now."""
        self.ending = True
        _ClusterWatch.current = None


def _connect(address: str | None, cpus: int) -> bool:
    """Start or join a cluster; True when this run started it (and must stop it)."""
    if ray.is_initialized():
        return False
    # Ray's task events feed its dashboard's task list; a run reports its own progress.
    # Their buffer's flush held the driver's ray.shutdown() 0.25 s of a 0.3 s exit (set
    # the variable to keep them).
    os.environ.setdefault("RAY_task_events_report_interval_ms", "0")
    if address is None:
        # A cluster we start for one run: nothing to report anywhere, no dashboard to serve.
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        # Ray >= 2.59 turns token authentication on for a new local cluster when the mode
        # is unset, and warns that it did, even under -q: for a cluster of one run's own,
        # on this machine, that is no news. (Setting the mode instead broke the start: the
        # driver had read it as unset already.)
        logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
        # "local", not None: None would join whatever cluster RAY_ADDRESS names.
        _init(address="local", num_cpus=cpus, include_dashboard=False, log_to_driver=False,
              logging_level=logging.WARNING)
    else:
        _check_reachable(os.environ.get("RAY_ADDRESS") or address)
        try:
            _init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        except ConnectionError as err:
            raise UsageError(f"--address {address}: no Ray cluster found there ({err}); start one with "
                             "`ray start --head`, or leave out --address for a local one") from err
        except ValueError as err:  # an address Ray cannot parse (RAY_ADDRESS's, which wins over ours)
            raise UsageError(f"--address {address}: {err}; {_ADDRESS_FORM}") from err
    return True


SIGNAL_HANDLER_SWITCH = "RAY_DISABLE_FAILURE_SIGNAL_HANDLER"


def _init(**options: Any) -> None:
    """ray.init, with curate's SIGTERM handling kept (`_keep_sigterm`). In the start-up,
    Ray's own handler (a sys.exit(15)) ends it: the cluster is shut down and the process
    ends by the signal, as after it."""
    # The stack dump that Ray's handler in C prints on a SIGTERM (it is Ray's switch, read
    # when this driver connects and by the processes of a cluster it starts, which take
    # their environment then): set for ray.init alone, as an API caller's environment is
    # the caller's (it stayed set in it, for every process it started after).
    unset = SIGNAL_HANDLER_SWITCH not in os.environ
    if unset:
        os.environ[SIGNAL_HANDLER_SWITCH] = "1"
    previous = signal.getsignal(signal.SIGTERM)
    try:
        with _own_process_group():
            try:
                ray.init(**options)
            finally:
                if unset:
                    os.environ.pop(SIGNAL_HANDLER_SWITCH, None)
    except SystemExit as err:
        if err.code != signal.SIGTERM:
            raise
        with contextlib.suppress(Exception):
            ray.shutdown()
        _end_groups()  # what a cluster stopped half-way through its start left running
        if interrupts.is_installed(previous):  # the console script's: the command says it
            signal.signal(signal.SIGTERM, previous)
            interrupts.stop(signal.SIGTERM)
        _end_by_sigterm()
    _keep_sigterm(previous)


_groups: list[int] = []  # the process groups of the cluster being started (_own_process_group)


def _end_groups() -> None:
    """SIGKILL to the process groups of a cluster whose start a SIGTERM stopped: ray.shutdown
    then ended the processes Ray had recorded, but the raylet's agents (in the raylet's
    group) were started too late to be, and ran on, orphaned. Called right after the
    shutdown: a group whose processes are gone is refused (ESRCH), not another's."""
    while _groups:
        with contextlib.suppress(OSError):
            os.killpg(_groups.pop(), signal.SIGKILL)


@contextlib.contextmanager
def _own_process_group() -> Iterator[None]:
    """The processes of a cluster started now (raylet, GCS server, agents, and the actors
    the raylet starts) in a process group of their own, not this one's. A SIGTERM or
    Ctrl-C sent to this process's group (`kill -TERM -PGID`, a shell's job control, a
    terminal) is then this process's to handle: it says what the run kept and shuts the
    cluster down. Reached by it too, the raylet ended at once, and Ray ended this process
    by a C exit (status 1, one log line of Ray's) before it could say a word. (Ray starts
    them through its private ConsolePopen; without it they stay in this group, as before.
    A signal sent to every process of the job by other means, a cgroup's, still reaches
    them: README's section on interruption says what then happens.)"""
    services: Any = None
    with contextlib.suppress(ImportError):
        services = importlib.import_module("ray._private.services")
    popen = getattr(services, "ConsolePopen", None)
    if not (isinstance(popen, type) and issubclass(popen, subprocess.Popen)) or sys.version_info < (3, 11):
        yield
        return

    class Grouped(popen):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("process_group", 0)
            super().__init__(*args, **kwargs)
            _groups.append(self.pid)

    services.ConsolePopen = Grouped
    _groups.clear()
    try:
        yield
        _groups.clear()  # started: its shutdown is ray.shutdown's
    finally:
        services.ConsolePopen = popen


_ADDRESS_FORM = ("give the HOST:PORT of a head started with `ray start --head` (e.g. 10.0.0.5:6379), or auto, "
                 "or leave out --address for a local cluster")


def _check_reachable(address: str) -> None:
    """Fail at once on an address that is no HOST:PORT, or one where nothing listens: Ray
    itself raises a ValueError on the first and keeps retrying for minutes on the second.
    (RAY_ADDRESS, when set, is what Ray uses, even over --address.)"""
    if address in ("auto", "local") or address.startswith("ray://"):  # Ray's own forms: its to check
        return
    host, sep, port = address.rpartition(":")
    if not sep or not host.strip("[]") or any(c.isspace() for c in host) or not port.isascii() \
            or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--address {address}: not a Ray address; {_ADDRESS_FORM}")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as err:
        raise UsageError(f"--address {address}: cannot reach a Ray head there ({err.strerror or err}); start "
                         "one with `ray start --head`, or leave out --address for a local cluster") from err


class _Slot:
    """One actor and what the driver knows of it."""

    def __init__(self, stages_ref: Any, render: Renderer | None, actor: Any = None):
        """A new actor, or ``actor`` of an earlier pass given this pass's stages."""
        if actor is None:
            self.actor: Any = _RemoteWorker.options(**_actor_options()).remote(stages_ref, render)
            self.starting: Any = self.actor.ready.remote()  # until its stages are set up
        else:
            self.actor = actor
            self.starting = actor.configure.remote(stages_ref, render)
        self.mapping = 0  # map calls not yet answered
        self.alive = True


@dataclass
class _Part:
    """A batch (or a part of a whole file) as the driver keeps it while its actor holds it."""

    shell: Batch  # counts and id problems; its rows stay in the object store
    seq: int = -1  # its place among the parts with rows, in input order: the decider's order
    before: list[int] = field(default_factory=list)  # where id problems went (mapper.shift_owners)
    rows: Any = None  # the ref to its rows, until decided (None: being mapped again)
    deciding: Any = None  # the decide call in flight
    sent: Any = None  # the rows it was given
    verdicts: list[Reason | None] | None = None  # kept for a batch mapped again
    finish: Any = None  # the call that applies them, in flight


@dataclass
class _Unit:
    """A batch sent, in input order: where it is held, and its parts as they are numbered."""

    batch: Batch
    slot: _Slot
    mapped: Any = None  # the map call in flight
    # Its answer: each part's (Mapped, rows ref), or (a whole file) a ref to that pair;
    # an entry is let go once its part is opened.
    found: list[Any] | None = None
    parts: list[_Part] = field(default_factory=list)  # opened so far, in order
    opened: bool = False  # every part
    losses: int = 0
    done: list[Any] = field(default_factory=list)  # each part's encoded records, once fetched


class _Run:
    """The driver's loop: batches to free actors, parts numbered in input order and handed
    to the decider, verdicts back to the actor holding each batch, encoded batches out in
    input order."""

    def __init__(self, stages_ref: Any, barrier: HostedBarrier | None, render: Renderer | None,
                 ids: IdRegistry | None, actors: int, reuse: list[Any] | None = None):
        """``reuse``: actors of the run's previous pass, given this pass's stages."""
        self.stages_ref = stages_ref
        self.barrier = barrier
        self.render = render
        self.ids = ids
        reuse = list(reuse or [])
        _end(reuse[actors:])  # the cluster lost CPUs between passes
        self.slots = [_Slot(stages_ref, render, actor) for actor in reuse[:actors]]
        self.slots += [_Slot(stages_ref, render) for _ in range(actors - len(self.slots))]
        self.replaced = 0
        self.window = WINDOW_PER_ACTOR * actors
        self.units: collections.deque[_Unit] = collections.deque()
        self.calls: dict[Any, tuple[str, Any]] = {}  # call in flight -> (what it is, its unit, part or slot)
        for slot in self.slots:
            self.calls[slot.starting] = ("start", slot)
        self.ready: set[Any] = set()  # calls known to be answered, not yet taken
        self.next_item: int | None = None  # the run's ordinal of the next part's first item
        self.next_seq = 0  # the decider's number for the next part opened
        # Parts opened and not yet decided, in input order, with their units.
        self.undecided: collections.deque[tuple[_Unit, int, _Part]] = collections.deque()

    def drive(self, batches: Iterator[Batch], on_progress: Progress | None) -> Iterator[Batch]:
        more = True
        while True:
            while more and len(self.units) < self.window:
                slot = self._free_slot()
                if slot is None:
                    break
                batch = next(batches, None)
                if batch is None:
                    more = False
                    break
                unit = _Unit(_anywhere(batch), slot)
                self._map(unit)
                self.units.append(unit)
            if self._step():
                continue
            if self.units and self._finished(self.units[0]):
                unit = self.units.popleft()
                for part, found in zip(unit.parts, unit.done, strict=True):
                    shell = part.shell
                    if self.barrier is not None:
                        if self.render is None:  # the output takes the items themselves
                            shell.items, shell.rendered = found, None
                        else:
                            shell.rendered = found
                    add_id_problems(shell, self.render)
                    if on_progress is not None:
                        on_progress(shell.size)
                    yield shell
                continue
            if not self.units and not more:
                return
            self._wait()

    def _step(self) -> bool:
        """Take what has come back: an actor started, a batch mapped (again, after a loss:
        its parts decided so far go back with their verdicts), the next parts to number and
        hand to the decider, the first part's verdicts, the head's encoded parts. False
        when nothing could be taken."""
        for call in [c for c in self.ready if self.calls[c][0] == "start"]:
            slot = self.calls.pop(call)[1]
            self.ready.discard(call)
            try:
                ray.get(call)
                slot.starting = None
            except LOST as err:
                self._lost(slot, err)
            return True
        for unit in self.units:
            if unit.found is None and unit.mapped in self.ready:
                self._take_map(unit)
                return True
        unopened = next((unit for unit in self.units if not unit.opened), None)
        if unopened is not None and unopened.found is not None:
            self._open(unopened)
            self._submit()
            return True
        if self.undecided and self.undecided[0][2].deciding in self.ready:
            self._take_verdicts()
            return True
        head = self.units[0] if self.units else None
        if head is not None and head.opened and head.found is not None and self.barrier is not None \
                and not head.done and all(part.finish in self.ready for part in head.parts):
            calls = [part.finish for part in head.parts]
            try:
                head.done = ray.get(calls)
            except LOST as err:
                self._lost(head.slot, err)
                return True
            for call in calls:
                self.calls.pop(call)
                self.ready.discard(call)
            return True
        return False

    def _finished(self, unit: _Unit) -> bool:
        if not unit.opened or unit.found is None:
            return False
        if self.barrier is None:  # mapped and encoded at once
            unit.done = [part.shell.rendered for part in unit.parts]
            return True
        return bool(unit.done)

    def _take_map(self, unit: _Unit) -> None:
        """The answer of a unit's map call. After a loss, the parts opened before get their
        new rows, or their verdicts if they have them. An actor lost here has its batches
        mapped again elsewhere."""
        call = unit.mapped
        self.calls.pop(call)
        self.ready.discard(call)
        unit.mapped = None
        try:
            found = ray.get(call)
            for number, part in enumerate(unit.parts):
                rows = self._pair(found, number)[1]
                if part.verdicts is None:
                    part.rows = rows
        except LOST as err:
            self._lost(unit.slot, err)  # maps it again, with the rest of what that actor held
            return
        unit.found = found
        for number, part in enumerate(unit.parts):
            if part.verdicts is not None:
                self._finish(unit, number, part)
        self._submit()

    def _pair(self, found: list[Any], number: int) -> tuple[Mapped, Any]:
        """A part's (Mapped, rows ref), fetched when the actor put it (a whole file), and let
        go of in ``found`` (its entry there could keep the store from freeing it)."""
        pair = found[number]
        if isinstance(pair, ray.ObjectRef):
            pair = ray.get(pair)
        found[number] = None
        return pair

    def _open(self, unit: _Unit) -> None:
        """Number each part of a batch not yet opened, in input order, as the local engine
        counts them, check its document ids, and hand its rows to the decider."""
        assert unit.found is not None
        for number in range(len(unit.parts), len(unit.found)):
            try:
                mapped, rows = self._pair(unit.found, number)
            except LOST as err:
                self._lost(unit.slot, err)  # the parts opened so far keep their numbers
                return
            shell = shell_of(unit.batch, mapped)
            before: list[int] = []
            if mapped.ids is not None:
                assert self.ids is not None
                before = check_ids(shell, mapped.ids, self.ids)
            # Counted here, in input order: a batch that read a range learns its length only now.
            self.next_item = unit.batch.first_item if self.next_item is None else self.next_item
            shell.first_item = self.next_item
            self.next_item += len(shell.items)
            part = _Part(shell, before=before, rows=rows)
            unit.parts.append(part)
            if self.barrier is None:
                continue
            if rows is None:  # nothing signed: nothing to decide
                part.verdicts = []
                self._finish(unit, number, part)
                continue
            part.seq = self.next_seq
            self.next_seq += 1
            self.undecided.append((unit, number, part))
        unit.opened = True

    def _submit(self) -> None:
        """Hand the decider every undecided part it does not have, in input order, up to
        the first whose rows are being mapped again."""
        assert self.barrier is not None or not self.undecided
        for _, _, part in self.undecided:
            if part.deciding is not None:
                continue
            if part.rows is None:
                break
            assert self.barrier is not None and self.barrier.actor is not None
            part.deciding = self.barrier.actor.decide.remote(part.seq, part.shell.first_item, part.before,
                                                             [part.rows])
            part.sent = part.rows
            self.calls[part.deciding] = ("decide", part)

    def _take_verdicts(self) -> None:
        """The first undecided part's answer. Rows lost before the decider read them: the
        batch is mapped again, and every part after it goes to the decider again (it
        skipped them, to keep the input order)."""
        unit, number, part = self.undecided[0]
        call, part.deciding = part.deciding, None
        self.calls.pop(call)
        self.ready.discard(call)
        assert self.barrier is not None
        answer, payload = self.barrier.result(call)
        if answer == ROWS_LOST:
            for _, _, later in self.undecided:
                if later.deciding is not None:
                    self.calls.pop(later.deciding)
                    self.ready.discard(later.deciding)
                    later.deciding = None
            if part.rows is part.sent:  # not mapped again since: its actor is not known to be lost yet
                self._lost(unit.slot, WorkerDied(payload))
            self._submit()  # at once if the rows came again already; else when they come
            return
        if answer != DECIDED:
            raise RuntimeError(f"the decider skipped part {part.seq}, the first it has not decided")
        self.undecided.popleft()
        part.verdicts, seconds = payload
        part.rows = None
        name = self.barrier.stage.name
        part.shell.timings[name] = part.shell.timings.get(name, 0.0) + seconds
        if unit.found is not None:  # else they go once it is mapped again
            self._finish(unit, number, part)

    def _map(self, unit: _Unit) -> None:
        unit.mapped = unit.slot.actor.map.remote(unit.batch, self.barrier is not None)
        unit.slot.mapping += 1
        self.calls[unit.mapped] = ("map", unit)

    def _finish(self, unit: _Unit, number: int, part: _Part) -> None:
        part.finish = unit.slot.actor.finish.remote((unit.batch.number, number), part.verdicts)
        self.calls[part.finish] = ("finish", unit)

    def _free_slot(self) -> _Slot | None:
        """The started actor with the fewest batches being mapped, if it can take one more."""
        free = [slot for slot in self.slots if slot.starting is None and slot.mapping < MAPS_PER_ACTOR]
        return min(free, key=lambda slot: slot.mapping) if free else None

    def _wait(self) -> None:
        """Until one more call is answered (an error counts: it is taken as an answer)."""
        waiting = [call for call in self.calls if call not in self.ready]
        assert waiting, "the Ray engine has nothing to wait for and nothing to take"
        done, rest = ray.wait(waiting, num_returns=1)
        if rest:
            more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
            done += more
        for call in done:
            self.ready.add(call)
            kind, owner = self.calls[call]
            if kind == "map":
                owner.slot.mapping -= 1

    def _lost(self, slot: _Slot, err: Exception) -> None:
        """An actor died: a new one takes its place, and every batch it held or was given
        is mapped again on the actors that are up. The decider's calls stay: it may have
        read the rows already (then its verdicts stand), or will say they were lost."""
        if not slot.alive:
            return
        slot.alive = False
        _end([slot.actor])
        self.replaced += 1
        if self.replaced > MAX_LOSSES * len(self.slots):
            raise WorkerDied(f"Ray actors keep dying ({self.replaced} lost); the last: {died('one', err)}")
        replacement = _Slot(self.stages_ref, self.render)
        self.slots[self.slots.index(slot)] = replacement
        self.calls[replacement.starting] = ("start", replacement)
        for call, (kind, owner) in list(self.calls.items()):
            if kind != "decide" and (owner is slot or getattr(owner, "slot", None) is slot):
                self.calls.pop(call)
                self.ready.discard(call)
        up = [s for s in self.slots if s.alive and s.starting is None] or [replacement]
        for unit in self.units:
            if unit.slot is not slot:
                continue
            unit.losses += 1
            if unit.losses > MAX_LOSSES:
                raise WorkerDied(f"batch {unit.batch.number} ({_where(unit.batch)}) lost its Ray actor "
                                 f"{unit.losses} times; the last: {died('it', err)}")
            unit.slot = min(up, key=lambda s: s.mapping)
            unit.found, unit.done = None, []
            for part in unit.parts:
                part.finish = None
                if part.verdicts is None:
                    part.rows = None  # gone with the actor: they come again with the new map
            self._map(unit)

    def close(self) -> None:
        """End the run's actors (on a cluster we joined, they would outlive the run)."""
        _end([slot.actor for slot in self.slots])
        self.slots = []

    def release(self) -> list[Any]:
        """After a finished pass: its live actors, for the next pass (they hold no batch);
        the others ended. An actor whose start was not yet taken stays too (a short pass
        can end before it is): its calls run in order, so it takes the next pass's stages
        after this one's, and if it died, the next pass finds it lost and replaces it."""
        up = [slot for slot in self.slots if slot.alive]
        _end([slot.actor for slot in self.slots if slot not in up])
        self.slots = []
        return [slot.actor for slot in up]


def _end(actors: list[Any]) -> None:
    """Kill the actors (on a cluster we joined, they would outlive the run); one already
    gone is no error."""
    for actor in actors:
        with contextlib.suppress(Exception):
            ray.kill(actor, no_restart=True)


def _anywhere(batch: Batch) -> Batch:
    """The batch with its file named by an absolute path: an actor's working folder is not
    the driver's (on another node, it is wherever `ray start` ran)."""
    reads = batch.reads
    if reads is not None and isinstance(reads.file.path, Path) and not reads.file.path.is_absolute():
        batch.reads = dataclasses.replace(reads, file=dataclasses.replace(reads.file, path=reads.file.path.absolute()))
    return batch


def _where(batch: Batch) -> str:
    if batch.reads is not None:
        return str(batch.reads.file.path)
    return f"{len(batch.items)} items read by the driver"
