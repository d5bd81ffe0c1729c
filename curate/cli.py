"""The command line: parse, call the library, print. No pipeline logic lives here."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shlex
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import click

from curate import __version__, interrupts
from curate.errors import (
    ArgumentError,
    CurateError,
    Interrupted,
    MachineLimit,
    RuleError,
    UsageError,
    machine_limit,
    raise_if_machine_limit,
)
from curate.formats.base import DEFAULT_MAX_DOC_LINES
from curate.paths import check_reachable
from curate.prompt_exit import exit_promptly
from curate.rules import PROJECT_ORIGIN, RuleSet, load_rules
from curate.stages import DEDUP_PIPELINE, RUN_PIPELINE
from curate.stages.dedup.signature import DedupConfig
from curate.stages.site import DEFAULT_MIN_PAGES, DEFAULT_MIN_SHARE, SITE_MODES
from curate.streams import guard_standard_streams
from curate.terminal import echo, shown, shown_lines
from curate.timings import holds_timings
from curate.userfile import replace_file

PROJECT_RULES = Path("rules")
SUGGESTED = Path("suggested-rules/suggested.toml")  # where `curate rules suggest` writes by default
INTERRUPTED = 130  # the exit status of a command that Ctrl-C stopped before it did anything (128 + SIGINT)
# (The console script's process then ends by the signal itself: curate/interrupts.py.)


def _fail(err: CurateError) -> click.ClickException:
    if isinstance(err, ArgumentError) or _names_an_option(err):
        return click.UsageError(str(err))  # status 2 and the usage line, as click's own argument errors
    if isinstance(err, MachineLimit):
        # Met before a run began (finding its inputs, taking its folder), or by a command
        # that is no run: a run's own is a RunStopped, which says what it kept.
        return click.ClickException(f"{err}; then run the same command again")
    return click.ClickException(str(err))


def _names_an_option(err: CurateError) -> bool:
    """A rule error of an option's value (--disable nosuch, --enable nosuch, --keep-lang
    eng): a mistake on the command line, status 2 as click's own. (A rule file's own
    mistakes stay status 1: the command line is right, the file is not.)"""
    return isinstance(err, RuleError) and err.path in _RULE_OPTIONS


_RULE_OPTIONS = frozenset({"--disable", "--enable", "--keep-lang"})  # a RuleError's path when an option made it


PACKS = "{packs}"  # in an option's help: the built-in packs, named when the help is shown


class PacksInHelp(click.Option):
    """An option whose help names the built-in packs as the rule files define them, so that
    a pack added there is named here too (the list was written by hand and missed one).
    Found when the help is shown: reading the rule files at every start would slow every
    command."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        record = super().get_help_record(ctx)
        if record is None or PACKS not in record[1]:
            return record
        from curate.rules import builtin_packs

        return record[0], record[1].replace(PACKS, ", ".join(builtin_packs()))


# One definition for every command that can leave ./rules/ out (rule_options, rules test).
no_project_rules_option = click.option("--no-project-rules", is_flag=True,
                                       help="Do not load ./rules/ (loaded by default when it exists).")


def rule_options(fn):
    """--rules, --no-builtin-rules, --no-project-rules, --enable and --disable, shared by every command that
    loads rules."""
    fn = click.option("--disable", "disabled", multiple=True, metavar="NAME", callback=_disabled,
                      help="Turn off one rule by name (repeatable). `curate rules list` shows the names.")(fn)
    fn = click.option("--enable", "enabled", multiple=True, metavar="NAME[,NAME...]", callback=_enabled,
                      cls=PacksInHelp,
                      help="Turn on a pack of rules or one rule that is off by default (repeatable). Built-in "
                           f"packs of document rules: {PACKS} (README, \"Document rules\"). --disable wins "
                           "over it.")(fn)
    fn = no_project_rules_option(fn)
    fn = click.option("--no-builtin-rules", is_flag=True,
                      help="Do not load the built-in rule pack.")(fn)
    fn = click.option("--rules", "rule_dirs", multiple=True, metavar="DIR|FILE",
                      type=click.Path(), callback=_rule_paths,
                      help="A folder of *.toml rule files, or one *.toml file, to add (repeatable), after "
                           "the built-in pack and ./rules/.")(fn)
    return fn


def _names(ctx, param, value: tuple[str, ...]) -> tuple[str, ...]:
    """NAME,NAME given once or repeated, as one tuple of names."""
    return tuple(name.strip() for item in value for name in item.split(",") if name.strip())


def _some_names(missing: str) -> Callable[[click.Context, click.Parameter, tuple[str, ...]], tuple[str, ...]]:
    """A callback for an option of NAME,NAME...: given, it must name one. An empty shell
    variable would otherwise do something without a word: --keep-lang "" turned the filter
    off (the corpus kept every language), --enable "" turned nothing on. ``missing``: what
    to say instead."""

    def names(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
        given = _names(ctx, param, value)
        if value and not given:
            raise click.BadParameter(missing, ctx=ctx, param=param)
        return given

    return names


_codes = _some_names("names no language code; give the codes to keep, e.g. --keep-lang en,de, or leave the option "
                     "out to keep every language")
_enabled = _some_names("names no pack or rule; give one, e.g. --enable gopher-quality, or leave the option out")


def _disabled(ctx, param, value: tuple[str, ...]) -> tuple[str, ...]:
    """--disable's names, none blank: an empty shell variable was refused only as "no rule
    named ;", a message with no name in it."""
    if any(not name.strip() for name in value):
        raise click.BadParameter("names no rule; give a rule's name, e.g. --disable byline (`curate rules list` "
                                 "shows them), or leave the option out", ctx=ctx, param=param)
    return value


def _rule_paths(ctx, param, value: tuple[str, ...]) -> tuple[Path, ...]:
    """Rule folders and files, none empty: Path("") is ".", so an empty shell variable
    loaded every *.toml under the working folder (old experiments, other projects' rules).
    Taken as str, and made Paths here, because a Path can no longer tell "" from "."."""
    if any(isinstance(path, str) and path == "" for path in value):  # (the API may give PathLikes too)
        raise click.BadParameter("an empty path; give a folder of *.toml rule files or one *.toml file (write . for "
                                 "the current folder), or leave it out", ctx=ctx, param=param)
    return tuple(Path(path) for path in value)


def _one_index(ctx, param, value: tuple[Path, ...]) -> Path | None:
    """--against's index: given more than once, click kept the last and the run silently
    deduplicated against it alone. Chains accumulate (the latest index holds every one
    before it), so one is all a run needs."""
    if len(value) > 1:
        raise click.BadParameter(
            f"{len(value)} indexes given ({', '.join(map(str, value))}); a run takes one: the index of a run made "
            "with --against X --save-index already holds X's paragraphs, so give the latest index alone",
            ctx=ctx, param=param)
    return value[0] if value else None


def ruleset_from_options(rule_dirs, no_builtin_rules, no_project_rules, disabled, quiet: bool = False,
                         check_examples: bool = True, enabled: tuple[str, ...] = (),
                         keep_languages: tuple[str, ...] = ()) -> RuleSet:
    """Load the rules the options name. ./rules/ is read from the working directory without
    being named, so the output depends on where the command runs: say so (unless quiet)."""
    project = PROJECT_RULES if not no_project_rules and PROJECT_RULES.is_dir() else None
    try:
        ruleset = load_rules(list(rule_dirs), builtin=not no_builtin_rules, disabled=tuple(disabled),
                             check_examples=check_examples, project=project, enabled=tuple(enabled),
                             keep_languages=tuple(keep_languages))
    except CurateError as err:
        if isinstance(err, RuleError) and err.rule is None and not os.path.lexists(err.path) \
                and any(os.fspath(path) == err.path for path in rule_dirs):
            # A --rules DIR|FILE that does not exist: the command line's mistake (status 2).
            raise click.UsageError(str(err)) from err
        raise _fail(err) from err
    if ruleset.project_rules and not quiet:
        files = [f for f in ruleset.sources if f.origin == PROJECT_ORIGIN]
        rules = sum(f.rules for f in files)
        echo(f"note: also using the project rules in ./rules/ ({_count(len(files), 'file')}, "
             f"{_count(rules, 'rule')}) found in the working directory; --no-project-rules leaves "
             "them out", err=True)
    return ruleset


def _warn_if_unmet(memory: int) -> None:
    """Say so when --memory is under what a process needs besides its dedup index: the
    index keeps to its share, but the process as a whole cannot keep to the budget."""
    from curate.stages.dedup.budget import RESERVE, index_budget

    if memory < 2 * RESERVE:
        mib = 1 << 20
        echo(f"warning: --memory {memory / mib:,.0f} MiB is under {2 * RESERVE // mib} MiB: a curate process "
             f"holds up to ~{RESERVE // mib} MiB besides its dedup index (Python, the rules, the language "
             f"profiles), so it will use more than that; the index keeps to {index_budget(memory) / mib:,.0f} "
             "MiB and spills the rest to disk", err=True)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class CurateGroup(click.Group):
    """The command group. An error's message is shown as every other message is
    (terminal.py): many name an input (a file, a source found in a folder), and click
    prints its errors itself, not through terminal.echo."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.ClickException as err:
            # The same exception, so that its class keeps its exit status and usage line;
            # message is Final only in click's type hints, a plain attribute at run time.
            err.message = shown_lines(err.message)  # type: ignore[misc]
            raise
        except KeyboardInterrupt:
            # A Ctrl-C that no command turned into its own message (a run's says what is
            # on disk): click's word for it, and the status of a process SIGINT ended, as
            # for a Ctrl-C while the command is still being imported (curate/__main__.py).
            # A SIGTERM says its name: a scheduler's log then tells what stopped the command.
            stopped_by = interrupts.received()
            echo("Aborted!" if stopped_by == signal.SIGINT else f"Stopped by {interrupts.name(stopped_by)}.",
                 err=True)
            raise click.exceptions.Exit(128 + stopped_by) from None
        except MemoryError as err:
            # Raised before a run begins (loading its rules, finding its inputs), where
            # nothing is written yet, or by a command that is no run: a run's own is its
            # stop, which says what it kept (driver.out_of_memory).
            raise click.ClickException(_out_of_memory(err)) from err
        except OSError as err:
            # A limit met where no code expected an error (an import that lists a folder,
            # under a low ulimit -n): the one rule's stop, not a traceback. Any other
            # OSError that got this far is a bug, and its traceback is wanted.
            limit = machine_limit(err)
            if limit is None:
                raise
            raise _fail(limit) from err


def _out_of_memory(err: MemoryError) -> str:
    detail = f" ({err})" if str(err) else ""
    return f"curate ran out of memory{detail}; free memory, then run the same command again"


@click.group(cls=CurateGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             invoke_without_command=True)
@click.version_option(__version__, prog_name="curate")
@click.pass_context
def cli(ctx: click.Context):
    """Turn noisy scraped text into a clean, deduplicated, traceable corpus.

    \b
    Start with:
      curate run seeds/                  clean the sample pages into ./output/
      curate run crawl/ -o clean/ --workers 2
      curate run --help                  every option, with examples
    """
    # Plain `curate` asks what there is: the help, and status 0 (click's default for a
    # group called without a command is the help with status 2, an error's).
    if ctx.invoked_subcommand is None:
        echo(ctx.get_help())


class ByteSize(click.ParamType):
    """A number of bytes: 1048576, 1MiB, 64M, 2G (K, M and G are powers of 1024)."""

    name = "bytes"
    _UNITS: ClassVar[dict[str, int]] = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}

    def convert(self, value, param, ctx):
        if isinstance(value, int):  # a number of bytes given by code (the Python API checks its values here)
            number = value
        else:
            text = str(value).strip().lower().removesuffix("b").removesuffix("i")
            unit = text[-1:] if text[-1:] in self._UNITS else ""
            try:
                number = int(text[: len(text) - len(unit)]) * self._UNITS[unit]
            except ValueError:
                self.fail(f"{value!r} is not a size; write a number of bytes, or one with K, M or G (64M, 1GiB)",
                          param, ctx)
        if number < 1:
            self.fail(f"{value!r}: the limit must be at least 1 byte", param, ctx)
        return number


class FiniteFloatRange(click.FloatRange):
    """click.FloatRange that also refuses nan and inf: every comparison with nan is false,
    so FloatRange lets it through its bounds, and a nan threshold turned dedup off
    silently and wrote NaN (not JSON) into summary.json. Every float option uses this."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a number; give one in the range {self._describe_range()}", param, ctx)
        return number


class PathOrUrl(click.ParamType):
    """A local path, or a URL of object storage (s3://, gs://, hf://, http(s)://), kept
    as spelled: click.Path would fold s3://bucket into s3:/bucket. A URL curate cannot
    read (or, for ``output``, write) is a usage error here, before anything is read."""

    name = "path_or_url"

    def __init__(self, output: bool = False):
        self.output = output

    def convert(self, value, param, ctx):
        from curate.storage import as_location, location_problem

        if self.output and isinstance(value, str) and value == "":
            # Path("") is ".": an unset $OUT wrote the run into the current folder.
            self.fail("an empty path; give the output folder (write . for the current folder), or leave -o out "
                      "for ./output", param, ctx)
        location = as_location(value)
        problem = location_problem(location, output=self.output)
        if problem is not None:
            self.fail(problem, param, ctx)
        return location


def _inputs_from(ctx, param, value: str | None) -> str | None:
    """--inputs-from FILE: a URL curate cannot read is refused as the arguments are."""
    if value is not None and value != "-":
        PathOrUrl().convert(value, param, ctx)
    return value


def _encoding(ctx, param, value: str) -> str:
    from curate.formats.txt import check_encoding

    try:
        return check_encoding(value)
    except CurateError as err:
        raise click.BadParameter(str(err).split(": ", 1)[1]) from err


def _format(ctx, param, value: str) -> str:
    from curate.formats import check_format

    try:
        return check_format(value)
    except CurateError as err:
        raise click.BadParameter(str(err).split(": ", 1)[1]) from err


def _output_format(ctx, param, value: str) -> str:
    from curate.formats import sink_by_name
    from curate.formats.parquet_sink import ParquetShards, schema

    try:
        sink = sink_by_name(value)
        if isinstance(sink, ParquetShards):
            schema()  # pyarrow is an optional extra: say so before the run, not at its first chunk
    except CurateError as err:
        raise click.BadParameter(str(err).split(": ", 1)[1]) from err
    return sink.name


def format_option(inputs: bool):
    """--format, for run and dedup (``inputs``: files and folders) and for explain (one file)."""
    from curate.formats import COMPRESSIONS, format_names, reader_by_name, suffix_list

    streams = ", ".join(name for name in format_names()[1:] if reader_by_name(name).compressed)
    compressed = (f"Names ending in {', '.join(COMPRESSIONS)} are decompressed first, for the formats that are "
                  f"streams ({streams}).")
    if not inputs:
        return click.option(
            "--format", "input_format", default="auto", show_default=True, callback=_format, metavar="NAME",
            help=f"How to read FILE: {', '.join(format_names())}. auto: by its suffix ({suffix_list()}); a "
                 f"format name reads it with that reader whatever its name. {compressed}")
    return click.option(
        "--format", "input_format", default="auto", show_default=True, callback=_format, metavar="NAME",
        help=f"How to read the inputs: {', '.join(format_names())}. auto: by the file name's suffix "
             f"({suffix_list()}); a folder walk skips, and reports, files of other names. A format name reads "
             "every file with that reader whatever its name: a file named on the command line, and every file "
             "that is not hidden in a folder walk, so give it folders that hold only that format. "
             + compressed)


def read_options(inputs: bool) -> list:
    """How an input is read (--format, --text-field, --encoding, --max-*): shared by run and
    dedup (``inputs``: files and folders) and explain (one file), whose verdicts they change."""
    return [
        format_option(inputs),
        click.option("--text-field", default="text", show_default=True,
                     help="Field of a JSONL record (or column of a Parquet, Arrow or CSV file) that holds the document "
                          "text."),
        click.option("--encoding", default="auto", show_default=True, callback=_encoding, metavar="NAME",
                     help="Encoding of .txt files without a byte order mark. auto: UTF-8, UTF-16 told by its "
                          "NULs, or for a file with no UTF-8 in it a detected legacy encoding (cp1252, ...). "
                          "JSONL is always UTF-8."),
        click.option("--max-line-bytes", type=ByteSize(), default="8MiB", show_default=True,
                     help="Longest line to read; a longer one is quarantined and the rest of its document read."),
        click.option("--max-doc-bytes", type=ByteSize(), default="64MiB", show_default=True,
                     help="Largest .txt file or JSONL record to read; a larger one is quarantined, unread."),
        click.option("--max-doc-lines", type=click.IntRange(min=1), default=DEFAULT_MAX_DOC_LINES, show_default=True,
                     help="Most lines one document may have; one with more is quarantined, unread. A document's "
                          "lines are cleaned together, about 2 kB of memory each."),
    ]


class ExistingPath(click.Path):
    """click.Path(exists=True) that says a path too long for the system is too long: click
    looks it up, and took the OSError for a path that does not exist ("Directory '...'
    does not exist")."""

    def __init__(self, **options: Any):
        super().__init__(exists=True, path_type=Path, **options)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            check_reachable(value, shown(os.fsdecode(value)), None)  # one not there: click says so
        except UsageError as err:
            self.fail(str(err), param, ctx)
        return super().convert(value, param, ctx)


# Repeatable only to be refused when repeated: a single-valued option kept the last. Run,
# dedup and explain (a line of FILE that copies the earlier run is dropped as run drops it).
against_option = click.option(
    "--against", type=ExistingPath(file_okay=False), multiple=True,
    callback=_one_index, metavar="DIR",
    help="Remove paragraphs that copy anything kept by an earlier run, which was run with "
         "--save-index: DIR is its output folder (or its index/ folder). The copies point at "
         "the earlier paragraph; the earlier text is not read again. Same dedup options needed. "
         "Once: the index of a run made with --against X --save-index holds X's paragraphs too.")


def io_options(fn):
    """Inputs, output folder and how the run goes: shared by run and dedup."""
    for decorator in reversed([
        click.argument("inputs", nargs=-1, type=PathOrUrl()),
        click.option("--inputs-from", "inputs_from", default=None, metavar="FILE", callback=_inputs_from,
                     help="Also read the inputs listed in FILE, one path, URL or pattern a line, after INPUTS "
                          "(blank lines and '#' comments left out; - for standard input; FILE may be compressed "
                          "or a URL): a crawl's list of files, too long for a command line."),
        click.option("-o", "--output", type=PathOrUrl(output=True), default=Path("output"), show_default=True,
                     help="Folder for corpus/ (the kept text, in shards), removed.jsonl, quarantine.jsonl and "
                          "summary.json: a local folder, or a URL (s3://bucket/clean/, gs://, hf://; not http(s)://, "
                          "which is read-only), written through a local --staging folder and uploaded at the end."),
        click.option("--staging", type=click.Path(path_type=Path, file_okay=False), default=None, metavar="DIR",
                     help="With -o URL: the local folder where the output is built and checkpointed before its "
                          "upload (it needs room for the whole output; deleted after the upload). Default: "
                          "$CURATE_STAGING, else staging/ in curate's cache folder ($CURATE_CACHE, else "
                          "~/.cache/curate)."),
        click.option("--output-format", default="jsonl", show_default=True, callback=_output_format,
                     metavar="FORMAT",
                     help="How corpus/ is written: jsonl, jsonl.gz, jsonl.zst or parquet (pip install "
                          "'curate-corpus[parquet]'). One shard per --chunk-docs chunk, part-00000.jsonl, ...; the "
                          "record fields are in docs/output.md."),
        click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
                     help="Processes for the per-document stages, this one included: give it the cores you "
                          "can spare (with --engine ray and no --address: CPUs of the local Ray cluster). The "
                          "output is byte-identical for any number."),
        click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
                     help="local: processes on this machine. ray: tasks on a Ray cluster (pip install "
                          "'curate-corpus[ray]'); same output, byte for byte. Ray is for more cores than one "
                          "machine has: on one machine, local --workers N spares its start-up and its processes "
                          "(docs/scaling.md)."),
        click.option("--address", default=None, metavar="ADDR",
                     help="With --engine ray: 'auto' or HOST:PORT joins a running Ray cluster; without it a "
                          "local cluster is started for the run."),
        *read_options(inputs=True),
        click.option("--memory", type=ByteSize(), default=None, metavar="SIZE",
                     help="Memory budget of each process (1GiB, 4G; under 640MiB it cannot be met in full). The "
                          "dedup index, the one part that grows "
                          "with the corpus, gets all but ~320 MiB of it (at least half) and spills band keys to "
                          "sorted files in -o DIR/.partial/ past that; the output is byte-identical for any "
                          "budget. Default: min(8GiB, a quarter of this machine's RAM), the rest left to the "
                          "workers and to the page cache that serves the index's files."),
        click.option("--timings", type=click.Path(path_type=Path), default=None, metavar="FILE",
                     help="Write seconds spent per stage to FILE as JSON, in a folder that exists (kept out of "
                          "the output folder, whose files are byte-identical between runs). An existing FILE is "
                          "replaced only if it holds an earlier run's timings."),
        click.option("--strict", is_flag=True,
                     help="Exit with status 3 if any input was quarantined (hidden files and output folders, "
                          "which a folder walk skips on purpose, do not count)."),
        click.option("--resume", is_flag=True,
                     help="Continue an interrupted run in -o DIR from its last finished chunk (same inputs, rules "
                          "and options); the result is byte-identical to an uninterrupted run."),
        click.option("--overwrite", is_flag=True,
                     help="Replace what -o DIR holds (a finished run, or the chunks of an unfinished one). Without "
                          "it curate refuses a folder that is not empty."),
        click.option("--chunk-docs", type=click.IntRange(min=1), default=10_000, show_default=True,
                     help="Documents (and quarantined items) per resumable chunk, and so per corpus shard: "
                          "a killed run redoes at most this many."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary table."),
        click.option("--save-index", is_flag=True,
                     help="Also write the dedup index into -o DIR/index/ (band keys, shingle sets and references "
                          "of the kept paragraphs; about 470 bytes per kept paragraph), so a later run can "
                          "deduplicate against this one with --against DIR."),
        against_option,
        click.option("--dedup-parts", is_flag=True,
                     help="Find the near-duplicates in parts that run side by side on --workers processes, "
                          "between two passes over the input, instead of with one index that takes every "
                          "paragraph in input order. Same output, byte for byte. The input is read, and every "
                          "stage run, twice, so it pays only where the one index limits the run: many cores, "
                          "and a large corpus (docs/scaling.md). With --engine ray the parts run as tasks on "
                          "the nodes that see the output folder."),
    ]):
        fn = decorator(fn)
    return fn


def dedup_options(fn):
    """MinHash and LSH settings: shared by run and dedup."""
    for decorator in reversed([
        click.option("--threshold", type=FiniteFloatRange(0.0, 1.0, min_open=True), default=0.8, show_default=True,
                     help="Exact Jaccard similarity of two paragraphs' shingle sets at or above which "
                          "the later one is a near-duplicate."),
        click.option("--num-perm", type=click.IntRange(min=16), default=128, show_default=True,
                     help="MinHash permutations per paragraph signature (it finds the candidate pairs, "
                          "which are then verified)."),
        click.option("--shingle-words", type=click.IntRange(min=1), default=5, show_default=True,
                     help="Words per shingle (for scripts written with spaces)."),
        click.option("--shingle-chars", type=click.IntRange(min=1), default=5, show_default=True,
                     help="Characters per shingle (for Chinese, Japanese, Thai and other unspaced scripts)."),
        click.option("--min-words", type=click.IntRange(min=1), default=8, show_default=True,
                     help="Lines with fewer words are never deduplicated (short repeated lines are often content)."),
    ]):
        fn = decorator(fn)
    return fn


def site_options(fn):
    """Site-level boilerplate (curate.stages.site): run and explain."""
    for decorator in reversed([
        click.option("--site", "site", type=click.Choice(SITE_MODES), default="url", show_default=True,
                     help="Where a page's site comes from, for removing the lines a site repeats on many of "
                          "its pages (menus, footers, promos; audited as site:repeated). url: the host of "
                          "the record's 'url' field (a WET record's WARC-Target-URI); pages without one are "
                          "left alone. folder: the folder the file is in. off: no site pass. Costs a "
                          "first read of the input (a census of its lines), only when some page has a site."),
        click.option("--site-min-pages", type=click.IntRange(min=2), default=DEFAULT_MIN_PAGES, show_default=True,
                     help="Pages of one site a line must be on to be that site's boilerplate."),
        click.option("--site-min-share", type=FiniteFloatRange(0.0, 1.0), default=DEFAULT_MIN_SHARE,
                     show_default=True,
                     help="... and the share of the site's pages it must be on (0.02: 20 of a 1,000-page site)."),
    ]):
        fn = decorator(fn)
    return fn


def language_option(fn):
    """The language stage's model: run and explain."""
    return click.option(
        "--language-model", type=click.Choice(["langdetect", "py3langid"]), default="langdetect",
        show_default=True,
        help="What labels each document's and line's language. langdetect: its 55 profiles, scored by curate "
             "with a calibrated confidence; text in another language or script is 'und'. py3langid: langid.py's "
             "model, 97 languages and more, better on the labelled set of the README's Language section (pip "
             "install 'curate-corpus[py3langid]').")(fn)


# --keep-lang makes a document rule: run, explain and rules list (which lists that rule) take it.
keep_lang_option = click.option(
    "--keep-lang", "keep_languages", multiple=True, metavar="CODE[,CODE...]", callback=_codes,
    help="Keep only documents labelled with these languages (en,de; 'und', too little text to tell, "
         "is dropped unless listed); the others go to removed.jsonl as doc:keep-lang. Codes as the "
         "language model writes them (ISO 639-1: en, not eng or en-US); any other is refused before the "
         "run. A document rule like any other: a rule file can do the same with stat = \"language\".")

# Options of `curate run` that explain leaves out, and why: none of them changes a verdict on
# one file. Every other option of run changes what a line's verdict is, so explain takes it
# too (tests/test_cli_help.py holds the two to this list: an option added to run must be
# added to explain_options below or named here).
RUN_ONLY = {
    "inputs": "explain takes one FILE",
    "inputs_from": "explain takes one FILE",
    "output": "explain writes nothing",
    "staging": "explain writes nothing",
    "output_format": "explain writes nothing",
    "workers": "the output is the same for any number",
    "engine": "the output is the same on either engine",
    "address": "the output is the same on either engine",
    "memory": "the output is the same for any budget",
    "timings": "explain writes nothing",
    "strict": "only the exit status of a run with quarantined inputs",
    "resume": "explain writes nothing to continue",
    "overwrite": "explain writes nothing",
    "chunk_docs": "how the output is cut into shards, not what it holds",
    "quiet": "explain shows no progress bar or summary",
    "save_index": "explain writes nothing",
    "dedup_parts": "the same output, found another way",
}


def explain_options(fn):
    """Every option of `curate run` that changes a verdict on one file (all but RUN_ONLY),
    the same definitions run uses: explain had only the rule options and built the rest of
    its config from defaults, so its verdicts were not run's (--keep-lang, --encoding,
    --site off, ...)."""
    for decorator in reversed([*read_options(inputs=False), rule_options, keep_lang_option, site_options,
                               language_option, dedup_options, against_option]):
        fn = decorator(fn)
    return fn


def verdict_settings(text_field, encoding, max_line_bytes, max_doc_bytes, max_doc_lines, input_format, threshold,
                     num_perm, shingle_words, shingle_chars, min_words, site="off", site_min_pages=DEFAULT_MIN_PAGES,
                     site_min_share=DEFAULT_MIN_SHARE, language_model="langdetect") -> dict:
    """The RunConfig fields the verdict-changing options set, one way for run, dedup and
    explain, so that explain's verdicts on a file are run's. (Site and language model:
    dedup has neither option, and its pipeline neither stage.)"""
    return {"text_field": text_field, "encoding": encoding, "max_line_bytes": max_line_bytes,
            "max_doc_bytes": max_doc_bytes, "max_doc_lines": max_doc_lines, "input_format": input_format,
            "dedup": DedupConfig(threshold=threshold, num_perm=num_perm, shingle_words=shingle_words,
                                 shingle_chars=shingle_chars, min_words=min_words),
            "site": site, "site_min_pages": site_min_pages, "site_min_share": site_min_share,
            "language_model": language_model}


@cli.command(short_help="Clean INPUTS (files, folders, URLs) into a corpus, auditing every removed line.")
@io_options
@rule_options
@keep_lang_option
@site_options
@language_option
@dedup_options
def run(inputs, output, rule_dirs, no_builtin_rules, no_project_rules, disabled, enabled, keep_languages,
        **options):
    """Clean INPUTS (folders, files or URLs of .txt, JSON, Parquet, Arrow, CSV and WET files) into -o DIR.

    Each document is read, normalised (ftfy, spacing, control characters), stripped of
    noise by the rule files, labelled with its language, dropped whole if a document rule
    is on and says so (--enable gopher-quality, --keep-lang en), and its paragraphs are
    deduplicated against everything before them in input order. Every kept line carries
    its source line and byte span; every removed line is in removed.jsonl with its reason.

    \b
    Examples:
      curate run seeds/
      curate run crawl/ more.jsonl.gz -o clean/ --workers 2
      curate run crawl/ --rules my-rules/ --disable byline
      curate run crawl/ --enable gopher-quality,gopher-repetition --keep-lang en
      curate run crawl/ --threshold 0.9 --min-words 12
      curate run pages/ --site folder    # pages/<site>/*.txt: drop each site's template lines
      curate run crawl/ --language-model py3langid   # 97+ languages instead of 55
      curate run crawl/ -o clean/ --resume      # after a crash or Ctrl-C
      curate run crawl/ -o clean/ --overwrite   # replace an earlier run's output
      curate run may/ -o clean-may/ --save-index
      curate run june/ -o clean-june/ --against clean-may/   # drop copies of May's text
      curate run crawl/ -o clean/ --engine ray --address auto   # on a Ray cluster's head node
      curate run s3://bucket/crawl/ -o s3://bucket/clean/ --output-format parquet
      curate run 's3://bucket/crawl/*/wet/*.warc.wet.gz' -o clean/   # a pattern, quoted
      curate run --inputs-from files.txt -o clean/   # one path, URL or pattern a line

    \b
    Environment:
      CURATE_CACHE            what curate keeps between runs (langdetect's profiles as one
                              table; deleting it costs the next run 0.1-0.4 s) and stages
                              outputs for URLs in; default ~/.cache/curate
      CURATE_STAGING          where outputs bound for a URL are built (default: staging/
                              in the cache folder)
      CURATE_CONNECT_TIMEOUT  seconds to connect to S3 or a web server (default 10)
      CURATE_READ_TIMEOUT     seconds a server may stay silent in a request (default 60)
    """
    def ruleset() -> RuleSet:
        return ruleset_from_options(rule_dirs, no_builtin_rules, no_project_rules, disabled,
                                    quiet=options["quiet"], enabled=enabled, keep_languages=keep_languages)

    _execute(inputs, output, ruleset, stages=RUN_PIPELINE, **options)


@cli.command(short_help="Only remove near-duplicate paragraphs from INPUTS: read, deduplicate, write.")
@io_options
@dedup_options
def dedup(inputs, output, **options):
    """Only remove near-duplicate paragraphs from INPUTS: read, deduplicate, write.

    No normalisation, no noise rules, no language labels: each line is kept as it was
    read or removed as a copy of an earlier one, with the same provenance and audit as
    `curate run` (the removed.jsonl record names the paragraph it copies).

    \b
    Examples:
      curate dedup crawl/ -o deduped/
      curate dedup a.jsonl.gz b.jsonl.gz -o deduped/ --threshold 0.9 --workers 2
    """
    _execute(inputs, output, RuleSet, stages=DEDUP_PIPELINE, **options)


def _execute(inputs, output, *args, **options) -> None:
    """A run's command; a SIGTERM before its run began (its inputs found, its rules loaded,
    a Ray cluster started) says what a Ctrl-C there does not need to: nothing is written."""
    try:
        _execute_run(inputs, output, *args, **options)
    except KeyboardInterrupt:
        if interrupts.received() != signal.SIGTERM:
            raise  # "Aborted!" (CurateGroup)
        raise click.ClickException(_interrupted(Interrupted(Interrupted.UNTOUCHED), output, "local", None,
                                                False)) from None


def _execute_run(inputs, output, rules: Callable[[], RuleSet], stages, workers, engine, address, input_format,
             text_field, encoding, max_line_bytes, max_doc_bytes, max_doc_lines, memory, timings, strict, resume,
             overwrite, chunk_docs, quiet, output_format, staging, save_index, against, threshold, num_perm,
             shingle_words, shingle_chars, min_words, inputs_from=None, site="off", site_min_pages=DEFAULT_MIN_PAGES,
             site_min_share=DEFAULT_MIN_SHARE, language_model="langdetect", dedup_parts=False) -> None:
    from curate import driver
    from curate.engines import engine_for
    from curate.input_list import origins, read_list
    from curate.progress import ProgressLine, quiet_colorama, terminal_width

    started = time.perf_counter()  # the whole command's time, a Ray cluster's start too
    if not inputs and inputs_from is None:
        raise click.UsageError("Missing argument 'INPUTS...': name files, folders, URLs or patterns, or list them "
                               "with --inputs-from FILE", ctx=click.get_current_context())
    if resume and overwrite:  # refused by the writer too (the API's way in); here, as the usage error it is
        raise click.UsageError("--resume continues the run in the output folder and --overwrite discards it; give "
                               "one of them", ctx=click.get_current_context())
    listed = None
    given = tuple(map(str, inputs))
    try:
        if timings is not None:
            _check_timings(timings, output)
        if inputs_from is not None:
            listed = read_list(inputs_from)
            inputs = (*inputs, *listed.inputs)
        runner = engine_for(engine, workers, address)
        if resume and not runner.resumable:
            raise UsageError("--resume works with --engine local only; rerun without --resume")
    except CurateError as err:
        raise _fail(err) from err
    if memory is not None and not quiet:
        _warn_if_unmet(memory)
    show_bar = not quiet and sys.stderr.isatty()
    with contextlib.ExitStack() as engine_up:
        engine_up.callback(quiet_colorama)  # Ray's colorama writes ESC[0m at exit otherwise
        if show_bar and engine != "local":  # seconds of silence otherwise (10-14 s for Ray)
            where = f"connecting to the Ray cluster at {shown(address)}" if address else "starting a local Ray cluster"
            echo(f"{where}...", err=True)
        try:
            # Entered here, and again by the driver: a Ray cluster's actors start, and
            # warm up, while this process loads the rules.
            engine_up.enter_context(runner)
        except CurateError as err:
            raise _fail(err) from err
        ruleset = rules()
        verdicts = verdict_settings(text_field=text_field, encoding=encoding, max_line_bytes=max_line_bytes,
                                    max_doc_bytes=max_doc_bytes, max_doc_lines=max_doc_lines,
                                    input_format=input_format, threshold=threshold, num_perm=num_perm,
                                    shingle_words=shingle_words, shingle_chars=shingle_chars, min_words=min_words,
                                    site=site, site_min_pages=site_min_pages, site_min_share=site_min_share,
                                    language_model=language_model)
        cfg = driver.RunConfig(inputs=tuple(inputs), output=output, ruleset=ruleset, workers=workers,
                               chunk_items=chunk_docs, stages=stages, measure_index=timings is not None,
                               sink=output_format, staging=staging, against=against, save_index=save_index,
                               memory=memory, dedup_parts=dedup_parts, **verdicts)
        progress = ProgressLine(show_bar)
        try:
            if staging is not None and not isinstance(output, str):
                raise UsageError(f"--staging is where an output URL is built before its upload; -o {output} is a "
                                 "local folder, written in place: leave --staging out")
            try:
                plan = driver.plan(cfg, on_listed=progress.listed if show_bar else None)
            except BaseException:
                progress.close()  # the listing's line, if drawn: a message (or Ctrl-C's) starts a line of its own
                raise
        except CurateError as err:
            if listed is not None and isinstance(err, UsageError):
                # An input of the list: say which line of it (a list can name 90,000 files).
                err = type(err)(f"{err}{origins(str(err), listed, given)}")
            raise _fail(err) from err
        total = plan.total_bytes
        stage_times: dict[str, float] = {}
        try:
            with interrupts.noticed():
                summary = driver.run(plan, runner, on_progress=progress if not quiet else None,
                                     timings=stage_times, resume=resume, overwrite=overwrite)
        except CurateError as err:
            raise _fail(driver.unresumable(err, engine)) from err
        except KeyboardInterrupt as err:
            raise click.ClickException(_interrupted(err, output, engine, staging, overwrite)) from None
        finally:
            progress.close()
        elapsed = time.perf_counter() - started
        if timings is not None:
            index = {key: stage_times.pop(key) for key in ("index_paragraphs", "index_bytes", "index_disk_bytes",
                                                           "index_spills") if key in stage_times}
            data = json.dumps({"seconds": stage_times, "input_bytes": total, "index": index, "workers": workers,
                               "engine": engine}, indent=2, sort_keys=True) + "\n"
            try:
                replace_file(timings, [data.encode("utf-8")], "--timings FILE")
            except CurateError as err:
                raise click.ClickException(f"{err}; the run itself finished, its output is in {output}/") from err
        if not quiet:
            echo(fitted_table(summary.table(), terminal_width(sys.stderr) if show_bar else None), err=True)
            echo("\n" + closing_line(total - progress.skipped, progress.skipped, elapsed, output), err=True)
            for problem in summary.problems[:10]:
                # Each part shown whole: a source, a problem or an action that names an input
                # (a file name, an id, a JSON key) must not break the line and fake another one.
                where = f"{problem.source}:{problem.line}" if problem.line is not None else problem.source
                echo(f"warning: {shown(where)}: {shown(problem.problem)} ({shown(problem.action)})", err=True)
            if summary.problems_total > 10:
                echo(f"... and {summary.problems_total - 10} more in {output}/quarantine.jsonl", err=True)
            for warning in summary.warnings:  # also in summary.json's "warnings"
                echo(f"warning: {shown(warning)}", err=True)
        if strict and summary.problems_total > summary.skipped_by_design:
            sys.exit(3)




def fitted_table(table: str, width: int | None) -> str:
    """The summary table, or on a terminal narrower than it (``width``) each row as
    "label: count": a row too wide wraps its count onto a line of its own, under the
    next label's column, where it reads as a row of its own."""
    rows = table.split("\n")
    if width is None or max(map(len, rows)) < width:
        return table
    return "\n".join(re.sub(r" {2,}(\S+)$", r": \1", row) for row in rows)


def closing_line(read: int, skipped: int, elapsed: float, output) -> str:
    """What the run read and in how long (the whole command: a Ray cluster's start too),
    and where its output is. The MB/s is of what this process read: the input a --resume
    skipped took no time of its, and is said apart."""
    mb = read / 1e6
    resumed = f"; {skipped / 1e6:,.1f} MB done before --resume" if skipped else ""
    return f"{mb:,.1f} MB in {elapsed:,.1f} s ({mb / max(elapsed, 1e-9):,.2f} MB/s){resumed}; output in {output}/"


def _check_timings(timings: Path, output) -> None:
    """Refuse, before the run, a --timings FILE the run must not or cannot write: one in
    the output folder (or another run's), which --help promises to keep out of it (and a
    later --overwrite refused the folder for it); a file that is not timings written
    earlier (another run's summary.json was replaced without a word); a FILE in a folder
    that does not exist or cannot be written (the run was over before it said so)."""
    from curate.discover import is_curate_output
    from curate.outdir import is_curate_summary
    from curate.userfile import check_new_file, check_reachable

    check_reachable(timings, "--timings")
    landing = timings.resolve()  # written through a link: where the bytes land
    keep_out = ("the timings are kept out of the output folder, whose files are byte-identical between runs; "
                "give --timings a FILE outside it")
    if isinstance(output, Path) and (landing == output.resolve() or output.resolve() in landing.parents):
        raise ArgumentError(f"--timings {timings}: lies in the output folder {output}; {keep_out}")
    folder = next((f for f in landing.parents if is_curate_output(f)), None)
    if folder is not None:
        raise ArgumentError(f"--timings {timings}: lies in another run's output folder ({folder}); {keep_out}")
    if timings.is_dir():
        raise ArgumentError(f"--timings {timings}: is a folder; give a file name")
    if not timings.parent.is_dir():
        what = "is a file, not a folder;" if timings.parent.exists() else "no such folder; create it, or"
        raise ArgumentError(f"--timings {timings}: {timings.parent}: {what} give --timings a FILE in a folder "
                            "that exists")
    if timings.exists():
        try:
            with open(timings, "rb") as f:
                head = f.read(1 << 20)
        except OSError as err:
            raise_if_machine_limit(err, f"reading --timings {timings}")  # the file is fine
            raise UsageError(f"--timings {timings}: exists and cannot be read ({err.strerror}); give another FILE, "
                             "or remove it first") from None
        if is_curate_summary(head):
            raise ArgumentError(f"--timings {timings}: is a curate run's summary.json; give another FILE")
        if not holds_timings(head):
            raise ArgumentError(f"--timings {timings}: exists and holds no timings of an earlier run, which "
                                "alone --timings replaces; give another FILE, or remove it first")
    check_new_file(timings, "--timings FILE")


def _interrupted(err: KeyboardInterrupt, output, engine: str, staging: Path | None, overwrite: bool) -> str:
    """What a Ctrl-C that stopped a run left, and what to do: as the writer found the
    folder (errors.Interrupted says when the usual --resume would not be true)."""
    state = err.state if isinstance(err, Interrupted) else None
    # The same words for a SIGTERM (a scheduler's, `docker stop`, `kill`), which say so.
    stopped_by = interrupts.received()
    interrupted = "interrupted" if stopped_by == signal.SIGINT else f"stopped by {interrupts.name(stopped_by)}"
    if state == Interrupted.UNTOUCHED:
        return (f"{interrupted} before the run began; nothing was written to {output}/. Run the same command again "
                "to start it.")
    if state == Interrupted.REPLACING:
        return (f"{interrupted} while --overwrite was deleting the earlier output in {output}/: part of it is gone, "
                "and the new run had not begun. Run the same command again (with --overwrite) to start afresh.")
    if engine != "local":
        return (f"{interrupted}; no final file was written. A run on --engine {engine} cannot be resumed: run the "
                "same command with --overwrite to start again.")
    kept = output
    if isinstance(output, str):
        from curate.staged import staging_folder

        kept = staging_folder(output, staging)
    # --resume and --overwrite are refused together: the one replaces the other.
    resume = "--resume instead of --overwrite" if overwrite else "--resume"
    if state == Interrupted.COMMITTING:
        return (f"{interrupted} while the finished run was being moved into place; its chunks are kept in "
                f"{kept}/.partial/. Run the same command with {resume} to finish it.")
    return (f"{interrupted}; finished chunks are kept in {kept}/.partial/ and no final file was written. Run the "
            f"same command with {resume} to continue where it stopped.")


@cli.command(short_help="Show every line of one FILE with its verdict and the reason, as run would judge it.")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@explain_options
@click.option("--only", type=click.Choice(["all", "keep", "drop", "quarantine"]), default="all", show_default=True,
              help="Show every line, or only kept, only dropped or only quarantined lines (those run would "
                   "put in quarantine.jsonl: undecodable bytes, a bad record).")
@click.option("--width", type=click.IntRange(min=20), default=100, show_default=True,
              help="Cut each line's text to this many characters.")
def explain(file, rule_dirs, no_builtin_rules, no_project_rules, disabled, enabled, keep_languages, against, only,
            width, **options):
    """Show every line of FILE with its verdict and the reason: the rule that removed it,
    or the paragraph it duplicates (within FILE, or in the earlier run --against names),
    with the same rules `curate run` uses. It takes every option of run that changes a
    verdict (rules, --keep-lang, how FILE is read, --site, --language-model, the dedup
    settings, --against): with the same options, a line's verdict is the one
    `curate run FILE` gives it.

    \b
    Examples:
      curate explain seeds/003_42baa09dbcf2e687.txt
      curate explain page.txt --only drop
      curate explain part-00000 --format jsonl --only quarantine
      curate explain page.txt --rules my-rules/ --disable byline
      curate explain part-00000 --format jsonl
      curate explain page.txt --keep-lang en --encoding cp1252
    """
    from curate.discover import unreadable_input
    from curate.explain import explain_file, format_verdicts
    from curate.formats import reader_for, supported

    name = shown(str(file))  # a name from a scraped folder (curate explain crawl/*)
    try:
        exists = file.exists()
    except OSError as err:  # a path too long for the system, a folder above it locked
        raise _fail(unreadable_input(str(file), err)) from None
    if not exists:
        raise click.ClickException(f"{name}: no such file; give one input file ({supported()})")
    if not file.is_file():
        raise click.ClickException(f"{name}: not a regular file (a folder, pipe or device); give one input file "
                                   f"({supported()})")
    if reader_for(file, options["input_format"]) is None:
        raise click.ClickException(f"{name}: {supported()} files; or name its format with --format")
    ruleset = ruleset_from_options(rule_dirs, no_builtin_rules, no_project_rules, disabled, enabled=enabled,
                                   keep_languages=keep_languages)
    try:
        explained = explain_file(file, ruleset, against=against, **verdict_settings(**options))
    except CurateError as err:
        raise _fail(err) from err
    shown_any = False
    for doc_id, verdicts in explained:
        listed = [v for v in verdicts if only == "all" or v.verdict == only]
        if not listed and only != "all":  # --only: the records with such a line, not a header for each
            continue
        shown_any = True
        echo(f"== {shown(doc_id)}: {sum(v.verdict == 'keep' for v in verdicts)} kept, "
             f"{sum(v.verdict == 'drop' for v in verdicts)} dropped, "
             f"{sum(v.verdict == 'quarantine' for v in verdicts)} quarantined")
        if listed:
            echo(format_verdicts(listed, width))
    if not shown_any and only != "all":
        said = {"keep": "kept", "drop": "dropped", "quarantine": "quarantined"}[only]
        echo(f"no line of {name} is {said}", err=True)


@cli.command(short_help="Score a curate OUTPUT folder against a GOLD folder of snippet files.")
@click.argument("output", type=ExistingPath(file_okay=False))
@click.argument("gold", type=ExistingPath(file_okay=False))
@click.option("--show", type=click.IntRange(min=0), default=20, show_default=True,
              help="How many failed snippets to list.")
def score(output, gold, show):
    """Score a curate OUTPUT folder against a GOLD folder of snippet files.

    GOLD holds NAME.json files of {"keep": [...], "drop": [...], "once": [...]}: keep
    snippets must appear in the output of input NAME (its file name less its format's
    suffix: page.v2.txt is page.v2), drop snippets must not, once snippets must appear
    exactly once. OUTPUT is the folder of a finished `curate run` (any --output-format); its
    corpus is what counts. Gold pages that name no input of OUTPUT are counted in a
    warning. Exits 0 if every snippet holds, 1 if any misses, 2 if OUTPUT or GOLD cannot be
    scored (the message says why): OUTPUT is no finished run or is damaged, a gold file is
    of the wrong shape, or no gold page names an input of OUTPUT.

    \b
    Examples:
      curate run seeds/ -o out/ && curate score out/ tests/fixtures/seeds-gold
      curate score out/ tests/fixtures/noise-dev/gold --show 50
    """
    from curate.gold import score_folder

    try:
        scored = score_folder(output, gold)
    except CurateError as err:
        # Status 2, not _fail's 1: 1 says snippets missed, and a script must not read a
        # folder that could not be scored as a scored one.
        raise click.UsageError(str(err)) from err
    totals, failures, absent = scored.totals, scored.failures, scored.absent
    if absent:
        listed = ", ".join(shown(name) for name in absent[:5]) + (", ..." if len(absent) > 5 else "")
        echo(f"warning: {len(absent)} of {scored.pages} gold pages name no input of {output} (no line of it kept "
             f"or removed: {listed}); their keep and once snippets count as missed, their drop snippets as removed",
             err=True)
    for failure in failures[:show]:
        echo(f"MISS {shown(failure)}")
    if len(failures) > show:
        echo(f"... and {len(failures) - show} more")

    def pct(kind):
        ok, of = totals[kind]
        return f"{ok}/{of}" + (f" ({100 * ok / of:.1f}%)" if of else "")

    echo(f"content kept {pct('keep')}, noise removed {pct('drop')}, once {pct('once')}")
    if failures:
        sys.exit(1)


def _stdout_for(target: Path | None):
    """-o -: standard output, as --inputs-from - reads standard input (a file named "-" was
    written, and the next run refused it as existing). ./- names a file called "-"."""
    return sys.stdout.buffer if target is not None and str(target) == "-" else None


def _written_to(path: Path | None) -> str:
    return "standard output" if path is None else str(path)


@cli.command(short_help="Write one HTML page showing what the run in output folder OUT did.")
@click.argument("out", type=click.Path())  # a str: a URL must reach the message as spelled
@click.option("-o", "--output", "target", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
              default=None, help="Write the report here instead of OUT/report.html; - writes it to standard output.")
@click.option("--overwrite", is_flag=True, help="Replace the report file if it exists.")
def report(out, target, overwrite):
    """Write one HTML page showing what the run in output folder OUT did: lines and
    characters removed by reason, by source and by language, document lengths before
    and after, the largest near-duplicate clusters side by side with their similarity,
    examples of what each rule removed, and the run's settings.

    The page is self-contained (charts are inline SVG; no script, no network): open it
    from disk, mail it, archive it beside the output. Large runs are sampled (50
    clusters, 5 examples per reason, ...), and the page says so. Needs matplotlib:
    pip install 'curate-corpus[report]'.

    \b
    Examples:
      curate run seeds/ -o out/ && curate report out/     # writes out/report.html
      curate report out/ -o /tmp/run-42.html --overwrite
      curate report out/ -o - > run-42.html             # -o -: to standard output
    """
    from curate.report.commands import make_report

    started = time.monotonic()
    try:
        written = make_report(out, target, overwrite, stream=_stdout_for(target))
    except CurateError as err:
        raise _fail(err) from err
    clusters = f"{written.clusters:,} duplicate cluster{'' if written.clusters == 1 else 's'}"
    echo(f"report written to {_written_to(written.path)} ({written.size / 1e6:.2f} MB, {clusters}) in "
         f"{time.monotonic() - started:.1f} s", err=True)


@cli.command(short_help="Write the near-duplicate clusters of output folder OUT as JSON Lines.")
@click.argument("out", type=click.Path())  # a str: a URL must reach the message as spelled
@click.option("-o", "--output", "target", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
              default=None,
              help="Write the clusters here instead of OUT/clusters.jsonl; - writes them to standard output.")
@click.option("--overwrite", is_flag=True, help="Replace the clusters file if it exists.")
def clusters(out, target, overwrite):
    """Write the near-duplicate clusters of output folder OUT as JSON Lines: one record
    per cluster, largest first, with the kept paragraph (provenance and text) and each
    copy removed as its duplicate (provenance, text and similarity). The format is in
    docs/output.md ("Clusters").

    \b
    Examples:
      curate clusters out/                      # writes out/clusters.jsonl
      curate clusters out/ -o dups.jsonl --overwrite
      curate clusters out/ -o - | head -1       # -o -: to standard output
      head -1 out/clusters.jsonl | python -m json.tool     # the largest cluster
    """
    from curate.report.commands import export_clusters

    try:
        written = export_clusters(out, target, overwrite, stream=_stdout_for(target))
    except CurateError as err:
        raise _fail(err) from err
    clusters = f"{written.clusters:,} cluster{'' if written.clusters == 1 else 's'}"
    copies = f"{written.copies:,} cop{'y' if written.copies == 1 else 'ies'}"
    echo(f"{clusters} ({copies}) written to {_written_to(written.path)} ({written.size / 1e6:.2f} MB)", err=True)


@cli.group(short_help="List the active rules, test rule files against their examples, or suggest rules.")
def rules():
    """List the active rules, test rule files against their own examples, or suggest rules.

    \b
    Examples:
      curate rules list
      curate rules list --rules my-rules/
      curate rules test my-rules/
      curate rules suggest clean/ -o my-rules/site.toml
    """


@rules.command("list", short_help="Show every rule that `curate run` would load with these options.")
@rule_options
@keep_lang_option
@language_option
def rules_list(rule_dirs, no_builtin_rules, no_project_rules, disabled, enabled, keep_languages, language_model):
    """Show every rule that `curate run` would load with these options: name, scope, whether
    it is on, the file it comes from, and what it removes. Rules of a pack that is off by
    default (the document rule packs) are listed as off until --enable names the pack;
    --keep-lang adds the document rule it makes, and its codes are checked against
    --language-model's, as run does."""
    from curate.stages.documents import check_language_codes

    ruleset = ruleset_from_options(rule_dirs, no_builtin_rules, no_project_rules, disabled, enabled=enabled,
                                   keep_languages=keep_languages)
    try:
        check_language_codes(ruleset, language_model)
    except CurateError as err:
        raise _fail(err) from err
    if not ruleset.rules:
        echo("no rules loaded")
        return
    name_w = max(len(shown(r.name)) for r in ruleset.rules)
    src_w = max(len(shown(r.source)) for r in ruleset.rules)
    for r in ruleset.rules:
        state = "on" if r.enabled else "off"
        echo(f"{shown(r.name):<{name_w}}  {r.scope:<8}  {state:<3}  {shown(r.source):<{src_w}}  {shown(r.reason)}")
    origins: dict[str, int] = {}
    for rule_file in ruleset.sources:
        origin = "built-in pack" if rule_file.origin == "built-in" else rule_file.origin
        origins[origin] = origins.get(origin, 0) + rule_file.rules
    echo(f"\n{len(ruleset.active)} of {len(ruleset.rules)} rules on, from: "
         + ", ".join(f"{origin} ({n})" for origin, n in origins.items()))
    packs = ruleset.packs()
    if packs:
        echo("packs: " + ", ".join(
            f"{pack} ({sum(r.enabled for r in ruleset.rules if r.pack == pack)} of "
            f"{sum(r.pack == pack for r in ruleset.rules)} on)" for pack in packs)
            + "; turn one on with --enable NAME")


@rules.command("test", short_help="Check every rule against its own examples of lines to match and keep.")
@click.argument("folders", nargs=-1, type=click.Path(), callback=_rule_paths)
@click.option("--no-builtin-rules", is_flag=True,
              help="Do not test the built-in pack; with --no-project-rules, test only the given folders.")
@no_project_rules_option
def rules_test(folders, no_builtin_rules, no_project_rules):
    """Check every rule's examples: each examples.match must be removed and each
    examples.keep left alone. Tests the built-in pack, ./rules/ and each FOLDER (or *.toml file);
    --no-builtin-rules --no-project-rules tests only the FOLDERs.
    Exits with status 1 if any rule fails, listing every failure.

    Each rule's line also says which engine runs its pattern: [re2] (linear time, whatever
    the line) for every pattern RE2 can say exactly, which in a line rule includes \\b (at
    its edges, and in its middle as the choice of what stands on each side) and a
    one-character lookaround at its start or end, like (?<!\\w)...(?!\\w); [backtracking]
    (a time limit per line) for the rest: backreferences, any other lookaround (in the
    middle, or longer), \\B beside characters not known, conditionals, atomic groups,
    possessive repeats, repeats over 1,000, and a \\b RE2 cannot say exactly (beside a part
    that can match nothing inside an alternative, or in a block rule beside characters not
    known); [backtracking; re2 on ASCII lines] when such a \\b is its only obstacle, which
    on a line of ASCII characters RE2 says exactly. A RISK line flags a
    backtracking pattern that can take exponential time; a COST line, a pattern whose RE2
    program is so large that compiling it slows the start of every run (a bounded repeat
    of \\w, like [\\w ]{1,40}, is written out forty times).

    \b
    Examples:
      curate rules test
      curate rules test my-rules/ --no-builtin-rules --no-project-rules
    """
    from curate.patterns import BUDGET_SECONDS, backtracking_risk, compile_cost
    from curate.rules import example_failures

    ruleset = ruleset_from_options(folders, no_builtin_rules, no_project_rules, (), check_examples=False)
    failed = risky = 0
    for rule in ruleset.rules:
        failures = example_failures(rule)
        engine = rule.regex.engine if rule.regex is not None else (
            "statistic" if rule.scope == "document" else "detector")
        if rule.regex is not None and rule.regex.ascii_re2 is not None:
            engine += "; re2 on ASCII lines"
        risk = backtracking_risk(rule.regex) if rule.regex is not None else None
        n_examples = len(rule.examples_match) + len(rule.examples_keep)
        if failures:
            failed += 1
            for failure in failures:
                echo(f"FAIL {shown(rule.source)}: rule {rule.name!r}: {failure}")
        else:
            echo(f"ok   {shown(rule.name)} ({n_examples} examples) [{engine}]")
        if risk:
            risky += 1
            echo(f"RISK {shown(rule.source)}: rule {rule.name!r}: {risk}")
        cost = compile_cost(rule.regex) if rule.regex is not None else None
        if cost:
            echo(f"COST {shown(rule.source)}: rule {rule.name!r}: {cost}")
    if risky:
        echo(f"\n{risky} rule{'s' if risky > 1 else ''} can backtrack catastrophically: each runs with a "
             f"time limit of {BUDGET_SECONDS} s per line, and a line over it is reported and left to the "
             "other rules. Rewrite the pattern so that every part of a line can match one way only.")
    echo(f"\n{len(ruleset.rules) - failed} of {len(ruleset.rules)} rules pass their examples")
    if failed:
        sys.exit(1)


@rules.command("suggest", short_help="Propose line rules for the lines a run removed most often without one.")
@click.argument("out", type=ExistingPath(file_okay=False))
@click.option("-o", "--output", "target", type=click.Path(path_type=Path, dir_okay=False), default=None,
              show_default=str(SUGGESTED),
              help="The rule file to write (never over an existing file). Outside rules/ on purpose: "
                   "`curate run` loads ./rules/ by itself, and suggestions want a person's review first.")
# Its first name, kept working: every other command names what it writes -o/--output.
@click.option("--to", "to", type=click.Path(path_type=Path, dir_okay=False), default=None, hidden=True,
              help="The first name of -o/--output, kept working.")
@click.option("--top", type=click.IntRange(min=1), default=30, show_default=True,
              help="Suggest at most this many rules, the most frequent lines first.")
@click.option("--min-count", type=click.IntRange(min=1), default=3, show_default=True,
              help="Only lines removed at least this many times.")
def rules_suggest(out, target, to, top, min_count):
    """Propose line rules for the lines OUT's run removed most often without a rule:
    repeated across a site's pages (site:repeated), or judged by the line model or a page
    detector. Each rule's pattern is the line as the rules read it (normalised, its
    Markdown marks rendered), with the removed lines as match examples and kept lines
    from the same pages as keep examples; it is written only if it passes them and fires
    on every line it was made from. The removed lines that could not be made into a rule
    are counted, with why. The rules are named apart from those of the rule files in the
    target's folder and in ./rules/, which load with them. Review, then use with --rules.

    \b
    Examples:
      curate run crawl/ -o clean/
      curate rules suggest clean/ -o my-rules/site.toml
      curate rules test my-rules/ --no-builtin-rules --no-project-rules
      curate run crawl2/ -o clean2/ --rules my-rules/
    """

    from curate.suggest import rule_names_in, skipped_report, suggestions, to_toml
    from curate.userfile import cannot_write, check_new_file, check_reachable, create_file

    if target is not None and to is not None:
        raise click.UsageError(f"-o {target} and --to {to} both name the file to write; give -o FILE alone")
    target = target or to or SUGGESTED
    try:
        check_reachable(target, "-o")
    except CurateError as err:
        raise _fail(err) from None
    if target.exists():
        raise click.ClickException(f"{target} exists; choose another file with -o, or move it away first")
    # ./rules/ is loaded by every plain `curate run` here without being named: rules no one
    # has reviewed must not land in it. Compared resolved, so that rules/../rules/x.toml,
    # a link to the folder or a dangling link into it is caught too (realpath: never raises).
    project = os.path.realpath(PROJECT_RULES)
    if Path(os.path.realpath(target)).is_relative_to(project):
        raise click.ClickException(
            f"{target}: inside ./rules/, which every `curate run` in this folder loads by itself, so rules no one "
            "has reviewed would change its output; write them outside it (e.g. -o my-rules/site.toml), review "
            "and test them, then run with --rules my-rules/ (or move them into rules/ once they are right)")
    try:
        check_new_file(target, "-o FILE")
    except CurateError as err:
        raise _fail(err) from err
    # Named apart from the rules the next steps load with them: the folder's own rule
    # files (`curate rules test FOLDER`, `--rules FOLDER`) and ./rules/.
    taken = rule_names_in(target.parent)
    if PROJECT_RULES.is_dir():
        taken |= rule_names_in(PROJECT_RULES)
    try:
        found = suggestions(out, top=top, min_count=min_count, taken=frozenset(taken))
    except CurateError as err:
        raise _fail(err) from err
    for line in skipped_report(found, top, min_count):
        echo(line, err=True)
    if not found.written:
        echo(f"nothing to suggest: no line was removed {min_count}+ times without a rule in {out}"
             + (" that could be made into one" if found.skipped else ""), err=True)
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _fail(cannot_write(target, err, "-o FILE")) from None
    try:
        create_file(target, to_toml(found.written, out).encode("utf-8"), "-o FILE")
    except CurateError as err:
        raise _fail(err) from err
    lines = sum(candidate.count for candidate, _ in found.written)
    rules = len(found.written)
    # The next step tests the suggestions alone: with ./rules/ left out too, its lines are
    # theirs, and it is the same command wherever the user's ./rules/ stands.
    echo(f"{rules} rule{'' if rules == 1 else 's'} written to {target}, for {lines} removed lines; "
         f"review them, then: curate rules test {shlex.quote(str(target.parent))} --no-builtin-rules "
         "--no-project-rules", err=True)


def main() -> None:
    """The console script: the command, then an exit that skips the interpreter's teardown
    (curate/prompt_exit.py says what it still does, and why)."""
    guard_standard_streams()  # a stream that cannot be written stops nothing (curate/streams.py)
    try:
        cli()
    except SystemExit as stop:
        exit_promptly(stop.code)
    exit_promptly(0)
