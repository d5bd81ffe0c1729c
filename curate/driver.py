"""Compose the stages; the only module that knows about processes.

Per-document stages (split, normalise, noise, language, signature) are pure
functions of one document and run in worker processes, batch by batch. Results
come back in input order, and the parent runs the dedup barrier and writes, so
the output is the same for any number of workers.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from curate import __version__, interrupts
from curate.stages.dedup.index import DedupIndex, deduplicate
from curate.document import Document, Problem, RawDocument
from curate.errors import RunStopped
from curate.fingerprint import NOT_FINGERPRINTED, fingerprint
from curate.engines.pool import WorkerDied, ordered_map
from curate.read import (
    DEFAULT_MAX_DOC_BYTES,
    DEFAULT_MAX_LINE_BYTES,
    DEFAULT_READ,
    Discovery,
    ReadOptions,
    discover,
    read_documents,
    split_lines,
)
from curate.stages.dedup.signature import DedupConfig, Signer, sign_batch
from curate.summary import Summary
from curate.write import OutputWriter

if TYPE_CHECKING:
    from curate.rules import RuleSet

OPTIONAL_STAGES = ("normalise", "noise", "language")
BATCH_DOCS = 1024  # numpy work in signatures is per batch: on paragraph-per-record files 256 left
# ~5% in per-call overhead (64 left it call-bound); BATCH_BYTES cuts first (~700 paragraphs)
BATCH_BYTES = 1 << 18  # 256 kB: ~80 batches for 20 MB, so two workers finish together


@dataclass(frozen=True)
class RunConfig:
    """Everything that shapes a run. A resumed run must match every field of the run it
    continues (curate.fingerprint walks them all) except those marked NOT_FINGERPRINTED,
    which cannot change a byte of the output. The inputs are matched by the files found
    in them, not by how their paths were spelled."""

    inputs: tuple[Path, ...] = field(metadata=NOT_FINGERPRINTED)
    output: Path = field(metadata=NOT_FINGERPRINTED)
    ruleset: RuleSet
    workers: int = field(default=1, metadata=NOT_FINGERPRINTED)
    text_field: str = "text"
    dedup: DedupConfig = field(default_factory=DedupConfig)
    # Documents (and quarantined items) per resumable chunk of output.
    chunk_items: int = 10_000
    stages: tuple[str, ...] = OPTIONAL_STAGES  # `curate dedup` runs none of them
    # Count the dedup index's bytes at the end (for --timings).
    measure_index: bool = field(default=False, metadata=NOT_FINGERPRINTED)
    encoding: str = "auto"  # of .txt files: --encoding
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    max_doc_bytes: int = DEFAULT_MAX_DOC_BYTES

    @property
    def read_options(self) -> ReadOptions:
        return ReadOptions(encoding=self.encoding, max_line_bytes=self.max_line_bytes,
                           max_doc_bytes=self.max_doc_bytes)


class DocumentProcessor:
    """The per-document stages, set up once per process. ``stages`` names the optional
    ones to run (all by default; `curate dedup` runs none of them); ``read``: how lines are
    cut and decoded (--encoding, --max-line-bytes)."""

    def __init__(self, ruleset: RuleSet, dedup: DedupConfig, stages: tuple[str, ...] = OPTIONAL_STAGES,
                 read: ReadOptions = DEFAULT_READ):
        self.ruleset = ruleset
        self.read = read
        self.signer = Signer(dedup)
        # Each optional stage is imported only when it runs: ftfy, langdetect and the rule
        # detectors took ~0.15 s to import, 3% of a `curate dedup` that needs none of them.
        self.normalise = self.strip_noise = self.detect_languages = None
        if "normalise" in stages:
            from curate.stages.normalise import normalise
            self.normalise = normalise
        if "noise" in stages:
            from curate.stages.noise import strip_noise
            self.strip_noise = strip_noise
        if "language" in stages:
            from curate.stages.language import detect_languages
            self.detect_languages = detect_languages

    def documents(self, raws: list[RawDocument], timings: dict[str, float]) -> list[Document]:
        """Split, normalise and strip each document, then label the languages of all of them
        (the language stage learns a batch's new words in one pass)."""
        docs = []
        normalise, strip_noise = self.normalise, self.strip_noise
        clock = time.perf_counter
        read_s = normalise_s = noise_s = 0.0
        for raw in raws:
            t0 = clock()
            lines, problems, read, encoding = split_lines(raw, self.read)
            doc = Document(raw.id, raw.source, raw.record_line, lines, problems=problems, lines_read=read,
                           size=raw.size, encoding=encoding)
            t1 = clock()
            if normalise is not None:
                normalise(doc)
            t2 = clock()
            if strip_noise is not None:
                strip_noise(doc, self.ruleset)
            t3 = clock()
            read_s += t1 - t0
            normalise_s += t2 - t1
            noise_s += t3 - t2
            docs.append(doc)
        for stage, seconds in (("read", read_s), ("normalise", normalise_s), ("noise", noise_s)):
            timings[stage] = timings.get(stage, 0.0) + seconds
        t0 = time.perf_counter()
        if self.detect_languages is not None:
            self.detect_languages(docs)
        else:
            for doc in docs:
                doc.language = None
        timings["language"] = timings.get("language", 0.0) + (time.perf_counter() - t0)
        return docs

    def sign(self, docs: list[Document], timings: dict[str, float]) -> None:
        t0 = time.perf_counter()
        sign_batch(docs, self.signer)
        timings["signature"] = timings.get("signature", 0.0) + (time.perf_counter() - t0)


_processor: DocumentProcessor | None = None


def _init_worker(ruleset: RuleSet, dedup: DedupConfig, stages: tuple[str, ...], read: ReadOptions,
                 in_pool: bool = False) -> None:
    global _processor
    if in_pool:
        _die_with_parent()
    _processor = DocumentProcessor(ruleset, dedup, stages, read)


def _die_with_parent() -> None:
    """End this worker when the parent dies, even by SIGKILL: a forked worker holds the
    write end of its own task pipe, so it would otherwise wait for work forever."""
    parent = os.getppid()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, signal.SIGTERM) == 0 and os.getppid() == parent:  # PR_SET_PDEATHSIG (Linux)
            return
    except (OSError, AttributeError):
        pass

    def watch() -> None:  # elsewhere: poll for the parent
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


Item = RawDocument | Problem


def process_batch(processor: DocumentProcessor, batch: list[Item]) -> tuple[list[Document | Problem], dict[str, float]]:
    """The per-document stages and the signatures of one batch (problems pass through)."""
    timings: dict[str, float] = {}
    docs = iter(processor.documents([item for item in batch if isinstance(item, RawDocument)], timings))
    out: list[Document | Problem] = [next(docs) if isinstance(item, RawDocument) else item for item in batch]
    processor.sign([d for d in out if isinstance(d, Document)], timings)
    return out, timings


def _process_batch(batch: list[Item]) -> tuple[list[Document | Problem], dict[str, float]]:
    assert _processor is not None
    return process_batch(_processor, batch)


def batches(items: Iterable[Item]) -> Iterator[list[Item]]:
    """Consecutive items, cut at BATCH_DOCS documents or BATCH_BYTES of input."""
    batch: list[Item] = []
    size = 0
    for item in items:
        batch.append(item)
        size += item.size if isinstance(item, RawDocument) else 0
        if len(batch) >= BATCH_DOCS or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def process_items(items: Iterable[Item], ruleset: RuleSet, dedup: DedupConfig,
                  workers: int, stages: tuple[str, ...] = OPTIONAL_STAGES, output: Path | None = None,
                  read: ReadOptions = DEFAULT_READ) -> Iterator[tuple[list[Document | Problem], dict[str, float]]]:
    """Run the per-document stages over batches, yielding results in input order. A worker
    that dies stops the run with RunStopped, whose message says how to resume in ``output``."""
    if workers <= 1:
        _init_worker(ruleset, dedup, stages, read)
        for batch in batches(items):
            yield _process_batch(batch)
        return
    if "language" in stages and multiprocessing.get_start_method() == "fork":
        # Build the language model (~0.2 s, 20 MB) once, here: forked workers inherit it,
        # and share its pages, instead of each building its own.
        from curate.stages.language import model

        model()
    try:
        # A bounded window of batches in flight: enough to keep every worker busy,
        # few enough that memory does not grow with the corpus.
        yield from ordered_map(_process_batch, batches(items), workers, initializer=_init_worker,
                               initargs=(ruleset, dedup, stages, read, True), window=4 * workers)
    except WorkerDied as err:
        if output is None:
            raise
        raise RunStopped(output, str(err)) from err


def settings_of(cfg: RunConfig) -> dict:
    """The options that shape the output (never --workers: it must not change a byte)."""
    bands, rows = cfg.dedup.bands
    return {
        "curate": __version__, "text_field": cfg.text_field, "stages": list(cfg.stages),
        "read": {"encoding": cfg.encoding, "max_line_bytes": cfg.max_line_bytes, "max_doc_bytes": cfg.max_doc_bytes},
        "disabled_rules": sorted(r.name for r in cfg.ruleset.rules if not r.enabled),
        "dedup": {"threshold": cfg.dedup.threshold, "num_perm": cfg.dedup.num_perm, "bands": bands, "rows": rows,
                  "shingle_words": cfg.dedup.shingle_words, "shingle_chars": cfg.dedup.shingle_chars,
                  "min_words": cfg.dedup.min_words, "min_chars": cfg.dedup.min_chars},
    }


def new_summary(cfg: RunConfig, discovery: Discovery) -> Summary:
    return Summary(files=len(discovery.files), rules=list(cfg.ruleset.sources), settings=settings_of(cfg))


def input_items(discovery: Discovery, text_field: str, options: ReadOptions | None = None) -> Iterator[Item]:
    """Everything to process, in input order: the problems found while discovering the
    inputs, then each file's documents and problems."""
    return itertools.chain(discovery.problems, read_documents(discovery.files, text_field, options))


def emit(result: Document | Problem, writer: OutputWriter, summary: Summary) -> None:
    """Write one processed item whose duplicates are already removed, and count it. Every
    engine calls this, in input order, so they write the same bytes."""
    interrupts.check()
    if isinstance(result, Problem):
        summary.add_problem(result)
        writer.write_problem(result)
    else:
        writer.write_document(result)
        summary.add_document(result)
    summary.items_done += 1


def run(cfg: RunConfig, on_progress: Callable[[int], None] | None = None,
        timings: dict[str, float] | None = None, resume: bool = False, overwrite: bool = False) -> Summary:
    """Read every input, run all stages and write the output folder. Returns the summary.

    With ``resume``, an unfinished run of the same inputs, rules and settings in the
    output folder continues from its last finished chunk; the result is byte-identical
    to a run that was never interrupted. With ``overwrite``, what the folder holds is replaced.
    """
    discovery = discover(list(cfg.inputs), cfg.output)
    writer = OutputWriter(cfg.output, fingerprint(cfg, discovery.files), resume=resume, overwrite=overwrite)
    index = DedupIndex(cfg.dedup)
    timings = timings if timings is not None else {}
    try:
        journals, state, done = writer.restore()
        for journal in journals:
            index.replay(journal)
        index.journal = []
        summary = state if isinstance(state, Summary) else new_summary(cfg, discovery)
        if writer.committing:  # stopped in its final commit: every input is done already
            writer.commit(summary)
            return summary
        t_read = time.perf_counter()
        items = input_items(discovery, cfg.text_field, cfg.read_options)
        if done:
            skipped = 0
            for item in itertools.islice(items, done):
                skipped += item.size if isinstance(item, RawDocument) else 0
            if on_progress is not None:
                on_progress(skipped)
        dedup_s = write_s = 0.0
        for results, batch_timings in process_items(items, cfg.ruleset, cfg.dedup, cfg.workers, cfg.stages,
                                                       output=cfg.output, read=cfg.read_options):
            for stage, seconds in batch_timings.items():
                timings[stage] = timings.get(stage, 0.0) + seconds
            done_bytes = 0
            for result in results:
                if isinstance(result, Problem):
                    emit(result, writer, summary)
                else:
                    t0 = time.perf_counter()
                    deduplicate(result, index)
                    t1 = time.perf_counter()
                    emit(result, writer, summary)
                    dedup_s += t1 - t0
                    write_s += time.perf_counter() - t1
                    done_bytes += result.size
                if summary.items_done % cfg.chunk_items == 0:
                    writer.end_chunk(index.take_journal(), summary)
            if on_progress is not None:
                on_progress(done_bytes)  # once a batch: a progress bar update costs more than dedup does
        timings["dedup"] = timings.get("dedup", 0.0) + dedup_s
        timings["write"] = timings.get("write", 0.0) + write_s
        timings["wall"] = time.perf_counter() - t_read
        timings["index_paragraphs"] = len(index)
        if cfg.measure_index:
            timings["index_bytes"] = index.memory_bytes()
        writer.commit(summary)
    except BaseException:
        writer.interrupt()
        raise
    return summary
