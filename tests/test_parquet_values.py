"""A Parquet or Arrow column's values as curate writes them in the metadata
(curate/formats/table_values.py): temporal values written by curate from the integers
the file holds, the same with pandas installed or not and with a time-zone database or
not; strings that are not UTF-8 escaped at any depth; and a Parquet dataset's summary
files, read under --format parquet, skipped with a note instead of read as corrupt data."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from conftest import ROOT, corpus_bytes, invoke, read_corpus, read_jsonl

TEXT = "Record one talks about the migration patterns of northern birds in spring."
NS = 1_700_000_000_123_456_789  # 2023-11-14T22:13:20.123456789 UTC


def _temporal_table() -> pa.Table:
    def one(value: int, arrow_type: pa.DataType) -> pa.Array:
        storage = pa.int32() if arrow_type.bit_width == 32 else pa.int64()
        return pa.array([value], storage).view(arrow_type)

    columns = {
        "text": [TEXT],
        "ts_s": one(NS // 10**9, pa.timestamp("s")),
        "ts_ms": one(NS // 10**6, pa.timestamp("ms")),
        "ts_us": one(NS // 10**3, pa.timestamp("us")),
        "ts_ns": one(NS, pa.timestamp("ns")),
        "ts_whole_us": one(NS // 10**3 * 10**3, pa.timestamp("ns")),
        "ts_utc": one(NS, pa.timestamp("ns", tz="UTC")),
        "ts_berlin": one(NS, pa.timestamp("ns", tz="Europe/Berlin")),
        "ts_offset": one(NS // 10**3, pa.timestamp("us", tz="+05:30")),
        "ts_before_1970": one(-1, pa.timestamp("ns")),
        "day": one(19_675, pa.date32()),
        "day64": one(19_675 * 86_400_000, pa.date64()),
        "tod_s": one(3_661, pa.time32("s")),
        "tod_ms": one(3_661_250, pa.time32("ms")),
        "tod_us": one(1_234_567, pa.time64("us")),
        "tod_ns": one(1_234_567_891, pa.time64("ns")),
        "dur_ns": one(1_500_000_001, pa.duration("ns")),
        "dur_s": one(-90, pa.duration("s")),
        "span": pa.array([pa.MonthDayNano([1, 2, 3])], pa.month_day_nano_interval()),
        "stamps": pa.array([[NS, None]], pa.list_(pa.timestamp("ns"))),
        "when": pa.array([{"at": 1_234_567_891}], pa.struct([("at", pa.time64("ns"))])),
    }
    return pa.table(columns)


EXPECTED = {
    "ts_s": "2023-11-14T22:13:20",
    "ts_ms": "2023-11-14T22:13:20.123000",
    "ts_us": "2023-11-14T22:13:20.123456",
    "ts_ns": "2023-11-14T22:13:20.123456789",
    "ts_whole_us": "2023-11-14T22:13:20.123456",
    "ts_utc": "2023-11-14T22:13:20.123456789+00:00",
    "ts_berlin": "2023-11-14T22:13:20.123456789+00:00",  # a named zone: the instant in UTC
    "ts_offset": "2023-11-15T03:43:20.123456+05:30",
    "ts_before_1970": "1969-12-31T23:59:59.999999999",
    "day": "2023-11-14",
    "day64": "2023-11-14",
    "tod_s": "01:01:01",
    "tod_ms": "01:01:01.250000",
    "tod_us": "00:00:01.234567",
    "tod_ns": "00:00:01.234567891",
    "dur_ns": 1.500000001,
    "dur_s": -90.0,
    "span": [1, 2, 3],
    "stamps": ["2023-11-14T22:13:20.123456789", None],
    "when": {"at": "00:00:01.234567891"},
}

# Runs curate as `python -m curate` would, with `import pandas` failing as it does where
# pandas is not installed (the parquet extra installs pyarrow alone).
WITHOUT_PANDAS = textwrap.dedent("""
    import importlib.abc, runpy, sys

    class NoPandas(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "pandas" or name.startswith("pandas."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    sys.meta_path.insert(0, NoPandas())
    sys.argv = ["curate", *sys.argv[1:]]
    runpy.run_module("curate", run_name="__main__")
""")


def _curate(*args: str, hide_pandas: bool = False, tz_path: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if tz_path is not None:
        env["PYTHONTZPATH"] = tz_path
    command = [sys.executable, *(["-c", WITHOUT_PANDAS] if hide_pandas else ["-m", "curate"]), *map(str, args)]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", ["ns.parquet", "ns.feather"])
def test_temporal_values_are_written_alike_with_or_without_pandas_or_a_tz_database(tmp_path, name):
    src, table, expected = tmp_path / name, _temporal_table(), dict(EXPECTED)
    if name.endswith(".parquet"):  # Parquet has no type for an interval
        table, _ = table.drop_columns(["span"]), expected.pop("span")
    (pq.write_table if name.endswith(".parquet") else feather.write_feather)(table, src)
    corpora = []
    for label, kwargs in (("plain", {}), ("no-pandas", {"hide_pandas": True}),
                          ("no-tz-database", {"hide_pandas": True, "tz_path": ""})):
        out = tmp_path / label
        result = _curate("run", src, "-o", out, "--no-builtin-rules", **kwargs)
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
        assert not (out / "quarantine.jsonl").exists() or read_jsonl(out / "quarantine.jsonl") == [], label
        assert read_corpus(out)[0]["metadata"] == expected, label
        corpora.append(corpus_bytes(out))
    assert corpora[0] == corpora[1] == corpora[2]


def test_temporal_text_matches_python_for_every_unit_and_value(tmp_path):
    """Every unit, random values over the whole range a datetime holds and beyond it (null,
    with a fault), against Python's own datetime arithmetic on the integers."""
    from curate.formats.table_values import column_values

    rng = random.Random(7)
    epoch = dt.datetime(1970, 1, 1)
    units = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}

    def fraction(nanos: int) -> str:
        return "" if nanos == 0 else f".{nanos // 1000:06d}" if nanos % 1000 == 0 else f".{nanos:09d}"

    for unit, per_second in units.items():
        low, high = -62_135_596_800 * per_second, 253_402_300_800 * per_second - 1
        values = [rng.randint(max(-(2**63), low - 10), min(2**63 - 1, high + 10)) for _ in range(500)]
        values += [0, -1, 1, None] + [v for v in (low, high, low - 1, high + 1) if -(2**63) <= v < 2**63]
        for zone, shift in ((None, 0), ("Asia/Tokyo", 0), ("-08:00", -8 * 3600)):
            found, faults = column_values(pa.array(values, pa.int64()).view(pa.timestamp(unit, tz=zone)))
            for index, (value, text) in enumerate(zip(values, found, strict=True)):
                expected = None
                if value is not None and low - shift * per_second <= value <= high - shift * per_second:
                    seconds, part = divmod(value, per_second)
                    expected = (epoch + dt.timedelta(seconds=seconds + shift)).isoformat() + fraction(
                        part * (10**9 // per_second)) + ("" if zone is None else "+00:00" if shift == 0 else "-08:00")
                assert text == expected, (unit, zone, value)
                assert (index in faults) == (value is not None and expected is None)
        durations = [rng.randint(-(2**63), 2**63 - 1) for _ in range(200)] + [rng.randint(-10**12, 10**12)
                                                                              for _ in range(200)]
        found, _ = column_values(pa.array(durations, pa.int64()).view(pa.duration(unit)))
        assert found == [value / per_second for value in durations]  # Python's int / int: the nearest float


def _not_utf8(values: list[bytes | None], arrow_type: pa.DataType | None = None) -> pa.Array:
    arrow_type = arrow_type or pa.string()
    binary = pa.binary_view() if arrow_type == pa.string_view() else pa.binary()
    return pa.array(values, binary).view(arrow_type)


@pytest.mark.parametrize("name", ["nested.parquet", "nested.feather"])
def test_bytes_that_are_not_utf8_are_escaped_at_any_depth(tmp_path, name):
    texts = [f"Row {i} talks about the migration patterns of northern birds in spring {i}." for i in range(3)]
    table = pa.table({
        "text": texts,
        "sv": _not_utf8([b"caf\xe9", b"fine", None], pa.string_view()),
        "tags": pa.ListArray.from_arrays(pa.array([0, 2, 3, 3], pa.int32()), _not_utf8([b"ok", b"caf\xe9", b"x"])),
        "where": pa.StructArray.from_arrays([_not_utf8([b"a", b"b", b"\xff"]), pa.array([1, 2, 3])],
                                            names=["city", "n"]),
        "attrs": pa.MapArray.from_arrays(pa.array([0, 1, 2, 3], pa.int32()), pa.array(["k", "k", "k"]),
                                         _not_utf8([b"v", b"v\xfe", b"v"])),
    })
    src = tmp_path / name
    (pq.write_table if name.endswith(".parquet") else feather.write_feather)(table, src)
    out = tmp_path / "out"
    result = invoke("run", src, "-o", out, "--no-builtin-rules")
    assert result.exit_code == 0, result.output
    assert [record["metadata"] for record in read_corpus(out)] == [
        {"sv": "caf\\xe9", "tags": ["ok", "caf\\xe9"], "where": {"city": "a", "n": 1}, "attrs": {"k": "v"}},
        {"sv": "fine", "tags": ["x"], "where": {"city": "b", "n": 2}, "attrs": {"k": "v\\xfe"}},
        {"sv": None, "tags": [], "where": {"city": "\\xff", "n": 3}, "attrs": {"k": "v"}},
    ]
    problems = {(q["line"], q["problem"]) for q in read_jsonl(out / "quarantine.jsonl")}
    assert problems == {
        (1, "column 'sv' holds a value Python cannot represent (not valid UTF-8: unexpected end of data at byte 3)"),
        (1, "column 'tags' holds a value Python cannot represent (not valid UTF-8: unexpected end of data at byte 3)"),
        (2, "column 'attrs' holds a value Python cannot represent (not valid UTF-8: invalid start byte at byte 1)"),
        (3, "column 'where' holds a value Python cannot represent (not valid UTF-8: invalid start byte at byte 0)"),
    }
    for problem in read_jsonl(out / "quarantine.jsonl"):
        assert problem["lines"] == 0
        assert problem["action"].startswith("row kept, with the value's invalid bytes written as \\xff escapes")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["lines"] == {"kept": 3, "quarantined": 0, "read": 3, "removed": 0}


def _dataset(folder: Path) -> None:
    """A Dask/Spark-style dataset: part files, _metadata (their footers) and
    _common_metadata (their schema), as pyarrow's write_metadata writes them."""
    folder.mkdir()
    footers: list = []
    for k in range(2):
        table = pa.table({"text": [f"Row {k}-{i} talks about the migration patterns of northern birds {k}{i}."
                                   for i in range(3)]})
        pq.write_table(table, folder / f"part.{k}.parquet", metadata_collector=footers)
        footers[-1].set_file_path(f"part.{k}.parquet")
    pq.write_metadata(table.schema, folder / "_common_metadata")
    pq.write_metadata(table.schema, folder / "_metadata", metadata_collector=footers)


@pytest.mark.parametrize("format_given", [["--format", "parquet"], []], ids=["format-parquet", "auto"])
def test_a_parquet_datasets_summary_files_and_job_marker_are_skipped_with_a_note(tmp_path, format_given):
    """Also Spark's _SUCCESS (empty): each is noted, none fails --strict. Walked by suffix,
    the summary files were 'unsupported file type' and the marker too, and --strict failed."""
    _dataset(tmp_path / "ds")
    (tmp_path / "ds" / "_SUCCESS").write_bytes(b"")
    out = tmp_path / "out"
    result = invoke("run", tmp_path / "ds", *format_given, "-o", out, "--no-builtin-rules", "--strict")
    assert result.exit_code == 0, result.output
    assert len(read_corpus(out)) == 6
    notes = {q["source"]: q for q in read_jsonl(out / "quarantine.jsonl")}
    assert sorted(notes) == ["_SUCCESS", "_common_metadata", "_metadata"]
    assert notes.pop("_SUCCESS")["problem"] == "marker file of a Spark or Hadoop job skipped"
    for note in notes.values():
        assert note["problem"] == "summary file of a Parquet dataset skipped" and note["lines"] == 0
    if format_given:  # read, so told apart; by name alone, both are said alike
        assert notes["_metadata"]["action"].startswith("not read: it holds the part files' footers, no rows")
        assert notes["_common_metadata"]["action"].startswith("not read: it holds the dataset's schema, no rows")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["lines"] == {"kept": 6, "quarantined": 0, "read": 6, "removed": 0}


def test_a_schema_only_file_of_another_name_is_still_a_problem(tmp_path):
    pq.write_metadata(pa.schema([("text", pa.string())]), tmp_path / "empty.parquet")
    out = tmp_path / "out"
    result = invoke("run", tmp_path / "empty.parquet", "-o", out, "--no-builtin-rules")
    assert result.exit_code == 0, result.output
    [problem] = read_jsonl(out / "quarantine.jsonl")
    assert problem["problem"] == "no rows: the file holds a schema only"
