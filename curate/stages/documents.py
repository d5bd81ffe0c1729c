"""Document rules: drop a whole document on a statistic of its kept text, or its language.

Runs after noise removal and language labelling, before dedup signs paragraphs, on the
lines still kept: the document as it would be written. The active document rules run in
rule order and the first that fires drops the document: every kept line goes to the
audit as removed by stage "documents", reason "doc:<rule>", so the accounting closes and
a dropped document never enters the dedup index (it has no lines left to sign).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, ClassVar

from curate.docstats import LANGUAGE, DocView, measure
from curate.document import Document, Reason
from curate.errors import RuleError, UsageError
from curate.language_codes import unknown_code_message, written_codes
from curate.rules import Rule, RuleSet
from curate.stages.base import Batch, Stage
from curate.summary import DOCUMENT_REASON, DOCUMENTS_STAGE

if TYPE_CHECKING:
    from curate.driver import RunConfig

STAGE = DOCUMENTS_STAGE


def _check_codes(rule: Rule, language_model: str) -> None:
    """Refuse a language rule that names a code the language model never writes: it would
    keep no document of that language (--keep-lang eng drops an English corpus whole)."""
    written = written_codes(language_model)
    unknown = [code for code in rule.languages if code not in written]
    if unknown:
        raise RuleError(rule.file or rule.source, unknown_code_message(unknown[0], language_model), rule.name)


def check_language_codes(ruleset: RuleSet, language_model: str) -> None:
    """Refuse the rule set's first active language rule that names a code the language
    model never writes (RuleError): what a run does before it reads, and `curate rules list`."""
    for rule in _rules_of(ruleset):
        if rule.stat == LANGUAGE:
            _check_codes(rule, language_model)


def view(doc: Document) -> DocView:
    """The document's kept lines, with a paragraph break wherever the writer puts one."""
    lines = doc.lines
    breaks = [nxt.gap_before or nxt.index != line.index + 1 for line, nxt in pairwise(lines)]
    breaks.append(True)
    return DocView(tuple(line.text for line in lines), tuple(breaks), doc.language, doc.language_score)


def verdict(rule: Rule, doc: DocView) -> str | None:
    """Why the rule drops the document (the measured value against its bound), or None."""
    if rule.stat == LANGUAGE:
        label = doc.language or "und"
        return None if label in rule.languages else f"labelled {label}"
    value = measure(rule.stat, doc, dict(rule.params))
    if rule.low is not None and value < rule.low:
        return f"{rule.stat} = {_show(value)} < min {_show(rule.low)}"
    if rule.high is not None and value > rule.high:
        return f"{rule.stat} = {_show(value)} > max {_show(rule.high)}"
    return None


def _show(value: float) -> str:
    # Rules refuse bounds that are not finite, but a statistic may still be one (inf, nan)
    return str(int(value)) if math.isfinite(value) and value == int(value) else f"{value:.4g}"


def judge(doc: Document, rules: list[Rule]) -> None:
    """Drop the document's kept lines if a rule fires on it (the first, in rule order)."""
    if not doc.lines:
        return  # nothing left to drop: a document emptied by earlier stages is not judged
    seen = view(doc)
    for rule in rules:
        why = verdict(rule, seen)
        if why is not None:
            reason = Reason(STAGE, f"{DOCUMENT_REASON}{rule.name}", f"{rule.reason} ({why})")
            doc.drop({line.index: reason for line in doc.lines})
            return


def rule_fires_text(rule: Rule, text: str) -> bool:
    """Does the rule drop this text, taken as a document? (A rule's examples.) The text is
    split, normalised and its Markdown read as a document's lines are; a language rule has
    it labelled first."""
    from curate.stages.noise import text_lines

    lines = text_lines(text, marks=True)
    doc = Document("example", "example", 1, lines)
    if rule.stat == LANGUAGE:
        from curate.stages.language import detect_languages

        detect_languages([doc])
    return verdict(rule, view(doc)) is not None if lines else False


@dataclass
class DocumentRules(Stage):
    """The active document rules of the rule set (--enable, --keep-lang)."""

    name: ClassVar[str] = STAGE
    rules: list[Rule] = field(default_factory=list)

    @classmethod
    def from_config(cls, cfg: RunConfig) -> DocumentRules:
        rules = _rules_of(cfg.ruleset)
        if any(rule.stat == LANGUAGE for rule in rules) and "language" not in cfg.stages:
            raise UsageError("a language rule (--keep-lang) needs the language stage, which this pipeline "
                             "leaves out; run `curate run`, or drop the language rule")
        check_language_codes(cfg.ruleset, cfg.language_model)
        return cls(rules)

    def __call__(self, batch: Batch) -> Batch:
        if self.rules:  # no rule on: the stage costs one attribute test per batch
            rules = self.rules
            for doc in batch.documents():
                judge(doc, rules)
        return batch


def _rules_of(ruleset: RuleSet) -> list[Rule]:
    return ruleset.document_rules
