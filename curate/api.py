"""The Python API: the pipeline of `curate run` from code, with the same results.

    import curate

    cleaned = curate.clean_text(page_text)
    cleaned.text            # the kept text, as in corpus.jsonl
    cleaned.removed         # every removed line: its text, line, stage and reason

    results = curate.process([{"id": "a", "text": ..., "url": ...}, ...])
    curate.run(["crawl/"], "clean/", workers=2)   # files to an output folder, as the CLI

Every function runs the one driver (curate/driver.py) that the command line runs, so a
record processed here equals the record `curate run` writes for the same input.

Arguments are checked before anything is read or written, with the ranges and choices of
the `curate run` options they stand for (read from the CLI's own option definitions, so
the two cannot drift apart): a value the CLI refuses raises curate.errors.ApiValueError
(a ValueError), a value of the wrong type curate.errors.ApiTypeError (a TypeError); both
are UsageErrors, as the CLI's refusals are.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import reprlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from curate.discover import Discovery, InputFile
from curate.document import Document, Problem, RawDocument
from curate.driver import MemoryOutput, RunConfig, plan, unresumable
from curate.driver import run as run_driver
from curate.engines import engine_for
from curate.errors import ApiTypeError, ApiValueError, CurateError
from curate.formats import DEFAULT_MAX_DOC_BYTES, DEFAULT_MAX_DOC_LINES, DEFAULT_MAX_LINE_BYTES
from curate.formats.ids import DUPLICATE_ID, IdRegistry, with_id_problems
from curate.formats.jsonl import parse_record, too_deep, too_large_problem
from curate.rules import RuleSet, load_rules
from curate.stages import DEDUP_PIPELINE, RUN_PIPELINE, STAGES
from curate.stages.dedup.signature import DedupConfig
from curate.stages.site_census import active_site_stage
from curate.summary import Summary
from curate.write import document_record, problem_record, removal_record

if TYPE_CHECKING:
    import click

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
    *.toml files of ``folders`` (``--rules``), with the packs or rules named in ``enabled``
    turned on (``--enable``: e.g. "gopher-quality"), those in ``disabled`` turned off
    (``--disable``), and with ``keep_languages`` (``--keep-lang``) a document rule that
    drops every other language. Each is a list, as the option repeated (a str alone is
    refused: it would be read a character at a time); an item of ``enabled`` or
    ``keep_languages`` may name several, "en,de", as the option's may. Unlike the CLI,
    ./rules/ is not read unless named: code should not depend on where it runs."""
    rule_dirs = _option("folders", folders, "rule_dirs")
    _checked("builtin", builtin, (bool,), "True or False")
    disabled = _option("disabled", disabled, "disabled")
    enabled = _option("enabled", enabled, "enabled")
    keep_languages = _option("keep_languages", keep_languages, "keep_languages")
    return load_rules(list(rule_dirs), builtin=builtin, disabled=tuple(disabled), enabled=tuple(enabled),
                      keep_languages=tuple(keep_languages))


def clean_text(text: str, *, id: str = "text", ruleset: RuleSet | None = None) -> Cleaned:
    """Clean one text as `curate run` cleans one record: normalise, strip noise, label the
    language and remove paragraphs repeated within the text. A text of more than
    --max-doc-bytes (64 MiB as a JSON line) is not cleaned: its Cleaned says so in
    ``problems``, as for a record of `process`, which takes other limits."""
    _checked("text", text, (str,), "a str (decode bytes first)")
    _checked("id", id, (str,), "a str")
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
    records = _records(records)
    checked_rules = _ruleset(ruleset)
    settings = {"workers": _option("workers", workers, "workers"),
                "text_field": _option("text_field", text_field, "text_field"),
                "dedup": _dedup(dedup), "stages": _stages(stages),
                "max_doc_bytes": _option("max_doc_bytes", max_doc_bytes, "max_doc_bytes"),
                "max_line_bytes": _option("max_line_bytes", max_line_bytes, "max_line_bytes"),
                "max_doc_lines": _option("max_doc_lines", max_doc_lines, "max_doc_lines")}
    _checked("source", source, (str,), "a str (the name of the records' source)")
    cfg = RunConfig(inputs=(), output=Path(os.devnull),
                    ruleset=checked_rules if checked_rules is not None else load_rules(), **settings)
    the_plan = plan(cfg, Discovery([], []))
    items = _raw_documents(records, source, cfg.text_field, cfg.max_doc_bytes)
    # The site stage's census reads every page before the pass that cleans them.
    the_plan.items = list(items) if active_site_stage(the_plan.stages) is not None else items
    collector = _Collector()
    run_driver(the_plan, engine_for("local", cfg.workers), output=collector)
    return collector.results


def run(inputs: Sequence[str | os.PathLike], output: str | os.PathLike, *, ruleset: RuleSet | None = None,
        workers: int = 1, engine: str = "local", dedup_only: bool = False, resume: bool = False,
        overwrite: bool = False, **settings: Any) -> Summary:
    """What `curate run INPUTS -o OUTPUT` does (``dedup_only``: `curate dedup`), returning
    the summary. ``inputs`` is a list (a str alone is refused), and inputs and output may
    be URLs (``s3://bucket/crawl/``), as on the command line. ``settings`` are RunConfig's
    fields, each the option it is named for: text_field, dedup (a DedupConfig: --threshold,
    --num-perm, ...), chunk_items (--chunk-docs), encoding, input_format (--format), sink
    (--output-format), max_line_bytes, max_doc_bytes, max_doc_lines, memory (bytes),
    staging, against, save_index, site, site_min_pages, site_min_share, language_model,
    dedup_parts and measure_index. Raises curate.errors.CurateError subclasses where the
    CLI prints an error; a refused argument leaves nothing on disk."""
    locations = _option("inputs", inputs, "inputs")
    if not locations:
        raise ApiValueError("inputs is empty: name the files, folders, URLs or patterns to read")
    where = _option("output", output, "output")
    checked_rules = _ruleset(ruleset)
    workers = _option("workers", workers, "workers")
    engine = _option("engine", engine, "engine")
    _checked("dedup_only", dedup_only, (bool,), "True or False")
    resume = _option("resume", resume, "resume")
    overwrite = _option("overwrite", overwrite, "overwrite")
    config = _settings(settings)
    if config.get("staging") is not None and not isinstance(where, str):
        raise ApiValueError(f"staging={_shown(settings['staging'])}: staging is where an output URL is built before "
                            f"its upload; output {_shown(output)} is a local folder, written in place: leave staging "
                            "out")
    if checked_rules is None:
        checked_rules = RuleSet() if dedup_only else load_rules()
    cfg = RunConfig(inputs=tuple(locations), output=where, ruleset=checked_rules, workers=workers,
                    stages=DEDUP_PIPELINE if dedup_only else RUN_PIPELINE, **config)
    try:
        return run_driver(plan(cfg), engine_for(engine, workers), resume=resume, overwrite=overwrite)
    except CurateError as err:
        # A stop on Ray advised resume=True, which a Ray run cannot do: said as the CLI says it.
        stopped = unresumable(err, engine)
        if stopped is err:
            raise
        raise stopped from err


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
        for item in parse_record(source, number, raw, text_field):
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


# -- arguments: checked before anything is read or written ---------------------------------

# RunConfig's fields that `run` takes as settings, each with the `curate run` option (the
# name of its click parameter) whose type and callback say which values it takes.
_SETTINGS = {"text_field": "text_field", "chunk_items": "chunk_docs", "encoding": "encoding",
             "max_line_bytes": "max_line_bytes", "max_doc_bytes": "max_doc_bytes", "max_doc_lines": "max_doc_lines",
             "input_format": "input_format", "sink": "output_format", "staging": "staging", "against": "against",
             "save_index": "save_index", "memory": "memory", "site": "site", "site_min_pages": "site_min_pages",
             "site_min_share": "site_min_share", "language_model": "language_model", "dedup_parts": "dedup_parts"}
# Settings that are no option of their own: checked here.
_OTHER_SETTINGS = ("dedup", "measure_index")
# RunConfig's fields that `run` takes as its own arguments (or sets: stages, by dedup_only).
_ARGUMENTS = ("inputs", "output", "ruleset", "workers", "stages")
# DedupConfig's fields that are `curate run` options of the same name.
_DEDUP_OPTIONS = ("threshold", "num_perm", "shingle_words", "shingle_chars", "min_words")


def _shown(value: Any) -> str:
    """A value for a message, cut short."""
    return _PREVIEW.repr(value)


def _checked(name: str, value: Any, kinds: tuple[type, ...], wanted: str) -> Any:
    """``value`` if it is one of ``kinds`` (a bool is not an int here), else ApiTypeError."""
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise ApiTypeError(f"{name} must be {wanted}, not {type(value).__name__} {_shown(value)}")
    return value


def _listed(name: str, value: Any, kinds: tuple[type, ...], wanted: str) -> tuple:
    """``value``, a list (or any iterable but a str, a path or a dict) of ``kinds``, as a
    tuple: a str given for it would be read a character at a time."""
    if isinstance(value, (str, bytes, os.PathLike, Mapping)) or not isinstance(value, Iterable):
        example = f": {name}=[{_shown(value)}]" if isinstance(value, (str, os.PathLike)) else ""
        raise ApiTypeError(f"{name} must be a list of {wanted}, not {type(value).__name__} {_shown(value)}{example}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, kinds) or isinstance(item, bool):
            raise ApiTypeError(f"{name} must be a list of {wanted}; it holds {type(item).__name__} {_shown(item)}")
    return items


@functools.cache
def _run_command() -> tuple[click.Command, dict[str, click.Parameter]]:
    """`curate run` and its parameters by name: the one place their values are defined."""
    from curate.cli import run as command

    return command, {param.name: param for param in command.params if param.name is not None}


def _option(name: str, value: Any, option: str, shown: Any = None) -> Any:
    """``value`` of the argument ``name``, as `curate run`'s parameter ``option`` takes it:
    the Python type its click type converts from (a list of them for a repeatable option),
    then the option's own conversion, range, choices and callback, so that the API refuses
    what the CLI refuses, with the CLI's reason. ``shown``: the value as given, for the
    message, when ``value`` is it made a list."""
    import click

    from curate.cli import ByteSize, PathOrUrl

    command, params = _run_command()
    param = params[option]
    kinds: tuple[type, ...]
    if isinstance(param.type, click.types.BoolParamType):
        kinds, wanted, plural = (bool,), "True or False", "bools"
    elif isinstance(param.type, (click.types.IntParamType, ByteSize)):
        kinds, wanted, plural = (int,), "an int", "ints"
    elif isinstance(param.type, click.types.FloatParamType):
        kinds, wanted, plural = (int, float), "a number", "numbers"
    elif isinstance(param.type, (click.Path, PathOrUrl)):
        kinds, wanted, plural = (str, os.PathLike), "a path (str or os.PathLike)", "paths (str or os.PathLike)"
    else:
        kinds, wanted, plural = (str,), "a str", "str values"
    many = param.multiple or param.nargs == -1
    given = _listed(name, value, kinds, plural) if many else _checked(name, value, kinds, wanted)
    try:
        return param.process_value(click.Context(command), given)
    except click.BadParameter as err:
        flag = max(param.opts, key=len) if param.opts else option.upper()
        said = _shown(value if shown is None else shown)
        raise ApiValueError(f"{name}={said}: {err.message.rstrip('.')} (refused as `curate run {flag}` "
                            "refuses it)") from None


def _records(records: Any) -> Iterable[Any]:
    if isinstance(records, Mapping):
        raise ApiTypeError(f"records must be an iterable of records, not one record ({type(records).__name__}): "
                           "give process([record])")
    if isinstance(records, (str, bytes)) or not isinstance(records, Iterable):
        raise ApiTypeError(f"records must be an iterable of records (dicts with a text field), not "
                           f"{type(records).__name__} {_shown(records)}")
    return records


def _ruleset(value: Any) -> RuleSet | None:
    if value is not None and not isinstance(value, RuleSet):
        raise ApiTypeError(f"ruleset must be a RuleSet (curate.ruleset(...)) or None, not {type(value).__name__} "
                           f"{_shown(value)}")
    return value


def _stages(value: Any) -> tuple[str, ...]:
    names = _listed("stages", value, (str,), "stage names")
    for name in names:
        if name not in STAGES:
            raise ApiValueError(f"stages: unknown stage {_shown(name)}; choose from: {', '.join(STAGES)}")
    return names


def _dedup(value: Any) -> DedupConfig:
    """The DedupConfig to run with, its fields checked as the options of their names."""
    if value is None:
        return DedupConfig()
    if not isinstance(value, DedupConfig):
        raise ApiTypeError(f"dedup must be a DedupConfig (from curate.stages.dedup.signature import DedupConfig; "
                           f"DedupConfig(threshold=0.9)) or None, not {type(value).__name__} {_shown(value)}")
    for name in ("min_chars", "seed"):  # no option of their own
        _checked(f"dedup.{name}", getattr(value, name), (int,), "an int")
    return dataclasses.replace(value, **{name: _option(f"dedup.{name}", getattr(value, name), name)
                                         for name in _DEDUP_OPTIONS})


def _settings(settings: dict[str, Any]) -> dict[str, Any]:
    """`run`'s settings, each checked as the option it is named for."""
    defaults = {f.name: f.default for f in dataclasses.fields(RunConfig)}
    checked: dict[str, Any] = {}
    for name, value in settings.items():
        if name == "dedup":
            checked[name] = _dedup(value)
        elif name == "measure_index":
            checked[name] = _checked(name, value, (bool,), "True or False")
        elif name == "against" and value is not None:
            # One path, as --against; a list of them is refused as the option repeated is
            # (a chain's latest index holds every one before it).
            given = value if isinstance(value, (list, tuple)) else \
                [_checked(name, value, (str, os.PathLike), "a path (str or os.PathLike)")]
            checked[name] = _option(name, given, _SETTINGS[name], shown=value)
        elif name in _SETTINGS:
            checked[name] = value if value is None and defaults[name] is None else _option(name, value,
                                                                                           _SETTINGS[name])
        else:
            hint = " (dedup_only=True runs curate dedup's)" if name == "stages" else ""
            raise ApiTypeError(f"run() got an unexpected setting {name!r}{hint}; the settings are "
                               f"{', '.join(sorted([*_SETTINGS, *_OTHER_SETTINGS]))}")
    return checked
