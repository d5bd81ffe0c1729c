"""Write the corpus, the removal audit, the quarantine and the summary, atomically.

Everything is written into ``OUT/.partial/``, in chunks of documents, and joined
and moved into place only when the run has finished; ``summary.json`` is moved
last, so a folder without it (or with a ``.partial/`` in it) is not a finished
run. ``curate run --resume`` continues from the last finished chunk.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import orjson

from curate.document import Document, Problem, Removal
from curate.errors import UsageError

CORPUS = "corpus.jsonl"
REMOVED = "removed.jsonl"
QUARANTINE = "quarantine.jsonl"
SUMMARY = "summary.json"
PARTIAL = ".partial"
OUTPUT_FILES = (CORPUS, REMOVED, QUARANTINE)


_LINE_BREAKERS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_LINE_BREAKER_BYTES = {ch.encode("utf-8"): escaped.encode("ascii") for ch, escaped in _LINE_BREAKERS.items()}


def _dumps(record: dict) -> bytes:
    """One JSON line: sorted keys, no ASCII escaping (byte-identical across runs, readable).

    orjson writes the same bytes as ``json.dumps(ensure_ascii=False, sort_keys=True,
    separators=(",", ":"))`` for what records hold (strings, ints, lists, and floats rounded
    to 4 places, which never take an exponent) at a fraction of the cost; anything it
    refuses (a lone surrogate, an int beyond 64 bits) goes through json as before."""
    try:
        data = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        data = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    # NEL and the Unicode line and paragraph separators stay raw in JSON, and readers that
    # split lines the Unicode way (str.splitlines, some JSONL loaders) would cut the record
    # in two. They can only occur inside strings, so escaping them keeps the JSON the same.
    if not data.isascii():
        for raw, escaped in _LINE_BREAKER_BYTES.items():
            if raw in data:
                data = data.replace(raw, escaped)
    return data


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def document_record(doc: Document) -> dict:
    """The output record of a document: its kept text and where each of its lines came from."""
    parts = []
    provenance = []
    previous = None
    for line in doc.lines:
        if previous is not None:
            # A blank line in the source, or a removed line in between, ends a paragraph.
            parts.append("\n\n" if line.gap_before or line.index != previous + 1 else "\n")
        parts.append(line.text)
        previous = line.index
        entry = {"line": line.origin.line, "bytes": [line.origin.byte_start, line.origin.byte_end]}
        label = doc.line_languages.get(line.index)
        if label is not None:
            entry["language"], entry["language_score"] = label
        provenance.append(entry)
    record = {
        "id": doc.id,
        "text": "".join(parts),
        "source": doc.source,
        "bytes_of": "file" if doc.record_line is None else "text_field",
        "encoding": doc.encoding,
        "lines": provenance,
    }
    if doc.language is not None:
        record["language"], record["language_score"] = doc.language, doc.language_score
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
        record["duplicate_of"] = {"doc": ref.doc, "source": ref.source, "line": ref.line,
                                  "bytes": [ref.byte_start, ref.byte_end]}
        record["similarity"] = removal.similarity
    return record


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
    """Writes the run in chunks of documents under ``OUT/.partial/``, so a killed run can
    be resumed from its last finished chunk, then joins the chunks into the final files.

    A chunk is finished when its ``.done`` marker exists; the marker is written after the
    chunk's files, its share of the dedup index and the summary so far are on disk.
    """

    def __init__(self, out_dir: Path, fingerprint: str, resume: bool = False):
        self.out_dir = out_dir
        self.partial = out_dir / PARTIAL
        self.fingerprint = fingerprint
        self.files: dict[str, object] = {}
        self.chunk = 0
        self._syncer: ThreadPoolExecutor | None = None
        self._syncing: list[Future] = []
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            if resume and self._resumable():
                self.chunk = self._finished_chunks()
                self._drop_chunks_from(self.chunk)
            else:
                if self.partial.exists():
                    shutil.rmtree(self.partial)
                self.partial.mkdir()
                (self.partial / "run.json").write_text(json.dumps({"fingerprint": fingerprint}) + "\n")
            self._open_chunk()
        except OSError as err:
            raise UsageError(f"{out_dir}: cannot write the output folder ({err.strerror}); "
                             "choose another with -o DIR or fix its permissions") from err

    # -- resuming ---------------------------------------------------------------------
    def _resumable(self) -> bool:
        run_file = self.partial / "run.json"
        if not run_file.exists():
            return False
        recorded = json.loads(run_file.read_text()).get("fingerprint")
        if recorded != self.fingerprint:
            raise UsageError(
                f"{self.out_dir}: the unfinished run there used other inputs, rules or options, so it "
                "cannot be resumed; run without --resume to start again")
        return True

    def _finished_chunks(self) -> int:
        n = 0
        while (self.partial / f"{n:06d}.done").exists():
            n += 1
        return n

    def _drop_chunks_from(self, first: int) -> None:
        for path in self.partial.glob("[0-9]*.*"):
            if int(path.name[:6]) >= first:
                path.unlink()

    def restore(self) -> tuple[list, object | None, int]:
        """(what each finished chunk added to the dedup index, summary state, items done)."""
        journals: list = []
        state = None
        for k in range(self.chunk):
            with open(self.partial / f"{k:06d}.state", "rb") as f:
                journal, state = pickle.load(f)
            journals.append(journal)
        items = state.items_done if state is not None else 0  # type: ignore[attr-defined]
        return journals, state, items

    # -- writing ------------------------------------------------------------------------
    def _open_chunk(self) -> None:
        self.files = {name: open(self.partial / f"{self.chunk:06d}.{name}", "wb")
                      for name in OUTPUT_FILES}

    def write_document(self, doc: Document) -> None:
        if doc.lines:
            self.files[CORPUS].write(_dumps(document_record(doc)) + b"\n")
        if doc.removed:
            out = self.files[REMOVED]
            for removal in sorted(doc.removed, key=lambda r: r.line.index):
                out.write(_dumps(removal_record(doc, removal)) + b"\n")
        for problem in doc.problems:
            self.write_problem(problem)

    def write_problem(self, problem: Problem) -> None:
        self.files[QUARANTINE].write(_dumps(problem_record(problem)) + b"\n")

    def end_chunk(self, index_journal: object, summary_state: object) -> None:
        """Close the current chunk and start the next one. The chunk is made durable and
        marked finished on a background thread: its five fsyncs took ~10 ms each, a twentieth
        of the run on paragraph-sized records, and they only wait on the disk."""
        for f in self.files.values():
            f.close()
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

    def _finish_chunk(self, chunk: int, state: bytes) -> None:
        """Make a closed chunk durable, then mark it finished: a resumed run trusts a
        chunk only if its ``.done`` marker exists, and the marker comes last."""
        for name in OUTPUT_FILES:
            _fsync_path(self.partial / f"{chunk:06d}.{name}")
        with open(self.partial / f"{chunk:06d}.state", "wb") as f:
            f.write(state)
            f.flush()
            os.fsync(f.fileno())
        (self.partial / f"{chunk:06d}.done").touch()

    def _wait_for_syncs(self) -> None:
        pending, self._syncing = self._syncing, []
        for future in pending:
            future.result()
        if self._syncer is not None:
            self._syncer.shutdown()
            self._syncer = None

    def commit(self, summary: dict) -> None:
        """Join the chunks into the final files and move them into place, the summary last."""
        self._wait_for_syncs()
        for f in self.files.values():
            f.close()  # no fsync: the last chunk is never resumed from, the joined files are
        for name in OUTPUT_FILES:
            joined_path = self.partial / name
            parts = [self.partial / f"{k:06d}.{name}" for k in range(self.chunk + 1)]
            if len(parts) == 1:
                # A run of one chunk (most runs) copies nothing. That chunk has no marker,
                # so no resumed run can miss its files if this one stops here.
                os.replace(parts.pop(), joined_path)
            with open(joined_path, "ab" if not parts else "wb") as joined:
                for part in parts:
                    with open(part, "rb") as f:
                        shutil.copyfileobj(f, joined)
                joined.flush()
                os.fsync(joined.fileno())
        final_summary = self.out_dir / SUMMARY
        if final_summary.exists():
            final_summary.unlink()  # until the new one lands, the folder must not look finished
        for name in OUTPUT_FILES:
            os.replace(self.partial / name, self.out_dir / name)
        tmp = self.partial / SUMMARY
        tmp.write_text(json.dumps(summary, ensure_ascii=False, sort_keys=True, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, final_summary)
        shutil.rmtree(self.partial)

    def interrupt(self) -> None:
        """Stop writing; finished chunks stay for --resume, the unfinished one is dropped."""
        try:
            self._wait_for_syncs()  # chunks already closed are kept if they can be
        except OSError:
            pass  # the chunk that failed has no marker, so a resumed run redoes it
        for f in self.files.values():
            f.close()
        self._drop_chunks_from(self.chunk)
