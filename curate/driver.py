"""The one run skeleton: discover, read, stages, barrier, write, checkpoint, summary, commit.

Every command that processes input goes through here: `curate run` and `curate dedup`
on any engine, and `curate explain` on one file. An engine (curate/engines) supplies only
how batches are mapped and how the barrier is computed; everything a user sees of a run
(the output folder, --resume, progress, the summary) is decided once, in this module.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from curate import __version__, interrupts
from curate.discover import Discovery, InputFile, discover, is_trailing
from curate.document import Document, Problem, RawDocument
from curate.engines import Engine, engine_for
from curate.engines.pool import WorkerDied
from curate.errors import CurateError, Interrupted, MachineLimit, RunStopped, UsageError, machine_limit
from curate.fingerprint import NOT_FINGERPRINTED, Fingerprint, fingerprint
from curate.formats import (
    AUTO,
    DEFAULT_MAX_DOC_BYTES,
    DEFAULT_MAX_DOC_LINES,
    DEFAULT_MAX_LINE_BYTES,
    DEFAULT_SINK,
    IdRegistry,
    ReadOptions,
    options_with,
    read_documents,
    read_file,
    reader_for,
    sink_by_name,
)
from curate.formats.ids import IdRegistryError
from curate.formats.ranges import ReadRange, WholeFile, cut_ranges, splittable
from curate.libraries import libraries_for
from curate.outdir import INDEX
from curate.progress import DiskCredit
from curate.rules import KEEP_LANG, KEEP_LANG_SOURCE
from curate.staged import open_output_folder
from curate.stages import OPTIONAL_STAGES, RUN_PIPELINE, build_pipeline
from curate.stages.base import Batch, Stage
from curate.stages.base import Item as BatchItem
from curate.stages.dedup.saved import INDEX_JSON, refuse_index_in_output
from curate.stages.dedup.signature import DedupConfig
from curate.stages.site import DEFAULT_MIN_PAGES, DEFAULT_MIN_SHARE, SiteBoilerplate
from curate.stages.site_census import census_stage_of, census_stage_of_items, take_census
from curate.storage import Location, base_name, check_location
from curate.summary import Summary

if TYPE_CHECKING:
    from curate.engines.tapering import BatchSizes
    from curate.rules import RuleSet
    from curate.write import Rendered, Renderer

BATCH_DOCS = 1024  # numpy work in signatures is per batch: on paragraph-per-record files 256 left
# ~5% in per-call overhead (64 left it call-bound); BATCH_BYTES cuts first (~700 paragraphs)
BATCH_BYTES = 1 << 18  # 256 kB: ~80 batches for 20 MB, so two workers finish together


@dataclass(frozen=True)
class RunConfig:
    """Everything that shapes a run. A resumed run must match every field of the run it
    continues (curate.fingerprint walks them all, and the stages' own fingerprints) except
    those marked NOT_FINGERPRINTED, which cannot change a byte of the output. The inputs
    are matched by the files found in them, not by how their paths were spelled."""

    inputs: tuple[Location, ...] = field(metadata=NOT_FINGERPRINTED)
    output: Location = field(metadata=NOT_FINGERPRINTED)  # a folder, or a URL (staged: curate.staged)
    ruleset: RuleSet
    workers: int = field(default=1, metadata=NOT_FINGERPRINTED)
    text_field: str = "text"
    dedup: DedupConfig = field(default_factory=DedupConfig)
    # Documents (and quarantined items) per resumable chunk of output.
    chunk_items: int = 10_000
    stages: tuple[str, ...] = RUN_PIPELINE  # names in curate.stages.STAGES, in order
    # Count the dedup index's bytes at the end (for --timings).
    measure_index: bool = field(default=False, metadata=NOT_FINGERPRINTED)
    encoding: str = "auto"  # of .txt files: --encoding
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    max_doc_bytes: int = DEFAULT_MAX_DOC_BYTES
    max_doc_lines: int = DEFAULT_MAX_DOC_LINES
    input_format: str = "auto"  # --format: a reader's name, or auto (by suffix)
    sink: str = DEFAULT_SINK  # how the output files are encoded: a name in curate.formats' sink registry
    # Where an output in object storage is built before its upload (None: curate.staged's default).
    staging: Path | None = field(default=None, metadata=NOT_FINGERPRINTED)
    # An earlier run's dedup index to deduplicate against (--against); the dedup stage
    # fingerprints it by its content, wherever it is.
    against: Path | None = field(default=None, metadata=NOT_FINGERPRINTED)
    save_index: bool = field(default=False, metadata=NOT_FINGERPRINTED)  # write OUT/index/ (--save-index)
    # Bytes a process may use (--memory; None: stages.dedup.budget.default_memory()): the
    # dedup index spills to disk past its share, which cannot change a byte of the output.
    memory: int | None = field(default=None, metadata=NOT_FINGERPRINTED)
    # Site-level boilerplate (stages.site): where a document's site comes from, and how many
    # of a site's pages a line must be on to be its template (--site, --site-min-pages, --site-min-share).
    site: str = "url"
    site_min_pages: int = DEFAULT_MIN_PAGES
    site_min_share: float = DEFAULT_MIN_SHARE
    # The language stage's model (--language-model): a name in stages.language.LANGUAGE_MODELS.
    language_model: str = "langdetect"
    # --dedup-parts: dedup verdicts found in parts between two passes (stages/dedup/parts.py).
    # The same output; fingerprinted all the same, so that a stopped run resumes in its own mode.
    dedup_parts: bool = False

    @property
    def read_options(self) -> ReadOptions:
        return ReadOptions(format=self.input_format, text_field=self.text_field, encoding=self.encoding,
                           max_line_bytes=self.max_line_bytes, max_doc_bytes=self.max_doc_bytes,
                           max_doc_lines=self.max_doc_lines)


class Output(Protocol):
    """Where processed items go: the output folder's writer, or explain's collector."""

    committing: bool
    scratch: Path | None  # where a barrier may keep its files during the run (None: a temporary folder)

    def restore(self) -> tuple[list, object | None, int]: ...
    def write_document(self, doc: Document) -> None: ...
    def write_problem(self, problem: Problem) -> None: ...
    def renderer(self) -> Renderer | None: ...
    def write_rendered(self, items: Sequence[Rendered]) -> None: ...
    def end_chunk(self, index_journal: object, summary_state: object) -> None: ...
    def seal(self, summary: Summary) -> None: ...  # every chunk durable: only the commit is left
    def commit(self, summary: Summary) -> None: ...
    def finished(self) -> bool: ...  # the commit has put the output in place: only clean-up is left
    def finish_after_interrupt(self) -> None: ...  # that clean-up, after a Ctrl-C stopped it
    def interrupt(self) -> None: ...


class MemoryOutput:
    """An output that keeps nothing on disk (explain, the Python API): no checkpoints, no
    commit; a subclass says what to do with each item."""

    committing = False
    scratch: Path | None = None

    def restore(self) -> tuple[list, object | None, int]:
        return [], None, 0

    def write_document(self, doc: Document) -> None:
        raise NotImplementedError

    def write_problem(self, problem: Problem) -> None:
        raise NotImplementedError

    def renderer(self) -> Renderer | None:
        return None  # it takes the items themselves

    def write_rendered(self, items: Sequence[Rendered]) -> None:
        raise NotImplementedError

    def end_chunk(self, index_journal: object, summary_state: object) -> None:
        return None

    def seal(self, summary: Summary) -> None:
        return None

    def commit(self, summary: Summary) -> None:
        return None

    def finished(self) -> bool:
        return False

    def finish_after_interrupt(self) -> None:
        return None

    def interrupt(self) -> None:
        return None


@dataclass
class Plan:
    """A run about to start: its settings, stages and the inputs found (discovered once)."""

    cfg: RunConfig
    discovery: Discovery
    stages: list[Stage]
    # Documents given in memory (the Python API) instead of read from the discovered files,
    # in input order: read once, or twice when the site stage's census runs first (then a
    # Sequence: census_stage).
    items: Iterable[Item] | None = None

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.discovery.files)

    @property
    def passes(self) -> int:
        """Reads of the input: one more when a census of the site lines comes first, and
        one more when the dedup verdicts are found in parts (--dedup-parts)."""
        return 1 + (self.census_stage() is not None) + self.dedup_parts()

    def dedup_parts(self) -> bool:
        """Whether a first pass keeps the signed rows for the dedup verdicts in parts."""
        return self.cfg.dedup_parts and any(stage.barrier for stage in self.stages)

    def census_stage(self) -> SiteBoilerplate | None:
        """The stage whose census runs before the main pass, if one must."""
        if self.items is not None:
            return census_stage_of_items(self.stages, self.items)
        return census_stage_of(self.stages, self.discovery.files)

    def fingerprint(self) -> Fingerprint:
        # Each stage by its name, so that a refused resume names the one that changed.
        settings: dict[str, object] = {"config": self.cfg}
        for k, stage in enumerate(self.stages):
            name = f"stage {stage.name}"
            settings[name if name not in settings else f"{name} ({k + 1})"] = stage.fingerprint()
        found = self.discovery
        # Not the notes said last (discover.TRAILING: curate's own files, hidden names): they
        # may come or go while a run is stopped, and its --resume says them as they are then.
        return fingerprint(settings, found.files, found.leading, libraries_of(self.cfg, found))


def plan(cfg: RunConfig, discovery: Discovery | None = None,
         on_listed: Callable[[int], None] | None = None) -> Plan:
    """Find the inputs and build the stages; raises UsageError on a bad input or stage name,
    or an output URL curate cannot write (checked first: before any input is listed).
    ``on_listed``: as discover's."""
    check_location(cfg.output, output=True)
    if cfg.against is not None:  # before the index is opened, and long before -o is touched
        refuse_index_in_output(cfg.against, cfg.output)
    found = discovery if discovery is not None else discover(list(cfg.inputs), cfg.output, cfg.read_options,
                                                             on_listed)
    return Plan(cfg, found, build_pipeline(cfg.stages, cfg))


def run(cfg: RunConfig | Plan, engine: Engine | None = None, on_progress: Callable[[int], None] | None = None,
        timings: dict[str, float] | None = None, resume: bool = False, overwrite: bool = False,
        output: Output | None = None) -> Summary:
    """Read every input, run all stages and write the output folder. Returns the summary.

    With ``resume``, an unfinished run of the same inputs, rules and settings in the
    output folder continues from its last finished chunk; the result is byte-identical
    to a run that was never interrupted. With ``overwrite``, what the folder holds is
    replaced. ``output`` replaces the folder's writer (explain collects in memory).
    """
    the_plan = cfg if isinstance(cfg, Plan) else plan(cfg)
    cfg = the_plan.cfg
    engine = engine if engine is not None else engine_for("local", cfg.workers)
    if resume and not engine.resumable:
        raise UsageError(f"--resume works with --engine local only, not {engine.name}; rerun without --resume")
    if cfg.save_index and not isinstance(cfg.output, Path):
        raise UsageError(f"--save-index writes the index into a local output folder; -o {cfg.output} is a URL: "
                         "write the output locally, or leave --save-index out")
    timings = timings if timings is not None else {}
    mapped = [stage for stage in the_plan.stages if not stage.barrier]
    barriers = [stage for stage in the_plan.stages if stage.barrier]
    barrier = barriers[0] if barriers else None
    started = time.perf_counter()
    with engine:
        try:
            writer = output if output is not None else open_output_folder(
                cfg.output, the_plan.fingerprint(), resume=resume, overwrite=overwrite, sink=cfg.sink,
                staging=cfg.staging, resumable=engine.resumable)
        except KeyboardInterrupt as err:
            if isinstance(err, Interrupted):  # the writer says what it left
                raise
            raise Interrupted(Interrupted.UNTOUCHED) from None
        ids: IdRegistry | None = None
        try:
            journals, state, done = writer.restore()
            if barrier is not None:
                barrier = engine.host_barrier(barrier)
                barrier.attach(writer.scratch)
                barrier.restore(journals)
            summary = state if isinstance(state, Summary) else new_summary(cfg, the_plan.discovery)
            # Where the inputs are now, which a resumed run may name otherwise (its sources
            # and files are the same: the fingerprint says so).
            summary.inputs = list(the_plan.discovery.roots)
            summary.against = against_of(barrier)
            if writer.committing:  # stopped in its final commit: every input is done already
                refuse_index_not_kept(cfg, barrier, writer)
                writer.commit(summary)
                return summary
            census = the_plan.census_stage()
            if census is not None:
                # Not checkpointed: a resumed run counts again, to the same table.
                t0 = time.perf_counter()
                begin_pass(on_progress, the_plan, "site census", 1)
                census.table = take_census(
                    census, [stage for stage in mapped if stage.name in CENSUS_STAGES], engine,
                    census_work(the_plan, engine, writer.scratch, credit=progress_credit(the_plan, on_progress)),
                    on_progress, cfg, writer.scratch)
                timings["census"] = time.perf_counter() - t0
            render = writer.renderer()
            if the_plan.dedup_parts():
                assert barrier is not None
                find_verdicts_in_parts(the_plan, mapped, barrier, engine, writer.scratch, on_progress, render,
                                       timings)
            begin_pass(on_progress, the_plan, "writing", the_plan.passes)
            credit = progress_credit(the_plan, on_progress)
            if render is not None and engine.reads_ranges() and not done and the_plan.items is None:
                # Beside the dedup index's files, on the output's disk, and gone with them.
                work, ids = range_work(the_plan, engine,
                                       writer.scratch.parent / "ids" if writer.scratch is not None else None, credit)
            if ids is None:
                work = batches(skip_items(the_plan, done, on_progress, credit), done, credit=credit)
            write_s = 0.0

            trailing = False  # the notes said after every document (discover.TRAILING) have begun

            def end_chunk_if_full() -> None:
                # None ends in the trailing notes: a resumed run says them all again, as
                # the inputs are then, after its last document (skip_items).
                if summary.items_done % cfg.chunk_items == 0 and not trailing:
                    journal = barrier.take_journal(summary.items_done) if barrier is not None else None
                    writer.end_chunk(journal, summary)

            for batch in engine.process(mapped, barrier, work, on_progress, cfg.output, render=render, ids=ids):
                add_timings(timings, batch)
                t0 = time.perf_counter()
                if batch.rendered is not None:
                    # Written a chunk's share at a time: one write per output file, not per item.
                    rendered, start = batch.rendered, 0
                    while start < len(rendered):
                        room = cfg.chunk_items - summary.items_done % cfg.chunk_items
                        piece = rendered[start:start + room]
                        emit_rendered(piece, writer, summary)
                        start += room
                        trailing = trailing or is_trailing(piece[-1][-1])  # they come last: the last says
                        end_chunk_if_full()
                else:
                    for item in batch.items:
                        emit(item, writer, summary)
                        trailing = trailing or is_trailing(item)
                        end_chunk_if_full()
                write_s += time.perf_counter() - t0
            timings["write"] = timings.get("write", 0.0) + write_s
            if ids is not None:
                closing = ids
                ids = None  # closed here, not again by the clean-up below if this fails
                closing.close()
            timings["wall"] = time.perf_counter() - started
            if barrier is not None:
                timings.update(barrier.measure(deep=cfg.measure_index))
                if cfg.save_index:
                    assert isinstance(cfg.output, Path)
                    # In the folder the writer writes, which a name repointed since the
                    # run began no longer leads to (OutputWriter._take_folder).
                    barrier.save(getattr(writer, "out_dir", cfg.output) / INDEX)
                # Its files go before the commit needs the disk, and only once every chunk
                # is sealed: a run killed between the two would decide its last chunks again.
                writer.seal(summary)
                barrier.close()
            writer.commit(summary)
        except BaseException as caught:
            failure = stop_behind(caught)
            if isinstance(failure, KeyboardInterrupt) and writer.finished():
                # The output is in place: the run is finished, and only its clean-up is left.
                writer.finish_after_interrupt()
                return summary
            # Clean-up, never raising over what stopped the run: a full disk fails the
            # flush of a buffered file again as it is closed, and that error would be
            # reported instead, as a traceback, with the writer's own clean-up skipped.
            if ids is not None:
                quietly(ids.close)
            if barrier is not None:
                quietly(lambda: barrier.close(stopped=True))
            quietly(writer.interrupt)
            if isinstance(failure, MemoryError):
                raise out_of_memory(failure, writer, engine) from failure
            if isinstance(failure, (IdRegistryError, MachineLimit)):
                raise stopped(own_words(failure), writer) from failure
            # A limit met where no reader or writer was looking (an import a stage makes
            # at its setup, under a low ulimit -n): the same stop, not a traceback.
            limit = machine_limit(failure) if isinstance(failure, OSError) else None
            if limit is not None:
                raise stopped(str(limit), writer) from failure
            if isinstance(failure, KeyboardInterrupt) and not isinstance(failure, Interrupted) and writer.committing:
                raise Interrupted(Interrupted.COMMITTING) from None
            if failure is not caught:
                raise failure from None
            raise
    return summary


def stop_behind(err: BaseException) -> BaseException:
    """The KeyboardInterrupt of a Ctrl-C or SIGTERM behind ``err``, if ``err`` came out of
    the handling of one; else ``err``. The signal's KeyboardInterrupt is raised wherever the
    main thread is, and CPython's threading is not safe against an exception at every step:
    raised just as a Condition of the writer's thread pool let its lock go, it left the
    lock to be released again on the way out, and "RuntimeError: release unlocked lock"
    came out of the run in its place, a traceback instead of the stop's words and its
    --resume (tests/test_signals.py met it once in a few hundred runs)."""
    if isinstance(err, KeyboardInterrupt):
        return err
    behind = err.__context__
    while behind is not None:
        if isinstance(behind, KeyboardInterrupt):
            return behind
        behind = behind.__context__
    return err


def refuse_index_not_kept(cfg: RunConfig, barrier: Stage | None, writer: Output) -> None:
    """--save-index on the --resume of a run stopped in its commit: the index is saved
    before the run seals its chunks, and the barrier's files go at the seal, so there is
    none to save now unless the stopped run saved it (it had --save-index too). Going on
    without it was exit 0 with no index, which a later --against of the folder refused."""
    if not cfg.save_index or barrier is None:
        return
    folder = getattr(writer, "out_dir", cfg.output)
    if isinstance(folder, Path) and (folder / INDEX / INDEX_JSON).is_file():
        return  # saved by the run stopped in its commit: the commit keeps it
    shown = getattr(writer, "shown", folder)
    raise UsageError(f"{shown}: the unfinished run there was stopped in its final commit, after its dedup index "
                     "was let go, so --save-index cannot write the index now; resume without --save-index, "
                     "or run again with --overwrite --save-index to have the index")


def quietly(clean_up: Callable[[], object]) -> None:
    """A clean-up step of a run that is stopping: what goes wrong in it is left unsaid, so
    that the error that stopped the run is the one reported (and the next steps done)."""
    with contextlib.suppress(Exception):  # any: the run is stopping with an error of its own
        clean_up()


def out_of_memory(err: MemoryError, writer: Output, engine: Engine) -> CurateError:
    """The stop a MemoryError in this process makes: as a worker's out-of-memory death
    (engines/pool.py), the run's finished chunks kept for --resume. One a Ray actor met
    (a reader's: formats.base.stop_on_machine_limit) comes wrapped in Ray's error, whose
    ``cause`` it is (see own_words)."""
    said = own_words(err)
    detail = f" ({said})" if said else ""
    fewer = " or fewer --workers" if getattr(engine, "workers", 1) > 1 else ""
    who = "a Ray task of curate's" if isinstance(getattr(err, "cause", None), MemoryError) else "curate's main process"
    cause = f"{who} ran out of memory{detail}; free memory, or give a smaller --memory{fewer}"
    out_dir = getattr(writer, "shown", None)  # the folder as the writer names it
    if out_dir is None or not engine.resumable:
        return CurateError(cause)  # nothing kept to resume from (explain, the Python API, Ray)
    return RunStopped(out_dir, cause)


def own_words(err: BaseException) -> str:
    """An error's message, also when it was raised in a Ray task: Ray raises it again here
    as a RayTaskError that is an instance of the error's class too, whose str is the task's
    traceback (the stop for too many open files printed it whole), and whose ``cause`` is
    the error itself."""
    cause = getattr(err, "cause", None)
    return str(cause if isinstance(cause, BaseException) else err)


def stopped(cause: str, writer: Output) -> CurateError:
    """The stop an error outside the writer's own files makes (the id registry's, in a
    worker's reading or an engine's checks): what the writer keeps, and how to go on, as
    the writer says it for its own files (cli.py words it for an engine that cannot resume)."""
    out_dir = getattr(writer, "shown", None)  # the folder as the writer names it
    return RunStopped(out_dir, cause) if out_dir is not None else CurateError(cause)


CENSUS_STAGES = ("read", "normalise")  # what the census needs of a page: its lines as the stages see them


def add_timings(timings: dict[str, float], batch: Batch) -> None:
    """A batch's seconds per stage, added to the run's."""
    for stage, seconds in batch.timings.items():
        timings[stage] = timings.get(stage, 0.0) + seconds


def skip_items(the_plan: Plan, done: int, on_progress: Callable[[int], None] | None,
               credit: DiskCredit | None = None) -> Iterator[Item]:
    """The input's items after the first ``done`` (a resumed pass's), whose bytes count as
    progress made (skipped: done before, in no time of this run's). With ``credit``, the
    items pass over it, and the bytes skipped are those on disk. The notes said last
    (discover.TRAILING) are not in the fingerprint and may differ from those the
    stopped run saw: they are said as they are now, after the last document, unless the
    stopped run had said its own already (its last chunk, which holds them all, was
    finished: only its commit was left to do)."""
    cfg = the_plan.cfg
    if the_plan.items is not None:
        items: Iterator[Item] = iter(the_plan.items)
    else:
        found = the_plan.discovery
        items = itertools.chain(found.leading, read_documents(found.files, cfg.text_field, cfg.read_options))
    if credit is not None:
        items = credit.over(items)
    if not done:
        return itertools.chain(items, the_plan.discovery.trailing) if the_plan.items is None else items
    skipped = counted = 0
    for item in itertools.islice(items, done):
        skipped += item.size if isinstance(item, RawDocument) else 0
        counted += 1
    if on_progress is not None:
        credit_skipped(on_progress, credit.take() if credit is not None else skipped)
    if the_plan.items is not None or counted < done:  # past every document: nothing is left
        return items
    return itertools.chain(items, the_plan.discovery.trailing)


def progress_credit(the_plan: Plan, on_progress: Callable[[int], None] | None) -> DiskCredit | None:
    """What turns the items read here into bytes on disk, when progress is shown and the
    input is files (progress.DiskCredit)."""
    if on_progress is None or the_plan.items is not None:
        return None
    return DiskCredit(the_plan.discovery.files)


def begin_pass(on_progress: Callable[[int], None] | None, the_plan: Plan, label: str, number: int) -> None:
    """Tell a progress display that can hear it (cli's progress.ProgressLine) that pass
    ``number`` of the run's passes over the input begins: each is shown as its own."""
    begin = getattr(on_progress, "begin", None)
    if begin is not None:
        passes = the_plan.passes
        begin(f"{label} {number}/{passes}" if passes > 1 else "curate", the_plan.total_bytes)


def credit_skipped(on_progress: Callable[[int], None], n: int) -> None:
    """``n`` bytes done before a --resume: a display that can tell them apart keeps them
    out of its rate (progress.ProgressLine.skip)."""
    skip = getattr(on_progress, "skip", None)
    (skip if skip is not None else on_progress)(n)


def find_verdicts_in_parts(the_plan: Plan, mapped: list[Stage], barrier: Stage, engine: Engine,
                           scratch: Path | None, on_progress: Callable[[int], None] | None,
                           render: Renderer | None, timings: dict[str, float]) -> None:
    """--dedup-parts before the pass that writes: the first pass, then the parts. A
    resumed run does not do again what it finds kept: the verdicts (both steps), the whole
    first pass, or its first items."""
    first_pass_done = barrier.settled() or barrier.gathered_all()
    begin_pass(on_progress, the_plan, "dedup rows", the_plan.passes - 1)
    if first_pass_done and on_progress is not None:  # it would only read the same input again
        credit_skipped(on_progress, the_plan.total_bytes)
    if barrier.settled():
        return
    t0 = time.perf_counter()
    if not first_pass_done:
        gathered = barrier.gathered()
        first_pass: tuple[Iterator[Batch], IdRegistry | None]
        credit = progress_credit(the_plan, on_progress)
        if gathered:  # on from the first item not gathered
            first_pass = batches(skip_items(the_plan, gathered, on_progress, credit), gathered, credit=credit), None
        else:
            first_pass = census_work(the_plan, engine, scratch, "dedup-parts-ids", credit)
        take_rows(the_plan, mapped, barrier, engine, first_pass, on_progress, render, timings)
    t1 = time.perf_counter()
    steps = barrier.settle(the_plan.cfg.workers)
    timings["dedup-settle"] = time.perf_counter() - t1
    timings.update({f"dedup-settle-{name}": seconds for name, seconds in steps.items()})
    timings["dedup-parts"] = time.perf_counter() - t0


def take_rows(the_plan: Plan, mapped: list[Stage], barrier: Stage, engine: Engine,
              work: tuple[Iterator[Batch], IdRegistry | None], on_progress: Callable[[int], None] | None,
              render: Renderer | None, timings: dict[str, float]) -> None:
    """--dedup-parts' first pass: every stage over the input, the barrier keeping the
    signed rows and removing nothing, the records encoded and let go. On an engine that
    resumes, what is gathered is kept on disk every chunk's worth of items (--chunk-docs),
    as the pass that writes keeps its chunks, and once more at the end."""
    batches_in, ids = work
    every = the_plan.cfg.chunk_items
    kept = through = barrier.gathered()
    try:
        for batch in engine.process(mapped, barrier, batches_in, on_progress, the_plan.cfg.output, render=render,
                                    ids=ids):
            add_timings(timings, batch)
            # Decided in input order: the rows of every item to here are gathered. (Encoded,
            # a batch's items are its records, one each, as the pass that writes counts them.)
            through = batch.first_item + len(batch.rendered if batch.rendered is not None else batch.items)
            if engine.resumable and through // every > kept // every:
                barrier.keep_gathered(through)
                kept = through
        if engine.resumable:  # all of it: a run stopped in the parts neither gathers nor reads again
            barrier.keep_gathered(through, whole=True)
    except BaseException:
        if ids is not None:
            quietly(ids.close)  # never over what stopped the run (driver.run's clean-up)
        raise
    if ids is not None:
        ids.close()



def census_work(the_plan: Plan, engine: Engine, scratch: Path | None, ids_folder: str = "census-ids",
                credit: DiskCredit | None = None) -> tuple[Iterator[Batch], IdRegistry | None]:
    """The batches of a pass before the one that writes (the census, --dedup-parts' rows):
    ranges for workers that read (with an id registry of its own, in ``ids_folder`` beside
    ``scratch``, which the engine needs to place problems), else documents read here, or
    those given in memory."""
    if the_plan.items is not None:
        return batches(the_plan.items), None
    if engine.reads_ranges():
        return range_work(the_plan, engine, scratch.parent / ids_folder if scratch is not None else None, credit)
    cfg = the_plan.cfg
    items = input_items(the_plan.discovery, cfg.text_field, cfg.read_options)
    return batches(credit.over(items) if credit is not None else items, credit=credit), None


def range_work(the_plan: Plan, engine: Engine, folder: Path | None,
               credit: DiskCredit | None = None) -> tuple[Iterator[Batch], IdRegistry]:
    """Batches that name the ranges an engine's workers read themselves, with the registry
    of document ids (its files in ``folder``) the engine checks them against."""
    cfg = the_plan.cfg
    ids = IdRegistry(the_plan.discovery.files, folder)
    input_bytes = sum(f.size for f in the_plan.discovery.files)
    return range_batches(the_plan.discovery, options_with(cfg.read_options, cfg.text_field), ids,
                         whole_files=engine.reads_whole_files(), batch_bytes=engine.batch_bytes(input_bytes),
                         credit=credit), ids


def settings_of(cfg: RunConfig) -> dict:
    """The options that shape the output (never --workers: it must not change a byte)."""
    bands, rows = cfg.dedup.bands
    return {
        "curate": __version__, "text_field": cfg.text_field,
        # "documents" only when a document rule is on: without one it changes nothing.
        "stages": [name for name in cfg.stages if name in OPTIONAL_STAGES
                   and (name != "documents" or cfg.ruleset.document_rules)],
        "read": {"encoding": cfg.encoding, "max_line_bytes": cfg.max_line_bytes, "max_doc_bytes": cfg.max_doc_bytes,
                 # Named only when given, so a run by suffix (or within the line limit that
                 # came later) writes the summary it always wrote.
                 **({"format": cfg.input_format} if cfg.input_format != AUTO else {}),
                 **({"max_doc_lines": cfg.max_doc_lines} if cfg.max_doc_lines != DEFAULT_MAX_DOC_LINES else {})},
        # A pack's rules are off until --enable names them: they are not "disabled".
        "disabled_rules": sorted(r.name for r in cfg.ruleset.rules if not r.enabled and not r.pack),
        **({"enabled_rules": sorted(r.name for r in cfg.ruleset.active if r.pack or r.scope == "document")}
           if cfg.ruleset.document_rules or any(r.pack for r in cfg.ruleset.active) else {}),
        **({"models": models} if (models := models_of(cfg.ruleset)) else {}),
        # Named only when they are not the default, so a run without them writes the summary
        # it always wrote; both change which text is written.
        **({"language_model": cfg.language_model} if cfg.language_model != "langdetect" else {}),
        **({"keep_languages": list(keep[0].languages)}
           if (keep := [r for r in cfg.ruleset.active if r.name == KEEP_LANG and r.source == KEEP_LANG_SOURCE])
           else {}),
        **({"site": {"from": cfg.site, "min_pages": cfg.site_min_pages, "min_share": cfg.site_min_share}}
           if "site" in cfg.stages else {}),
        "dedup": {"threshold": cfg.dedup.threshold, "num_perm": cfg.dedup.num_perm, "bands": bands, "rows": rows,
                  "shingle_words": cfg.dedup.shingle_words, "shingle_chars": cfg.dedup.shingle_chars,
                  "min_words": cfg.dedup.min_words, "min_chars": cfg.dedup.min_chars},
    }


def models_of(ruleset: RuleSet) -> list[dict]:
    """The line models the active rules run, by the hash of their files: a retrained model
    changes the output as a changed rule file does."""
    if not any(rule.detector is not None for rule in ruleset.active):
        return []  # no page rule (`curate dedup`): spare the detectors' import, 0.07 s a run
    from curate.detectors import LineModelRule
    from curate.linemodel.model import BUILTIN, load_model

    return [{"rule": rule.name, "file": rule.detector.model or f"built-in {BUILTIN}",
             "sha256": load_model(rule.detector.model).sha256}
            for rule in ruleset.active if isinstance(rule.detector, LineModelRule)]


def against_of(barrier: Stage | None) -> dict | None:
    """What summary.json says of the index a run was deduplicated against."""
    saved = getattr(barrier, "saved", None)
    return saved.describe() if saved is not None else None


def libraries_of(cfg: RunConfig, discovery: Discovery) -> dict[str, str]:
    """The versions of the libraries this run's output depends on (curate.libraries)."""
    tails: dict[str, InputFile] = {}  # one file of each format and name ending: 100k files, a few readers
    for f in discovery.files:
        ending = f.format if f.format != AUTO else ".".join(base_name(f.path).lower().rsplit(".", 3)[1:])
        tails.setdefault(ending, f)
    readers = {reader.name for f in tails.values() if (reader := reader_for(f.path, f.format)) is not None}
    # The language stage's other model names its own version in the stage's fingerprint.
    stages = [name for name in cfg.stages if name != "language" or cfg.language_model == "langdetect"]
    return libraries_for(stages, readers, cfg.sink, cfg.encoding)


def new_summary(cfg: RunConfig, discovery: Discovery) -> Summary:
    settings = {**settings_of(cfg), "libraries": libraries_of(cfg, discovery)}
    return Summary(files=len(discovery.files), rules=cfg.ruleset.sources_in_use(), settings=settings,
                   inputs=list(discovery.roots),
                   check_types=getattr(sink_by_name(cfg.sink), "writes_lines", False))


Item = RawDocument | Problem


def input_items(discovery: Discovery, text_field: str, options: ReadOptions | None = None) -> Iterator[Item]:
    """Everything to process, in input order: the problems found while discovering the
    inputs, then each file's documents and problems."""
    return itertools.chain(discovery.leading, read_documents(discovery.files, text_field, options), discovery.trailing)


def batches(items: Iterable[Item], first_item: int = 0, batch_bytes: int | None = None,
            credit: DiskCredit | None = None) -> Iterator[Batch]:
    """Consecutive items, cut at BATCH_DOCS documents or ``batch_bytes`` of input
    (default BATCH_BYTES). With ``credit`` (over which ``items`` pass), each batch's size
    for progress is the bytes on disk its items stand for."""
    batch_bytes = batch_bytes or BATCH_BYTES
    batch: list[BatchItem] = []
    size = 0
    number = 0
    for item in items:
        batch.append(item)
        size += item.size if isinstance(item, RawDocument) else 0
        if len(batch) >= BATCH_DOCS or size >= batch_bytes:
            yield Batch(number, batch, first_item, input_bytes=credit.take() if credit is not None else None)
            first_item += len(batch)
            number += 1
            batch, size = [], 0
    if batch:
        yield Batch(number, batch, first_item, input_bytes=credit.take() if credit is not None else None)


def range_batches(discovery: Discovery, options: ReadOptions, ids: IdRegistry,
                  whole_files: bool = False, batch_bytes: int | BatchSizes | None = None,
                  credit: DiskCredit | None = None) -> Iterator[Batch]:
    """What `input_items` and `batches` give, for an engine whose workers read: a batch for
    each range of a file they can read themselves (formats.ranges), and for the rest
    batches of items read here or, with ``whole_files``, one batch per file that a worker
    reads whole (`WholeFile`; it may cut it into several batches). Item ordinals
    (``first_item``) are the engine's to count, and the ids are the engine's to check
    (``ids_unchecked``): it sees every batch in input order, which this generator, reading
    ahead of the ranges, does not. Batches hold ``batch_bytes`` of input (default
    BATCH_BYTES; with `BatchSizes`, less towards the end of the input), and so do the parts
    a worker cuts a whole file into. With ``credit``, a batch of items read here is as
    big, for progress, as the bytes on disk they stand for (a worker's range is counted
    as it reads it)."""
    sizes = batch_bytes or BATCH_BYTES
    size_at = sizes if callable(sizes) else (lambda _done: sizes)
    batch_size = size_at(0)

    def sources() -> Iterator[Item | ReadRange | WholeFile]:
        nonlocal batch_size
        yield from discovery.leading
        before = 0  # the input of the files before this one
        for number, f in enumerate(discovery.files):
            batch_size = size_at(before)
            parts = cut_ranges(f, number, options, size_at, before) if splittable(f, options) else None
            if parts is not None:
                yield from parts
            elif whole_files:
                yield WholeFile(f, number, options, batch_size)
            else:
                read = read_file(f, number, options)  # ids are checked in order by the engine
                yield from credit.over_file(number, read) if credit is not None else read
            before += f.size
        yield from discovery.trailing  # after every document, as input_items says them

    number = 0
    batch: list[BatchItem] = []
    size = 0
    for source in sources():
        if isinstance(source, (ReadRange, WholeFile)):
            if batch:
                yield Batch(number, batch, ids_unchecked=True,
                            input_bytes=credit.take() if credit is not None else None)
                number, batch, size = number + 1, [], 0
            yield Batch(number, [], reads=source, ids_unchecked=True)
            number += 1
            continue
        batch.append(source)
        size += source.size if isinstance(source, RawDocument) else 0
        if len(batch) >= BATCH_DOCS or size >= batch_size:
            yield Batch(number, batch, ids_unchecked=True, input_bytes=credit.take() if credit is not None else None)
            number, batch, size = number + 1, [], 0
    if batch:
        yield Batch(number, batch, ids_unchecked=True, input_bytes=credit.take() if credit is not None else None)


def emit(result: Document | Problem | RawDocument, writer: Output, summary: Summary) -> None:
    """Write one processed item and count it. Every engine's batches come here, in input
    order, so they write the same bytes."""
    interrupts.check()
    if isinstance(result, Problem):
        summary.add_problem(result)
        writer.write_problem(result)
    elif isinstance(result, Document):
        writer.write_document(result)
        summary.add_document(result)
    else:
        raise TypeError(f"{result.source}: a raw document reached the writer; the pipeline must start with 'read'")
    summary.items_done += 1


def emit_rendered(rendered: Sequence[Rendered], writer: Output, summary: Summary) -> None:
    """``emit`` for consecutive items a worker encoded (write.Renderer), all in one chunk:
    the same bytes and counts as one at a time."""
    interrupts.check()
    writer.write_rendered(rendered)
    for *_, tally in rendered:
        if isinstance(tally, Problem):
            summary.add_problem(tally)
        else:
            summary.add_tally(*tally)
    summary.items_done += len(rendered)


def unresumable(err: CurateError, engine: str) -> CurateError:
    """A stopped run's error as the engine can follow it: RunStopped advises --resume,
    which only the local engine does (the CLI and the API both say it so)."""
    if engine == "local" or not isinstance(err, RunStopped | WorkerDied):
        return err
    if isinstance(err, WorkerDied):
        # A Ray actor's death (the decider's, or actors dying again and again) is not said
        # as a RunStopped, yet stops the run all the same: it needs the same advice.
        cause = str(err)
    else:
        # Raised in Ray's decider, it comes as a RayTaskError whose ``cause`` is the
        # RunStopped itself, whose words advise --resume.
        cause = err.cause.cause if isinstance(err.cause, RunStopped) else err.cause
    return CurateError(f"{cause}; no final file was written. A run on --engine {engine} cannot be resumed: "
                       "fix the cause, then run the same command with --overwrite to start again.")
