"""Apply a RuleSet to a document: drop the lines that rules recognise as noise."""

from __future__ import annotations

import bisect
import re
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from typing import TYPE_CHECKING, ClassVar

from curate.common_alphabet import in_common
from curate.detectors import ArticleRegion, LineModelRule, _line_index, reads_as_sentence, words
from curate.document import Document, Line, Problem, RawDocument, Reason
from curate.ignorecase import fold, re2_literal
from curate.patterns import BUDGET_SECONDS, PatternTimeout, _re2_program, unanchored
from curate.rule_filter import MAX_LINE_BYTES, LineRuleFilter, line_filter
from curate.rules import BUILTIN_PREFIX, Rule, RuleSet
from curate.stages.base import Batch, Stage
from curate.stages.fences import code_positions

if TYPE_CHECKING:
    from curate.driver import RunConfig

MODEL_TIMING = "line-model"  # the key of the model's seconds in --timings (inside "noise")
# Called when a rule's pattern runs over its time budget on a line: (rule, line).
OnTimeout = Callable[[Rule, Line], None]


class LineFacts:
    """Per line, what several line rules ask: its word count, its UTF-8 bytes (what RE2
    reads) and whether it is all of the common alphabet (which RE2 program reads it:
    common_alphabet.py), and where need be its folded text (as re's IGNORECASE compares
    letters: ignorecase.fold), computed once per document instead of once per rule."""

    def __init__(self, lines: list[Line]):
        self.lines = lines
        self._common: list[bool] | None = None
        self._words: list[int] | None = None
        self._folded: list[str] | None = None
        self._encoded: list[bytes | None] | None = None
        self._joined: bytes | None = None  # the lines as one text (holding_any)
        self._starts: list[int] = []  # where each line starts in it
        self._unreadable: list[int] = []  # the lines in it as empty ones: RE2 cannot read them

    @property
    def common(self) -> list[bool]:
        if self._common is None:
            self._common = [in_common(line.text) for line in self.lines]
        return self._common

    @property
    def words(self) -> list[int]:
        if self._words is None:
            self._words = [words(line.text) for line in self.lines]
        return self._words

    @property
    def folded(self) -> list[str]:
        if self._folded is None:
            self._folded = [fold(line.text) for line in self.lines]
        return self._folded

    @property
    def encoded(self) -> list[bytes | None]:
        if self._encoded is None:
            self._encoded = [_utf8(line.text) for line in self.lines]
        return self._encoded

    def holding_any(self, literals: tuple[str, ...]) -> set[int]:
        """The positions of the lines whose folded text holds one of the (folded) literals.
        RE2 reads the lines at once, joined by newlines (no line holds one), and is asked
        again only after each line it finds: one call per line found, not per line. Its
        program spells each letter as the letters that fold alike (literal_program): the
        lines are read as they are, not folded (which cost a line 0.2-2 us)."""
        program = literal_program(literals)
        if program is None:
            return {k for k, text in enumerate(self.folded) if any(lit in text for lit in literals)}
        if self._joined is None:
            parts = self.encoded
            # A line RE2 cannot read (a lone surrogate) stands in the text as an empty one.
            self._joined = b"\n".join(part or b"" for part in parts)
            self._starts = list(accumulate((len(part or b"") + 1 for part in parts[:-1]), initial=0))
            self._unreadable = [k for k, part in enumerate(parts) if part is None]
        joined, starts, anchor = self._joined, self._starts, unanchored()
        found: set[int] = set()
        pos, end = 0, len(joined)
        while pos <= end:
            first = program.Match(anchor, joined, pos, end)[0][0]
            if first < 0:
                break
            k = bisect.bisect_right(starts, first) - 1
            found.add(k)
            pos = starts[k + 1] if k + 1 < len(starts) else end + 1
        found.update(k for k in self._unreadable if holds(literals, self.lines[k].text))
        return found

    def holds(self, literals: tuple[str, ...], k: int) -> bool:
        """Does line k's folded text hold one of the (folded) literals?"""
        data = self.encoded[k]
        program = literal_program(literals)
        if program is None or data is None:
            return holds(literals, self.lines[k].text)
        return program.Match(unanchored(), data, 0, len(data))[0][0] >= 0


def holds(literals: tuple[str, ...], text: str) -> bool:
    """Does the text, folded, hold one of the (folded) literals?"""
    folded = fold(text)
    return any(lit in folded for lit in literals)


def _utf8(text: str) -> bytes | None:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: the pattern encodes (or falls back) itself
        return None


def _give_up(rule: Rule, line: Line) -> None:
    raise PatternTimeout()


def line_rule_hits(rule: Rule, lines: list[Line], facts: LineFacts | None = None,
                   on_timeout: OnTimeout = _give_up) -> set[int]:
    """Indices of the lines the line rule hits."""
    return {lines[k].index for k in line_rule_positions(rule, lines, facts or LineFacts(lines), on_timeout)}


def line_rule_positions(rule: Rule, lines: list[Line], facts: LineFacts, on_timeout: OnTimeout = _give_up,
                        ends: Sequence[int] = ()) -> list[int]:
    """Positions in ``lines`` of the lines the line rule hits, ascending. ``ends``: where
    each document's lines end, when ``lines`` are several documents' (the last end is
    len(lines)); a pattern that runs over its budget on a line is not tried on the rest of
    that line's document."""
    found: list[int] = []
    start = 0
    while start < len(lines):
        timed_out = _scan_lines(rule, lines, facts, start, found)
        if timed_out is None:
            break
        on_timeout(rule, lines[timed_out])
        # Its document's end: the first end past the line (the whole list if no ends).
        after = bisect.bisect_right(ends, timed_out)
        start = ends[after] if after < len(ends) else len(lines)
    return found


def _scan_lines(rule: Rule, lines: list[Line], facts: LineFacts, start: int, found: list[int]) -> int | None:
    """Adds to ``found`` the positions from ``start`` on that the line rule hits; stops at
    a line its pattern runs over budget on, and returns that position (else None)."""
    regex, skip_sentences = rule.regex, rule.skip_sentences
    assert regex is not None  # line and block rules always have a pattern (rules.py)
    counts = facts.words if skip_sentences else None  # the word bounds are _admitted's
    encoded, common = facts.encoded, facts.common
    search = regex.search
    # RE2 called directly: the method call per line and rule cost as much as the match.
    # [program for other lines (made when first needed), program for lines of the common alphabet]
    on_re2 = regex.re2 is not None
    matches = [None, regex.re2_program(True).Match] if on_re2 else [None, None]
    anchor = unanchored()
    for k in _admitted(rule, facts, start):
        line = lines[k]
        data = encoded[k]
        if on_re2 and data is not None and not data.endswith(b"\n"):
            match = matches[common[k]]
            if match is None:
                match = matches[False] = regex.re2_program(False).Match
            hit = match(anchor, data, 0, len(data))[0][0] >= 0
        else:  # the ASCII form, the prefilter and the memo of backtracking searches (CompiledPattern.search)
            try:
                hit = search(line.text, data, common[k])
            except PatternTimeout:
                return k  # a pattern that blew its budget once is not tried again in this document
        # Asked only of the lines the pattern matched: few, where every short line is many.
        if hit and not (counts is not None and reads_as_sentence(line.text, counts[k])):
            found.append(k)
    return None


def _admitted(rule: Rule, facts: LineFacts, start: int) -> list[int] | range:
    """The positions from ``start`` on whose word count the rule's bounds admit and that
    hold one of its literals, ascending: a Python step per line and rule to ask cost
    more than the rules' matching (~3 µs a line for each rule with literals)."""
    # The lines holding a literal first: they are few, and the bounds are then asked of them only.
    positions: list[int] | range = (sorted(k for k in facts.holding_any(rule.literals) if k >= start)
                                    if rule.literals else range(start, len(facts.lines)))
    low, high = rule.min_words, rule.max_words
    if low is not None or high is not None:
        counts = facts.words
        positions = [k for k in positions
                     if (high is None or counts[k] <= high) and (low is None or counts[k] >= low)]
    return positions


def compile_programs(ruleset: RuleSet) -> None:
    """Every RE2 program the active line and block rules run, compiled now (each is
    compiled once per process: the line filter's own are taken from it). Translation
    kept only the RE2 forms that compile (`patterns.compile_pattern`)."""
    for rule in ruleset.in_order:
        if rule.regex is not None:
            rule.regex.compile_re2_forms()
        if rule.literals:
            literal_program(rule.literals)


@lru_cache(maxsize=256)
def literal_program(literals: tuple[str, ...]):
    """An RE2 program that finds any of the (folded) literals in a UTF-8 text, letters
    compared as ignorecase.fold compares them: the same answer as ``any(lit in fold(text)
    for lit in literals)`` (fold is a letter for a letter, and a substring of the text is a
    substring of its UTF-8 bytes, and back); None if RE2 will not take them, or one of them
    spans lines (the lines are searched joined by newlines: holding_any)."""
    if any("\n" in lit for lit in literals):
        return None
    try:
        return _re2_program("|".join(re2_literal(lit) for lit in literals))
    except Exception:  # noqa: BLE001 - too large for RE2's budget, a lone surrogate: tried one by one
        return None


# What lets a pattern see past the text it matches: a window's edges and the page around
# it differ only there (the page has "\n" beside the window where the window has nothing).
_SEES_PAST_ITS_MATCH = re.compile(r"\(\?<[=!]|\(\?[=!]|\\[AZz]|\(\?[a-zA-Z]*-")


@lru_cache(maxsize=256)  # a few block rules, asked for every page
def sees_past_its_match(pattern: str) -> bool:
    return _SEES_PAST_ITS_MATCH.search(pattern) is not None


def block_rule_hits(rule: Rule, lines: list[Line], on_timeout: OnTimeout = _give_up,
                    page_check: bool = True) -> set[int]:
    """Lines covered by a match of the rule inside any window of ``rule.lines`` lines.

    A window is the lines joined by "\\n", with "\\n\\n" where the source had a
    blank line between them, so a pattern can tell a card from a paragraph: a slice of
    the whole page joined that way (joined_page).

    ``page_check``: first search the whole page once. A pattern with no lookaround, no
    \\A, \\Z or \\z and no flag turned off (multiline ^ and $ see a line break as they
    see a window's edge) that matches in a window matches at the same place in the page;
    so a page without a match has no window with one, and most pages are done with one
    search instead of one per line. False: every window, the reference the tests compare
    it with.
    """
    hits: set[int] = set()
    size, regex = rule.lines, rule.regex
    assert regex is not None  # line and block rules always have a pattern (rules.py)
    if len(lines) < 2:
        return hits
    page, starts = joined_page(lines)
    common = in_common(page)  # then so is every window of it
    if page_check and not sees_past_its_match(regex.pattern):
        try:
            if not regex.search(page, common=common):
                return hits
        except PatternTimeout:
            pass  # the windows below each get the budget again
    for first in range(len(lines) - 1):
        last = min(first + size, len(lines))  # the window is lines[first:last]
        base = starts[first]
        try:
            spans = regex.spans(page[base:starts[last - 1] + len(lines[last - 1].text)], common)
        except PatternTimeout:
            on_timeout(rule, lines[first])
            break
        for start, end in spans:
            if end == start:
                continue
            for k in range(first, last):
                line_start = starts[k] - base
                if line_start < end and line_start + len(lines[k].text) > start:
                    hits.add(lines[k].index)
        if last - first < size:
            break
    return hits


def joined_page(lines: list[Line]) -> tuple[str, list[int]]:
    """The lines as block windows join them, all of them, and where each line starts."""
    parts, starts, pos = [], [], 0
    for k, line in enumerate(lines):
        if k:
            sep = "\n\n" if line.gap_before else "\n"
            parts.append(sep)
            pos += len(sep)
        starts.append(pos)
        parts.append(line.text)
        pos += len(line.text)
    return "".join(parts), starts


def rule_hits(rule: Rule, lines: list[Line], taken: frozenset[int] = frozenset(),
              facts: LineFacts | None = None, on_timeout: OnTimeout = _give_up,
              vouched: set[int] | None = None) -> set[int]:
    """Indices of the lines the rule removes. ``taken``: lines earlier rules removed, which
    page detectors read as evidence (a line a rule calls noise is not article text).
    ``on_timeout``: what to do when the rule's pattern runs over its budget on a line (by
    default, raise PatternTimeout); the rule then stops for this document. ``vouched``:
    where a detector that keeps lines for what they are (the article region's page title)
    adds them, for the line model."""
    if rule.scope == "line":
        return line_rule_hits(rule, lines, facts, on_timeout)
    if rule.scope == "block":
        return block_rule_hits(rule, lines, on_timeout)
    assert rule.detector is not None  # page rules always have one (rules.py)
    if vouched is not None and isinstance(rule.detector, ArticleRegion):
        hits, kept = rule.detector.hits_and_vouched(lines, taken)
        vouched.update(kept)
        return hits
    return rule.detector.hits(lines, taken)


def timeout_problem(doc: Document, rule: Rule, line: Line) -> Problem:
    """The record of a rule that ran over its budget: which rule, which line, what to do.
    It accounts for no line: the line itself stays with the other rules."""
    return Problem(
        doc.source, line.origin.line,
        f"rule '{rule.name}' ({rule.file}) ran over its time limit of {BUDGET_SECONDS} s on this line: "
        "its pattern backtracks catastrophically",
        f"the rule did not remove this line and was skipped for the rest of the document, so this "
        f"verdict depends on the machine's speed; rewrite the pattern (`curate rules test` flags risky "
        f"ones) or turn the rule off with --disable {rule.name}",
        lines=0, byte_start=line.origin.byte_start, byte_end=line.origin.byte_end, preview=line.raw[:200])


def all_rule_hits(lines: list[Line], ruleset: RuleSet, on_timeout: OnTimeout = _give_up,
                  use_filter: bool = True, vouched: set[int] | None = None, line_hits: PageLineHits | None = None
                  ) -> tuple[dict[int, Rule], dict[int, list[Rule]]]:
    """Every active rule over the lines, in run order: (line index -> the first rule that
    hits it, line index -> every rule that hits it, in that order).

    Line and block rules run first, in rule order, and all see the same lines (those
    left by normalisation), so their hits never depend on one another. Page rules
    (detectors) run after them and also see which lines those rules took. The line rules
    on RE2 are asked all at once per line (rule_filter); ``use_filter=False`` asks them
    one by one, the reference the tests compare it with. ``vouched``: see rule_hits.
    ``line_hits``: the line rules' hits on these lines, found with a batch's other pages
    (batch_line_hits); their timeouts are reported here, in the order they would be."""
    taken: dict[int, Rule] = {}
    every: dict[int, list[Rule]] = {}
    facts = LineFacts(lines)
    flt = line_filter(ruleset) if use_filter else None
    filtered = None
    if line_hits is not None:
        for rule, line in line_hits.filter_timeouts:
            on_timeout(rule, line)
    elif flt is not None:
        filtered = filtered_hits(flt, lines, facts, on_timeout)
    for rule, position in _steps(ruleset, flt):
        hits: Iterable[int]
        if line_hits is not None and rule.scope == "line":
            if line_hits.timeouts:
                for line in line_hits.timeouts.get(rule.name, ()):
                    on_timeout(rule, line)
            found = line_hits.found.get(rule.name)
            if not found:
                continue
            hits = found
        elif position is not None:
            assert filtered is not None
            hits = filtered[position]
        else:
            hits = rule_hits(rule, lines, _chrome(taken, lines) if rule.scope == "page" else frozenset(), facts,
                             on_timeout, vouched)
        for index in hits:
            taken.setdefault(index, rule)
            every.setdefault(index, []).append(rule)
    return taken, every


def _steps(ruleset: RuleSet, flt: LineRuleFilter | None) -> list[tuple[Rule, int | None]]:
    """The rules all_rule_hits runs, in order, each with its position in the filter (None
    if not in it); made once per rule set, not for every page."""
    key = "_rule_steps" if flt is not None else "_rule_steps_unfiltered"  # "_": not pickled
    steps = ruleset.__dict__.get(key)
    if steps is None:
        steps = ruleset.__dict__[key] = [(rule, flt.position.get(rule.name) if flt is not None else None)
                                         for rule in ruleset.in_order if not arbitrates(rule)]
    return steps


@dataclass
class PageLineHits:
    """One page's part of batch_line_hits: what all_rule_hits finds for its line rules."""

    # The line indices each line rule hits, by name, in the form all_rule_hits finds them
    # for one page (the filter's rules: ascending lists; the others: sets, filled in line
    # order as line_rule_hits fills them); none: no hit.
    found: dict[str, Collection[int]] = field(default_factory=dict)
    filter_timeouts: list[tuple[Rule, Line]] = field(default_factory=list)  # (rule, line) over budget
    timeouts: dict[str, list[Line]] = field(default_factory=dict)  # another line rule's line over budget


def batch_line_hits(pages: Sequence[list[Line]], ruleset: RuleSet) -> list[PageLineHits]:
    """The line rules' hits on every page of a batch, each rule asked once over all the
    pages' lines: a call per rule and page cost more than the matching on pages of a few
    lines (a batch of one-line records: half the rules' time; bench/line_rules_batch.py).
    A line rule reads one line at a time, so its hits are those it has on each page
    alone; a pattern that runs over its budget stops for the rest of that page only."""
    flt = line_filter(ruleset)
    out = [PageLineHits() for _ in pages]
    lines = [line for page in pages for line in page]
    page_of = [p for p, page in enumerate(pages) for _ in page]
    ends = list(accumulate(len(page) for page in pages))
    facts = LineFacts(lines)
    where: dict[int, int] = {}  # id(line) -> its page, made at the first timeout
    in_filter = True

    def on_timeout(rule: Rule, line: Line) -> None:
        if not where:
            where.update((id(x), page) for x, page in zip(lines, page_of, strict=True))
        page = out[where[id(line)]]
        if in_filter:
            page.filter_timeouts.append((rule, line))
        else:
            page.timeouts.setdefault(rule.name, []).append(line)

    def hand_out(rule: Rule, positions: list[int], as_set: bool) -> None:
        by_page: dict[int, list[int]] = {}
        for k in positions:
            by_page.setdefault(page_of[k], []).append(lines[k].index)
        for page, indices in by_page.items():
            out[page].found[rule.name] = set(indices) if as_set else indices

    if flt is not None:
        for rule, found in zip(flt.rules, filtered_positions(flt, lines, facts, on_timeout, ends), strict=True):
            hand_out(rule, found, as_set=False)
    in_filter = False
    for rule, position in _steps(ruleset, flt):
        if rule.scope == "line" and position is None:
            hand_out(rule, line_rule_positions(rule, lines, facts, on_timeout, ends), as_set=True)
    return out


def _chrome(taken: dict[int, Rule], lines: list[Line]) -> frozenset[int]:
    """The lines other rules took, as a page rule reads them: chrome, but for a line of
    noise that sits inside the text (Rule.inline: an ad slot's label or script) between two
    sentences no rule took, which is a line of the text to them (the article region does
    not end at it)."""
    inline = [index for index, rule in taken.items() if rule.inline]
    if not inline:  # the usual page: no step per line
        return frozenset(taken)
    inside = set()
    for index in inline:
        k = bisect.bisect_left(lines, index, key=_line_index)  # lines are in index order
        if (0 < k < len(lines) - 1 and lines[k - 1].index not in taken and lines[k + 1].index not in taken
                and reads_as_sentence(lines[k - 1].text) and reads_as_sentence(lines[k + 1].text)):
            inside.add(index)
    return frozenset(taken.keys() - inside)


def filtered_hits(flt: LineRuleFilter, lines: list[Line], facts: LineFacts,
                  on_timeout: OnTimeout) -> list[list[int]]:
    """For each rule of the filter, the indices of the lines it hits, in line order."""
    return [[lines[k].index for k in found] for found in filtered_positions(flt, lines, facts, on_timeout)]


def filtered_positions(flt: LineRuleFilter, lines: list[Line], facts: LineFacts, on_timeout: OnTimeout,
                       ends: Sequence[int] = ()) -> list[list[int]]:
    """For each rule of the filter, the positions of the lines it hits, ascending: the
    filter's answer for the lines it takes, with each rule's word bounds and literal
    prefilter applied as line_rule_positions applies them; the other lines rule by rule.
    ``ends``: as line_rule_positions takes them."""
    found: list[list[int]] = [[] for _ in flt.rules]
    encoded, common = facts.encoded, facts.common
    rest: list[int] = []
    for k, data in enumerate(encoded):
        if data is None or len(data) > MAX_LINE_BYTES or data.endswith(b"\n"):
            rest.append(k)
            continue
        for position in flt.matching(data, common[k]):
            if _admits(flt.rules[position], facts, k):
                found[position].append(k)
    if rest:
        rest_lines = [lines[k] for k in rest]
        rest_facts = LineFacts(rest_lines)
        # Each document's end among the rest, so a timeout still ends the rule's turn
        # on its own document only.
        rest_ends = sorted({bisect.bisect_left(rest, end) for end in ends})
        for position, rule in enumerate(flt.rules):
            hits = line_rule_positions(rule, rest_lines, rest_facts, on_timeout, rest_ends)
            if hits:
                found[position] = sorted({*found[position], *(rest[k] for k in hits)})
    return found


def _admits(rule: Rule, facts: LineFacts, k: int) -> bool:
    """Do the rule's word bounds and literal prefilter let line ``k`` through, as
    line_rule_hits applies them? (Asked only of lines the rule's pattern matched.)"""
    if rule.max_words is not None or rule.min_words is not None:
        n = facts.words[k]
        if (rule.max_words is not None and n > rule.max_words) or (rule.min_words is not None and n < rule.min_words):
            return False
    if rule.literals and not facts.holds(rule.literals, k):
        return False
    return not (rule.skip_sentences and reads_as_sentence(facts.lines[k].text, facts.words[k]))


def document_rule_hits(doc: Document, ruleset: RuleSet, vouched: set[int] | None = None,
                       line_hits: PageLineHits | None = None) -> tuple[dict[int, Rule], dict[int, list[Rule]]]:
    """all_rule_hits over a document's lines; a rule whose pattern runs over its time
    budget is recorded in ``doc.problems``."""

    def on_timeout(rule: Rule, line: Line) -> None:
        doc.problems.append(timeout_problem(doc, rule, line))

    return all_rule_hits(doc.lines, ruleset, on_timeout, vouched=vouched, line_hits=line_hits)


def arbiter_of(ruleset: RuleSet) -> Rule | None:
    """The active rule that has the last word on the others' hits (the line model), if any."""
    return next((rule for rule in reversed(ruleset.in_order) if arbitrates(rule)), None)


def strip_noise(doc: Document, ruleset: RuleSet, line_hits: PageLineHits | None = None) -> Document:
    """Each line goes to the first active rule that hits it (see all_rule_hits), or, with
    the line model on, to the model's verdict on those hits (see arbitrate)."""
    vouched: set[int] = set()
    taken, every = document_rule_hits(doc, ruleset, vouched, line_hits)
    arbiter = arbiter_of(ruleset)
    if arbiter is not None:
        doc.drop(sparing_code(doc.lines, arbitrate(doc.lines, every, arbiter, vouched)))
    elif taken:
        reasons: dict[str, Reason] = {}  # one per rule, shared by the lines it takes
        for rule in taken.values():
            if rule.name not in reasons:
                reasons[rule.name] = Reason("noise", f"rule:{rule.name}", rule.reason)
        doc.drop(sparing_code(doc.lines, {index: reasons[rule.name] for index, rule in taken.items()}))
    return doc


def sparing_code(lines: list[Line], dropped: dict[int, Reason]) -> dict[int, Reason]:
    """``dropped`` without the lines of fenced code blocks (fences.py): a block is code as a
    whole, and a line taken out of it ("# Copyright 2024" as a comment, a short
    `login(user)` read as a login link) breaks the rest."""
    if not dropped:
        return dropped
    code = code_positions(lines)
    if not code:
        return dropped
    spared = {lines[k].index for k in code}
    return {index: why for index, why in dropped.items() if index not in spared}


def arbitrates(rule: Rule) -> bool:
    """Does this rule decide on the others' hits (the line model) rather than add its own?"""
    return bool(getattr(rule.detector, "arbitrates", False))


def arbitrate(lines: list[Line], every: dict[int, list[Rule]], arbiter: Rule,
              vouched: set[int] | None = None) -> dict[int, Reason]:
    """The line model's verdicts on one page (see arbitrate_pages)."""
    return arbitrate_pages([(lines, every)], arbiter, None if vouched is None else [vouched])[0]


def arbitrate_pages(pages: list[tuple[list[Line], dict[int, list[Rule]]]], arbiter: Rule,
                    vouched: list[set[int]] | None = None) -> list[dict[int, Reason]]:
    """The line model's verdicts (detectors.LineModelRule says how it weighs the rules),
    for a batch of pages at once. A line removed where a built-in detector hit it keeps
    that detector's reason, with the score; a line only the model removes is audited as
    model:<its rule's name>. ``vouched``: per page, the lines all_rule_hits reported."""
    detector = arbiter.detector
    assert isinstance(detector, LineModelRule)
    known: dict[tuple[str, ...], tuple[set[str], int | None]] = {}
    facts = [_hit_facts(every, known) for _, every in pages]
    judged = detector.judge_pages([(lines, groups, detected) for (lines, _), (_, groups, detected)
                                   in zip(pages, facts, strict=True)], vouched)
    reason = _Reasons()
    out = []
    for (_, every), (final, _, detected), removed in zip(pages, facts, judged, strict=True):
        verdicts: dict[int, Reason] = {}
        for index in sorted(final.keys() | removed.keys()):  # in line order, as the lines are
            rule = final.get(index)
            if rule is not None:
                verdicts[index] = reason("rule", rule)
            elif index in detected:
                verdicts[index] = reason("rule", every[index][0], round(removed[index], 3))
            else:
                verdicts[index] = reason("model", arbiter, round(removed[index], 3))
        out.append(verdicts)
    return out


class _Reasons:
    """One Reason per verdict (kind, rule, and the score rounded as the audit shows it),
    shared by the lines that get it: the model removes about half the lines of a real page."""

    def __init__(self) -> None:
        self.made: dict[tuple[str, str, float | None], Reason] = {}

    def __call__(self, kind: str, rule: Rule, score: float | None = None) -> Reason:
        key = (kind, rule.name, score)
        found = self.made.get(key)
        if found is None:
            found = self.made[key] = Reason("noise", f"{kind}:{rule.name}", rule.reason, score=score)
        return found


def _hit_facts(every: dict[int, list[Rule]], known: dict[tuple[str, ...], tuple[set[str], int | None]]
               ) -> tuple[dict[int, Rule], dict[int, set[str]], set[int]]:
    """What the model needs of one page's hits: the lines whose verdict is final, with the
    first rule that makes it so; the rule groups (features.RULE_GROUPS) that hit each line;
    the lines only built-in detectors hit. ``known``: for each list of rules (by name) met
    so far, its groups and which of its rules is the first final one (on a real page most
    lines are hit, by the same few lists of rules)."""
    from curate.linemodel.features import rule_group

    final: dict[int, Rule] = {}
    groups: dict[int, set[str]] = {}
    for index, rules in every.items():
        key = tuple([rule.name for rule in rules])
        if key not in known:
            known[key] = ({rule_group(rule.file) for rule in rules},
                          next((k for k, rule in enumerate(rules) if is_final(rule)), None))
        hit_by, certain = known[key]
        groups[index] = set(hit_by)
        if certain is not None:
            final[index] = rules[certain]
    return final, groups, {index for index in every if index not in final}


def is_final(rule: Rule) -> bool:
    """Does the line model take this rule's hit as it is? A rule says so itself with
    `final`; otherwise patterns (line and block rules) name one kind of noise each, and a
    user's own rules are theirs to make: final. Detectors judge a page's shape, as the
    model does. (The built-in keyword rules that also fire inside prose say final = false.)"""
    if rule.final is not None:
        return rule.final
    return rule.scope != "page" or not rule.file.startswith(BUILTIN_PREFIX)


def rule_hits_text(rule: Rule, text: str) -> bool:
    """Does the rule fire anywhere in this text, read as a run reads a page (Markdown
    marks rendered)? (Used to check a rule's examples.) Raises PatternTimeout if its
    pattern runs over budget."""
    return bool(rule_hits(rule, text_lines(text, marks=True)))


def text_lines(text: str, marks: bool = False) -> list[Line]:
    """A text's lines as this stage sees a document's: split, normalised, blank ones gone
    (for rule examples, and the line model's training pages). ``marks``: with Markdown's
    marks rendered where the normalise stage renders them, as a run's rules see a line
    ("**Subscribe** now" is "Subscribe now"); rule examples want it. The line model's
    training pages are read without it, as the model was trained."""
    from curate.formats import split_lines
    from curate.stages.normalise import as_read, normalise_text, page_may_have_marks

    lines, _, _, _ = split_lines(RawDocument("text", "text", 1, text, len(text.encode("utf-8", "surrogatepass"))))
    rendered = marks and page_may_have_marks(text)
    normalised = [Line(x.index, x.raw, as_read(normalise_text(x.raw), rendered), x.origin, x.gap_before)
                  for x in lines]
    return [x for x in normalised if x.text]



@dataclass
class StripNoise(Stage):
    """The rule files and detectors: each line goes to the first active rule that hits it."""

    name: ClassVar[str] = "noise"
    ruleset: RuleSet

    @classmethod
    def from_config(cls, cfg: RunConfig) -> StripNoise:
        return cls(cfg.ruleset)

    def setup(self) -> None:
        # Built before the fork, so that workers share them: compiled in each worker when
        # first needed, they cost each 0.3-0.4 s with the built-in rules.
        line_filter(self.ruleset)  # ~0.2 s
        compile_programs(self.ruleset)

    def __call__(self, batch: Batch) -> Batch:
        arbiter = arbiter_of(self.ruleset)
        docs = list(batch.documents())
        line_hits = batch_line_hits([doc.lines for doc in docs], self.ruleset)
        if arbiter is None:
            for doc, found in zip(docs, line_hits, strict=True):
                strip_noise(doc, self.ruleset, found)
            return batch
        vouched: list[set[int]] = [set() for _ in docs]
        hits = [document_rule_hits(doc, self.ruleset, kept, found)[1]
                for doc, kept, found in zip(docs, vouched, line_hits, strict=True)]
        started = time.perf_counter()
        verdicts = arbitrate_pages([(doc.lines, every) for doc, every in zip(docs, hits, strict=True)], arbiter,
                                   vouched)
        # Part of the noise stage's time, shown apart (bench/run.py: the model's cost per MB).
        batch.timings[MODEL_TIMING] = batch.timings.get(MODEL_TIMING, 0.0) + time.perf_counter() - started
        for doc, dropped in zip(docs, verdicts, strict=True):
            doc.drop(sparing_code(doc.lines, dropped))
        return batch
