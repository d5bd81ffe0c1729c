"""Markdown's fenced code blocks: the lines from a fence of three or more backticks or
tildes to the fence that closes it are code. Scrapers that write Markdown (and the
documentation pages of a corpus) put code there and nowhere else, and a code block is
whole or it is broken: no rule reads its lines as chrome or prose, no line of it is
removed alone, and its spacing (indentation, alignment) is the code's, which
normalising keeps."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from curate.document import Line

# An opening fence: ``` or ~~~ (three or more), perhaps indented (a block inside a list
# item), perhaps followed by the language ("```yaml"); a fence of backticks has none in
# its info string (CommonMark: "``` a ` b" is inline code, not a fence).
_OPENING = re.compile(r"\s*(`{3,}(?=[^`]*$)|~{3,})")


def fenced_blocks(lines: Sequence[Line]) -> list[tuple[int, int]]:
    """(first, last) positions in ``lines`` of each fenced code block, its two fences
    included. A fence closes on a line of the same character, at least as long, and
    nothing else; an opening fence that nothing closes opens no block (a stray fence
    must not make the rest of a page code).

    Linear in the lines, hostile pages too: whether anything closes an opening fence is
    looked up (the last line of each fence length), so a scan forward only runs to a
    closing fence that is there, and the next opening fence is looked for past it."""
    openers: list[tuple[int, str]] = []
    closers: dict[str, list[tuple[int, int]]] = {"`": [], "~": []}  # char: (length, position)
    for k, line in enumerate(lines):
        raw = line.raw
        if "`" not in raw and "~" not in raw:  # memchr first: most lines have neither
            continue
        opening = _OPENING.match(raw)
        if opening is not None:
            openers.append((k, opening.group(1)))
        text = raw.strip()
        if len(text) >= 3 and text[0] in closers and text == text[0] * len(text):
            closers[text[0]].append((len(text), k))
    if not openers:
        return []
    last_at_least = {char: _last_at_least(found) for char, found in closers.items()}
    blocks: list[tuple[int, int]] = []
    after = 0  # openers inside a block found already are its text
    for k, fence in openers:
        if k < after:
            continue
        lengths, last = last_at_least[fence[0]]
        at = bisect.bisect_left(lengths, len(fence))
        if at == len(lengths) or last[at] <= k:
            continue  # nothing closes it
        end = next(j for j in range(k + 1, len(lines)) if _closes(lines[j].raw, fence))
        blocks.append((k, end))
        after = end + 1
    return blocks


def _last_at_least(closers: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """(the closing fences' lengths, ascending; for each, the last position of a closing
    fence at least that long)."""
    ordered = sorted(closers)
    lengths = [length for length, _ in ordered]
    last = [position for _, position in ordered]
    for n in range(len(last) - 2, -1, -1):
        last[n] = max(last[n], last[n + 1])
    return lengths, last


def _closes(raw: str, fence: str) -> bool:
    text = raw.strip()
    return len(text) >= len(fence) and text == fence[0] * len(text)


def code_positions(lines: Sequence[Line]) -> set[int]:
    """Positions in ``lines`` of every line of a fenced code block, fences included."""
    return {k for first, last in fenced_blocks(lines) for k in range(first, last + 1)}
