"""The report's parts, in process: cluster order, chart bytes, sampling notes."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from curate.report.clusters import ClusterIndex, paragraph_key
from curate.report.figures import _Samples
from curate.report.page import _flat, _top

pytestmark = pytest.mark.unit


def _copy(kept_line: int, line: int) -> dict:
    kept = {"doc": "d", "source": "s", "line": kept_line, "bytes": [0, 10]}
    return {"stage": "dedup", "reason": "duplicate", "doc": "d", "source": "s", "line": line, "bytes": [0, 10],
            "duplicate_of": kept, "similarity": 1.0, "removed": "x"}


def test_clusters_largest_first_then_by_their_first_copy():
    index = ClusterIndex()
    # kept paragraph 1: copies at offsets 50, 10; paragraph 2: 20, 30, 40; paragraph 3: 5 (and a rule removal).
    for offset, kept in [(5, 3), (10, 1), (20, 2), (30, 2), (40, 2), (50, 1)]:
        index.add(offset, _copy(kept, offset))
    index.add(60, {"stage": "noise", "reason": "rule:x", "doc": "d", "source": "s", "line": 9, "bytes": [0, 1]})
    clusters = list(index.clusters())
    assert [(c.id, c.key, c.offsets.tolist()) for c in clusters] == [
        (1, paragraph_key("d", "s", 2, 0, 10), [20, 30, 40]),
        (2, paragraph_key("d", "s", 1, 0, 10), [10, 50]),
        (3, paragraph_key("d", "s", 3, 0, 10), [5]),
    ]
    assert index.total_copies == 6 and len(index) == 3 and index.sizes().tolist() == [3, 2, 1]
    assert [c.id for c in index.clusters(limit=2)] == [1, 2]


def test_an_empty_index_has_no_clusters():
    assert list(ClusterIndex().clusters()) == [] and len(ClusterIndex()) == 0


def test_examples_are_spread_the_same_on_every_read_and_shown_in_file_order():
    def sample(offsets):
        samples = _Samples(3)
        for offset in offsets:
            samples.offer("rule:x", offset, {"source": "s", "line": offset, "removed": f"line {offset}"})
        return [e.line for e in samples.result()["rule:x"]]

    first = sample(range(1000))
    assert first == sorted(first) and len(first) == 3
    assert sample(reversed(range(1000))) == first  # the hash of the place chooses, not the order of arrival
    assert first != [0, 1, 2]


def test_top_says_what_it_left_out():
    counts = Counter({"a": 5, "b": 3, "c": 3, "d": 1})
    assert _top(counts, 2) == (["a", "b"], "showing the 2 largest of 4; the other 2 together: 4")
    assert _top(counts, 4) == (["a", "b", "c", "d"], "")


def test_settings_are_flattened_to_dotted_names():
    assert _flat({"dedup": {"threshold": 0.8, "bands": 14}, "stages": ["noise"], "empty": {}}) == [
        ("dedup.bands", 14), ("dedup.threshold", 0.8), ("empty", {}), ("stages", ["noise"])]


def test_a_chart_is_the_same_svg_every_time_with_its_own_ids_and_no_url():
    pytest.importorskip("matplotlib", reason="curate report needs the report extra: pip install -e '.[report]'")
    from curate.report import charts

    def draw(prefix):
        return charts.barh(prefix, "t", ["a", "b"], [("kept", [1, 2], charts.KEPT)], "lines")

    svg = draw("one")
    assert svg == draw("one")
    assert svg.startswith("<svg") and not re.search(r"https?://|<metadata|<\?xml|DOCTYPE", svg)
    ids = re.findall(r'\bid="([^"]+)"', svg)
    assert ids and all(i.startswith("one-") for i in ids)
    assert all(ref.startswith("#one-") for ref in re.findall(r'url\((#[^)]+)\)', svg))
    assert len(re.findall(r'fill: #4c78a8', svg)) == 2  # two bars
