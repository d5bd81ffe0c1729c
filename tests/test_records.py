"""The pipeline's records: slotted dataclasses that pickle as (class, field values), so a
worker's results and a checkpoint hold exactly the fields and nothing else."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from curate.document import Document, Line, Origin, ParagraphRef, Problem, Reason, Removal

pytestmark = pytest.mark.unit

ORIGIN = Origin(3, 10, 42)
LINE = Line(2, "  Caf\u00c3\u00a9 au lait ", "Caf\u00e9 au lait", ORIGIN, True)
REF = ParagraphRef("doc-a", "a.txt", 7, 100, 180)
EVERY_KIND = [
    ORIGIN,
    LINE,
    Reason("dedup", "duplicate", "near-duplicate", REF, 0.8516),
    Removal(LINE, Reason("dedup", "duplicate", "near-duplicate", REF, 0.8516)),
    REF,
    Problem("b.jsonl", 4, "invalid JSON", "record skipped", 1, 120, 160, "{not json"),
]


@pytest.mark.parametrize("value", EVERY_KIND, ids=lambda v: type(v).__name__)
def test_a_record_pickles_to_an_equal_record(value):
    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        assert pickle.loads(pickle.dumps(value, protocol)) == value
    assert value.__reduce__() == (type(value), tuple(getattr(value, f.name) for f in dataclasses.fields(value)))


@pytest.mark.parametrize("value", EVERY_KIND, ids=lambda v: type(v).__name__)
def test_records_are_slotted_and_frozen(value):
    assert not hasattr(value, "__dict__")
    first = dataclasses.fields(value)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, first, getattr(value, first))


def test_a_document_keeps_its_lists_apart_and_pickles_whole():
    doc = Document("d", "d.txt", None, [LINE], lines_read=3, size=50, encoding="cp1252")
    other = Document("e", "e.txt", 2, [])
    doc.drop({LINE.index: Reason("noise", "rule:byline", "byline")})
    assert doc.lines == [] and doc.removed == [Removal(LINE, Reason("noise", "rule:byline", "byline"))]
    assert other.removed == [] and other.problems == []  # no list shared between documents
    copy = pickle.loads(pickle.dumps(doc, pickle.HIGHEST_PROTOCOL))
    assert copy == doc and copy.removed is not doc.removed
    assert not hasattr(doc, "__dict__")
