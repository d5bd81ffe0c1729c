"""A .json file that is one array of records: the cut into elements (json_array.py)
against json.loads of the whole, and the real CLI on a folder of such files."""

from __future__ import annotations

import gzip
import io
import json

import pytest
from conftest import read_corpus, read_jsonl, run_process
from hypothesis import given, settings
from hypothesis import strategies as st

from curate.formats import json_array
from curate.formats.json_array import ArrayBroken, Gap, array_elements

# Values with every kind of byte the cut must read past: brackets, commas and quotes
# inside strings, escapes (a backslash before a quote, before a backslash), non-ASCII.
_TEXT = st.text(alphabet=st.sampled_from(list('ab ,[]{}"\\\n\té€😀')), max_size=12)
_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | _TEXT,
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
                       max_leaves=12)
_LAYOUTS = st.sampled_from([{}, {"indent": 2}, {"separators": (",", ":")}, {"ensure_ascii": False},
                            {"indent": "\t", "ensure_ascii": False}])


def _cut(data: bytes, limit: int = 1 << 20) -> list[bytes | int]:
    return [raw for _, raw in array_elements(io.BytesIO(data), limit)]


@pytest.fixture
def tiny_chunks(monkeypatch):
    """Reads of a few bytes, so that every element and escape straddles reads."""
    monkeypatch.setattr(json_array, "CHUNK", 3)


@pytest.mark.unit
@settings(max_examples=300, deadline=None)
@given(items=st.lists(_VALUES, max_size=6), layout=_LAYOUTS, chunk=st.integers(1, 9))
def test_the_cut_gives_the_elements_json_loads_gives(items, layout, chunk):
    data = json.dumps(items, **layout).encode("utf-8")
    old = json_array.CHUNK
    json_array.CHUNK = chunk
    try:
        raws = _cut(data)
    finally:
        json_array.CHUNK = old
    assert [json.loads(raw) for raw in raws] == items  # type: ignore[arg-type]


@pytest.mark.unit
@settings(max_examples=200, deadline=None)
@given(items=st.lists(_VALUES, min_size=1, max_size=5), limit=st.integers(1, 40))
def test_an_element_over_the_limit_is_its_size_and_the_others_are_read(items, limit):
    raws = [json.dumps(item).encode("utf-8") for item in items]
    data = b"[ " + b" ,\n ".join(raws) + b" ]"
    old = json_array.CHUNK
    json_array.CHUNK = 5
    try:
        found = _cut(data, limit)
    finally:
        json_array.CHUNK = old
    # A size counts the whitespace up to the ',' or ']' after the element (here one space).
    # (The whitespace before an element, over a limit this small, is a Gap: tested below.)
    elements = [raw for raw in found if not isinstance(raw, Gap)]
    assert elements == [len(raw) + 1 if len(raw) + 1 > limit else raw for raw in raws]


@pytest.mark.unit
def test_an_array_cut_anywhere_gives_the_elements_before_the_cut_then_says_where_it_broke(tiny_chunks):
    items = [{"id": i, "text": f'item "{i}" [with] {{brackets}}, commas \\ and é'} for i in range(4)]
    data = json.dumps(items, indent=1).encode("utf-8")
    for end in range(len(data)):
        got: list = []
        with pytest.raises(ArrayBroken) as broken:
            for number, raw in array_elements(io.BytesIO(data[:end]), 1 << 20):
                got.append(json.loads(raw))
                assert number == len(got)
        assert got == items[:len(got)] and broken.value.element == len(got) + 1


@pytest.mark.unit
def test_what_is_not_an_array_is_said():
    def broken(data: bytes) -> tuple[int, str]:
        with pytest.raises(ArrayBroken) as err:
            _cut(data)
        return err.value.element, err.value.problem

    assert _cut(b"\xef\xbb\xbf  [ ]  \n") == []
    assert broken(b'[1, 2] {"more": 1}') == (3, "text after the end of the array")
    assert _cut(b"[1 2, 3]") == [b"1 2", b"3"]  # a missing comma costs the elements it joins
    assert broken(b"[1, 2") == (2, "the array breaks off inside this element (a truncated file?)")
    assert broken(b"[1, ") == (2, "the array breaks off before its end (a truncated file?)")
    assert broken(b'{"text": 1}') == (1, "not a JSON array")
    # An element the cut lets through whole but that does not parse is the parser's to refuse.
    assert _cut(b'[{"a": 1]}, 2]') == [b'{"a": 1]}', b"2"]


@pytest.mark.unit
@settings(max_examples=200, deadline=None)
@given(gaps=st.lists(st.lists(st.sampled_from([b" ", b"\t", b"\r", b"\n"]), max_size=300), min_size=2, max_size=4),
       chunk=st.integers(1, 70), limit=st.integers(8, 200))  # 8: the size of an element here
def test_whitespace_between_elements_is_passed_and_a_run_over_the_limit_is_a_gap(gaps, chunk, limit):
    """Runs of every length, short (a regex) and long (blocks of C calls), straddling reads:
    the elements are the same, and a run of more than ``limit`` bytes is said as a Gap."""
    runs = [b"".join(gap) for gap in gaps]
    data = b"[" + b",".join(run + b'{"n": %d}' % k for k, run in enumerate(runs)) + b"]"
    expected: list = []
    for k, run in enumerate(runs):
        expected += ([Gap(len(run))] if len(run) > limit else []) + [b'{"n": %d}' % k]
    old = json_array.CHUNK, json_array._BLOCK
    json_array.CHUNK, json_array._BLOCK = chunk, 16  # blocks of 16 bytes: long runs in small data
    try:
        assert _cut(data, limit) == expected
    finally:
        json_array.CHUNK, json_array._BLOCK = old


@pytest.mark.unit
def test_what_json_does_not_call_whitespace_is_not_passed_over():
    # Vertical tab and form feed are whitespace to bytes.isspace, not to JSON: the element
    # that starts with one does not parse, and is quarantined as such.
    for odd in (b"\x0b", b"\x0c"):
        assert _cut(b"[1," + b" " * 70_000 + odd + b" " * 70_000 + b"2]", 1 << 20) == [b"1", odd + b" " * 70_000 + b"2"]


# -- the real CLI ----------------------------------------------------------------------------------

SENTENCES = [
    "The harbour master said the new pier would open to ferries before the summer season began.",
    "Farmers in the valley planted barley early this year because the spring rains came in March.",
    "A museum downtown restored three paintings that had hung unseen in its basement for decades.",
    "Engineers tested the bridge cables with sensors that report every vibration to a laptop nearby.",
    "The school library lends tablets to pupils who have no computer at home during the holidays.",
    "Volunteers counted two hundred migrating cranes resting on the lake shore at dawn on Sunday.",
    "The bakery on the corner switched to a wood oven and now sells out of rye bread by ten o'clock.",
    "City council approved a budget that doubles the money for repairing footpaths in older streets.",
    "A choir of retired teachers gave a concert in the station hall to raise money for the hospice.",
]


def _items(n: int) -> list[dict]:
    return [{"url": f"https://example.org/page/{i}", "title": f"Page {i}", "text": SENTENCES[i]} for i in range(n)]


def test_a_folder_of_json_arrays_is_read_record_by_record_with_every_element_accounted_for(tmp_path):
    src = tmp_path / "feeds"
    src.mkdir()
    items = _items(5)
    # Scrapy's feed: "[" on its own line, then one item per line, "," at each line's end.
    (src / "items.json").write_text("[\n" + ",\n".join(json.dumps(item) for item in items) + "\n]\n")
    (src / "pretty.json.gz").write_bytes(gzip.compress(json.dumps(_items(7)[5:], indent=2).encode()))
    bad = [items[0] | {"text": 42}, "not an object", {"url": "x", "text": "Short but real text of a record here."},
           {"text": "é" * 200}]
    (src / "mixed.json").write_text(json.dumps(bad))
    cut = json.dumps(_items(9)[7:]).encode()
    (src / "cut.json.gz").write_bytes(gzip.compress(cut[: len(cut) - 30]))

    out = tmp_path / "out"
    result = run_process("run", str(src), "-o", str(out), "--max-doc-bytes", "300", timeout=120)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    records = {(r["source"], r["lines"][0]["line"]): r for r in read_corpus(out)}
    # Element k is record k: provenance, the default id and the other fields, as for a Parquet row.
    first = records[("items.json", 1)]
    assert first["id"] == "items.json:1" and first["bytes_of"] == "text_field"
    assert first["text"] == items[0]["text"]
    assert first["metadata"] == {"title": "Page 0", "url": "https://example.org/page/0"}
    assert [records[("items.json", k)]["text"] for k in range(1, 6)] == [item["text"] for item in items]
    assert [records[("pretty.json.gz", k)]["text"] for k in (1, 2)] == [item["text"] for item in _items(7)[5:]]
    assert records[("mixed.json", 3)]["text"] == bad[2]["text"]
    assert records[("cut.json.gz", 1)]["text"] == _items(8)[7]["text"]

    problems = {(q["source"], q["line"]): q for q in read_jsonl(out / "quarantine.jsonl")}
    assert problems[("mixed.json", 1)]["problem"] == "field 'text' is a number, not a string"
    assert problems[("mixed.json", 2)]["problem"] == "record is a string, not an object"
    assert problems[("mixed.json", 2)]["action"] == ("record skipped; each array element must be an object with a "
                                                     "text field")
    size = len(json.dumps(bad[3]))
    assert size > 300
    assert problems[("mixed.json", 4)]["problem"] == (f"array element of {size:,} bytes is larger than "
                                                      "--max-doc-bytes (300 bytes)")
    truncated = problems[("cut.json.gz", 2)]
    assert truncated["problem"] == "the array breaks off inside this element (a truncated file?)"
    assert truncated["action"] == "elements from 2 on are lost; re-download or rewrite the file"

    summary = json.loads((out / "summary.json").read_text())
    lines = summary["lines"]
    assert lines["read"] == lines["kept"] + lines["removed"] + lines["quarantined"]
    assert sum(q["lines"] for q in problems.values()) == lines["quarantined"] == 4  # three elements, one cut

    again = tmp_path / "again"
    run_process("run", str(src), "-o", str(again), "--max-doc-bytes", "300", "--workers", "2", timeout=120)
    assert sorted(p.name for p in (out / "corpus").iterdir()) == sorted(p.name for p in (again / "corpus").iterdir())
    for part in (out / "corpus").iterdir():
        assert part.read_bytes() == (again / "corpus" / part.name).read_bytes()


def test_half_a_gigabyte_of_whitespace_between_elements_is_passed_as_fast_as_a_bomb_and_said(tmp_path):
    """Between two elements the whitespace was read a byte at a time: 100 MB took 23 s and
    the gzip of a gigabyte of spaces (1 MB) did not finish in two minutes. It is passed in
    blocks now, and a run over --max-doc-bytes is one problem of no lines; both elements
    are kept. (Measured: a run on 1 GB takes 6.4 s of CPU, 2.3 s of it gzip's; 512 MB here.)"""
    src = tmp_path / "feeds"
    src.mkdir()
    items = _items(3)
    with gzip.open(src / "spaced.json.gz", "wb", compresslevel=1) as f:
        f.write(b"[" + json.dumps(items[0]).encode() + b",")
        for _ in range(512):
            f.write(b" \n" * (1 << 19))
        f.write(json.dumps(items[1]).encode() + b",\n  " + json.dumps(items[2]).encode() + b"]")
    out = tmp_path / "out"
    result = run_process("run", str(src), "-o", str(out), "-q", timeout=60)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert [r["text"] for r in read_corpus(out)] == [item["text"] for item in items]
    [gap] = read_jsonl(out / "quarantine.jsonl")
    assert (gap["source"], gap["line"], gap["lines"]) == ("spaced.json.gz", 2, 0)
    assert gap["problem"] == ("536,870,912 bytes of whitespace before this element, more than --max-doc-bytes "
                              "(67,108,864 bytes)")
    assert gap["action"].startswith("skipped; the element after it is read, nothing is lost")
    lines = json.loads((out / "summary.json").read_text())["lines"]
    assert lines["read"] == lines["kept"] + lines["removed"] + lines["quarantined"] == 3


def test_an_element_nested_too_deeply_costs_that_element_only(tmp_path):
    src = tmp_path / "feeds"
    src.mkdir()
    items = _items(2)
    deep = {"text": "An element whose metadata is nested far too deeply.", "m": json.loads("[" * 300 + "]" * 300)}
    (src / "deep.json").write_text("[" + ", ".join(json.dumps(item) for item in (items[0], deep, items[1])) + "]")
    out = tmp_path / "out"
    result = run_process("run", str(src), "-o", str(out), "-q", timeout=60)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert [r["text"] for r in read_corpus(out)] == [item["text"] for item in items]
    [problem] = read_jsonl(out / "quarantine.jsonl")
    assert (problem["line"], problem["problem"], problem["action"]) == (
        2, "nested too deeply (more than 200 levels of arrays and objects)",
        "record skipped; flatten or delete this array element")
