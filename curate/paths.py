"""Where one local path lies against another, as the input and output checks read it:
the same spelling rules for discover (inputs, the output folder) and for --against's index."""

from __future__ import annotations

import os
from pathlib import Path


def inside(child: str, parent: str, sep: str = os.sep) -> bool:
    """``child`` is ``parent`` or below it (``sep``: "/" for URLs); a trailing separator
    does not count."""
    child = child.rstrip(sep) or child
    return child == parent.rstrip(sep) or child.startswith(parent.rstrip(sep) + sep)


def spellings(path: Path) -> tuple[str, str]:
    """The path as given (made absolute) and with every symlink resolved: a walk reaches
    files by the first, the disk holds them at the second."""
    return os.path.abspath(path), os.path.realpath(path)
