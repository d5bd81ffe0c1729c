"""`curate explain`: every line of one input with its verdict and reason."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curate.discover import discover
from curate.document import Document, Problem
from curate.driver import MemoryOutput, RunConfig, plan, run
from curate.rules import RuleSet
from curate.stages.dedup.signature import DedupConfig
from curate.terminal import shown


@dataclass(frozen=True)
class Verdict:
    line: int | None
    verdict: str  # "keep" | "drop" | "quarantine"
    reason: str
    text: str
    action: str = ""  # a quarantined line's: what happened and what to do, as run prints it


class Collector(MemoryOutput):
    """The driver's output for explain: every item's verdicts, in memory, nothing on disk."""

    def __init__(self) -> None:
        self.results: list[tuple[str, list[Verdict]]] = []

    def write_document(self, doc: Document) -> None:
        self.results.append((doc.id, verdicts(doc)))

    def write_problem(self, problem: Problem) -> None:
        # Named as a document is, with its line: "many.jsonl:3" (a record), "b.txt" (a file).
        where = problem.source if problem.line is None else f"{problem.source}:{problem.line}"
        self.results.append((where, [Verdict(problem.line, "quarantine", problem.problem, problem.preview,
                                             problem.action)]))


def explain_file(file: Path, ruleset: RuleSet, dedup: DedupConfig | None = None,
                 **settings: Any) -> list[tuple[str, list[Verdict]]]:
    """(document id, verdicts in line order) for every document of the file: the driver's
    run of `curate run` on this one file, collected instead of written. ``settings``: the
    other RunConfig fields that change a verdict (text_field, input_format, encoding, the
    --max-* limits, site, language_model, against), as `curate run` sets them from its options.

    Duplicates are found within this file only (and in the index of ``against``, an earlier
    run's): explain looks at one input, not the corpus.
    """
    cfg = RunConfig(inputs=(file,), output=Path("-"), ruleset=ruleset, dedup=dedup or DedupConfig(), **settings)
    collector = Collector()
    # Nothing is written, so there is no output folder to keep out of the discovery.
    run(plan(cfg, discover([file], options=cfg.read_options)), output=collector)
    return collector.results


def verdicts(doc: Document) -> list[Verdict]:
    """The document's lines and problems in the order of the input: a line quarantined
    within a .txt file (not valid UTF-8, too long) was listed after all the others. Sorted
    by source line, then a line before a problem on the same line (a JSONL record's lines
    all carry the record's line), then in the order they were read; a problem that names no
    line goes last."""
    rows = [((False, line.origin.line, 0, line.index),
             Verdict(line.origin.line, "keep", _language(doc, line.index), line.raw)) for line in doc.lines]
    for removal in doc.removed:
        reason = removal.reason
        if removal.duplicate_of is not None:
            ref = removal.duplicate_of
            reason = f"duplicate of {ref.source}:{ref.line} ({removal.similarity:.2f})"
        rows.append(((False, removal.line.origin.line, 0, removal.line.index),
                     Verdict(removal.line.origin.line, "drop", reason, removal.line.raw)))
    for k, p in enumerate(doc.problems):
        rows.append(((p.line is None, p.line or 0, 1, k),
                     Verdict(p.line, "quarantine", p.problem, p.preview, p.action)))
    rows.sort(key=lambda r: r[0])
    return [v for _, v in rows]


def _language(doc: Document, index: int) -> str:
    label = doc.line_languages.get(index)
    return f"lang {label[0]}" if label else ""


def format_verdicts(verdicts: list[Verdict], width: int = 100) -> str:
    """The verdicts as lines for the terminal. The text and the reason (which may name a
    source, or quote an id) come from the data: shown (terminal.py) before they are
    measured, so the columns line up and --width bounds what the terminal prints."""
    reasons = [shown(v.reason) + (f" ({shown(v.action)})" if v.action else "") for v in verdicts]
    reason_width = max([len(reason) for reason in reasons] + [6])
    lines = []
    for v, reason in zip(verdicts, reasons, strict=True):
        where = "" if v.line is None else str(v.line)
        text = shown(v.text)
        text = text if len(text) <= width else text[: width - 1] + "…"
        lines.append(f"{where:>5}  {v.verdict:<10}  {reason:<{reason_width}}  {text}")
    return "\n".join(lines)
