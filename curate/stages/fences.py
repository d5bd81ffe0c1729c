"""Markdown's fenced code blocks: the lines from a fence of three or more backticks or
tildes to the fence that closes it are code. Scrapers that write Markdown (and the
documentation pages of a corpus) put code there and nowhere else, and a code block is
whole or it is broken: no rule reads its lines as chrome or prose, no line of it is
removed alone, and its spacing (indentation, alignment) is the code's, which
normalising keeps."""

from __future__ import annotations

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
    must not make the rest of a page code)."""
    blocks: list[tuple[int, int]] = []
    k = 0
    while k < len(lines):
        raw = lines[k].raw
        opening = _OPENING.match(raw) if ("`" in raw or "~" in raw) else None  # memchr first: most lines have neither
        if opening is None:
            k += 1
            continue
        fence = opening.group(1)
        end = next((j for j in range(k + 1, len(lines)) if _closes(lines[j].raw, fence)), None)
        if end is None:
            k += 1
            continue
        blocks.append((k, end))
        k = end + 1
    return blocks


def _closes(raw: str, fence: str) -> bool:
    text = raw.strip()
    return len(text) >= len(fence) and text == fence[0] * len(text)


def code_positions(lines: Sequence[Line]) -> set[int]:
    """Positions in ``lines`` of every line of a fenced code block, fences included."""
    return {k for first, last in fenced_blocks(lines) for k in range(first, last + 1)}
