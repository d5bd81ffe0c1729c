"""Counts of what happened to every document and line, and the table printed at the end."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from curate.document import SKIPPED_BY_DESIGN, Document, Problem

# The summary lists the first problems and counts the rest by kind: every finished chunk
# saves the summary, so a list of every problem made checkpoints grow with the square of
# their number (300k bad lines: 3 GB of checkpoints, a 70 MB summary.json). Each problem
# is in quarantine.jsonl anyway.
PROBLEMS_LISTED = 100
PROBLEM_KINDS = 100  # beyond that many kinds, the rest count as "other"
OTHER_KIND = "other"
_KIND_END = re.compile(r"[:(]")
# A number standing alone ("8", "12,345"), not one inside a name ("UTF-16-LE", "part2.jsonl").
_NUMBER = re.compile(r"(?<![\w.-])\d+(?:,\d{3})*(?![\w.-])")


def problem_kind(problem: str) -> str:
    """What kind of problem, without its particulars: the text before the first ':' or
    '(', numbers as N ("invalid JSON: Expecting value: ..." -> "invalid JSON"; "row has 3
    fields where the header has 2" -> "row has N fields where the header has N"). A
    problem whose text starts with the input's own data (a duplicate id) names its kind
    itself (Problem.kind): each id would be a kind of its own, and shards that repeat
    their ids filled the table, leaving every other problem to "other"."""
    kind = _NUMBER.sub("N", _KIND_END.split(problem, 1)[0]).strip()
    return kind[:80] or OTHER_KIND


# A JSON Lines corpus's metadata fields and the JSON types their values have: datasets,
# polars and pyarrow.dataset type a field by the first shard they read and fail on a later
# shard whose values have another type (4 then 4.5: "Float value 4.5 was truncated
# converting to int64"), or turn them into the first's without a word (True then 3 reads
# 3 as True). Null goes with any type. Kept per field, not per document: each field's
# first type and, once another comes, that one, each with the document that had it first.
TYPES_CHECKED = 10_000  # the fields whose types are followed; a corpus with more has no fixed columns anyway
_SIGNATURES_KEPT = 1_024  # documents' field types remembered, so that one like an earlier one costs a lookup
_JSON_TYPES: dict[type, str | None] = {str: "string", int: "integer", float: "float", bool: "boolean",
                                       dict: "object", list: "array", type(None): None}
# A field and the JSON type of its value in one document (None: null), in the record's order.
Signature = tuple[tuple[str, str | None], ...]


def metadata_types(metadata: dict[str, Any]) -> Signature:
    """The JSON type of each field's value as the corpus writes it (NaN and the infinities
    are written as null)."""
    return tuple((name, _json_type(value)) for name, value in metadata.items())


def written_types(doc: Document) -> tuple[Signature, str, int | None] | None:
    """A document's metadata types and where it is (Summary.add_types), if the corpus
    writes it with metadata; None if it writes no record or one without."""
    return (metadata_types(doc.metadata), doc.source, doc.record_line) if doc.lines and doc.metadata else None


def _json_type(value: Any) -> str | None:
    kind = _JSON_TYPES.get(type(value), "other")
    if kind == "float" and not math.isfinite(value):
        return None
    return kind


def type_warning(name: str, types: tuple[str, ...]) -> str:
    """What summary.json and the terminal say of a metadata field of two types."""
    first, first_at, second, second_at = types
    return (f"metadata field {name!r} holds {first} values ({first_at}) and {second} values ({second_at}): "
            "a JSON Lines corpus of several shards may then fail to load with datasets, polars or pyarrow "
            "(they type a field by its first shard); write it with --output-format parquet, whose metadata "
            "is one JSON text column, or make the field's values one type in the input")


DOCUMENTS_STAGE = "documents"  # the stage of the document rules, as settings.stages names it
DOCUMENT_REASON = "doc:"  # the reason prefix of the lines a document rule drops (stages.documents)


def _by_count(counts: Counter) -> dict:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


@dataclass
class Summary:
    files: int = 0
    # documents_read = documents_written + documents_emptied + documents_quarantined
    # Documents read: a record or file that could not be read as one (invalid JSON, a
    # stream that broke) is a problem (problem_counts), not a document: which of the
    # readers' problems stand for one record, and which for a file's fault or a note, no
    # count could tell without each reader saying so.
    documents_read: int = 0
    documents_written: int = 0  # documents that keep at least one line
    documents_emptied: int = 0  # none kept, and at least one line removed (the audit has it)
    # None kept or removed: every line quarantined (a binary or whitespace-only .txt).
    documents_quarantined: int = 0
    lines_read: int = 0
    lines_kept: int = 0
    lines_quarantined: int = 0
    removed: Counter = field(default_factory=Counter)  # reason -> lines
    problems: list[Problem] = field(default_factory=list)  # the first PROBLEMS_LISTED
    problems_total: int = 0
    skipped_by_design: int = 0  # problems that are only a note (hidden names, output folders)
    problem_kinds: Counter = field(default_factory=Counter)  # problem_kind -> problems
    rules: list = field(default_factory=list)  # the RuleFile of every rule file loaded
    settings: dict = field(default_factory=dict)  # options that shape the output (never --workers)
    items_done: int = 0  # documents and problems handled, for resuming
    inputs: list = field(default_factory=list)  # the InputRoot of every input, in the order given
    against: dict | None = None  # the earlier run's index deduplicated against (--against)
    dropped: Counter = field(default_factory=Counter)  # document rule -> documents it dropped
    # Whether the corpus is JSON Lines, whose readers type a field by its first shard.
    check_types: bool = False
    # field -> (its first JSON type, "source:line" of the first document with it), and
    # once a document gives it another type, that type and where too (the first conflict).
    field_types: dict[str, tuple[str, ...]] = field(default_factory=dict)
    seen_signatures: set[Signature] = field(default_factory=set, repr=False)

    def add_types(self, signature: Signature, source: str, line: int | None) -> None:
        """Follow the types of a written document's metadata fields, in output order, so
        the first conflict is the same whatever the workers or engine."""
        if signature in self.seen_signatures:  # an earlier document had these types: nothing new
            return
        if len(self.seen_signatures) >= _SIGNATURES_KEPT:
            self.seen_signatures.clear()
        self.seen_signatures.add(signature)
        types = self.field_types
        for name, kind in signature:
            if kind is None:
                continue
            known = types.get(name)
            if known is None:
                if len(types) < TYPES_CHECKED:
                    types[name] = (kind, source if line is None else f"{source}:{line}")
            elif len(known) == 2 and known[0] != kind:
                types[name] = (*known, kind, source if line is None else f"{source}:{line}")

    def __getstate__(self) -> dict:
        # A finished chunk saves the summary (write.py): the signatures seen are a cache of
        # up to 1,024 documents' field types, not worth a place in every checkpoint.
        return {**self.__dict__, "seen_signatures": set()}

    @property
    def warnings(self) -> list[str]:
        """What the run says beside its problems: metadata fields of two JSON types in a
        JSON Lines corpus, in the order the fields first appear in it."""
        return [type_warning(name, types) for name, types in self.field_types.items() if len(types) == 4]

    def add_document(self, doc: Document) -> None:
        self.add_tally(doc.lines_read, len(doc.lines), [removal.reason for removal in doc.removed], doc.problems,
                       written_types(doc) if self.check_types else None)

    def add_tally(self, lines_read: int, lines_kept: int, removed: Iterable[str], problems: Iterable[Problem],
                  types: tuple[Signature, str, int | None] | None = None) -> None:
        """Count a document from its figures (what a worker sends instead of the document),
        and ``types``, its metadata fields' JSON types and where it is, when it is written."""
        if types is not None and self.check_types:
            self.add_types(*types)
        self.documents_read += 1
        self.lines_read += lines_read
        self.lines_kept += lines_kept
        last = ""
        for reason in removed:
            self.removed[reason] += 1
            last = reason
        # A document rule drops what is left of a document last, and nothing comes after it.
        if last.startswith(DOCUMENT_REASON):
            self.dropped[last[len(DOCUMENT_REASON):]] += 1
        quarantined = False
        for problem in problems:
            self.add_problem(problem, counted_in_document=True)
            quarantined = True
        if lines_kept:
            self.documents_written += 1
        elif quarantined and not last:  # none kept, none removed: nothing of it is in the corpus or the audit
            self.documents_quarantined += 1
        else:
            self.documents_emptied += 1

    def add_problem(self, problem: Problem, counted_in_document: bool = False) -> None:
        """Record a problem; its lines count as read unless its document already counted them."""
        self.problems_total += 1
        self.skipped_by_design += problem.problem in SKIPPED_BY_DESIGN
        if len(self.problems) < PROBLEMS_LISTED:
            self.problems.append(problem)
        kind = problem.kind or problem_kind(problem.problem)
        if kind not in self.problem_kinds and len(self.problem_kinds) >= PROBLEM_KINDS:
            kind = OTHER_KIND
        self.problem_kinds[kind] += 1
        self.lines_quarantined += problem.lines
        if not counted_in_document:
            self.lines_read += problem.lines

    @property
    def lines_removed(self) -> int:
        return sum(self.removed.values())

    def to_json(self) -> dict:
        return {
            "files": self.files,
            # Where each source is: a source is its root's label and "/" and a path in the
            # root, or (label "") the path alone.
            "inputs": [root.to_json() for root in self.inputs],
            # A removed copy whose duplicate_of says "against": true points into this index.
            **({"against": self.against} if self.against is not None else {}),
            "documents": {
                "read": self.documents_read,
                "written": self.documents_written,
                "emptied": self.documents_emptied,
                "quarantined": self.documents_quarantined,
                # Whenever a document rule is on (the documents stage runs: settings_of), even
                # one that dropped nothing, as docs/output.md says; without one it is left
                # out, so that other runs' summaries stay as they were.
                **({"dropped_by_rule": _by_count(self.dropped)}
                   if self.dropped or DOCUMENTS_STAGE in self.settings.get("stages", ()) else {}),
            },
            "lines": {
                "read": self.lines_read,
                "kept": self.lines_kept,
                "removed": self.lines_removed,
                "quarantined": self.lines_quarantined,
            },
            "removed_by_reason": dict(sorted(self.removed.items(), key=lambda kv: (-kv[1], kv[0]))),
            "problems": [
                {"source": p.source, "line": p.line, "problem": p.problem, "action": p.action}
                for p in self.problems
            ],
            "problem_counts": {
                "total": self.problems_total,
                "listed": len(self.problems),
                "by_kind": dict(sorted(self.problem_kinds.items(), key=lambda kv: (-kv[1], kv[0]))),
                "all_in": "quarantine.jsonl",
            },
            # Named the same on every machine and however the folders were spelled, with a
            # hash of the content: ./rules/ is read from the working directory unnamed.
            "rules": [{"origin": f.origin, "file": f.path, "sha256": f.sha256, "rules": f.rules} for f in self.rules],
            "settings": self.settings,
            # Only when there is one, so that other runs' summaries stay as they were.
            **({"warnings": warnings} if (warnings := self.warnings) else {}),
        }

    def table(self) -> str:
        rows = [
            ("files", self.files),
            ("documents read", self.documents_read),
            ("documents written", self.documents_written),
            ("documents emptied (every line removed)", self.documents_emptied),
            *([("  of which dropped by document rules", sum(self.dropped.values()))] if self.dropped else []),
            *[(f"    {rule}", n) for rule, n in _by_count(self.dropped).items()],
            ("documents quarantined (nothing kept or removed)", self.documents_quarantined),
            ("lines read (non-blank)", self.lines_read),
            ("lines kept", self.lines_kept),
            ("lines removed", self.lines_removed),
        ]
        rows += [(f"  {reason}", n) for reason, n in sorted(self.removed.items(), key=lambda kv: (-kv[1], kv[0]))]
        rows.append(("lines quarantined", self.lines_quarantined))
        rows.append(("problems (see quarantine.jsonl)", self.problems_total))
        width = max(len(label) for label, _ in rows)
        return "\n".join(f"{label:<{width}}  {value:>10,}" for label, value in rows)
