"""Write the corpus, the removal audit, the quarantine and the summary, atomically.

Everything is written into ``OUT/.partial/``, in chunks of documents, and joined
and moved into place only when the run has finished; ``summary.json`` is moved
last, so a folder without it (or with a ``.partial/`` in it) is not a finished
run. ``curate run --resume`` continues from the last finished chunk.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from curate import interrupts
from curate.card import CARD, dataset_card
from curate.document import Document, Problem, RawDocument, Removal
from curate.errors import (
    CurateError,
    Interrupted,
    MachineLimit,
    RunStopped,
    UsageError,
    machine_limit,
    raise_if_machine_limit,
)
from curate.fingerprint import changes
from curate.formats import DEFAULT_SINK, Sink, sink_by_name
from curate.formats.base import LinePart, Part
from curate.formats.jsonl_sink import JsonlSink, dumps
from curate.formats.shards import SCHEMA_VERSION, join_shards
from curate.outdir import (
    CORPUS,
    DISCARDED,
    OUTPUT_FILES,
    PARTIAL,
    QUARANTINE,
    REMOVED,
    RUN_FILE,
    SUMMARY,
    OutputLock,
    clear_folder,
    enclosing_output,
    finished_run_leftover,
    fsync_path,
    inspect_folder,
    naming,
    not_a_folder,
    refusal,
    remove_tree,
    rename_new,
    write_durably,
)
from curate.paths import followed, spelled_as_given, still_leads, unreachable
from curate.summary import Signature, written_types

if TYPE_CHECKING:
    from curate.summary import Summary

__all__ = ["CORPUS", "OUTPUT_FILES", "PARTIAL", "QUARANTINE", "REMOVED", "SUMMARY", "OutputWriter"]

COMMIT_FILE = "commit.json"  # written once the run is over: only the commit is left to do
# The commit's journal: which joined outputs (and the card) it moves from .partial/ into
# the folder, written before the first of them moves. Each is then either still in
# .partial/ (to move) or in the folder (moved): the commit never takes a name it finds in
# the folder for its own unless this says it moved it there.
MOVING_FILE = "moving.json"
STARTING, RESUMING = "starting", "resuming"  # what OutputWriter._prepare is doing (with Interrupted's states)
# The outputs a run writes: the corpus, a folder of shards in the run's output format, and
# the audit files, JSON Lines always.
OUTPUTS = ("corpus", "removed", "quarantine")
TARGETS = {"corpus": CORPUS, "removed": REMOVED, "quarantine": QUARANTINE}
AUDIT_SINK = JsonlSink()


def document_record(doc: Document) -> dict:
    """The output record of a document: its kept text and where each of its lines came from."""
    parts = []
    provenance = []
    previous = None
    for line in doc.lines:
        if previous is not None:
            # A blank line in the source, or a removed line in between, ends a paragraph.
            parts.append("\n\n" if line.gap_before or line.index != previous + 1 else "\n")
        parts.append(line.text if line.shown is None else line.shown)
        previous = line.index
        entry = {"line": line.origin.line, "bytes": [line.origin.byte_start, line.origin.byte_end]}
        label = doc.line_languages.get(line.index)
        if label is not None:
            entry["language"], entry["language_score"] = label
        provenance.append(entry)
    record: dict[str, object] = {
        "id": doc.id,
        "text": "".join(parts),
        "source": doc.source,
        "bytes_of": "file" if doc.record_line is None else "text_field",
        "encoding": doc.encoding,
        "lines": provenance,
    }
    if doc.language is not None:
        record["language"], record["language_score"] = doc.language, doc.language_score
    if doc.metadata:
        record["metadata"] = doc.metadata  # the input record's own fields, apart from curate's
    return record


def removal_record(doc: Document, removal: Removal) -> dict:
    origin = removal.line.origin
    record = {
        "doc": doc.id,
        "source": doc.source,
        "line": origin.line,
        "bytes": [origin.byte_start, origin.byte_end],
        "stage": removal.stage,
        "reason": removal.reason,
        "detail": removal.detail,
        # Not "text": tools that read every *.jsonl for a text field must not count this as kept.
        "removed": removal.line.raw,
    }
    if removal.duplicate_of is not None:
        ref = removal.duplicate_of
        kept: dict[str, object] = {"doc": ref.doc, "source": ref.source, "line": ref.line,
                                   "bytes": [ref.byte_start, ref.byte_end]}
        if ref.against:  # only a run --against writes it: other runs' records are as they were
            kept["against"] = True
        record["duplicate_of"] = kept
        record["similarity"] = removal.similarity
    if removal.score is not None:
        record["noise_score"] = removal.score
    return record


# What the summary counts of one item: a document's (lines read, lines kept, the reason of
# each removed line, its problems, and for a written document of a JSON Lines corpus its
# metadata's JSON types and where it is: Summary.add_types), or the problem that the item is.
Tally = tuple[int, int, tuple[str, ...], tuple[Problem, ...], tuple[Signature, str, int | None] | None] | Problem
# One item ready to write: its corpus record (a JSON line, or the record itself for a sink
# that does not write JSON lines; None: nothing kept), its removed.jsonl and quarantine.jsonl
# lines (b"": none), and its tally.
Rendered = tuple[bytes | dict | None, bytes, bytes, Tally]


@dataclass(frozen=True)
class Renderer:
    """Turns a finished item into the bytes the writer appends, where the item is: in a
    worker, so the process that writes only joins bytes in input order. The same records
    and the same ``dumps`` as ``write_document``, so the bytes are the same."""

    corpus_lines: bool  # the corpus sink takes JSON lines (else records, as parquet does)

    def __call__(self, item: Document | Problem | RawDocument) -> Rendered:
        if isinstance(item, Problem):
            return None, b"", dumps(problem_record(item)) + b"\n", item
        if not isinstance(item, Document):
            raise TypeError(f"{item.source}: a raw document reached the writer; the pipeline must start with 'read'")
        corpus: bytes | dict | None = None
        if item.lines:
            record = document_record(item)
            corpus = dumps(record) + b"\n" if self.corpus_lines else record
        removed = b"".join(dumps(removal_record(item, removal)) + b"\n"
                           for removal in sorted(item.removed, key=lambda r: r.line.index))
        quarantine = b"".join(dumps(problem_record(problem)) + b"\n" for problem in item.problems)
        # Only a JSON Lines corpus's readers type a field by its first shard (Summary.add_types).
        types = written_types(item) if self.corpus_lines else None
        tally = (item.lines_read, len(item.lines), tuple(removal.reason for removal in item.removed),
                 tuple(item.problems), types)
        return corpus, removed, quarantine, tally


def problem_record(problem: Problem) -> dict:
    return {
        "source": problem.source,
        "line": problem.line,
        "bytes": None if problem.byte_start is None else [problem.byte_start, problem.byte_end],
        "problem": problem.problem,
        "action": problem.action,
        "lines": problem.lines,
        "preview": problem.preview,
    }


class OutputWriter:
    """Writes the run in chunks of documents under ``OUT/.partial/``, so a stopped run can
    be resumed from its last finished chunk, then commits: each chunk's corpus part
    becomes a shard of ``corpus/``, the audit parts are joined into one file each, and
    they move into place, ``summary.json`` last.

    A chunk is finished when its ``.done`` marker exists and its parts have the lengths
    the marker records; the marker is written after the chunk's files and its ``.state``
    (its share of the dedup index and the summary so far) are on disk. The commit is a
    journal that a resumed run replays from wherever a kill stopped it (see ``commit``).
    Every error of the disk (full, over a size limit, gone) stops the run with RunStopped,
    which says how to resume; finished chunks are kept.
    """

    # Whether the folder written is where the output belongs, so that summary.json renamed
    # into it finishes the run (a staged writer's folder is uploaded after that: curate.staged).
    _finished_in_place = True

    def __init__(self, out_dir: Path, fingerprint: str, resume: bool = False, overwrite: bool = False,
                 sink: Sink | str = DEFAULT_SINK, resumable: bool = True):
        """``sink``: the corpus format, a registered sink or its name (see curate.formats);
        ``resumable``: the engine keeps the checkpoints a resumed run needs (the Ray
        engine does not: its chunks cannot be continued)."""
        if resume and overwrite:
            raise UsageError("--resume continues the run in the output folder and --overwrite discards it; "
                             "give one of them")
        self.named = out_dir  # as the user gave it, for the messages
        self._place(out_dir)  # by its name until _take_folder finds where that leads
        self.fingerprint = fingerprint
        self.resumable = resumable
        self.sink = sink_by_name(sink) if isinstance(sink, str) else sink
        # What each output's parts are named after: 000000.corpus.jsonl.gz, 000000.removed.jsonl, ...
        self.names = {output: output + (self.sink.suffix if output == "corpus" else AUDIT_SINK.suffix)
                      for output in OUTPUTS}
        self.parts: dict[str, Part] = {}
        self.chunk = 0
        self.committing = False  # the commit record exists: only the commit is left to do
        self._syncer: ThreadPoolExecutor | None = None
        self._syncing: list[Future] = []
        self._created = False  # this run made the folder
        # What _prepare has begun to change, for the message of a Ctrl-C that stops it:
        # None (nothing yet), Interrupted.REPLACING (--overwrite deleting the old output),
        # STARTING (a new .partial/ being made) or RESUMING (the unfinished run taken up).
        self._changing: str | None = None
        try:
            self._take_folder()
            self._prepare(resume, overwrite)
        except BaseException as err:
            stopped: BaseException | None = None
            try:
                left = self._left_setting_up()
                if isinstance(err, KeyboardInterrupt) and not isinstance(err, Interrupted):
                    stopped = Interrupted(left)
                elif isinstance(err, MachineLimit) and left == Interrupted.KEPT:
                    # A .partial/ stays (the run taken up, or a new one the limit kept from
                    # being deleted), which refuses the same command: --resume continues it.
                    stopped = RunStopped(self.shown, str(err))
            finally:
                self._lock.release()
                if self._created:
                    _remove_empty_folder(self.out_dir)
            if stopped is not None:
                raise stopped from None
            raise

    def _place(self, folder: Path) -> None:
        self.out_dir = folder
        self.partial = folder / PARTIAL
        # The dedup index's files: inside the partial folder, so they are on the output's
        # disk (not a small /tmp) and go with it.
        self.scratch: Path | None = self.partial / "index"
        self._lock = OutputLock(folder)

    def _take_folder(self) -> None:
        """Create the folder if need be, follow its name to the folder itself once, and
        lock that: every file of the run, the lock too, is then written in the one folder
        the name led to when the run began (paths.followed), and the commit checks the
        name still leads there (_check_name)."""
        try:
            what = not_a_folder(self.named)
            inside = enclosing_output(self.named) if what is None else None
        except OSError as err:  # a path too long for the system (the folder's, or the current one's)
            raise unreachable(str(self.named), err, None) from None
        if what is not None:
            raise UsageError(what)
        if inside is not None:
            raise UsageError(f"{self.named}: inside {inside}; a run's commit moves its output into its folder, and "
                             "--overwrite deletes it, so an output folder inside another is lost or mixed into it: "
                             "choose a folder outside it with -o DIR")
        try:
            self._created = not self.named.is_dir()
            self.named.mkdir(parents=True, exist_ok=True)
            self._place(followed(self.named))
            self._lock.acquire()
        except OSError as err:
            raise_if_machine_limit(err, f"taking the output folder {self.named}")  # the folder is fine
            raise UsageError(f"{self.named}: cannot write the output folder ({err.strerror}); "
                             "choose another with -o DIR or fix its permissions") from err

    @property
    def shown(self) -> Path:
        """The folder as the messages name it: as the user gave it, while that name still
        leads to the folder written; else the folder itself, where the run's files are."""
        return self.named if still_leads(self.named, self.out_dir) else self.out_dir

    def _check_name(self) -> None:
        """Before the rename that finishes the run: stop if the name the user gave leads
        to another folder now (a symlink repointed during the run). Finished in the folder
        it began in, the run would be where the user no longer looks, and a report or a
        --resume by that name would read the other folder. Checked last, so that nothing
        but that rename comes after it; what the commit moved already is its journal's,
        which a --resume in the folder replays."""
        if not still_leads(self.named, self.out_dir):
            raise RunStopped(self.out_dir, (
                f"-o {self.named} no longer leads to {self.out_dir}, the folder this run wrote (it was pointed "
                f"elsewhere during the run); point {self.named} at {self.out_dir} again, or give -o {self.out_dir}"))

    def _left_setting_up(self) -> str:
        """An error or a Ctrl-C before the run began: the Interrupted state the folder is
        left in. A new run's half-made .partial/ is deleted, so that the folder is as it
        was: left, it made the same command (which a stop for too many open files says
        to run again) refused for an unfinished run in the folder."""
        if self._changing == Interrupted.REPLACING:
            return Interrupted.REPLACING
        if self._changing == RESUMING:
            return Interrupted.KEPT  # the unfinished run is as it was, less its unfinished chunk
        if self._changing == STARTING and not self._drop_new_partial():
            return Interrupted.KEPT  # still there: --resume starts it afresh
        return Interrupted.UNTOUCHED

    def _drop_new_partial(self) -> bool:
        """Delete the .partial/ this run began (it holds no chunk yet); True if it is gone."""
        for part in self.parts.values():
            with contextlib.suppress(OSError):
                part.close()
        self.parts = {}
        try:
            remove_tree(self.partial)
        except OSError:
            return False
        return True

    def _prepare(self, resume: bool, overwrite: bool) -> None:
        try:
            remove_tree(self.out_dir / DISCARDED)  # what a finished commit left to delete
            if self._finished_in_place and finished_run_leftover(self.out_dir):
                remove_tree(self.partial)  # likewise, where it could not be renamed aside
            state = inspect_folder(self.out_dir)
            refused = refusal(self.named, state, resume, overwrite)
            if refused is not None and state.kind == "unfinished" and not resume and self._left_by_ray():
                raise UsageError(f"{self.named}: the folder holds an unfinished run (.partial/) of an engine that "
                                 "keeps no checkpoints (--engine ray); use --overwrite to discard it and start again")
            if refused is not None:
                raise refused
            if resume:
                self._changing = RESUMING
                if self._resumable():
                    self._resume()
                else:
                    self._start()
                return
            if overwrite:
                self._changing = Interrupted.REPLACING
                clear_folder(self.out_dir)
            else:
                self._changing = STARTING
            self._start()
        except OSError as err:
            raise_if_machine_limit(err, f"preparing the output folder {self.named}")  # the folder is fine
            raise UsageError(f"{self.named}: cannot write the output folder ({err.strerror}); "
                             "choose another with -o DIR or fix its permissions") from err

    def _start(self) -> None:
        remove_tree(self.partial)
        self.partial.mkdir()
        write_durably(self.partial / RUN_FILE, json.dumps(self._run_record()).encode() + b"\n")
        fsync_path(self.out_dir)
        self._open_chunk()

    def _run_record(self) -> dict:
        # The sink is named only when it is not the default, so run.json stays as it was.
        sink = {} if self.sink.name == DEFAULT_SINK else {"sink": self.sink.name}
        # Named only when false, so run.json stays as it was for the runs that can resume.
        resumable = {} if self.resumable else {"resumable": False}
        # The fingerprint's parts, when the plan gave them: only for the words of a refusal
        # (_resumable), never compared (the fingerprint is their hash).
        parts = getattr(self.fingerprint, "parts", None)
        return {"fingerprint": str(self.fingerprint), **sink, **resumable,
                **({"parts": parts} if parts is not None else {})}

    # -- resuming ---------------------------------------------------------------------
    def _left_by_ray(self) -> bool:
        """Whether .partial's run record says its engine keeps no checkpoints (as far as
        it can be read: a damaged one is _resumable's to report)."""
        try:
            recorded = json.loads((self.partial / RUN_FILE).read_bytes())
        except (OSError, ValueError):
            return False
        return isinstance(recorded, dict) and recorded.get("resumable", True) is False

    def _resumable(self) -> bool:
        """True if .partial holds a run to continue; refuses one made with other settings
        (or another output format, whose parts this sink cannot join).
        A .partial without its run file was stopped before it wrote anything."""
        damaged = UsageError(f"{self.named}: the unfinished run there is damaged ({RUN_FILE} cannot be read), "
                             "so it cannot be resumed; use --overwrite to start again")
        try:
            recorded = json.loads((self.partial / RUN_FILE).read_bytes())
        except FileNotFoundError:
            return False
        except ValueError as err:
            raise damaged from err
        if not isinstance(recorded, dict):
            raise damaged
        if recorded.get("resumable", True) is False:
            # Its chunks hold no dedup journal: continued, the paragraphs they kept would
            # not be in the index, and their copies in the rest of the input would stay.
            raise UsageError(
                f"{self.named}: the unfinished run there ran on an engine that keeps no checkpoints "
                "(--engine ray), so it cannot be resumed; use --overwrite to discard it and start again")
        ours = self._run_record()
        before, now = recorded.pop("parts", None), ours.pop("parts", None)
        if recorded != ours:
            changed = changes(before, now) if isinstance(before, dict) and isinstance(now, dict) else ""
            raise UsageError(
                f"{self.named}: the unfinished run there used other inputs, rules or options"
                f"{f' ({changed})' if changed else ''}, so it cannot be resumed; use --overwrite to discard it "
                "and start again, or rerun it as it was")
        return True

    def _resume(self) -> None:
        record = self._commit_record()
        if record is not None:
            self.committing = True
            self.chunk = record["chunks"]
            return
        self.chunk = self._finished_chunks()
        self._drop_chunks_from(self.chunk)
        self._open_chunk()

    def _commit_record(self) -> dict | None:
        return self._partial_json(COMMIT_FILE, "the commit record")

    def _partial_json(self, name: str, what: str) -> Any:
        """The JSON value of a record the commit keeps in .partial/ (None before it is
        written); said damaged, with what to do, when it is not JSON."""
        try:
            return json.loads((self.partial / name).read_bytes())
        except FileNotFoundError:
            return None
        except ValueError as err:  # written durably, so only a damaged disk gets here
            raise self._damaged(what) from err

    def _damaged(self, what: str) -> UsageError:
        return UsageError(f"{self.named}: {what} in .partial/ is damaged; use --overwrite to start again")

    def _finished_chunks(self) -> int:
        """How many chunks, from the first, are finished and complete on disk: marked
        finished, with their state, and each part of the length its marker recorded (a
        part cut short or emptied since, joined as it was, made a broken shard or lost
        audit records with exit 0; a marker that cannot be read, as one a crash left
        empty, vouches for nothing: the chunk is redone)."""
        n = 0
        while (self.partial / f"{n:06d}.state").exists() and self._parts_as_finished(n):
            n += 1
        return n

    def _parts_as_finished(self, chunk: int) -> bool:
        try:
            recorded = json.loads((self.partial / f"{chunk:06d}.done").read_bytes())
            return all(os.stat(self._part_path(chunk, output)).st_size == recorded[output] for output in OUTPUTS)
        except (OSError, ValueError, TypeError, KeyError):
            return False

    def _drop_chunks_from(self, first: int) -> None:
        for path in self.partial.glob("[0-9]*.*"):
            if path.name[:6].isdigit() and int(path.name[:6]) >= first:
                path.unlink(missing_ok=True)

    def restore(self) -> tuple[list, object | None, int]:
        """(what each finished chunk added to the dedup index, summary state, items done).
        A chunk whose state cannot be read is redone, and every chunk after it."""
        journals: list = []
        state = None
        first = self.chunk - 1 if self.committing else 0  # a commit needs only the final summary
        for k in range(max(first, 0), self.chunk):
            try:
                with open(self.partial / f"{k:06d}.state", "rb") as f:
                    journal, state = pickle.load(f)
            except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError,
                    AttributeError, ImportError) as err:  # what a truncated or garbled pickle raises
                if self.committing:
                    raise UsageError(f"{self.named}: the unfinished commit in .partial/ is damaged ({err}); "
                                     "use --overwrite to start again") from err
                self._redo_from(k)
                break
            if journal is not None:
                journals.append(journal)
        items = getattr(state, "items_done", 0)  # a Summary, or None before the first chunk
        return journals, state, items

    def _redo_from(self, chunk: int) -> None:
        for part in self.parts.values():
            part.close()
        self.chunk = chunk
        self._drop_chunks_from(chunk)
        self._open_chunk()

    # -- writing ------------------------------------------------------------------------
    def _part_path(self, chunk: int, output: str) -> Path:
        return self.partial / f"{chunk:06d}.{self.names[output]}"

    def _open_chunk(self) -> None:
        parts: dict[str, Part] = {}
        try:
            for output in OUTPUTS:
                sink = self.sink if output == "corpus" else AUDIT_SINK
                parts[output] = sink.open(self._part_path(self.chunk, output))
        finally:
            self.parts = parts  # those opened are closed by whoever handles the error

    def write_document(self, doc: Document) -> None:
        if doc.lines:
            self._write("corpus", document_record(doc))
        for removal in sorted(doc.removed, key=lambda r: r.line.index):
            self._write("removed", removal_record(doc, removal))
        for problem in doc.problems:
            self.write_problem(problem)

    def write_problem(self, problem: Problem) -> None:
        self._write("quarantine", problem_record(problem))

    def renderer(self) -> Renderer:
        """How workers turn items into what ``write_rendered`` takes."""
        return Renderer(corpus_lines=getattr(self.sink, "writes_lines", False))

    def write_rendered(self, items: Sequence[Rendered]) -> None:
        """Items a worker encoded, in order, all in the current chunk: each output file gets
        their bytes joined, in one write (a part never sees an empty write: a compressed one
        would start its stream)."""
        records = [corpus for corpus, *_ in items if corpus is not None]
        if records and isinstance(records[0], dict):  # the sink takes records (parquet)
            for record in records:
                self._write("corpus", cast(dict, record))
        elif records:
            self._write_line("corpus", b"".join(cast(list[bytes], records)))
        removed = b"".join([item[1] for item in items])
        if removed:
            self._write_line("removed", removed)
        quarantine = b"".join([item[2] for item in items])
        if quarantine:
            self._write_line("quarantine", quarantine)

    def _write_line(self, output: str, data: bytes) -> None:
        try:
            cast(LinePart, self.parts[output]).write_line(data)
        except OSError as err:
            raise self._stopped(err, self._part_path(self.chunk, output)) from err

    def _write(self, output: str, record: dict) -> None:
        try:
            self.parts[output].write(record)
        except OSError as err:
            raise self._stopped(err, self._part_path(self.chunk, output)) from err

    def end_chunk(self, index_journal: object, summary_state: object) -> None:
        """Close the current chunk and start the next one. The chunk is made durable and
        marked finished on a background thread: its five fsyncs took ~10 ms each, a twentieth
        of the run on paragraph-sized records, and they only wait on the disk."""
        try:
            self._close_files()
            # Pickled here, not on the thread: the summary goes on changing with the next chunk.
            state = pickle.dumps((index_journal, summary_state), protocol=pickle.HIGHEST_PROTOCOL)
            for finished in [p for p in self._syncing if p.done()]:
                finished.result()  # a disk error surfaces at the next chunk, not at the end
                self._syncing.remove(finished)
            if self._syncer is None:
                self._syncer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="curate-sync")
            # One thread, so chunks are marked finished in order.
            self._syncing.append(self._syncer.submit(self._finish_chunk, self.chunk, state))
            self.chunk += 1
            self._open_chunk()
        except OSError as err:
            raise self._stopped(err) from err

    def _close_files(self) -> None:
        """Close the chunk's parts; a write that only fails on the final flush fails here."""
        parts, self.parts = self.parts, {}
        failure: OSError | None = None
        for output, part in parts.items():
            try:
                part.close()
            except OSError as err:
                if err.filename is None:  # a buffered flush does not name its file: the message must
                    err.filename = str(self._part_path(self.chunk, output))
                failure = failure or err
        if failure is not None:
            raise failure

    def _finish_chunk(self, chunk: int, state: bytes) -> None:
        """Make a closed chunk durable, then mark it finished: a resumed run trusts a
        chunk only if its ``.done`` marker exists, and the marker comes last."""
        for output in OUTPUTS:
            fsync_path(self._part_path(chunk, output))
        state_file = self.partial / f"{chunk:06d}.state"
        with naming(state_file), open(state_file, "wb") as f:
            f.write(state)
            f.flush()
            os.fsync(f.fileno())
        fsync_path(self.partial)  # the chunk's names too, before the marker vouches for them
        # The marker holds each part's length, which a resumed run checks (_finished_chunks):
        # a stat per part, where a checksum would read the whole output again.
        sizes = {output: os.stat(self._part_path(chunk, output)).st_size for output in OUTPUTS}
        (self.partial / f"{chunk:06d}.done").write_bytes(json.dumps(sizes).encode() + b"\n")

    def _wait_for_syncs(self) -> None:
        pending, self._syncing = self._syncing, []
        try:
            for future in pending:
                future.result()
        finally:
            if self._syncer is not None:
                self._syncer.shutdown()
                self._syncer = None

    # -- committing ---------------------------------------------------------------------
    def seal(self, summary: Summary) -> None:
        """The commit's first step alone: every chunk durable and marked finished, the last
        one too, then ``summary.json`` and the commit record. From here a resumed run only
        commits, so what the run kept to decide its chunks (the dedup barrier's files) may
        go. The background syncs lag behind the chunks written: before this returns, a kill
        can leave chunks that a resumed run must write again. ``commit`` seals first."""
        if self.committing:
            return
        try:
            self._wait_for_syncs()
            self._close_files()
            state = pickle.dumps((None, summary), protocol=pickle.HIGHEST_PROTOCOL)
            self._finish_chunk(self.chunk, state)
            self.chunk += 1
            record = {**summary.to_json(), "output": self._output_record()}
            text = json.dumps(record, ensure_ascii=False, sort_keys=True, indent=2) + "\n"
            # summary.json says every problem is in quarantine.jsonl and counts each removed line.
            audits = tuple(name for name, records in ((REMOVED, summary.lines_removed),
                                                      (QUARANTINE, summary.problems_total)) if records)
            card = dataset_card(self.sink.suffix, audits, corpus=summary.lines_kept > 0,
                                against=summary.against is not None)
            write_durably(self.partial / CARD, card.encode("utf-8"))
            write_durably(self.partial / SUMMARY, text.encode("utf-8"))
            write_durably(self.partial / COMMIT_FILE, json.dumps({"chunks": self.chunk}).encode() + b"\n")
            self.committing = True
        except OSError as err:
            raise self._stopped(err) from err

    def commit(self, summary: Summary) -> None:
        """Finish the run: the output files move into place, ``summary.json`` last.

        The steps, each one durable before the next, so that a resumed run finishes a
        commit that a kill stopped at any point and writes the same bytes:

        1. the last chunk is finished like any other (its state holds the final summary),
           then ``summary.json`` and the commit record (how many chunks) go into .partial/,
           and the other chunks' states are deleted;
        2. each chunk's corpus part that holds a record is moved into ``.partial/corpus/``
           as a shard (a folder renamed from ``corpus.building/`` when all are in), and each
           audit output's chunks are joined into ``.partial/NAME`` (the JSONL join appends
           chunk after chunk to the first and journals how far it got, so it needs free
           space for one chunk, not for a second copy); both are resumable;
        3. ``corpus/`` and the audit files are renamed into place, then ``summary.json``;
        4. ``.partial/`` is renamed aside and deleted.

        Before step 3 the commit journals what it moves (MOVING_FILE): a name the journal
        holds that is no longer in .partial/ is in the folder, moved by this commit; one in
        the folder that the commit did not move there (made during the run) stops it, named,
        and is never replaced; one it moved that is gone from the folder since (deleted
        after a kill) stops a resumed commit, named, as the run can no longer be finished.
        """
        self.seal(summary)
        self._check_name()  # before anything moves (and again before the last rename)
        try:
            self._drop_states_before(self.chunk - 1)
            moving = self._moving()
            if moving is None:
                for output in OUTPUTS:
                    self._join(output)
                moving = [name for name in (*TARGETS.values(), CARD) if os.path.lexists(self.partial / name)]
                write_durably(self.partial / MOVING_FILE, json.dumps(moving).encode() + b"\n")
            self._move_into_place(moving)
            self._publish()
        except OSError as err:
            raise self._stopped(err) from err
        self._discard_partial()
        self._lock.release()

    def _publish(self) -> None:
        """After the output is in place and before .partial/ goes: a writer whose folder is
        only a staging place copies it to where it belongs (curate.staged). A kill here
        leaves the commit record, so a resumed run publishes again."""

    def _output_record(self) -> dict:
        """What summary.json says of the corpus folder: its schema and format. Not its
        shards: a summary is the same for any --chunk-docs, as the records are."""
        return {"schema_version": SCHEMA_VERSION, "corpus": CORPUS + "/", "format": self.sink.name}

    def _drop_states_before(self, last: int) -> None:
        """Free the chunks' dedup journals before the join needs the space: a commit reads
        only the last chunk's state (the final summary)."""
        for k in range(last):
            (self.partial / f"{k:06d}.state").unlink(missing_ok=True)

    def _moving(self) -> list[str] | None:
        """The commit's journal of what it moves into the folder; None before it is written."""
        what = f"the commit journal ({MOVING_FILE})"
        moving = self._partial_json(MOVING_FILE, what)
        if moving is not None and not (isinstance(moving, list) and all(isinstance(name, str) for name in moving)):
            raise self._damaged(what)
        return moving

    def _join(self, output: str) -> None:
        target = self.partial / TARGETS[output]
        parts = [self._part_path(k, output) for k in range(self.chunk)]
        if output == "corpus":
            join_shards(parts, target, self.sink.suffix)
        else:
            AUDIT_SINK.join(parts, target)

    def _move_into_place(self, moving: list[str]) -> None:
        """Move what the journal names, then summary.json, each to a name that must not
        exist: an entry there that this commit did not make stops it (_intruder)."""
        pending = [name for name in moving if os.path.lexists(self.partial / name)]
        gone = [name for name in moving if name not in pending and not os.path.lexists(self.out_dir / name)]
        if gone:
            raise self._missing(gone)
        last = [SUMMARY] if os.path.lexists(self.partial / SUMMARY) else []
        for name in pending + last:
            if os.path.lexists(self.out_dir / name):
                raise self._intruder(name)
        for name in pending:
            try:
                rename_new(self.partial / name, self.out_dir / name)
            except FileExistsError:
                raise self._intruder(name) from None
        fsync_path(self.out_dir)
        if last:
            self._check_name()
            if self._finished_in_place:
                # The rename that finishes the run: a Ctrl-C from here on has nothing to stop.
                interrupts.too_late()
            try:
                rename_new(self.partial / SUMMARY, self.out_dir / SUMMARY)
            except FileExistsError:
                raise self._intruder(SUMMARY) from None
            fsync_path(self.out_dir)

    def _intruder(self, name: str) -> CurateError:
        """An entry under one of the output's names that this run did not make (another
        run's output folder, a user's README.md, a folder made there during the run)."""
        where = self.shown / name
        return CurateError(
            f"{where}: made in the output folder while the run was writing it, not by this run; curate never "
            f"replaces what it did not write, so the run stopped before moving its {name} there. Its output is "
            f"kept in {self.shown}/{PARTIAL}/: move {where} out of the folder, then run the same command with "
            "--resume to finish the run")

    def _missing(self, names: list[str]) -> CurateError:
        """Outputs this commit moved into the folder (its journal says so) that are gone
        since: deleted or moved away after a run stopped in its commit."""
        listed = ", ".join(str(self.shown / name) for name in names)
        return CurateError(
            f"{listed}: missing; this run's stopped commit had moved {'it' if len(names) == 1 else 'them'} into "
            f"the output folder, and {'it was' if len(names) == 1 else 'they were'} deleted or moved away since, "
            "so the run cannot be finished: put it back, or run the same command with --overwrite (not --resume) "
            "to run again")

    def finished(self) -> bool:
        """Whether this run's output is finished where it belongs: its commit renamed
        summary.json into the folder, so what a Ctrl-C or an error stopped after that was
        only clean-up."""
        try:
            return self.committing and not (self.partial / SUMMARY).exists() and (self.out_dir / SUMMARY).exists()
        except OSError:
            return False

    def _discard_partial(self) -> None:
        """The run is finished and on disk; what is left is only clean-up, so it may fail
        but never hides the finished run: a .partial/ (or .partial-discarded/) beside
        summary.json is a finished run's leftover (outdir.finished_run_leftover), which the
        next run into the folder deletes."""
        try:
            os.replace(self.partial, self.out_dir / DISCARDED)
        except OSError:
            with contextlib.suppress(OSError):
                remove_tree(self.partial)  # in place, as far as it goes
            return
        with contextlib.suppress(OSError):
            fsync_path(self.out_dir)
            remove_tree(self.out_dir / DISCARDED)

    def finish_after_interrupt(self) -> None:
        """The clean-up of a finished run that a Ctrl-C stopped (see ``finished``)."""
        self._discard_partial()
        self._lock.release()

    # -- stopping -------------------------------------------------------------------------
    def _stopped(self, err: OSError, path: Path | None = None) -> RunStopped:
        where = err.filename if err.filename is not None else path or self.partial
        where = spelled_as_given(os.fsdecode(where), self.out_dir, self.named)
        limit = machine_limit(err, f"writing {where}")  # too many open files: says which limit, and how to raise it
        cause = str(limit) if limit is not None else f"cannot write {where}: {err.strerror or err}"
        return RunStopped(self.shown, cause)

    def interrupt(self) -> None:
        """Stop writing; finished chunks stay for --resume, the unfinished one is dropped.
        Runs while another error is on its way to the user, so it never raises one of its own."""
        # Chunks already closed are kept if they can be; one that failed has no marker, so a
        # resumed run redoes it.
        with contextlib.suppress(OSError):
            self._wait_for_syncs()
        for part in self.parts.values():
            with contextlib.suppress(OSError):  # a full disk fails the flush too; the chunk is dropped anyway
                part.close()
        self.parts = {}
        if not self.committing:
            with contextlib.suppress(OSError):
                self._drop_chunks_from(self.chunk)
        self._lock.release()


def _remove_empty_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        folder.rmdir()
