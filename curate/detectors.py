"""Detectors: noise that no single-line pattern can name, found from the page's shape.

A detector is code with parameters; a rule file turns it on under a name:

    [[rule]]
    name = "menu-run"
    reason = "run of short link-like lines (menu, tag cloud)"
    scope = "page"
    detector = "link-run"
    params = { min_lines = 4, max_words = 4 }

Each detector is a frozen dataclass whose fields are its parameters (with defaults),
and whose ``hits(lines)`` returns the indices of the lines it recognises.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from curate.document import Line

DETECTORS: dict[str, type] = {}

_TERMINAL = re.compile(r"[.!?…:;\"'”’»)\]]$")
_LETTER = re.compile(r"[^\W\d_]")


def detector(name: str) -> Callable[[type], type]:
    def register(cls: type) -> type:
        DETECTORS[name] = cls
        return cls

    return register


def build_detector(name: str, params: dict):
    """Instantiate a detector from a rule's params; ValueError says what is wrong and what is allowed."""
    if name not in DETECTORS:
        raise ValueError(f"unknown detector {name!r}; choose from: {', '.join(sorted(DETECTORS))}")
    cls = DETECTORS[name]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in params.items():
        if key not in fields:
            raise ValueError(f"detector {name!r} has no parameter {key!r}; its parameters: {', '.join(fields)}")
        kind = type(fields[key].default)
        # TOML integers are fine where a float is expected; bools are never numbers.
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok, params = True, {**params, key: float(value)}
        if not ok:
            raise ValueError(f"parameter {key!r} of detector {name!r} must be a {kind.__name__}")
    return cls(**params)


def words(text: str) -> int:
    return text.count(" ") + 1


def is_link_like(text: str, max_words: int) -> bool:
    """Short, not a sentence: what menu items, tags and link lists look like."""
    return words(text) <= max_words and not _TERMINAL.search(text) and bool(_LETTER.search(text))


@detector("link-run")
@dataclasses.dataclass(frozen=True)
class LinkRun:
    """Runs of at least ``min_lines`` consecutive short lines without sentence punctuation:
    menus, tag clouds, link lists. A run may cross blank lines (menus have headings)."""

    min_lines: int = 4
    max_words: int = 4

    def hits(self, lines: list[Line]) -> set[int]:
        found: set[int] = set()
        run: list[int] = []
        for line in lines + [None]:  # type: ignore[list-item]
            if line is not None and is_link_like(line.text, self.max_words):
                run.append(line.index)
                continue
            if len(run) >= self.min_lines:
                found.update(run)
            run = []
        return found
