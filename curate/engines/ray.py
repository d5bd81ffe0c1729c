"""`curate run --engine ray`: the same run on a Ray cluster, with byte-identical output.

Imported only when that engine is chosen (Ray is the optional extra `curate-corpus[ray]`).

1. Map: the driver reads the inputs and cuts the same batches as for the local engine;
   each batch is a Ray task running the per-document stages (signatures included),
   returning the batch plus its band rows split into R partitions by ``band_key % R``.
2. Reduce: task r takes partition r of every batch, so each bucket is complete there,
   and returns the bucket's verified candidate edges (`buckets.bucket_edges`).
3. Cluster: the driver replays the local engine's rule over the edges in input order
   (`buckets.cluster`).
4. The engine yields the batches in input order with the verdicts applied by the same
   loop as locally (`apply.apply_verdicts`); the driver writes them as for any engine.

Each paragraph's uid is ``(batch number << 32) | its position among the batch's signed
lines``, so uids sort in input order whatever the number of workers or partitions, and
no hash of Python's (salted per process) is used anywhere.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator

import numpy as np

from curate.document import ParagraphRef, Reason
from curate.errors import UsageError
from curate.storage import Location

try:
    import ray
except ImportError as err:  # pragma: no cover - depends on what is installed
    raise UsageError("--engine ray needs Ray: pip install 'curate-corpus[ray]' (or pip install -e '.[ray]' "
                     "in a checkout)") from err

from curate.engines import Engine, Progress
from curate.stages.base import Batch, Stage, run_stages
from curate.stages.dedup.apply import apply_verdicts, duplicate_reason, paragraph_ref, row_lines
from curate.stages.dedup.barrier import Dedup
from curate.stages.dedup.buckets import Verdicts, bucket_edges, cluster, take_sets
from curate.stages.dedup.sign import SignedRows, empty_rows
from curate.stages.dedup.signature import DedupConfig

# A task whose worker dies (killed, out of memory, node lost) is run again. Tasks are pure
# functions of their arguments and every result is kept by batch or partition number, so
# a retried task replaces its result: it can neither duplicate nor lose a document.
# Exceptions raised by our own code are not retried: they would fail the same way again.
MAX_RETRIES = 3
# Batch tasks in flight per CPU of the cluster: enough to keep every CPU busy while the
# driver reads the next batch, few enough that the driver does not read far ahead.
IN_FLIGHT_PER_CPU = 2
# Fetch processed batches for writing a few at a time, to overlap transfer and writing.
FETCH_BATCHES = 8
# Only tests set this: a folder where the first attempt of batch 1 leaves a mark and then
# kills its worker process, to show that Ray's retry changes no byte of the output.
FAIL_ONCE_ENV = "CURATE_TEST_RAY_FAIL_ONCE"

# keys, uids, and the shingle sets of the uids the rows name: set uids, flat hashes, offsets
Rows = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


# -- in the workers ----------------------------------------------------------------------

_worker: tuple[str, list[Stage]] | None = None


def _stages_for(run_key: str, stages_box: list) -> list[Stage]:
    """The worker's stages for this run, set up on its first batch: rules, language
    profiles and signature permutations are built once per worker process, not per task.
    The stages come boxed in a list so Ray hands over the reference, not a fresh copy
    of the rules for every task."""
    global _worker
    if _worker is None or _worker[0] != run_key:
        stages: list[Stage] = ray.get(stages_box[0])
        for stage in stages:
            stage.setup()
        _worker = (run_key, stages)
    return _worker[1]


def _fail_once_if_asked(batch_no: int) -> None:
    folder = os.environ.get(FAIL_ONCE_ENV)
    if folder and batch_no == 1:
        try:
            open(os.path.join(folder, "failed-once"), "x").close()
        except FileExistsError:
            return
        os._exit(1)


@ray.remote(max_retries=MAX_RETRIES, retry_exceptions=False)
def map_batch(run_key: str, stages_box: list, batch: Batch, partitions: int):
    """One batch through the per-document stages, then its band rows in R partitions. The
    batch goes back without its keys and shingle sets: the partitions carry them."""
    _fail_once_if_asked(batch.number)
    batch = run_stages(_stages_for(run_key, stages_box), batch)
    parts = partition_rows(band_rows(batch), partitions)
    if batch.signed is not None:
        rows = empty_rows()
        batch.signed = SignedRows(batch.signed.owners, rows.keys, rows.shingles, rows.offsets, [])
    return batch, *parts


@ray.remote(max_retries=MAX_RETRIES, retry_exceptions=False)
def reduce_partition(threshold: float, *parts: Rows) -> tuple[np.ndarray, np.ndarray]:
    """Every bucket of one partition, complete: its candidate edges and mirrored copies."""
    keys = np.concatenate([p[0] for p in parts])
    uids = np.concatenate([p[1] for p in parts])
    set_uids = np.concatenate([p[2] for p in parts])
    flat = np.concatenate([p[3] for p in parts])
    shift = np.cumsum([0] + [len(p[3]) for p in parts[:-1]])
    offsets = np.concatenate([[0]] + [p[4][1:] + base for p, base in zip(parts, shift.tolist(), strict=True)])
    order = np.argsort(set_uids, kind="stable")
    flat, offsets = take_sets(flat, offsets.astype(np.int64), order)
    return bucket_edges(keys, uids, set_uids[order], flat, offsets, threshold)


def band_rows(batch: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(uids, band keys, flat shingle sets, offsets) of the batch's signed lines, in input
    order: the order in which the local engine's index decides them."""
    rows = batch.signed
    if rows is None or not len(rows):
        empty = empty_rows()
        return np.empty(0, np.int64), np.empty((0, 0), np.uint64), empty.shingles, empty.offsets
    uids = (batch.number << 32) | np.arange(len(rows), dtype=np.int64)
    return uids, np.array(rows.keys, dtype=np.uint64), rows.shingles, rows.offsets


def partition_rows(rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], partitions: int) -> list[Rows]:
    """Rows (band key, uid) split by ``key % partitions``, each part with the shingle sets
    of the uids it holds, so a reducer can verify its candidates without asking anyone."""
    uids, keys, flat, offsets = rows
    row_keys = keys.ravel()
    row_uids = np.repeat(uids, keys.shape[1]) if len(uids) else np.empty(0, np.int64)
    part_of = row_keys % np.uint64(partitions)
    out = []
    for r in range(partitions):
        mine = part_of == r
        holds = np.unique(row_uids[mine])
        out.append((row_keys[mine], row_uids[mine], holds, *take_sets(flat, offsets, np.searchsorted(uids, holds))))
    return out


# -- on the driver -----------------------------------------------------------------------


class RayEngine(Engine):
    """Batches as Ray tasks; the dedup barrier as a shuffle of band rows (see the module
    docstring). Not resumable: a stopped run is started again."""

    name = "ray"
    resumable = False

    def __enter__(self) -> RayEngine:
        # Before the driver takes the output folder: a bad --address changes nothing.
        self._owns_cluster = _connect(self.address, self.workers)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._owns_cluster:
            ray.shutdown()

    def process(self, stages: list[Stage], barrier: Stage | None, batches: Iterator[Batch],
                on_progress: Progress | None = None, output: Location | None = None,
                render: object = None, ids: object = None) -> Iterator[Batch]:  # items come back, not rendered
        partitions = max(1, int(ray.cluster_resources().get("CPU", 1)))
        timings: dict[str, float] = {}
        batch_refs, partition_refs = _map(stages, batches, partitions, on_progress, timings)
        verdicts: Verdicts = {}
        if isinstance(barrier, Dedup):
            verdicts = _deduplicate(partition_refs, barrier.dedup, timings)
        elif barrier is not None:
            raise UsageError(f"--engine ray cannot compute the {barrier.name!r} barrier; use --engine local")
        del partition_refs  # lets Ray free the band rows before the batches are fetched
        resolve = _Resolver(verdicts)
        first = True
        for batch in _fetch(batch_refs):
            if first:  # the cluster's phases, counted once in the run's timings
                batch.timings.update(timings)
                first = False
            if barrier is not None:
                apply_verdicts(batch, resolve(batch))
            yield batch


def _connect(address: str | None, cpus: int) -> bool:
    """Start or join a cluster; True when this run started it (and must stop it)."""
    if ray.is_initialized():
        return False
    if address is None:
        # A cluster we start for one run: nothing to report anywhere, no dashboard to serve.
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        # "local", not None: None would join whatever cluster RAY_ADDRESS names.
        ray.init(address="local", num_cpus=cpus, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING)
    else:
        _check_reachable(os.environ.get("RAY_ADDRESS") or address)
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        except ConnectionError as err:
            raise UsageError(f"--address {address}: no Ray cluster found there ({err}); start one with "
                             "`ray start --head`, or leave out --address for a local one") from err
    return True


def _check_reachable(address: str) -> None:
    """Fail at once on a HOST:PORT where nothing listens: Ray itself keeps retrying for
    minutes. (RAY_ADDRESS, when set, is what Ray uses, even over --address.)"""
    host, sep, port = address.rpartition(":")
    if address == "auto" or not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as err:
        raise UsageError(f"--address {address}: cannot reach a Ray head there ({err.strerror or err}); start "
                         "one with `ray start --head`, or leave out --address for a local cluster") from err


def _map(stages: list[Stage], batches: Iterator[Batch], partitions: int, on_progress: Progress | None,
         timings: dict[str, float]) -> tuple[list, list[list]]:
    """Submit one task per batch, in input order, with a bounded window in flight. Returns
    each batch's ref, and each batch's R partition refs."""
    t0 = time.perf_counter()
    run_key = uuid.uuid4().hex
    stages_box = [ray.put(stages)]
    window = IN_FLIGHT_PER_CPU * partitions
    batch_refs: list = []
    partition_refs: list[list] = []
    pending: dict = {}  # batch ref -> input bytes of its batch, for the progress bar

    def finish(at_most: int) -> None:
        while len(pending) > at_most:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                done = pending.pop(ref)
                if on_progress is not None:
                    on_progress(done)

    for batch in batches:
        # With num_returns > 1, remote() returns a list of refs (Ray's stubs say one ref).
        refs: list = map_batch.options(num_returns=partitions + 1).remote(  # type: ignore[assignment]
            run_key, stages_box, batch, partitions)
        batch_refs.append(refs[0])
        partition_refs.append(refs[1:])
        pending[refs[0]] = batch.size
        finish(window - 1)
    finish(0)
    timings["map"] = time.perf_counter() - t0
    return batch_refs, partition_refs


def _deduplicate(partition_refs: list[list], dedup: DedupConfig, timings: dict[str, float]) -> Verdicts:
    """The shuffle (reducer r gets partition r of every batch) and the clustering."""
    t0 = time.perf_counter()
    partitions = len(partition_refs[0]) if partition_refs else 0
    reducers = [reduce_partition.remote(dedup.threshold, *[refs[r] for refs in partition_refs])
                for r in range(partitions)]
    found = ray.get(reducers)
    t1 = time.perf_counter()
    edges = np.concatenate([f[0] for f in found]) if found else np.empty((0, 4), np.int64)
    mirrors = np.concatenate([f[1] for f in found]) if found else np.empty((0, 2), np.int64)
    verdicts = cluster(edges, mirrors)
    timings["dedup_shuffle"] = t1 - t0
    timings["dedup"] = time.perf_counter() - t1
    return verdicts


def _fetch(batch_refs: list) -> Iterator[Batch]:
    """The processed batches in input order, a few at a time; written ones leave the store."""
    for start in range(0, len(batch_refs), FETCH_BATCHES):
        fetched = ray.get(batch_refs[start:start + FETCH_BATCHES])
        batch_refs[start:start + FETCH_BATCHES] = [None] * len(fetched)
        yield from fetched
        del fetched


class _Resolver:
    """The cluster's verdicts as reasons, batch by batch in input order. A copy's original
    comes earlier in input order, so its reference is known by the time the copy is met."""

    def __init__(self, verdicts: Verdicts):
        self.verdicts = verdicts
        self.targets = {first for first, _ in verdicts.values()}
        self.originals: dict[int, ParagraphRef] = {}  # kept paragraphs that copies point at

    def __call__(self, batch: Batch) -> list[Reason | None]:
        reasons: list[Reason | None] = []
        base = batch.number << 32
        for k, (_, doc, line) in enumerate(row_lines(batch)):
            uid = base | k
            verdict = self.verdicts.get(uid)
            if verdict is None:
                reasons.append(None)
                if uid in self.targets:
                    self.originals[uid] = paragraph_ref(doc, line)
            else:
                first, jaccard = verdict
                reasons.append(duplicate_reason(self.originals[first], jaccard))
        return reasons
