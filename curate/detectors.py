"""Detectors: noise that no single-line pattern can name, found from the page's shape.

A detector is code with parameters; a rule file turns it on under a name:

    [[rule]]
    name = "menu-run"
    reason = "run of short link-like lines (menu, tag cloud)"
    scope = "page"
    detector = "link-run"
    params = { min_lines = 4, max_words = 4 }

Each detector is a frozen dataclass whose fields are its parameters (with defaults),
and whose ``hits(lines, taken)`` returns the indices of the lines it recognises;
``taken`` holds the lines that line and block rules already removed.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import math
import operator
import re
from collections.abc import Callable, Iterator, Sequence
from statistics import median  # numpy's imports numpy.ma, ~90 ms of a run's start; same bits on floats
from typing import Protocol

import numpy as np

from curate import writing
from curate.detector_params import MAX_COUNT, checked, count, decimal
from curate.document import Line
from curate.stages.fences import code_positions
from curate.stages.normalise import tab_cells

DETECTORS: dict[str, type] = {}


class Detector(Protocol):
    """What a page rule runs (see above); each detector class below is one."""

    def hits(self, lines: list[Line], taken: frozenset[int] = ...) -> set[int]: ...

_TERMINAL = re.compile(f"[{writing.SENTENCE_MARKS}:;\"'”’»)\\]]$")
_LETTER = re.compile(r"[^\W\d_]")


def detector(name: str) -> Callable[[type], type]:
    def register(cls: type) -> type:
        DETECTORS[name] = cls
        return cls

    return register


def build_detector(name: str, params: dict) -> Detector:
    """Instantiate a detector from a rule's params; ValueError says what is wrong and what is
    allowed (detector_params.py)."""
    if name not in DETECTORS:
        raise ValueError(f"unknown detector {name!r}; choose from: {', '.join(sorted(DETECTORS))}")
    cls = DETECTORS[name]
    return cls(**checked(name, cls, params))


def words(text: str) -> int:
    return text.count(" ") + 1


SENTENCE_WORDS = 4  # words (as words() counts them) from which a line ending in a stop reads as a sentence
# A full stop, question or exclamation mark right after a word, perhaps inside quotes or
# brackets: "It was published in Nature." An ellipsis ("Read more...") is not one.
_SENTENCE_STOP = re.compile(f"{writing.WORD_CHAR}[)\\]\"'”’»]?[{writing.STOPS}]"
                            f"[\"'”’»)\\]{writing.FULL_WIDTH_CLOSERS}]*$")


def reads_as_sentence(text: str, n_words: int | None = None) -> bool:
    """Four words or more ending like a sentence, not led by a word in capitals: a line of
    prose, however short, whatever keyword it holds. ``n_words``: words(text), when the
    caller has counted it."""
    if n_words is None:
        n_words = words(text)
    unspaced = None  # Chinese, Thai...: words without spaces, counted only when they matter
    if n_words < SENTENCE_WORDS:
        if text.isascii():
            return False
        unspaced = unspaced_words(text)
        if unspaced < SENTENCE_WORDS:
            return False
    if _first_word_in_capitals(text):
        return False
    if _SENTENCE_STOP.search(text.rstrip()):
        return True
    # Thai and Lao write no full stop: a space between two of their letters parts sentences,
    # and a line as long as a paragraph is one (curate/writing.py).
    if text.isascii() or not _NO_STOP.search(text):
        return False
    if unspaced is None:
        unspaced = unspaced_words(text)
    return bool(_UNSPACED_BREAK.search(text)) or unspaced >= writing.NO_STOP_PROSE_WORDS


def _first_word_in_capitals(text: str) -> bool:
    first = _TOKEN.search(text)
    return first is not None and len(first[0]) >= 2 and first[0].isalpha() and first[0].isupper()


def menu_words(text: str) -> int:
    """Words between spaces, a lone symbol between two words not counted: "Food & Drink"
    and "News | Sport" are two words, as menus show them."""
    tokens = text.split(" ")
    return len(tokens) - sum(1 for k in range(1, len(tokens) - 1) if tokens[k] in _JOINERS
                             and tokens[k - 1] not in _JOINERS and tokens[k + 1] not in _JOINERS)


_JOINERS = frozenset("&|/+·•–—-")  # not "=": keep_daily = 7 is code


def is_link_like(text: str, max_words: int) -> bool:
    """Short, not a sentence: what menu items, tags and link lists look like."""
    spaced = words(text)
    if _too_many_words(text, spaced, max_words):
        return False
    if not text.isascii():
        # Thai, Lao, Myanmar and Khmer do not space their words: a headline is one "word".
        # Asked only of a line short enough by its spaces.
        unspaced = math.ceil(len(_UNSPACED.findall(text)) / writing.UNSPACED_CHARS_PER_WORD)
        if unspaced > spaced and _too_many_words(text, unspaced, max_words):
            return False
    return not _TERMINAL.search(text) and bool(_LETTER.search(text))


def _too_many_words(text: str, spaced: int, max_words: int) -> bool:
    # Each symbol menu_words() leaves out sits between two words, so it is at most
    # (spaced - 1) // 2 below words(): prose, most of a page, is settled without it.
    return spaced - (spaced - 1) // 2 > max_words or (spaced > max_words and menu_words(text) > max_words)


_TOKEN = writing.WORD  # \w and the combining marks \w leaves out (curate/writing.py)
_CJK = re.compile(f"[{writing.CJK_RANGES}]")
_UNSPACED = re.compile(f"[{writing.UNSPACED_RANGES}]")
_ANY_UNSPACED = re.compile(f"[{writing.CJK_RANGES}{writing.UNSPACED_RANGES}]")
_UNSPACED_BREAK = re.compile(writing.UNSPACED_BREAK)
_NO_STOP = re.compile(f"[{writing.NO_STOP_RANGES}]")
# A line that ends like a sentence, or has a sentence break inside it (in any script).
_SENTENCE_END = re.compile(f"[{writing.SENTENCE_MARKS}:;\"'»«)\\]“”„’]\\s*$")
_SENTENCE_BREAK = re.compile(f"{writing.WORD_CHAR}[{writing.SENTENCE_MARKS}][\"»”')]?\\s+"
                             f"[\"„«“(]?[{writing.SENTENCE_OPENERS}]"
                             f"|[{writing.IDEOGRAPHIC_BREAKS}]|{writing.UNSPACED_BREAK}")
_DATE = re.compile(
    r"\b\d{1,2}[./-]\s?\d{1,2}[./-]\s?\d{2,4}\b|\b\d{4}-\d{2}-\d{2}\b"
    r"|\b\d{1,2}\.?\s+(jan|feb|mär|mar|apr|mai|may|jun|jul|aug|sep|okt|oct|nov|dez|dec)[a-zä]*\.?\s+\d{4}"
    r"|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4}", re.IGNORECASE)
_META = re.compile(
    r"\b\d+\s*(min(ute)?s?\.?|minuten)\s*(read|lesezeit|lesen)?\b|\blesezeit\b|\bmin read\b|\b\d+\s*words\b"
    r"|\bopublikowano\b|\bveröffentlicht\b|\bpublished\b|\bupdated\b|\baktualisiert\b|来源", re.IGNORECASE)
_TITLE_PARTS = re.compile(r"\s+[|–—\-:·»]\s+")


def tokens(text: str) -> float:
    """Words, counting two CJK characters as one word, and five of Thai, Lao, Myanmar or
    Khmer (they are written without spaces: curate/writing.py)."""
    n = len(_TOKEN.findall(text))
    return n if text.isascii() else n + unspaced_words(text)


def unspaced_words(text: str) -> float:
    """The words of the scripts written without spaces in ``text``: two CJK characters a
    word, five of Thai, Lao, Myanmar or Khmer (curate/writing.py); 0 for any other."""
    if not _ANY_UNSPACED.search(text):  # one scan for a line of any other script
        return 0
    return len(_CJK.findall(text)) / 2 + len(_UNSPACED.findall(text)) / writing.UNSPACED_CHARS_PER_WORD


def is_prose(text: str, min_words: int, long_words: int, w: float | None = None) -> bool:
    """``w``: the text's tokens() when the caller has counted them already."""
    if w is None:
        w = tokens(text)
    return w >= min_words and (
        bool(_SENTENCE_END.search(text)) or bool(_SENTENCE_BREAK.search(text)) or w >= long_words
        or (w >= writing.NO_STOP_PROSE_WORDS and not text.isascii() and bool(_NO_STOP.search(text))))


@detector("link-run")
@dataclasses.dataclass(frozen=True)
class LinkRun:
    """Runs of at least ``min_lines`` adjacent lines of at most ``max_words`` words without
    sentence punctuation: menus, tag clouds, link lists. With ``cross_blank_lines`` a run
    may continue across blank lines (menus with headings); by default a blank line ends it,
    which keeps short list items that sit in paragraphs of their own."""

    min_lines: int = count(2, least=1)
    max_words: int = count(2, least=1)  # words() is 1 or more: 0 would find nothing
    cross_blank_lines: bool = False

    def hits(self, lines: list[Line], taken: frozenset[int] = frozenset()) -> set[int]:
        found: set[int] = set()
        run: list[int] = []
        for line in [*lines, None]:  # None: the end of the page closes the last run
            if line is not None and is_link_like(line.text, self.max_words):
                if run and line.gap_before and not self.cross_blank_lines:
                    # a blank line ends the run; this line may start the next
                    if len(run) >= self.min_lines:
                        found.update(run)
                    run = [line.index]
                    continue
                run.append(line.index)
                continue
            if len(run) >= self.min_lines:
                found.update(run)
            run = []
        return found


@detector("repeated-line")
@dataclasses.dataclass(frozen=True)
class RepeatedLine:
    """Short lines that occur more than once on the page (a menu shown at top and bottom,
    a teaser heading repeated), unless both neighbours are prose: a short line between two
    paragraphs ("Liang Guangting said", before two different quotes) is part of the text."""

    max_words: int = 6
    prose_min_words: int = count(6, least=1)  # a line of no words is never prose
    prose_long_words: int = count(30, least=1)

    def hits(self, lines: list[Line], taken: frozenset[int] = frozenset()) -> set[int]:
        counts: dict[str, int] = {}
        for line in lines:
            key = line.text.casefold()
            counts[key] = counts.get(key, 0) + 1
        found = set()
        for k, line in enumerate(lines):
            if counts[line.text.casefold()] < 2 or tokens(line.text) > self.max_words:
                continue
            before = lines[k - 1].text if k > 0 else ""
            after = lines[k + 1].text if k + 1 < len(lines) else ""
            if before and after and all(
                    is_prose(t, self.prose_min_words, self.prose_long_words) for t in (before, after)):
                continue
            found.add(line.index)
        return found


@detector("article-region")
@dataclasses.dataclass(frozen=True)
class ArticleRegion:
    """Everything before the article starts and after it ends.

    Each line gets a value: prose (at least ``prose_min_words`` words that end like a
    sentence or hold a sentence break, or ``long_words`` words in any case) is worth its
    word count up to ``cap``; a line other rules removed costs ``junk_penalty``, shrinking
    by ``junk_decay`` along a run of such lines (one long menu is one piece of evidence);
    a long line that is not prose costs ``long_penalty``, any other line ``short_penalty``.
    The article is the stretch of lines with the largest total (the maximum-sum segment),
    moved up to a repeat of the page title just before it, if there is one (the headline).
    The first line (the page title) is kept; so are lines inside the region; date and
    reading-time lines between the headline and the first prose line go.
    Runs last, after every line, block and page rule, and counts their removals as junk.
    """

    prose_min_words: int = count(6, least=1)  # a line of no words is never prose
    long_words: int = count(30, least=1)
    cap: int = count(60, least=1)  # at 0 prose would be worth nothing
    # Costs in words, as prose is worth its words: a negative one made noise worth keeping.
    short_penalty: float = decimal(2.0, 0, MAX_COUNT, "a cost in words")
    long_penalty: float = decimal(3.0, 0, MAX_COUNT, "a cost in words")
    junk_penalty: float = decimal(25.0, 0, MAX_COUNT, "a cost in words")
    # Past 1 each line of a run cost more than the one before (1.5 overflowed a float on a
    # long run); below 0 every other line was worth keeping.
    junk_decay: float = decimal(0.7, 0, 1, "a factor", note="1: every line of a run costs junk_penalty")
    keep_title: bool = True
    title_anchor: bool = True
    head_meta_max_words: int = 12
    title_reach: int = 4  # the title counts as the headline if the article starts this close
    # Lines above the article searched for its headline when the page title does not head
    # it (the title is then a site name or a skip link): the longest line there that reads
    # like a headline stays, with the lead paragraphs between it and the article.
    headline_reach: int = 14
    # Lists, specification rows, recipe steps and table rows right before or after the
    # article (each run of 3+ such lines, under a heading of its own or not) are part of it.
    structure: bool = True
    # A listing (news, results, products, a forum's posts): items of comparable weight, each
    # a title and a short text parted by per-item chrome (a byline, a date, "Comment") that
    # other rules remove, make many small stretches where an article makes one big one, and
    # the best stretch is a single item (or a footer blurb). When the heaviest chain of
    # stretches (each within ``listing_gap`` lines of the next) has ``listing_items`` of
    # them and weighs ``listing_weight`` times the best, the region spans the chain and the
    # best stretch. Teasers beside an article weigh less than it, so they still go.
    listing_items: int = 3
    listing_weight: float = decimal(1.5, 0, MAX_COUNT, "a factor")  # of the best stretch's weight
    listing_gap: int = 8

    runs_last = True  # class attribute, not a parameter

    def hits(self, lines: list[Line], taken: frozenset[int] = frozenset()) -> set[int]:
        return self.hits_and_vouched(lines, taken)[0]

    def hits_and_vouched(self, lines: list[Line], taken: frozenset[int] = frozenset()) -> tuple[set[int], set[int]]:
        """The lines outside the article, and the page title it keeps (the first line no
        rule removed): a line the region keeps for what it is, not for being inside the
        article, which the line model then judges as it judges prose."""
        if not lines:
            return set(), set()
        # The title is the page's first line that no rule removed (a date or a skip link
        # may come before it).
        first = next((k for k, line in enumerate(lines) if line.index not in taken), len(lines))
        title = lines[first].text if first < len(lines) else ""
        # The title is kept, never in ``found``: the model is to judge it as it judges prose.
        vouched = {lines[first].index} if self.keep_title and first < len(lines) else set()
        body = lines[first + 1:] if self.keep_title else lines[first:]
        values = []
        junk_run = 0
        prose = []
        counts = [tokens(line.text) for line in body]
        contents = _contents(body, counts, self.prose_min_words, self.long_words) if self.structure else set()
        # Paragraphs wrapped at a width and verse are prose, line by line: each piece alone is
        # a short line, but together they are the page's text.
        stanzas = _stanza_blocks(body, taken) if self.structure else []
        verse = {k for top, bottom in stanzas for k in range(top, bottom + 1)}
        wrapped = _wrapped_prose(body, counts, taken, self.prose_min_words, self.long_words)
        verse_or_wrapped = verse.union(k for top, bottom in wrapped for k in range(top, bottom + 1))
        code = code_positions(body) if self.structure else set()
        for k, line in enumerate(body):
            if k in code:
                # A fenced code block is the text's, whatever a rule says of its lines (the
                # noise stage keeps them all): it costs nothing, so the paragraphs around
                # it are one article.
                values.append(0.0)
                junk_run = 0
                prose.append(False)
                continue
            if k in contents:
                # An in-page table of contents and the headings it lists are part of the
                # article whatever removes them: they cost what a short line costs.
                values.append(-self.short_penalty)
                junk_run = 0
                prose.append(False)
                continue
            if line.index in taken:
                values.append(-self.junk_penalty * self.junk_decay ** junk_run)
                junk_run += 1
                prose.append(False)
                continue
            junk_run = 0
            w = counts[k]
            p = k in verse_or_wrapped or is_prose(line.text, self.prose_min_words, self.long_words, w)
            prose.append(p)
            if p:
                values.append(min(w, self.cap))
            else:
                values.append(-self.long_penalty if w >= self.prose_min_words else -self.short_penalty)
        if self.structure:
            # A table inside the text costs nothing: its rows are short lines, but the
            # paragraphs around it are one article. (A list costs what its lines cost: a
            # documentation site's numbered sidebar is one too.)
            for top, bottom in _item_runs(body, taken, _is_table_row):
                for k in range(top, bottom + 1):
                    if not prose[k]:
                        values[k] = 0.0
        pieces = _pieces(values)
        if not pieces:
            return {line.index for line in body}, vouched
        best, start, end = max(pieces, key=lambda piece: piece[0])  # the first, on a tie
        if self.listing_items:
            start, end = _listing_span(pieces, best, start, end, self.listing_items, self.listing_weight,
                                       self.listing_gap)
        anchored = False
        if self.title_anchor and self.keep_title:
            anchor = _title_anchor(title, body, start)
            if anchor is not None:
                start, anchored = anchor, True
            elif start <= self.title_reach:
                # The title itself heads the article: keep what sits between them
                # (a subtitle, a lead) unless rules removed it.
                start = 0
        if self.structure:
            old_end = end
            grown, end = _grow_by_structure(body, start, end, taken, prose, self.title_reach)
            # The runs of items the article took in by their structure (ingredients,
            # specification rows) are vouched for: the line model judges them as prose.
            vouched.update(body[k].index for k in [*range(grown, start), *range(old_end + 1, end + 1)]
                           if _is_item(body[k]))
            if grown < start and not anchored and self.keep_title and grown <= self.title_reach:
                # Lists above the article (a recipe's ingredients above its steps) brought it
                # up to the title: the title heads it, and the lead between them stays.
                grown = 0
            start = grown
        # The headline is looked for only when neither the title nor its repeat heads the article.
        look_for_headline = self.headline_reach and not anchored and start > self.title_reach
        if self.structure:
            end = _grow_by_reviews(body, end, prose)
            start, end, signatures = _grow_by_posts(body, counts, start, end, taken, prose)
        else:
            signatures = set()
        found = {line.index for k, line in enumerate(body) if k < start or k > end}
        found.update(body[k].index for k in signatures)
        found.update(line.index for line in lines[:first])
        if look_for_headline:
            headline = _headline(body, start, taken, self.headline_reach)
            if headline is not None:
                found.difference_update(body[k].index for k in range(headline, start)
                                        if k == headline or prose[k])
                vouched.add(body[headline].index)  # kept for what it is, as the title is
        # Verse in the article is its text: the line model judges it as prose.
        vouched.update(body[k].index for k in verse if start <= k <= end)
        first_prose = next((k for k in range(start, end + 1) if prose[k]), end + 1)
        # A heading inside the article over a paragraph, a code block or a list ("What we
        # offer" over its bullets) is kept for what it is, as the headline is (the line model judges it as
        # prose).
        vouched.update(body[k].index for k in range(first_prose + 1, end)
                       if not prose[k] and body[k].index not in taken and _is_heading(body[k].text)
                       and (prose[k + 1] or k + 1 in code
                            or (not _is_item(body[k]) and _heads_items(body, k + 1, end, taken))))
        for k in range(start, first_prose):
            text = body[k].text
            if (_DATE.search(text) or _META.search(text)) and tokens(text) <= self.head_meta_max_words:
                found.add(body[k].index)
        return found, vouched


# A table's row: cells parted by " | " ("Centro | 921 | 960"), or by tabs in the raw line
# ("Centro\t921\t960"; normalising made them spaces, and the output has them back).
_TABLE_ROW = re.compile(r"^\|?[^|]*\S +\| +\S|^\|? *:?-{3,}:? *\|")  # Markdown's too: "| a | b |", "|---|:--:|"
# A line of a list, a specification or a recipe: "1. Heat the oven", "- salt", "Weight: 1.2 kg",
# "200 g flour", "2 eggs", "| 3 | 4 |"; or a table's row (_is_item).
_ITEM = re.compile(r"^\s*(?:\d{1,3}[.)]\s|[-•*–·▪►✓]\s?|\d+(?:[.,/]\d+)?\s*\S|[½¼¾⅓]|\|"
                   r"|[^\W\d_][^:]{0,40}:\s*\S)")
ITEM_RUN = 3  # items in a row before they count as a list


def _is_item(line: Line) -> bool:
    return (bool(_ITEM.match(line.text)) and tokens(line.text) <= 40) or _is_table_row(line)


def _is_table_row(line: Line) -> bool:
    text = line.text
    if "|" in text:  # the test of "|" is cheap
        return bool(_TABLE_ROW.match(text)) and tokens(text) <= 40
    # Cells parted by tabs, which normalising made spaces: the raw line still has them.
    return "\t" in line.raw and tab_cells(line.raw) is not None and tokens(text) <= 40


def _item_runs(body: list[Line], taken: frozenset[int] | set[int],
               shape: Callable[[Line], bool] = _is_item) -> list[tuple[int, int]]:
    """(first, last) positions of the runs of at least ITEM_RUN list items (lines ``shape``
    says are) that no rule removed."""
    found: list[tuple[int, int]] = []
    k = 0
    while k < len(body):
        j = k
        while j < len(body) and body[j].index not in taken and shape(body[j]):
            j += 1
        if j - k >= ITEM_RUN:
            found.append((k, j - 1))
        k = max(j, k + 1)
    return found


# Lines wrapped at a width are about as long as each other (but the last): steps or notes
# that go on in lower case are not one paragraph.
WRAP_EVENNESS = 0.7
WRAP_MIN_WIDTH = 40
WRAP_MAX_WIDTH = 100  # text is wrapped at 60-80 characters; a longer line was never wrapped
_ENDS_SENTENCE = frozenset(".!?:;\"'»«)]…“”„’")  # a line's last character, as _SENTENCE_END reads it
_ENDS_UNFINISHED = frozenset(",;–-")  # a line that ends so goes on in the next


def _goes_on(text: str, following: str) -> bool:
    """Whether ``text`` goes on in the line ``following`` it: it does not end like a
    sentence, and the next starts in lower case or it ends in a comma or a dash. (The last
    character, not an end-anchored search: that scans every line from its start.)"""
    last = text.rstrip()[-1:]
    return last not in _ENDS_SENTENCE and (following[:1].islower() or last in _ENDS_UNFINISHED)


def _wrapped_prose(body: list[Line], counts: Sequence[float] | None, taken: frozenset[int] | set[int],
                   min_words: int, long_words: int) -> list[tuple[int, int]]:
    """(first, last) positions of the hard-wrapped paragraphs that read as prose together:
    a plain-text book, a mail or a poem broken into lines at a width ("...walked out of
    the church, and that was the / beginning of the trouble."). A line goes on in the next
    of its block when it does not end like a sentence and the next starts in lower case,
    or it ends in a comma or a dash; the lines but the last are of about one length (at
    least WRAP_EVENNESS of the longest, which has WRAP_MIN_WIDTH to WRAP_MAX_WIDTH
    characters, as the last has at most). Each piece alone is a short line, or a long one
    with no sentence end; the paragraph is prose. ``counts``: each line's tokens(), or
    None to count them here."""
    found: list[tuple[int, int]] = []
    k = 0
    while k < len(body):
        j = k
        while (j + 1 < len(body) and not body[j + 1].gap_before and body[j].index not in taken
               and body[j + 1].index not in taken and _goes_on(body[j].text, body[j + 1].text)):
            j += 1
        if j > k:
            widths = [len(line.text) for line in body[k:j]]  # the last line may be short
            if (min(widths) >= WRAP_EVENNESS * max(widths) and WRAP_MIN_WIDTH <= max(widths) <= WRAP_MAX_WIDTH
                    and len(body[j].text) <= WRAP_MAX_WIDTH):
                w = sum(counts[k:j + 1]) if counts is not None else sum(tokens(line.text) for line in body[k:j + 1])
                last = body[j].text
                if w >= min_words and (_SENTENCE_END.search(last) or _SENTENCE_BREAK.search(last) or w >= long_words):
                    found.append((k, j))
        k = j + 1
    return found


STANZA_LINES = (3, 12)  # lines of a stanza, at least and at most
STANZA_WORDS = (2, 10)  # words of each of its lines


def _stanza_blocks(body: list[Line], taken: frozenset[int] | set[int]) -> list[tuple[int, int]]:
    """(first, last) positions of the stanzas of verse: blocks of STANZA_LINES lines of
    STANZA_WORDS words each, no rule removed and none with a sentence break inside, where
    most lines after the first go on in lower case ("Down by the river / where the willows
    grow"), or most end in a comma and the last like a sentence ("Die Nebel ziehen übers
    Land, / ..."). A song or a poem's lines are short, but they are the page's text; a
    menu's or a teaser list's lines each start a new name or headline."""
    found: list[tuple[int, int]] = []
    for first, last in _blocks(body):
        n = last - first + 1
        if not STANZA_LINES[0] <= n <= STANZA_LINES[1]:
            continue
        lines = body[first:last + 1]
        lower = sum(1 for line in lines[1:] if line.text[:1].islower())
        commas = sum(1 for line in lines[:-1] if line.text.rstrip()[-1:] in ",;")
        if not (2 * lower >= n - 1 or (2 * commas >= n - 1 and lines[-1].text.rstrip()[-1:] in ".!?")):
            continue
        if all(line.index not in taken and STANZA_WORDS[0] <= words(line.text) <= STANZA_WORDS[1]
               and not _SENTENCE_BREAK.search(line.text) for line in lines):
            # (a sentence that ends inside a line: prose wrapped at a width, not verse)
            found.append((first, last))
    return found


def _heads_items(body: list[Line], k: int, end: int, taken: frozenset[int]) -> bool:
    """Whether a run of list items, no rule removed, starts at ``k`` and ends by ``end``."""
    return k + ITEM_RUN - 1 <= end and all(body[j].index not in taken and _is_item(body[j])
                                           for j in range(k, k + ITEM_RUN))


def _is_heading(text: str, max_tokens: int = 8) -> bool:
    # (A Markdown heading's mark is gone: the stages read "## Sources" as "Sources".)
    return 1 <= tokens(text) <= max_tokens and not _SENTENCE_END.search(text) and bool(_LETTER.match(text))


# A service or product page lists its features as cards, each a short title over a line
# of text, that read as neither prose nor a list: the region used to end before them.
CARD_RUN = 3  # cards in a row before they count as a grid of them
CARD_TITLE_TOKENS = 5  # a card's title: a heading this short


def _is_card_text(text: str) -> bool:
    n = tokens(text)
    return n >= 7 or (n >= 4 and bool(_SENTENCE_END.search(text)))


def _cards_from(body: list[Line], k: int, taken: frozenset[int] | set[int]) -> int:
    """How many cards in a row start at ``k``: a title line and a text line each, no rule
    removed either."""
    pairs = 0
    while k + 1 < len(body):
        title, text = body[k], body[k + 1]
        if (title.index in taken or text.index in taken or not _is_heading(title.text, CARD_TITLE_TOKENS)
                or _is_item(title) or not _is_card_text(text.text)):
            break
        k += 2
        pairs += 1
    return pairs


def _card_run_after(body: list[Line], end: int, taken: frozenset[int] | set[int]) -> int:
    """The article's end moved over a grid of cards right after it: CARD_RUN or more pairs
    of a short title and a line of text about it ("Invoices" / "Bill your clients from
    your time entries"), as a service page lists its features; the line model then judges
    each line. (Before the article, on the gold sets, such pairs were a menu's headings
    and their links.)"""
    pairs = _cards_from(body, end + 1, taken)
    return end + 2 * pairs if pairs >= CARD_RUN else end


def _grow_by_structure(body: list[Line], start: int, end: int, taken: frozenset[int], prose: list[bool],
                       reach: int) -> tuple[int, int]:
    """The article's ends moved over the runs of list items next to it (each perhaps under
    a heading): ingredients after a recipe's intro, a product's specifications after its
    description. Lines another rule removed end a run. ``prose``: which lines read as
    prose; ``reach``: how close to the title (the first line of ``body``) an article
    starts that the title heads."""
    def run_from(k: int, step: int) -> int:
        """The last line of a run of items starting at ``k`` going ``step``, or ``k - step``."""
        j = k
        while 0 <= j < len(body) and body[j].index not in taken and _is_item(body[j]):
            j += step
        return j - step if abs(j - k) >= ITEM_RUN else k - step

    end = _card_run_after(body, end, taken)
    k = end + 1
    while k < len(body):
        if body[k].index in taken:
            break
        heading = _is_heading(body[k].text) and not _is_item(body[k])
        last = run_from(k + 1 if heading else k, 1)
        if last < (k + 1 if heading else k):
            break
        end = last
        # A note under a table or a list ("Figures are estimates...") belongs with it.
        while end + 1 < len(body) and body[end + 1].index not in taken and prose[end + 1]:
            end += 1
        k = end + 1
    k = start - 1
    while k >= 0:
        first = run_from(k, -1)
        crossed = first > k
        if crossed:
            # A heading of the article's own (a recipe's "Instructions") between it and a
            # run above it (the ingredients) joins with the run when the run leads up to
            # the article's lead or its title: a short intro above a list weighs less than
            # the list's short lines cost, and the article then starts at its steps.
            if body[k].index in taken or not _is_heading(body[k].text) or _is_item(body[k]):
                break
            first = run_from(k - 1, -1)
            if first > k - 1:
                break
        top = first
        if first - 1 >= 0 and body[first - 1].index not in taken and _is_heading(body[first - 1].text):
            top = first - 1
        if crossed:
            lead = top
            while lead - 1 >= 0 and prose[lead - 1]:
                lead -= 1
            if lead == top and top > reach:
                break  # neither a lead nor the title above it: a menu's run, not the article's
            top = lead
        start = top
        k = start - 1
    return start, end


CONTENTS_MAX = 400  # entries of one table of contents, at most


def _contents(body: list[Line], counts: list[float], min_words: int, long_words: int) -> set[int]:
    """Positions of an in-page table of contents ("On this page" and the run of headings
    below it) and of the headings it lists: a run of at least ``ITEM_RUN`` short lines each
    of which comes back further down, in the same order, as a line followed by prose (a
    heading). The line just above the run (its own heading) counts with it. A menu shown
    at the top and bottom of a page is not one: its second copy heads no paragraphs."""
    # ``counts``: each line's tokens(). Entries and the headings they name are short lines,
    # so only short lines are compared.
    keys = [_fold(line.text) if n <= 8 else None for line, n in zip(body, counts, strict=True)]
    at: dict[str | None, list[int]] = {}
    for k, key in enumerate(keys):
        at.setdefault(key, []).append(k)
    # Only a line that comes back further down can be an entry: that leaves few to look at.
    entry = [key is not None and at[key][-1] > k and not _SENTENCE_END.search(body[k].text)
             for k, key in enumerate(keys)]

    def heads_prose(k: int) -> bool:
        return k + 1 < len(body) and is_prose(body[k + 1].text, min_words, long_words, counts[k + 1])

    found: set[int] = set()
    starts = [k for k, ok in enumerate(entry) if ok]
    if len(starts) < ITEM_RUN:
        return found
    s = 0
    while s < len(starts):
        k = starts[s]
        run: list[int] = []
        targets: list[int] = []
        j = k
        # A run is cut at CONTENTS_MAX entries: a failed run is looked at again from each of
        # its lines, and that must stay linear on a page of a million repeated short lines.
        while j < len(body) and entry[j] and (j == k or not body[j].gap_before) and len(run) < CONTENTS_MAX:
            places = at[keys[j]]
            later = bisect.bisect_right(places, max(j, targets[-1]) if targets else j)
            if later == len(places):
                break
            run.append(j)
            targets.append(places[later])
            j += 1
        if len(run) >= ITEM_RUN and targets[0] > run[-1] and sum(map(heads_prose, targets)) * 3 >= 2 * len(targets):
            found.update(run)
            found.update(targets)
            if run[0] > 0 and not body[run[0]].gap_before and counts[run[0] - 1] <= 8:
                found.add(run[0] - 1)
            s = bisect.bisect_left(starts, j)
        else:
            s += 1
    return found


# A heading that opens a section of customer reviews ("Customer reviews", "Reviews (12)").
_REVIEWS = re.compile(
    r"^(?:\d+\s+)?(?:(?:customer|user|product|guest|verified)\s+)?(?:reviews?|ratings?\s+(?:and|&)\s+reviews?"
    r"|kunden(?:bewertungen|rezensionen|meinungen)|bewertungen|rezensionen|erfahrungsberichte"
    r"|opiniones|valoraciones|reseñas|comentarios\s+de\s+(?:los\s+)?clientes|avis(?:\s+(?:des\s+)?clients)?"
    r"|recensioni|opinioni|avaliações|opiniões|recensies|beoordelingen|ervaringen|opinie|recenzje)"
    r"(?:\s+(?:de|des|dei|der|van|dos|das|od|from)\s+(?:los\s+|nos\s+)?(?:clientes|clients|clienti|kunden|klanten"
    r"|klientów|customers|usuarios|utilisateurs|utenti))?(?:\s*\(\d[\d.,]*\))?\W*$", re.IGNORECASE)
REVIEWS_REACH = 6  # lines between the article's end and a reviews heading


def _grow_by_reviews(body: list[Line], end: int, prose: list[bool]) -> int:
    """The article's end moved over a section of customer reviews right after it: from a
    heading that names reviews, each block (lines between blank lines) that holds prose
    (a review's text) joins, with the widget block under the heading; the first block
    without prose (a "see all reviews" link, cross-sells) ends it."""
    heading = next((k for k in range(end + 1, min(len(body), end + 1 + REVIEWS_REACH))
                    if _REVIEWS.match(body[k].text)), None)
    if heading is None:
        return end
    blocks = [(max(first, heading), last) for first, last in _blocks(body) if last >= heading]
    grown = end
    for n, (first, last) in enumerate(blocks):
        if any(prose[first:last + 1]):
            grown = last
        elif n:  # the heading's own block (stars, "write a review") may hold none
            break
    return grown if grown > end else end


def _blocks(body: list[Line]) -> list[tuple[int, int]]:
    """(first, last) positions of each block: lines between blank lines."""
    blocks, k = [], 0
    while k < len(body):
        j = k + 1
        while j < len(body) and not body[j].gap_before:
            j += 1
        blocks.append((k, j - 1))
        k = j
    return blocks


def _text_end(body: list[Line], first: int, last: int, prose: list[bool]) -> int:
    """The last line of ``first..last`` before what trails a post's text: buttons ("Reply",
    "Quote", "Like"), the next post's author card, a signature: lines that are not prose
    and do not end like a sentence."""
    while last > first and not prose[last] and not _SENTENCE_END.search(body[last].text):
        last -= 1
    return last


def _post(body: list[Line], first: int, last: int, prose: list[bool], header: list[bool]) -> tuple[int, int] | None:
    """A block that is a post of a thread: a dated line (the post's header: its date, the
    author's card) and prose after it. (first line, last line of the post's text), or
    None. The text runs from the first line after the date that ends like a sentence to
    the last line before the post's buttons."""
    dated = next((k for k in range(first, last + 1) if header[k]), None)
    if dated is None or not any(prose[dated + 1:last + 1]):
        return None
    # the text starts at the first line after the header ("#3", "Edited") that ends like a sentence
    text_start = next(k for k in range(dated + 1, last + 1) if prose[k] or _SENTENCE_END.search(body[k].text))
    text_end = _text_end(body, text_start, last, prose)
    if any(header[text_start:text_end + 1]):
        return None  # dates inside the text: a list of dated teasers, not one post
    return text_start, text_end


LISTING_TITLE_WORDS = 4  # a headline above a post's date this long is an item's title, not its author
POST_GAP = 3  # blocks without text in a row (author cards, buttons) that may part two posts
SIGNATURE_WORDS = 10  # a post's last line this short, below a longer one, is its author's signature


def _threads(body: list[Line], taken: frozenset[int], prose: list[bool],
             header: list[bool]) -> list[list[tuple[int, int]]]:
    """The page's runs of posts, each post as (first, last line of its text). A post is a
    block with a dated header above prose (see _post); a block of prose right after a post
    is a paragraph of it; up to ``POST_GAP`` blocks without text (author cards, buttons, an
    ad label) may part two posts; anything else ends the run."""
    threads: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    skipped = 0
    for first, last in _blocks(body):
        text = [k for k in range(first, last + 1) if prose[k] and body[k].index not in taken]
        post = _post(body, first, last, prose, header)
        if post is not None:
            current.append(post)
            skipped = 0
        elif not text:
            skipped += 1
            if skipped > POST_GAP and current:
                threads.append(current)
                current = []
        elif current and skipped == 0:
            current[-1] = (current[-1][0], _text_end(body, text[0], last, prose))
        else:
            if current:
                threads.append(current)
            current, skipped = [], 0
    if current:
        threads.append(current)
    return threads


def _grow_by_posts(body: list[Line], counts: list[float], start: int, end: int, taken: frozenset[int],
                   prose: list[bool]) -> tuple[int, int, set[int]]:
    """A thread: when the article is the text of a post (a forum post, a comment: see
    _threads), the other posts of its run are part of the article too. What lies between
    their texts (headers, author cards, buttons) goes, and so does a post's last line when
    that is short, under a longer line of the same post: its author's signature. Returns
    the new start and end, and the positions of the lines that go inside them. ``counts``:
    each line's tokens()."""
    # A post's date line: short, not prose, with a date (the count first: it is free).
    header = [not p and n <= 12 and bool(_DATE.search(line.text))
              for line, p, n in zip(body, prose, counts, strict=True)]
    if sum(header) < 2:
        return start, end, set()  # a thread has two posts at least, each under its date
    thread = next((t for t in _threads(body, taken, prose, header)
                   if any(a <= start <= b or start <= a <= end for a, b in t)), None)
    if thread is None or len(thread) < 2:
        return start, end, set()
    chrome: set[int] = set()
    k = thread[0][0] - 1  # the first post's header, up to its block's start
    while k >= 0 and not prose[k]:
        chrome.add(k)
        if body[k].gap_before:
            break
        k -= 1
    for (_, before), (after, _) in itertools.pairwise(thread):
        chrome.update(range(before + 1, after))
    # A headline right above a post's date is a listing's item title ("How to pack a lighter
    # rucksack" / "2 March 2024" / its excerpt), not an author's card: that is a name or two.
    # (One that starts with a figure is a review's rating: "5.0 out of 5 stars Great value".)
    chrome.difference_update(k for k in list(chrome) if k + 1 < len(body) and header[k + 1]
                             and body[k].index not in taken and body[k].text[:1].isalpha()
                             and _headline_words(body[k].text) >= LISTING_TITLE_WORDS)
    for text_start, text_end in thread:
        if text_end > text_start and counts[text_end] <= SIGNATURE_WORDS and counts[text_end] < counts[text_end - 1]:
            chrome.add(text_end)
    return min(start, thread[0][0]), max(end, thread[-1][1]), chrome


# What a headline does not hold: a field and its value ("Prep time: 25 min"), separators of
# facts or of a breadcrumb ("Docs / Guide / Setup", "a | b").
_CRUMB = "[|/>\u00bb\u203a]"  # bar, slash, greater-than, and the right-pointing angle quotes
_NOT_HEADLINE = re.compile(r"^[^\W\d_][^:]{0,40}:\s*\S|\s" + _CRUMB + r"\s.*\s" + _CRUMB + r"\s|\s\|\s")


def _headline(body: list[Line], start: int, taken: frozenset[int], reach: int) -> int | None:
    """The line above ``start`` that reads most like the article's headline: 3 to 20
    words, beginning with a letter or digit, mostly words, not ending like a sentence,
    not a date, a field or a breadcrumb; the longest such line. But a Markdown "# Title"
    (the nearest) before any of them."""
    best, best_words = None, 0.0
    for k in range(start - 1, max(-1, start - 1 - reach), -1):
        if body[k].index in taken:
            continue
        if _is_title_heading(body[k]):
            return k  # a Markdown page's "# Title" is its headline, however short
        w = _headline_words(body[k].text)
        if w > best_words:
            best, best_words = k, w
    return best


def _is_title_heading(line: Line) -> bool:
    """A Markdown level-1 heading ("# Scheduling backups"; the stages read its text)."""
    return line.shown is not None and line.shown.startswith("# ") and not line.text.startswith("#")


def _headline_words(text: str) -> float:
    """The words of a line that reads like a headline (3 to 20 words, beginning with a
    letter or digit, mostly words, not ending like a sentence, not a date, a field or a
    breadcrumb), or 0 for any other line."""
    if (_SENTENCE_END.search(text) or not re.match(r"[^\W_]", text) or _NOT_HEADLINE.search(text)
            or _DATE.search(text) or _META.search(text)):
        return 0
    w = tokens(text)
    letters = sum(ch.isalpha() for ch in text)
    return w if 3 <= w <= 20 and letters >= 0.6 * len(text.replace(" ", "")) else 0


def _pieces(values: list[float]) -> list[tuple[float, int, int]]:
    """(sum, start, end) of the best stretch of each piece of the page that Kadane's scan
    parts: where the running total falls to zero or below, a piece ends. The pieces are
    disjoint and in page order; the first of the heaviest is the stretch of the largest
    positive sum (the article). None when no value is positive."""
    pieces: list[tuple[float, int, int]] = []
    best, best_start, best_end = 0.0, 0, -1
    total, start = 0.0, 0
    for i, v in enumerate(values):
        if total <= 0:
            if best > 0:
                pieces.append((best, best_start, best_end))
            best, total, start = 0.0, v, i
        else:
            total += v
        if total > best:
            best, best_start, best_end = total, start, i
    if best > 0:
        pieces.append((best, best_start, best_end))
    return pieces


def _listing_span(pieces: list[tuple[float, int, int]], best: float, start: int, end: int, items: int,
                  weight: float, gap: int) -> tuple[int, int]:
    """``start..end`` (the best stretch, of sum ``best``) widened over the heaviest chain of
    ``pieces`` (see _pieces) when that is a listing (see ArticleRegion's listing parameters)."""
    chains: list[list[tuple[float, int, int]]] = []
    for piece in pieces:
        if chains and piece[1] - chains[-1][-1][2] - 1 <= gap:
            chains[-1].append(piece)
        else:
            chains.append([piece])
    heaviest = _trimmed(max(chains, key=_weight))
    if len(heaviest) < items or _weight(heaviest) < weight * best:
        return start, end
    return min(start, heaviest[0][1]), max(end, heaviest[-1][2])


def _trimmed(chain: list[tuple[float, int, int]]) -> list[tuple[float, int, int]]:
    """The chain without the light stretches at its ends: a question under "Similar
    threads", a one-line blurb in the footer, next to the last of a listing's items."""
    floor = 0.5 * median([total for total, _, _ in chain])
    first = next(k for k, (total, _, _) in enumerate(chain) if total >= floor)
    last = next(k for k in range(len(chain) - 1, -1, -1) if chain[k][0] >= floor)
    return chain[first:last + 1]


def _weight(chain: list[tuple[float, int, int]]) -> float:
    return sum(total for total, _, _ in chain)


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


# A title's parts looked for above the article: a title has a handful ("Headline | Section |
# Site"); each line above the article was tested against every part, so a first line of
# 40,000 parts over 20,000 menu lines took minutes (0.8 MB: 146 s in the noise stage).
TITLE_PARTS_MAX = 16


def _title_anchor(title: str, body: list[Line], before: int) -> int | None:
    """The last line before ``before`` that repeats the title or one of its first
    TITLE_PARTS_MAX parts."""
    folded = _fold(title)
    parts = list(dict.fromkeys(p for p in _TITLE_PARTS.split(folded) if len(p) >= 8))[:TITLE_PARTS_MAX] or [folded]
    for k in range(min(before, len(body)) - 1, -1, -1):
        line = _fold(body[k].text)
        if len(line) < 8:
            continue
        for part in parts:
            if line == part or (len(line) >= 0.6 * len(part) and line in part) or \
                    (len(part) >= 0.6 * len(line) and part in line and len(line) < 2 * len(part)):
                return k
    return None


_INTRO = re.compile(r"\w\s*:\s*$")  # a short line that ends in a colon: it announces what follows


def _share_menu_scores(scores: np.ndarray,
                       pages: Sequence[tuple[list[Line], dict[int, set[str]], frozenset[int] | set[int]]]) -> None:
    """The lines of a run inside the article that a menu detector alone hit (link-run,
    repeated-line: a run of short lines the article region keeps) share the run's median
    score, as a list's items do (_share_list_scores): the run is kept or removed whole, not
    cut where the model scores one line apart from its neighbours (the first or last short
    item, whose next line is not one of them)."""
    for first, last in _runs_hit_by(pages, _MENUS_ONLY):
        if last > first:
            scores[first:last + 1] = median(scores[first:last + 1].tolist())


def _runs_hit_by(pages: Sequence[tuple[list[Line], dict[int, set[str]], frozenset[int] | set[int]]],
                 wanted: set[str]) -> Iterator[tuple[int, int]]:
    """(first row, last row) of each run of adjacent lines that detectors alone hit, with
    exactly the rule groups ``wanted``, rows counted over the pages one after another. The
    few lines detectors hit are placed by bisection: no step per line of the page."""
    row = 0
    for lines, groups, detected in pages:
        hit = sorted(bisect.bisect_left(lines, index, key=_line_index)
                     for index in detected if groups.get(index) == wanted)
        for _, run in itertools.groupby(enumerate(hit), key=lambda pair: pair[1] - pair[0]):
            ks = [k for _, k in run]
            yield row + ks[0], row + ks[-1]
        row += len(lines)


_MENUS_ONLY = {"menus"}
_MENUS_AND_REGION = {"menus", "region"}
MENU_RUN = 4  # lines of a menu outside the article, at least, for _close_menu_runs


def _close_menu_runs(scores: np.ndarray, cut: np.ndarray,
                     pages: Sequence[tuple[list[Line], dict[int, set[str]], frozenset[int] | set[int]]]) -> None:
    """A menu outside the article (a run of MENU_RUN lines or more that only a menu
    detector and the article region hit) whose lines the model removes all but its first
    or last: that one goes too (its score is raised to its cut). The model scores an end
    of a run apart from the rest, as its other neighbour is no menu item ("娱乐" before a
    cookie banner). Narrow on purpose: sharing the run's median outside the article, as inside it
    (_share_menu_scores), kept menus whose lines the model mostly keeps and lost 25 noise
    snippets of noise-train, and raising every line to the median cut the short lines of
    listings' content."""
    for first, last in _runs_hit_by(pages, _MENUS_AND_REGION):
        if last - first + 1 < MENU_RUN:
            continue
        gone = scores[first:last + 1] >= cut[first:last + 1]
        if int(gone.sum()) == last - first and (not gone[0] or not gone[-1]):
            end = first if not gone[0] else last
            scores[end] = max(scores[end], cut[end])


def _share_list_scores(scores: np.ndarray, pages: list[list[Line]], free: np.ndarray) -> None:
    """Items of one list share one verdict, and so do the lines of a stanza and of a
    paragraph wrapped at a width: in each run of at least ``ITEM_RUN`` adjacent list items
    ("400 g flour", "Weight: 1.2 kg", "2. Stir") that no rule hit, every item gets the
    run's median score (as does the short line ending in a colon that announces it). An
    ingredient list is content or noise as a whole; a short item that scores apart from its
    siblings is the model's noise, not the page's. ``scores`` and ``free`` (no rule hit)
    have a row per line, the pages one after another."""
    row = 0
    for lines in pages:
        hit = {line.index for line, ok in zip(lines, free[row:row + len(lines)].tolist(), strict=True) if not ok}
        for first, last in _item_runs(lines, hit):
            shared = median(scores[row + first:row + last + 1].tolist())
            scores[row + first:row + last + 1] = shared
            intro = lines[first - 1] if first else None
            if (intro is not None and intro.index not in hit and _INTRO.search(intro.text)
                    and tokens(intro.text) <= 8):
                # The line that announces the list ("You will need:", "Follow us on:") goes
                # or stays with it.
                scores[row + first - 1] = shared
        # So do the lines of a stanza, and of a paragraph wrapped at a width: a poem's or a
        # paragraph's last line is no more noise than its first.
        wrapped = _wrapped_prose(lines, None, hit, ArticleRegion.prose_min_words, ArticleRegion.long_words)
        for first, last in [*_stanza_blocks(lines, hit), *wrapped]:
            scores[row + first:row + last + 1] = median(scores[row + first:row + last + 1].tolist())
        row += len(lines)


_line_index = operator.attrgetter("index")  # lines are in index order: bisect by it


@detector("line-model")
@dataclasses.dataclass(frozen=True)
class LineModelRule:
    """The learned line model (curate/linemodel) as the arbiter of the other rules.

    It runs after every other rule and sees which of them hit each line. A line that a
    line or block rule hit, or any rule of the user's own files, goes whatever the score:
    those verdicts are final. Every other line gets a score, the probability that it is
    noise, from its shape, its neighbours, its place in the page and the rules that hit
    it or its neighbours: a line a built-in detector (a page rule: article-region,
    link-run, ...) hit goes when the score reaches ``rule_threshold`` (below it the model
    overrules the detector), any other line when it reaches ``threshold``; but a line
    that no rule hit and that reads as prose (``long_words`` words or more, or a sentence:
    ``sentence_words`` or more ending in a full stop, question or exclamation mark) only
    at ``long_threshold``: prose is where content is, and losing a sentence costs a
    corpus more than keeping a line of noise. ``model``: a model file (default: the one
    shipped with curate). A negative threshold means the one fitted with the model.

    A line that only the article region removed goes at ``region_threshold`` instead of
    ``rule_threshold`` on a page where the region removes more than ``region_share`` of
    the words of its sentences of ten words or more: the region assumes one article a page, and a page it cuts that much
    prose from is seldom one article (a listing, a forum thread, a product or service
    page), so its verdict there is weak evidence. ``region_share = 1`` turns this off. On
    a page the model file's page gate calls something other than an article, a line only
    the region hit that reads as prose and comes after the article's end goes at
    ``region_threshold`` whatever the share (``region_prose_other``): a service or product
    page's sentences lie in many blocks, and the region keeps one. Short lines there (a
    cart, "copy link") and lines the region cut inside the article (a forum post's
    signature) keep the region's verdict."""

    # Noise scores are from 0 to 1: past 1 a threshold is never reached. Below 0 the first
    # two mean the ones fitted with the model; the region's and the prose one, each a floor
    # on another threshold, would be no floor at all.
    threshold: float = decimal(-1.0, 0, 1, "a score", fitted=True)
    rule_threshold: float = decimal(-1.0, 0, 1, "a score", fitted=True)
    region_threshold: float = decimal(0.5, 0, 1, "a score")
    region_share: float = decimal(0.4, 0, 1, "a share of words", note="1 turns the region's doubt off")
    region_prose_other: bool = True
    long_threshold: float = decimal(0.9, 0, 1, "a score")
    long_words: int = count(12, least=1)  # a line of no words never reads as prose
    sentence_words: int = count(4, least=1)
    model: str = ""

    arbitrates = True  # class attribute, not a parameter: see strip_noise

    def __post_init__(self) -> None:
        from curate.linemodel.model import load_model

        load_model(self.model)  # a missing or foreign model file is the rule file's error, at load

    def thresholds(self, other_pages: bool = False) -> tuple[float, float]:
        """(for lines only a detector hit, for lines no rule hit); with ``other_pages``,
        those of the model for pages that are not articles, where the file has one."""
        from curate.linemodel.model import load_model

        fitted = load_model(self.model)
        if other_pages and fitted.gate is not None:
            fitted = fitted.gate.other
        return (self.rule_threshold if self.rule_threshold >= 0 else fitted.rule_threshold,
                self.threshold if self.threshold >= 0 else fitted.free_threshold)

    def reads_as_prose(self, features: np.ndarray) -> np.ndarray:
        """Per row of line features: long, or a sentence (see the class's doc)."""
        from curate.linemodel.features import FEATURES

        n_words = features[:, FEATURES.index("log_words")]
        sentence = (features[:, FEATURES.index("terminal")] > 0) & (n_words >= math.log1p(self.sentence_words))
        return (n_words >= math.log1p(self.long_words)) | sentence

    def doubtful_region(self, features: np.ndarray, sizes: Sequence[int], other: np.ndarray | None = None,
                        prose_like: np.ndarray | None = None) -> np.ndarray:
        """Per row of the pages' line features (pages of ``sizes`` lines one after
        another): only the article region hit the line, on a page where the region hit
        more than ``region_share`` of the words of its sentences of ten words or more (the
        ``prose`` feature, not reads_as_prose: a listing of short sentences, whose region
        cuts none of them, is not doubtful by this measure); or, with
        ``region_prose_other``, the line reads as prose (``prose_like``, by default
        reads_as_prose) and comes after the last line the region did not hit, on a page
        the gate calls something other than an article (``other``, per row)."""
        from curate.linemodel.features import FEATURES, RULE_GROUPS

        groups = features[:, [FEATURES.index(f"rule_{name}") for name in RULE_GROUPS]] > 0
        region = groups[:, RULE_GROUPS.index("region")]
        only_region = region & (groups.sum(axis=1) == 1)
        words = np.expm1(features[:, FEATURES.index("log_words")]) * (features[:, FEATURES.index("prose")] > 0)
        bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)  # a page with no lines sums to 0
        cut = np.concatenate([[0.0], np.cumsum(words * region)])[bounds]
        whole = np.concatenate([[0.0], np.cumsum(words)])[bounds]
        doubtful_page = np.diff(cut) > self.region_share * np.maximum(np.diff(whole), 1.0)
        doubtful = np.repeat(doubtful_page, sizes)
        if other is not None and self.region_prose_other:
            page_of = np.repeat(np.arange(len(sizes)), sizes)
            article_end = np.full(len(sizes), -1)  # per page: the last row the region left
            left = np.flatnonzero(~region)
            np.maximum.at(article_end, page_of[left], left)
            after_end = np.arange(len(features)) > article_end[page_of]
            doubtful |= other & after_end & (self.reads_as_prose(features) if prose_like is None else prose_like)
        return only_region & doubtful

    def cuts(self, features: np.ndarray, detected: np.ndarray, sizes: Sequence[int],
             thresholds: tuple[float | np.ndarray, float | np.ndarray],
             prose_like: np.ndarray | None = None, other: np.ndarray | None = None) -> np.ndarray:
        """The score each row must reach for its line to go, with ``thresholds`` (for
        lines only a detector hit, for the others; a number, or one per row):
        rule_threshold, the region's own where it is doubtful, threshold, or
        long_threshold for prose (``prose_like``: by default reads_as_prose)."""
        rule_t, free_t = (np.broadcast_to(np.asarray(t, dtype=np.float64), (len(features),)) for t in thresholds)
        if prose_like is None:
            prose_like = self.reads_as_prose(features)
        cut = np.where(detected, rule_t, np.where(prose_like, np.maximum(free_t, self.long_threshold), free_t))
        doubtful = detected & self.doubtful_region(features, sizes, other, prose_like)
        cut[doubtful] = np.maximum(rule_t, self.region_threshold)[doubtful]
        return cut

    def page_kinds(self, features: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
        """Per row of the pages' line features: whether the model file's page gate calls
        the line's page something other than an article (all False without a gate)."""
        from curate.linemodel.features import page_vectors
        from curate.linemodel.model import load_model

        gate = load_model(self.model).gate
        if gate is None or not len(features):
            return np.zeros(len(features), dtype=bool)
        return np.repeat(gate.classifier.scores(page_vectors(features, sizes)) >= gate.threshold, sizes)

    def scores_and_thresholds(self, features: np.ndarray, sizes: Sequence[int], rows: np.ndarray,
                              other: np.ndarray | None = None) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Each row's score (0 where ``rows`` is False: no score needed) and the two
        thresholds that apply to it: the article model's, or on a page the gate calls
        something else, the other model's. ``other``: page_kinds(), if known."""
        from curate.linemodel.model import load_model

        model = load_model(self.model)
        scores = np.zeros(len(features))
        if other is None:
            other = self.page_kinds(features, sizes)  # all False without a gate
        for mine, part in ((rows & ~other, model), (rows & other, model.gate.other if model.gate else model)):
            at = np.flatnonzero(mine)
            if len(at):
                scores[at] = part.scores(features, at)
        (rule_a, free_a), (rule_o, free_o) = self.thresholds(), self.thresholds(other_pages=True)
        return scores, (np.where(other, rule_o, rule_a), np.where(other, free_o, free_a))

    def judge(self, lines: list[Line], hit_groups: dict[int, set[str]],
              detected: frozenset[int] | set[int]) -> dict[int, float]:
        """The lines to remove, with their scores. ``hit_groups``: line index -> the rule
        groups that hit it (features.RULE_GROUPS); ``detected``: the lines that only
        detectors hit (every other hit line is decided before the model)."""
        return self.judge_pages([(lines, hit_groups, detected)])[0]

    def judge_pages(self, pages: Sequence[tuple[list[Line], dict[int, set[str]], frozenset[int] | set[int]]],
                    vouched: Sequence[set[int]] | None = None) -> list[dict[int, float]]:
        """judge() for many pages at once: one feature matrix and one pass of the trees
        for a whole batch (a page alone is ~15 lines, too few to pay numpy's calls).
        ``vouched``: per page, lines a detector keeps for what they are (the article
        region's headline); one that no rule hit needs ``long_threshold``, as prose does."""
        from curate.linemodel.features import pages_features

        features = pages_features([(lines, groups) for lines, groups, _ in pages])
        # Lines a pattern rule hit are decided already (hit, not merely detected): their
        # features are their neighbours' context, but they need no score.
        hit = np.array([line.index in groups for lines, groups, _ in pages for line in lines], dtype=bool)
        detected = np.array([line.index in found for lines, _, found in pages for line in lines], dtype=bool)
        open_rows = ~hit | detected
        sizes = [len(lines) for lines, _, _ in pages]
        other = self.page_kinds(features, sizes)
        scores, (rule_t, free_t) = self.scores_and_thresholds(features, sizes, open_rows, other)
        _share_list_scores(scores, [lines for lines, _, _ in pages], ~hit)
        _share_menu_scores(scores, pages)
        prose_like = self.reads_as_prose(features)
        if vouched is not None:
            # A line or so a page: its row by bisection, not a test of every line's index.
            first_row = np.cumsum([0] + [len(lines) for lines, _, _ in pages])
            prose_like[[first_row[p] + bisect.bisect_left(lines, index, key=_line_index)
                        for p, ((lines, _, _), kept) in enumerate(zip(pages, vouched, strict=True))
                        for index in kept]] = True
        cut = self.cuts(features, detected, sizes, (rule_t, free_t), prose_like, other)
        _close_menu_runs(scores, cut, pages)
        # One comparison for all rows; only the removed ones are then looked up.
        where = [(page, line.index) for page, (lines, _, _) in enumerate(pages) for line in lines]
        results: list[dict[int, float]] = [{} for _ in pages]
        removed = np.flatnonzero(scores >= cut)
        for row, score in zip(removed.tolist(), scores[removed].tolist(), strict=True):
            page, index = where[row]
            results[page][index] = score
        return results

    def hits(self, lines: list[Line], taken: frozenset[int] = frozenset()) -> set[int]:
        """The lines it removes when ``taken`` are the lines built-in detectors hit (used
        to check the rule's examples)."""
        return set(self.judge(lines, {index: {"other"} for index in taken}, taken))
