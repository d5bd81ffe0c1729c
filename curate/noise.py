"""Apply a RuleSet to a document: drop the lines that rules recognise as noise."""

from __future__ import annotations

from curate.detectors import words
from curate.document import Document, Line, RawDocument, Removal
from curate.rules import Rule, RuleSet


class LineFacts:
    """Per line, what several line rules ask: its word count and its lowercased text,
    computed once per document instead of once per rule."""

    def __init__(self, lines: list[Line]):
        self.lines = lines
        self._words: list[int] | None = None
        self._lowered: list[str] | None = None

    @property
    def words(self) -> list[int]:
        if self._words is None:
            self._words = [words(line.text) for line in self.lines]
        return self._words

    @property
    def lowered(self) -> list[str]:
        if self._lowered is None:
            self._lowered = [line.text.lower() for line in self.lines]
        return self._lowered


def line_rule_hits(rule: Rule, lines: list[Line], facts: LineFacts | None = None) -> set[int]:
    regex, max_words, min_words, literals = rule.regex, rule.max_words, rule.min_words, rule.literals
    facts = facts or LineFacts(lines)
    counts = facts.words if max_words is not None or min_words is not None else None
    lowered = facts.lowered if literals else None
    hits = set()
    for k, line in enumerate(lines):
        if counts is not None:
            n = counts[k]
            if (max_words is not None and n > max_words) or (min_words is not None and n < min_words):
                continue
        if lowered is not None:
            text = lowered[k]
            if not any(lit in text for lit in literals):
                continue
        if regex.search(line.text):
            hits.add(line.index)
    return hits


def block_rule_hits(rule: Rule, lines: list[Line]) -> set[int]:
    """Lines covered by a match of the rule inside any window of ``rule.lines`` lines.

    A window is the lines joined by "\\n", with "\\n\\n" where the source had a
    blank line between them, so a pattern can tell a card from a paragraph.
    """
    hits: set[int] = set()
    size = rule.lines
    for first in range(len(lines)):
        window = lines[first:first + size]
        if len(window) < 2:
            break
        parts, starts, pos = [], [], 0
        for k, line in enumerate(window):
            if k:
                sep = "\n\n" if line.gap_before else "\n"
                parts.append(sep)
                pos += len(sep)
            starts.append(pos)
            parts.append(line.text)
            pos += len(line.text)
        text = "".join(parts)
        for m in rule.regex.finditer(text):
            if m.end() == m.start():
                continue
            for k, line in enumerate(window):
                line_end = starts[k] + len(line.text)
                if starts[k] < m.end() and line_end > m.start():
                    hits.add(line.index)
        if len(window) < size:
            break
    return hits


def rule_hits(rule: Rule, lines: list[Line], taken: frozenset[int] = frozenset(),
              facts: LineFacts | None = None) -> set[int]:
    """Indices of the lines the rule removes. ``taken``: lines earlier rules removed, which
    page detectors read as evidence (a line a rule calls noise is not article text)."""
    if rule.scope == "line":
        return line_rule_hits(rule, lines, facts)
    if rule.scope == "block":
        return block_rule_hits(rule, lines)
    return rule.detector.hits(lines, taken)  # type: ignore[union-attr]


def strip_noise(doc: Document, ruleset: RuleSet) -> Document:
    """Each line goes to the first active rule that hits it.

    Line and block rules run first, in rule order, and all see the same lines (those
    left by normalisation), so their hits never depend on one another. Page rules
    (detectors) run after them and also see which lines those rules took.
    """
    lines = doc.lines
    taken: dict[int, Rule] = {}  # line index -> the rule that removes it
    facts = LineFacts(lines)
    for rule in ruleset.in_order:
        for index in rule_hits(rule, lines, frozenset(taken) if rule.scope == "page" else frozenset(), facts):
            taken.setdefault(index, rule)
    if taken:
        kept = []
        for line in lines:
            rule = taken.get(line.index)
            if rule is None:
                kept.append(line)
            else:
                doc.removed.append(Removal(line, "noise", f"rule:{rule.name}", rule.reason))
        doc.lines = kept
    return doc


def rule_hits_text(rule: Rule, text: str) -> bool:
    """Does the rule fire anywhere in this text? (Used to check a rule's examples.)"""
    from curate.normalise import normalise_text
    from curate.read import split_lines

    lines, _, _, _ = split_lines(RawDocument("example", "example", 1, text, len(text)))
    lines = [Line(l.index, l.raw, normalise_text(l.raw), l.origin, l.gap_before) for l in lines]
    return bool(rule_hits(rule, [l for l in lines if l.text]))
