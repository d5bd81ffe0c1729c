"""The run's register of document ids (curate.formats.ids): the problem before a reused id
names its first use, as a dict of every id would, for any chunking and with its sorted
runs spilled to disk."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from curate.discover import InputFile
from curate.document import Problem, RawDocument
from curate.formats import ids as ids_module
from curate.formats.ids import IdRegistry, with_id_problems

FILES = [InputFile(Path(f"/in/{name}"), name, 0) for name in ("a.jsonl", "b.jsonl", "c.jsonl")]


def _reference(entries: list[tuple[str, str, int | None, int]]) -> list[str | None]:
    """Where each id was first used ("source:line"), for each reuse; None for a first use."""
    first: dict[str, str] = {}
    out: list[str | None] = []
    for doc_id, _, line, number in entries:
        here = f"{FILES[number].source}:{line}" if line else FILES[number].source
        out.append(first.get(doc_id))
        first.setdefault(doc_id, here)
    return out


entries = st.lists(st.tuples(st.sampled_from(["x", "y", "z", "ü", "a" * 90, "0"]), st.integers(0, 2),
                             st.integers(1, 10**6) | st.none()), max_size=60)


@pytest.mark.unit
@given(found=entries, cuts=st.lists(st.integers(1, 7), min_size=1, max_size=5), budget=st.sampled_from([0, 1 << 20]))
def test_reused_ids_name_their_first_use_in_any_chunks_spilled_or_not(tmp_path_factory, found, cuts, budget):
    listed = [(doc_id, FILES[number].source, line, number) for doc_id, number, line in found]
    with mock.patch.object(ids_module, "BUDGET", budget):
        registry = IdRegistry(FILES, tmp_path_factory.mktemp("ids"))
        try:
            problems: list[Problem | None] = []
            at, k = 0, 0
            while at < len(listed):
                size = cuts[k % len(cuts)]
                problems += registry.check_many(listed[at:at + size])
                at, k = at + size, k + 1
        finally:
            registry.close()
    for (doc_id, source, line, _), problem, first in zip(listed, problems, _reference(listed), strict=True):
        if first is None:
            assert problem is None
        else:
            assert problem is not None and (problem.source, problem.line, problem.lines) == (source, line, 0)
            shown = doc_id if len(doc_id) <= 80 else doc_id[:79] + "…"
            assert problem.problem == f"duplicate id {shown!r}, first used at {first}"


@pytest.mark.unit
def test_a_readers_items_keep_their_order_with_each_reuse_problem_just_before_its_document(tmp_path):
    items: list[tuple[int, RawDocument | Problem]] = []
    for k in range(1300):  # three chunks of ids, and a problem of the reader's own among them
        items.append((0, RawDocument(id=f"doc{k % 1000}", source="a.jsonl", record_line=k + 1,
                                     payload=f"text {k}", size=8)))
        if k == 700:
            items.append((0, Problem("a.jsonl", 702, "not JSON", "fix it")))
    registry = IdRegistry(FILES, tmp_path)
    out = list(with_id_problems(items, registry))
    registry.close()
    documents = [item for item in out if isinstance(item, RawDocument)]
    assert documents == [item for _, item in items if isinstance(item, RawDocument)]
    reuses = [(n, item) for n, item in enumerate(out) if isinstance(item, Problem) and item.lines == 0]
    assert len(reuses) == 300
    for n, problem in reuses:
        following = out[n + 1]
        assert isinstance(following, RawDocument) and following.record_line == problem.line
        assert problem.problem.endswith(f"first used at a.jsonl:{following.record_line - 1000}")
    assert [item.problem for item in out if isinstance(item, Problem) and item.lines] == ["not JSON"]
