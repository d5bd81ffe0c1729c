"""`curate run --engine ray`: the same run on a Ray cluster, with byte-identical output.

Imported only when that engine is chosen (Ray is the optional extra `curate[ray]`).

1. Map: the driver reads the inputs and cuts the same batches as the local engine; each
   batch is a Ray task running the per-document stages and the signatures, returning
   the processed items plus its band rows split into R partitions by ``band_key % R``.
2. Reduce: task r takes partition r of every batch, so each bucket is complete there,
   and returns the bucket's verified candidate edges (`dedup.bucket_edges`).
3. Cluster: the driver replays the local engine's rule over the edges in input order
   (`dedup.cluster`).
4. Write: the driver fetches the batches in order, applies the verdicts and writes with
   the local engine's own writer and summary.

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
from collections.abc import Callable

import numpy as np

from curate.errors import UsageError

try:
    import ray
except ImportError as err:  # pragma: no cover - depends on what is installed
    raise UsageError("--engine ray needs Ray: pip install 'curate[ray]' (or pip install -e '.[ray]' "
                     "in a checkout)") from err

from curate.stages.dedup.index import bucket_edges, cluster, duplicate_removal, paragraph_ref
from curate.document import Document, ParagraphRef, Problem, RawDocument
from curate.fingerprint import fingerprint
from curate.driver import (
    DocumentProcessor,
    Item,
    RunConfig,
    batches,
    emit,
    input_items,
    new_summary,
    process_batch,
)
from curate.read import discover
from curate.summary import Summary
from curate.write import OutputWriter

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

Rows = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # keys, uids, signature uids, signatures


# -- in the workers ----------------------------------------------------------------------

_worker: tuple[str, DocumentProcessor] | None = None


def _processor_for(run_key: str, settings_box: list) -> DocumentProcessor:
    """The worker's processor for this run, set up on its first batch: rules, language
    profiles and signature permutations are built once per worker process, not per task.
    The settings come boxed in a list so Ray hands over the reference, not a fresh copy
    of the rules for every task."""
    global _worker
    if _worker is None or _worker[0] != run_key:
        ruleset, dedup, stages, read = ray.get(settings_box[0])
        _worker = (run_key, DocumentProcessor(ruleset, dedup, stages, read))
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
def map_batch(run_key: str, settings_box: list, batch_no: int, batch: list[Item], partitions: int):
    """One batch through the per-document stages: (items, timings), then R partitions of rows."""
    _fail_once_if_asked(batch_no)
    results, timings = process_batch(_processor_for(run_key, settings_box), batch)
    return (results, timings), *partition_rows(band_rows(batch_no, results), partitions)


@ray.remote(max_retries=MAX_RETRIES, retry_exceptions=False)
def reduce_partition(threshold: float, num_perm: int, *parts: Rows) -> tuple[np.ndarray, np.ndarray]:
    """Every bucket of one partition, complete: its candidate edges and mirrored copies."""
    keys = np.concatenate([p[0] for p in parts])
    uids = np.concatenate([p[1] for p in parts])
    sig_uids = np.concatenate([p[2] for p in parts])
    sigs = np.concatenate([p[3].ravel() for p in parts]).reshape(-1, num_perm)  # batches without rows are (0, 0)
    order = np.argsort(sig_uids, kind="stable")
    return bucket_edges(keys, uids, sig_uids[order], sigs[order], threshold)


def band_rows(batch_no: int, results: list[Document | Problem]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(uids, band keys, signatures) of the batch's signed lines, in input order: the
    order in which the local engine's `deduplicate` visits them."""
    uids, keys, sigs = [], [], []
    for doc in results:
        if not isinstance(doc, Document) or not doc.signatures:
            continue
        for line in doc.lines:
            signed = doc.signatures.get(line.index)
            if signed is not None:
                uids.append((batch_no << 32) | len(uids))
                sigs.append(signed[0])
                keys.append(signed[1])
    if not uids:
        return np.empty(0, np.int64), np.empty((0, 0), np.uint64), np.empty((0, 0), np.uint32)
    return (np.array(uids, dtype=np.int64), np.array(keys, dtype=np.uint64),
            np.frombuffer(b"".join(sigs), dtype=np.uint32).reshape(len(uids), -1))


def partition_rows(rows: tuple[np.ndarray, np.ndarray, np.ndarray], partitions: int) -> list[Rows]:
    """Rows (band key, uid) split by ``key % partitions``, each part with the signatures of
    the uids it holds, so a reducer can verify its candidates without asking anyone."""
    uids, keys, sigs = rows
    row_keys = keys.ravel()
    row_uids = np.repeat(uids, keys.shape[1]) if len(uids) else np.empty(0, np.int64)
    part_of = row_keys % np.uint64(partitions)
    out = []
    for r in range(partitions):
        mine = part_of == r
        holds = np.unique(row_uids[mine])
        out.append((row_keys[mine], row_uids[mine], holds, sigs[np.searchsorted(uids, holds)]))
    return out


# -- on the driver -----------------------------------------------------------------------


def run(cfg: RunConfig, address: str | None = None, on_progress: Callable[[int], None] | None = None,
        timings: dict[str, float] | None = None, overwrite: bool = False) -> Summary:
    """Read every input, run all stages on Ray and write the output folder; the files are
    byte-identical to `pipeline.run`'s. ``address``: None starts a local cluster of
    ``cfg.workers`` CPUs; "auto" or "host:port" joins a running one."""
    discovery = discover(list(cfg.inputs), cfg.output)
    timings = timings if timings is not None else {}
    started = time.perf_counter()
    owns_cluster = _connect(address, cfg.workers)  # before the output folder: a bad --address changes nothing
    try:
        writer = OutputWriter(cfg.output, fingerprint(cfg, discovery.files), overwrite=overwrite)
        try:
            summary = new_summary(cfg, discovery)
            partitions = max(1, int(ray.cluster_resources().get("CPU", 1)))
            item_refs, partition_refs = _map(cfg, input_items(discovery, cfg.text_field, cfg.read_options), partitions,
                                             on_progress, timings)
            verdicts = _deduplicate(partition_refs, cfg, timings)
            del partition_refs  # lets Ray free the band rows before the batches are fetched
            _write(item_refs, verdicts, cfg.dedup.num_perm, writer, summary, timings)
            timings["wall"] = time.perf_counter() - started
            writer.commit(summary)
        except BaseException:
            writer.interrupt()
            raise
    finally:
        if owns_cluster:
            ray.shutdown()
    return summary


def _connect(address: str | None, cpus: int) -> bool:
    """Start or join a cluster; True when this run started it (and must stop it)."""
    if ray.is_initialized():
        return False
    quiet = dict(log_to_driver=False, logging_level=logging.WARNING)
    if address is None:
        # A cluster we start for one run: nothing to report anywhere, no dashboard to serve.
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        # "local", not None: None would join whatever cluster RAY_ADDRESS names.
        ray.init(address="local", num_cpus=cpus, include_dashboard=False, **quiet)
    else:
        _check_reachable(os.environ.get("RAY_ADDRESS") or address)
        try:
            ray.init(address=address, **quiet)
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


def _map(cfg: RunConfig, items, partitions: int, on_progress, timings) -> tuple[list, list[list]]:
    """Submit one task per batch, in input order, with a bounded window in flight. Returns
    each batch's items ref, and each batch's R partition refs."""
    t0 = time.perf_counter()
    run_key = uuid.uuid4().hex
    settings_box = [ray.put((cfg.ruleset, cfg.dedup, cfg.stages, cfg.read_options))]
    window = IN_FLIGHT_PER_CPU * partitions
    item_refs: list = []
    partition_refs: list[list] = []
    pending: dict = {}  # items ref -> input bytes of its batch, for the progress bar

    def finish(at_most: int) -> None:
        while len(pending) > at_most:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                done = pending.pop(ref)
                if on_progress is not None:
                    on_progress(done)

    for batch_no, batch in enumerate(batches(items)):
        refs = map_batch.options(num_returns=partitions + 1).remote(
            run_key, settings_box, batch_no, batch, partitions)
        item_refs.append(refs[0])
        partition_refs.append(refs[1:])
        pending[refs[0]] = sum(item.size for item in batch if isinstance(item, RawDocument))
        finish(window - 1)
    finish(0)
    timings["map"] = time.perf_counter() - t0
    return item_refs, partition_refs


def _deduplicate(partition_refs: list[list], cfg: RunConfig, timings) -> dict[int, tuple[int, int]]:
    """The shuffle (reducer r gets partition r of every batch) and the clustering."""
    t0 = time.perf_counter()
    num_perm = cfg.dedup.num_perm
    partitions = len(partition_refs[0]) if partition_refs else 0
    reducers = [reduce_partition.remote(cfg.dedup.threshold, num_perm, *[refs[r] for refs in partition_refs])
                for r in range(partitions)]
    found = ray.get(reducers)
    t1 = time.perf_counter()
    edges = np.concatenate([f[0] for f in found]) if found else np.empty((0, 3), np.int64)
    mirrors = np.concatenate([f[1] for f in found]) if found else np.empty((0, 2), np.int64)
    verdicts = cluster(edges, mirrors, num_perm)
    timings["dedup_shuffle"] = t1 - t0
    timings["dedup"] = time.perf_counter() - t1
    return verdicts


def _write(item_refs: list, verdicts: dict[int, tuple[int, int]], num_perm: int, writer: OutputWriter,
           summary: Summary, timings: dict[str, float]) -> None:
    """Batches in input order: verdicts applied, then written and counted as locally."""
    t0 = time.perf_counter()
    targets = {first for first, _ in verdicts.values()}
    originals: dict[int, ParagraphRef] = {}  # kept paragraphs that copies point at
    for start in range(0, len(item_refs), FETCH_BATCHES):
        fetched = ray.get(item_refs[start:start + FETCH_BATCHES])
        item_refs[start:start + FETCH_BATCHES] = [None] * len(fetched)  # written batches can leave the store
        for batch_no, (results, batch_timings) in enumerate(fetched, start):
            for stage, seconds in batch_timings.items():
                timings[stage] = timings.get(stage, 0.0) + seconds
            next_uid = batch_no << 32
            for result in results:
                if isinstance(result, Document):
                    next_uid = apply_verdicts(result, next_uid, verdicts, targets, originals, num_perm)
                emit(result, writer, summary)
        del fetched
    timings["write"] = time.perf_counter() - t0


def apply_verdicts(doc: Document, next_uid: int, verdicts: dict[int, tuple[int, int]], targets: set[int],
                   originals: dict[int, ParagraphRef], num_perm: int) -> int:
    """Remove the document's copies as `dedup.deduplicate` would; returns the next uid.
    A copy's original comes earlier in input order, so its ref is already known."""
    if not doc.signatures:
        return next_uid
    kept, dropped = [], []
    for line in doc.lines:
        if line.index not in doc.signatures:
            kept.append(line)
            continue
        uid, next_uid = next_uid, next_uid + 1
        verdict = verdicts.get(uid)
        if verdict is None:
            kept.append(line)
            if uid in targets:
                originals[uid] = paragraph_ref(doc, line)
        else:
            first, equal = verdict
            dropped.append(duplicate_removal(line, originals[first], equal / num_perm))
    doc.lines = kept
    doc.removed.extend(dropped)
    return next_uid
