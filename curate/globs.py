"""Inputs given as glob patterns: ``'crawl/*/wet/*.warc.wet.gz'``, ``'s3://bucket/dump/**/*.jsonl.zst'``.

A shell expands a local pattern before curate sees it, but not a quoted one, and no shell
expands a URL's: choosing some files of a bucket (one crawl's WET files among its WARC and
WAT files) needs the pattern read here. A pattern is cut at its first segment with a
wildcard: the folder before it is walked as any input folder is (sorted, hidden names
and curate outputs skipped, the same problems said), and only what the rest matches is
taken: ``*`` and ``?`` within one segment, ``[...]`` a character class (``[!...]`` its
complement), ``**`` any number of segments; as in a shell, none of them matches a hidden
name (one starting with ".") unless the segment starts with "." itself. In an http(s) URL,
``?`` starts its query (a presigned URL's ``?X-Amz-Signature=...``), which is sent as it
is, never matched: only the URL's path may hold wildcards. A folder the
pattern matches is taken whole, as the shell's expansion of it would be walked. Sources
are relative to that folder (summary.json's ``folder`` of the input). A curate output
folder is entered only for its corpus/, when the pattern names ``corpus`` right below it
(``'runs/*/corpus/*.jsonl'``, as the shell's expansion would be read).
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass

from curate.errors import UsageError

_MAGIC = re.compile(r"[*?[]")


@dataclass(frozen=True)
class Glob:
    """An input pattern: the folder walked, and the pattern its files' relative paths match."""

    root: str  # a local path or a URL, as given up to the first segment with a wildcard
    pattern: str

    def takes(self, relative: str) -> bool:
        """Is the file (its path under ``root``, "/"-separated) one the pattern takes: it,
        or a folder it is in, matches?"""
        return _match((*self._segments, "**"), tuple(relative.split("/")), partial=False)

    def may_hold(self, relative: str) -> bool:
        """Could the folder (its path under ``root``) hold a file the pattern takes?"""
        return _match((*self._segments, "**"), tuple(relative.split("/")), partial=True)

    def names_below(self, relative: str, name: str) -> bool:
        """Does the pattern go from the folder (its path under ``root``, which it may hold)
        into ``name`` by that very name: no ``**`` up to there, so its segments are the
        folder's, and the next one is ``name`` itself (``'runs/*/corpus/*.jsonl'`` names
        ``corpus`` below ``runs/a``)?"""
        depth = len(relative.split("/"))
        return len(self._segments) > depth and self._segments[depth] == name and \
            "**" not in self._segments[:depth]

    @functools.cached_property
    def _segments(self) -> tuple[str, ...]:
        return tuple(self.pattern.split("/"))


def as_glob(given: str) -> Glob | None:
    """The input as a Glob, or None when it has no wildcard or names an existing local path
    (a file may be called ``*.txt``)."""
    if not _MAGIC.search(_path_part(given)) or ("://" not in given and os.path.lexists(given)):
        return None
    if _path_part(given) != given:  # a web URL's pattern, with a query: no listing could match it
        raise UsageError(f"{given}: a pattern in a URL with a query string ('?...') or '#', which curate cannot "
                         "match against a web server's listing; give each URL in full (--inputs-from FILE takes "
                         "a list)")
    parts = given.split("/")
    first = next(k for k, part in enumerate(parts) if _MAGIC.search(part))
    root = "/".join(parts[:first])
    if not root:
        root = "/" if given.startswith("/") else "."
    elif root.endswith(":/"):  # "s3://bucket" was cut at its "//"
        raise UsageError(f"{given}: a bucket's name cannot be a pattern; put the wildcards after it")
    return Glob(root, "/".join(part for part in parts[first:]))


def _path_part(given: str) -> str:
    """The input up to an http(s) URL's query or fragment: ``?`` and what follows it in a
    web URL are its query (a presigned URL's ``?X-Amz-Signature=...``), no wildcard; a
    ``#`` starts its fragment. Any other input, whole."""
    if re.match(r"https?://", given, re.IGNORECASE):
        return re.split(r"[?#]", given, maxsplit=1)[0]
    return given


def _match(pattern: tuple[str, ...], path: tuple[str, ...], partial: bool) -> bool:
    """Do the path's segments match the pattern's (``partial``: the path may end before
    the pattern does)?"""
    if not pattern:
        return not path
    if not path:
        return partial or all(segment == "**" for segment in pattern)
    if pattern[0] == "**":  # as a shell's, it does not go into hidden folders
        return _match(pattern[1:], path, partial) or (not path[0].startswith(".") and _match(pattern, path[1:],
                                                                                              partial))
    return _segment(pattern[0]).fullmatch(path[0]) is not None and _match(pattern[1:], path[1:], partial)


@functools.lru_cache(maxsize=256)
def _segment(segment: str) -> re.Pattern[str]:
    """One segment's wildcards as a regular expression of one path segment."""
    out, k = [], 0
    while k < len(segment):
        char = segment[k]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and (end := segment.find("]", k + 2 if segment[k + 1:k + 2] in ("!", "]") else k + 1)) > 0:
            inner = segment[k + 1:end]
            negate = inner.startswith("!")
            inner = inner[1:] if negate else inner
            out.append("[" + ("^" if negate else "") + inner.replace("\\", "\\\\").replace("^", "\\^") + "]")
            k = end
        else:
            out.append(re.escape(char))
        k += 1
    # As in a shell, a wildcard does not match a hidden name's leading dot: ".*" does.
    hidden = "" if segment.startswith(".") else r"(?!\.)"
    return re.compile(hidden + "".join(out), re.DOTALL)
