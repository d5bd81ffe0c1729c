"""Load rule files into a RuleSet and prove every rule against its own examples.

A rule file is TOML with one ``[[rule]]`` table per rule. Everything is checked
before the first document is read; any fault raises RuleError naming file,
rule and fault. Matching lives in noise.py.
"""

from __future__ import annotations

import codecs
import errno
import gc
import hashlib
import math
import os
import re
import stat
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from curate import patterns, rules_verified
from curate.errors import RuleError
from curate.fingerprint import NOT_FINGERPRINTED
from curate.ignorecase import fold
from curate.pattern_table import translate
from curate.patterns import (
    BUDGET_SECONDS,
    CompiledPattern,
    PatternError,
    PatternTimeout,
)
from curate.walk import walk_folders

if TYPE_CHECKING:
    from curate.detectors import Detector
    from curate.docstats import Range, Statistic

# Used with fullmatch: `$` with match also takes a final newline ("app-promo\n" was a name
# that --disable could not name, and "rule:app-promo\n" the reason in the audit).
NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
SCOPES = ("line", "block", "page", "document")
KEYS = {
    "name", "reason", "scope", "pattern", "phrases", "max_words", "min_words", "lines",
    "case_sensitive", "enabled", "examples", "whole_line", "detector", "params", "requires",
    "stat", "min", "max", "languages", "pack", "final", "skip_sentences", "inline",
}
DOCUMENT_KEYS = {"name", "reason", "scope", "enabled", "examples", "params", "stat", "min", "max", "languages", "pack"}
LANGUAGE_CODE = re.compile(r"(?:[a-z]{2,3}(?:-[a-z0-9]{2,8})?|und)")  # fullmatch, as NAME
KEEP_LANG = "keep-lang"  # the rule --keep-lang makes
KEEP_LANG_SOURCE = "--keep-lang"  # where that rule comes from, as its source says
EXAMPLE_KEYS = {"match", "keep"}
MAX_BLOCK_LINES = 12
# Rule files are loaded from ./rules/ without being named, so they are bounded before the
# TOML parser sees them: a 200 kB file of one 100,000-part dotted key took tomllib 23.8 GB.
MAX_RULE_FILE_BYTES = 1 << 20
MAX_TOML_NESTING = 32  # arrays and inline tables inside one another
MAX_DOTTED_KEY_PARTS = 64
PROJECT_ORIGIN = "project ./rules"  # how ./rules/, picked up from the working directory, is named
BUILTIN_ORIGIN = "built-in"  # how the built-in pack is named


@dataclass(frozen=True)
class Rule:
    name: str
    reason: str
    scope: str
    regex: CompiledPattern | None  # None for a page rule, which runs a detector instead
    source: str  # file the rule came from, as shown to the user
    max_words: int | None = None
    min_words: int | None = None
    lines: int = 1  # window size of a block rule
    examples_match: tuple[str, ...] = ()
    examples_keep: tuple[str, ...] = ()
    enabled: bool = True
    # Literals, folded (ignorecase.fold), one of which must occur in a line, folded, for the
    # regex to be worth running; empty means always run. Set for phrase rules and `requires`.
    literals: tuple[str, ...] = ()
    detector: Detector | None = None  # for scope = "page"
    # The file, named the same on every machine and however the folder was spelled:
    # "built-in: menus.toml", "project ./rules: x.toml", "--rules #2: sub/y.toml".
    file: str = ""
    pack: str = ""  # the group --enable turns on by one name ("gopher-quality"); "" for none
    # A document rule (scope = "document"; curate.docstats): the statistic it bounds, the
    # bounds (it drops a document whose statistic is below low or above high), the
    # statistic's parameters, and for stat = "language" the languages it keeps.
    stat: str = ""
    low: float | None = None
    high: float | None = None
    params: tuple[tuple[str, object], ...] = ()
    languages: tuple[str, ...] = ()
    # Does the line model take this rule's hit as it is (True), or weigh it as it weighs a
    # detector's (False)? None: the default by origin (curate.stages.noise.is_final).
    final: bool | None = None
    # A line rule that never fires on a line that reads as a sentence (detectors.reads_as_sentence):
    # a keyword that marks a short line as chrome ("Published 3 hours ago") is prose in "The
    # results were published in Nature."
    skip_sentences: bool = False
    # Noise that sits inside the text (an ad slot's label or script): the page rules (the
    # article region) read a line it takes as a line of the page, not as chrome that parts
    # the text.
    inline: bool = False


BUILTIN_PREFIX = "built-in: "  # how a built-in rule's file is named (Rule.file)


@dataclass(frozen=True)
class RuleFile:
    """One rule file that was loaded, named the same on every machine (for summary.json)."""

    origin: str  # "built-in", "project ./rules" or "--rules #N"
    path: str  # relative to its folder, with forward slashes
    sha256: str  # of the file's bytes
    rules: int

    @property
    def label(self) -> str:
        return f"{self.origin}: {self.path}"


@dataclass
class RuleSet:
    rules: list[Rule] = field(default_factory=list)
    sources: list[RuleFile] = field(default_factory=list)  # every file loaded, in load order
    project_rules: bool = False  # ./rules/ was loaded without being named on the command line
    # Rules of built-in files the test suite proved as they are (rules_verified): their
    # examples need no check at load, nor the line filter's agreement with them at start.
    proven: frozenset[str] = field(default=frozenset(), metadata=NOT_FINGERPRINTED)

    @property
    def active(self) -> list[Rule]:
        return [r for r in self.rules if r.enabled]

    @cached_property
    def in_order(self) -> list[Rule]:
        """Active rules in the order they run: line and block rules, then page rules, then
        the page rules that read everything the others removed (the article region); file
        order within each group."""
        def phase(rule: Rule) -> int:
            if rule.scope != "page":
                return 0
            return 2 if getattr(rule.detector, "runs_last", False) else 1

        return sorted((r for r in self.active if r.scope != "document"), key=phase)

    @cached_property
    def document_rules(self) -> list[Rule]:
        """Active document rules, in the order they run (file order; --keep-lang first)."""
        return [r for r in self.active if r.scope == "document"]

    def sources_in_use(self) -> list[RuleFile]:
        """The rule files summary.json lists: every file loaded, but a built-in pack file
        whose rules are all off (as they are until --enable), which cannot change a byte."""
        idle = {r.file for r in self.rules if r.pack and r.file.startswith(BUILTIN_PREFIX)}
        idle -= {r.file for r in self.rules if r.enabled or not r.pack}
        return [f for f in self.sources if f.label not in idle]

    def packs(self) -> list[str]:
        return sorted({r.pack for r in self.rules if r.pack})

    def names(self) -> list[str]:
        return [r.name for r in self.rules]

    def __getstate__(self) -> dict:
        # What a process builds for itself from the rules (rule_filter's compiled filter) stays behind.
        return {key: value for key, value in self.__dict__.items() if not key.startswith("_")}


@dataclass(frozen=True)
class RuleText:
    display: str  # the path as the user wrote it, for messages
    relative: str  # path inside its folder, forward slashes
    data: bytes
    # The file's resolved path ("" for a built-in file), so that a file named twice (in
    # ./rules/ and with --rules rules/x.toml, or in a folder and on its own) loads once.
    key: str = ""


def builtin_rule_files() -> list[RuleText]:
    """The built-in pack, in name order."""
    pack = resources.files("curate") / "rules"
    out = []
    for entry in sorted(pack.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            out.append(RuleText(f"<builtin>/{entry.name}", entry.name, entry.read_bytes()))
    return out


def builtin_packs() -> list[str]:
    """The packs of the built-in rule files, which --enable turns on by name, as the files
    define them: for the help, which named them by hand and missed one. Only the TOML is
    read (some 50 ms; loading the rules takes 0.3 s), and only when the help is shown."""
    packs: set[str] = set()
    for text in builtin_rule_files():
        tables = tomllib.loads(text.data.decode("utf-8")).get("rule", [])
        packs.update(t["pack"] for t in tables if isinstance(t, dict) and isinstance(t.get("pack"), str) and t["pack"])
    return sorted(packs)


def folder_rule_files(folder: Path, named: bool = True) -> list[RuleText]:
    """Every *.toml under the folder, in path order. ``named``: the user passed it with
    --rules, so a folder without rule files is a mistake worth stopping for, and the path
    may be one *.toml file."""
    try:
        info = folder.stat()
    except OSError as err:
        raise _unopened(folder, err) from err
    if stat.S_ISREG(info.st_mode) and named:
        # One rule file named on its own (--rules my-rule.toml), as a folder holding it alone.
        if not folder.name.endswith(".toml"):
            raise RuleError(str(folder), "not a rule file: rule files end in .toml; pass a *.toml file or "
                            "a folder that holds them")
        return [RuleText(str(folder), folder.name, read_rule_file(folder), os.path.realpath(folder))]
    if not stat.S_ISDIR(info.st_mode) and named:
        from curate.formats.base import kind_of_mode  # only here: the rules load without the readers

        # A FIFO, device or socket: told as such, since its name may well end in .toml.
        raise RuleError(str(folder), f"{kind_of_mode(info.st_mode)}, not a regular file or folder; {RULE_PATHS}")
    if not stat.S_ISDIR(info.st_mode):
        raise RuleError(str(folder), "not a folder of rule files; pass a folder that holds *.toml files")
    paths = _toml_files(folder)
    if named and not paths:
        raise RuleError(str(folder), "no *.toml rule files in this folder; check the path given to --rules")
    return [RuleText(str(path), path.relative_to(folder).as_posix(), read_rule_file(path), os.path.realpath(path))
            for path in paths]


def _toml_files(folder: Path) -> list[Path]:
    """*.toml files under the folder, sorted. Symlinked folders are followed, as an input
    folder's are (a shared rule folder linked in was skipped without a word), each real
    folder once: a link back to a parent, or to a folder already walked, is not followed
    again. Hidden names are skipped, as in an input folder: an editor's lock link
    (.#x.toml) or a .backup/ copy is no rule file of the project."""
    found: list[Path] = []
    # Each folder's real path, from its parent's: realpath on every folder looked up every
    # folder above it again (a tree 1,100 deep took 9 s).
    reals = {os.fspath(folder): os.path.realpath(folder)}
    walked = set(reals.values())
    for root, dirs, files in walk_folders(folder, _raise_walk_error, followlinks=True):
        root_real = reals.pop(root)
        # Real folders claim their place before links to them, so a file is named by its
        # real path where a link sits beside it.
        shown = sorted(d for d in dirs if not d.startswith("."))
        dirs[:] = []
        for name in sorted(shown, key=lambda d: os.path.islink(os.path.join(root, d))):
            path = os.path.join(root, name)
            real = os.path.realpath(path) if os.path.islink(path) else os.path.join(root_real, name)
            if real not in walked:
                walked.add(real)
                reals[path] = real
                dirs.append(name)
        dirs.sort()
        found.extend(Path(root) / name for name in files if name.endswith(".toml") and not name.startswith("."))
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def _raise_walk_error(err: OSError) -> None:
    raise RuleError(str(err.filename), f"cannot list the rule folder ({_os_reason(err)})")


def read_rule_file(path: Path) -> bytes:
    """The file's bytes, if it is a regular file of at most MAX_RULE_FILE_BYTES. Opened
    without blocking, so that a FIFO named *.toml cannot stall the run."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as err:
        raise RuleError(str(path), f"cannot read ({_os_reason(err)}); fix or remove the file") from err
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RuleError(str(path), "not a regular file (a FIFO, device or socket); only regular "
                            "files are read as rules: remove it or rename it away from *.toml")
        if info.st_size > MAX_RULE_FILE_BYTES:
            raise RuleError(str(path), f"{info.st_size:,} bytes; a rule file may hold at most "
                            f"{MAX_RULE_FILE_BYTES:,}: split it into several files")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_RULE_FILE_BYTES + 1)
    except OSError as err:
        raise RuleError(str(path), f"cannot read ({_os_reason(err)}); fix or remove the file") from err
    finally:
        os.close(fd)
    if len(data) > MAX_RULE_FILE_BYTES:
        raise RuleError(str(path), f"more than {MAX_RULE_FILE_BYTES:,} bytes; split it into several files")
    return data


def _os_reason(err: OSError) -> str:
    return err.strerror or type(err).__name__


RULE_PATHS = "rules come from a folder of *.toml files or one *.toml file (--rules DIR|FILE)"


def _unopened(folder: Path, err: OSError) -> RuleError:
    """A rule path that cannot be looked at: a missing one said as missing (it was called
    a folder that could not be opened, though --rules also takes a file)."""
    if err.errno == errno.ENOENT:
        return RuleError(str(folder), f"no such file or folder; check the path: {RULE_PATHS}")
    return RuleError(str(folder), f"cannot open it ({_os_reason(err)}); {RULE_PATHS}")


def _folder_key(folder: Path) -> str:
    """The same for every spelling of one folder (for loading ./rules once)."""
    try:
        return os.path.realpath(folder, strict=True)
    except (OSError, RuntimeError) as err:
        if isinstance(err, RuntimeError) or err.errno == errno.ELOOP:
            raise RuleError(str(folder), "symlink loop: the path points back at itself; "
                            "pass a real folder of *.toml files") from err
        raise _unopened(folder, err) from err


def load_rules(
    folders: Sequence[Path] = (),
    builtin: bool = True,
    disabled: tuple[str, ...] = (),
    check_examples: bool = True,
    project: Path | None = None,
    enabled: tuple[str, ...] = (),
    keep_languages: tuple[str, ...] = (),
) -> RuleSet:
    """Load the built-in pack (unless turned off), the project folder (``project``,
    ./rules/ when the caller found one) and each folder, in that order. ``enabled``: packs
    or rules to turn on (--enable); ``disabled`` turns off, and wins over ``enabled``.
    ``keep_languages``: --keep-lang, a document rule that drops every other language."""
    ruleset = RuleSet()
    compiled_before = patterns.regex_programs_compiled()
    groups: list[tuple[str, list[RuleText]]] = []
    if builtin:
        groups.append((BUILTIN_ORIGIN, builtin_rule_files()))
    seen: set[str] = set()
    named = [(PROJECT_ORIGIN, project, False)] if project is not None else []
    named += [(f"--rules #{i}", Path(folder), True) for i, folder in enumerate(folders, start=1)]
    for origin, folder, explicit in named:
        key = _folder_key(folder)
        if key in seen:
            continue  # ./rules given again with --rules: load it once
        seen.add(key)
        groups.append((origin, folder_rule_files(folder, named=explicit)))
        if origin == PROJECT_ORIGIN:
            ruleset.project_rules = True
    where: dict[str, str] = {}
    proven: set[str] = set()  # rules of built-in files the test suite proved as they are (rules_verified)
    loaded: set[str] = set()  # resolved paths of the files loaded
    for origin, files in groups:
        for text in files:
            if text.key:
                if text.key in loaded:
                    continue  # named again (./rules/x.toml given with --rules): load it once, as a folder
                loaded.add(text.key)
            rule_file = RuleFile(origin, text.relative, hashlib.sha256(text.data).hexdigest(), 0)
            is_builtin = origin == BUILTIN_ORIGIN  # not the parameter `builtin`, which asks for the pack
            rules = parse_rule_file(text.display, _decode(text), rule_file.label, trusted=is_builtin)
            if is_builtin and check_examples and rules_verified.proven(text.relative, rule_file.sha256):
                proven.update(rule.name for rule in rules)
            for rule in rules:
                if rule.name in where:
                    raise RuleError(text.display, f"duplicate rule name; it is already defined in "
                                    f"{where[rule.name]}. Rename one of them", rule.name)
                where[rule.name] = text.display
                ruleset.rules.append(rule)
            ruleset.sources.append(replace(rule_file, rules=len(rules)))
    if keep_languages:
        if KEEP_LANG in where:
            raise RuleError(where[KEEP_LANG], f"a rule named {KEEP_LANG!r} clashes with --keep-lang; rename it",
                            KEEP_LANG)
        ruleset.rules.insert(0, keep_lang_rule(keep_languages))
        where[KEEP_LANG] = "--keep-lang"
    unknown = sorted(set(disabled) - set(where))
    if unknown:
        raise RuleError("--disable", f"no rule named {', '.join(unknown)}; `curate rules list` shows the names")
    if enabled:
        packs = set(ruleset.packs())
        unknown = sorted(set(enabled) - set(where) - packs)
        if unknown:
            raise RuleError("--enable", f"no pack or rule named {', '.join(unknown)}; packs: "
                            f"{', '.join(sorted(packs)) or 'none loaded'} (`curate rules list` shows the rules)")
        ruleset.rules = [_replace(r, enabled=True) if r.name in enabled or r.pack in enabled else r
                         for r in ruleset.rules]
    if disabled:
        ruleset.rules = [_replace(r, enabled=False) if r.name in disabled else r for r in ruleset.rules]
    if check_examples:
        # Only for rules that will run: `rules test` (check_examples=False) proves each
        # rule on its own examples, where a second model is harmless and cannot be disabled.
        _refuse_two_models(ruleset, where)
        for rule in ruleset.rules:
            if rule.name not in proven:
                check_rule_examples(rule)
        ruleset.proven = frozenset(proven)
    # Compiling patterns leaves the regex module's parse trees behind in reference cycles
    # whose __del__ the collector would run at some point of the run, where a Ctrl-C that
    # lands inside one is swallowed: collect them now, before any input. Only when some
    # were compiled: a full collection costs 10 ms in a new process and 50 ms or more in
    # one that holds much (a program that runs curate again and again, the test suite),
    # and the built-in rules come translated, with none.
    if patterns.regex_programs_compiled() != compiled_before:
        gc.collect()
    return ruleset


def _refuse_two_models(ruleset: RuleSet, where: dict[str, str]) -> None:
    """A run has one line model: it has the last word on every other rule's hit, and with
    two on the last one alone decided while `rules list` and summary.json named both."""
    models = [r for r in ruleset.active if getattr(r.detector, "arbitrates", False)]
    if len(models) < 2:
        return
    first, second = models[0], models[1]
    builtin = next((r.name for r in models if r.file.startswith(BUILTIN_PREFIX)), None)
    advice = (f"turn the built-in one off with --disable {builtin} to run yours in its place" if builtin
              else f"turn one off with --disable {first.name} or --disable {second.name}")
    raise RuleError(where[second.name], f"a second line model: {first.name!r} ({where[first.name]}) is on too, "
                    f"and a run takes one (it has the last word on the other rules' hits); {advice}", second.name)


def _decode(text: RuleText) -> str:
    if text.data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Notepad's "Unicode"
        raise RuleError(text.display, "saved as UTF-16; save it as UTF-8")
    try:
        return text.data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RuleError(text.display, f"not UTF-8 ({err.reason} at byte {err.start}); save it as UTF-8") from err


def _replace(rule: Rule, **changes) -> Rule:
    return replace(rule, **changes)


def parse_rule_file(display: str, text: str, file: str = "", trusted: bool = False) -> list[Rule]:
    """The rules of one file. ``trusted``: a built-in file, whose shape needs no check
    before it is parsed (the check scans the text character by character in Python, 45 ms
    of every run's start for the built-in files)."""
    # A UTF-8 byte order mark, as Windows Notepad writes one, is no TOML: read past it, as
    # TOML editors do (it was "not valid TOML: Invalid statement (at line 1, column 1)").
    text = text.removeprefix("\ufeff")
    if not trusted:
        check_toml_shape(display, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise RuleError(display, f"not valid TOML: {err}") from err
    except (RecursionError, MemoryError) as err:
        raise RuleError(display, "too deeply nested or too large for a rule file; simplify it") from err
    extra = sorted(set(data) - {"rule"})
    if extra:
        raise RuleError(display, f"unknown top-level key {extra[0]!r}; a rule file holds only [[rule]] tables")
    tables = data.get("rule", [])
    if isinstance(tables, dict):
        raise RuleError(display, "'rule' must be an array of tables: write [[rule]], not [rule]")
    if not isinstance(tables, list):
        raise RuleError(display, f"'rule' must be an array of tables, not {_toml_kind(tables)}: begin each rule "
                        "with a line [[rule]] and give its keys on the lines under it")
    if not tables:
        # An empty file, one of comments only, or `rule = []` loaded nothing and said nothing,
        # as a folder without *.toml files once did: a rule file is there to define rules.
        given = "'rule = []' is an empty list of rules" if "rule" in data else "no [[rule]] table"
        raise RuleError(display, f"defines no rule ({given}): begin each rule with a line [[rule]] and give its "
                        "keys on the lines under it, or remove the file")
    for i, table in enumerate(tables, start=1):
        # rule = [1, 2] is a list all the same, and each item was read as a table (AttributeError)
        if not isinstance(table, dict):
            raise RuleError(display, f"a rule must be a table of keys, not {_toml_kind(table)}: begin each rule "
                            "with a line [[rule]] and give its keys on the lines under it", f"#{i}")
    return [replace(_parse_rule(display, i, table), file=file or display) for i, table in enumerate(tables, start=1)]


def check_toml_shape(display: str, text: str) -> None:
    """Refuse, before parsing, TOML nested more than MAX_TOML_NESTING deep or with a dotted
    key of more than MAX_DOTTED_KEY_PARTS parts: the parser's time, memory and recursion
    grow with both. Looks only outside strings and comments."""
    depth = dots = 0
    line, i, n = 1, 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if ch in "\"'":
            i, line = _skip_string(text, i, line)
            continue
        if ch in "[{":
            depth += 1
            if depth > MAX_TOML_NESTING:
                raise RuleError(display, f"line {line}: arrays or tables nested more than {MAX_TOML_NESTING} "
                                "deep; a rule file never needs that")
        elif ch in "]}":
            depth = max(depth - 1, 0)
        elif ch == ".":
            dots += 1
            if dots >= MAX_DOTTED_KEY_PARTS:
                raise RuleError(display, f"line {line}: a dotted key of more than {MAX_DOTTED_KEY_PARTS} parts; "
                                "a rule file never needs that")
        if ch in "\n=,[]{}":
            dots = 0
        if ch == "\n":
            line += 1
        i += 1


def _skip_string(text: str, i: int, line: int) -> tuple[int, int]:
    """Index just past the string that starts at i, and the line it ends on. An unclosed
    string runs to the end: the TOML parser reports it properly."""
    quote = text[i]
    if text.startswith(quote * 3, i):
        end = text.find(quote * 3, i + 3)
        if quote == '"':
            while end > 0 and _escaped(text, end):
                end = text.find(quote * 3, end + 1)
        stop = len(text) if end < 0 else end + 3
        while stop < len(text) and text[stop] == quote:  # up to two quotes may end the content
            stop += 1
    else:
        j = i + 1
        while j < len(text) and text[j] != quote and text[j] != "\n":
            j += 2 if quote == '"' and text[j] == "\\" else 1
        stop = j + 1 if j < len(text) and text[j] == quote else j
    return stop, line + text.count("\n", i, stop)


def _escaped(text: str, pos: int) -> bool:
    backslashes = 0
    while pos - 1 - backslashes >= 0 and text[pos - 1 - backslashes] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _parse_rule(display: str, number: int, table: dict) -> Rule:
    name = table.get("name")
    label = name if isinstance(name, str) else f"#{number}"

    def fail(msg: str) -> RuleError:
        return RuleError(display, msg, label)

    if name is None:
        raise fail("'name' is required, e.g. name = \"cookie-banner\"")
    _string(table, "name", fail, "name = \"cookie-banner\"")
    if not NAME.fullmatch(name):
        raise fail("'name' must be lowercase letters, digits and hyphens, e.g. name = \"cookie-banner\"")
    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise fail(f"unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(KEYS))}")
    reason = _string(table, "reason", fail, "reason = \"cookie banner\"")
    if reason is None or not reason.strip():
        raise fail(f"'reason' is {'required' if reason is None else 'empty'}: say in words what kind of noise this is")
    scope = _string(table, "scope", fail, "scope = \"line\"") or "line"
    if scope not in SCOPES:
        raise fail(f"scope {scope!r} is unknown; choose from: {', '.join(SCOPES)}")
    examples_match, examples_keep = _examples(table, fail)
    enabled = _typed(table, "enabled", bool, True, fail)
    pack = _string(table, "pack", fail, "pack = \"gopher-quality\"") or ""
    if pack and not NAME.fullmatch(pack):
        raise fail("'pack' must be lowercase letters, digits and hyphens, e.g. pack = \"gopher-quality\"")
    final = _typed(table, "final", bool, None, fail)
    if scope == "document":
        if final is not None:
            raise fail("'final' is for line, block and page rules: the line model does not judge documents")
        rule = _parse_document_rule(table, name, reason.strip(), display, fail)
        return replace(rule, examples_match=examples_match, examples_keep=examples_keep, enabled=enabled,
                       pack=pack)
    for key in ("stat", "min", "max", "languages"):
        if key in table:
            raise fail(f"{key!r} belongs to document rules: add scope = \"document\"")
    if scope == "page":
        return replace(_parse_page_rule(table, name, reason.strip(), display, examples_match, examples_keep, enabled,
                                        fail), final=final, pack=pack)
    if "detector" in table or "params" in table:
        raise fail("'detector' and 'params' belong to page rules: add scope = \"page\"")
    case_sensitive = _typed(table, "case_sensitive", bool, False, fail)
    flags = 0 if case_sensitive else re.IGNORECASE
    pattern, phrases = table.get("pattern"), table.get("phrases")
    if "whole_line" in table and phrases is None:
        raise fail("'whole_line' works with 'phrases'; anchor a 'pattern' with ^...$ instead")
    if (pattern is None) == (phrases is None):
        raise fail("give exactly one of 'pattern' (a regular expression) or 'phrases' (a list of strings)")
    literals: tuple[str, ...] = ()
    if pattern is not None:
        if not _string(table, "pattern", fail, "pattern = '^cookie settings$'"):
            raise fail("'pattern' must be a non-empty string")
        source = pattern
    else:
        if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
            raise fail("'phrases' must be a non-empty list of non-empty strings, e.g. "
                       "phrases = [\"download our app\", \"get the app\"]")
        if scope != "line":
            raise fail("'phrases' work on single lines; use 'pattern' for a block rule")
        alternatives = "|".join(re.escape(p.strip()) for p in sorted(phrases, key=len, reverse=True))
        whole_line = _typed(table, "whole_line", bool, False, fail)
        # whole_line: the whole line is the phrase, give or take punctuation, arrows and bullets;
        # otherwise word-bounded, so that a phrase never matches inside a longer word.
        source = (r"^[\W_]*(?:" + alternatives + r")[\W_]*$" if whole_line
                  else r"(?<!\w)(?:" + alternatives + r")(?!\w)")
        if not case_sensitive and not whole_line:
            literals = tuple(sorted({fold(p.strip()) for p in phrases}))
    flags |= re.MULTILINE if scope == "block" else 0
    try:
        regex = translate(source, flags, boolean=scope == "line")
    except PatternError as err:
        raise fail(str(err)) from err
    lines = _typed(table, "lines", int, 1, fail)
    if scope == "block" and not 2 <= lines <= MAX_BLOCK_LINES:
        raise fail(f"a block rule needs 'lines' between 2 and {MAX_BLOCK_LINES} (the window it looks at)")
    if scope == "line" and "lines" in table:
        raise fail("'lines' is for block rules only")
    requires = table.get("requires")
    if requires is not None:
        if scope != "line" or pattern is None:
            raise fail("'requires' is a prefilter for line rules with a 'pattern'")
        if not isinstance(requires, list) or not requires or not all(isinstance(x, str) and x for x in requires):
            raise fail("'requires' must be a non-empty list of strings, one of which every match contains")
        # Checked on the folded line before the pattern runs: a cheap way past most lines.
        # Folded as re's IGNORECASE compares letters (ignorecase.py): "iletişim" is in
        # "İLETİŞİM", as the pattern finds it, though "İ".lower() is "i" and a dot.
        literals = tuple(sorted({fold(x) for x in requires}))
    max_words = _typed(table, "max_words", int, None, fail)
    min_words = _typed(table, "min_words", int, None, fail)
    if scope == "block":
        # They bound one line's words (README); a block rule's window was never counted, so
        # they were accepted and ignored.
        for key in ("max_words", "min_words"):
            if key in table:
                raise fail(f"{key!r} is for line rules: it bounds one line's words, and a block rule looks at a "
                           "window of lines; bound the words in the pattern instead, or make it a line rule")
    skip_sentences = _typed(table, "skip_sentences", bool, False, fail)
    if skip_sentences and scope != "line":
        raise fail("'skip_sentences' is for line rules: a block rule's window is not one sentence")
    inline = _typed(table, "inline", bool, False, fail)
    if phrases is not None and whole_line and max_words is None:
        # A line that is one phrase has about as many words; skip longer lines unsearched.
        max_words = max(len(p.split()) for p in phrases) + 4
    return Rule(
        name=name, reason=reason.strip(), scope=scope, regex=regex, source=display,
        max_words=max_words, min_words=min_words, lines=lines,
        examples_match=examples_match, examples_keep=examples_keep, enabled=enabled, literals=literals,
        final=final, skip_sentences=skip_sentences, inline=inline, pack=pack,
    )


def _examples(table: dict, fail) -> tuple[tuple[str, ...], tuple[str, ...]]:
    examples = table.get("examples", {})
    if not isinstance(examples, dict):
        raise fail(f"'examples' must be a table, not {_toml_kind(examples)}: write examples.match = [\"...\"] "
                   "(and examples.keep = [\"...\"])")
    if set(examples) - EXAMPLE_KEYS:
        raise fail("'examples' takes only 'match' and 'keep', each a list of strings")
    match, keep = examples.get("match", []), examples.get("keep", [])
    for key, value in (("match", match), ("keep", keep)):
        if not isinstance(value, list):
            raise fail(f"examples.{key} must be a list of strings, not {_toml_kind(value)}: "
                       f"examples.{key} = [\"...\"]")
        if not all(isinstance(v, str) for v in value):
            raise fail(f"examples.{key} must be a list of strings, each in quotes")
    if not match:
        raise fail("give at least one examples.match: a rule proves itself on its own examples")
    return tuple(match), tuple(keep)


def _parse_page_rule(table, name, reason, display, examples_match, examples_keep, enabled, fail) -> Rule:
    from curate.detectors import build_detector

    # 'requires' too: it was accepted and ignored (it prefilters a pattern's lines, and a
    # page rule has no pattern).
    for key in ("pattern", "phrases", "whole_line", "lines", "max_words", "min_words", "case_sensitive",
                "skip_sentences", "inline", "requires"):
        if key in table:
            raise fail(f"{key!r} does not apply to a page rule; a page rule runs a detector, tuned by 'params'")
    kind, params = _string(table, "detector", fail, "detector = \"link-run\""), table.get("params", {})
    if kind is None:
        raise fail("a page rule needs detector = \"<name>\", e.g. detector = \"link-run\"")
    if not isinstance(params, dict):
        raise fail("'params' must be a table, e.g. params = { min_lines = 4 }")
    try:
        instance = build_detector(kind, params)
    except ValueError as err:
        raise fail(str(err)) from err
    return Rule(name=name, reason=reason, scope="page", regex=None, source=display,
                examples_match=examples_match, examples_keep=examples_keep, enabled=enabled, detector=instance)


def _parse_document_rule(table: dict, name: str, reason: str, display: str, fail) -> Rule:
    """A rule on a whole document's statistic (curate.docstats), or on its language."""
    from curate.docstats import LANGUAGE, STATISTICS

    extra = sorted(set(table) - DOCUMENT_KEYS)
    if extra:
        raise fail(f"{extra[0]!r} does not apply to a document rule; it takes {', '.join(sorted(DOCUMENT_KEYS))}")
    stat = _string(table, "stat", fail, "stat = \"words\"")
    known = [*STATISTICS, LANGUAGE]
    if stat not in known:
        raise fail(f"a document rule needs stat = one of: {', '.join(known)} (got {stat!r})")
    if stat == LANGUAGE:
        for key in ("min", "max", "params"):
            if key in table:
                raise fail(f"{key!r} does not apply to stat = \"language\": give the languages to keep")
        return Rule(name=name, reason=reason, scope="document", regex=None, source=display, stat=stat,
                    languages=_language_codes(table.get("languages"), fail))
    if "languages" in table:
        raise fail("'languages' goes with stat = \"language\"")
    info = STATISTICS[stat]
    low, high = _bound(table, "min", stat, info, fail), _bound(table, "max", stat, info, fail)
    if low is None and high is None:
        raise fail("give 'min', 'max' or both: the rule drops a document whose statistic is outside them")
    if low is not None and high is not None and low > high:
        raise fail(f"'min' = {_written(table['min'])} is above 'max' = {_written(table['max'])}, so every "
                   f"document would be dropped (stat {stat!r} is {info.range}); the rule keeps what lies between "
                   f"them: e.g. min = {_written(table['max'])} and max = {_written(table['min'])}")
    params = table.get("params", {})
    if not isinstance(params, dict):
        raise fail("'params' must be a table, e.g. params = { n = 2 }")
    unknown = sorted(set(params) - set(info.params))
    if unknown:
        allowed = ", ".join(info.params) or "none"
        raise fail(f"stat {stat!r} takes no parameter {unknown[0]!r} (it takes: {allowed})")
    missing = [p for p in info.required if p not in params]
    if missing:
        raise fail(f"stat {stat!r} needs params.{missing[0]}")
    for key, value in params.items():
        if key == "words":
            if not isinstance(value, list) or not value or not all(isinstance(w, str) and w for w in value):
                raise fail("params.words must be a non-empty list of words")
            params[key] = tuple(fold(w) for w in value)  # as docstats.stopwords folds the document's words
        elif not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100:
            raise fail(f"params.{key} must be a whole number from 1 to 100")
    return Rule(name=name, reason=reason, scope="document", regex=None, source=display, stat=stat,
                low=low, high=high, params=tuple(sorted(params.items())))


def _bound(table: dict, key: str, stat: str, info: Statistic, fail) -> float | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise fail(f"{key!r} must be a number, not {_toml_kind(value)}, e.g. {key} = 50")
    try:
        bound = float(value)
    except OverflowError:  # an integer of 400 digits is past any float
        bound = math.inf
    if not math.isfinite(bound):
        # nan compares false with everything, and an infinite bound keeps or drops every document
        got = repr(value) if isinstance(value, float) else "an integer that large"
        raise fail(f"{key!r} must be a finite number, not {got}: leave {key!r} out for no bound on that side")
    if not info.range.holds(bound):
        # Past the statistic's own range a bound decides nothing: max = 7 on a share never
        # fires, min = -3 on a count neither, min = 2 on a share drops every document.
        never = (key == "min") == (bound < info.range.low)
        effect = "the rule would never fire" if never else "every document would be dropped"
        raise fail(f"{key!r} = {_written(value)} is outside what stat {stat!r} measures ({info.about}): "
                   f"{info.range}, so {effect}; e.g. {_example(key, info.range, bound)}")
    return bound


def _written(value: float) -> str:
    """A bound as the rule file spells it (7 or 7.0; TOML's 1_000 reads 1000)."""
    if isinstance(value, float):
        return repr(value)
    return str(value) if abs(value) < 10**12 else "an integer that large"


def _example(key: str, allowed: Range, bound: float) -> str:
    """What to write instead of a bound outside the range: the statistic's example, and
    for a share or score given as a percentage (max = 30), that percentage as a fraction."""
    said = f"{key} = {allowed.example!r}"
    if allowed.high == 1 and 1 < bound <= 100:
        said += f", or {key} = {bound / 100:g} for {bound:g}%"
    return said


def _language_codes(value: object, fail) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise fail("'languages' must be a non-empty list of language codes, e.g. languages = [\"en\", \"de\"]")
    bad = [v for v in value if not LANGUAGE_CODE.fullmatch(v)]
    if bad:
        from curate.language_codes import did_you_mean

        # The default model's codes: py3langid's are checked with the run's settings (stages.documents).
        raise fail(f"{bad[0]!r} is not a language code as the language stage writes them "
                   f"(lowercase ISO 639-1, e.g. \"en\", \"zh\", or \"und\" for undetermined)"
                   f"{did_you_mean(bad[0], 'langdetect')}")
    return tuple(sorted(set(value)))


def keep_lang_rule(codes: tuple[str, ...]) -> Rule:
    """The document rule --keep-lang en,de stands for; it proves itself on its own examples
    (a document in the first language kept; one in no language, "und", dropped unless kept)."""
    def fail(msg: str) -> RuleError:
        return RuleError("--keep-lang", msg, KEEP_LANG)

    languages = _language_codes(list(codes), fail)
    return Rule(name=KEEP_LANG, reason=f"language not in --keep-lang {','.join(languages)}", scope="document",
                regex=None, source=KEEP_LANG_SOURCE, file=KEEP_LANG_SOURCE, stat="language", languages=languages,
                examples_match=() if "und" in languages else ("12345 67890",))


def _string(table: dict, key: str, fail, example: str) -> str | None:
    """The key's string, or None if it is not given; a value of another type is named as
    such (reason = 5 was told "'reason' is required", though it was given)."""
    value = table.get(key)
    if value is None or isinstance(value, str):
        return value
    raise fail(f"{key!r} must be a string in quotes, not {_toml_kind(value)}, e.g. {example}")


def _toml_kind(value: object) -> str:
    """What a TOML value is, in TOML's words."""
    if isinstance(value, bool):
        return "true or false"
    kinds = ((str, "a string"), (int, "a number"), (float, "a number"), (list, "a list"), (dict, "a table"))
    return next((kind for type_, kind in kinds if isinstance(value, type_)), "a date or time")


def _typed(table: dict, key: str, kind: type[int] | type[bool], default, fail):
    value = table.get(key, default)
    if value is default:
        return value
    # bool is a subclass of int: reject `lines = true` as firmly as `lines = "3"`.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise fail(f"{key!r} must be {'an integer' if kind is int else 'true or false'}")
    if kind is int and value < 1:
        raise fail(f"{key!r} must be at least 1")
    return value


def example_failures(rule: Rule) -> list[str]:
    """Every way the rule fails its own examples (empty when it passes)."""
    from curate.stages.noise import rule_hits_text

    if rule.scope == "document":
        from curate.stages.documents import rule_fires_text as fires
    else:
        fires = rule_hits_text
    failures = []
    for kind, examples, wanted in (("match", rule.examples_match, True), ("keep", rule.examples_keep, False)):
        for i, example in enumerate(examples, start=1):
            try:
                hit = fires(rule, example)
            except PatternTimeout:
                failures.append(f"examples.{kind} #{i} takes more than {BUDGET_SECONDS} s to match "
                                f"(catastrophic backtracking); rewrite the pattern: {example!r}")
                continue
            if hit and not wanted:
                failures.append(f"examples.keep #{i} matches, but must not: {example!r}")
            elif wanted and not hit:
                failures.append(f"examples.match #{i} does not match: {example!r}")
    return failures


def check_rule_examples(rule: Rule) -> None:
    """Raise RuleError unless the rule fires on every match example and on no keep example."""
    failures = example_failures(rule)
    if failures:
        raise RuleError(rule.source, failures[0], rule.name)
