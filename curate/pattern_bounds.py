"""A Unicode ``\\b`` between characters not known in advance, rewritten for RE2.

RE2's ``\\b`` knows ASCII words only, and Python's knows Unicode ones, so patterns.py
writes a ``\\b`` for RE2 only where it can tell the answer from the pattern itself: its
two neighbours are each all word characters or all not (``boundary_between``), or it
sits at an edge of a yes/no search (``edges``). A ``\\b`` between a word and ``.{0,60}``
(``we\\b.{0,60}\\buse cookies``) was left to the backtracking engine: 0.5-40 ms a line
on texts that are not ASCII, where RE2 takes microseconds.

Such a ``\\b`` is rewritten here as the choice of the classes of the two characters it
stands between. ``P\\bS`` matches exactly where one of these does:

- P ends with a word character and S starts with a character that is not one;
- P ends with a character that is not one and S starts with a word character;
- P ends with a word character and S matches nothing at the end of the text (or, at
  the end of a yes/no search, before a character that is not a word character);
- and so on for an empty P at the start.

"P ends with a character of class X" is P with the class of the characters that can be
its last one cut down to X (``restrict``); the choice is written as an alternation, and
the ``\\b`` is gone. Nothing is consumed that the original does not consume, except at
the edges of a yes/no search (one character beyond the match, as ``edges`` does), so
the rewrite is used for line rules only, whose answer is yes or no.

Only what this can prove is rewritten: anything else (a ``\\B``, a side that can match
empty in the middle of a pattern, an assertion whose characters are not known) raises
``NoRE2`` and leaves the pattern to the backtracking engine, as before.
"""

from __future__ import annotations

import re
from re import _constants as C  # type: ignore[attr-defined]  # private: typeshed has no stub

import numpy as np

Item = tuple  # (op, av), as in re._parser's trees
RANGES = "ranges"  # a node of our own: av is the tuple of (lo, hi) code point ranges it accepts
CHAR_NODES = (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN, RANGES)  # the nodes that match one character
REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT)
START_ANCHORS = (C.AT_BEGINNING, C.AT_BEGINNING_STRING)
END_ANCHORS = (C.AT_END, C.AT_END_STRING)
ANCHOR_FLAGS = int(re.ASCII) | int(re.MULTILINE)  # what changes the meaning of \b, ^ or $


class NoRE2(Exception):
    """Not rewritten: the pattern keeps the backtracking engine."""


class Seq:
    """A sequence of items where re._parser has a SubPattern (the writer reads ``.data``)."""

    def __init__(self, data: list):
        self.data = data


class Sets:
    """What the rewrite asks of patterns.py: a node's characters, whether an item can
    match empty, and the set of word characters (passed in, as patterns.py imports us)."""

    def __init__(self, char_mask, nullable, ranges_of, word: np.ndarray):
        self.char_mask = char_mask  # (op, av, flags) -> bool mask over code points
        self.nullable = nullable  # (op, av, flags) -> True / False / None (not known)
        self.ranges_of = ranges_of  # bool mask -> ((lo, hi), ...)
        self.word = word
        self.nonword = ~word

    def of(self, word: bool) -> np.ndarray:
        """The word characters, or the others."""
        return self.word if word else self.nonword


def inline_bounded_groups(items: list) -> list:
    """The sequence with every group that holds a \\b among its own items opened into it,
    so that the \\b sees its neighbours outside the group (``(?i:(by|von)\\b:?)\\s+``):
    its items keep the group's flags in a group each. Which text matches is unchanged;
    what a group captures is not used by a yes/no search."""
    out: list = []
    for op, av in items:
        if op is C.SUBPATTERN and any(o is C.AT and a is C.AT_BOUNDARY for o, a in av[3].data):
            _, add, remove, body = av
            inner = inline_bounded_groups(list(body.data))
            if not add and not remove:
                out.extend(inner)
                continue
            if not (add | remove) & ANCHOR_FLAGS:
                out.extend(it if it[0] is C.AT else (C.SUBPATTERN, (None, add, remove, Seq([it]))) for it in inner)
                continue
        out.append((op, av))
    return out


def split_boundary(items: list, k: int, flags: int, sets: Sets, at_start: bool, at_end: bool) -> list[list]:
    """``items`` with the ``\\b`` at ``k`` gone, as alternatives (item lists) that match
    together exactly where ``items`` does (for a yes/no search). Empty: it never matches."""
    before, after = items[:k], items[k + 1:]
    lefts = _sides(before, flags, sets, first=False, at_edge=at_start)
    rights = _sides(after, flags, sets, first=True, at_edge=at_end)
    alternatives = []
    for left_word in (True, False):
        for right_word in (True, False):
            if left_word == right_word:  # \b: the two characters differ
                continue
            for left in lefts(left_word, right_word):
                for right in rights(right_word, left_word):
                    alternatives.append(left + right)
    return alternatives


def _sides(items: list, flags: int, sets: Sets, first: bool, at_edge: bool):
    """For one side of the ``\\b`` (``first``: the side after it), a function of (the class
    of its character next to the ``\\b``, the class on the other side) giving the forms of
    the side that have it: the side matching something, or matching nothing where the
    text's edge or an anchor (or a character consumed at the edge of the search) tells."""
    nullable = _sequence_nullable(items, flags, sets)
    empty = _empty_form(items, flags, sets) if nullable else None

    def forms(word: bool, other_word: bool) -> list[list]:
        found = []
        restricted = restrict(items, flags, sets, word, other_word, first)
        if restricted is not None:
            found.append(restricted)
        if empty is not None:
            found.extend(_empty_side(empty, word, sets, first, at_edge))
        return found

    return forms


def _empty_side(empty: list, word: bool, sets: Sets, first: bool, at_edge: bool) -> list[list]:
    """The side matching nothing, with the character beyond it of class ``word``: the
    text's edge (an anchor says so) counts as not a word character; at the edge of a
    yes/no search, the character beyond is consumed."""
    anchors = END_ANCHORS if first else START_ANCHORS
    if any(op is C.AT and av in anchors for op, av in empty):
        return [empty] if not word else []
    if not at_edge:
        raise NoRE2()
    beyond = (RANGES, sets.ranges_of(sets.of(word)))
    if word:
        return [[*empty, beyond]] if first else [[beyond, *empty]]
    edge = (C.AT, C.AT_END_STRING if first else C.AT_BEGINNING_STRING)
    either = (C.BRANCH, (None, [Seq([beyond]), Seq([edge])]))
    return [[*empty, either]] if first else [[either, *empty]]


def restrict(items: list, flags: int, sets: Sets, word: bool, other_word: bool, first: bool) -> list | None:
    """The non-empty matches of the sequence whose first (``first``) or last character is
    a word character (``word``) or not, as a sequence; None if it has none. ``other_word``
    is the class of the character beyond that edge, which decides any ``\\b`` met before
    the first character is consumed."""
    mask = sets.of(word)
    order = range(len(items)) if first else range(len(items) - 1, -1, -1)
    alternatives = []
    for j in order:
        op, av = items[j]
        if op is C.AT:
            if av is C.AT_BOUNDARY:
                if word == other_word:  # never true here: no later alternative either
                    break
                continue
            if av is C.AT_NON_BOUNDARY:
                raise NoRE2()
            continue
        edge_item = _restrict_item(op, av, flags, sets, mask, word, other_word, first)
        if edge_item is not None:
            # The items passed over match nothing: anchors stay, a \b between the same two
            # characters is already known true, everything else is dropped.
            if first:
                skipped = [it for it in items[:j] if it[0] is C.AT and it[1] is not C.AT_BOUNDARY]
                alternatives.append([*skipped, edge_item, *items[j + 1:]])
            else:
                skipped = [it for it in items[j + 1:] if it[0] is C.AT and it[1] is not C.AT_BOUNDARY]
                alternatives.append([*items[:j], edge_item, *skipped])
        nullable = sets.nullable(op, av, flags)
        if nullable is None:
            raise NoRE2()
        if not nullable:
            break
    if not alternatives:
        return None
    if len(alternatives) == 1:
        return alternatives[0]
    return [(C.BRANCH, (None, [Seq(a) for a in alternatives]))]


def _restrict_item(op, av, flags: int, sets: Sets, mask: np.ndarray, word: bool, other_word: bool,
                   first: bool) -> Item | None:
    """One item's non-empty matches with the edge character in ``mask``; None if none."""
    if op in CHAR_NODES:
        kept = sets.char_mask(op, av, flags) & mask
        return (RANGES, sets.ranges_of(kept)) if kept.any() else None
    if op is C.SUBPATTERN:
        _, add, remove, body = av
        inner = (flags | add) & ~remove
        found = restrict(list(body.data), inner, sets, word, other_word, first)
        return None if found is None else (C.SUBPATTERN, (None, add, remove, Seq(found)))
    if op is C.BRANCH:
        found = [restrict(list(b.data), flags, sets, word, other_word, first) for b in av[1]]
        kept = [Seq(f) for f in found if f is not None]
        return (C.BRANCH, (None, kept)) if kept else None
    if op in REPEATS:
        lo, hi, body = av
        if hi == 0:
            return None
        if _sequence_nullable(list(body.data), flags, sets) is not False:
            raise NoRE2()  # an empty iteration could come before the one at the edge
        edge = restrict(list(body.data), flags, sets, word, other_word, first)
        if edge is None:
            return None
        rest = [] if hi == 1 else [(op, (max(lo - 1, 0), hi if hi == C.MAXREPEAT else hi - 1, body))]
        return (C.SUBPATTERN, (None, 0, 0, Seq(edge + rest if first else rest + edge)))
    raise NoRE2()


def _sequence_nullable(items: list, flags: int, sets: Sets) -> bool | None:
    """Can the sequence match empty (zero-width anchors count as empty)? None: not known."""
    for op, av in items:
        if op is C.AT:
            continue
        nullable = sets.nullable(op, av, flags)
        if nullable is not True:
            return nullable
    return True


def _empty_form(items: list, flags: int, sets: Sets) -> list:
    """What of a sequence that can match empty is left when it does: its anchors. A \\b
    among them is not worked out (NoRE2)."""
    kept = []
    for op, av in items:
        if op is C.AT:
            if av in (C.AT_BOUNDARY, C.AT_NON_BOUNDARY):
                raise NoRE2()
            kept.append((op, av))
    return kept
