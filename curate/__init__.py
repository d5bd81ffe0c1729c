"""curate: turn noisy scraped text into a clean, deduplicated, traceable corpus.

The Python API (curate/api.py): ``curate.clean_text``, ``curate.process``, ``curate.run``
and ``curate.ruleset``.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = ("Cleaned", "clean_text", "process", "ruleset", "run")


def __getattr__(name: str) -> Any:
    # The API is imported on first use: `curate --help` and every worker import this
    # package, and need none of the pipeline's modules for it.
    if name in _API:
        from curate import api

        return getattr(api, name)
    raise AttributeError(f"module 'curate' has no attribute {name!r}")
