"""`curate rules suggest OUT`: rules for a person to review, from what a run removed.

The lines worth a rule are those a run removed without one: repeated on many pages of a
site (``site:repeated``), or judged by the line model or a page detector. Turned into
line rules, they catch the same lines on the pages the run could not judge so (a site with
two pages in the next crawl, a page the model was unsure of). Each suggestion is one
line as a run's rules read it (normalised, its Markdown marks rendered: "**Subscribe**
now" is "Subscribe now" to them), digits generalised to ``\\d+`` (so "© 2023" and
"© 2024" are one rule), with the lines it removed as match examples and the nearest kept
line of the same pages as keep examples. A suggestion is written only if it passes its
examples and fires on every line it was made from; the lines that could not be made into
one are counted, with why (Suggestions.skipped).
"""

from __future__ import annotations

import json
import os
import re
import tomllib
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from curate.errors import RuleError, UsageError
from curate.outdir import PARTIAL, REMOVED, lock_holder
from curate.rules import Rule, _parse_rule, example_failures
from curate.stages.noise import rule_hits_text, text_lines
from curate.stages.normalise import as_read, normalise_text, page_may_have_marks
from curate.terminal import shown

# Reasons of removals no line rule made: where a rule would add something.
RULE_FREE_REASONS = ("site:", "model:")
MAX_CHARS = 300  # a longer line is an article's paragraph more often than a template's
MAX_EXAMPLES = 3
MIN_KEEP_WORDS = 4
DIGITS = re.compile(r"\d+")
SPECIAL = re.compile(r"([\\.^$|?*+()\[\]{}])")  # what a regex reads as syntax (re.escape also escapes spaces)


# Why a removed line got no rule (Suggestions.skipped's keys).
TOO_LONG = f"longer than {MAX_CHARS} characters (an article's paragraph more often than a template's)"
UNWRITABLE = "not valid UTF-8, which a TOML file cannot hold"
NOTHING_READ = "nothing left of it once normalised"
PAGE_DEPENDENT = ("a Markdown heading after spaces, which the rules read with or without its #,"
                  " by what else its page holds")
REFUSED = "its pattern is not a valid rule"
FAILS = "its rule fails its own examples, or misses a line it was made from"


@dataclass
class Candidate:
    """Removed lines that generalise to one pattern, with where they were removed."""

    pattern: str
    read: str = ""  # the first of its lines as the rules read it (the rule's name)
    count: int = 0
    texts: Counter = field(default_factory=Counter)  # the lines as removed (raw, stripped)
    reasons: Counter = field(default_factory=Counter)
    docs: set[tuple[str, str]] = field(default_factory=set)
    places: list[tuple[str, str, int]] = field(default_factory=list)  # (doc, source, byte start), the first few


def rule_free(reason: str, page_rules: frozenset[str]) -> bool:
    """Whether a removal was made by no line or block rule (so a rule would be new)."""
    return reason.startswith(RULE_FREE_REASONS) or reason.removeprefix("rule:") in page_rules


@dataclass
class Suggestions:
    """What `rules suggest` found: the rules it writes, and the removed lines it could not
    make into one, counted by why (so that none is left out silently)."""

    written: list[tuple[Candidate, dict]] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)  # why -> lines
    failures: list[tuple[Candidate, str]] = field(default_factory=list)  # a rule not written, and its first failure
    left_out: int = 0  # lines of patterns removed fewer than min_count times, or past top: by choice


def as_rules_read(raw: str) -> str:
    """One removed line as a run's rules read it: normalised (spacing runs, NBSP, entities,
    invisible characters) and its Markdown marks rendered; "" if nothing is left. The
    audit holds the raw line, and a pattern made from it would miss the line it was made
    from ("**Bold** promo" is "Bold promo" to the rules)."""
    lines = text_lines(raw, marks=True)
    return lines[0].text if len(lines) == 1 else ""


def pattern_of(text: str) -> str:
    """The whole line, its digits generalised: '© 2024 Site' -> '^© \\d+ Site$'."""
    parts = DIGITS.split(text)
    return "^" + r"\d+".join(SPECIAL.sub(r"\\\1", part) for part in parts) + "$"


def _not_written_now(out: Path, read: tuple[int, int, int] | None = None) -> None:
    """UsageError if a run holds the folder (as `curate report` checks it), or, once the
    audit was read (``read``: which file it was, and as what), if one started since and
    replaced or changed it."""
    holder = lock_holder(out)
    if read is None and holder is not None:
        raise UsageError(f"{out}: a curate run is writing this folder (pid {holder}); wait for it to end, then read "
                         "the folder")
    if read is None:
        return
    try:
        st = os.stat(out / REMOVED)
        now: tuple[int, int, int] | None = (st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError:
        now = None
    if holder is not None or now != read:
        by = f" (pid {holder})" if holder is not None else ""
        raise UsageError(f"{out}: a curate run started replacing this folder while its {REMOVED} was read{by}; "
                         "wait for the run to end, then run this command again")


def read_audit(out: Path, page_rules: frozenset[str], skipped: Counter) -> dict[str, Candidate]:
    """The rule-free removals of ``out/removed.jsonl``, grouped by the pattern of the line
    as the rules read it; a line no rule can be made from is counted in ``skipped``."""
    audit = out / REMOVED
    _not_written_now(out)
    if not audit.is_file():
        if (out / PARTIAL).exists():
            raise UsageError(f"{out}: the run writing this folder has not finished (no {REMOVED} yet); wait for it, "
                             "or finish a stopped run with `curate run ... --resume`")
        raise UsageError(f"{out} has no removed.jsonl: give the output folder of a finished `curate run`")
    found: dict[str, Candidate] = {}
    with audit.open(encoding="utf-8") as f:
        opened = os.fstat(f.fileno())
        for number, line in enumerate(f, start=1):
            try:
                record = json.loads(line)
                reason, raw = record["reason"], record["removed"]
                doc, source, start = record["doc"], record["source"], record["bytes"][0]
            except (ValueError, KeyError, TypeError, IndexError):
                raise UsageError(f"{audit}:{number}: not an audit record of curate; is {out} a curate output "
                                 "folder?") from None
            # Judged unstripped: a heading after spaces reads otherwise than one without.
            text = raw.strip()
            if not text or not rule_free(reason, page_rules):
                continue
            why, read = _unsuggestable(raw)
            if why:
                skipped[why] += 1
                continue
            key = pattern_of(read)
            candidate = found.setdefault(key, Candidate(key, read))
            candidate.count += 1
            candidate.texts[text] += 1
            candidate.reasons[reason] += 1
            candidate.docs.add((doc, source))
            if len(candidate.places) < MAX_EXAMPLES * 2:
                candidate.places.append((doc, source, start))
    _not_written_now(out, (opened.st_ino, opened.st_size, opened.st_mtime_ns))
    return found


@lru_cache(maxsize=1 << 16)
def _unsuggestable(text: str) -> tuple[str, str]:
    """Why no rule can be made from a removed line ("" if one can), and the line as the
    rules read it. (Cached: a site's template lines are removed thousands of times each,
    and reading one as the rules do costs a normalisation.)"""
    if len(text.strip()) > MAX_CHARS:  # the limit is on the line, not on the spaces around it
        return TOO_LONG, ""
    if not _writable(text):
        return UNWRITABLE, ""
    if _marks_depend_on_page(text):
        return PAGE_DEPENDENT, ""
    read = as_rules_read(text)
    return ("" if read else NOTHING_READ), read


def _marks_depend_on_page(raw: str) -> bool:
    """Whether the run renders this line's Markdown marks or not by what else its page
    holds: normalise renders a line's marks only on a page that passes
    page_may_have_marks, which a heading after spaces ("  # Menu") does not pass alone.
    No one pattern would take the line read both ways."""
    text = normalise_text(raw)
    return not page_may_have_marks(raw) and as_read(text, True) != text


def kept_lines(out: Path, wanted: set[tuple[str, str]]) -> dict[tuple[str, str], list[tuple[int, str]]]:
    """The kept lines (byte start, text) of the documents ``wanted``, from ``out/corpus``."""
    from curate.discover import discover
    from curate.formats import read_documents
    from curate.formats.base import ReadOptions

    corpus = out / "corpus"
    if not corpus.is_dir() or not wanted:
        return {}
    found = discover([corpus], options=ReadOptions())
    lines: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for item in read_documents(found.files, "text"):
        meta = getattr(item, "metadata", None)
        if not meta or (item.id, meta.get("source")) not in wanted:  # type: ignore[union-attr]
            continue
        texts = [t for t in str(item.payload).split("\n") if t]  # type: ignore[union-attr]
        spans = meta.get("lines") or []
        lines[(item.id, meta["source"])] = [(span["bytes"][0], text)  # type: ignore[union-attr]
                                           for span, text in zip(spans, texts, strict=False)]
    return lines


def nearest_keeps(candidate: Candidate, lines: dict[tuple[str, str], list[tuple[int, str]]],
                  rule: Rule) -> list[str]:
    """Kept lines beside where the candidate was removed, which its rule leaves alone."""
    keeps: list[str] = []
    for doc, source, start in candidate.places:
        near = sorted(lines.get((doc, source), []), key=lambda kept: (abs(kept[0] - start), kept[0]))
        for _, text in near:
            if len(text.split()) >= MIN_KEEP_WORDS and text not in keeps and not rule_hits_text(rule, text):
                keeps.append(text)
                break
        if len(keeps) >= 2:
            break
    return keeps


def rule_name(candidate: Candidate, taken: set[str]) -> str:
    """'suggested-' and the line's first words, ASCII, unique in the file."""
    text = candidate.read
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())[:5]
    base = "suggested-" + ("-".join(words) or "line")
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def build_rule(name: str, candidate: Candidate, keeps: list[str]) -> dict:
    """The TOML table of one suggestion."""
    matches = [text for text, _ in candidate.texts.most_common(MAX_EXAMPLES)]
    return {"name": name, "reason": f"line removed {candidate.count} times in a curate run "
                                    f"({', '.join(sorted(candidate.reasons))}); "
                                    "suggested by `curate rules suggest`",
            "pattern": candidate.pattern, "case_sensitive": True,
            "examples": {"match": matches, "keep": keeps}}


def suggestions(out: Path, top: int = 30, min_count: int = 3, taken: frozenset[str] = frozenset()) -> Suggestions:
    """The ``top`` most frequent rule-free removals of ``out`` seen at least ``min_count``
    times, each as a rule table that passes its own examples and fires on every line it
    was made from; and the lines that could not be made into a rule, counted by why.
    No rule is given a name in ``taken`` (the rules loaded beside the new ones)."""
    from curate.rules import load_rules

    page_rules = frozenset(rule.name for rule in load_rules(check_examples=False).rules if rule.scope == "page")
    result = Suggestions()
    found = read_audit(out, page_rules, result.skipped)
    ranked = sorted((c for c in found.values() if c.count >= min_count), key=lambda c: (-c.count, c.pattern))[:top]
    result.left_out = sum(c.count for c in found.values()) - sum(c.count for c in ranked)
    lines = kept_lines(out, {(doc, source) for c in ranked for doc, source, _ in c.places})
    names = set(taken)
    for candidate in ranked:
        table, why, failure = _proven_rule(candidate, rule_name(candidate, names), lines)
        if table is not None:
            result.written.append((candidate, table))
        else:
            result.skipped[why] += candidate.count
            result.failures.append((candidate, failure))
    return result


def rule_names_in(folder: Path) -> set[str]:
    """The names of the rules in the *.toml files under ``folder``, as `curate rules test
    FOLDER` would read them (none if there is no such folder): suggestions written beside
    them must take other names, or that test, and a run with --rules FOLDER, stop at the
    second rule of one name. A file that is no valid rule file adds none (the test says
    what is wrong with it)."""
    from curate.rules import _toml_files, read_rule_file

    if not folder.is_dir():
        return set()
    try:
        paths = _toml_files(folder)
    except RuleError:
        return set()
    names = set()
    for path in paths:
        try:
            data = tomllib.loads(read_rule_file(path).decode("utf-8").removeprefix("\ufeff"))
        except (RuleError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
            continue
        tables = data.get("rule")
        for table in tables if isinstance(tables, list) else []:
            if isinstance(table, dict) and isinstance(table.get("name"), str):
                names.add(table["name"])
    return names


def _proven_rule(candidate: Candidate, name: str, lines: dict[tuple[str, str], list[tuple[int, str]]],
                 ) -> tuple[dict | None, str, str]:
    """The candidate's rule table if it passes its examples and fires on every line it was
    made from, as `curate run` reads them; else None, why, and the first failure."""
    table = build_rule(name, candidate, [])
    try:
        rule = _parse_rule("suggested", 1, table)
    except RuleError as err:
        return None, REFUSED, str(err)
    table["examples"]["keep"] = nearest_keeps(candidate, lines, rule)
    rule = _parse_rule("suggested", 1, table)
    # The examples are at most MAX_EXAMPLES of the lines; the rule must take all of them,
    # or the run with it would keep some of what the site pass removed.
    missed = [f"does not match the removed line {text!r}" for text in candidate.texts
              if not rule_hits_text(rule, text)]
    failures = example_failures(rule) + missed
    return (None, FAILS, failures[0]) if failures else (table, "", "")


MAX_FAILURES_SHOWN = 5


def skipped_report(found: Suggestions, top: int, min_count: int) -> list[str]:
    """Lines for the terminal: how many removed lines got no rule, by why, and the first
    failures of the rules not written (so that a reviewer can write them by hand)."""
    report = []
    if found.left_out:
        report.append(f"{found.left_out} removed line{_s(found.left_out)} left out: removed fewer than "
                      f"{min_count} times (--min-count), or not among the {top} most frequent (--top)")
    if not found.skipped:
        return report
    total = sum(found.skipped.values())
    report.append(f"{total} removed line{_s(total)} could not be made into a rule:")
    report += [f"  {n} {why}" for why, n in sorted(found.skipped.items(), key=lambda item: (-item[1], item[0]))]
    for candidate, failure in found.failures[:MAX_FAILURES_SHOWN]:
        # The pattern is made from a removed line, and the failure may quote one: shown,
        # so a line of the data cannot drive the terminal (terminal.py).
        report.append(f"    {shown(candidate.pattern)} ({candidate.count} lines): {shown(failure)}")
    if len(found.failures) > MAX_FAILURES_SHOWN:
        report.append(f"    and {len(found.failures) - MAX_FAILURES_SHOWN} more such rules")
    return report


def to_toml(tables: list[tuple[Candidate, dict]], out: Path) -> str:
    """The suggestions as a rule file, each with a comment on where it came from."""
    head = [f"# Suggested by `curate rules suggest {out}`: lines that run removed with no line rule",
            "# (repeated across a site's pages, or judged by the line model or a page detector).",
            "# Review each one: keep the rules you agree with, then put this file in rules/ or",
            "# pass its folder with --rules. `curate rules test` checks their examples.", ""]
    body = []
    for candidate, table in tables:
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(candidate.reasons.items()))
        body += [f"# removed {candidate.count} times on {len(candidate.docs)} pages ({reasons})",
                 "[[rule]]",
                 f"name = {_string(table['name'])}",
                 f"reason = {_string(table['reason'])}",
                 f"pattern = {_string(table['pattern'])}",
                 "case_sensitive = true",
                 f"examples.match = [{', '.join(_string(t) for t in table['examples']['match'])}]",
                 f"examples.keep = [{', '.join(_string(t) for t in table['examples']['keep'])}]", ""]
    return "\n".join(head + body)


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _writable(text: str) -> bool:
    """Whether a TOML file can hold the text (a line read with undecodable bytes cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _string(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's (\\uXXXX, \\", \\\\, \\n). A character
    no one can see (an NBSP, a zero-width space, a soft hyphen) is escaped too: a match
    example keeps the line as the page had it, and the reviewer should see why it differs
    from the pattern."""
    return "".join(ch if ch == " " or (ch.isprintable() and not ch.isspace()) else _escape(ch)
                   for ch in json.dumps(text, ensure_ascii=False))


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"

