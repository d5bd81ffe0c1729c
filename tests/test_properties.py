"""Invariants under random input (hypothesis): every line accounted for, every kept span
gives back its line, the same bytes on every run and for any number of workers.

CI runs 40 examples per property; HYPOTHESIS_PROFILE=local runs 500."""

from __future__ import annotations

import json
import re
import tempfile
from collections import Counter
from pathlib import Path

from conftest import output_files
from hypothesis import given
from hypothesis import strategies as st

from curate.driver import RunConfig, run
from curate.formats.txt import utf16_by_nuls
from curate.rules import load_rules

RULES = load_rules([], builtin=True)
BREAK = re.compile(rb"\r\n|\n|\r")
FILES = ("corpus", "removed.jsonl", "quarantine.jsonl", "summary.json")

token = st.one_of(
    st.characters(codec="utf-8", exclude_characters="\n\r"),
    st.sampled_from(["\x00", "\t", "\u00a0", "\u200b", "\ufeff", " ", "é", "Ã©", "中", "&amp;", "»", "😀", " word"]),
)
short = st.lists(token, max_size=60).map("".join)
line = st.one_of(
    short,
    st.sampled_from(["", " ", "Home", "Share this:", "Leave a Comment", "(Finish)",
                     "The council met on Monday and agreed on a new budget for the schools of the city."]),
    st.builds(lambda text, n: (text + " ") * n, short, st.integers(50, 400)),  # a long line
)
ending = st.sampled_from(["\n", "\r\n", "\r"])
document = st.lists(st.tuples(line, ending), max_size=25).map(lambda parts: "".join(t + e for t, e in parts))
corpus = st.lists(document, min_size=1, max_size=4)


def _expected_nonblank(data: bytes) -> set[int]:
    wide = utf16_by_nuls(data) if b"\x00" in data[:8192] else None
    if wide is not None:  # NULs in every other byte: UTF-16 without a byte order mark
        return {n for n, part in enumerate(re.split(r"\r\n|\n|\r", data.decode(wide)), 1) if part.strip()}
    if b"\x00" in data[:8192]:  # binary: its lines told blank as UTF-8 text's are
        return {n for n, part in enumerate(BREAK.split(data), 1) if part.decode("utf-8", "replace").strip()}
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    found = set()
    for n, part in enumerate(BREAK.split(data), 1):
        try:
            if part.decode("utf-8").strip():
                found.add(n)
        except UnicodeDecodeError:
            if part.strip():
                found.add(n)
    return found


def _run(src: Path, out: Path, workers: int) -> dict[str, bytes]:
    run(RunConfig(inputs=(src,), output=out, ruleset=RULES, workers=workers, chunk_items=3))
    return output_files(out)


def _records(blob: bytes) -> list[dict]:
    return [json.loads(x) for x in blob.decode("utf-8").splitlines() if x]


@given(corpus)
def test_every_line_is_accounted_for_and_every_span_gives_back_its_line(docs):
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        raw = {}
        for i, text in enumerate(docs):
            raw[f"d{i}.txt"] = text.encode("utf-8")
            (src / f"d{i}.txt").write_bytes(raw[f"d{i}.txt"])
        out = _run(src, Path(tmp) / "out", workers=1)
        seen: dict[str, Counter] = {name: Counter() for name in raw}
        for rec in _records(b"".join(v for k, v in out.items() if k.startswith("corpus/"))):
            data = raw[rec["source"]]
            if rec["encoding"] != "utf-8":
                parts = [p.encode(rec["encoding"]) for p in re.split(r"\r\n|\n|\r", data.decode(rec["encoding"]))]
            else:
                parts = BREAK.split(data[3:] if data.startswith(b"\xef\xbb\xbf") else data)
            for entry in rec["lines"]:
                s, e = entry["bytes"]
                assert data[s:e] == parts[entry["line"] - 1]
                seen[rec["source"]][entry["line"]] += 1
        for rec in _records(out["removed.jsonl"]):
            s, e = rec["bytes"]
            encoding = utf16_by_nuls(raw[rec["source"]]) or "utf-8"
            assert raw[rec["source"]][s:e].decode(encoding) == rec["removed"]
            seen[rec["source"]][rec["line"]] += 1
        for rec in _records(out["quarantine.jsonl"]):
            if rec["line"] is not None:
                seen[rec["source"]][rec["line"]] += 1
            elif rec["lines"]:  # a whole file quarantined (binary)
                seen[rec["source"]].update(_expected_nonblank(raw[rec["source"]]))
        for name, data in raw.items():
            assert set(seen[name]) == _expected_nonblank(data), name
            assert all(c == 1 for c in seen[name].values()), name
        summary = json.loads(out["summary.json"])
        lines = summary["lines"]
        assert lines["read"] == lines["kept"] + lines["removed"] + lines["quarantined"]


@given(corpus)
def test_output_is_identical_across_runs_and_workers(docs):
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        for i, text in enumerate(docs):
            (src / f"d{i}.txt").write_bytes(text.encode("utf-8"))
        with open(src / "records.jsonl", "w", encoding="utf-8") as f:
            for text in docs:
                f.write(json.dumps({"text": text}) + "\n")
        # Two runs: what varies from run to run shows here too, not only what depends on
        # the number of workers.
        one = _run(src, Path(tmp) / "a", workers=1)
        two = _run(src, Path(tmp) / "b", workers=2)
        assert one == two
