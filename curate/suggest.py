"""`curate rules suggest OUT`: rules for a person to review, from what a run removed.

The lines worth a rule are those a run removed without one: repeated on many pages of a
site (``site:repeated``), or judged by the line model or a page detector. Turned into
line rules, they catch the same lines on the pages the run could not judge so (a site with
two pages in the next crawl, a page the model was unsure of). Each suggestion is one
line (digits generalised to ``\\d+``, so "© 2023" and "© 2024" are one rule), with the
lines it removed as match examples and the nearest kept line of the same pages as keep
examples; a suggestion whose examples would fail `curate rules test` is not written.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from curate.errors import RuleError, UsageError
from curate.rules import Rule, _parse_rule, example_failures
from curate.stages.noise import rule_hits_text

# Reasons of removals no line rule made: where a rule would add something.
RULE_FREE_REASONS = ("site:", "model:")
MAX_CHARS = 300  # a longer line is an article's paragraph more often than a template's
MAX_EXAMPLES = 3
MIN_KEEP_WORDS = 4
DIGITS = re.compile(r"\d+")
SPECIAL = re.compile(r"([\\.^$|?*+()\[\]{}])")  # what a regex reads as syntax (re.escape also escapes spaces)


@dataclass
class Candidate:
    """Removed lines that generalise to one pattern, with where they were removed."""

    pattern: str
    count: int = 0
    texts: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    docs: set[tuple[str, str]] = field(default_factory=set)
    places: list[tuple[str, str, int]] = field(default_factory=list)  # (doc, source, byte start), the first few


def rule_free(reason: str, page_rules: frozenset[str]) -> bool:
    """Whether a removal was made by no line or block rule (so a rule would be new)."""
    return reason.startswith(RULE_FREE_REASONS) or reason.removeprefix("rule:") in page_rules


def pattern_of(text: str) -> str:
    """The whole line, its digits generalised: '© 2024 Site' -> '^© \\d+ Site$'."""
    parts = DIGITS.split(text)
    return "^" + r"\d+".join(SPECIAL.sub(r"\\\1", part) for part in parts) + "$"


def read_audit(out: Path, page_rules: frozenset[str]) -> dict[str, Candidate]:
    """The rule-free removals of ``out/removed.jsonl``, grouped by pattern."""
    audit = out / "removed.jsonl"
    if not audit.is_file():
        raise UsageError(f"{out} has no removed.jsonl: give the output folder of a finished `curate run`")
    found: dict[str, Candidate] = {}
    with audit.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            try:
                record = json.loads(line)
                reason, text = record["reason"], record["removed"].strip()
                doc, source, start = record["doc"], record["source"], record["bytes"][0]
            except (ValueError, KeyError, TypeError, IndexError):
                raise UsageError(f"{audit}:{number}: not an audit record of curate; is {out} a curate output "
                                 "folder?") from None
            if not text or len(text) > MAX_CHARS or not rule_free(reason, page_rules) or not _writable(text):
                continue
            key = pattern_of(text)
            candidate = found.setdefault(key, Candidate(key))
            candidate.count += 1
            candidate.texts[text] += 1
            candidate.reasons[reason] += 1
            candidate.docs.add((doc, source))
            if len(candidate.places) < MAX_EXAMPLES * 2:
                candidate.places.append((doc, source, start))
    return found


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
    text = candidate.texts.most_common(1)[0][0]
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


def suggestions(out: Path, top: int = 30, min_count: int = 3) -> Iterator[tuple[Candidate, dict]]:
    """The ``top`` most frequent rule-free removals of ``out`` seen at least ``min_count``
    times, each as a rule table that passes its own examples."""
    from curate.rules import load_rules

    page_rules = frozenset(rule.name for rule in load_rules(check_examples=False).rules if rule.scope == "page")
    found = read_audit(out, page_rules)
    ranked = sorted((c for c in found.values() if c.count >= min_count), key=lambda c: (-c.count, c.pattern))[:top]
    lines = kept_lines(out, {(doc, source) for c in ranked for doc, source, _ in c.places})
    taken: set[str] = set()
    for candidate in ranked:
        name = rule_name(candidate, taken)
        table = build_rule(name, candidate, [])
        try:
            rule = _parse_rule("suggested", 1, table)
        except RuleError:
            continue
        table["examples"]["keep"] = nearest_keeps(candidate, lines, rule)
        rule = _parse_rule("suggested", 1, table)
        if not example_failures(rule):
            yield candidate, table


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


def _writable(text: str) -> bool:
    """Whether a TOML file can hold the text (a line read with undecodable bytes cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _string(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's (\\uXXXX, \\", \\\\, \\n)."""
    return json.dumps(text, ensure_ascii=False)

