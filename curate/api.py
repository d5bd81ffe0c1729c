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

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from curate.discover import Discovery
from curate.document import Document, Problem, RawDocument
from curate.driver import MemoryOutput, RunConfig, plan
from curate.driver import run as run_driver
from curate.engines import engine_for
from curate.formats.jsonl import parse_record
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
    """One document through the pipeline: the records `curate run` would write for it."""

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
    language and remove paragraphs repeated within the text."""
    [cleaned] = process([{"id": id, "text": text}], ruleset=ruleset)
    return cleaned


def process(records: Iterable[Mapping[str, Any]], *, text_field: str = "text", ruleset: RuleSet | None = None,
            dedup: DedupConfig | None = None, source: str = "records", workers: int = 1,
            stages: Sequence[str] = RUN_PIPELINE) -> list[Cleaned]:
    """Every record through the pipeline, deduplicated against the records before it, as
    if they were the lines of one JSONL file named ``source``: the same ids, metadata,
    problems and verdicts, the site pass included. ``records`` may be a generator, read
    once. Held in memory until it returns: the results and, with stage "site" in
    ``stages`` (the default), the records as read (their text and other fields), since the
    site pass's census reads every record before any is cleaned. For a corpus, write it to
    an output folder with `run`. ``stages=curate.stages.DEDUP_PIPELINE`` deduplicates only."""
    cfg = RunConfig(inputs=(), output=Path(os.devnull), ruleset=ruleset if ruleset is not None else load_rules(),
                    workers=workers, text_field=text_field, dedup=dedup or DedupConfig(), stages=tuple(stages))
    collector = _Collector()
    the_plan = plan(cfg, Discovery([], []))
    items = _raw_documents(records, source, text_field)
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


def _raw_documents(records: Iterable[Mapping[str, Any]], source: str,
                   text_field: str) -> Iterator[RawDocument | Problem]:
    """Each record read exactly as the JSONL reader reads a line holding it."""
    for number, record in enumerate(records, start=1):
        try:
            raw = orjson.dumps(record)
        except TypeError as err:
            yield Problem(source, number, f"record cannot be written as JSON ({err})",
                          "record skipped; give str, number, bool, None, list or dict values",
                          preview=repr(record)[:200])
            continue
        yield parse_record(source, number, raw, text_field)


class _Collector(MemoryOutput):
    """The driver's output for the API: each document's records, kept in memory."""

    def __init__(self) -> None:
        self.results: list[Cleaned] = []

    def write_document(self, doc: Document) -> None:
        record = document_record(doc) if doc.lines else None
        removed = [removal_record(doc, r) for r in sorted(doc.removed, key=lambda r: r.line.index)]
        self.results.append(Cleaned(doc.id, record["text"] if record else "", record, removed,
                                    [problem_record(p) for p in doc.problems]))

    def write_problem(self, problem: Problem) -> None:
        self.results.append(Cleaned(problem.source if problem.line is None else f"{problem.source}:{problem.line}",
                                    "", None, [], [problem_record(problem)]))
