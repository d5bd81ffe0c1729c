"""Counts of what happened to every document and line, and the table printed at the end."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

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


DOCUMENTS_STAGE = "documents"  # the stage of the document rules, as settings.stages names it
DOCUMENT_REASON = "doc:"  # the reason prefix of the lines a document rule drops (stages.documents)


def _by_count(counts: Counter) -> dict:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


@dataclass
class Summary:
    files: int = 0
    documents_read: int = 0
    documents_written: int = 0  # documents that keep at least one line
    documents_emptied: int = 0  # read, but every line was removed
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

    def add_document(self, doc: Document) -> None:
        self.add_tally(doc.lines_read, len(doc.lines), [removal.reason for removal in doc.removed], doc.problems)

    def add_tally(self, lines_read: int, lines_kept: int, removed: Iterable[str], problems: Iterable[Problem]) -> None:
        """Count a document from its figures (what a worker sends instead of the document)."""
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
        for problem in problems:
            self.add_problem(problem, counted_in_document=True)
        if lines_kept:
            self.documents_written += 1
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
        }

    def table(self) -> str:
        rows = [
            ("files", self.files),
            ("documents read", self.documents_read),
            ("documents written", self.documents_written),
            ("documents emptied (every line removed)", self.documents_emptied),
            *([("  of which dropped by document rules", sum(self.dropped.values()))] if self.dropped else []),
            *[(f"    {rule}", n) for rule, n in _by_count(self.dropped).items()],
            ("lines read (non-blank)", self.lines_read),
            ("lines kept", self.lines_kept),
            ("lines removed", self.lines_removed),
        ]
        rows += [(f"  {reason}", n) for reason, n in sorted(self.removed.items(), key=lambda kv: (-kv[1], kv[0]))]
        rows.append(("lines quarantined", self.lines_quarantined))
        rows.append(("problems (see quarantine.jsonl)", self.problems_total))
        width = max(len(label) for label, _ in rows)
        return "\n".join(f"{label:<{width}}  {value:>10,}" for label, value in rows)
