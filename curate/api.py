"""The Python API: the pipeline of `curate run` from code, with the same results.

    import curate

    cleaned = curate.clean_text(page_text)
    cleaned.text            # the kept text, as in corpus.jsonl
    cleaned.removed         # every removed line: its text, line, stage and reason

    results = curate.process([{"id": "a", "text": ..., "url": ...}, ...])
    curate.run(["crawl/"], "clean/", workers=2)   # files to an output folder, as the CLI

Every function runs the one driver (curate/driver.py) that the command line runs, so a
record processed here equals the record `curate run` writes for the same input.
"""

from __future__ import annotations

import json
import math
import os
import reprlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from curate.discover import Discovery, InputFile
from curate.document import Document, Problem, RawDocument
from curate.driver import MemoryOutput, RunConfig, plan
from curate.driver import run as run_driver
from curate.engines import engine_for
from curate.formats import DEFAULT_MAX_DOC_BYTES, DEFAULT_MAX_DOC_LINES, DEFAULT_MAX_LINE_BYTES
from curate.formats.ids import DUPLICATE_ID, IdRegistry, with_id_problems
from curate.formats.jsonl import parse_record, too_deep, too_large_problem
from curate.rules import RuleSet, load_rules
from curate.stages import DEDUP_PIPELINE, RUN_PIPELINE
from curate.stages.dedup.signature import DedupConfig
from curate.stages.site_census import active_site_stage
from curate.storage import as_location
from curate.summary import Summary
from curate.write import document_record, problem_record, removal_record

__all__ = ["Cleaned", "clean_text", "process", "ruleset", "run"]


@dataclass(frozen=True)
class Cleaned:
    """One record through the pipeline: the records `curate run` would write for it."""

    id: str
    text: str  # the kept text ("" when every line was removed)
    record: dict[str, Any] | None  # its corpus.jsonl record; None when no line was kept
    removed: list[dict[str, Any]] = field(default_factory=list)  # its removed.jsonl records, in line order
    problems: list[dict[str, Any]] = field(default_factory=list)  # its quarantine.jsonl records


def ruleset(folders: Sequence[str | os.PathLike] = (), builtin: bool = True, disabled: Sequence[str] = (),
            enabled: Sequence[str] = (), keep_languages: Sequence[str] = ()) -> RuleSet:
    """The rule set to clean with: the built-in pack (unless ``builtin=False``) and the
    *.toml files of ``folders``, with the packs or rules named in ``enabled`` turned on
    (``--enable``: e.g. "gopher-quality"), those in ``disabled`` turned off, and with
    ``keep_languages`` (``--keep-lang``) a document rule that drops every other language.
    Unlike the CLI, ./rules/ is not read unless named: code should not depend on where it
    runs."""
    return load_rules([Path(f) for f in folders], builtin=builtin, disabled=tuple(disabled), enabled=tuple(enabled),
                      keep_languages=tuple(keep_languages))


def clean_text(text: str, *, id: str = "text", ruleset: RuleSet | None = None) -> Cleaned:
    """Clean one text as `curate run` cleans one record: normalise, strip noise, label the
    language and remove paragraphs repeated within the text. A text of more than
    --max-doc-bytes (64 MiB as a JSON line) is not cleaned: its Cleaned says so in
    ``problems``, as for a record of `process`, which takes other limits."""
    [cleaned] = process([{"id": id, "text": text}], ruleset=ruleset)
    return cleaned


def process(records: Iterable[Mapping[str, Any]], *, text_field: str = "text", ruleset: RuleSet | None = None,
            dedup: DedupConfig | None = None, source: str = "records", workers: int = 1,
            stages: Sequence[str] = RUN_PIPELINE, max_doc_bytes: int = DEFAULT_MAX_DOC_BYTES,
            max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, max_doc_lines: int = DEFAULT_MAX_DOC_LINES,
            ) -> list[Cleaned]:
    """Every record through the pipeline, as if the records were the lines of one JSONL
    file named ``source``: each record read as the JSONL reader reads the JSON line that
    holds it (compact UTF-8; an integer beyond 64 bits written whole, a lone surrogate as
    its escape, NaN as null), with the same ids, metadata, problems (a record over
    ``max_doc_bytes`` as that line, a reused id) and verdicts, the site pass and the
    deduplication included. ``max_doc_bytes``, ``max_line_bytes`` and ``max_doc_lines``
    are the options --max-doc-bytes, --max-line-bytes and --max-doc-lines, ``workers`` is
    --workers. ``stages=curate.stages.DEDUP_PIPELINE`` deduplicates only.

    Returns one Cleaned per record, in order (a reused id's problem is in the problems of
    the record that reuses it). ``records`` may be any iterable, a generator too: it is
    read once. Held in memory until it returns: the results and, with stage "site" in
    ``stages`` (the default), the records as read (their text and other fields), since the
    site pass's census reads every record before any is cleaned. For a corpus, write an
    output folder with `run`."""
    cfg = RunConfig(inputs=(), output=Path(os.devnull), ruleset=ruleset if ruleset is not None else load_rules(),
                    workers=workers, text_field=text_field, dedup=dedup or DedupConfig(), stages=tuple(stages),
                    max_doc_bytes=max_doc_bytes, max_line_bytes=max_line_bytes, max_doc_lines=max_doc_lines)
    collector = _Collector()
    the_plan = plan(cfg, Discovery([], []))
    items = _raw_documents(records, source, text_field, max_doc_bytes)
    # The site stage's census reads every page before the pass that cleans them.
    the_plan.items = list(items) if active_site_stage(the_plan.stages) is not None else items
    run_driver(the_plan, engine_for("local", workers), output=collector)
    return collector.results


def run(inputs: Sequence[str | os.PathLike], output: str | os.PathLike, *, ruleset: RuleSet | None = None,
        workers: int = 1, engine: str = "local", dedup_only: bool = False, resume: bool = False,
        overwrite: bool = False, **settings: Any) -> Summary:
    """What `curate run INPUTS -o OUTPUT` does (``dedup_only``: `curate dedup`), returning
    the summary. Inputs and output may be URLs (``s3://bucket/crawl/``), as on the command
    line. ``settings`` are RunConfig's fields (text_field, dedup, chunk_items,
    encoding, input_format, ...). Raises curate.errors.CurateError subclasses where the
    CLI prints an error."""
    cfg = RunConfig(inputs=tuple(as_location(p) for p in inputs), output=as_location(output),
                    ruleset=ruleset if ruleset is not None else (RuleSet() if dedup_only else load_rules()),
                    workers=workers, stages=DEDUP_PIPELINE if dedup_only else RUN_PIPELINE, **settings)
    return run_driver(plan(cfg), engine_for(engine, workers), resume=resume, overwrite=overwrite)


# -- records given in memory ---------------------------------------------------------------

# What the advice says of a record no JSON line can hold.
_JSON_VALUES = "give it only values a JSON line can hold: str, int, float, bool, None, lists, and dicts with str keys"
_PREVIEW = reprlib.Repr()  # a record's repr, cut short: its text may be megabytes
_PREVIEW.maxstring = _PREVIEW.maxother = 100


def _raw_documents(records: Iterable[Any], source: str, text_field: str,
                   max_doc_bytes: int) -> Iterator[RawDocument | Problem]:
    """Each record read as the JSONL reader reads the line that holds it (a file of one
    line per record, named ``source``), and its id checked as a run checks ids: a reused
    one's problem comes just before its document."""
    ids = IdRegistry([InputFile(Path(source), source, 0)])
    try:
        yield from with_id_problems(((0, item) for item in _read(records, source, text_field, max_doc_bytes)), ids)
    finally:
        ids.close()


def _read(records: Iterable[Any], source: str, text_field: str, max_doc_bytes: int) -> Iterator[RawDocument | Problem]:
    """Each record as the reader makes it of its line: a document, or why it is none."""
    for number, record in enumerate(records, start=1):
        try:
            raw = _json_line(record)
        except RecursionError:  # json's writer recurses: far deeper than the reader's limit
            yield Problem(source, number, *too_deep("line"))
            continue
        except (TypeError, ValueError) as err:
            yield Problem(source, number, f"record cannot be written as JSON ({err})",
                          f"record skipped; {_JSON_VALUES}", preview=_PREVIEW.repr(record)[:200])
            continue
        if len(raw) > max_doc_bytes:  # the reader reads no more than that of a line
            yield too_large_problem(source, number, len(raw) + 1, max_doc_bytes)
            continue
        item = parse_record(source, number, raw, text_field)
        if isinstance(item, RawDocument):
            item.size += 1  # its line's newline, as the reader counts it
        yield item


def _json_line(record: Any) -> bytes:
    """The JSON line (without its newline) that holds ``record``: compact UTF-8, as orjson
    writes it (NaN and the infinities as null, as the output writes them). What orjson
    refuses and json writes (an integer beyond 64 bits, a lone surrogate, a key that is a
    number) is written by json, each lone surrogate as the escape (\\ud800) by which a
    JSON line can hold it, which the reader reads back. Raises TypeError or ValueError
    for what neither writes (a set, bytes), RecursionError for a record nested too deep."""
    try:
        return orjson.dumps(record, default=_plain)
    except orjson.JSONEncodeError:
        pass
    text = json.dumps(_non_finite_as_null(record), ensure_ascii=False, separators=(",", ":"), default=_plain)
    return text.encode("utf-8", "backslashreplace")


def _plain(value: Any) -> Any:
    """What the JSON writers cannot write themselves: a Mapping that is not a dict as a
    dict; for json, whatever orjson writes (a datetime, a dataclass) as orjson writes it."""
    if isinstance(value, Mapping):
        return dict(value)
    return orjson.loads(orjson.dumps(value))  # raises TypeError for what orjson cannot write either


def _non_finite_as_null(value: Any) -> Any:
    """The value with NaN and the infinities as None, where orjson writes null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {key: _non_finite_as_null(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_non_finite_as_null(item) for item in value]
    return value


class _Collector(MemoryOutput):
    """The driver's output for the API: each record's results, kept in memory."""

    def __init__(self) -> None:
        self.results: list[Cleaned] = []
        self.reused: list[Problem] = []  # a reused id's problem, which comes just before its document

    def write_document(self, doc: Document) -> None:
        record = document_record(doc) if doc.lines else None
        removed = [removal_record(doc, r) for r in sorted(doc.removed, key=lambda r: r.line.index)]
        # In the order quarantine.jsonl has them: the reused id's problem first.
        problems = [problem_record(p) for p in (*self.reused, *doc.problems)]
        self.reused = []
        self.results.append(Cleaned(doc.id, record["text"] if record else "", record, removed, problems))

    def write_problem(self, problem: Problem) -> None:
        if problem.kind == DUPLICATE_ID:  # its document follows, and is kept
            self.reused.append(problem)
            return
        self.results.append(Cleaned(problem.source if problem.line is None else f"{problem.source}:{problem.line}",
                                    "", None, [], [problem_record(problem)]))
