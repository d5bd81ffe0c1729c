"""The records that flow through the pipeline: nothing but data."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform, overload

_T = TypeVar("_T")


@overload
def record(cls: type[_T], /) -> type[_T]: ...
@overload
def record(*, frozen: bool = False) -> Callable[[type[_T]], type[_T]]: ...


# dataclass_transform tells type checkers that a @record class is a dataclass (fields,
# __init__, frozen): without it they see a plain class and reject every constructor call.
@dataclass_transform(field_specifiers=(field,))
def record(cls: type[_T] | None = None, *, frozen: bool = False) -> type[_T] | Callable[[type[_T]], type[_T]]:
    """A slotted dataclass that pickles as (class, field values).

    Records cross process boundaries (worker results) and go into resume checkpoints by
    the million; the pickling dataclasses generate for slotted classes looks up the
    fields on every call, which made pickling them several times slower than this."""

    def wrap(klass: type[_T]) -> type[_T]:
        # Any: the class gets a method after it is built, which no static type allows.
        built: Any = dataclass(frozen=frozen, slots=True)(klass)
        values = attrgetter(*(f.name for f in fields(built)))  # every record has 2+ fields: a tuple

        def __reduce__(self: object) -> tuple[type, tuple[object, ...]]:
            return built, values(self)

        built.__reduce__ = __reduce__
        return built

    return wrap if cls is None else wrap(cls)


@record(frozen=True)
class Origin:
    """Where a line came from.

    For a .txt file, ``byte_start:byte_end`` index the raw file and ``line`` is the
    1-based line of the file. For a JSONL record, ``line`` is the record's line in
    the file and the bytes index the UTF-8 encoding of the record's text field.
    """

    line: int
    byte_start: int
    byte_end: int


@record(frozen=True)
class Line:
    """One non-blank input line: its text as read and as normalised."""

    index: int  # position among the document's non-blank lines
    raw: str
    text: str  # what every stage reads (normalised; Markdown's marks rendered)
    origin: Origin
    gap_before: bool  # a blank line separated it from the previous line
    # What the output writes, where it is not ``text``: the tabs of a table's row, Markdown
    # as it was (normalise.py).
    shown: str | None = None


@record(frozen=True)
class Reason:
    """Why lines were removed: the stage, a reason code counted in the summary, and for a
    near-duplicate the kept paragraph it copies."""

    stage: str  # "normalise" | "noise" | "dedup"
    reason: str  # "rule:<name>" | "duplicate" | "empty-after-normalise"
    detail: str = ""  # the rule's own explanation, shown in the audit
    duplicate_of: ParagraphRef | None = None
    similarity: float | None = None
    score: float | None = None  # the line model's score that it is noise, when the model judged it


@record(frozen=True)
class Removal:
    """A removed line and why; made only by ``Document.drop``."""

    line: Line
    why: Reason

    @property
    def stage(self) -> str:
        return self.why.stage

    @property
    def reason(self) -> str:
        return self.why.reason

    @property
    def detail(self) -> str:
        return self.why.detail

    @property
    def duplicate_of(self) -> ParagraphRef | None:
        return self.why.duplicate_of

    @property
    def similarity(self) -> float | None:
        return self.why.similarity

    @property
    def score(self) -> float | None:
        return self.why.score


@record(frozen=True)
class ParagraphRef:
    """The kept paragraph a duplicate points at. ``against``: it is a paragraph of the
    earlier run whose index this run was given (--against), not of this run: crawls that
    reuse file names can hold a paragraph of each with the same doc, source, line and bytes."""

    doc: str
    source: str
    line: int
    byte_start: int
    byte_end: int
    against: bool = False


# What a folder walk leaves out on purpose: hidden names, curate's own output folders and
# the metadata files `datasets` writes beside a saved dataset's .arrow files, and the cache
# files its map() and filter() write there.
# Each is said in the quarantine, so nothing is skipped silently, but none is a reason for
# --strict to fail a run (`curate run . --strict` always has its own output folder inside).
HIDDEN_FILE = "hidden file skipped"
HIDDEN_FOLDER = "hidden folder skipped"
OWN_OUTPUT = "this run's output folder skipped"
OTHER_OUTPUT = "output folder of a curate run skipped"
DATASET_METADATA = "metadata of a Hugging Face dataset folder (save_to_disk) skipped"
DATASET_CACHE = "cache file of a Hugging Face dataset folder, not listed in its state.json: skipped"
# A Parquet dataset's _metadata and _common_metadata (Dask, Spark, pyarrow's
# write_metadata), met under --format parquet: the footers and schema of its part files,
# no rows of their own (formats/parquet.py).
PARQUET_SUMMARY = "summary file of a Parquet dataset skipped"
PARQUET_SUMMARY_NAMES = ("_metadata", "_common_metadata")
JOB_MARKER = "_SUCCESS"  # what Spark and Hadoop leave in a job's output folder once it finished
JOB_MARKER_SKIPPED = "marker file of a Spark or Hadoop job skipped"
# A file `curate run --timings FILE` wrote, met in a walk (curate.timings).
TIMINGS_SKIPPED = "timings file of a curate run skipped"
SKIPPED_BY_DESIGN = frozenset({HIDDEN_FILE, HIDDEN_FOLDER, OWN_OUTPUT, OTHER_OUTPUT, DATASET_METADATA,
                               DATASET_CACHE, PARQUET_SUMMARY, JOB_MARKER_SKIPPED, TIMINGS_SKIPPED})


@record(frozen=True)
class Problem:
    """An input that could not be read: a file, a record or a line."""

    source: str
    line: int | None
    problem: str
    action: str
    lines: int = 1  # how many input lines this problem accounts for
    byte_start: int | None = None
    byte_end: int | None = None
    preview: str = ""
    # What summary.json counts it under (problem_counts.by_kind), given where its text
    # starts with the input's own data (an id, a path); else found from the text
    # (summary.problem_kind).
    kind: str = ""


@record
class RawDocument:
    """A document as the reader found it, before it is split into lines."""

    id: str
    source: str  # path relative to the input root, with forward slashes
    record_line: int | None  # JSONL line number; None for a .txt file
    payload: bytes | str  # raw file bytes (.txt) or the decoded text field (JSONL)
    size: int  # bytes consumed from the input, for progress reporting
    metadata: dict[str, Any] | None = None  # the record's other fields, kept as they were read


@record
class Document:
    id: str
    source: str
    record_line: int | None
    lines: list[Line]  # kept lines, in input order
    removed: list[Removal] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    language: str | None = None  # set by the language stage; None when it did not run
    language_score: float = 0.0
    line_languages: dict[int, tuple[str, float]] = field(default_factory=dict)  # index -> (lang, score)
    lines_read: int = 0
    size: int = 0  # input bytes this document came from, for progress reporting
    encoding: str = "utf-8"  # what the byte spans of its lines are bytes of
    metadata: dict[str, Any] | None = None  # the input record's other fields (RawDocument.metadata)

    def drop(self, reasons: Mapping[int, Reason]) -> None:
        """Move the lines with these indices from ``lines`` into ``removed``, each with its
        reason: the one way every stage removes a line, so none is lost from the audit."""
        if not reasons:
            return
        kept = []
        for line in self.lines:
            why = reasons.get(line.index)
            if why is None:
                kept.append(line)
            else:
                self.removed.append(Removal(line, why))
        self.lines = kept
