"""`curate explain`: every line of one input with its verdict and reason."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from curate.stages.dedup.index import DedupIndex, deduplicate
from curate.document import Document, Problem
from curate.driver import DocumentProcessor
from curate.read import InputFile, read_documents
from curate.rules import RuleSet
from curate.stages.dedup.signature import DedupConfig


@dataclass(frozen=True)
class Verdict:
    line: int | None
    verdict: str  # "keep" | "drop" | "quarantine"
    reason: str
    text: str


def explain_file(file: InputFile, ruleset: RuleSet, dedup: DedupConfig, text_field: str = "text") -> Iterator[tuple[str, list[Verdict]]]:
    """(document id, verdicts in line order) for every document of the file.

    Duplicates are found within this file only: explain looks at one input, not the corpus.
    """
    processor = DocumentProcessor(ruleset, dedup)
    index = DedupIndex(dedup)
    for item in read_documents([file], text_field):
        if isinstance(item, Problem):
            yield file.source, [Verdict(item.line, "quarantine", item.problem, item.preview)]
            continue
        [doc] = processor.documents([item], {})
        processor.sign([doc], {})
        doc = deduplicate(doc, index)
        yield doc.id, verdicts(doc)


def verdicts(doc: Document) -> list[Verdict]:
    rows = [(line.index, Verdict(line.origin.line, "keep", _language(doc, line.index), line.raw)) for line in doc.lines]
    for removal in doc.removed:
        reason = removal.reason
        if removal.duplicate_of is not None:
            ref = removal.duplicate_of
            reason = f"duplicate of {ref.source}:{ref.line} ({removal.similarity:.2f})"
        rows.append((removal.line.index, Verdict(removal.line.origin.line, "drop", reason, removal.line.raw)))
    rows.sort(key=lambda r: r[0])
    out = [v for _, v in rows]
    out += [Verdict(p.line, "quarantine", p.problem, p.preview) for p in doc.problems]
    return out


def _language(doc: Document, index: int) -> str:
    label = doc.line_languages.get(index)
    return f"lang {label[0]}" if label else ""


def format_verdicts(verdicts: list[Verdict], width: int = 100) -> str:
    reason_width = max([len(v.reason) for v in verdicts] + [6])
    lines = []
    for v in verdicts:
        where = "" if v.line is None else str(v.line)
        text = v.text if len(v.text) <= width else v.text[: width - 1] + "…"
        lines.append(f"{where:>5}  {v.verdict:<10}  {v.reason:<{reason_width}}  {text}")
    return "\n".join(lines)
